"""What every `heron` command shares: consoles, one way of reporting errors, argument types, tables.

Bad input (HeronGridError) is one red line on stderr and exit code 2 — never a traceback; a command's own exit
code passes through; an interrupt says that nothing incomplete was left behind (exit 130); an unexpected error
is reported as a bug (exit 1; HERON_DEBUG=1 shows the traceback).

This module imports only typer, rich and the error types: ``heron --help`` must answer at once, so the heavy
libraries (numpy, pandas, cvxpy, pandapower, torch …) are imported by the commands that need them.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, overload

import click
import typer
from rich.console import Console
from rich.markup import escape

from powergrid.errors import HeronGridError

if TYPE_CHECKING:
    from rich.progress import Progress
    from rich.table import Table

    from powergrid.analytics.kpis import NA, KPIReport

#: Wide enough for a KPI table beside several controllers when the output is a file or a pipe.
_WIDTH = shutil.get_terminal_size((150, 40)).columns
console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=_WIDTH)

#: The registered controllers, for help texts (kept equal to ``available_controllers()`` by a test; listing them
#: here spares ``--help`` the import of the optimisers).
CONTROLLER_NAMES = (
    "grid-only",
    "self-consumption",
    "truthful-bidder",
    "zi-c",
    "mpc",
    "oracle",
    "greedy",
    "merit-order",
    "consensus-dispatch",
)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn input errors into a one-line message (exit 2) and bugs into a short report (exit 1)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise  # the command's own exit code or a usage error, not a bug
        except HeronGridError as err:
            err_console.print(f"[bold red]error:[/bold red] {escape(str(err))}", highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/yellow]: nothing incomplete was left behind")
            raise typer.Exit(130) from None
        except Exception as err:
            if os.environ.get("HERON_DEBUG"):
                raise
            err_console.print(
                f"[bold red]internal error[/bold red] ({type(err).__name__}: {err}). This is a bug in heron-grid; "
                "rerun with HERON_DEBUG=1 for the traceback and report it."
            )
            raise typer.Exit(1) from None

    return wrapper


@overload
def resolved(path: Path) -> Path: ...
@overload
def resolved(path: None) -> None: ...
def resolved(path: Path | None) -> Path | None:
    """A path option made absolute against the working directory, once, at the CLI (libraries below, e.g. Ray's
    checkpointing, may change directory or reject relative paths)."""
    return None if path is None else Path(os.path.abspath(path.expanduser()))


ScenarioArg = Annotated[str, typer.Argument(help="A built-in scenario name (see `heron scenarios`) or a YAML file.")]
SeedOpt = Annotated[int | None, typer.Option(help="Seed for every random draw; default: the scenario's seed.")]
ControllerOpt = Annotated[str, typer.Option(help="Controller name: " + ", ".join(CONTROLLER_NAMES) + ".")]
ControllersOpt = Annotated[str, typer.Option(help="Comma-separated controller names, or 'all'.")]
OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace an existing output directory, once the new one is complete; only a directory heron wrote "
        "(it holds a .heron-output marker) is ever replaced, never another folder.",
    ),
]


def parse_controllers(text: str, option: str = "--controllers") -> list[str]:
    """Controller names from ``a,b,c`` or ``all``; an unknown name is an error naming ``option`` and listing the
    known ones (``powergrid.runner.compare.controller_names``)."""
    from powergrid.runner.compare import controller_names

    text = text.strip()
    return controller_names("all" if text == "all" else [c.strip() for c in text.split(",") if c.strip()], option)


def progress(rate_unit: str | None = None) -> Progress:
    """A transient progress bar on stderr (description, bar, done/total, elapsed; with ``rate_unit``, the rate in
    that unit per second, e.g. "agent-steps")."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed:,.0f} {rate_unit}/s" if task.speed else f"… {rate_unit}/s", style="cyan")

    columns = [TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn()]
    return Progress(
        *columns, *([Rate()] if rate_unit else []), TimeElapsedColumn(), console=err_console, transient=True
    )


def fmt(value: float | NA) -> str:
    """A KPI value for a table: "n/a", 0 for rounding noise below 1e-9, 4 significant digits."""
    from powergrid.analytics.kpis import NA

    if isinstance(value, NA):
        return "n/a"
    magnitude = abs(value)
    if magnitude < 1e-9:  # rounding noise of sums over steps, not a quantity
        return "0"
    return f"{value:,.0f}" if magnitude >= 1000 else f"{value:.4g}" if magnitude >= 0.01 else f"{value:.3e}"


def kpi_table(reports: dict[str, KPIReport], title: str) -> Table:
    """KPIs as rows, runs as columns; undefined KPIs are explained in the caption."""
    from rich.table import Table

    from powergrid.analytics.kpis import KPI_INFO, NA

    by_reason: dict[str, list[str]] = {}
    for r in reports.values():
        for kpi, v in r.community.items():
            if isinstance(v, NA) and kpi not in by_reason.setdefault(v.reason, []):
                by_reason[v.reason].append(kpi)
    notes = "; ".join(f"{reason}: {', '.join(kpis)}" for reason, kpis in by_reason.items())
    table = Table(
        title=title, title_justify="left", caption=f"n/a — {notes}" if notes else None, caption_justify="left"
    )
    table.add_column("KPI", style="bold", no_wrap=True)
    table.add_column("unit", style="dim", no_wrap=True)
    for name in reports:
        table.add_column(name, justify="right", no_wrap=True)
    for kpi, (unit, _) in KPI_INFO.items():
        table.add_row(kpi, unit, *(fmt(r.community[kpi]) for r in reports.values()))
    return table
