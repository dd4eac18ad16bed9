"""Step 1 of bench/gpu.sh: the machine and the versions behind every figure of the run, and
whether the project's requirements are installed at versions they allow.

The device machines have no package index; their image brings torch and most of the
scientific stack but not every requirement, so bench/gpu/wheels.sh packs the missing ones as
wheels that bench/gpu.sh installs there first. A requirement still missing or too old stops
the run here, naming it, rather than as an import error in the middle of a step.

    python bench/gpu/environment.py [--requirements requirements.txt] [--expect-cuda]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]


def requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def check(requirement: Requirement) -> tuple[str, bool]:
    """`name version (wanted)` and whether the installed version satisfies the requirement."""
    try:
        version = importlib.metadata.version(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        return f"{requirement.name}: MISSING (wanted {requirement.specifier})", False
    satisfied = requirement.specifier.contains(version, prereleases=True)
    return f"{requirement.name} {version} (wanted {requirement.specifier or 'any'})", satisfied


def describe_torch() -> list[str]:
    import torch

    lines = [f"python {sys.version.split()[0]} ({sys.executable}), {platform.platform()}, "
             f"{os.cpu_count()} CPUs",
             f"torch {torch.__version__}, CUDA {torch.version.cuda or 'none'}, cuDNN "
             f"{torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else 'none'}"]
    if not torch.cuda.is_available():
        return [*lines, "CUDA device: none"]
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        lines.append(f"CUDA device {index}: {props.name}, compute capability {props.major}.{props.minor}, "
                     f"{props.multi_processor_count} SMs, {props.total_memory / 2**30:.1f} GiB, "
                     f"bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, default=REPO / "requirements.txt")
    parser.add_argument("--expect-cuda", action="store_true", help="fail when no CUDA device is seen")
    args = parser.parse_args()
    results = [check(requirement) for requirement in requirements(args.requirements)]
    print("requirements:", "; ".join(line for line, _ in results))
    unmet = [line for line, satisfied in results if not satisfied]
    if unmet:
        print(f"unmet requirements: {'; '.join(unmet)}. On a device machine, carry them as wheels: "
              f"run bench/gpu/wheels.sh here and name .whl in the run's carry.", file=sys.stderr)
        return 1
    print("\n".join(describe_torch()))
    import torch

    if args.expect_cuda and not torch.cuda.is_available():
        print("no CUDA device is visible to torch: run bench/gpu.sh --cpu on a machine without one",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
