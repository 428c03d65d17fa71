"""``powergrid.scenarios.build`` translates the schema's sections into the lower layers' plain values: field by
field, with the schema's defaults, and the Community carries those values (no pydantic model below Scenarios).
A field renamed in the schema breaks these tests and ``build.py``, nothing else."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import time
from typing import Any, get_args

import numpy as np
import pytest
from pydantic import BaseModel

from powergrid.data.carbon import CarbonKind, CarbonShape, build_carbon
from powergrid.data.tariffs import PeakRates, TariffRates, build_tariff
from powergrid.market.rules import Balancing, Gate, GridLimits, MarketRules, Mechanism, NetworkConstraints
from powergrid.network.settings import LossPayer, NetworkSettings, Phase, PowerFlowMethod
from powergrid.scenarios.build import (
    Community,
    build_community,
    carbon_shape,
    grid_limits,
    market_rules,
    network_settings,
    tariff_rates,
    time_grid,
)
from powergrid.scenarios.loader import load_scenario
from powergrid.scenarios.model import CarbonConfig, GridConfig, MarketConfig, TariffConfig
from powergrid.scenarios.schema.network import NetworkConfig
from scenario_factory import tiny_dict

MARKET = MarketConfig(
    mechanism="mcafee",
    k=0.3,
    fee_per_kwh=0.01,
    network_charge_per_kwh=0.02,
    price_floor=0.06,
    price_cap=0.2,
    gate="forecast",
    balancing="grid",
    network_constraints="enforce",
    imbalance_price=0.4,
)
NETWORK = NetworkConfig(
    feeder="cigre-lv",
    agent_buses={"h000": 3, "h001": "R11"},
    agent_phases={"h000": "b"},
    voltage_band=(0.9, 1.1),
    power_factor=0.9,
    violation_penalty=2.5,
    power_flow="iterative_current",
    losses="allocated",
)


def _same_fields(value: Any, config: BaseModel) -> None:
    """Every field of the dataclass ``value`` equals the schema's field of the same name."""
    for f in fields(value):
        assert getattr(value, f.name) == getattr(config, f.name), f.name


@pytest.mark.parametrize(
    ("translate", "config"),
    [
        (market_rules, MARKET),
        (market_rules, MarketConfig()),
        (grid_limits, GridConfig(import_capacity_kw=30.0, export_capacity_kw=20.0)),
        (grid_limits, GridConfig()),
        (network_settings, NETWORK),
        (network_settings, NetworkConfig(feeder="ieee13-pair", agent_sections=True)),
        (carbon_shape, CarbonConfig(kind="constant", mean_kg_per_kwh=0.2, solar_dip=0.1, evening_peak=0.05)),
        (carbon_shape, CarbonConfig()),
    ],
)
def test_each_section_is_copied_field_by_field(translate, config):
    value = translate(config)
    assert is_dataclass(value) and not isinstance(value, BaseModel)
    _same_fields(value, config)


def test_the_values_defaults_are_the_schemas():
    assert market_rules(MarketConfig()) == MarketRules()
    assert grid_limits(GridConfig()) == GridLimits()
    assert carbon_shape(CarbonConfig()) == CarbonShape()
    assert tariff_rates(TariffConfig()) == TariffRates()
    assert network_settings(NetworkConfig(feeder="cigre-lv")) == NetworkSettings(feeder="cigre-lv")


def test_the_market_leaves_the_price_band_to_the_community():
    """Floor and cap become the Community's per-step band; the rules keep everything else of the section."""
    skipped = set(MarketConfig.model_fields) - {f.name for f in fields(MarketRules)}
    assert skipped == {"price_floor", "price_cap"}
    c = build_community(load_scenario(tiny_dict(market={"price_floor": 0.07, "price_cap": 0.12})))
    assert c.price_floor.min() >= 0.07 and c.price_cap.max() <= 0.12


def test_network_settings_and_limits_cover_their_sections():
    assert {f.name for f in fields(NetworkSettings)} == set(NetworkConfig.model_fields)
    assert {f.name for f in fields(GridLimits)} == set(GridConfig.model_fields)
    assert {f.name for f in fields(CarbonShape)} == set(CarbonConfig.model_fields)
    assert {f.name for f in fields(TariffRates)} == set(TariffConfig.model_fields)


def test_the_layers_words_are_the_schemas():
    """The lower layers spell their choices themselves; they must accept exactly the schema's words."""
    pairs = [
        (MarketConfig, "mechanism", Mechanism),
        (MarketConfig, "gate", Gate),
        (MarketConfig, "balancing", Balancing),
        (MarketConfig, "network_constraints", NetworkConstraints),
        (NetworkConfig, "power_flow", PowerFlowMethod),
        (NetworkConfig, "losses", LossPayer),
        (CarbonConfig, "kind", CarbonKind),
    ]
    for model, name, words in pairs:
        assert set(get_args(model.model_fields[name].annotation)) == set(get_args(words)), name
    phases = get_args(get_args(NetworkConfig.model_fields["agent_phases"].annotation)[0])[1]
    assert set(get_args(phases)) == set(get_args(Phase))


def test_tariff_windows_translate_to_the_same_prices():
    config = TariffConfig.model_validate(
        {
            "retail": 0.2,
            "feed_in": 0.05,
            "peak_windows": [
                {"start": "17:00", "end": "20:00", "retail": 0.4, "weekdays_only": True},
                {"start": "23:00", "end": "01:00", "retail": 0.1, "feed_in": 0.02},
            ],
        }
    )
    rates = tariff_rates(config)
    assert rates.peak_windows == (
        PeakRates(time(17), time(20), 0.4, None, True),
        PeakRates(time(23), time(1), 0.1, 0.02, False),
    )
    scenario = load_scenario(tiny_dict())
    grid = time_grid(scenario)
    built = build_tariff(rates, grid)
    assert built.retail.max() == 0.4 and built.feed_in.min() == 0.02
    np.testing.assert_array_equal(build_carbon(carbon_shape(CarbonConfig()), grid), build_carbon(CarbonShape(), grid))


def test_tariff_validation_stays_in_the_schema():
    window = {"start": "01:00", "end": "02:00", "retail": 0.2, "feed_in": 0.3}
    with pytest.raises(ValueError, match=r"feed-in 0\.3 exceeds retail 0\.2"):
        TariffConfig.model_validate({"retail": 0.25, "feed_in": 0.1, "peak_windows": [window]})
    with pytest.raises(ValueError, match="must not exceed retail"):
        TariffConfig.model_validate({"retail": 0.1, "feed_in": 0.2})


def _pydantic_below_scenario(community: Community) -> list[str]:
    """Names of the Community's fields (but ``scenario``), and of its network setup's, that hold a pydantic model."""
    found = [
        f.name for f in fields(community) if f.name != "scenario" and isinstance(getattr(community, f.name), BaseModel)
    ]
    if community.network is not None:
        found += [
            f"network.{f.name}"
            for f in fields(community.network)
            if isinstance(getattr(community.network, f.name), BaseModel)
        ]
    return found


def test_the_community_carries_the_layers_values():
    raw = tiny_dict(network={"feeder": "cigre-lv"}, market={"gate": "forecast", "fee_per_kwh": 0.01})
    c = build_community(load_scenario(raw))
    assert isinstance(c.market, MarketRules) and c.market.gate == "forecast" and c.market.fee_per_kwh == 0.01
    assert isinstance(c.limits, GridLimits)
    assert c.network is not None and isinstance(c.network.config, NetworkSettings)
    assert c.network.config.feeder == "cigre-lv"
    assert _pydantic_below_scenario(c) == []
