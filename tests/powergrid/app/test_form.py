from __future__ import annotations

import pytest

from powergrid.app.form import GENERAL, form_fields, form_values, groups, scenario_from_form
from powergrid.scenarios import builtin_names, load_scenario
from powergrid.scenarios.model import Scenario

FIELDS = form_fields()


def _leaf_paths(model, prefix=""):
    """Every setting of the schema, as the form's dotted paths (independent re-derivation for the test)."""
    out = []
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and hasattr(ann, "model_fields"):
            out += _leaf_paths(ann, f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name}")
    return out


def test_every_schema_setting_has_an_input_with_its_description():
    assert [f.path for f in FIELDS] == _leaf_paths(Scenario)
    by_path = {f.path: f for f in FIELDS}
    assert (
        by_path["time.n_steps"].description
        == Scenario.model_fields["time"].annotation.model_fields["n_steps"].description
    )
    assert by_path["time.n_steps"].kind == "integer"
    assert by_path["market.mechanism"].kind == "choice"
    assert "pay-as-bid" in by_path["market.mechanism"].options
    assert by_path["market.price_cap"].optional
    assert by_path["market.price_cap"].kind == "number"
    assert by_path["agents"].kind == "yaml"
    assert by_path["agents"].group == "agents"
    assert by_path["ledger"].kind == "bool"
    assert by_path["ledger"].group == GENERAL
    assert by_path["devices.battery.capacity_kwh"].group == "devices"
    assert next(iter(groups(FIELDS))) == GENERAL


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_scenarios_round_trip_through_the_form(name):
    spec = load_scenario(name)
    again, errors = scenario_from_form(form_values(spec, FIELDS), FIELDS)
    assert errors == {}
    assert again == spec


def test_errors_name_the_field_that_caused_them():
    values = form_values(load_scenario("community-5"), FIELDS)
    values["time.n_steps"] = -3
    values["agents"] = "- {kind: prosumer, count: 0}"
    values["devices.battery.soc_min"] = 0.9
    values["devices.battery.soc_max"] = 0.2
    spec, errors = scenario_from_form(values, FIELDS)
    assert spec is None
    assert "greater than 0" in errors["time.n_steps"]
    assert "count" in errors["agents"]
    assert "soc_min" in errors["devices"]  # a section-wide check is shown on its section


def test_yaml_syntax_errors_and_empty_optionals():
    values = form_values(load_scenario("community-5"), FIELDS)
    values["agents"] = "- [unclosed"
    assert scenario_from_form(values, FIELDS) == (None, {"agents": "not valid YAML (line 1)"})
    values = form_values(load_scenario("community-5"), FIELDS)
    values["market.price_cap"] = 0.12
    values["ledger"] = []
    spec, errors = scenario_from_form(values, FIELDS)
    assert errors == {}
    assert spec.market.price_cap == 0.12
    assert spec.ledger is False
    values["market.price_cap"] = ""
    assert scenario_from_form(values, FIELDS)[0].market.price_cap is None
    values["name"] = ""
    assert "name" in scenario_from_form(values, FIELDS)[1]
