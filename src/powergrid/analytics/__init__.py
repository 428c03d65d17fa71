"""KPIs (one module), run totals, and results directories."""

from powergrid.analytics.kpis import KPI_INFO, NA, KPIReport, compute_kpis, gini
from powergrid.analytics.totals import RunTotals, totals_from_frames

__all__ = ["KPI_INFO", "NA", "KPIReport", "RunTotals", "compute_kpis", "gini", "totals_from_frames"]
