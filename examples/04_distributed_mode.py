"""Distributed mode: offers travel to the market through a message broker with latency and losses.

    python examples/04_distributed_mode.py

With zero latency and no drops the distributed run equals the centralized one; with a one-step latency and 10 %
dropped messages, microgrids trade on stale or missing offers and settle more with the grid.
"""

import numpy as np

from heron.protocols.horizontal import P2PTradingProtocol
from powergrid.envs.multi_agent_microgrids import MultiAgentMicrogrids


def run(config: dict) -> MultiAgentMicrogrids:
    env = MultiAgentMicrogrids({"max_episode_steps": 24, "horizontal_protocol": P2PTradingProtocol(), **config})
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    while env.agents:
        env.step({a: rng.uniform(-1, 1, env.action_spaces[a].shape) for a in env.agents})
    return env


for label, config in [
    ("centralized", {"centralized": True}),
    ("distributed, no latency", {"centralized": False}),
    ("distributed, 1-step latency, 10 % drops", {"centralized": False, "latency": 1, "drop_probability": 0.1}),
]:
    env = run(config)
    print(
        f"{label:>40}: P2P {env.totals['p2p_kwh'].sum():,.1f} kWh, total cost {env.totals['cost'].sum():,.2f}, "
        f"messages dropped {env.broker.dropped}"
    )
