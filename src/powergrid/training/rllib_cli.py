"""``heron train … --backend rllib``: the command's RLlib branch (called by ``powergrid.cli.train``).

SCENARIO ``multi-microgrid`` trains on ``MultiAgentMicrogrids`` (2 microgrids on IEEE 13 feeders trading with
the P2PTradingProtocol, 24 one-hour steps); any other SCENARIO is a community scenario (EnergyMarketEnv).
"""

from __future__ import annotations

from pathlib import Path

from powergrid.analytics.results import atomic_directory
from powergrid.cli_support import console
from powergrid.scaling.ray_session import require_ray
from powergrid.scenarios import load_scenario

MICROGRIDS = "multi-microgrid"


def train_rllib_command(scenario: str, timesteps: int, seed: int, out: Path | None, overwrite: bool,
                        address: str | None, num_env_runners: int, policy: str) -> None:  # fmt: skip
    """Train multi-agent PPO on RLlib and write the model directory (default models/<scenario>-rllib-seed<N>)."""
    from powergrid.cli import _progress

    require_ray()
    from powergrid.training.rllib import repeatable_process, train_rllib

    if scenario == MICROGRIDS:
        from heron.protocols.horizontal import P2PTradingProtocol

        name = MICROGRIDS
        kwargs: dict = {"env": "microgrids", "env_config": {"horizontal_protocol": P2PTradingProtocol()}}
    else:
        spec = load_scenario(scenario, seed=seed)
        name, kwargs = spec.name, {"env": "energy-market", "scenario": spec}
    out = out or Path("models") / f"{name}-rllib-seed{seed}"
    with atomic_directory(out, overwrite=overwrite) as tmp, _progress() as progress:
        task = progress.add_task(f"training PPO on RLlib ({name}, {num_env_runners} env runners)", total=timesteps)
        result = train_rllib(tmp, timesteps=timesteps, seed=seed, num_env_runners=num_env_runners, address=address,
                             policy=policy, on_progress=lambda k: progress.advance(task, k), **kwargs)  # fmt: skip
    if not repeatable_process():
        console.print("note: PYTHONHASHSEED is not set, so this RLlib run is not exactly repeatable (RLlib "
                      "orders agents by string hash); `PYTHONHASHSEED=0 heron train …` repeats exactly")  # fmt: skip
    console.print(f"trained {result.timesteps:,} agent-steps ({result.iterations} iterations) in "
                  f"{result.wall_seconds:.0f} s → [bold]{out}[/bold]")  # fmt: skip
