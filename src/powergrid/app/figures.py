"""Matplotlib figures for papers and the command line (PNG, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from powergrid.analytics.kpis import KPI_INFO, NA, KPIReport

COMPARISON_KPIS = (
    "cost",
    "savings",
    "grid_import_kwh",
    "peak_import_kw",
    "p2p_volume_kwh",
    "self_consumption_ratio",
    "self_sufficiency_ratio",
    "co2_kg",
)


def comparison_figure(reports: dict[str, KPIReport], path: Path, title: str) -> Path:
    """One bar chart per KPI, one bar per controller; an undefined KPI is shown as a labelled gap."""
    names = list(reports)
    fig, axes = plt.subplots(2, 4, figsize=(15, 6.5), constrained_layout=True)
    colours = plt.get_cmap("tab10").colors
    for ax, kpi in zip(axes.flat, COMPARISON_KPIS, strict=True):
        values = [reports[n].community[kpi] for n in names]
        heights = [0.0 if isinstance(v, NA) else v for v in values]
        bars = ax.bar(range(len(names)), heights, color=[colours[i % 10] for i in range(len(names))])
        for bar, v in zip(bars, values, strict=True):
            if isinstance(v, NA):
                ax.annotate("n/a", (bar.get_x() + bar.get_width() / 2, 0), ha="center", va="bottom", fontsize=8)
        unit = KPI_INFO[kpi][0]
        ax.set_title(f"{kpi} ({unit})" if unit != "-" else kpi, fontsize=10)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
