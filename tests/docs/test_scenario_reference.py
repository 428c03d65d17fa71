"""The scenario reference page is generated from the schema and documents every field of every section."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("gen_scenario_reference", ROOT / "docs" / "gen_scenario_reference.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def _sections(page: str) -> dict[str, str]:
    """Section body by model name (headings end with '— ModelName { #anchor }')."""
    parts = re.split(r"^## .*— (\w+) \{ #[\w-]+ \}$", page, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_field_of_every_model_has_a_row(generator):
    reference = generator.Reference()
    sections = _sections(reference.render())
    models = {s.model for s in reference.order}
    assert {m.__name__ for m in models} == set(sections)
    for model in models:
        for name, info in model.model_fields.items():
            rows = [line for line in sections[model.__name__].splitlines() if line.startswith(f"| `{name}` |")]
            assert len(rows) == 1, f"{model.__name__}.{name} has {len(rows)} rows"
            if info.description:
                assert info.description.replace("|", "\\|").replace("\n", " ") in rows[0]


def test_nested_models_are_all_reached(generator):
    from powergrid.scenarios.model import BatteryConfig, NetworkConfig, PeakWindow, Scenario
    from powergrid.scenarios.schema.data_sources import AusgridData, CityLearnData, SyntheticData, TableData

    reached = {s.model for s in generator.Reference().order}
    wanted = {Scenario, BatteryConfig, NetworkConfig, PeakWindow, SyntheticData, AusgridData, TableData, CityLearnData}
    assert wanted <= reached
    assert all(issubclass(m, BaseModel) for m in reached)


def test_defaults_and_constraints_are_shown(generator):
    sections = _sections(generator.render())
    battery = sections["BatteryConfig"]
    assert "| `capacity_kwh` | number | `10.0` | ≥ 0, finite | Usable energy capacity (kWh). |" in battery
    assert "| `start` | datetime | **required** |" in sections["TimeConfig"]
    assert "one of `15`, `30`, `60`" in sections["TimeConfig"]
    assert "| `source` | `citylearn` |" in sections["CityLearnData"]
