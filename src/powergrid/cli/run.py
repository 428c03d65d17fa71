"""``heron scenarios``, ``heron run`` and ``heron compare``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from powergrid.cli.common import (
    ControllerOpt,
    ControllersOpt,
    OverwriteOpt,
    ScenarioArg,
    SeedOpt,
    console,
    handle_errors,
    kpi_table,
    parse_controllers,
    progress,
    resolved,
)
from powergrid.errors import HeronGridError

if TYPE_CHECKING:
    from powergrid.analytics.kpis import KPIReport
    from powergrid.scenarios import Scenario

RunOutOpt = Annotated[
    Path | None, typer.Option(help="Run directory to write; default results/<scenario>-<controller>-seed<N>.")
]
CompareOutOpt = Annotated[
    Path | None,
    typer.Option(
        help="Folder for one run directory per controller (and grid-only) plus comparison.csv and comparison.png; "
        "default results/<scenario>-compare-seed<N>."
    ),
]


@handle_errors
def scenarios() -> None:
    """List the built-in scenarios."""
    from rich.table import Table

    from powergrid.scenarios import builtin_names, load_scenario
    from powergrid.scenarios.build import agent_count

    table = Table(title="Built-in scenarios", title_justify="left")
    for col in ("name", "agents", "steps", "step", "market", "description"):
        table.add_column(col)
    for name in builtin_names():
        s = load_scenario(name)
        table.add_row(
            name,
            str(agent_count(s)),
            str(s.time.n_steps),
            f"{s.time.step_minutes} min",
            s.market.mechanism,
            s.description,
        )
    console.print(table)


def _run(spec: Scenario, controllers: list[str], out: Path, overwrite: bool, single: bool) -> dict[str, KPIReport]:
    """``heron compare`` is ``powergrid.compare`` with a progress bar and the comparison figure (drawn here, by the
    face); ``heron run`` writes the one controller's run directory."""
    from powergrid.runner.compare import compare, write_comparison

    with progress() as bar:
        task = bar.add_task(f"building {spec.name}", total=None)

        def built(total: int) -> None:
            bar.update(task, description=f"simulating {spec.name}", total=total, completed=0)

        def advance(steps: int) -> None:
            bar.advance(task, steps)

        if single:
            return write_comparison(spec, controllers, out, overwrite, single=True, on_built=built, progress=advance)
        from powergrid.app.figures import comparison_figure

        return compare(
            spec, controllers, out=out, overwrite=overwrite, progress=advance, on_built=built, draw=comparison_figure
        )


@handle_errors
def run(
    scenario: ScenarioArg,
    controller: ControllerOpt = "truthful-bidder",
    out: RunOutOpt = None,
    seed: SeedOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Run one controller on a scenario; write a run directory and print its KPIs (savings vs grid-only)."""
    from powergrid.scenarios import load_scenario

    names = parse_controllers(controller, "--controller")
    if len(names) != 1:
        raise HeronGridError("--controller takes one name; use `heron compare` for several")
    spec = load_scenario(scenario, seed=seed)
    shown = out or Path("results") / f"{spec.name}-{names[0]}-seed{spec.seed}"
    reports = _run(spec, names, resolved(shown), overwrite, single=True)
    console.print(kpi_table(reports, f"{spec.name} · seed {spec.seed} · savings vs grid-only"))
    console.print(f"run directory: [bold]{shown}[/bold]")


@handle_errors
def compare(
    scenario: ScenarioArg,
    controllers: ControllersOpt = "all",
    out: CompareOutOpt = None,
    seed: SeedOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Run several controllers on the same data and seed; print the KPI table side by side and save a figure."""
    from powergrid.scenarios import load_scenario

    names = parse_controllers(controllers)
    spec = load_scenario(scenario, seed=seed)
    shown = out or Path("results") / f"{spec.name}-compare-seed{spec.seed}"
    reports = _run(spec, names, resolved(shown), overwrite, single=False)
    console.print(kpi_table(reports, f"{spec.name} · seed {spec.seed} · savings vs grid-only"))
    console.print(
        f"results: [bold]{shown}[/bold] (comparison.png, comparison.csv, a run directory per controller and grid-only)"
    )
