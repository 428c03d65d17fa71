"""``heron sweep``: many seeds × controllers as Ray tasks (or serially), aggregated as mean ± CI per KPI.

Registered on the ``heron`` app by ``powergrid.cli``; the shared CLI helpers are imported when the command runs
(``powergrid.cli`` imports this module while it loads).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from powergrid.analytics.aggregate import MeanCI
from powergrid.analytics.kpis import KPI_INFO, NA
from powergrid.analytics.results import atomic_directory
from powergrid.cli_support import console, handle_errors
from powergrid.errors import HeronGridError
from powergrid.scaling.sweep import SweepResult, parse_seeds, run_sweep

AGGREGATE_CSV = "sweep.csv"
RUNS_CSV = "runs.csv"
FIGURE = "sweep.png"


@handle_errors
def sweep(
    scenario: Annotated[str, typer.Argument(help="A built-in scenario name (see `heron scenarios`) or a YAML file.")],
    controllers: Annotated[str, typer.Option(help="Comma-separated controller names, or 'all'.")] = "all",
    seeds: Annotated[str, typer.Option(help="Seeds: a range 0-9, a list 0,2,5, or both (0-3,7).")] = "0-9",
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster to run on (HOST:6379, ray://HOST:10001 or auto); default: a local instance."),
    ] = None,
    serial: Annotated[
        bool, typer.Option("--serial", help="Run in this process, one run after another (no Ray).")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for sweep.csv, runs.csv and sweep.png; default results/<scenario>-sweep."),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace an existing output directory (only once the new one is complete)."),
    ] = False,
) -> None:
    """Every (controller, seed) run as a Ray task; mean ± 95 % CI (Student t) per KPI per controller."""
    from powergrid.cli import _parse_controllers, _progress

    names = _parse_controllers(controllers)
    seed_list = parse_seeds(seeds)
    if serial and address is not None:
        raise HeronGridError("--serial runs in this process; it cannot be combined with --address")
    out = out or Path("results") / f"{Path(scenario).stem}-sweep"
    with atomic_directory(out, overwrite=overwrite) as tmp:
        with _progress() as progress:
            where = "serially" if serial else f"on Ray ({address or 'local instance'})"
            task = progress.add_task(f"{len(names) * len(seed_list)} runs {where}", total=len(names) * len(seed_list))
            result = run_sweep(scenario, names, seed_list, use_ray=not serial, address=address,
                               on_done=lambda: progress.advance(task))  # fmt: skip
        title = f"{result.scenario} · seeds {seeds} · mean ± 95 % CI over {len(seed_list)} seeds"
        write_sweep(result, tmp, title)
    console.print(sweep_table(result, title))
    console.print(f"results: [bold]{out}[/bold] ({AGGREGATE_CSV}, {RUNS_CSV}, {FIGURE})")


def _cell(stat: MeanCI | NA) -> str:
    from powergrid.cli import _fmt

    if isinstance(stat, NA):
        return "n/a"
    return _fmt(stat.mean) if isinstance(stat.half_width, NA) else f"{_fmt(stat.mean)} ± {_fmt(stat.half_width)}"


def sweep_table(result: SweepResult, title: str) -> Table:
    """KPIs as rows, controllers as columns, cells ``mean ± half-width``."""
    table = Table(title=title, title_justify="left")
    table.add_column("KPI", style="bold", no_wrap=True)
    table.add_column("unit", style="dim", no_wrap=True)
    for name in result.stats:
        table.add_column(name, justify="right", no_wrap=True)
    for kpi, (unit, _) in KPI_INFO.items():
        table.add_row(kpi, unit, *(_cell(s[kpi]) for s in result.stats.values()))
    return table


def _num(value: float | NA) -> str:
    return "" if isinstance(value, NA) else repr(value)


def write_sweep(result: SweepResult, folder: Path, title: str) -> None:
    """``sweep.csv`` (one row per KPI and controller), ``runs.csv`` (one row per run) and ``sweep.png``."""
    from powergrid.scaling.figure import sweep_figure

    rows = ["kpi,unit,controller,n,mean,ci_low,ci_high"]
    for kpi, (unit, _) in KPI_INFO.items():
        for name, stats in result.stats.items():
            s = stats[kpi]
            cells = ["0", "", "", ""] if isinstance(s, NA) else [str(s.n), repr(s.mean), _num(s.low), _num(s.high)]
            rows.append(",".join([kpi, unit, name, *cells]))
    (folder / AGGREGATE_CSV).write_text("\n".join(rows) + "\n", encoding="utf-8")
    runs = ["controller,seed," + ",".join(KPI_INFO)]
    for name, reports in result.reports.items():
        for seed, report in zip(result.seeds, reports, strict=True):
            runs.append(",".join([name, str(seed), *(_num(report.community[k]) for k in KPI_INFO)]))
    (folder / RUNS_CSV).write_text("\n".join(runs) + "\n", encoding="utf-8")
    sweep_figure(result.stats, folder / FIGURE, title)
