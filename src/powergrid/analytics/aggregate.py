"""Aggregate KPIs over repeated runs (e.g. seeds): mean and a Student-t confidence interval per KPI.

A pure function on KPIReports, shared by ``heron sweep`` and the dashboard. Runs where a KPI is undefined (NA)
are left out of that KPI's statistics; a KPI undefined in every run stays NA, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from powergrid.analytics.kpis import KPI_INFO, NA, KPIReport


@dataclass(frozen=True)
class MeanCI:
    """Mean of a KPI over ``n`` runs (the KPI's unit) and the half-width of its confidence interval.

    ``half_width`` is NA for a single run (no interval); 0 when every run gave the same value.
    """

    mean: float
    half_width: float | NA
    n: int
    confidence: float

    @property
    def low(self) -> float | NA:
        return self.half_width if isinstance(self.half_width, NA) else self.mean - self.half_width

    @property
    def high(self) -> float | NA:
        return self.half_width if isinstance(self.half_width, NA) else self.mean + self.half_width


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> MeanCI:
    """Mean and Student-t interval ``mean ± t(1 − α/2, n − 1) · s / √n`` (s: sample standard deviation)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("mean_ci needs at least one value")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if x.size == 1:
        return MeanCI(float(x[0]), NA("one run: no interval"), 1, confidence)
    return MeanCI(float(x.mean()), float(t_half_width(x, confidence)), int(x.size), confidence)


def t_half_width(samples: np.ndarray, confidence: float = 0.95) -> np.ndarray:
    """``t(1 − α/2, n − 1) · s / √n`` over axis 0 of ``samples`` (n ≥ 2 runs × any shape, e.g. runs × steps)."""
    n = samples.shape[0]
    t = float(stats.t.ppf(0.5 + confidence / 2.0, df=n - 1))
    return t * samples.std(axis=0, ddof=1) / np.sqrt(n)


def aggregate_kpis(reports: Sequence[KPIReport], confidence: float = 0.95) -> dict[str, MeanCI | NA]:
    """Community KPIs (``KPI_INFO`` order) of several runs → mean and confidence interval per KPI."""
    if not reports:
        raise ValueError("aggregate_kpis needs at least one KPIReport")
    out: dict[str, MeanCI | NA] = {}
    for kpi in KPI_INFO:
        values = [r.community[kpi] for r in reports]
        defined = [v for v in values if not isinstance(v, NA)]
        undefined = [v for v in values if isinstance(v, NA)]
        out[kpi] = mean_ci(defined, confidence) if defined else undefined[0]
    return out
