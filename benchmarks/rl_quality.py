"""The RL quality goal: PPO, MAPPO or IPPO vs the rule-based baselines on prosumer-20's held-out days.

    python benchmarks/rl_quality.py [--timesteps 1000000] [--seeds 0,1,2] [--out /tmp/rl-quality] [--warm-start oracle]
                                    [--algo ppo|mappo|ippo]

Trains one policy per seed on the training days (one core, torch with one thread), evaluates each on the held-out
days with `evaluate_policy` (same engine, KPIs and reward for every controller), and prints per-seed figures and
mean ± 95 % confidence interval: community headline cost (and cash cost, storage adjustment), grid import, P2P
volume, safety counts, battery energy left at the end of the window, training wall time; MAPPO/IPPO also draw
their learning curves (``learning_curves.png`` in ``--out``). SB3 PPO takes about 5 minutes per seed at 1 M
agent-steps on this 2-core machine, MAPPO about 2.5 minutes at 5 M (training and evaluation).
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

from powergrid.analytics.kpis import NA
from powergrid.training.evaluate import evaluate_policy
from powergrid.training.mappo import train_mappo
from powergrid.training.sb3 import train_ppo

KPIS = (
    "cost",
    "share_of_oracle_savings",
    "cash_cost",
    "storage_adjustment",
    "stored_change_kwh",
    "grid_import_kwh",
    "p2p_volume_kwh",
    "safety_clipped",
    "safety_fallbacks",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=1_000_000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--scenario", default="prosumer-20")
    parser.add_argument("--out", type=Path, default=Path("/tmp/rl-quality"))
    parser.add_argument("--warm-start", choices=("none", "oracle", "mpc"), default="none")
    parser.add_argument("--cpu", type=int, default=-1, help="core to pin to (index into the allowed cores)")
    parser.add_argument("--algo", choices=("ppo", "mappo", "ippo"), default="ppo")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[args.cpu]})
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        folder = args.out / f"seed{seed}"
        folder.mkdir(parents=True, exist_ok=False)
        warm = None if args.warm_start == "none" else args.warm_start
        if args.algo == "ppo":
            trained = train_ppo(args.scenario, folder, timesteps=args.timesteps, seed=seed, warm_start=warm)
        else:
            trained = train_mappo(args.scenario, folder, timesteps=args.timesteps, seed=seed, algo=args.algo)
        ev = evaluate_policy(folder)
        for name, report in ev.reports.items():
            row = {
                "seed": seed,
                "controller": name,
                "stored_kwh_at_end": ev.final_stored_kwh[name],
                "train_s": trained.wall_seconds if name == args.algo else 0.0,
            }
            row.update(
                {
                    k: float(report.community[k]) if not isinstance(report.community[k], NA) else float("nan")
                    for k in KPIS
                }
            )
            rows.append(row)
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    figure = learning_curves(args.out, seeds, args.algo)
    if figure is not None:
        print(f"learning curves: {figure}")
    print(f"\n{args.scenario}, held-out days, {args.timesteps:,} agent-steps per seed, mean ± 95 % CI over seeds")
    for name in dict.fromkeys(r["controller"] for r in rows):
        mine = [r for r in rows if r["controller"] == name]
        cells = []
        for key in (*KPIS, "stored_kwh_at_end", "train_s"):
            values = [r[key] for r in mine]
            cells.append(f"{key} {statistics.mean(values):.4g} ± {ci95(values):.2g}")
        print(f"{name:>17}: " + ", ".join(cells))


def ci95(values: list[float]) -> float:
    """Half-width of the 95 % confidence interval of the mean (Student's t; 0 for one value)."""
    from scipy import stats

    if len(values) < 2:
        return 0.0
    return float(stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / len(values) ** 0.5)


def learning_curves(out: Path, seeds: list[int], algo: str) -> Path | None:
    """One figure of the sampled policy's episode return against agent-steps, one line per seed (MAPPO/IPPO's
    ``progress.csv``); None for SB3 (its curves are in TensorBoard)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    files = [out / f"seed{seed}" / "progress.csv" for seed in seeds]
    if not all(f.exists() for f in files):
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for seed, f in zip(seeds, files, strict=True):
        data = np.genfromtxt(f, delimiter=",", names=True)
        window = min(20, len(data))
        smooth = np.convolve(data["mean_return"], np.ones(window) / window, mode="valid")
        ax.plot(data["agent_steps"][window - 1 :] / 1e6, smooth, label=f"seed {seed}")
    ax.set_xlabel("agent-steps (millions)")
    ax.set_ylabel("episode return (currency)")
    ax.set_title(f"{algo.upper()} on the training days: sampled policy, moving mean of 20 rollouts", fontsize=10)
    ax.legend()
    fig.tight_layout()
    path = out / "learning_curves.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
