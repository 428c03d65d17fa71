"""The ``heron`` command line, one package: the app (here), shared helpers (``common``) and one module per command
group (``run``: scenarios, run, compare; ``train``: train, evaluate; ``sweep``; ``ledger``; ``dashboard``: dashboard,
report).

Bad input (scenario, data, arguments) is reported as one clear message and exit code 2 — never a traceback.
An unexpected internal error is reported as such (exit 1); set HERON_DEBUG=1 to see its traceback. Modules here
import only typer and rich at load time, so that ``heron --help`` answers at once; each command imports what it
needs. Path options are made absolute once, here, so relative paths work everywhere below.
"""

from __future__ import annotations

import sys

import typer

from powergrid.cli.dashboard import dashboard, report
from powergrid.cli.ledger import ledger_app
from powergrid.cli.run import compare, run, scenarios
from powergrid.cli.sweep import sweep
from powergrid.cli.train import evaluate, train

app = typer.Typer(
    name="heron",
    help="heron-grid: peer-to-peer energy trading simulations (scenarios, controllers, KPIs).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for command in (scenarios, run, compare, train, evaluate):
    app.command()(command)
app.add_typer(ledger_app, name="ledger", help="Verify and inspect a run's signed trade ledger.")
for command in (dashboard, report, sweep):
    app.command()(command)


_SHOWN: set[str] = set()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line on stderr ("warning: …"), each distinct text once per command."""
    text = str(message)
    if text not in _SHOWN:
        _SHOWN.add(text)
        sys.stderr.write(f"warning: {text}\n")


def main() -> None:
    """Console-script entry point: warnings are one line each, each distinct one shown once."""
    import warnings

    warnings.showwarning = _show_warning
    sys.exit(app())


__all__ = ["app", "main"]
