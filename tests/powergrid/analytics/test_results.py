"""Results directories: contents, determinism to the byte, atomic writes, no lost data."""

from __future__ import annotations

import hashlib
import json

import pytest

from powergrid.analytics.results import FORMAT_VERSION, atomic_directory, read_run
from powergrid.errors import ResultsError
from powergrid.ledger.run_directory import KPIS, MARKER, SCENARIO, TIMESERIES, TRADES
from powergrid.runner.compare import run_controllers
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community


def write_run(scenario, folder, controller="truthful-bidder"):
    community = build_community(scenario)
    with atomic_directory(folder) as tmp:
        run_controllers(community, [controller], {controller: tmp})
    return folder


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_run_directory_contents(tiny_scenario, tmp_path):
    folder = write_run(tiny_scenario, tmp_path / "run")
    ts, trades, kpis = read_run(folder)
    n, steps = tiny_scenario.n_agents, tiny_scenario.time.n_steps
    assert len(ts) == n * steps
    assert set(ts["agent"].cat.categories) == {f"h{i:03d}" for i in range(n)}
    assert len(trades) > 0
    assert (trades["kwh"] > 0).all()
    assert kpis["controller"] == "truthful-bidder"
    assert kpis["baseline"] == "grid-only"
    assert kpis["community"]["p2p_volume_kwh"] == pytest.approx(trades["kwh"].sum())
    assert load_scenario(folder / SCENARIO) == tiny_scenario
    # The per-agent costs in the time series add up to the KPIs (the headline adds the storage rule).
    assert ts["cash_cost"].sum() == pytest.approx(kpis["community"]["cash_cost"])
    assert ts["cash_cost"].sum() + ts["unserved_cost"].sum() + kpis["community"]["storage_adjustment"] == (
        pytest.approx(kpis["community"]["cost"])
    )


#: The columns of timeseries.parquet in format 7, in order: a change to the result fields' table that changes them
#: changes the run-directory format (bump FORMAT_VERSION and update this list).
FORMAT_7_COLUMNS = [
    "step",
    "timestamp",
    "agent",
    "load",
    "pv",
    "generation",
    "curtailed",
    "charge",
    "discharge",
    "bought",
    "sold",
    "imported",
    "exported",
    "unserved",
    "grid_cost",
    "p2p_payment",
    "fees",
    "network_charges",
    "degradation_cost",
    "fuel_cost",
    "loss_cost",
    "cash_cost",
    "unserved_cost",
    "co2_kg",
    "stored_change",
    "imbalance",
    "network_curtailed",
    "soc",
    "order",
    "limit_price",
    "voltage_pu",
    "tap",
    "capacitor",
    "clearing_price",
    "retail",
    "feed_in",
    "carbon_kg_per_kwh",
    "interventions",
]


def test_the_written_columns_are_those_of_the_format_version(tiny_scenario, tmp_path):
    ts, trades, _ = read_run(write_run(tiny_scenario, tmp_path / "run"))
    assert FORMAT_VERSION == 7
    assert list(ts.columns) == FORMAT_7_COLUMNS
    assert list(trades.columns) == ["step", "timestamp", "buyer", "seller", "kwh", "price"]
    assert (ts.drop(columns=["step", "timestamp", "agent", "interventions"]).dtypes == "float64").all()
    assert ts["interventions"].dtype == "uint8"


def test_same_scenario_and_seed_give_identical_bytes(tiny_scenario, tmp_path):
    a = write_run(tiny_scenario, tmp_path / "a")
    b = write_run(load_scenario(tiny_scenario), tmp_path / "b")
    for name in (TIMESERIES, TRADES, KPIS, SCENARIO):
        assert digest(a / name) == digest(b / name), name
    c = write_run(load_scenario(tiny_scenario, seed=4), tmp_path / "c")
    assert digest(a / TIMESERIES) != digest(c / TIMESERIES)


def test_existing_directory_is_never_overwritten_silently(tmp_path):
    target = tmp_path / "out"
    with atomic_directory(target) as tmp:  # a run directory heron wrote
        (tmp / KPIS).write_text("{}")
    with pytest.raises(ResultsError, match="already exists; choose another --out or pass --overwrite"):
        with atomic_directory(target):
            pass
    assert (target / KPIS).read_text() == "{}"


def test_a_users_folder_is_refused_without_suggesting_overwrite(tmp_path):
    """A folder heron did not write: --overwrite would be refused too, so the message does not suggest it."""
    target = tmp_path / "out"
    target.mkdir()
    (target / "precious.txt").write_text("keep me")
    with pytest.raises(ResultsError, match="not written by heron-grid") as error:
        with atomic_directory(target):
            pass
    assert "or pass --overwrite" not in str(error.value)
    assert (target / "precious.txt").read_text() == "keep me"


def test_overwrite_replaces_only_directories_heron_wrote(tmp_path):
    target = tmp_path / "notes"
    target.mkdir()
    (target / "notes.txt").write_text("a user's file")
    with pytest.raises(ResultsError, match=r"was not written by heron-grid \(no \.heron-output marker\)"):
        with atomic_directory(target, overwrite=True):
            pass
    assert (target / "notes.txt").read_text() == "a user's file"
    with atomic_directory(tmp_path / "ours") as tmp:
        (tmp / KPIS).write_text("{}")
    assert (tmp_path / "ours" / MARKER).is_file()
    with atomic_directory(tmp_path / "ours", overwrite=True) as tmp:
        (tmp / KPIS).write_text(json.dumps({"new": True}))
    assert json.loads((tmp_path / "ours" / KPIS).read_text()) == {"new": True}


def test_failed_run_leaves_no_directory_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "out"
    with atomic_directory(target) as tmp:
        (tmp / KPIS).write_text(json.dumps({"old": True}))
    with pytest.raises(ZeroDivisionError):
        with atomic_directory(target, overwrite=True) as tmp:
            (tmp / KPIS).write_text("{}")
            raise ZeroDivisionError
    assert json.loads((target / KPIS).read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no partial directory left behind
    with atomic_directory(target, overwrite=True) as tmp:
        (tmp / KPIS).write_text(json.dumps({"new": True}))
    assert json.loads((target / KPIS).read_text()) == {"new": True}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_reading_an_incomplete_directory_is_an_error(tmp_path):
    (tmp_path / KPIS).write_text("{}")
    with pytest.raises(ResultsError, match=r"not a complete run directory: missing timeseries\.parquet"):
        read_run(tmp_path)
