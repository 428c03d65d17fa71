"""The sweep figure: one panel per headline KPI, one bar per controller (mean over seeds) with CI whiskers."""

from __future__ import annotations

from pathlib import Path

from powergrid.analytics.aggregate import MeanCI
from powergrid.analytics.kpis import NA
from powergrid.app.figures import kpi_bar_panels


def sweep_figure(stats: dict[str, dict[str, MeanCI | NA]], path: Path, title: str) -> Path:
    """Bars = means over seeds, whiskers = confidence intervals (none for a single run); NA = a labelled gap."""
    means = {c: {k: v.mean if isinstance(v, MeanCI) else v for k, v in s.items()} for c, s in stats.items()}
    errors = {
        c: {k: v.half_width if isinstance(v, MeanCI) and not isinstance(v.half_width, NA) else 0.0
            for k, v in s.items()}
        for c, s in stats.items()
    }  # fmt: skip
    return kpi_bar_panels(means, path, title, errors)
