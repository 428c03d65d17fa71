"""The Parameters form, generated from the Scenario schema: one field per scalar setting (grouped by the scenario's
sections), a YAML box for structured settings (agent groups, data source, feeder, time-of-use windows), the schema's
descriptions as tooltips, and validation errors mapped back to the field that caused them.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from powergrid.scenarios.model import Scenario

FieldKind = Literal["number", "integer", "text", "bool", "choice", "datetime", "yaml"]
GENERAL = "general"


@dataclass(frozen=True)
class FormField:
    """One input of the form. ``path`` is the dotted location in the scenario (e.g. ``time.n_steps``)."""

    path: str
    group: str
    label: str
    description: str
    kind: FieldKind
    options: tuple = ()
    optional: bool = False  # an empty input means None


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        if len(args) == 1:
            return args[0], optional
        return annotation, optional
    return annotation, False


def _base(annotation: Any) -> Any:
    """``Annotated[float, ...]`` → float."""
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _kind(annotation: Any) -> tuple[FieldKind, tuple]:
    annotation = _base(annotation)
    if get_origin(annotation) is Literal:
        return "choice", get_args(annotation)
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "integer", ()
    if annotation is float:
        return "number", ()
    if annotation is str:
        return "text", ()
    if annotation is datetime:
        return "datetime", ()
    return "yaml", ()


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def form_fields(model: type[BaseModel] = Scenario, prefix: str = "", group: str | None = None) -> list[FormField]:
    """Every field of ``model``: nested sections become groups (sub-sections are flattened into their group)."""
    fields: list[FormField] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation, optional = _strip_optional(_base(info.annotation))
        annotation = _base(annotation)
        if _is_model(annotation) and not optional:
            fields += form_fields(annotation, f"{path}.", group or name)
            continue
        kind, options = _kind(annotation) if not _is_model(annotation) else ("yaml", ())
        label = path.split(".", 1)[1] if group is not None and "." in path else name
        section = group or (name if kind == "yaml" else GENERAL)  # structured top-level settings: own section
        fields.append(FormField(path, section, label, info.description or "", kind, options, optional))
    return fields


def groups(fields: list[FormField]) -> dict[str, list[FormField]]:
    """Fields by group, in schema order, with the top-level scalars first."""
    out: dict[str, list[FormField]] = {GENERAL: []}
    for f in fields:
        out.setdefault(f.group, []).append(f)
    return out


def _get(data: dict, path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def form_values(scenario: Scenario, fields: list[FormField]) -> dict[str, Any]:
    """What each input shows for ``scenario``: numbers and text as is, YAML boxes as YAML text, bools as bools."""
    data = scenario.model_dump(mode="json")
    values: dict[str, Any] = {}
    for f in fields:
        v = _get(data, f.path)
        if f.kind == "yaml":
            values[f.path] = yaml.safe_dump(v, sort_keys=False, allow_unicode=True, default_flow_style=None).strip()
        elif f.kind == "bool":
            values[f.path] = bool(v)
        else:
            values[f.path] = v
    return values


def _parse(f: FormField, raw: Any) -> Any:
    """One input's value → the JSON-like value pydantic validates (ValueError with a short reason)."""
    if raw is None or (isinstance(raw, str) and not raw.strip() and f.kind != "text"):
        return None
    if f.kind == "yaml":
        try:
            return yaml.safe_load(raw) if isinstance(raw, str) else raw
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark else ""
            raise ValueError(f"not valid YAML{where}") from None
    if f.kind == "bool":
        return bool(raw)  # a checklist gives [] or [True]
    return raw


def scenario_from_form(values: dict[str, Any], fields: list[FormField]) -> tuple[Scenario | None, dict[str, str]]:
    """Validate the form: the Scenario, or None and error messages by field path (a field's first error)."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    for f in fields:
        if f.path not in values:
            continue
        try:
            value = _parse(f, values[f.path])
        except ValueError as exc:
            errors[f.path] = str(exc)
            continue
        if value is None and not f.optional:
            continue  # missing: pydantic reports it if the field is required, else the default applies
        node = data
        *parents, leaf = f.path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    if errors:
        return None, errors
    try:
        return Scenario.model_validate(data), {}
    except ValidationError as exc:
        return None, _errors_by_field(exc, fields)


def _errors_by_field(exc: ValidationError, fields: list[FormField]) -> dict[str, str]:
    paths = {f.path for f in fields}
    sections = {f.group for f in fields}
    errors: dict[str, str] = {}
    for e in exc.errors():
        loc = [str(p) for p in e["loc"]]
        target = loc[0] if loc and loc[0] in sections else GENERAL  # a section-wide check: shown on the section
        for k in range(len(loc), 0, -1):  # the longest prefix that is a form field
            if ".".join(loc[:k]) in paths:
                target = ".".join(loc[:k])
                break
        detail = ".".join(loc[len(target.split(".")) :]) if target in paths else ".".join(loc[1:])
        message = e["msg"] + (f" (at {detail})" if detail else "")
        errors.setdefault(target, message)
    return errors
