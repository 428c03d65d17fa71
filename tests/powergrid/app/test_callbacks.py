"""The dashboard's callbacks as functions: inputs in, figures and texts out (no browser)."""

from __future__ import annotations

import sqlite3
import time

import numpy as np
import pandas as pd
import pytest
from dash import Patch, no_update

from powergrid.analytics.results import read_run
from powergrid.app import callbacks as cb
from powergrid.app.callbacks import Dashboard
from powergrid.app.plots_playback import PANELS
from powergrid.app.rundata import decimate
from powergrid.app.wiring import showing_errors

RUN = "tiny/seed3/truthful-bidder"
BASELINE = "tiny/seed3/grid-only"


def _traces(fig, name):
    return [t for t in fig.data if t.name == name]


def test_fill_and_validate_form(dashboard):
    paths = [f.path for f in dashboard.fields]
    values = cb.fill_form(dashboard, "community-5", paths)
    assert values[paths.index("time.n_steps")] == 48
    assert values[paths.index("ledger")] == [True]
    errors, group_errors, spec = cb.validate_form(dashboard, values, paths, ["general", "time"])
    assert spec is not None
    assert not any(errors)
    assert not any(group_errors)
    values[paths.index("time.n_steps")] = 0
    errors, _, spec = cb.validate_form(dashboard, values, paths, [])
    assert spec is None
    assert "greater than 0" in errors[paths.index("time.n_steps")]
    job, status, disabled = cb.start_run(dashboard, values, paths, ["truthful-bidder"], 1, None)
    assert job is None
    assert disabled
    assert "fix the fields" in status


def test_run_from_the_form_writes_run_directories_with_progress(tmp_path):
    d = Dashboard(tmp_path)
    paths = [f.path for f in d.fields]
    values = cb.fill_form(d, "community-5", paths)
    values[paths.index("time.n_steps")] = 24
    assert cb.start_run(d, values, paths, ["truthful-bidder"], 0, None)[0] is None  # seeds ≥ 1
    assert "plain folder name" in cb.start_run(d, values, paths, ["truthful-bidder"], 1, "../x")[1]
    job_id, status, disabled = cb.start_run(d, values, paths, ["truthful-bidder"], 2, "mine")
    assert job_id is not None
    assert not disabled
    assert "started" in status
    deadline = time.monotonic() + 120
    while (poll := cb.poll_job(d, job_id, 7))[2] is False:
        assert time.monotonic() < deadline
        assert 0.0 <= float(poll[0]) <= 1.0
        time.sleep(0.1)
    progress, status, disabled, version, chosen = poll
    assert status.startswith("done")
    assert progress == "1.0"
    assert version == 8
    assert chosen == "mine/seed0/truthful-bidder"
    keys = [r.key for r in d.cache.runs()]
    assert keys == [
        "mine/seed0/grid-only",
        "mine/seed0/truthful-bidder",
        "mine/seed1/grid-only",
        "mine/seed1/truthful-bidder",
    ]
    assert d.cache.info("mine/seed1/truthful-bidder").seed == 1
    assert d.cache.info(chosen).n_steps == 24
    assert "already exists" in cb.start_run(d, values, paths, ["truthful-bidder"], 1, "mine")[1]


def test_select_run_defaults(dashboard):
    top, marks, value, options, baseline, households, chosen = cb.select_run(dashboard, RUN, 12)
    assert (top, value, baseline) == (47, 0, BASELINE)
    assert cb.select_run(dashboard, RUN, 0)[2] is no_update  # already at step 0: the network view is not redrawn
    assert 0 in marks
    assert 47 in marks
    assert BASELINE in [o["value"] for o in options]
    assert RUN not in [o["value"] for o in options]
    assert len(households) == 8
    assert len(chosen) == 6
    options, current = cb.run_options(dashboard, None)
    assert current != BASELINE
    assert RUN in [o["value"] for o in options]
    assert cb.run_options(dashboard, RUN, options) == (no_update, no_update)  # unchanged: nothing reruns
    assert cb.run_options(dashboard, RUN, options[:1]) == (options, no_update)


def test_timeseries_shows_the_run_its_baseline_and_a_seed_band(dashboard, runs_folder):
    fig = cb.timeseries(dashboard, RUN, BASELINE, ["band"], 5)
    series, _, _ = read_run(runs_folder / RUN)
    imported = series.groupby("step")["imported"].sum().to_numpy()
    np.testing.assert_allclose(_traces(fig, "grid buy")[0].y, imported)
    base, _, _ = read_run(runs_folder / BASELINE)
    baseline_traces = _traces(fig, "grid-only (baseline)")
    assert len(baseline_traces) == sum(p.baseline for p in PANELS)
    np.testing.assert_allclose(baseline_traces[1].y, base.groupby("step")["imported"].sum().to_numpy())
    band = [t for t in fig.data if t.name and t.name.startswith("95 % CI over 2 seeds")]
    assert len(band) == sum(len(p.series(dashboard.cache.get(RUN))) for p in PANELS)
    assert fig.layout.shapes[0].x0 == str(dashboard.cache.get(RUN).timestamps[5])
    no_band = cb.timeseries(dashboard, RUN, None, [], 0)
    assert not _traces(no_band, "grid-only (baseline)")
    assert len(no_band.data) == 7
    assert "no run selected" in cb.timeseries(dashboard, None, None, [], 0).layout.title.text


def test_network_view_draws_each_trade_as_an_arrow(dashboard, runs_folder):
    _, trades, _ = read_run(runs_folder / RUN)
    step = int(trades["step"].value_counts().idxmax())
    fig, info = cb.network(dashboard, RUN, step)
    at = trades[trades["step"] == step].sort_values("kwh", ascending=False, kind="stable")
    arrows = [a for a in fig.layout.annotations if a.showarrow]
    labels = [a.text for a in fig.layout.annotations if not a.showarrow]
    assert len(arrows) == len(at) > 0
    assert labels == [f"{q:.2f} kWh @ {p:.3f}" for q, p in zip(at["kwh"], at["price"], strict=True)]
    topo, _ = dashboard.layout_of(dashboard.cache.get(RUN))
    ids = dashboard.cache.get(RUN).agent_ids
    first = at.iloc[0]
    head = topo.agent_xy[ids.index(str(first["buyer"]))]
    tail = topo.agent_xy[ids.index(str(first["seller"]))]
    assert (arrows[0].x, arrows[0].y, arrows[0].ax, arrows[0].ay) == (*head, *tail)  # seller → buyer
    households = _traces(fig, "households")[0]
    series, _, _ = read_run(runs_folder / RUN)
    now = series[series["step"] == step].set_index("agent").loc[list(ids)]
    net = now["imported"] + now["bought"] - now["exported"] - now["sold"]
    np.testing.assert_allclose(households.marker.color, net.to_numpy())
    assert f"step {step} of 47" in info
    assert f"{len(at)} trade(s)" in info
    grid = _traces(fig, "grid")[0].text[0]
    assert f"import {now['imported'].sum():.2f} kWh" in grid


def test_network_view_on_a_feeder(dashboard):
    fig, _ = cb.network(dashboard, "feeder/truthful-bidder", 12)
    assert len(_traces(fig, "buses")[0].x) == 41
    assert "cigre-lv" in fig.layout.title.text


def test_step_marker_patch_and_playback(dashboard):
    patch = cb.marker_patch(dashboard, RUN, 10)
    assert isinstance(patch, Patch)
    ops = patch.to_plotly_json()["operations"]
    assert {o["location"][-1] for o in ops} == {"x0", "x1"}
    assert ops[0]["params"]["value"] == str(dashboard.cache.get(RUN).timestamps[10])
    assert cb.toggle_play(True) == (False, "⏸ pause")
    assert cb.toggle_play(False) == (True, "▶ play")
    assert cb.advance(dashboard, RUN, 10, 4) == (14, False, "⏸ pause")
    assert cb.advance(dashboard, RUN, 45, 4) == (47, True, "▶ play")


def test_analysis_pools_seeds_per_controller(dashboard):
    keys = cb.analysis_defaults(dashboard, RUN)
    assert set(keys) == {RUN, BASELINE, "tiny/seed4/truthful-bidder", "tiny/seed4/grid-only"}
    fig, table = cb.analysis(dashboard, keys, "controller")
    savings = next(t for t in fig.data if t.name == "savings")
    assert list(savings.x) == ["grid-only", "truthful-bidder"]
    per_seed = [dashboard.cache.get(k).report().community["savings"] for k in keys if "truthful" in k]
    assert savings.y[1] == pytest.approx(np.mean(per_seed))
    assert savings.error_y.array[1] > 0  # two seeds: a confidence interval
    assert "(n=2)" in str(table)
    fig, _ = cb.analysis(dashboard, keys, "run")
    assert len(next(t for t in fig.data if t.name == "cost").x) == 4
    assert not any(t.name == "losses_kwh" for t in fig.data)  # undefined for every run: no empty panel …
    assert "losses_kwh (no feeder in the scenario)" in fig.layout.title.text  # … and the title says why
    keys = [*keys, "feeder/truthful-bidder"]
    fig, _ = cb.analysis(dashboard, keys, "run")
    losses = next(t for t in fig.data if t.name == "losses_kwh")
    assert sum(y is None for y in losses.y) == 4  # undefined without a feeder: a gap, not a zero


def test_households_wallets_and_ranking(dashboard):
    run = dashboard.cache.get(RUN)
    wallet, ranking = cb.households(dashboard, RUN, BASELINE, ["h000", "h005", "nobody"])
    lines = [t for t in wallet.data if t.name == "h000"]
    assert lines[0].y[-1] == pytest.approx(-run.agent["cost"][:, 0].sum())
    assert len(wallet.data) == 4  # two households, each with its baseline
    savings = run.report().agents["savings"]
    assert list(ranking.data[0].y) == sorted(savings, reverse=True)


def test_ledger_tab_verifies_and_lists_blocks(dashboard, runs_folder):
    verdict, blocks, choices = cb.ledger(dashboard, RUN)
    assert "verified" in verdict.children
    _, trades, _ = read_run(runs_folder / RUN)
    assert len(choices) == trades["step"].nunique() == len(blocks.children) - 1  # one header row
    assert [c["value"] for c in choices] == list(range(1, len(choices) + 1))
    shown = cb.ledger_trades(dashboard, RUN, choices[1]["value"])
    heading, rows = shown.children
    first_step = sorted(trades["step"].unique())[1]
    assert heading.children == "Trades of block 2"
    assert len(rows.children) - 1 == (trades["step"] == first_step).sum()
    assert "no ledger (enable" in cb.ledger(dashboard, "feeder/truthful-bidder")[0]
    assert cb.ledger_trades(dashboard, "feeder/truthful-bidder", 1) is None


def test_ledger_tab_shows_tampering(runs_folder, tmp_path):
    import shutil

    shutil.copytree(runs_folder / RUN, tmp_path / "r")
    with sqlite3.connect(tmp_path / "r" / "ledger.sqlite") as db:
        db.execute("UPDATE trades SET kwh = kwh + 1 WHERE block = 1 AND seq = 0")
    verdict, _, _ = cb.ledger(Dashboard(tmp_path), "r")
    assert "failed" in verdict.children


def test_poll_without_job_and_decimation_of_long_runs(dashboard):
    assert cb.poll_job(dashboard, None, 3) == ("0", "", True, 3, no_update)
    x = pd.date_range("2024-01-01", periods=8760, freq="h").to_numpy()
    assert decimate(x, 1500, "first").size <= 1500


def test_broken_run_directories_are_listed_and_shown_not_raised(runs_folder, tmp_path):
    import shutil

    from powergrid.errors import ResultsError

    for name in ("good", "bad-run", "bad-series"):
        shutil.copytree(runs_folder / RUN, tmp_path / name)
    (tmp_path / "bad-run" / "run.json").write_text("{not json")
    (tmp_path / "bad-series" / "timeseries.parquet").write_bytes(b"not parquet")
    d = Dashboard(tmp_path)
    options, _ = cb.run_options(d, None)
    assert [o["value"] for o in options] == ["bad-series", "good"]
    assert len(d.cache.problems) == 1
    assert "bad-run" in d.cache.problems[0]
    assert "run.json" in d.cache.problems[0]
    with pytest.raises(ResultsError, match=r"bad-series/timeseries\.parquet is unreadable"):
        cb.timeseries(d, "bad-series", None, [], 0)
    shown = showing_errors(cb.message_figure, str)(lambda key: cb.network(d, key, 0))("bad-series")
    assert "timeseries.parquet is unreadable" in shown[0].layout.title.text
    assert "unreadable" in shown[1]
    assert showing_errors(str)(lambda: "fine")() == "fine"


def test_analysis_never_pools_runs_of_different_scenarios(dashboard):
    feeder_run = "feeder/truthful-bidder"
    assert cb.analysis_defaults(dashboard, feeder_run) == [feeder_run]  # only its own scenario
    assert feeder_run not in cb.analysis_defaults(dashboard, RUN)
    keys = [*cb.analysis_defaults(dashboard, RUN), feeder_run]
    fig, table = cb.analysis(dashboard, keys, "controller")
    labels = list(next(t for t in fig.data if t.name == "cost").x)
    assert labels == ["grid-only · tiny", "truthful-bidder · tiny", "truthful-bidder · tiny-feeder"]
    assert "truthful-bidder · tiny (n=2)" in str(table)
    assert "tiny-feeder (n=1)" in str(table)


def test_crowded_network_views_aggregate_households_by_sector_or_bus(dashboard, runs_folder, monkeypatch):
    import powergrid.app.plots_playback as playback

    monkeypatch.setattr(playback, "MAX_MARKERS", 3)  # 8 households: more than three markers' worth
    _, trades, _ = read_run(runs_folder / RUN)
    step = int(trades["step"].value_counts().idxmax())
    fig, _ = cb.network(dashboard, RUN, step)
    households = _traces(fig, "households")[0]
    assert len(households.x) == 3
    assert "households shown by sector (3 markers)" in fig.layout.title.text
    series, _, _ = read_run(runs_folder / RUN)
    now = series[series["step"] == step]
    total = (now["imported"] + now["bought"] - now["exported"] - now["sold"]).sum()
    assert sum(households.marker.color) == pytest.approx(total)  # nothing lost by aggregating
    feeder, _ = cb.network(dashboard, "feeder/truthful-bidder", 12)
    assert "households shown by bus" in feeder.layout.title.text


def test_households_and_ledger_tabs_name_the_run_they_show(dashboard):
    wallet, ranking = cb.households(dashboard, RUN, BASELINE, ["h000"])
    label = dashboard.cache.info(RUN).label
    assert label in wallet.layout.title.text
    assert label in ranking.layout.title.text
    assert cb.ledger(dashboard, RUN)[0].children.startswith(label)


def test_every_figure_gives_a_controller_the_same_colour(dashboard):
    from powergrid.app.colours import colour_of

    keys = cb.analysis_defaults(dashboard, RUN)
    fig, _ = cb.analysis(dashboard, keys, "controller")
    cost = next(t for t in fig.data if t.name == "cost")
    assert list(cost.marker.color) == [colour_of("grid-only"), colour_of("truthful-bidder")]
    legend = [t for t in fig.data if t.showlegend]
    assert [t.name for t in legend] == ["grid-only", "truthful-bidder"]
    assert all(fig.layout[k].showticklabels is False for k in fig.layout if k.startswith("xaxis"))
