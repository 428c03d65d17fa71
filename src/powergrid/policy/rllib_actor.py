"""Acting with RLlib-trained policies without Ray: the RLModules of a checkpoint, loaded with torch only.

The deterministic action is the mean of the diagonal Gaussian, i.e. the first half of the module's
``action_dist_inputs`` (the second half are log standard deviations), clipped to the Box(-1, 1) action space.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from powergrid.errors import HeronGridError

#: The Algorithm checkpoint inside a model directory, and its RLModules (one folder per policy id).
CHECKPOINT = "checkpoint"
MODULES = Path(CHECKPOINT, "learner_group", "learner", "rl_module")
#: Policy modes: one policy for all agents, one per agent kind (prosumer, pv-only, consumer, storage), one per agent.
POLICY_MODES = ("shared", "per-type", "per-agent")


def policy_ids(mode: str, agent_ids: Sequence[str], kinds: Sequence[str] | None = None) -> list[str]:
    """The policy each agent acts with: ``"shared"``, its kind (``per-type``) or its own id (``per-agent``)."""
    if mode == "shared":
        return ["shared"] * len(agent_ids)
    if mode == "per-type":
        if kinds is None:
            raise HeronGridError("--policy per-type needs agent kinds; this environment has none (use per-agent)")
        return list(kinds)
    if mode == "per-agent":
        return list(agent_ids)
    raise HeronGridError(f"--policy must be one of {', '.join(POLICY_MODES)}, got {mode!r}")


class RLlibActor:
    """Deterministic actions of the trained RLModules for a batch of agents (torch on CPU, one thread)."""

    def __init__(self, folder: Path, policies: Sequence[str]) -> None:
        import torch
        from ray.rllib.core.rl_module.rl_module import RLModule

        torch.set_num_threads(1)
        root = Path(folder) / MODULES
        missing = sorted({p for p in policies if not (root / p).is_dir()})
        if missing:
            raise HeronGridError(f"{folder}: no trained policy {', '.join(missing)} in {MODULES}")
        self.modules = {p: RLModule.from_checkpoint(root / p) for p in dict.fromkeys(policies)}
        self.policies = np.asarray(policies)

    def act(self, features: np.ndarray) -> np.ndarray:
        """(agents, F) observations, rows in the order of ``policies`` → (agents, A) actions in [-1, 1]."""
        import torch

        actions: np.ndarray | None = None
        with torch.no_grad():
            for pid, module in self.modules.items():
                rows = np.flatnonzero(self.policies == pid)
                batch = torch.from_numpy(np.ascontiguousarray(features[rows], dtype=np.float32))
                dist = module.forward_inference({"obs": batch})["action_dist_inputs"].numpy()
                mean = dist[:, : dist.shape[1] // 2]
                if actions is None:
                    actions = np.empty((len(self.policies), mean.shape[1]), dtype=np.float32)
                actions[rows] = np.clip(mean, -1.0, 1.0)
        assert actions is not None  # every agent has a policy, so there is at least one module
        return actions
