"""Mean ± Student-t confidence interval over runs, per KPI."""

from __future__ import annotations

import numpy as np
import pytest

from powergrid.analytics.aggregate import MeanCI, aggregate_kpis, mean_ci
from powergrid.analytics.kpis import KPI_INFO, NA, KPIReport


def _report(**values) -> KPIReport:
    community = dict.fromkeys(KPI_INFO, 0.0) | values
    return KPIReport(community, {}, ())


def test_mean_ci_matches_the_student_t_formula():
    stat = mean_ci([1.0, 2.0, 3.0, 4.0])
    # t(0.975, 3) = 3.182446305, s = sqrt(5/3)
    assert stat.mean == 2.5
    assert stat.n == 4
    assert stat.half_width == pytest.approx(3.182446305 * np.sqrt(5 / 3) / 2, rel=1e-9)
    assert stat.low == pytest.approx(2.5 - stat.half_width)
    assert stat.high == pytest.approx(2.5 + stat.half_width)
    assert mean_ci([1.0, 2.0, 3.0, 4.0], confidence=0.99).half_width > stat.half_width


def test_single_run_and_constant_runs():
    one = mean_ci([7.0])
    assert one.mean == 7.0
    assert isinstance(one.half_width, NA)
    assert isinstance(one.low, NA)
    assert mean_ci([3.0, 3.0, 3.0]).half_width == 0.0


def test_aggregate_skips_undefined_runs_and_keeps_all_undefined_as_na():
    reports = [
        _report(cost=1.0, mean_p2p_price=NA("no P2P trades")),
        _report(cost=3.0, mean_p2p_price=0.2),
        _report(cost=2.0, mean_p2p_price=0.4),
    ]
    for r in reports:
        r.community["share_of_oracle_savings"] = NA("no oracle run")
    stats = aggregate_kpis(reports)
    assert list(stats) == list(KPI_INFO)
    assert isinstance(stats["cost"], MeanCI)
    assert stats["cost"].mean == 2.0
    assert stats["cost"].n == 3
    assert stats["mean_p2p_price"].n == 2
    assert stats["mean_p2p_price"].mean == pytest.approx(0.3)
    assert stats["share_of_oracle_savings"] == NA("no oracle run")


def test_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        aggregate_kpis([])
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1.0, 2.0], confidence=1.5)
