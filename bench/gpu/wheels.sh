#!/usr/bin/env bash
# Packs, as wheels in .whl/ (ignored by git), the requirements that the device machines' image
# lacks, for bench/gpu.sh to install there (the device has no package index). Run it here, in
# the checkout that the device tool sends, on a machine with PyPI, before the device run; the
# run then names .whl in its carry.
#
#   bench/gpu/wheels.sh
#
# The image (the device tool's KINDS.md, package list of 2026-11-17: Python 3.12, x86-64) has
# torch, torchvision, numpy, pandas, matplotlib, PyYAML, tabulate, tqdm, Pillow, portalocker and
# packaging, but not pydantic (with pydantic-core, annotated-types, typing-inspection and a
# typing-extensions new enough for them), fvcore (with iopath, yacs, termcolor) or PyAV. Each is
# fetched at the version installed here, the one this project's tests ran with. fvcore and
# iopath publish source only; they are pure Python, so the wheels built from them here install
# anywhere. PyAV's wheel (about 36 MB) is most of the 64 MiB that a device call may carry.
set -euo pipefail

cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
BINARY=(pydantic pydantic-core annotated-types typing-inspection typing-extensions av yacs termcolor)
SOURCE_ONLY=(fvcore iopath)
pinned() {
  local name
  for name in "$@"; do
    echo "$name==$("$PYTHON" -c 'import importlib.metadata, sys; print(importlib.metadata.version(sys.argv[1]))' "$name")"
  done
}

rm -rf .whl
mkdir .whl
mapfile -t binary < <(pinned "${BINARY[@]}")
mapfile -t source_only < <(pinned "${SOURCE_ONLY[@]}")
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl "${binary[@]}"
"$PYTHON" -m pip wheel --quiet --no-deps -w .whl "${source_only[@]}"
ls -l .whl
size=$(du -sm .whl | cut -f1)
echo "${binary[*]} ${source_only[*]}: $size MiB in .whl; with the working tree a device call carries at most 64 MiB"
