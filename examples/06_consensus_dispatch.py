"""Distributed economic dispatch: the microgrids' coordinators agree by consensus on the gensets' set-points.

    python examples/06_consensus_dispatch.py

With a ``ConsensusProtocol`` as horizontal protocol the coordinators exchange values only with their neighbours on
a communication graph (here the path MG1 – MG2) until they agree on one incremental cost λ at which their gensets
together cover both microgrids' net demand, the upstream grid being the marginal source (λ between feed-in and
retail). The batteries, regulators and capacitors follow the coordinators' actions (here fixed); what
MG1's genset produces for MG2 clears in the market. Then the same dispatch as a controller over four weeks,
against merit-order, where each genset covers only its own microgrid.
"""

import numpy as np

from heron.protocols import ConsensusProtocol, path_graph
from powergrid import MultiAgentMicrogrids, compare

env = MultiAgentMicrogrids({"max_episode_steps": 24, "horizontal_protocol": ConsensusProtocol(path_graph(2))})
obs, info = env.reset()
print("action slots:", env.slots)
while env.agents:
    # slots (storage, regulator, capacitor): battery idle, regulators at step 0, capacitor banks in
    action = np.array([0.0, 0.0, 1.0], dtype=np.float32)
    obs, rewards, terminations, truncations, infos = env.step(dict.fromkeys(env.agents, action))
    result = infos["MG1"]["result"]
    print(
        f"step {result.t:2d}: λ {infos['MG1']['incremental_cost']:.4f}/kWh (retail {result.retail:.2f}), "
        f"genset {result.generation[0]:7.1f} kWh, P2P {result.sold[0]:7.1f} kWh to MG2"
    )

for controller, report in compare("multi-microgrid", ["merit-order", "consensus-dispatch"]).items():
    kpis = report.community
    print(f"{controller:>18}: headline cost {kpis['cost']:,.0f}, fuel {kpis['fuel_cost']:,.0f}")
