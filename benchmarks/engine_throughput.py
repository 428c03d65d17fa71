"""Engine throughput (agent-steps/s) beside a bare numpy kernel, and peak memory of `heron run city-1000`.

    python benchmarks/engine_throughput.py [--sizes 10,100,1000,10000] [--repeats 5] [--no-city]

The engine runs the `truthful-bidder` controller with the uniform double auction, the FeasibilityFilter, grid
settlement, balance checks and KPI accumulation — everything `heron run` does except writing Parquet. The bare
kernel does only the physics and the market on the same data: self-consumption battery update and a uniform-price
clearing (sort, cumulative curves, crossing, pro-rata margin) — no safety, trades list, settlement or checks.
Both are timed in this process, pinned to one core; figures are medians over repeats.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from communities import synthetic_community
from powergrid.runner.simulate import simulate
from powergrid.scenarios.build import Community


def bare_uniform_clearing(q: np.ndarray, price: np.ndarray) -> tuple[np.ndarray, float]:
    """Minimal uniform-price double auction: signed fills (+ buy) and the price (midpoint of the marginal pair)."""
    b = np.flatnonzero(q > 0)
    s = np.flatnonzero(q < 0)
    fills = np.zeros_like(q)
    if b.size == 0 or s.size == 0:
        return fills, float("nan")
    b = b[np.argsort(-price[b], kind="stable")]
    s = s[np.argsort(price[s], kind="stable")]
    cb, cs = np.cumsum(q[b]), np.cumsum(-q[s])
    cuts = np.union1d(cb, cs)
    cuts = cuts[cuts <= min(cb[-1], cs[-1])]
    starts = np.concatenate(([0.0], cuts[:-1]))
    i = np.searchsorted(cb, starts, side="right")
    j = np.searchsorted(cs, starts, side="right")
    ok = price[b][np.minimum(i, b.size - 1)] >= price[s][np.minimum(j, s.size - 1)]
    k = int(np.argmin(ok)) if not ok.all() else ok.size
    if k == 0:
        return fills, float("nan")
    volume = cuts[k - 1]
    bid, ask = price[b][i[k - 1]], price[s][j[k - 1]]
    for idx, qty, p_star, better in ((b, q[b], bid, price[b] > bid), (s, -q[s], ask, price[s] < ask)):
        full = qty * better
        tie = qty * (price[idx] == p_star)
        rest = volume - full.sum()
        side_fill = full + tie * (rest / tie.sum())
        fills[idx] = side_fill if idx is b else -side_fill
    return fills, 0.5 * (bid + ask)


def bare_kernel(c: Community) -> None:
    """Battery self-consumption update + uniform clearing for every step (the reference for the engine)."""
    fleet = c.agents.battery
    dt = c.grid.dt_hours
    soc = fleet.initial_soc_kwh.copy()
    eta_c, eta_d = fleet.charge_efficiency, fleet.discharge_efficiency
    for t in range(c.n_steps):
        load, pv = c.profiles.load_kw[t], c.profiles.pv_kw[t]
        max_c = np.minimum(fleet.power_kw, (fleet.soc_max_kwh - soc) / (eta_c * dt))
        max_d = np.minimum(fleet.power_kw, (soc - fleet.soc_min_kwh) * eta_d / dt)
        battery = np.clip(pv - load, -max_d, max_c)
        soc = soc + (np.maximum(battery, 0.0) * eta_c - np.maximum(-battery, 0.0) / eta_d) * dt
        net = (load + battery - pv) * dt
        bare_uniform_clearing(net, np.where(net > 0, c.price_cap[t], c.price_floor[t]))


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def city_peak_memory() -> tuple[float, float]:
    """Wall time (s) and peak RSS (GiB) of `heron run city-1000` (a child process writing a full run directory)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        cmd = [
            sys.executable,
            "-c",
            "from powergrid.cli import main; main()",
            "run",
            "city-1000",
            "--controller",
            "truthful-bidder",
            "--out",
            str(Path(tmp) / "city"),
        ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, peak_kib / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000", help="Comma-separated numbers of agents.")
    parser.add_argument("--repeats", type=int, default=5, help="Timed repeats per size (median reported).")
    parser.add_argument("--no-city", action="store_true", help="Skip the city-1000 peak-memory run.")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(f"engine throughput, truthful-bidder + uniform auction, one core, median of {args.repeats}")
    print(f"{'agents':>7} {'steps':>6} {'engine agent-steps/s':>21} {'bare kernel':>13} {'engine/bare':>12}")
    for n in (int(x) for x in args.sizes.split(",")):
        steps = int(min(2000, max(48, 500_000 // n)))
        community = synthetic_community(n, steps)
        simulate(community, "truthful-bidder")  # warm-up
        engine = median_seconds(lambda c=community: simulate(c, "truthful-bidder"), args.repeats)
        bare = median_seconds(lambda c=community: bare_kernel(c), args.repeats)
        rate, bare_rate = n * steps / engine, n * steps / bare
        print(f"{n:>7} {steps:>6} {rate:>21,.0f} {bare_rate:>13,.0f} {rate / bare_rate:>11.0%}")
    if not args.no_city:
        wall, peak = city_peak_memory()
        print(f"heron run city-1000 (1,000 agents x 8,760 h, Parquet written): {wall:.1f} s, peak RSS {peak:.2f} GiB")


if __name__ == "__main__":
    main()
