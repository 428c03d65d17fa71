"""What every `heron` command shares: consoles sized for tables, and one way of reporting errors.

Bad input (HeronGridError) is one red line on stderr and exit code 2 — never a traceback; an interrupt says that
nothing incomplete was left behind (exit 130); an unexpected error is reported as a bug (exit 1; HERON_DEBUG=1
shows the traceback).
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from powergrid.errors import HeronGridError

#: Wide enough for a KPI table beside several controllers when the output is a file or a pipe.
_WIDTH = shutil.get_terminal_size((150, 40)).columns
console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=_WIDTH)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn input errors into a one-line message (exit 2) and bugs into a short report (exit 1)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
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
