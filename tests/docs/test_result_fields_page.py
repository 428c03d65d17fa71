"""The result fields page is generated from the table beside StepResult: one row per field, with its unit."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from powergrid.engine.result import INTERVENTION_FIELDS, NETWORK_FIELDS, RESULT_FIELDS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def page() -> str:
    spec = importlib.util.spec_from_file_location("gen_result_fields", ROOT / "docs" / "gen_result_fields.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.render()


def _section(page: str, heading: str) -> str:
    return page.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize(
    ("heading", "table"),
    [("StepResult", RESULT_FIELDS), ("Network outcome", NETWORK_FIELDS), ("Safety interventions", INTERVENTION_FIELDS)],
)
def test_every_field_has_one_row_with_its_unit_and_description(page, heading, table):
    section = _section(page, heading)
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == len(table)
    for f in table:
        mine = [row for row in rows if f"| `{f.name}` | {f.unit} | {f.scope} | {f.stored} |" in row]
        assert len(mine) == 1, f.name
        assert mine[0].endswith(f"| {f.description} |"), f.name


def test_intervention_rows_give_their_bit(page):
    section = _section(page, "Safety interventions")
    for bit, f in enumerate(INTERVENTION_FIELDS):
        assert f"| {bit} | `{f.name}` |" in section


def test_roles_are_spelled_out(page):
    load = next(line for line in page.splitlines() if line.startswith("| `load` |"))
    assert "summed over the run, energy balance: −, dashboard" in load
