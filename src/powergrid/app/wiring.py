"""Connect the dashboard's functions (``callbacks.py``) to the page's components (``layout.py``).

Bad run directories and bad form input are shown on the page (``showing_errors``), never raised into Dash.
"""

from __future__ import annotations

import functools

from dash import ALL, Dash, Input, Output, State, ctx, no_update

from powergrid.app.callbacks import (
    Dashboard,
    advance,
    analysis,
    analysis_defaults,
    fill_form,
    households,
    ledger,
    ledger_trades,
    marker_patch,
    message_figure,
    network,
    poll_job,
    run_options,
    select_run,
    start_run,
    timeseries,
    toggle_play,
    validate_form,
)
from powergrid.errors import HeronGridError


def showing_errors(*fallbacks):
    """Wrap a callback so that a bad run directory (any HeronGridError) is shown on the page, not raised into Dash:
    each output becomes ``fallback(message)`` (e.g. ``message_figure``, ``str``, or ``lambda m: no_update``)."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args):
            try:
                return fn(*args)
            except HeronGridError as exc:
                outputs = tuple(f(str(exc)) for f in fallbacks)
                return outputs if len(outputs) > 1 else outputs[0]

        return wrapper

    return decorate


def _keep(_: str):
    return no_update


def register(app: Dash, d: Dashboard) -> None:
    """Wire the functions above to the page's components."""
    param = {"type": "param", "path": ALL}

    @app.callback(Output(param, "value"), Input("base-scenario", "value"))
    def _fill(scenario):
        return fill_form(d, scenario, [o["id"]["path"] for o in ctx.outputs_list])

    @app.callback(
        Output({"type": "param-error", "path": ALL}, "children"),
        Output({"type": "group-error", "group": ALL}, "children"),
        Input(param, "value"),
    )
    def _validate(values):
        field_paths = [i["id"]["path"] for i in ctx.inputs_list[0]]
        groups = [o["id"]["group"] for o in ctx.outputs_list[1]]
        errors, group_errors, _ = validate_form(d, values, field_paths, groups)
        return errors, group_errors

    @app.callback(
        Output("job-id", "data"),
        Output("run-status", "children"),
        Output("job-poll", "disabled"),
        Input("run-button", "n_clicks"),
        State(param, "value"),
        State("controllers", "value"),
        State("n-seeds", "value"),
        State("run-name", "value"),
        prevent_initial_call=True,
    )
    def _start(_, values, controllers, n_seeds, run_name):
        field_paths = [s["id"]["path"] for s in ctx.states_list[0]]
        return start_run(d, values, field_paths, controllers, n_seeds, run_name)

    @app.callback(
        Output("run-progress", "value"),
        Output("run-status", "children", allow_duplicate=True),
        Output("job-poll", "disabled", allow_duplicate=True),
        Output("runs-version", "data"),
        Output("run-select", "value", allow_duplicate=True),
        Input("job-poll", "n_intervals"),
        State("job-id", "data"),
        State("runs-version", "data"),
        prevent_initial_call=True,
    )
    def _poll(_, job_id, version):
        return poll_job(d, job_id, version or 0)

    @app.callback(
        Output("run-select", "options"),
        Output("run-select", "value"),
        Output("runs-problems", "children"),
        Input("runs-version", "data"),
        Input("tabs", "value"),
        State("run-select", "value"),
        State("run-select", "options"),
    )
    def _runs(_, __, current, shown):
        options, value = run_options(d, current, shown)
        skipped = d.cache.problems
        note = f"{len(skipped)} run director{'y' if len(skipped) == 1 else 'ies'} left out: {'; '.join(skipped)}"
        return options, value, note if skipped else ""

    @app.callback(
        Output("step-slider", "max"),
        Output("step-slider", "marks"),
        Output("step-slider", "value"),
        Output("baseline-select", "options"),
        Output("baseline-select", "value"),
        Output("household-select", "options"),
        Output("household-select", "value"),
        Input("run-select", "value"),
        State("step-slider", "value"),
    )
    @showing_errors(*[_keep] * 7)
    def _select(key, step):
        return select_run(d, key, step)

    @app.callback(
        Output("timeseries-graph", "figure"),
        Output("timeseries-run", "data"),
        Input("run-select", "value"),
        Input("baseline-select", "value"),
        Input("band-toggle", "value"),
        State("step-slider", "value"),
    )
    @showing_errors(message_figure, _keep)
    def _timeseries(key, baseline_key, band, step):
        return timeseries(d, key, baseline_key, band, step), key

    @app.callback(
        Output("network-graph", "figure"),
        Output("step-info", "children"),
        Output("timeseries-graph", "figure", allow_duplicate=True),
        Input("step-slider", "value"),
        State("run-select", "value"),
        State("timeseries-run", "data"),
        prevent_initial_call=True,
    )
    @showing_errors(message_figure, str, _keep)
    def _step(step, key, drawn):
        fig, info = network(d, key, step)
        # move the time series' step line only once that run's figure is on the page (it loads in parallel)
        return fig, info, marker_patch(d, key, step) if key and drawn == key else no_update

    @app.callback(
        Output("network-graph", "figure", allow_duplicate=True),
        Output("step-info", "children", allow_duplicate=True),
        Input("run-select", "value"),
        prevent_initial_call="initial_duplicate",
    )
    @showing_errors(message_figure, str)
    def _network_on_select(key):
        return network(d, key, 0)

    @app.callback(
        Output("play-timer", "disabled"),
        Output("play-button", "children"),
        Input("play-button", "n_clicks"),
        State("play-timer", "disabled"),
        prevent_initial_call=True,
    )
    def _play(_, disabled):
        return toggle_play(disabled)

    @app.callback(
        Output("step-slider", "value", allow_duplicate=True),
        Output("play-timer", "disabled", allow_duplicate=True),
        Output("play-button", "children", allow_duplicate=True),
        Input("play-timer", "n_intervals"),
        State("run-select", "value"),
        State("step-slider", "value"),
        State("speed", "value"),
        prevent_initial_call=True,
    )
    @showing_errors(_keep, lambda m: True, lambda m: "▶ play")
    def _tick(_, key, step, speed):
        return advance(d, key, step, speed)

    @app.callback(
        Output("analysis-runs", "options"),
        Output("analysis-runs", "value"),
        Input("run-select", "value"),
        Input("runs-version", "data"),
    )
    @showing_errors(_keep, _keep)
    def _analysis_runs(key, _):
        return [{"label": r.label, "value": r.key} for r in d.cache.runs()], analysis_defaults(d, key)

    @app.callback(
        Output("analysis-graph", "figure"),
        Output("analysis-table", "children"),
        Input("analysis-runs", "value"),
        Input("analysis-groupby", "value"),
        Input("tabs", "value"),
    )
    @showing_errors(message_figure, str)
    def _analysis(keys, groupby, tab):
        if tab != "analysis":  # drawn when shown: opening a run stays fast
            return no_update, no_update
        return analysis(d, keys, groupby)

    @app.callback(
        Output("wallet-graph", "figure"),
        Output("savings-graph", "figure"),
        Input("run-select", "value"),
        Input("baseline-select", "value"),
        Input("household-select", "value"),
        Input("tabs", "value"),
    )
    @showing_errors(message_figure, message_figure)
    def _households(key, baseline_key, chosen, tab):
        if tab != "households":
            return no_update, no_update
        return households(d, key, baseline_key, chosen)

    @app.callback(
        Output("ledger-verify", "children"),
        Output("ledger-blocks", "children"),
        Output("ledger-block", "options"),
        Output("ledger-block", "value"),
        Input("run-select", "value"),
        Input("tabs", "value"),
    )
    @showing_errors(str, _keep, _keep, _keep)
    def _ledger(key, tab):
        if tab != "ledger":
            return no_update, no_update, no_update, no_update
        verdict, blocks, choices = ledger(d, key)
        return verdict, blocks, choices, choices[0]["value"] if choices else None

    @app.callback(Output("ledger-trades", "children"), Input("ledger-block", "value"), State("run-select", "value"))
    @showing_errors(str)
    def _ledger_trades(block, key):
        return ledger_trades(d, key, block)
