"""``ledger_app``: the ``heron ledger`` commands — ``verify RUN_DIR`` and ``show RUN_DIR``.

Exit codes of ``verify``: 0 the ledger is clean, 1 it was tampered with or disagrees with the run, 2 bad input
(no such directory, no ``ledger.sqlite``, not a ledger) — reported as one message, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from powergrid.cli.common import console, handle_errors, resolved

ledger_app = typer.Typer(
    help="Verify and inspect a run's signed trade ledger (ledger.sqlite: one hash-chained block per market step, "
    "every trade signed by buyer and seller).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
#: Problems printed by ``verify`` (the report keeps up to verify.MAX_PROBLEMS).
SHOWN_PROBLEMS = 20

RunDir = Annotated[Path, typer.Argument(help="Run directory holding ledger.sqlite (and trades.parquet, keys/).")]


@ledger_app.command()
@handle_errors
def verify(run_dir: RunDir) -> None:
    """Verify the ledger: exit 0 clean, 1 tampered or inconsistent, 2 bad input.

    Checks block hashes, chain links, Merkle roots, both signatures of every trade, the genesis commitment, the
    public key file and the totals against trades.parquet; lists the problems, first bad block first.
    """
    from powergrid.analytics.ledger_check import verify_run_ledger

    report = verify_run_ledger(resolved(run_dir))
    table = Table(title=f"ledger of {run_dir}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("blocks", f"{report.blocks} (genesis + {max(report.blocks - 1, 0)})")
    table.add_row("trades", f"{report.trades} (each signed by buyer and seller)")
    table.add_row("agents", str(len(report.agents)))
    table.add_row("traded", f"{report.totals['bought_kwh'].sum():,.6g} kWh, {report.totals['paid'].sum():,.6g} money")
    table.add_row("head hash", report.head_hash or "-")
    console.print(table)
    if report.ok:
        console.print("[bold green]ledger OK[/bold green]: every check passed", highlight=False)
        return
    console.print(
        f"[bold red]ledger FAILED verification[/bold red]: {len(report.problems)} problem(s), first bad block first:",
        highlight=False,
    )
    for problem in report.problems[:SHOWN_PROBLEMS]:
        console.print(f"  - {problem}", highlight=False, soft_wrap=True, markup=False)
    if len(report.problems) > SHOWN_PROBLEMS:
        console.print(f"  … {len(report.problems) - SHOWN_PROBLEMS} more", highlight=False)
    raise typer.Exit(1)


@ledger_app.command()
@handle_errors
def show(
    run_dir: RunDir,
    block: Annotated[int | None, typer.Option("--block", help="Only this block (0 is the genesis block).")] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Only trades where this agent buys or sells.")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the trades to this CSV file instead.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows shown in the table.")] = 200,
) -> None:
    """List the ledger's trades with their block, as a table or CSV (as stored: `verify` checks them)."""
    from powergrid.ledger.errors import LedgerError
    from powergrid.ledger.store import read_blocks

    frame = read_blocks(resolved(run_dir), block=block, agent=agent)
    if csv is not None:
        csv = resolved(csv)
        if not csv.parent.is_dir():
            raise LedgerError(f"--csv: directory {csv.parent} does not exist")
        frame.to_csv(csv, index=False)
        console.print(f"wrote {len(frame)} trade(s) to {csv}", highlight=False)
        return
    table = Table(title=f"ledger of {run_dir}: {len(frame)} trade(s) (as stored, not verified)", title_justify="left")
    columns = ("block", "step", "sim_time", "seq", "buyer", "seller", "kwh", "price", "fee_per_kwh", "value")
    for name in columns:
        table.add_column(name, justify="right" if name not in ("sim_time", "buyer", "seller") else "left")
    for row in frame.head(limit).itertuples(index=False):
        values = dict(zip(frame.columns, row, strict=True))
        table.add_row(*(f"{values[c]:.6g}" if isinstance(values[c], float) else str(values[c]) for c in columns))
    console.print(table)
    if len(frame) > limit:
        console.print(f"… {len(frame) - limit} more row(s); use --limit or --csv", highlight=False)
