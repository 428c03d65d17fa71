"""The controller interface and registry: every decision-maker is ``act(observation) -> actions``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from powergrid.actions import Actions, Observation
from powergrid.errors import HeronGridError
from powergrid.scenarios.build import Community


@runtime_checkable
class Controller(Protocol):
    """A decision-maker for all agents of a community at once (arrays over agents)."""

    name: str
    #: Steps of the current run whose decision could not be computed as designed (an optimiser solve that was not
    #: optimal) and fell back to a rule; 0 for rules. The run loop reports it as the KPI ``optimiser_fallbacks``.
    fallbacks: int
    #: One line per fallback (step and reason), for the run's summary warning.
    fallback_events: Sequence[str]
    #: Whether decisions read the network fields of the observation (``voltage_pu``, ``path_loading``); if not,
    #: ``simulate`` solves the power flows of many steps in one batch after the fact (same outcome, faster).
    observes_network: bool

    def reset(self, community: Community) -> None:
        """Prepare for a new run on ``community`` (static data: agents, devices, prices)."""

    def act(self, obs: Observation) -> Actions:
        """Decide battery power, P2P order and limit price for every agent."""


_REGISTRY: dict[str, Callable[[], Controller]] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator: make a controller available by name (CLI, scenarios, compare)."""

    def deco(cls: type) -> type:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def available_controllers() -> list[str]:
    """Registered controller names, in registration order."""
    return list(_REGISTRY)


def make_controller(name: str) -> Controller:
    """Instantiate a registered controller; an unknown name is an error listing the known ones."""
    if name not in _REGISTRY:
        raise HeronGridError(f"unknown controller {name!r}; available: {', '.join(available_controllers())}")
    return _REGISTRY[name]()
