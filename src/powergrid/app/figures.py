"""Matplotlib figures for papers and the command line (PNG, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from powergrid.analytics.kpis import KPI_INFO, NA, KPIReport
from powergrid.app.colours import colour_of

COMPARISON_KPIS = (
    "cost",
    "cash_cost",
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
    return kpi_bar_panels({name: r.community for name, r in reports.items()}, path, title)


def pooled_kpi_figure(stats: dict[str, dict], path: Path, title: str) -> Path:
    """KPI panels for pooled runs (``stats[label][kpi]``: ``MeanCI`` or NA, from ``aggregate_kpis``): bars are means
    over seeds, whiskers the confidence intervals (none for a single run); NA is a labelled gap."""
    from powergrid.analytics.aggregate import MeanCI

    means = {c: {k: v.mean if isinstance(v, MeanCI) else v for k, v in s.items()} for c, s in stats.items()}
    errors = {
        c: {
            k: v.half_width if isinstance(v, MeanCI) and not isinstance(v.half_width, NA) else 0.0 for k, v in s.items()
        }
        for c, s in stats.items()
    }
    return kpi_bar_panels(means, path, title, errors)


def timeseries_png(run, baseline, path: Path) -> Path:
    """The Playback page's six panels for one run (``run``, ``baseline``: ``powergrid.app.rundata.RunData``)."""
    from powergrid.app.plots_playback import panels_of

    panels = panels_of(run)
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 2.1 * len(panels)), sharex=True, constrained_layout=True)
    for ax, panel in zip(axes, panels, strict=True):
        for name, values in panel.series(run).items():
            ax.plot(run.timestamps, values, linewidth=1.0, label=name)
            if panel.baseline and baseline is not None:
                ax.plot(
                    baseline.timestamps,
                    panel.series(baseline)[name],
                    linewidth=0.8,
                    linestyle="--",
                    color="0.35",
                    label=f"{baseline.info.controller} (baseline)",
                )
        ax.set_title(panel.title, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(run.info.label, fontsize=10)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _lines(series: dict, folder: Path, name: str, ylabel: str, title: str, transform) -> Path:
    """One line per controller over the held-out steps."""
    fig, ax = plt.subplots(figsize=(11, 4), constrained_layout=True)
    for label, values in series.items():
        ax.plot(transform(values), label=label, color=colour_of(label), linewidth=1.2)
    ax.set(xlabel="step (held-out days)", ylabel=ylabel, title=title)
    ax.legend()
    return _save(fig, folder / name)


def evaluation_figures(grid_import: dict, reward: dict, folder: Path, dt_hours: float) -> list[Path]:
    """The seed's three figures: grid import over time, cumulative reward, total import per controller."""
    paths = [
        _lines(
            grid_import,
            folder,
            "grid_import.png",
            "community grid import (kW)",
            "Grid import over time",
            lambda v: v / dt_hours,
        ),
        _lines(
            reward,
            folder,
            "cumulative_reward.png",
            "cumulative reward (sum over agents)",
            "Cumulative reward",
            np.cumsum,
        ),
    ]
    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    names = list(grid_import)
    ax.bar(names, [grid_import[n].sum() for n in names], color=[colour_of(n) for n in names])
    ax.set(ylabel="kWh", title="Total grid import per controller")
    paths.append(_save(fig, folder / "total_import.png"))
    return paths


def kpi_bar_panels(values: dict[str, dict], path: Path, title: str, errors: dict[str, dict] | None = None) -> Path:
    """One panel per headline KPI (``COMPARISON_KPIS``), one bar per run name (``values[name][kpi]``: a number or
    NA, shown as a labelled gap); ``errors[name][kpi]`` (same unit) draws whiskers of ± that size."""
    names = list(values)
    fig, axes = plt.subplots(3, 3, figsize=(13, 9), constrained_layout=True)
    colours = [colour_of(n) for n in names]
    for ax, kpi in zip(axes.flat, COMPARISON_KPIS, strict=True):
        cells = [values[n][kpi] for n in names]
        heights = [0.0 if isinstance(v, NA) else v for v in cells]
        yerr = None if errors is None else [errors[n][kpi] for n in names]
        bars = ax.bar(range(len(names)), heights, yerr=yerr, capsize=4, color=colours)
        for bar, v in zip(bars, cells, strict=True):
            if isinstance(v, NA):
                ax.annotate("n/a", (bar.get_x() + bar.get_width() / 2, 0), ha="center", va="bottom", fontsize=8)
        unit = KPI_INFO[kpi][0]
        ax.set_title(f"{kpi} ({unit})" if unit != "-" else kpi, fontsize=10)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title)
    return _save(fig, path)
