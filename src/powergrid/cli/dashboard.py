"""``heron dashboard`` and ``heron report`` (mounted on the main ``heron`` command)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from powergrid.cli.common import console, err_console, handle_errors, resolved
from powergrid.errors import HeronGridError

LOOPBACK = "127.0.0.1"


def _check_host(host: str) -> None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise HeronGridError(f"--host: {host!r} is not an IP address (e.g. 127.0.0.1)") from None
        return
    if not address.is_loopback:
        err_console.print(
            f"[yellow]warning:[/yellow] --host {host}: the dashboard has no login; anyone who can "
            "reach this address can start simulations and read every run"
        )


@handle_errors
def dashboard(
    runs: Annotated[Path, typer.Option(help="Folder of run directories to show; new runs are written there.")] = Path(
        "results"
    ),
    host: Annotated[str, typer.Option(help="Address to bind (default: this machine only).")] = LOOPBACK,
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8050,
) -> None:
    """The web dashboard (Dash): parameters and runs, playback with the network view, analysis, households, ledger."""
    from werkzeug.serving import make_server

    from powergrid.app.server import create_app

    _check_host(host)
    app = create_app(resolved(runs))
    try:
        server = make_server(host, port, app.server, threaded=True)
    except OSError as exc:
        raise HeronGridError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    except SystemExit:  # werkzeug exits when the port is taken, after printing why
        raise HeronGridError(f"--port {port}: {host}:{port} is in use; choose another --port") from None
    console.print(f"heron-grid dashboard on [bold]http://{host}:{port}[/bold] (runs folder {runs}); Ctrl+C stops it")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("dashboard stopped")
    finally:
        server.server_close()


@handle_errors
def report(
    run_dirs: Annotated[
        list[Path], typer.Argument(help="Run directories, or folders of them (e.g. a `heron compare` output).")
    ],
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for report.html and figures/; default: the folder given (or the folders' parent)."),
    ] = None,
) -> None:
    """One self-contained HTML report (Plotly, offline) plus PNG figures (matplotlib) for papers."""
    from powergrid.app.report import write_report

    if out is not None and out.exists() and not out.is_dir():
        raise HeronGridError(f"--out: {out} is a file, not a folder")
    html_path, pngs = write_report([resolved(p) for p in run_dirs], resolved(out))
    console.print(f"report: [bold]{html_path}[/bold]; figures: {', '.join(p.name for p in pngs)}")
