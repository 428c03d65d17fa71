"""A small agent tree: field agents (devices) under coordinators, coordinators under one system agent.

Agents hold only static structure (ids, bounds, protocols). Per-step quantities live in arrays that the
protocols consume, ordered like the tree's children.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from heron.errors import AgentTreeError, UnknownAgentError


@dataclass(frozen=True)
class Agent:
    """Base agent: just an identifier."""

    id: str


@dataclass(frozen=True)
class FieldAgent(Agent):
    """A device whose setpoint lies in ``[low, high]``."""

    low: float = 0.0
    high: float = 0.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.low) and np.isfinite(self.high)) or self.low > self.high:
            raise AgentTreeError(f"{self.id}: bounds must be finite with low <= high, got [{self.low}, {self.high}]")


@dataclass(frozen=True)
class CoordinatorAgent(Agent):
    """Coordinates its field agents through a vertical protocol (e.g. ``SetpointProtocol``)."""

    children: tuple[FieldAgent, ...] = ()
    vertical_protocol: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "children", tuple(self.children))
        _check_unique(self.id, [c.id for c in self.children])

    @property
    def children_ids(self) -> list[str]:
        return [c.id for c in self.children]

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` arrays of the children, in children order."""
        return (
            np.array([c.low for c in self.children], dtype=float),
            np.array([c.high for c in self.children], dtype=float),
        )


@dataclass(frozen=True)
class SystemAgent(Agent):
    """Root of the tree; its coordinators interact as peers through a horizontal protocol."""

    coordinators: tuple[CoordinatorAgent, ...] = ()
    horizontal_protocol: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "coordinators", tuple(self.coordinators))
        ids = [self.id, *self.coordinator_ids, *(f for c in self.coordinators for f in c.children_ids)]
        _check_unique(self.id, ids)

    @property
    def coordinator_ids(self) -> list[str]:
        return [c.id for c in self.coordinators]

    def peers(self, coordinator_id: str) -> list[str]:
        """Ids of the other coordinators under this system agent."""
        if coordinator_id not in self.coordinator_ids:
            raise UnknownAgentError(f"{coordinator_id!r} is not a coordinator of {self.id!r}")
        return [c for c in self.coordinator_ids if c != coordinator_id]

    def walk(self) -> Iterator[Agent]:
        """All agents depth-first: system, then each coordinator followed by its field agents."""
        yield self
        for coord in self.coordinators:
            yield coord
            yield from coord.children

    def find(self, agent_id: str) -> Agent:
        """The agent with id ``agent_id``."""
        for agent in self.walk():
            if agent.id == agent_id:
                return agent
        raise UnknownAgentError(f"no agent {agent_id!r} under {self.id!r}")

    def parent_of(self, agent_id: str) -> str | None:
        """Id of the parent of ``agent_id`` (None for the root)."""
        if agent_id == self.id:
            return None
        for coord in self.coordinators:
            if coord.id == agent_id:
                return self.id
            if agent_id in coord.children_ids:
                return coord.id
        raise UnknownAgentError(f"no agent {agent_id!r} under {self.id!r}")

    @property
    def field_agents(self) -> list[FieldAgent]:
        return [f for c in self.coordinators for f in c.children]


def _check_unique(owner: str, ids: Sequence[str]) -> None:
    unique, counts = np.unique(np.asarray(ids, dtype=str), return_counts=True)
    dup = unique[counts > 1].tolist()
    if dup:
        raise AgentTreeError(f"{owner}: duplicate agent ids {dup}")
