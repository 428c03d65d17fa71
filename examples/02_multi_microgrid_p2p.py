from powergrid.envs.multi_agent_microgrids import MultiAgentMicrogrids
from heron.protocols.horizontal import P2PTradingProtocol

env_config = {
    "centralized": True,
    "max_episode_steps": 24,
    "horizontal_protocol": P2PTradingProtocol(),
}

env = MultiAgentMicrogrids(env_config)
obs, info = env.reset()

# Multi-agent step
for _ in range(24):
    actions = {
        agent_id: env.action_spaces[agent_id].sample()
        for agent_id in env.agents
    }
    obs, rewards, terminateds, truncateds, infos = env.step(actions)

# Not in the seed page: what happened over the 24 steps.
for agent_id in env.possible_agents:
    i = env.possible_agents.index(agent_id)
    print(f"{agent_id}: P2P volume {env.totals['p2p_kwh'][i]:,.1f} kWh, cost {env.totals['cost'][i]:,.2f}")
