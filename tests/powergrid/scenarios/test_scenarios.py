"""Scenario schema, built-ins, loading from YAML and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from powergrid.errors import ScenarioError
from powergrid.scenarios import builtin_names, dump_scenario, load_scenario
from powergrid.scenarios.build import build_community, expand_agents
from scenario_factory import tiny_dict


def test_builtins_are_listed_and_valid():
    assert {"community-5", "prosumer-20", "city-1000"} <= set(builtin_names())
    c5 = load_scenario("community-5")
    assert c5.n_agents == 5
    assert c5.time.n_steps == 48
    assert c5.tariff.retail == 0.15
    assert c5.tariff.feed_in == 0.05
    assert c5.devices.battery.capacity_kwh == 10.0
    assert c5.devices.pv.peak_kw == 5.0
    p20 = load_scenario("prosumer-20")
    assert p20.n_agents == 20
    assert p20.time.step_minutes == 60
    assert max(g.battery.capacity_kwh for g in p20.agents if g.battery) == 50.0
    assert max(g.battery.power_kw for g in p20.agents if g.battery) == 25.0
    assert p20.grid.import_capacity_kw == 200.0
    assert any(w.start.hour >= 16 for w in p20.tariff.peak_windows)
    city = load_scenario("city-1000")
    assert city.n_agents == 1000
    assert city.time.n_steps == 8760


def test_group_settings_override_device_defaults_field_by_field():
    raw = tiny_dict(agents=[{"kind": "prosumer", "count": 2, "battery": {"capacity_kwh": 20.0}}])
    raw["devices"]["battery"]["charge_efficiency"] = 0.9
    agents = expand_agents(load_scenario(raw))
    np.testing.assert_allclose(agents.battery.capacity_kwh, [20.0, 20.0])
    np.testing.assert_allclose(agents.battery.power_kw, [3.0, 3.0])  # from devices
    np.testing.assert_allclose(agents.battery.charge_efficiency, [0.9, 0.9])  # from devices
    np.testing.assert_allclose(agents.battery.initial_soc_kwh, [10.0, 10.0])  # class default 0.5 × 20


def test_agent_kinds_get_the_right_devices(tiny_community):
    agents = tiny_community.agents
    kinds = np.array(agents.kinds)
    assert (agents.battery.capacity_kwh[kinds != "prosumer"] == 0).all()
    assert (agents.pv_peak_kw[kinds == "consumer"] == 0).all()
    assert (tiny_community.profiles.pv_kw[:, kinds == "consumer"] == 0).all()
    assert (tiny_community.profiles.pv_kw[:, kinds != "consumer"].max(axis=0) > 0).all()
    assert agents.ids[:3] == ("h000", "h001", "h002")


def test_explicit_ids_and_collisions():
    raw = tiny_dict(agents=[{"kind": "consumer", "count": 2, "ids": ["anna", "ben"]}, {"kind": "prosumer"}])
    assert expand_agents(load_scenario(raw)).ids == ("anna", "ben", "h002")
    clash = tiny_dict(agents=[{"kind": "consumer", "ids": ["h001"]}, {"kind": "prosumer", "count": 2}])
    with pytest.raises(ScenarioError, match="collide with default ids: \\['h001'\\]"):
        expand_agents(load_scenario(clash))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"market": {"mechanism": "dutch"}}, r"market\.mechanism: Input should be 'uniform', 'pay-as-bid'"),
        ({"market": {"k": 1.5}}, r"market\.k: Input should be less than or equal to 1"),
        ({"market": {"k": -0.1}}, r"market\.k: Input should be greater than or equal to 0"),
        ({"market": {"fee_per_kwh": -0.01}}, r"market\.fee_per_kwh: Input should be greater than or equal to 0"),
        ({"market": {"imbalance_price": -0.2}}, r"market\.imbalance_price: Input should be greater than or equal"),
        ({"tariff": {"retail": 0.1, "feed_in": 0.2}}, r"tariff: feed_in \(0.2\) must not exceed retail"),
        ({"agents": []}, r"agents: List should have at least 1 item"),
        ({"agents": [{"kind": "consumer", "battery": {}}]}, r"agents\.0: .*a consumer agent has no battery"),
        (
            {"agents": [{"kind": "robot"}]},
            r"agents\.0\.kind: Input should be 'prosumer', 'pv-only', 'consumer', 'storage' or 'microgrid'",
        ),
        ({"seed": -1}, r"seed: Input should be greater than or equal to 0"),
        ({"colour": "red"}, r"colour: unknown field"),
        ({"grid": {"import_capacity_kw": 0}}, r"grid\.import_capacity_kw: Input should be greater than 0"),
        ({"value_of_lost_load": -1.0}, r"value_of_lost_load: Input should be greater than or equal to 0"),
        ({"value_of_lost_load": float("inf")}, r"value_of_lost_load: Input should be a finite number"),
        ({"value_of_lost_load": float("nan")}, r"value_of_lost_load: Input should be a finite number"),
    ],
)
def test_bad_scenarios_name_field_and_allowed_values(change, message):
    with pytest.raises(ScenarioError, match=message):
        load_scenario(tiny_dict(**change))


def test_bad_nested_values():
    raw = tiny_dict()
    raw["time"]["step_minutes"] = 20
    raw["devices"]["battery"]["initial_soc"] = 1.5
    with pytest.raises(ScenarioError) as err:
        load_scenario(raw)
    text = str(err.value)
    assert "time.step_minutes: Input should be 15, 30 or 60" in text
    assert "devices.battery.initial_soc: Input should be less than or equal to 1" in text


def test_price_band_must_leave_room():
    raw = tiny_dict(market={"price_floor": 0.5})
    with pytest.raises(ScenarioError, match="no price between feed-in and retail at step 0"):
        build_community(load_scenario(raw))


def test_yaml_files_round_trip_and_report_syntax_errors(tmp_path, tiny_scenario):
    path = tmp_path / "mine.yaml"
    path.write_text(dump_scenario(tiny_scenario))
    again = load_scenario(path)
    assert again == tiny_scenario
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntime: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML at line"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match="unknown scenario 'nonsense': not a built-in"):
        load_scenario("nonsense")


def test_seed_override_does_not_modify_the_input(tiny_scenario):
    other = load_scenario(tiny_scenario, seed=11)
    assert other.seed == 11
    assert tiny_scenario.seed == 3


def test_table_data_source_end_to_end(tmp_path):
    times = pd.date_range("2024-03-01", periods=24, freq="30min")
    rows = [
        {"agent_id": a, "timestamp": t, "load_kw": 1.0 + i, "pv_kw": 2.0 * (i == 0) * (8 <= t.hour < 16)}
        for i, a in enumerate(["x", "y"])
        for t in times
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "profiles.csv", index=False)
    raw = tiny_dict(
        agents=[{"kind": "prosumer"}, {"kind": "consumer"}], data={"source": "table", "path": "profiles.csv"}
    )
    raw["time"] = {"start": "2024-03-01T00:00:00", "step_minutes": 60, "n_steps": 12}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(raw))
    community = build_community(load_scenario(tmp_path / "s.yaml"))  # data path relative to the YAML file
    np.testing.assert_allclose(community.profiles.load_kw[:, 1], 2.0)
    np.testing.assert_allclose(community.profiles.pv_kw[8, 0], 2.0)
    assert community.profiles.pv_kw[:, 1].sum() == 0


def test_ausgrid_customer_count_must_match_agents(tmp_path):
    raw = tiny_dict(data={"source": "ausgrid", "path": str(tmp_path / "x.csv"), "customers": [1, 2]})
    with pytest.raises(ScenarioError, match="lists 2 customers but the scenario has 8 households"):
        build_community(load_scenario(raw))


def test_a_scenario_file_extends_a_builtin_with_only_the_fields_that_change(tmp_path):
    from powergrid.scenarios import dump_scenario

    path = tmp_path / "cheap.yaml"
    path.write_text("extends: community-5\nname: cheap\ntariff: {retail: 0.12}\nmarket: {fee_per_kwh: 0.01}\n")
    spec = load_scenario(path)
    base = load_scenario("community-5")
    assert spec.name == "cheap"
    assert spec.tariff.retail == 0.12
    assert spec.tariff.feed_in == base.tariff.feed_in  # deep merge: the rest of tariff comes from the base
    assert spec.market.mechanism == base.market.mechanism
    assert spec.market.fee_per_kwh == 0.01
    assert spec.agents == base.agents
    assert spec.time == base.time
    resolved = yaml.safe_load(dump_scenario(spec))
    assert "extends" not in resolved
    assert resolved["tariff"]["retail"] == 0.12


def test_extends_chains_files_and_keeps_data_paths_relative_to_their_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "base.yaml").write_text(
        yaml.safe_dump(tiny_dict(data={"source": "table", "path": "profiles.csv"}))
    )
    (tmp_path / "child.yaml").write_text("extends: data/base.yaml\nseed: 11\n")
    spec = load_scenario(tmp_path / "child.yaml")
    assert spec.seed == 11
    assert spec.name == "tiny"
    assert spec.data.path == (tmp_path / "data" / "profiles.csv").resolve()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("extends: community-5\ntarif: {retail: 0.1}\n", r"child\.yaml.*\n  - tarif: unknown field"),
        ("extends: community-5\ntariff: {retail: -1}\n", r"child\.yaml.*\n  - tariff\.retail: Input should be"),
        ("extends: no-such-base\n", r"extends: 'no-such-base' is neither a built-in"),
        ("extends: child.yaml\n", r"extends forms a cycle"),
        ("extends: [1, 2]\n", r"extends must be a built-in scenario name or a YAML file"),
    ],
)
def test_extends_errors_name_the_users_file_and_field(tmp_path, text, message):
    path = tmp_path / "child.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)
