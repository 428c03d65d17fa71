"""The dashboard application: ``create_app(runs_folder)`` for tests and embedding, ``serve`` for the CLI."""

from __future__ import annotations

from pathlib import Path

from dash import Dash

from powergrid.app.callbacks import Dashboard
from powergrid.app.layout import page
from powergrid.app.wiring import register
from powergrid.errors import HeronGridError


class HeronDash(Dash):
    """The Dash app with the dashboard's state attached as ``heron_state`` (for tests and embedding)."""

    heron_state: Dashboard


def create_app(runs_folder: Path) -> HeronDash:
    """A Dash app over the run directories under ``runs_folder`` (created if missing); new runs are written there."""
    runs_folder = Path(runs_folder)
    if runs_folder.exists() and not runs_folder.is_dir():
        raise HeronGridError(f"--runs: {runs_folder} is a file, not a folder")
    runs_folder.mkdir(parents=True, exist_ok=True)
    state = Dashboard(runs_folder)
    # update_title: the tab's title says when callbacks are pending (the benchmark waits on it). Components'
    # JavaScript loads lazily (Dash's default): eager loading also parsed MathJax and dash_table (~3 MB), unused,
    # for the same start-up time here.
    app = HeronDash(__name__, title="heron-grid", update_title="heron-grid (updating…)")
    app.layout = page(state.fields, str(runs_folder))
    register(app, state)
    app.heron_state = state  # for tests and embedding
    return app


def serve(runs_folder: Path, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve the dashboard until interrupted (Flask's threaded server: fine for one researcher, local)."""
    app = create_app(runs_folder)
    app.run(host=host, port=port, debug=False)
