"""The table of result fields describes StepResult, NetworkStep and Interventions exactly, and what it says about
each field (scope, unit, balance sign) holds for a real engine step."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from powergrid.actions import Actions
from powergrid.engine import CommunityEngine, StepResult
from powergrid.engine.result import (
    INTERVENTION_FIELDS,
    NETWORK_FIELDS,
    RESULT_FIELDS,
    ResultField,
    Role,
    Scope,
    Store,
)
from powergrid.network.setup import NetworkStep
from powergrid.safety import Interventions
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from scenario_factory import tiny_dict

#: Units of energies, money, prices, emissions, voltages, indices, booleans, counts, loadings, records and trades.
UNITS = {"kWh", "currency", "currency/kWh", "kg", "kg/kWh", "pu", "step", "flag", "count", "fraction", "record"}
UNITS.add("kWh, currency/kWh")


def names(table: tuple[ResultField, ...]) -> list[str]:
    return [f.name for f in table]


@pytest.mark.parametrize(
    ("table", "record"),
    [(RESULT_FIELDS, StepResult), (NETWORK_FIELDS, NetworkStep), (INTERVENTION_FIELDS, Interventions)],
    ids=["StepResult", "NetworkStep", "Interventions"],
)
def test_every_field_is_described_once_and_nothing_else(table, record):
    described = names(table)
    assert len(described) == len(set(described)), "a field described twice"
    declared = [f.name for f in dataclasses.fields(record)]
    assert sorted(described) == sorted(declared)


def test_intervention_bits_follow_the_record_order():
    """Bit i of the written ``interventions`` column is INTERVENTION_FIELDS[i]: the order is part of the format."""
    assert names(INTERVENTION_FIELDS) == [f.name for f in dataclasses.fields(Interventions)]


def test_units_descriptions_and_roles_are_consistent():
    for f in (*RESULT_FIELDS, *NETWORK_FIELDS, *INTERVENTION_FIELDS):
        assert f.unit in UNITS, f.name
        assert f.description.endswith("."), f.name
        assert not (Role.INFLOW in f.roles and Role.OUTFLOW in f.roles), f.name
        if f.sign or Role.NONNEGATIVE in f.roles:
            assert (f.unit, f.scope) == ("kWh", Scope.AGENT), f.name
        if Role.SUMMED in f.roles or Role.HEADLINE in f.roles or Role.DASHBOARD in f.roles:
            assert (f.scope, f.stored) == (Scope.AGENT, Store.TIMESERIES), f.name
        assert not (Role.HEADLINE in f.roles and Role.DASHBOARD in f.roles), f.name
        if Role.HEADLINE in f.roles:
            assert f.unit == "currency" and Role.SUMMED in f.roles, f.name


def test_the_energy_balance_terms_are_the_physical_flows():
    into = {f.name for f in RESULT_FIELDS if f.sign > 0}
    out = {f.name for f in RESULT_FIELDS if f.sign < 0}
    assert into == {"pv", "generation", "discharge", "bought", "imported", "unserved"}
    assert out == {"load", "charge", "sold", "exported"}


@pytest.fixture(scope="module")
def feeder_step() -> tuple[StepResult, int]:
    community = build_community(load_scenario(tiny_dict(name="tiny-feeder", network={"feeder": "cigre-lv"})))
    engine = CommunityEngine(community)
    return engine.step(Actions.idle(community.n_agents)), community.n_agents


def test_values_have_the_declared_scope(feeder_step):
    r, n = feeder_step
    assert r.network is not None
    for f in (*RESULT_FIELDS, *INTERVENTION_FIELDS):
        value = f.of(r.interventions if f in INTERVENTION_FIELDS else r)
        if f.scope is Scope.AGENT and f.name != "interventions":
            assert np.shape(value) == (n,), f.name
        elif f.scope is Scope.STEP and f.name != "network":
            assert np.ndim(value) == 0, f.name
    for f in NETWORK_FIELDS:
        value = f.of(r.network)
        if f.scope is Scope.AGENT:
            assert np.shape(value) == (n,), f.name
        elif f.scope is Scope.SECTION:
            assert np.ndim(value) == 1, f.name
        else:
            assert np.ndim(value) == 0, f.name


def test_the_signed_terms_close_the_energy_balance(feeder_step):
    r, _ = feeder_step
    gap = sum(f.sign * f.of(r) for f in RESULT_FIELDS if f.sign)
    np.testing.assert_allclose(gap, 0.0, atol=1e-9)
    assert all((f.of(r) >= 0).all() for f in RESULT_FIELDS if Role.NONNEGATIVE in f.roles)
