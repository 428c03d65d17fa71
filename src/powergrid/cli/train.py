"""``heron train`` (SB3 PPO, or multi-agent PPO on Ray RLlib) and ``heron evaluate``.

SCENARIO ``multi-microgrid`` with ``--backend rllib`` trains on ``MultiAgentMicrogrids`` (2 microgrids on IEEE 13
feeders trading with the P2PTradingProtocol, 24 one-hour steps), with ``--algo mappo``/``ippo`` on its batched face
``BatchedMultiAgentMicrogrids`` (evaluated against grid-only, merit-order and the oracle); any other SCENARIO is a
community scenario (EnergyMarketEnv).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from powergrid.cli.common import (
    OverwriteOpt,
    ScenarioArg,
    console,
    fmt,
    handle_errors,
    kpi_table,
    progress,
    resolved,
)
from powergrid.errors import HeronGridError

MICROGRIDS = "multi-microgrid"
ALGOS = ("ppo", "mappo", "ippo")


@handle_errors
def train(
    scenario: ScenarioArg,
    algo: Annotated[
        str,
        typer.Option(
            help="ppo (stable-baselines3, parameter sharing), mappo (TorchRL, shared actor, centralised critic) or "
            "ippo (TorchRL, shared actor, per-agent critic)."
        ),
    ] = "ppo",
    timesteps: Annotated[
        int | None,
        typer.Option(
            help="Agent-steps of experience (each env step gives one per agent); default 200,000 for ppo, "
            "5,000,000 for mappo and ippo (a few minutes on prosumer-20; about 15-20 minutes on multi-microgrid, "
            "one core). Rounded up to whole rollouts."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of data, episode sampling and the network initialisation.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option(help="Model directory; default models/<scenario>-<algo>-seed<N> (rllib: -rllib-)."),
    ] = None,
    overwrite: OverwriteOpt = False,
    backend: Annotated[str, typer.Option(help="sb3 (one machine) or rllib (Ray; extra `ray`).")] = "sb3",
    address: Annotated[str | None, typer.Option(help="rllib: Ray cluster (HOST:6379, ray://HOST:10001).")] = None,
    num_env_runners: Annotated[int, typer.Option(help="rllib: parallel sampling processes.")] = 1,
    policy: Annotated[str, typer.Option(help="rllib: shared, per-type (agent kind) or per-agent.")] = "shared",
    warm_start: Annotated[
        str, typer.Option(help="sb3: clone a teacher on the training days first (oracle or mpc), or none.")
    ] = "none",
) -> None:
    """Train on the scenario's training days: PPO with one policy shared by all agents (SB3, extra `rl`), MAPPO or
    IPPO on 32 copies of the community — or of the microgrids for SCENARIO `multi-microgrid` — (TorchRL, extra
    `rl`), or multi-agent PPO on Ray RLlib (`--backend rllib`, extra `ray`; SCENARIO `multi-microgrid` for
    MultiAgentMicrogrids)."""
    if algo not in ALGOS:
        raise HeronGridError(f"--algo must be one of {', '.join(ALGOS)}, got {algo!r}")
    if timesteps is None:
        timesteps = 200_000 if algo == "ppo" else 5_000_000
    if timesteps <= 0:
        raise HeronGridError(f"--timesteps must be > 0, got {timesteps}")
    if algo != "ppo":
        if backend != "sb3" or warm_start != "none" or address is not None or num_env_runners != 1:
            raise HeronGridError("--backend, --warm-start, --address and --num-env-runners apply to --algo ppo only")
        return _train_mappo(scenario, algo, timesteps, seed, out, overwrite)
    if backend not in ("sb3", "rllib"):
        raise HeronGridError(f"--backend must be 'sb3' or 'rllib', got {backend!r}")
    if backend == "rllib":
        return _train_rllib(scenario, timesteps, seed, out, overwrite, address, num_env_runners, policy)
    if address is not None or num_env_runners != 1 or policy != "shared":
        raise HeronGridError("--address, --num-env-runners and --policy apply to --backend rllib only")
    if warm_start not in ("none", "oracle", "mpc"):
        raise HeronGridError(f"--warm-start must be oracle, mpc or none, got {warm_start!r}")
    _require_rl()
    from powergrid.analytics.results import atomic_directory
    from powergrid.scenarios import load_scenario
    from powergrid.training.sb3 import train_ppo

    spec = load_scenario(scenario, seed=seed)
    if any(group.kind == "microgrid" for group in spec.agents or ()):
        raise HeronGridError(
            f"scenario {spec.name!r} has microgrids (gensets, taps, capacitors), which --algo ppo does not control: "
            f"train them with --algo mappo or ippo ({MICROGRIDS}), or --backend rllib"
        )
    shown = out or Path("models") / f"{spec.name}-ppo-seed{seed}"
    with atomic_directory(resolved(shown), overwrite=overwrite) as tmp, progress("agent-steps") as bar:
        task = bar.add_task(f"training PPO on {spec.name}", total=timesteps)
        result = train_ppo(
            spec,
            tmp,
            timesteps=timesteps,
            seed=seed,
            on_progress=lambda k: bar.advance(task, k),
            warm_start=None if warm_start == "none" else warm_start,
        )
    console.print(f"trained {result.timesteps:,} agent-steps in {result.wall_seconds:.0f} s → [bold]{shown}[/bold]")


def _train_mappo(scenario: str, algo: str, timesteps: int, seed: int, out: Path | None, overwrite: bool) -> None:
    """MAPPO/IPPO on TorchRL over K copies of the community (default out: models/<scenario>-<algo>-seed<N>)."""
    _require_rl()
    from powergrid.analytics.results import atomic_directory
    from powergrid.scenarios import load_scenario
    from powergrid.training.mappo import train_mappo
    from powergrid.training.mappo_microgrids import train_mappo_microgrids

    name = MICROGRIDS if scenario == MICROGRIDS else load_scenario(scenario, seed=seed).name
    shown = out or Path("models") / f"{name}-{algo}-seed{seed}"
    with atomic_directory(resolved(shown), overwrite=overwrite) as tmp, progress("agent-steps") as bar:
        task = bar.add_task(f"training {algo.upper()} on {name}", total=timesteps)
        if scenario == MICROGRIDS:  # the batched microgrid environment (BatchedMultiAgentMicrogrids)
            result = train_mappo_microgrids(tmp, timesteps, seed, algo, on_progress=lambda k: bar.advance(task, k))
        else:
            spec = load_scenario(scenario, seed=seed)
            result = train_mappo(spec, tmp, timesteps, seed, algo, on_progress=lambda k: bar.advance(task, k))
    console.print(
        f"trained {result.timesteps:,} agent-steps in {result.wall_seconds:.0f} s "
        f"({result.agent_steps_per_second:,.0f}/s) → [bold]{shown}[/bold]"
    )


def _train_rllib(
    scenario: str,
    timesteps: int,
    seed: int,
    out: Path | None,
    overwrite: bool,
    address: str | None,
    num_env_runners: int,
    policy: str,
) -> None:
    """Train multi-agent PPO on RLlib and write the model directory (default models/<scenario>-rllib-seed<N>)."""
    from powergrid.analytics.results import atomic_directory
    from powergrid.scaling.ray_session import require_ray
    from powergrid.scenarios import load_scenario

    require_ray()
    from powergrid.training.rllib import repeatable_process, train_rllib

    if scenario == MICROGRIDS:
        from heron.protocols.horizontal import P2PTradingProtocol

        name = MICROGRIDS
        kwargs: dict = {"env": "microgrids", "env_config": {"horizontal_protocol": P2PTradingProtocol()}}
    else:
        spec = load_scenario(scenario, seed=seed)
        name, kwargs = spec.name, {"env": "energy-market", "scenario": spec}
    shown = out or Path("models") / f"{name}-rllib-seed{seed}"
    with atomic_directory(resolved(shown), overwrite=overwrite) as tmp, progress("agent-steps") as bar:
        task = bar.add_task(f"training PPO on RLlib ({name}, {num_env_runners} env runners)", total=timesteps)
        result = train_rllib(
            tmp,
            timesteps=timesteps,
            seed=seed,
            num_env_runners=num_env_runners,
            address=address,
            policy=policy,
            on_progress=lambda k: bar.advance(task, k),
            **kwargs,
        )
    if not repeatable_process():
        console.print(
            "note: PYTHONHASHSEED is not set, so this RLlib run is not exactly repeatable (RLlib "
            "orders agents by string hash); `PYTHONHASHSEED=0 heron train …` repeats exactly"
        )
    console.print(
        f"trained {result.timesteps:,} agent-steps ({result.iterations} iterations) in "
        f"{result.wall_seconds:.0f} s → [bold]{shown}[/bold]"
    )


@handle_errors
def evaluate(
    model: Annotated[
        Path, typer.Argument(help="A model directory written by `heron train`, or the model.zip inside it.")
    ],
    scenario: Annotated[str | None, typer.Option(help="Scenario (default: the one the model was trained on).")] = None,
    split: Annotated[str, typer.Option(help="Days to evaluate on: test (held out) or train.")] = "test",
    out: Annotated[
        Path | None, typer.Option(help="Folder for the figures; default <model>/evaluation-<split>.")
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """The trained policy on held-out days against grid-only, self-consumption, truthful-bidder, greedy, mpc and the
    oracle (a multi-microgrid policy: grid-only, merit-order and the oracle): KPI table, figures, one kpis.json per
    controller, and each one's share of the oracle's savings."""
    if split not in ("test", "train"):
        raise HeronGridError(f"--split must be 'test' or 'train', got {split!r}")
    _require_rl()
    from powergrid.analytics.results import atomic_directory, write_kpi_csv
    from powergrid.app.figures import evaluation_figures
    from powergrid.training.evaluate import evaluate_policy

    if model.is_file():  # e.g. models/x/model.zip: the model directory is its folder
        model = model.parent
    if _trained_on_microgrids(model):
        if scenario is not None:
            raise HeronGridError(f"--scenario does not apply to a model trained on {MICROGRIDS}")
        return _evaluate_microgrids(model, split, out, overwrite)

    result = evaluate_policy(resolved(model), scenario, split)
    shown = out or Path(model) / f"evaluation-{split}"
    with atomic_directory(resolved(shown), overwrite=overwrite) as tmp:
        evaluation_figures(result.grid_import, result.reward, tmp, result.dt_hours)
        write_kpi_csv(result.reports, tmp / "kpis.csv")
        for name, report in result.reports.items():
            (tmp / name).mkdir()
            (tmp / name / "kpis.json").write_text(
                json.dumps(report.to_json(), indent=2, allow_nan=False), encoding="utf-8"
            )
    console.print(kpi_table(result.reports, f"{model} · {split} days {result.days.tolist()} · savings vs grid-only"))
    shares = {name: r.community["share_of_oracle_savings"] for name, r in result.reports.items()}
    console.print("share_of_oracle_savings: " + ", ".join(f"{name} {fmt(v)}" for name, v in shares.items()))
    console.print(
        f"written: [bold]{shown}[/bold] (kpis.csv, <controller>/kpis.json, grid_import.png, "
        "cumulative_reward.png, total_import.png)"
    )


def _trained_on_microgrids(model: Path) -> bool:
    """Whether ``model``'s train_config.json says it was trained on the multi-microgrid environment."""
    config = resolved(model) / "train_config.json"
    return config.exists() and json.loads(config.read_text(encoding="utf-8")).get("env") == MICROGRIDS


def _evaluate_microgrids(model: Path, split: str, out: Path | None, overwrite: bool) -> None:
    """A microgrid policy against grid-only, merit-order and the oracle: KPI table, kpis.csv, <controller>/kpis.json."""
    from powergrid.analytics.results import atomic_directory, write_kpi_csv
    from powergrid.training.mappo_microgrids import evaluate_microgrid_policy

    reports = evaluate_microgrid_policy(resolved(model), split)
    shown = out or Path(model) / f"evaluation-{split}"
    with atomic_directory(resolved(shown), overwrite=overwrite) as tmp:
        write_kpi_csv(reports, tmp / "kpis.csv")
        for name, report in reports.items():
            (tmp / name).mkdir()
            (tmp / name / "kpis.json").write_text(
                json.dumps(report.to_json(), indent=2, allow_nan=False), encoding="utf-8"
            )
    console.print(kpi_table(reports, f"{model} · {MICROGRIDS} {split} days · savings vs grid-only"))
    shares = {name: r.community["share_of_oracle_savings"] for name, r in reports.items()}
    console.print("share_of_oracle_savings: " + ", ".join(f"{name} {fmt(v)}" for name, v in shares.items()))
    console.print(f"written: [bold]{shown}[/bold] (kpis.csv, <controller>/kpis.json)")


def _require_rl() -> None:
    try:
        import stable_baselines3  # noqa: F401
        import torch  # noqa: F401
        import torchrl  # noqa: F401
    except ImportError:
        raise HeronGridError(
            "training needs the `rl` extra: pip install 'heron-grid[rl]' (make install does)"
        ) from None
