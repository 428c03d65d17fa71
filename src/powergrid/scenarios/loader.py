"""Find, read and validate scenarios: built-in names, YAML files, dicts or Scenario objects."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from powergrid.errors import ScenarioError
from powergrid.scenarios.model import AusgridData, Scenario, TableData

BUILTIN_PACKAGE = "powergrid.scenarios.builtin"

ScenarioLike = str | Path | Scenario | dict


def builtin_names() -> list[str]:
    """Names of the scenarios shipped with the package."""
    folder = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _format_validation(err: ValidationError, where: str) -> str:
    lines = [f"invalid scenario {where}:"]
    for e in err.errors():
        loc = ".".join(str(part) for part in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; see the Scenario schema)"
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def scenario_from_dict(raw: Any, where: str = "(dict)", base_dir: Path | None = None) -> Scenario:
    """Validate a mapping into a Scenario; relative data paths are resolved against ``base_dir``."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"invalid scenario {where}: the top level must be a mapping, got {type(raw).__name__}")
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(_format_validation(err, where)) from None
    if base_dir is not None and isinstance(scenario.data, AusgridData | TableData):
        if not scenario.data.path.is_absolute():
            scenario.data.path = (base_dir / scenario.data.path).resolve()
    return scenario


def read_yaml(path: Path) -> Any:
    """Parse a YAML file, turning syntax errors into a ScenarioError with the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ScenarioError(f"cannot read scenario file {path}: {err.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"scenario file {path} is not valid YAML{where}: {err}") from None


def load_scenario(spec: ScenarioLike, seed: int | None = None) -> Scenario:
    """Return a validated Scenario from a built-in name, a YAML path, a mapping or a Scenario.

    ``seed`` (if given) replaces the scenario's seed. The input object is never modified.
    """
    if isinstance(spec, Scenario):
        scenario = spec.model_copy(deep=True)
    elif isinstance(spec, dict):
        scenario = scenario_from_dict(spec)
    else:
        text = str(spec)
        path = Path(text)
        if text in builtin_names():
            ref = resources.files(BUILTIN_PACKAGE) / f"{text}.yaml"
            scenario = scenario_from_dict(yaml.safe_load(ref.read_text(encoding="utf-8")), f"'{text}'")
        elif path.suffix in (".yaml", ".yml") or path.exists():
            if not path.exists():
                raise ScenarioError(f"scenario file not found: {path}")
            scenario = scenario_from_dict(read_yaml(path), str(path), base_dir=path.parent.resolve())
        else:
            raise ScenarioError(
                f"unknown scenario {text!r}: not a built-in ({', '.join(builtin_names())}) and not a YAML file"
            )
    if seed is not None:
        if seed < 0:
            raise ScenarioError(f"seed must be >= 0, got {seed}")
        scenario.seed = seed
    return scenario


def dump_scenario(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML (every default written out), loadable again."""
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
