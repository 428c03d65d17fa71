"""Community simulation with an AC power flow every step: env-steps/s, and the same loop with pandapower.

    python benchmarks/network_throughput.py [--steps 2000] [--pandapower-steps 40] [--repeats 3]

Cases: CIGRE LV with one household per load bus (15) and Kerber Dorfnetz with 100 households (57 load buses).
"batched" is `simulate()` with the truthful bidder: the full engine step, and a power-grid-model power flow for
every step solved 168 steps per call (the default of `simulate`). "per step" solves each step's flow on its own
(model built once, loads updated in place), as an interactive environment must. "pandapower" is the same engine
loop with each step's flow done by pandapower `runpp` on the same network and injections (timed over fewer
steps; its per-step cost is flat).
Pinned to one core; medians over repeats.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
import warnings

import numpy as np

from communities import synthetic_community
from powergrid.network.feeders import _PANDAPOWER_FEEDERS
from powergrid.network.setup import NetworkStage
from powergrid.runner.simulate import simulate
from powergrid.scenarios.build import Community


class PandapowerStage(NetworkStage):
    """The engine's network stage with pandapower's runpp in place of power-grid-model (reference only)."""

    def __init__(self, setup) -> None:
        super().__init__(setup)
        import pandapower as pp

        self.pp = pp
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = _PANDAPOWER_FEEDERS[setup.feeder.name][0]()
        net.load = net.load.iloc[0:0]
        for node in setup.agent_nodes:
            pp.create_load(net, int(node), p_mw=0.0, q_mvar=0.0)
        self.net = net

    def run(self, t, served_load, net_kwh, dt, retail):
        self.net.load["p_mw"] = net_kwh / dt / 1e3
        self.net.load["q_mvar"] = served_load / dt * self.setup.tan_phi / 1e3
        self.pp.runpp(self.net, trafo_model="pi")
        return super().run(t, served_load, net_kwh, dt, retail)  # keep the accounting identical


def rate(c: Community, repeats: int, network_batch: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        simulate(c, "truthful-bidder", network_batch=network_batch)
        times.append(time.perf_counter() - start)
    return c.n_steps / statistics.median(times)


def pandapower_rate(c: Community) -> float:
    import powergrid.engine.step as engine_module

    original = engine_module.NetworkStage
    engine_module.NetworkStage = PandapowerStage
    try:
        start = time.perf_counter()
        simulate(c, "truthful-bidder", network_batch=1)
        elapsed = time.perf_counter() - start
    finally:
        engine_module.NetworkStage = original
    return c.n_steps / elapsed


def batch_rate(c: Community, size: int = 200) -> float:
    """power-grid-model batch mode: flows per second for `size` steps solved in one call."""
    solver = c.network.solver()
    rng = np.random.default_rng(0)
    p = rng.uniform(-4, 6, (size, c.n_agents))
    start = time.perf_counter()
    solver.solve_batch(p, 0.2 * p.clip(min=0))
    return size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--pandapower-steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("pandapower").setLevel(logging.ERROR)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print("community with a power flow every step, truthful-bidder, one core")
    print(
        f"{'case':>32} | env-steps/s: {'batched':>8} {'per step':>9} {'pandapower':>11} |"
        f" {'ratio batched':>13} {'ratio per step':>14} | {'PGM flows/s in a batch':>22}"
    )
    for feeder, n in (("cigre-lv", 15), ("kerber-dorfnetz", 100)):
        c = synthetic_community(n, args.steps, feeder)
        batched = rate(c, args.repeats, network_batch=168)
        per_step = rate(c, args.repeats, network_batch=1)
        reference = pandapower_rate(synthetic_community(n, args.pandapower_steps, feeder))
        flows = batch_rate(synthetic_community(n, 48, feeder))
        label = f"{feeder}, {n} households"
        print(
            f"{label:>32} | {'':>12} {batched:>8,.0f} {per_step:>9,.0f} {reference:>11,.1f} |"
            f" {batched / reference:>12.0f}x {per_step / reference:>13.0f}x | {flows:>22,.0f}"
        )


if __name__ == "__main__":
    main()
