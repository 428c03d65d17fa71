"""Shared fixtures: small scenarios that build in milliseconds."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from powergrid.scenarios import Scenario, load_scenario
from powergrid.scenarios.build import Community, build_community
from scenario_factory import tiny_dict

# CI runs the same hypothesis examples every time (derandomized); local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def tiny_scenario() -> Scenario:
    return load_scenario(tiny_dict())


@pytest.fixture
def tiny_community(tiny_scenario) -> Community:
    return build_community(tiny_scenario)


@pytest.fixture(scope="module")
def tiny_community_factory() -> Community:
    """A module-scoped tiny community (for hypothesis tests, which cannot use function-scoped fixtures)."""
    return build_community(load_scenario(tiny_dict()))
