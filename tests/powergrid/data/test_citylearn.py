"""CityLearn data sets as scenario data: the bundled 2022 set, the CSV layout, the calendar check, devices from the
schema, prices and carbon from the files, and one clear error per kind of bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from powergrid.data.citylearn import BUNDLED_2022, read_citylearn
from powergrid.errors import DataError, ScenarioError
from powergrid.runner.compare import run_controllers
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import agent_count, build_community

FIRST_ROW = "2022-07-31T23:00:00"


def scenario(**changes) -> dict:
    raw = {
        "name": "cl",
        "time": {"start": "2022-08-01T00:00:00", "step_minutes": 60, "n_steps": 48},
        "data": {"source": "citylearn", "start": FIRST_ROW},
        "tariff": {"feed_in": 0.07},
    }
    for key, value in changes.items():
        raw[key] = {**raw[key], **value} if isinstance(value, dict) and isinstance(raw.get(key), dict) else value
    return raw


def shipped() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The package's files, read directly (not through the loader)."""
    schema = json.loads((BUNDLED_2022 / "schema.json").read_text())
    return pd.read_parquet(BUNDLED_2022 / "buildings.parquet"), pd.read_parquet(BUNDLED_2022 / "grid.parquet"), schema


def test_the_bundled_set_is_small_licensed_and_complete():
    size = sum(f.stat().st_size for f in BUNDLED_2022.iterdir())
    assert size <= 3 * 1024 * 1024
    assert "Permission is hereby granted" in (BUNDLED_2022 / "LICENSE").read_text()
    data = read_citylearn(None)
    assert data.buildings == tuple(f"Building_{k}" for k in range(1, 18))
    assert data.n_rows == 8760
    assert data.load_kw.shape == (8760, 17)
    assert (data.month[0], data.hour[0], data.day_type[0]) == (7, 24, 7)  # Sunday 31 July 2022, 23:00-24:00


def test_pv_is_solar_generation_times_the_nominal_power_over_1000():
    buildings, _, schema = shipped()
    data = read_citylearn(None, ["Building_5", "Building_1"])
    for j, name in enumerate(["Building_5", "Building_1"]):
        nominal = schema["buildings"][name]["pv"]["attributes"]["nominal_power"]
        solar = buildings.loc[buildings["building"] == name, "solar_generation"].to_numpy()
        np.testing.assert_allclose(data.pv_kw[:, j], solar * nominal / 1000.0, rtol=1e-12)
        assert data.pv_peak_kw[j] == nominal


def test_agents_and_devices_come_from_the_schema():
    _, _, schema = shipped()
    c = build_community(load_scenario(scenario()))
    assert c.agents.ids[:2] == ("Building_1", "Building_2")
    assert set(c.agents.kinds) == {"prosumer"}
    b1 = schema["buildings"]["Building_1"]["electrical_storage"]["attributes"]
    assert c.agents.battery.capacity_kwh[0] == b1["capacity"]
    assert c.agents.battery.power_kw[0] == b1["nominal_power"]
    round_trip = c.agents.battery.charge_efficiency[0] * c.agents.battery.discharge_efficiency[0]
    assert round_trip == pytest.approx(b1["efficiency"])  # CityLearn's efficiency is round trip (√η each way)


def test_a_window_selects_the_matching_rows_with_the_data_prices_and_carbon():
    buildings, grid, _ = shipped()
    c = build_community(load_scenario(scenario()))  # 2022-08-01 00:00 is the data's row 1
    b3 = buildings.loc[buildings["building"] == "Building_3", "non_shiftable_load"].to_numpy()
    np.testing.assert_array_equal(c.profiles.load_kw[:, 2], b3[1:49])
    np.testing.assert_array_equal(c.tariff.retail, grid["electricity_pricing"].to_numpy()[1:49])
    np.testing.assert_array_equal(c.carbon_kg_per_kwh, grid["carbon_intensity"].to_numpy()[1:49])
    assert np.all(c.tariff.feed_in == 0.07)


def test_the_scenario_may_set_its_own_tariff_and_carbon():
    raw = scenario(tariff={"retail": 0.3, "feed_in": 0.07}, carbon={"kind": "constant", "mean_kg_per_kwh": 0.5})
    c = build_community(load_scenario(raw))
    assert np.all(c.tariff.retail == 0.3)
    assert np.all(c.carbon_kg_per_kwh == 0.5)


def test_groups_set_kinds_and_must_match_the_buildings():
    raw = scenario(
        data={"buildings": ["Building_2", "Building_7", "Building_9"]},
        agents=[{"kind": "prosumer", "count": 2}, {"kind": "consumer", "count": 1}],
    )
    c = build_community(load_scenario(raw))
    assert c.agents.ids == ("Building_2", "Building_7", "Building_9")
    assert c.agents.kinds == ("prosumer", "prosumer", "consumer")
    assert c.profiles.pv_kw[:, 2].max() == 0
    assert c.agents.battery.capacity_kwh[2] == 0
    assert c.profiles.pv_kw[:, 0].max() > 0
    raw["agents"] = [{"kind": "prosumer", "count": 2}]
    with pytest.raises(ScenarioError, match="count 2 agents but the CityLearn data set has 3 buildings"):
        build_community(load_scenario(raw))


def test_a_wrong_start_is_an_error_naming_the_first_row_that_disagrees():
    raw = scenario(data={"start": "2021-07-31T23:00:00"}, time={"start": "2021-08-01T00:00:00"})
    expected = r"row 1 \(0-based\): month 8, hour 1, day_type 1 but the scenario's calendar puts 2021-08-01 00:00:00"
    with pytest.raises(DataError, match=expected + r" there .*day_type 7"):
        build_community(load_scenario(raw))
    shifted = scenario(time={"start": "2022-08-01T05:00:00"}, data={"start": "2022-07-31T22:00:00"})
    expected = r"row 7 \(0-based\): month 8, hour 7, day_type 1 but .* \(month 8, hour ending 6,"
    with pytest.raises(DataError, match=expected):
        build_community(load_scenario(shifted))


def test_a_window_past_the_data_is_an_error():
    raw = scenario(time={"start": "2023-07-31T00:00:00", "n_steps": 48})
    with pytest.raises(DataError, match="8760 rows from 2022-07-31 23:00:00; the scenario needs rows 8737–8784"):
        build_community(load_scenario(raw))


def test_feed_in_must_be_stated_and_stay_below_the_data_prices():
    raw = scenario()
    del raw["tariff"]
    with pytest.raises(ScenarioError, match=r"tariff.feed_in: CityLearn data has no feed-in price"):
        load_scenario(raw)
    with pytest.raises(ScenarioError, match=r"tariff.feed_in \(0.3\) exceeds the data's retail price 0.22 at step 0"):
        build_community(load_scenario(scenario(tariff={"feed_in": 0.3})))


def test_data_prices_need_a_citylearn_source():
    from scenario_factory import tiny_dict

    with pytest.raises(ScenarioError, match=r"tariff.retail: 'data' needs a data source"):
        load_scenario(tiny_dict(tariff={"retail": "data", "feed_in": 0.05}))
    with pytest.raises(ScenarioError, match="agents: required"):
        load_scenario({k: v for k, v in tiny_dict().items() if k != "agents"})


# --- the CSV layout of CityLearn's repository --------------------------------------------------------------------


@pytest.fixture
def csv_set(tmp_path: Path) -> Path:
    """Three buildings of the bundled set written out in CityLearn's own layout (schema.json + CSVs)."""
    buildings, grid, schema = shipped()
    names = ["Building_1", "Building_2", "Building_3"]
    folder = tmp_path / "set"
    folder.mkdir()
    schema["buildings"] = {n: schema["buildings"][n] for n in names}
    (folder / "schema.json").write_text(json.dumps(schema))
    for n in names:
        part = buildings[buildings["building"] == n].drop(columns="building")
        part.assign(daylight_savings_status=0).to_csv(folder / schema["buildings"][n]["energy_simulation"], index=False)
    grid[["electricity_pricing"]].to_csv(folder / "pricing.csv", index=False)
    grid[["carbon_intensity"]].to_csv(folder / "carbon_intensity.csv", index=False)
    return folder


def test_the_csv_layout_reads_the_same_as_the_bundle(csv_set):
    from_csv = read_citylearn(csv_set)
    bundled = read_citylearn(None, ["Building_1", "Building_2", "Building_3"])
    np.testing.assert_array_equal(from_csv.load_kw, bundled.load_kw)
    np.testing.assert_array_equal(from_csv.pv_kw, bundled.pv_kw)
    np.testing.assert_array_equal(from_csv.retail, bundled.retail)


def test_a_scenario_file_names_its_data_folder_relative_to_itself(csv_set):
    path = csv_set.parent / "cl.yaml"
    data = f"data: {{source: citylearn, path: set, start: {FIRST_ROW}}}\n"
    path.write_text(f"name: cl\ntime: {{start: 2022-08-01T00:00:00, n_steps: 24}}\n{data}tariff: {{feed_in: 0.07}}\n")
    spec = load_scenario(path)
    assert agent_count(spec) == 3
    assert build_community(spec).n_agents == 3


def _rewrite(path: Path, line: int, column: str, value: str) -> None:
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("value", "what"),
    [("", "is empty"), ("abc", "'abc' is not a non-negative number"), ("-1.5", "'-1.5' is not a non-negative number")],
)
def test_bad_values_name_file_line_and_column(csv_set, value, what):
    _rewrite(csv_set / "Building_2.csv", 40, "non_shiftable_load", value)
    with pytest.raises(DataError, match=rf"Building_2.csv line 40, column 'non_shiftable_load': {what}"):
        read_citylearn(csv_set)


def test_a_folder_without_schema_and_an_unknown_building_are_errors(csv_set, tmp_path):
    with pytest.raises(DataError, match=r"no schema.json"):
        read_citylearn(tmp_path)
    with pytest.raises(DataError, match=r"data.buildings: \['Building_99'\] not in"):
        read_citylearn(csv_set, ["Building_1", "Building_99"])


def test_short_files_and_missing_columns_are_errors(csv_set):
    text = (csv_set / "Building_3.csv").read_text().splitlines()
    (csv_set / "Building_3.csv").write_text("\n".join(text[:100]) + "\n")
    with pytest.raises(DataError, match=r"Building_3.csv: 99 rows"):
        read_citylearn(csv_set)
    shutil.copyfile(csv_set / "Building_1.csv", csv_set / "Building_3.csv")
    pd.read_csv(csv_set / "pricing.csv").rename(columns={"electricity_pricing": "price"}).to_csv(
        csv_set / "pricing.csv", index=False
    )
    with pytest.raises(DataError, match=r"pricing.csv: missing column 'electricity_pricing'"):
        read_citylearn(csv_set)


# --- the built-ins --------------------------------------------------------------------------------------------


def test_the_builtins_use_the_bundled_year_and_week():
    year, week = load_scenario("citylearn-2022"), load_scenario("citylearn-2022-week")
    assert year.time.n_steps == 8760
    assert week.time.n_steps == 168
    assert agent_count(year) == agent_count(week) == 17
    assert week.tariff.retail == "data"
    assert week.tariff.feed_in == year.tariff.feed_in


def test_grid_only_on_the_whole_year_matches_the_files_home_by_home():
    """Without storage each home imports max(load − PV, 0) and exports max(PV − load, 0) every hour: recomputed from
    the shipped files alone, per home, against the grid-only run of citylearn-2022."""
    buildings, _, schema = shipped()
    run = run_controllers(build_community(load_scenario("citylearn-2022")), ["grid-only"])["grid-only"].totals
    for i, name in enumerate(f"Building_{k}" for k in range(1, 18)):
        part = buildings[buildings["building"] == name]
        pv = part["solar_generation"].to_numpy() * schema["buildings"][name]["pv"]["attributes"]["nominal_power"] / 1000
        net = part["non_shiftable_load"].to_numpy() - pv
        assert run.agent["imported"][i] == pytest.approx(np.maximum(net, 0).sum(), rel=1e-6)
        assert run.agent["exported"][i] == pytest.approx(np.maximum(-net, 0).sum(), rel=1e-6)


def test_the_cli_reports_bad_citylearn_data_in_one_line_with_exit_2(csv_set, tmp_path):
    from typer.testing import CliRunner

    from powergrid.cli import app

    _rewrite(csv_set / "Building_1.csv", 3, "solar_generation", "n/a")
    path = tmp_path / "bad.yaml"
    data = f"data: {{source: citylearn, path: {csv_set}, start: {FIRST_ROW}}}\n"
    path.write_text(f"name: bad\ntime: {{start: 2022-08-01T00:00:00, n_steps: 24}}\n{data}tariff: {{feed_in: 0.07}}\n")
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "Building_1.csv line 3, column 'solar_generation': 'n/a' is not a non-negative number" in result.output
    assert "Traceback" not in result.output
