"""Find, read and validate scenarios: built-in names, YAML files, dicts or Scenario objects."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from powergrid.errors import ScenarioError
from powergrid.scenarios.model import Scenario
from powergrid.scenarios.schema.data_sources import AusgridData, CityLearnData, TableData

BUILTIN_PACKAGE = "powergrid.scenarios.builtin"

ScenarioLike = str | Path | Scenario | dict


def builtin_names() -> list[str]:
    """Names of the scenarios shipped with the package."""
    folder = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _format_validation(err: ValidationError, where: str) -> str:
    lines = [f"invalid scenario {where}:"]
    for e in err.errors():
        loc = ".".join(str(part) for part in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; see the Scenario schema)"
        named = re.match(r"^([a-z_]+(?:\.[a-z_]+)*): (.*)$", msg, flags=re.S)
        if named:  # a model-level check naming its field: show it at that field
            loc = f"{loc}.{named.group(1)}" if loc else named.group(1)
            msg = named.group(2)
        loc = loc or "(top level)"
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


#: The key with which a scenario extends a built-in scenario or another file.
EXTENDS = "extends"


def deep_merge(base: dict, changes: dict) -> dict:
    """``base`` with ``changes`` applied: mappings are merged key by key (recursively); any other value (lists
    included, e.g. ``agents``) replaces the base's. Neither input is modified."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _raw_source(ref: Any, where: str, base_dir: Path | None) -> tuple[dict, str, Path | None]:
    """(mapping, name, folder) of the scenario named by an ``extends`` value: a built-in name or a YAML file
    (relative to the extending file's folder)."""
    if not isinstance(ref, str) or not ref:
        raise ScenarioError(f"invalid scenario {where}: {EXTENDS} must be a built-in scenario name or a YAML file")
    if ref in builtin_names():
        text = (resources.files(BUILTIN_PACKAGE) / f"{ref}.yaml").read_text(encoding="utf-8")
        return yaml.safe_load(text), f"'{ref}'", None
    path = Path(ref)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if path.suffix not in (".yaml", ".yml") and not path.exists():
        raise ScenarioError(
            f"invalid scenario {where}: {EXTENDS}: {ref!r} is neither a built-in ({', '.join(builtin_names())}) "
            "nor a YAML file"
        )
    if not path.exists():
        raise ScenarioError(f"invalid scenario {where}: {EXTENDS}: scenario file not found: {path}")
    return read_yaml(path), str(path), path.parent.resolve()


def _absolute_data_path(raw: dict, base_dir: Path | None) -> dict:
    """The mapping with a relative ``data.path`` made absolute against ``base_dir`` (the file it was written in)."""
    data = raw.get("data")
    if base_dir is None or not isinstance(data, dict) or not isinstance(data.get("path"), str):
        return raw
    if Path(data["path"]).is_absolute():
        return raw
    return {**raw, "data": {**data, "path": str((base_dir / data["path"]).resolve())}}


def resolve_extends(raw: Any, where: str, base_dir: Path | None, chain: tuple[str, ...] = ()) -> Any:
    """Expand ``extends`` (recursively): the parent's resolved mapping deep-merged with this one's other keys.
    Relative data paths stay relative to the file that wrote them; a cycle is an error naming the chain."""
    if not isinstance(raw, dict) or EXTENDS not in raw:
        return _absolute_data_path(raw, base_dir) if isinstance(raw, dict) else raw
    parent_raw, parent_where, parent_dir = _raw_source(raw[EXTENDS], where, base_dir)
    if parent_where in chain or parent_where == where:
        raise ScenarioError(f"invalid scenario {where}: {EXTENDS} forms a cycle ({' → '.join([*chain, where])})")
    if not isinstance(parent_raw, dict):
        raise ScenarioError(f"invalid scenario {parent_where}: the top level must be a mapping")
    parent = resolve_extends(parent_raw, parent_where, parent_dir, (*chain, where))
    own = _absolute_data_path({k: v for k, v in raw.items() if k != EXTENDS}, base_dir)
    return deep_merge(parent, own)


def scenario_from_dict(raw: Any, where: str = "(dict)", base_dir: Path | None = None) -> Scenario:
    """Validate a mapping into a Scenario; relative data paths are resolved against ``base_dir``. A mapping may
    ``extends:`` a built-in scenario or another YAML file and give only the fields that change (deep merge)."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"invalid scenario {where}: the top level must be a mapping, got {type(raw).__name__}")
    raw = resolve_extends(raw, where, base_dir)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(_format_validation(err, where)) from None
    if base_dir is not None and isinstance(scenario.data, AusgridData | TableData | CityLearnData):
        if scenario.data.path is not None and not scenario.data.path.is_absolute():
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
