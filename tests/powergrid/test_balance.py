"""The conservation checks take their terms from the result fields' table and name them when a balance breaks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from powergrid.actions import Actions
from powergrid.balance import check_step_balances
from powergrid.engine import CommunityEngine
from powergrid.engine.result import RESULT_FIELDS
from powergrid.errors import ConservationError


@pytest.fixture
def checked(tiny_community):
    """(step result, a function checking a changed copy of it) of one idle step of the tiny community."""
    engine = CommunityEngine(tiny_community)
    soc_before = engine.soc.copy()
    r = engine.step(Actions.idle(tiny_community.n_agents))

    def check(**changes: np.ndarray) -> None:
        changed = dataclasses.replace(r, **changes)
        agents = tiny_community.agents
        check_step_balances(changed, r.pv + r.curtailed, agents.battery, soc_before, agents.ids)

    return r, check


def test_an_unchanged_step_passes(checked):
    _, check = checked
    check()


def test_a_broken_energy_balance_names_every_term_of_the_table(checked, tiny_community):
    r, check = checked
    imported = r.imported.copy()
    imported[2] += 0.5
    with pytest.raises(ConservationError) as err:
        check(imported=imported)
    message = str(err.value)
    assert f"energy balance of agent {tiny_community.agents.ids[2]!r} at step 0" in message
    into, _, out = message.partition(" != ")
    for f in RESULT_FIELDS:
        if f.sign > 0:
            assert f"{f.name} {f.of(r)[2] + (0.5 if f.name == 'imported' else 0.0):.12g}" in into, f.name
        elif f.sign < 0:
            assert f"{f.name} {f.of(r)[2]:.12g}" in out, f.name


def test_a_negative_flow_is_named(checked, tiny_community):
    r, check = checked
    bought, imported = r.bought.copy(), r.imported.copy()
    bought[1] -= 0.25  # the energy balance still closes
    imported[1] += 0.25
    with pytest.raises(ConservationError, match=rf"negative bought \(.*\) for agent {tiny_community.agents.ids[1]!r}"):
        check(bought=bought, imported=imported)
