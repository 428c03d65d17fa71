"""Dispatchable generators (diesel/gas gensets of a microgrid) for N agents at once (struct of arrays).

Agents without a generator have zero capacity. Output ``P`` (kW, ≥ 0) is either 0 (off) or within the step's
running range ``[low, high]``: at least the minimum stable output, at most the rating, and within ``ramp`` of the
previous step's output while running (a unit may always shut down; a unit that was off may start at any output up
to ``max(min_kw, ramp)``).

Fuel cost of a step of ``dt`` hours (the standard quadratic input–output curve, Wood, Wollenberg & Sheblé, *Power
Generation, Operation and Control*, 3rd ed., §3.1):  ``(a + b·P + c·P²)·dt`` while running, plus the start-up cost
when the unit was off in the previous step; ``a`` = no-load cost (currency/h), ``b`` = marginal cost at zero output
(currency/kWh), ``c`` = quadratic term (currency/(kW²·h)). The marginal cost at ``P`` is ``b + 2·c·P``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A set-point at or below this fraction of the minimum stable output means "off" (see ``GeneratorFleet.feasible``).
OFF_FRACTION = 0.5


@dataclass(frozen=True)
class GeneratorFleet:
    """Per-agent generator parameters, arrays of shape (N,)."""

    capacity_kw: np.ndarray
    min_kw: np.ndarray  # minimum stable output while running
    ramp_kw: np.ndarray  # largest change of output between consecutive running steps; inf = unlimited
    no_load_cost: np.ndarray  # a, currency/h while running
    marginal_cost: np.ndarray  # b, currency/kWh
    quadratic_cost: np.ndarray  # c, currency/(kW²·h)
    startup_cost: np.ndarray  # currency per start
    co2_kg_per_kwh: np.ndarray  # kg CO₂ per kWh generated (0 = not counted)

    @classmethod
    def none(cls, n_agents: int) -> GeneratorFleet:
        """N agents without generators."""
        zero = np.zeros(n_agents)
        return cls(zero, zero, np.full(n_agents, np.inf), zero, zero, zero, zero, zero)

    @property
    def any(self) -> bool:
        return bool((self.capacity_kw > 0).any())

    def running_range(self, last_kw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) kW: the output range if the unit runs this step, given last step's output (N,) or (K, N)."""
        on = last_kw > 0
        low = np.where(on, np.maximum(self.min_kw, last_kw - self.ramp_kw), self.min_kw)
        start_high = np.maximum(self.min_kw, np.minimum(self.ramp_kw, self.capacity_kw))
        high = np.minimum(self.capacity_kw, np.where(on, last_kw + self.ramp_kw, start_high))
        return np.minimum(low, high), high

    def feasible(self, setpoint_kw: np.ndarray, last_kw: np.ndarray) -> np.ndarray:
        """The output (kW) nearest to a set-point: 0 (off) when the set-point is at most ``OFF_FRACTION`` × the low
        end of the running range (or the agent has no generator), else clipped into the running range."""
        low, high = self.running_range(last_kw)
        off = (setpoint_kw <= OFF_FRACTION * low) | (setpoint_kw <= 0) | (self.capacity_kw <= 0)
        return np.where(off, 0.0, np.clip(setpoint_kw, low, high))

    def fuel_cost(self, output_kw: np.ndarray, last_kw: np.ndarray, dt_hours: float) -> np.ndarray:
        """Fuel (and start-up) cost of running at ``output_kw`` for one step (currency, same shape)."""
        on = output_kw > 0
        running = (self.no_load_cost + self.marginal_cost * output_kw + self.quadratic_cost * output_kw**2) * dt_hours
        return np.where(on, running + np.where(last_kw > 0, 0.0, self.startup_cost), 0.0)

    def marginal_cost_at(self, output_kw: np.ndarray) -> np.ndarray:
        """dC/dP (currency/kWh) at ``output_kw``."""
        return self.marginal_cost + 2.0 * self.quadratic_cost * output_kw
