"""The ``heron`` command line: scenarios, run, compare.

Bad input (scenario, data, arguments) is reported as one clear message and exit code 2 — never a traceback.
An unexpected internal error is reported as such (exit 1); set HERON_DEBUG=1 to see its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from powergrid.analytics.kpis import KPI_INFO, NA, KPIReport
from powergrid.analytics.results import atomic_directory, write_kpi_csv
from powergrid.cli_support import console, err_console, handle_errors
from powergrid.controllers import available_controllers
from powergrid.errors import HeronGridError
from powergrid.scenarios import Scenario, builtin_names, load_scenario
from powergrid.simulate import write_comparison

app = typer.Typer(
    name="heron",
    help="heron-grid: peer-to-peer energy trading simulations (scenarios, controllers, KPIs).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _mount_ledger() -> None:
    from powergrid.ledger.cli import ledger_app

    app.add_typer(ledger_app, name="ledger", help="Verify and inspect a run's signed trade ledger.")


_mount_ledger()


def _mount_app() -> None:
    from powergrid.app.cli import dashboard, report

    app.command()(dashboard)
    app.command()(report)


_mount_app()


def _fmt(value: float | NA) -> str:
    if isinstance(value, NA):
        return "n/a"
    magnitude = abs(value)
    if magnitude < 1e-9:  # rounding noise of sums over steps, not a quantity
        return "0"
    return f"{value:,.0f}" if magnitude >= 1000 else f"{value:.4g}" if magnitude >= 0.01 else f"{value:.3e}"


def kpi_table(reports: dict[str, KPIReport], title: str) -> Table:
    """KPIs as rows, runs as columns."""
    by_reason: dict[str, list[str]] = {}
    for r in reports.values():
        for kpi, v in r.community.items():
            if isinstance(v, NA) and kpi not in by_reason.setdefault(v.reason, []):
                by_reason[v.reason].append(kpi)
    notes = "; ".join(f"{reason}: {', '.join(kpis)}" for reason, kpis in by_reason.items())
    table = Table(title=title, title_justify="left", caption=f"n/a — {notes}" if notes else None,
                  caption_justify="left")  # fmt: skip
    table.add_column("KPI", style="bold", no_wrap=True)
    table.add_column("unit", style="dim", no_wrap=True)
    for name in reports:
        table.add_column(name, justify="right", no_wrap=True)
    for kpi, (unit, _) in KPI_INFO.items():
        table.add_row(kpi, unit, *(_fmt(r.community[kpi]) for r in reports.values()))
    return table


def _parse_controllers(text: str) -> list[str]:
    known = available_controllers()
    names = known if text.strip() == "all" else [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in names if c not in known]
    if unknown or not names:
        raise HeronGridError(
            f"--controllers: unknown {', '.join(map(repr, unknown)) or '(empty list)'}; "
            f"available: {', '.join(known)} (or 'all')"
        )
    return list(dict.fromkeys(names))


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def _run(spec: Scenario, controllers: list[str], out: Path, overwrite: bool, single: bool) -> dict[str, KPIReport]:
    with _progress() as progress:
        task = progress.add_task(f"building {spec.name} ({spec.n_agents} agents)", total=None)

        def built(total: int) -> None:
            progress.update(task, description=f"simulating {spec.name}", total=total, completed=0)

        return write_comparison(spec, controllers, out, overwrite, single, built, lambda k: progress.advance(task, k))


ScenarioArg = Annotated[str, typer.Argument(help="A built-in scenario name (see `heron scenarios`) or a YAML file.")]
SeedOpt = Annotated[int | None, typer.Option(help="Seed for every random draw; default: the scenario's seed.")]
ControllerOpt = Annotated[str, typer.Option(help="Controller name: " + ", ".join(available_controllers()) + ".")]
ControllersOpt = Annotated[str, typer.Option(help="Comma-separated controller names, or 'all'.")]
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
OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Replace an existing output directory (only once the new one is complete).")
]


@app.command()
@handle_errors
def scenarios() -> None:
    """List the built-in scenarios."""
    table = Table(title="Built-in scenarios", title_justify="left")
    for col in ("name", "agents", "steps", "step", "market", "description"):
        table.add_column(col)
    for name in builtin_names():
        s = load_scenario(name)
        table.add_row(name, str(s.n_agents), str(s.time.n_steps), f"{s.time.step_minutes} min",
                      s.market.mechanism, s.description)  # fmt: skip
    console.print(table)


@app.command()
@handle_errors
def run(
    scenario: ScenarioArg,
    controller: ControllerOpt = "truthful-bidder",
    out: RunOutOpt = None,
    seed: SeedOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Run one controller on a scenario; write a run directory and print its KPIs (savings vs grid-only)."""
    names = _parse_controllers(controller)
    if len(names) != 1:
        raise HeronGridError("--controller takes one name; use `heron compare` for several")
    spec = load_scenario(scenario, seed=seed)
    out = out or Path("results") / f"{spec.name}-{names[0]}-seed{spec.seed}"
    reports = _run(spec, names, out, overwrite, single=True)
    console.print(kpi_table(reports, f"{spec.name} · seed {spec.seed} · savings vs grid-only"))
    console.print(f"run directory: [bold]{out}[/bold]")


@app.command()
@handle_errors
def compare(
    scenario: ScenarioArg,
    controllers: ControllersOpt = "all",
    out: CompareOutOpt = None,
    seed: SeedOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Run several controllers on the same data and seed; print the KPI table side by side and save a figure."""
    names = _parse_controllers(controllers)
    spec = load_scenario(scenario, seed=seed)
    out = out or Path("results") / f"{spec.name}-compare-seed{spec.seed}"
    reports = _run(spec, names, out, overwrite, single=False)
    console.print(kpi_table(reports, f"{spec.name} · seed {spec.seed} · savings vs grid-only"))
    console.print(
        f"results: [bold]{out}[/bold] (comparison.png, comparison.csv, a run directory per controller and grid-only)"
    )


@app.command()
@handle_errors
def train(
    scenario: ScenarioArg,
    algo: Annotated[str, typer.Option(help="Learning algorithm: ppo (stable-baselines3, parameter sharing).")] = "ppo",
    timesteps: Annotated[
        int, typer.Option(help="Agent-steps of experience (each env step gives one per agent).")
    ] = 200_000,
    seed: Annotated[int, typer.Option(help="Seed of data, episode sampling and the network initialisation.")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Model directory; default models/<scenario>-ppo-seed<N> (rllib: -rllib-).")
    ] = None,
    overwrite: OverwriteOpt = False,
    backend: Annotated[str, typer.Option(help="sb3 (one machine) or rllib (Ray; extra `ray`).")] = "sb3",
    address: Annotated[str | None, typer.Option(help="rllib: Ray cluster (HOST:6379, ray://HOST:10001).")] = None,
    num_env_runners: Annotated[int, typer.Option(help="rllib: parallel sampling processes.")] = 1,
    policy: Annotated[str, typer.Option(help="rllib: shared, per-type (agent kind) or per-agent.")] = "shared",
) -> None:
    """Train PPO on the scenario's training days: one policy shared by all agents (SB3, extra `rl`), or
    multi-agent on Ray RLlib (`--backend rllib`, extra `ray`; SCENARIO `multi-microgrid` for MultiAgentMicrogrids)."""
    if algo != "ppo":
        raise HeronGridError(f"--algo: only 'ppo' is available, got {algo!r}")
    if timesteps <= 0:
        raise HeronGridError(f"--timesteps must be > 0, got {timesteps}")
    if backend not in ("sb3", "rllib"):
        raise HeronGridError(f"--backend must be 'sb3' or 'rllib', got {backend!r}")
    if backend == "rllib":
        from powergrid.training.rllib_cli import train_rllib_command

        return train_rllib_command(scenario, timesteps, seed, out, overwrite, address, num_env_runners, policy)
    if address is not None or num_env_runners != 1 or policy != "shared":
        raise HeronGridError("--address, --num-env-runners and --policy apply to --backend rllib only")
    _require_rl()
    from powergrid.training.sb3 import train_ppo

    spec = load_scenario(scenario, seed=seed)
    out = out or Path("models") / f"{spec.name}-ppo-seed{seed}"
    with atomic_directory(out, overwrite=overwrite) as tmp, _progress() as progress:
        task = progress.add_task(f"training PPO on {spec.name}", total=timesteps)
        result = train_ppo(spec, tmp, timesteps=timesteps, seed=seed,
                           on_progress=lambda k: progress.advance(task, k))  # fmt: skip
    console.print(f"trained {result.timesteps:,} agent-steps in {result.wall_seconds:.0f} s → [bold]{out}[/bold]")


@app.command()
@handle_errors
def evaluate(
    model: Annotated[Path, typer.Argument(help="A model directory written by `heron train`.")],
    scenario: Annotated[str | None, typer.Option(help="Scenario (default: the one the model was trained on).")] = None,
    split: Annotated[str, typer.Option(help="Days to evaluate on: test (held out) or train.")] = "test",
    out: Annotated[
        Path | None, typer.Option(help="Folder for the figures; default <model>/evaluation-<split>.")
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """The trained policy against grid-only, self-consumption and truthful-bidder: KPI table and figures."""
    if split not in ("test", "train"):
        raise HeronGridError(f"--split must be 'test' or 'train', got {split!r}")
    _require_rl()
    from powergrid.app.figures import evaluation_figures
    from powergrid.training.evaluate import evaluate_policy

    result = evaluate_policy(model, scenario, split)
    out = out or Path(model) / f"evaluation-{split}"
    with atomic_directory(out, overwrite=overwrite) as tmp:
        evaluation_figures(result.grid_import, result.reward, tmp, result.dt_hours)
        write_kpi_csv(result.reports, tmp / "kpis.csv")
    console.print(kpi_table(result.reports, f"{model} · {split} days {result.days.tolist()} · savings vs grid-only"))
    console.print(f"figures: [bold]{out}[/bold] (grid_import.png, cumulative_reward.png, total_import.png)")


def _require_rl() -> None:
    try:
        import stable_baselines3  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        raise HeronGridError(
            "training needs the `rl` extra: pip install 'heron-grid[rl]' (make install does)"
        ) from None


def _mount_sweep() -> None:
    from powergrid.scaling.cli import sweep

    app.command()(sweep)


_mount_sweep()


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())


if __name__ == "__main__":  # python -m powergrid.cli
    main()
