"""Generate the scenario reference page from the pydantic ``Scenario`` schema (never a hand-copied table).

Used two ways:

- as a MkDocs hook (``hooks:`` in ``mkdocs.yml``): ``on_files`` adds ``scenario-reference.md`` to the site at
  build time, so the page always matches ``src/powergrid/scenarios/model.py`` and ``schema/*``;
- as a script: ``python docs/gen_scenario_reference.py`` prints the page (Markdown) to stdout.

Every field of every section gets its type, default, constraints and description (which carries the unit). The
sources beside this file (``../src``) are imported first, so the page describes the code it is built with.
"""

from __future__ import annotations

import inspect
import sys
import types
from dataclasses import dataclass, field
from datetime import datetime, time
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

SRC = Path(__file__).resolve().parents[1] / "src"
if SRC.is_dir() and str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from powergrid.scenarios import Scenario, builtin_names  # noqa: E402
from powergrid.scenarios.loader import BUILTIN_PACKAGE  # noqa: E402

PAGE = "scenario-reference.md"
SCALARS = {
    float: "number",
    int: "integer",
    str: "string",
    bool: "boolean",
    datetime: "datetime",
    time: "time",
    Path: "path",
}


@dataclass
class Section:
    """One model of the schema, documented once at the first path that uses it."""

    model: type[BaseModel]
    path: str
    also: list[str] = field(default_factory=list)
    discriminator: tuple[str, str] | None = None  # (field, value) for a member of a discriminated union

    @property
    def anchor(self) -> str:
        slug = "".join(c if c.isalnum() else "-" for c in self.path.lower()).strip("-")
        return "s-" + "-".join(part for part in slug.split("-") if part) if slug else "s-top-level"


def _is_model(tp: Any) -> bool:
    return inspect.isclass(tp) and issubclass(tp, BaseModel)


def _strip(tp: Any) -> tuple[Any, list[Any]]:
    """(type without ``Annotated``, its metadata) — FieldInfo metadata flattened into the list."""
    metadata: list[Any] = []
    while get_origin(tp) is Annotated:
        tp, *extra = get_args(tp)
        for m in extra:
            metadata.extend(m.metadata if isinstance(m, FieldInfo) else [m])
            if isinstance(m, FieldInfo) and m.discriminator is not None:
                metadata.append(("discriminator", m.discriminator))
    return tp, metadata


def _literal_value(model: type[BaseModel], name: str) -> Any:
    """The one value a discriminator field (``Literal["x"]``) accepts."""
    return get_args(_strip(model.model_fields[name].annotation)[0])[0]


def _union_args(tp: Any) -> tuple[Any, ...] | None:
    return get_args(tp) if get_origin(tp) in (Union, types.UnionType) else None


def _constraint_text(metadata: list[Any], of: Any = None) -> list[str]:
    """Constraints in words; ``of`` is the constrained type (lengths count characters of a string, else items)."""
    unit = "character" if of is str else "item"
    out = []
    for m in metadata:
        if isinstance(m, at.Ge):
            out.append(f"≥ {m.ge:g}")
        elif isinstance(m, at.Gt):
            out.append(f"> {m.gt:g}")
        elif isinstance(m, at.Le):
            out.append(f"≤ {m.le:g}")
        elif isinstance(m, at.Lt):
            out.append(f"< {m.lt:g}")
        elif isinstance(m, at.MinLen):
            out.append(f"at least {m.min_length} {unit}{'s' if m.min_length != 1 else ''}")
        elif isinstance(m, at.MaxLen):
            out.append(f"at most {m.max_length} {unit}s")
        elif getattr(m, "allow_inf_nan", None) is False:
            out.append("finite")
        elif callable(getattr(m, "func", None)) and m.func.__doc__:  # a validator: its docstring's first clause
            out.append(m.func.__doc__.strip().splitlines()[0].split(" — ")[0].rstrip("."))
    return out


class Reference:
    """Walks the schema from ``Scenario`` and renders one table per section."""

    def __init__(self, root: type[BaseModel] = Scenario) -> None:
        self.sections: dict[type[BaseModel], Section] = {}
        self.order: list[Section] = []
        self._visit(root, "")

    def _visit(self, model: type[BaseModel], path: str, discriminator: tuple[str, str] | None = None) -> None:
        if model in self.sections:
            self.sections[model].also.append(path)
            return
        section = Section(model, path, discriminator=discriminator)
        self.sections[model] = section
        self.order.append(section)
        prefix = "" if model is Scenario else path + "."
        for name, info in model.model_fields.items():
            self._visit_type(info.annotation, prefix + name, info.discriminator)

    def _visit_type(self, tp: Any, path: str, discriminator: str | None = None) -> None:
        tp, metadata = _strip(tp)
        discriminator = discriminator or dict(m for m in metadata if isinstance(m, tuple)).get("discriminator")
        if _is_model(tp):
            self._visit(tp, path)
            return
        members = _union_args(tp)
        if members is not None:
            for member in members:
                member, _ = _strip(member)
                if _is_model(member) and discriminator:
                    value = _literal_value(member, discriminator)
                    self._visit(member, f"{path} ({discriminator}: {value})", (discriminator, value))
                else:
                    self._visit_type(member, path, discriminator)
            return
        origin = get_origin(tp)
        if origin is list:
            self._visit_type(get_args(tp)[0], path + "[]")
        elif origin is dict:
            self._visit_type(get_args(tp)[1], path + ".*")

    # --- rendering -------------------------------------------------------------------------------------------
    def type_text(self, tp: Any) -> tuple[str, list[str]]:
        """(type in words, constraints of its elements) for an annotation."""
        tp, metadata = _strip(tp)
        inner = _constraint_text(metadata, tp)
        if _is_model(tp):
            return f"[{tp.__name__}](#{self.sections[tp].anchor})", inner
        members = _union_args(tp)
        if members is not None:
            parts, constraints = [], list(inner)
            optional = type(None) in members
            for member in members:
                if member is type(None):
                    continue
                text, sub = self.type_text(member)
                parts.append(text)
                constraints += sub
            text = " or ".join(parts) + (" or none" if optional else "")
            return text, constraints
        origin, args = get_origin(tp), get_args(tp)
        if origin is Literal and len(args) == 1:
            return f"`{args[0]}`", inner
        if origin is Literal:
            return "one of " + ", ".join(f"`{a}`" for a in args), inner
        if origin is list:
            text, sub = self.type_text(args[0])
            return f"list of {text}", inner + [f"each item {c}" for c in sub]
        if origin is dict:
            text, sub = self.type_text(args[1])
            return f"mapping of string → {text}", inner + [f"each value {c}" for c in sub]
        if origin is tuple:
            texts = [self.type_text(a) for a in args]
            sub = [f"each {c}" for c in dict.fromkeys(c for _, cs in texts for c in cs)]
            return "[" + ", ".join(t for t, _ in texts) + "]", inner + sub
        if tp in SCALARS:
            return SCALARS[tp], inner
        return getattr(tp, "__name__", str(tp)), inner

    def default_text(self, info: FieldInfo) -> str:
        if info.default_factory is not None:
            value = info.default_factory()
            if isinstance(value, BaseModel):
                if type(value) is _strip(info.annotation)[0]:
                    return "the section's defaults"
                return f"[{type(value).__name__}](#{self.sections[type(value)].anchor}) with its defaults"
        elif info.default is PydanticUndefined:
            return "**required**"
        else:
            value = info.default
        if value is None:
            return "none"
        if isinstance(value, tuple | list | dict | bool | int | float | str):
            text = yaml.safe_dump(list(value) if isinstance(value, tuple) else value, default_flow_style=True)
            text = text.strip().removesuffix("...").strip()
            return f"`{text}`" if text else '`""`'
        return f"`{value}`"

    def table(self, section: Section) -> list[str]:
        lines = ["| field | type | default | constraints | description (unit) |", "| --- | --- | --- | --- | --- |"]
        for name, info in section.model.model_fields.items():
            type_text, constraints = self.type_text(info.annotation)
            base = _strip(info.annotation)[0]
            members = [m for m in _union_args(base) or (base,) if m is not type(None)]
            constraints = _constraint_text(info.metadata, get_origin(members[0]) or members[0]) + constraints
            if section.discriminator and name == section.discriminator[0]:
                type_text, constraints = f"`{section.discriminator[1]}`", ["selects this source"]
            description = (info.description or "").replace("|", "\\|").replace("\n", " ")
            if not description and info.discriminator:
                description = f"One of the sections below, chosen by `{info.discriminator}`."
            elif not description and any(_is_model(_strip(m)[0]) for m in members):
                description = "See its section."
            row = [f"`{name}`", type_text, self.default_text(info), ", ".join(constraints) or "—", description or "—"]
            lines.append("| " + " | ".join(cell.replace("\n", " ") for cell in row) + " |")
        return lines

    def render(self) -> str:
        out = [
            "# Scenario reference",
            "",
            "<!-- Generated at build time by docs/gen_scenario_reference.py from powergrid.scenarios.model and "
            "powergrid.scenarios.schema; do not edit. -->",
            "",
            "A scenario is a YAML file (or a mapping, or a [`Scenario`][powergrid.scenarios.Scenario] object) "
            "validated by the pydantic schema below. Units: power kW, energy kWh, prices currency/kWh, carbon "
            "kg/kWh, times in local standard time. Unknown keys are errors (every section is strict), and a "
            "scenario may `extends:` a built-in scenario or another file and give only what changes (mappings "
            "merge key by key; lists such as `agents` replace). `heron run`/`heron compare` write the fully "
            "resolved scenario, every default included, to each run directory's `scenario.yaml`.",
            "",
            "This page is generated from the schema when the site is built; each section lists every field with "
            "its type, default, constraints and description.",
            "",
            "## Built-in scenarios",
            "",
            "| name | description |",
            "| --- | --- |",
        ]
        for name in builtin_names():
            raw = yaml.safe_load((resources.files(BUILTIN_PACKAGE) / f"{name}.yaml").read_text(encoding="utf-8"))
            description = str(raw.get("description", "")).replace("|", "\\|")
            out.append(f"| `{name}` | {description} |")
        out.append("")
        for section in self.order:
            where, _, selector = section.path.partition(" (")
            title = "Top level" if section.model is Scenario else f"`{where}`"
            title += f" (`{selector.rstrip(')')}`)" if selector else ""
            out += [f"## {title} — {section.model.__name__} {{ #{section.anchor} }}", ""]
            doc = inspect.getdoc(section.model)
            if doc and section.model.__dict__.get("__doc__"):
                out += [doc.replace("``", "`"), ""]
            if section.also:
                out += ["Also used at: " + ", ".join(f"`{p}`" for p in section.also) + ".", ""]
            rules = [inspect.getdoc(d.func) for d in section.model.__pydantic_decorators__.model_validators.values()]
            rules = [r.replace("``", "`").replace("\n", " ") for r in rules if r]
            if rules:
                out += ["Rules applied when a scenario is read:", "", *(f"- {r}" for r in rules), ""]
            out += [*self.table(section), ""]
        return "\n".join(out)


def render() -> str:
    """The scenario reference page (Markdown)."""
    return Reference().render()


def on_files(files: Any, config: Any) -> Any:
    """MkDocs hook: add the generated page to the site's files."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=render()))
    return files


if __name__ == "__main__":
    sys.stdout.write(render())
