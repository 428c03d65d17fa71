"""``heron sweep``: many seeds × controllers as Ray tasks (or serially), aggregated as mean ± CI per KPI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from powergrid.cli.common import OverwriteOpt, console, fmt, handle_errors, parse_controllers, progress, resolved
from powergrid.errors import HeronGridError

if TYPE_CHECKING:
    from rich.table import Table

    from powergrid.analytics.aggregate import MeanCI
    from powergrid.analytics.kpis import NA
    from powergrid.scaling.sweep import SweepResult

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
    overwrite: OverwriteOpt = False,
) -> None:
    """Every (controller, seed) run as a Ray task; mean ± 95 % CI (Student t) per KPI per controller."""
    from powergrid.analytics.results import atomic_directory
    from powergrid.scaling.sweep import parse_seeds, run_sweep

    names = parse_controllers(controllers)
    seed_list = parse_seeds(seeds)
    if serial and address is not None:
        raise HeronGridError("--serial runs in this process; it cannot be combined with --address")
    shown = out or Path("results") / f"{Path(scenario).stem}-sweep"
    with atomic_directory(resolved(shown), overwrite=overwrite) as tmp:
        with progress() as bar:
            where = "serially" if serial else f"on Ray ({address or 'local instance'})"
            task = bar.add_task(f"{len(names) * len(seed_list)} runs {where}", total=len(names) * len(seed_list))
            result = run_sweep(
                scenario, names, seed_list, use_ray=not serial, address=address, on_done=lambda: bar.advance(task)
            )
        title = f"{result.scenario} · seeds {seeds} · mean ± 95 % CI over {len(seed_list)} seeds"
        write_sweep(result, tmp, title)
    console.print(sweep_table(result, title))
    console.print(f"results: [bold]{shown}[/bold] ({AGGREGATE_CSV}, {RUNS_CSV}, {FIGURE})")


def _cell(stat: MeanCI | NA) -> str:
    from powergrid.analytics.kpis import NA

    if isinstance(stat, NA):
        return "n/a"
    return fmt(stat.mean) if isinstance(stat.half_width, NA) else f"{fmt(stat.mean)} ± {fmt(stat.half_width)}"


def sweep_table(result: SweepResult, title: str) -> Table:
    """KPIs as rows, controllers as columns, cells ``mean ± half-width``."""
    from rich.table import Table

    from powergrid.analytics.kpis import KPI_INFO

    table = Table(title=title, title_justify="left")
    table.add_column("KPI", style="bold", no_wrap=True)
    table.add_column("unit", style="dim", no_wrap=True)
    for name in result.stats:
        table.add_column(name, justify="right", no_wrap=True)
    for kpi, (unit, _) in KPI_INFO.items():
        table.add_row(kpi, unit, *(_cell(s[kpi]) for s in result.stats.values()))
    return table


def _num(value: float | NA) -> str:
    from powergrid.analytics.kpis import NA

    return "" if isinstance(value, NA) else repr(value)


def write_sweep(result: SweepResult, folder: Path, title: str) -> None:
    """``sweep.csv`` (one row per KPI and controller), ``runs.csv`` (one row per run) and ``sweep.png``."""
    from powergrid.analytics.kpis import KPI_INFO, NA
    from powergrid.app.figures import pooled_kpi_figure

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
    pooled_kpi_figure(result.stats, folder / FIGURE, title)
