"""PNG figures with matplotlib (Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

FAMILY_COLOURS = {"2D": "tab:blue", "3D": "tab:orange"}


def plot_accuracy_vs_gflops(frame: pd.DataFrame, path: Path) -> Path:
    """Top-1 against GFLOPs per view; bubble area proportional to parameters, as in the
    TSM and ESTI papers' figures."""
    finished = frame[frame["status"] == "finished"]
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=150)
    area_scale = 600 / max(finished["params_m"].max(), 1e-9)
    for family, rows in finished.groupby("family"):
        ax.scatter(rows["gflops"], rows["top1"], s=rows["params_m"] * area_scale, alpha=0.55,
                   color=FAMILY_COLOURS.get(family, "tab:gray"), edgecolors="black",
                   linewidths=0.6, label=f"{family} methods")
        for row in rows.itertuples():
            ax.annotate(f"{row.label} {row.backbone} f{row.frames}", (row.gflops, row.top1),
                        textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.set_xlabel("GFLOPs per view (multiply-adds)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title(f"Accuracy vs cost ({', '.join(sorted(finished['dataset'].unique()))}); "
                 "bubble area ∝ params", fontsize=9)
    ax.grid(alpha=0.3)
    ax.margins(x=0.25, y=0.15)
    ax.legend(fontsize=8, loc="lower right", markerscale=0.5)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
