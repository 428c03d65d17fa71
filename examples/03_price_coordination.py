"""Price coordination: each microgrid broadcasts one internal price to its devices (PriceSignalProtocol).

    python examples/03_price_coordination.py

A simple rule for the price signal: high (retail) when the microgrid's own load is high, low (feed-in) when it is
low. The generator dispatches when the price reaches its marginal cost; the battery charges at low prices and
discharges at high ones; the regulator follows its band rule. Microgrids still trade their net positions with each
other.
"""

import numpy as np

from heron.protocols.horizontal import P2PTradingProtocol
from heron.protocols.vertical import PriceSignalProtocol
from powergrid.envs.multi_agent_microgrids import MultiAgentMicrogrids

env = MultiAgentMicrogrids(
    {"max_episode_steps": 24, "vertical_protocol": PriceSignalProtocol(), "horizontal_protocol": P2PTradingProtocol()}
)
obs, info = env.reset(seed=0)
while env.agents:
    # observation[0] = load / the microgrid's peak load (see OBSERVATION in the environment's module)
    actions = {a: np.array([np.clip(2 * obs[a][0] - 1, -1, 1)], dtype=np.float32) for a in env.agents}
    obs, rewards, terminations, truncations, infos = env.step(actions)

for i, agent in enumerate(env.possible_agents):
    print(
        f"{agent}: P2P {env.totals['p2p_kwh'][i]:,.1f} kWh, grid import {env.totals['import_kwh'][i]:,.1f} kWh, "
        f"cost {env.totals['cost'][i]:,.2f}"
    )
