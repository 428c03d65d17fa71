"""A community battery owned in shares (``shared_battery``): each household's account, as a battery of its own."""

from __future__ import annotations

from powergrid.errors import ScenarioError
from powergrid.scenarios.model import BatteryConfig, Scenario, SharedBatteryConfig


def battery_accounts(
    scenario: Scenario, shared: SharedBatteryConfig, ids: list[str], kinds: list[str], own: list[BatteryConfig]
) -> list[BatteryConfig]:
    """Each household's account in the ``shared`` battery (the scenario's): its share of capacity and power, the
    battery's efficiencies and SoC band. The accounts are separate batteries for the engine, so each household's
    energy is its own."""
    prosumers = [i for i, k in zip(ids, kinds, strict=True) if k == "prosumer"]
    if prosumers:
        raise ScenarioError(
            f"shared_battery: households own shares of the community battery, not batteries of their own; use kind "
            f"'pv-only' instead of 'prosumer' (agents {prosumers[:5]})"
        )
    if scenario.network is not None:
        raise ScenarioError("shared_battery with a network: not supported yet (the battery's bus is not modelled)")
    households = [i for i, k in zip(ids, kinds, strict=True) if k != "storage"]
    shares = shared.shares or {i: 1.0 / len(households) for i in households}
    unknown = sorted(set(shares) - set(households))
    if unknown:
        raise ScenarioError(f"shared_battery.shares: not households of this scenario: {unknown[:5]}")
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-9:
        raise ScenarioError(f"shared_battery.shares must sum to 1, got {total:.6g}")
    b = shared.battery
    no_account = BatteryConfig(capacity_kwh=0.0, power_kw=0.0)
    accounts = []
    for i, kind, battery in zip(ids, kinds, own, strict=True):
        if kind == "storage":
            accounts.append(battery)  # a central battery stays the operator's
        elif i in shares:
            accounts.append(
                b.model_copy(update={"capacity_kwh": b.capacity_kwh * shares[i], "power_kw": b.power_kw * shares[i]})
            )
        else:
            accounts.append(no_account)
    return accounts
