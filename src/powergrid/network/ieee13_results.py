"""Reading IEEE 13 results by bus and phase, for validation and reports (not a per-step path)."""

from __future__ import annotations

import numpy as np
from power_grid_model import CalculationMethod, PowerGridModel
from power_grid_model.errors import PowerGridError

from powergrid.network.ieee13 import MODEL_FREQUENCY_HZ, _layout
from powergrid.network.model import Feeder
from powergrid.network.powerflow import NetworkError


def bus_phases() -> dict[str, tuple[int, ...]]:
    """The phases (0 = a, 1 = b, 2 = c) present at each bus of the file, by display name."""
    lay = _layout()
    return {lay.names[bus]: p for bus, p in lay.phases.items()}


def bus_phase_voltages(feeder: Feeder, asym_node_output: np.ndarray) -> dict[str, dict[int, float]]:
    """Bus name → {phase: |U| (pu of the bus's phase-to-neutral base)} for every bus-phase that exists in the file.

    ``asym_node_output``: power-grid-model's asymmetric ``node`` output of one scenario. Helper nodes and the
    absent phases of laterals are left out. For validation and reports, not for a per-step path.
    """
    u_pu = np.asarray(asym_node_output["u_pu"])
    row = dict(zip(asym_node_output["id"].tolist(), range(len(u_pu)), strict=True))
    ids = dict(zip(feeder.node_names, feeder.node_ids.tolist(), strict=True))
    return {name: {p: float(u_pu[row[ids[name]], p]) for p in phases} for name, phases in bus_phases().items()}


def solve_asym(feeder: Feeder, error_tolerance: float = 1e-10, max_iterations: int = 30) -> dict[str, np.ndarray]:
    """One asymmetric Newton–Raphson power flow (model at ``MODEL_FREQUENCY_HZ``); NetworkError if it fails."""
    model = PowerGridModel(feeder.input_data, system_frequency=MODEL_FREQUENCY_HZ)
    try:
        return model.calculate_power_flow(
            symmetric=False,
            error_tolerance=error_tolerance,
            max_iterations=max_iterations,
            calculation_method=CalculationMethod.newton_raphson,
        )
    except PowerGridError as e:
        raise NetworkError(f"feeder {feeder.name!r}: asymmetric power flow did not solve: {e}") from e
