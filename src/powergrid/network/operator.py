"""The network operator's check of each step's battery schedules (``market.network_constraints: enforce``).

P2P trades are financial: their energy flows through the feeder like any other, so the operator does not curtail
trades but the physical schedules that cause a problem — the batteries. Rule (documented in the README):

1. ``u`` = each agent's load − PV (kW, realised), the uncontrolled situation; ``b`` = the battery schedules.
   ``V(x)`` = LV buses outside the voltage band + branches (lines, transformers) above 100 % for consumption ``x``.
2. If ``V(u + b) ≤ V(u)`` the schedule stands (batteries may not make the feeder worse than load and PV alone).
3. Otherwise the charging schedules are scaled by a common factor α and the discharging ones by β (pro rata within
   each direction), α, β ∈ {0, 0.1, …, 1}; all candidates are solved in one power-grid-model batch and the one
   that keeps the most battery energy (α·Σb⁺ + β·Σb⁻) with ``V ≤ V(u)`` is applied (α = β = 0 always qualifies).

What is curtailed is counted per agent (``StepResult.network_curtailed``) and settles with the grid like any other
deviation of the agent's meter (at retail/feed-in); it is part of the agent's position, not an imbalance.
"""

from __future__ import annotations

import numpy as np

from powergrid.network.powerflow import FeederSolver, FlowResult

#: The scaling factors tried for each direction.
FACTORS = np.linspace(0.0, 1.0, 11)


def _violations(flow: FlowResult) -> np.ndarray:
    return flow.violations + flow.overloads


class NetworkOperator:
    """Limits battery schedules so the feeder is no worse than with load and PV alone (module docstring)."""

    def __init__(self, solver: FeederSolver) -> None:
        self.solver = solver
        alpha = np.concatenate([FACTORS, np.ones_like(FACTORS), FACTORS])
        beta = np.concatenate([np.ones_like(FACTORS), FACTORS, FACTORS])
        self._alpha, self._beta = alpha, beta

    def limit(self, uncontrolled_kw: np.ndarray, battery_kw: np.ndarray, q_kvar: np.ndarray) -> np.ndarray:
        """The battery power (kW, (N,), + charge) the operator allows this step."""
        if not np.any(battery_kw):
            return battery_kw
        both = np.stack([uncontrolled_kw, uncontrolled_kw + battery_kw])
        first = self.solver.solve_batch(both, np.stack([q_kvar, q_kvar]))
        allowed_count = _violations(first)[0]
        if _violations(first)[1] <= allowed_count:
            return battery_kw
        charge, discharge = np.maximum(battery_kw, 0.0), np.maximum(-battery_kw, 0.0)
        candidates = uncontrolled_kw + self._alpha[:, None] * charge - self._beta[:, None] * discharge
        flows = self.solver.solve_batch(candidates, np.broadcast_to(q_kvar, candidates.shape))
        kept = self._alpha * charge.sum() + self._beta * discharge.sum()
        kept = np.where(_violations(flows) <= allowed_count, kept, -1.0)
        best = int(np.argmax(kept))
        if kept[best] < 0:  # not even the scaled-down schedules qualify: batteries idle (= the uncontrolled case)
            return np.zeros_like(battery_kw)
        return self._alpha[best] * charge - self._beta[best] * discharge
