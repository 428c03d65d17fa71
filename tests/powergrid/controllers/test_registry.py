"""The controller registry: every registered controller has the members of the ``Controller`` protocol, with the
defaults of ``ControllerBase`` where its class does not define them."""

from __future__ import annotations

import pytest

from powergrid.controllers import Controller, available_controllers, make_controller, register
from powergrid.controllers.base import ControllerBase
from powergrid.controllers.optimizers import MPCController
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from scenario_factory import tiny_dict


def test_every_registered_controller_has_the_protocols_members():
    for name in available_controllers():
        ctrl = make_controller(name)
        assert isinstance(ctrl, Controller), name
        assert ctrl.name == name
        assert isinstance(ctrl, ControllerBase), name


def test_register_takes_only_controller_base_subclasses():
    class Bare:  # the protocol's methods, but not the defaults of its optional members
        def reset(self, community) -> None: ...

        def act(self, obs): ...

    with pytest.raises(TypeError, match="must subclass ControllerBase"):
        register("bare")(Bare)  # type: ignore[type-var]
    assert "bare" not in available_controllers()


def test_a_controller_without_forecaster_gets_the_defaults():
    ctrl = make_controller("grid-only")
    assert ctrl.forecaster is ControllerBase.forecaster is None
    assert ctrl.horizon == ControllerBase.horizon == 0
    assert ctrl.fallbacks == 0
    assert list(ctrl.fallback_events) == []
    assert ctrl.observes_network is False


def test_mpc_declares_its_forecaster_and_horizon_after_reset():
    raw = tiny_dict(mpc={"horizon": 6, "forecaster": "persistence"})
    raw["time"]["n_steps"] = 48
    community = build_community(load_scenario(raw))
    ctrl = make_controller("mpc")
    assert isinstance(ctrl, MPCController)
    ctrl.reset(community)
    assert ctrl.forecaster is not None
    assert ctrl.forecaster.name == "persistence"
    assert ctrl.horizon == 6
