"""Generate the result fields page from the table beside ``StepResult`` (never a hand-copied list).

Used two ways, like ``gen_scenario_reference.py``:

- as a MkDocs hook (``hooks:`` in ``mkdocs.yml``): ``on_files`` adds ``result-fields.md`` to the site at build
  time, so the page always matches ``RESULT_FIELDS``, ``NETWORK_FIELDS`` and ``INTERVENTION_FIELDS`` in
  ``src/powergrid/engine/result.py``;
- as a script: ``python docs/gen_result_fields.py`` prints the page (Markdown) to stdout.

The sources beside this file (``../src``) are imported first, so the page describes the code it is built with.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"
if SRC.is_dir() and str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from powergrid.analytics.results import FORMAT_VERSION  # noqa: E402
from powergrid.engine.result import (  # noqa: E402
    INTERVENTION_FIELDS,
    NETWORK_FIELDS,
    RESULT_FIELDS,
    ResultField,
    Role,
)

PAGE = "result-fields.md"
#: How each role reads in the table's last column.
ROLE_TEXT = {
    Role.SUMMED: "summed over the run",
    Role.INFLOW: "energy balance: +",
    Role.OUTFLOW: "energy balance: −",
    Role.NONNEGATIVE: "checked ≥ 0",
    Role.HEADLINE: "headline cost",
    Role.DASHBOARD: "dashboard",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _roles(field: ResultField) -> str:
    return ", ".join(text for role, text in ROLE_TEXT.items() if role in field.roles)


def table(fields: tuple[ResultField, ...], bits: bool = False) -> list[str]:
    """A Markdown table with one row per field (``bits``: a first column with the flag's bit)."""
    head = ["bit"] * bits + ["field", "unit", "scope", "stored in", "used as", "description"]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for i, f in enumerate(fields):
        cells = [str(i)] * bits + [f"`{f.name}`", f.unit, str(f.scope), str(f.stored), _roles(f), _cell(f.description)]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def render() -> str:
    """The result fields page (Markdown)."""
    return "\n".join(
        [
            "# Result fields",
            "",
            "Every engine step returns a [`StepResult`][powergrid.engine.StepResult]. The tables below are generated "
            "from the one table beside it (`RESULT_FIELDS` in `src/powergrid/engine/result.py`): the results writer, "
            "the running totals, the conservation checks and the dashboard take their columns from it.",
            "",
            "Energies are kWh over the step, money is currency (positive: the agent pays). *Per agent* fields are "
            "arrays (N,), *per step* fields one number; a batched engine of K copies adds a leading axis K. "
            f"*Stored in* says where a run directory (format {FORMAT_VERSION}) keeps the field: "
            "`timeseries.parquet` has one row per agent per step and one float64 column per field (per-step "
            "values repeated for each agent). *Used as*: summed per agent over the run (`RunTotals`), a term of the "
            "agent's energy balance (+ energy in, − energy out, within 1e-9 kWh), a flow checked non-negative, a "
            "part of the [headline cost](concepts.md#the-yardstick-headline-cost), loaded by the dashboard.",
            "",
            "## StepResult",
            "",
            *table(RESULT_FIELDS),
            "",
            "## Network outcome (`StepResult.network`)",
            "",
            "Present when the scenario has a feeder; `network.parquet` has one row per step.",
            "",
            *table(NETWORK_FIELDS),
            "",
            "## Safety interventions (`StepResult.interventions`)",
            "",
            "Boolean arrays (N,); in `timeseries.parquet` the uint8 column `interventions` holds flag *i* in bit *i*.",
            "",
            *table(INTERVENTION_FIELDS, bits=True),
            "",
        ]
    )


def on_files(files: Any, config: Any) -> Any:
    """MkDocs hook: add the generated page to the site's files."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=render()))
    return files


if __name__ == "__main__":
    sys.stdout.write(render())
