"""The microgrid environment's per-step mapping as arrays over microgrids (and copies): set-points through the
heron agent tree, P2P orders and observations.

Shared by ``MultiAgentMicrogrids`` (arrays (N, …)) and ``BatchedMultiAgentMicrogrids`` (arrays (K, N, …)): the
same numbers either way, elementwise, with no Python loop over microgrids or copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heron.agents import SystemAgent
from heron.protocols.vertical import SetpointProtocol
from powergrid.actions import Observation
from powergrid.errors import ScenarioError
from powergrid.scenarios.build import Community

#: Observation entries of every microgrid (scaled to about [-1, 1]), followed by one entry per device kind that any
#: microgrid has (state of charge, PV per kW of peak, generator output per kW of rating; 0 for a microgrid without
#: that device, which tells a shared policy what it controls).
OBSERVATION = ("load", "hour_sin", "hour_cos", "retail", "last_price", "v_min", "v_max", "tap", "capacitor")
DEVICE_ENTRIES = ("soc", "pv", "generator")
FEATURES = OBSERVATION + DEVICE_ENTRIES


@dataclass(frozen=True)
class SetpointMap:
    """The field agents of a ``SystemAgent`` flattened in tree order (F = the devices of all microgrids that an
    action slot sets), for one ``SetpointProtocol.split`` of every microgrid's action at once.

    ``owner`` (F,) the microgrid (coordinator index) of each field agent, ``slot`` (F,) the action slot it reads,
    ``kind`` (F,) its device kind (``generator``, ``storage``, ``regulator``), ``low``/``high`` (F,) its set-point
    range (kW; regulator steps).
    """

    slots: tuple[str, ...]
    owner: np.ndarray
    slot: np.ndarray
    kind: np.ndarray
    low: np.ndarray
    high: np.ndarray
    protocol: SetpointProtocol

    @classmethod
    def from_tree(cls, system: SystemAgent, slots: tuple[str, ...]) -> SetpointMap:
        """The map of ``system``'s coordinators; ScenarioError unless they all use one ``SetpointProtocol``."""
        protocols = {id(c.vertical_protocol) for c in system.coordinators}
        protocol = system.coordinators[0].vertical_protocol
        if len(protocols) != 1 or not isinstance(protocol, SetpointProtocol):
            raise ScenarioError("SetpointMap: every coordinator must use the same SetpointProtocol")
        owner, kind, low, high = [], [], [], []
        for i, coordinator in enumerate(system.coordinators):
            lo, hi = coordinator.bounds
            for child, a, b in zip(coordinator.children, lo.tolist(), hi.tolist(), strict=True):
                if child.id.rsplit(".", 1)[1] not in slots:  # a device no action slot sets (left to another rule)
                    continue
                owner.append(i)
                kind.append(child.id.rsplit(".", 1)[1])
                low.append(a)
                high.append(b)
        kinds = np.asarray(kind, dtype=str)
        return cls(
            slots,
            np.asarray(owner, dtype=np.int64),
            np.asarray([slots.index(k) for k in kind], dtype=np.int64),
            kinds,
            np.asarray(low, dtype=float),
            np.asarray(high, dtype=float),
            protocol,
        )

    def setpoints(
        self, actions: np.ndarray, tap: np.ndarray, capacitor: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Engine set-points from actions (..., N, S) in [-1, 1] (clipped by the protocol): battery kW (+ charge),
        generator kW, regulator step and capacitor state ([0, 1], in from 0.5) (``tap``/``capacitor`` (..., N)
        where a microgrid has no such device or slot), each (..., N), and which microgrids sent a non-finite action
        (..., N) bool — all their devices get NaN (the engine's FeasibilityFilter replaces it by the safe action
        and counts it)."""
        nonfinite = ~np.isfinite(actions).all(axis=-1)
        own = np.where(nonfinite[..., None], 0.0, actions)[..., self.owner, self.slot]  # (..., F)
        points = self.protocol.split(own, self.low, self.high)
        points = np.where(nonfinite[..., self.owner], np.nan, points)
        battery, generator, taps, caps = np.zeros(tap.shape), np.zeros(tap.shape), tap.copy(), capacitor.copy()
        for kind, out, sign in (
            ("storage", battery, -1.0),
            ("generator", generator, 1.0),
            ("regulator", taps, 1.0),
            ("capacitor", caps, 1.0),
        ):
            where = self.kind == kind
            out[..., self.owner[where]] = sign * points[..., where]
        return battery, generator, taps, caps, nonfinite


def p2p_orders(obs: Observation, community: Community, battery: np.ndarray, generator: np.ndarray):
    """Orders (kW, + buy) and limit prices, arrays (..., N): each microgrid's expected deficit bid at the cap, its
    surplus asked at the generator's marginal cost (the floor without one)."""
    fleet = community.agents.generators
    running = np.nan_to_num(fleet.feasible(np.nan_to_num(generator), obs.generator_last_kw))
    need = np.nan_to_num(obs.load_kw - obs.pv_kw - running + battery)
    ask = np.where(
        running > 0, np.clip(fleet.marginal_cost_at(running), obs.price_floor, obs.price_cap), obs.price_floor
    )
    return need, np.where(need > 0, obs.price_cap, ask)


@dataclass(frozen=True)
class MicrogridFeatures:
    """Builds the observation (..., N, len(FEATURES)) float32 from the engine's observation."""

    community: Community
    hour: np.ndarray  # (T,) fraction of the day at the middle of each step
    tap_scale: np.ndarray  # (N,) the regulator's largest step in magnitude (≥ 1); inf without taps
    rated: np.ndarray  # (N,) peak load kW in the data

    @classmethod
    def of(cls, community: Community, tap_range: tuple[np.ndarray, np.ndarray] | None) -> MicrogridFeatures:
        index = community.grid.index
        hour = (index.hour.to_numpy() + index.minute.to_numpy() / 60 + 0.5 * community.grid.dt_hours) / 24
        n = community.n_agents
        scale = (
            np.full(n, np.inf)
            if tap_range is None
            else np.maximum(np.maximum(np.abs(tap_range[0]), np.abs(tap_range[1])), 1.0)
        )
        return cls(community, hour, scale, community.profiles.load_kw.max(axis=0))

    def build(self, obs: Observation) -> np.ndarray:
        """(N, F) for an observation of one community, (K, N, F) for K copies; entries clipped to [-10, 10]."""
        c = self.community
        a = c.agents
        shape = obs.load_kw.shape
        top = float(c.tariff.retail.max())
        hour = self.hour[np.minimum(np.asarray(obs.t), c.n_steps - 1)]
        hour = np.broadcast_to(np.asarray(hour, dtype=float)[..., None], shape)
        last = np.asarray(obs.last_clearing_price, dtype=float)
        values = (
            obs.load_kw / self.rated,
            np.sin(2 * np.pi * hour),
            np.cos(2 * np.pi * hour),
            np.broadcast_to(np.asarray(obs.retail, dtype=float), shape) / top,
            np.broadcast_to(np.where(np.isfinite(last), last, 0.0), shape) / top,
            _deviation(obs.section_v_min_pu),
            _deviation(obs.section_v_max_pu),
            np.where(np.isfinite(self.tap_scale), obs.tap / self.tap_scale, 0.0),
            np.nan_to_num(obs.capacitor),
            _share(obs.soc_kwh, a.battery.capacity_kwh),
            _share(obs.pv_kw, a.pv_peak_kw),
            _share(obs.generator_last_kw, a.generators.capacity_kw),
        )
        return np.clip(np.stack(values, axis=-1).astype(np.float32), -10, 10)


def _share(value: np.ndarray, rating: np.ndarray) -> np.ndarray:
    """``value / rating``, 0 without the device (rating 0)."""
    return np.divide(value, rating, out=np.zeros(np.shape(value)), where=np.broadcast_to(rating > 0, np.shape(value)))


def _deviation(v: np.ndarray) -> np.ndarray:
    """Voltage (pu) as tens of percent from nominal (0 before the first power flow)."""
    v = np.asarray(v, dtype=float)
    return np.where(np.isfinite(v), 10.0 * (v - 1.0), 0.0)
