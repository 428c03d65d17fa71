"""The actor of a MAPPO/IPPO model (TorchRL), shared by training (``powergrid.training.mappo``) and the trained
policy's controller (``powergrid.controllers.policy``): network layout, file name, deterministic actions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from powergrid.errors import HeronGridError

POLICY = "policy.pt"
#: The actor's initial standard deviation (before the tanh).
INITIAL_SCALE = 0.37


def actor_network(n_agents: int, n_features: int, hidden: int, n_actions: int = 3):
    """The shared actor: features (..., N, F) → TanhNormal parameters (loc, scale) (..., N, A) each (A =
    ``n_actions``: 3 for the community's battery, trade and price; the action slots of the microgrid env)."""
    import torch
    from tensordict.nn import NormalParamExtractor
    from torchrl.modules import MultiAgentMLP

    mlp = MultiAgentMLP(
        n_agent_inputs=n_features,
        n_agent_outputs=2 * n_actions,
        n_agents=n_agents,
        centralised=False,
        share_params=True,
        depth=2,
        num_cells=hidden,
        activation_class=torch.nn.Tanh,
    )
    # the scale starts at 0.37 (SB3's log_std_init = -1): moderate exploration around the zero (self-consumption) action
    return torch.nn.Sequential(mlp, NormalParamExtractor(scale_mapping=f"biased_softplus_{INITIAL_SCALE}"))


class TorchRLActor:
    """Deterministic actions of a trained TorchRL actor: tanh of the TanhNormal's location, (N, F) → (N, A)."""

    def __init__(self, network, n_agents: int) -> None:
        self.network = network
        self.n_agents = n_agents

    @classmethod
    def from_state(cls, state: dict, n_agents: int, n_features: int, hidden: int, n_actions: int = 3) -> TorchRLActor:
        network = actor_network(n_agents, n_features, hidden, n_actions)
        network.load_state_dict(state)
        network.eval()
        return cls(network, n_agents)

    @classmethod
    def load(cls, folder: Path, config: dict, n_agents: int) -> TorchRLActor:
        """The actor of model directory ``folder`` (its ``train_config.json`` as ``config``), for ``n_agents``."""
        import torch

        if not (folder / POLICY).exists():
            raise HeronGridError(f"{folder} is not a trained model directory: missing {POLICY}")
        torch.set_num_threads(1)
        state = torch.load(folder / POLICY, map_location="cpu", weights_only=True)
        hidden, n_actions = int(config["settings"]["hidden"]), int(config.get("n_actions", 3))
        return cls.from_state(state, n_agents, len(config["features"]), hidden, n_actions)

    def act(self, features: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            loc, _ = self.network(torch.from_numpy(np.asarray(features, dtype=np.float32)))
        return torch.tanh(loc).numpy()
