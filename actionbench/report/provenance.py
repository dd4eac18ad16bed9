"""Where the numbers came from: code commits, package versions, devices, hosts and dates of the
records, so a reader can tell whether two rows are comparable. No generation time is written,
so the same records always give the same report."""

from __future__ import annotations

import pandas as pd

VERSIONS_PREFIX = "provenance.versions."
SETTINGS = [("precision", "autocast"), ("threads", "threads"),
            ("deterministic algorithms", "deterministic_algorithms"), ("cuDNN benchmark", "cudnn_benchmark"),
            ("TF32 matmul", "tf32_matmul"), ("processors", "device_name"),
            ("CPU kernels", "cpu_capability")]
"""What the records' `reproducibility` blocks say, as (label, field)."""


def _distinct(frame: pd.DataFrame, column: str) -> list[str]:
    return sorted({str(value) for value in frame[column].dropna()}) if column in frame else []


def _commits(frame: pd.DataFrame) -> list[str]:
    if "provenance.git_commit" not in frame:
        return []
    dirty = frame.get("provenance.git_dirty", pd.Series(False, index=frame.index))
    dirty = dirty.astype("boolean").fillna(False).astype(bool)
    return sorted({f"{commit[:10]}" + (" (with local changes)" if changed else "")
                   for commit, changed in zip(frame["provenance.git_commit"], dirty) if pd.notna(commit)})


def render_provenance(frame: pd.DataFrame) -> list[str]:
    """Markdown bullet lines."""
    versions = [f"{column.removeprefix(VERSIONS_PREFIX)} {' / '.join(_distinct(frame, column))}"
                for column in frame.columns if column.startswith(VERSIONS_PREFIX)]
    started, finished = _distinct(frame, "provenance.started"), _distinct(frame, "provenance.finished")
    lines = [
        f"- Commits: {', '.join(_commits(frame)) or 'unknown'}",
        f"- Versions: {'; '.join(versions) or 'unknown'}",
        f"- Training devices: {', '.join(_distinct(frame, 'device')) or 'unknown'}; cost measured on: "
        f"{', '.join(_distinct(frame, 'cost_device')) or 'unknown'}",
        f"- Hosts: {', '.join(_distinct(frame, 'provenance.host')) or 'unknown'}",
    ]
    settings = [f"{label} {' / '.join(values)}" for label, column in SETTINGS
                if (values := _distinct(frame, f"reproducibility.{column}"))]
    if settings:
        lines.append(f"- Numerics: {'; '.join(settings)}")
    if started and finished:
        lines.append(f"- Runs from {started[0]} to {finished[-1]}")
    read, superseded = frame.attrs.get("read", len(frame)), frame.attrs.get("superseded", 0)
    lines.append(f"- {len(frame)} experiments from {read} records and run folders "
                 f"({superseded} replaced by a newer record of the same experiment)")
    return lines
