"""A trained policy as a controller: the same features and action mapping as in training, with the
SafetySupervisor switching out-of-distribution agents to grid-only (counted by the engine).

The backend recorded in ``train_config.json`` picks how actions are computed: ``sb3`` (stable-baselines3 PPO with
its VecNormalize statistics; model directories without a ``backend`` entry are SB3's), ``rllib`` (the
checkpoint's RLModules, one per policy id, loaded without Ray) or ``torchrl`` (the shared actor of MAPPO/IPPO).
"""

from __future__ import annotations

from pathlib import Path

from powergrid.actions import Actions, Observation
from powergrid.controllers.base import ControllerBase
from powergrid.errors import HeronGridError
from powergrid.policy.action_map import scale_actions
from powergrid.policy.features import ObservationBuilder
from powergrid.policy.model_dir import CONFIG, read_model_files
from powergrid.policy.sb3_actor import SB3Actor
from powergrid.safety import SafetySupervisor
from powergrid.scenarios.build import Community
from powergrid.scenarios.split import day_split, day_steps

BACKENDS = ("sb3", "rllib", "torchrl")


class PolicyController(ControllerBase):
    """``act(observation)`` with a model directory written by ``train_ppo`` (SB3) or ``train_rllib``."""

    name = "ppo"
    observes_network = True  # its features include the previous step's voltage and path loading

    def __init__(self, folder: Path, use_supervisor: bool = True) -> None:
        self.folder = Path(folder)
        self.config, stats = read_model_files(self.folder)
        self.backend = self.config.get("backend", "sb3")
        self.name = self.config.get("algo", "ppo")  # ppo, mappo or ippo: the policy's label in tables
        if self.backend not in BACKENDS:
            raise HeronGridError(f"{self.folder / CONFIG}: unknown backend {self.backend!r}; known: {BACKENDS}")
        if self.config.get("env", "energy-market") != "energy-market":
            raise HeronGridError(f"{self.folder} was trained on {self.config['env']}, not on a community scenario")
        self._sb3 = SB3Actor(self.folder) if self.backend == "sb3" else None
        self.supervisor = SafetySupervisor(stats) if use_supervisor else None

    def reset(self, community: Community) -> None:
        train, _ = day_split(community)
        self.builder = ObservationBuilder(community, day_steps(community, train), self.config["horizon"])
        if self.builder.names != self.config["features"]:
            raise HeronGridError(
                f"{self.folder}: the model was trained on {len(self.config['features'])} observation features, "
                f"this version builds {len(self.builder.names)} (retrain it)"
                if len(self.config["features"]) != len(self.builder.names)
                else f"{self.folder}: the model was trained on other observation features (retrain it)"
            )
        trained = self._trained_agents()
        if trained != community.n_agents:
            raise HeronGridError(
                f"{self.folder}: the model was trained on {trained} agents, scenario {community.scenario.name!r} has "
                f"{community.n_agents}; evaluate it on the community it was trained for"
            )
        self.power = community.agents.battery.power_kw
        if self.backend == "rllib":
            from powergrid.policy.rllib_actor import RLlibActor, policy_ids

            policies = policy_ids(self.config["policy"], community.agents.ids, community.agents.kinds)
            self._act = RLlibActor(self.folder, policies).act
        elif self.backend == "torchrl":
            from powergrid.policy.torchrl_actor import TorchRLActor

            self._act = TorchRLActor.load(self.folder, self.config, trained).act
        else:
            assert self._sb3 is not None  # loaded in __init__ for the backend "sb3"
            self._act = self._sb3.act

    def _trained_agents(self) -> int:
        import yaml

        from powergrid.scenarios.build import agent_count
        from powergrid.scenarios.loader import scenario_from_dict

        spec = scenario_from_dict(yaml.safe_load(self.config["scenario_yaml"]), f"{self.folder / CONFIG}")
        return agent_count(spec)

    def act(self, obs: Observation) -> Actions:
        features = self.builder.build(obs, obs.stop)
        actions = scale_actions(self._act(features), obs, self.power)
        if self.supervisor is None:
            return actions
        return Actions(
            actions.battery_kw,
            actions.trade_kw,
            actions.limit_price,
            fallback=self.supervisor.out_of_distribution(features),
        )
