from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from powergrid.analytics.kpis import NA, KPIReport
from powergrid.analytics.results import read_run
from powergrid.app.rundata import AGENT_COLUMNS, RunCache, baseline_of, decimate, discover_runs, load_run, seed_siblings
from powergrid.engine.result import RESULT_FIELDS, Role
from powergrid.errors import ResultsError

RUN = "tiny/seed3/truthful-bidder"
BASELINE = "tiny/seed3/grid-only"


def test_discover_finds_complete_runs_and_skips_partial_ones(runs_folder, tmp_path):
    keys = [r.key for r in discover_runs(runs_folder)]
    assert keys == sorted(keys)
    assert set(keys) == {
        "feeder/truthful-bidder",
        "tiny/seed3/grid-only",
        "tiny/seed3/truthful-bidder",
        "tiny/seed4/grid-only",
        "tiny/seed4/truthful-bidder",
    }
    shutil.copytree(runs_folder / RUN, tmp_path / ".x.partial-1")
    shutil.copytree(runs_folder / RUN, tmp_path / "done")
    assert [r.key for r in discover_runs(tmp_path)] == ["done"]


def test_info_describes_the_run(runs_folder):
    info = {r.key: r for r in discover_runs(runs_folder)}
    run = info[RUN]
    assert (run.scenario, run.controller, run.seed, run.n_agents, run.n_steps) == ("tiny", "truthful-bidder", 3, 8, 48)
    assert run.has_ledger
    assert not run.has_network
    assert info["feeder/truthful-bidder"].has_network
    assert run.group == "tiny/seed3"
    assert run.variant == info["tiny/seed4/truthful-bidder"].variant != info["feeder/truthful-bidder"].variant


def test_loaded_matrices_match_the_parquet_files_and_kpis(runs_folder):
    run = load_run(RunCache(runs_folder).info(RUN))
    series, trades, kpis = read_run(runs_folder / RUN)
    wide = series.pivot(index="step", columns="agent", values="imported")[list(run.agent_ids)]
    np.testing.assert_array_equal(run.agent["imported"], wide.to_numpy())
    assert run.community("imported").sum() == pytest.approx(kpis["community"]["grid_import_kwh"], rel=1e-12)
    assert run.p2p_volume().sum() == pytest.approx(kpis["community"]["p2p_volume_kwh"], rel=1e-12)
    assert run.trades.bounds[-1] == len(trades) > 0
    t = int(trades["step"].iloc[0])
    buyer, _seller, kwh, _price = run.trades.at(t)
    first = trades[trades["step"] == t]
    assert [run.agent_ids[i] for i in buyer] == first["buyer"].astype(str).tolist()
    np.testing.assert_array_equal(kwh, first["kwh"].to_numpy())
    assert run.timestamps[0] == pd.Timestamp("2024-05-06T00:00:00")


def test_the_dashboard_loads_the_fields_marked_for_it_and_the_headline_cost(runs_folder):
    run = load_run(RunCache(runs_folder).info(RUN))
    marked = [f.name for f in RESULT_FIELDS if Role.DASHBOARD in f.roles]
    assert list(run.agent) == list(AGENT_COLUMNS) == [*marked, "cost"]
    assert all(m.shape == (run.n_steps, len(run.agent_ids)) for m in run.agent.values())
    assert run.agent["cost"].sum() == pytest.approx(run.kpis["community"]["cost"], rel=1e-12)


def test_report_round_trips_through_kpis_json(runs_folder):
    run = load_run(RunCache(runs_folder).info(RUN))
    report = run.report()
    assert isinstance(report, KPIReport)
    assert report.to_json()["community"] == {k: v for k, v in run.kpis["community"].items()}
    assert isinstance(report.community["losses_kwh"], NA)


def test_seed_siblings_and_baseline(runs_folder):
    runs = discover_runs(runs_folder)
    by_key = {r.key: r for r in runs}
    siblings = seed_siblings(by_key[RUN], runs)
    assert [s.key for s in siblings] == [RUN, "tiny/seed4/truthful-bidder"]
    assert baseline_of(by_key[RUN], runs).key == BASELINE
    assert baseline_of(by_key["feeder/truthful-bidder"], runs) is None


def test_cache_reloads_a_replaced_run(runs_folder, tmp_path):
    shutil.copytree(runs_folder / RUN, tmp_path / "r")
    cache = RunCache(tmp_path)
    first = cache.get("r")
    assert cache.get("r") is first
    kpis = tmp_path / "r" / "kpis.json"
    kpis.write_text(kpis.read_text())
    import os

    os.utime(kpis, (1, 1))
    assert cache.get("r") is not first


def test_incomplete_run_is_a_clear_error(runs_folder, tmp_path):
    shutil.copytree(runs_folder / RUN, tmp_path / "r")
    (tmp_path / "r" / "trades.parquet").unlink()
    with pytest.raises(ResultsError, match=r"missing trades\.parquet"):
        RunCache(tmp_path).get("r")
    with pytest.raises(ResultsError, match="not a directory"):
        discover_runs(tmp_path / "nope")


def test_decimate():
    x = np.arange(10.0)
    assert decimate(x, 20) is x
    np.testing.assert_array_equal(decimate(x, 5), [0.5, 2.5, 4.5, 6.5, 8.5])
    np.testing.assert_array_equal(decimate(x, 4, "last"), [2, 5, 8, 9])
    np.testing.assert_array_equal(decimate(x, 4, "first"), [0, 3, 6, 9])
    m = np.column_stack([x, 2 * x])
    np.testing.assert_array_equal(decimate(m, 5)[:, 1], 2 * decimate(x, 5))
    assert decimate(np.arange(8760.0), 1500).size <= 1500
