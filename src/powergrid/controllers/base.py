"""The controller interface and registry: every decision-maker is ``act(observation) -> actions``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from powergrid.actions import Actions, Observation
from powergrid.errors import HeronGridError
from powergrid.scenarios.build import Community

if TYPE_CHECKING:
    from powergrid.forecasting.base import Forecaster


@runtime_checkable
class Controller(Protocol):
    """A decision-maker for all agents of a community at once (arrays over agents).

    This is everything the run loop (``powergrid.runner``), the evaluation and the command line use of a
    controller. ``ControllerBase`` holds the defaults of the members most controllers do not need.
    """

    @property
    def name(self) -> str:
        """The controller's label in tables and run directories (the registered name)."""

    @property
    def fallbacks(self) -> int:
        """Steps of the current run whose decision could not be computed as designed (an optimiser solve that was
        not optimal) and fell back to a rule; 0 for rules. The run loop reports it as the KPI
        ``optimiser_fallbacks``."""

    @property
    def fallback_events(self) -> Sequence[str]:
        """One line per fallback (step and reason), for the run's summary warning."""

    @property
    def observes_network(self) -> bool:
        """Whether decisions read the network fields of the observation (``voltage_pu``, ``path_loading``); if not,
        ``simulate`` solves the power flows of many steps in one batch after the fact (same outcome, faster)."""

    @property
    def forecaster(self) -> Forecaster | None:
        """The fitted forecaster the decisions are planned on (after ``reset``), whose errors the run loop reports
        (``KPIReport.forecast_errors``); None for a controller that plans on no forecast."""

    @property
    def horizon(self) -> int:
        """Steps ahead ``forecaster`` is asked for at each step (its errors are measured up to this horizon);
        0 without a forecaster."""

    def reset(self, community: Community) -> None:
        """Prepare for a new run on ``community`` (static data: agents, devices, prices)."""

    def act(self, obs: Observation) -> Actions:
        """Decide battery power, P2P order and limit price for every agent."""


class ControllerBase(ABC):
    """The defaults of ``Controller``'s optional members: no fallbacks, no network fields read, no forecaster.
    Every registered controller subclasses it and overrides what applies."""

    name: str
    fallbacks: int = 0
    fallback_events: Sequence[str] = ()
    observes_network: bool = False
    forecaster: Forecaster | None = None
    horizon: int = 0

    @abstractmethod
    def reset(self, community: Community) -> None:
        """Prepare for a new run on ``community`` (``Controller.reset``)."""

    @abstractmethod
    def act(self, obs: Observation) -> Actions:
        """Decide for every agent (``Controller.act``)."""


_REGISTRY: dict[str, Callable[[], Controller]] = {}

_C = TypeVar("_C", bound=type[ControllerBase])


def register(name: str) -> Callable[[_C], _C]:
    """Class decorator: make a controller (a ``ControllerBase`` subclass, for the defaults of the optional members)
    available by name (CLI, scenarios, compare); sets the class's ``name``."""

    def deco(cls: _C) -> _C:
        if not issubclass(cls, ControllerBase):
            raise TypeError(f"register({name!r}): {cls.__name__} must subclass ControllerBase")
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
