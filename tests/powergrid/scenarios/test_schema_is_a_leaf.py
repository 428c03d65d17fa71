"""The pydantic schema stays in the Scenarios layer and above: the layers below take the plain values built by
``powergrid.scenarios.build`` and never import ``powergrid.scenarios.model`` or ``powergrid.scenarios.schema``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import powergrid

SRC = Path(powergrid.__file__).parent
LOWER = ["market", "network", "data", "devices", "engine", "forecasting", "controllers", "envs", "policy"]
LOWER_FILES = ["safety.py", "balance.py", "actions.py", "reward.py"]
SCHEMA = ("powergrid.scenarios.model", "powergrid.scenarios.schema")
#: What ``powergrid.scenarios`` re-exports from the schema.
SCHEMA_REEXPORTS = {"Scenario"}


def _lower_modules() -> list[Path]:
    files = [p for part in LOWER for p in sorted((SRC / part).rglob("*.py"))]
    return files + [SRC / name for name in LOWER_FILES if (SRC / name).exists()]


def schema_imports(path: Path) -> list[str]:
    """Every import of the schema in a module (at any depth: top level, functions, TYPE_CHECKING blocks)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith(SCHEMA)]
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            if node.module.startswith(SCHEMA):
                found.append(node.module)
            elif node.module == "powergrid.scenarios":
                found += [f"powergrid.scenarios.{a.name}" for a in node.names if a.name in SCHEMA_REEXPORTS | {"model"}]
    return found


def test_the_lower_layers_are_found():
    files = _lower_modules()
    assert {p.parent.name for p in files} >= set(LOWER)
    assert len(files) > 50


@pytest.mark.parametrize("path", _lower_modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_lower_layer_imports_the_schema(path):
    assert schema_imports(path) == [], f"{path.relative_to(SRC)} imports the schema; take a value built by build.py"


def test_the_check_sees_every_form_of_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import powergrid.scenarios.model\n"
        "from powergrid.scenarios.schema.network import NetworkConfig\n"
        "from powergrid.scenarios import Scenario, load_scenario\n"
        "def f():\n"
        "    from powergrid.scenarios.model import MarketConfig\n"
        "from powergrid.scenarios.build import Community\n",
        encoding="utf-8",
    )
    assert schema_imports(module) == [
        "powergrid.scenarios.model",
        "powergrid.scenarios.schema.network",
        "powergrid.scenarios.Scenario",
        "powergrid.scenarios.model",
    ]
