"""Time grid and per-agent profile arrays shared by every data source."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from powergrid.errors import DataError

ALLOWED_STEP_MINUTES = (15, 30, 60)


@dataclass(frozen=True)
class TimeGrid:
    """Simulation time axis in local standard time (a fixed UTC offset, no daylight-saving jumps).

    ``start`` is the beginning of the first step; step ``t`` covers ``[start + t*dt, start + (t+1)*dt)``.
    """

    start: pd.Timestamp
    step_minutes: int
    n_steps: int
    utc_offset_hours: float = 0.0

    def __post_init__(self) -> None:
        if self.step_minutes not in ALLOWED_STEP_MINUTES:
            raise DataError(f"step_minutes must be one of {ALLOWED_STEP_MINUTES}, got {self.step_minutes}")
        if self.n_steps < 1:
            raise DataError(f"n_steps must be >= 1, got {self.n_steps}")
        if self.start.tzinfo is not None:
            raise DataError("TimeGrid.start must be a naive local-standard-time timestamp")

    @property
    def dt_hours(self) -> float:
        """Step length in hours."""
        return self.step_minutes / 60.0

    @property
    def index(self) -> pd.DatetimeIndex:
        """Start of every step (naive, local standard time)."""
        return pd.date_range(self.start, periods=self.n_steps, freq=f"{self.step_minutes}min")

    @property
    def end(self) -> pd.Timestamp:
        """End of the last step (exclusive)."""
        return self.start + pd.Timedelta(minutes=self.step_minutes * self.n_steps)


@dataclass(frozen=True)
class Profiles:
    """Per-agent input series on a TimeGrid: arrays of shape (n_steps, n_agents), mean kW over each step.

    ``pv_kw`` is the PV power available before any curtailment (AC side).
    """

    load_kw: np.ndarray
    pv_kw: np.ndarray
    agent_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in ("load_kw", "pv_kw"):
            arr = getattr(self, name)
            if arr.ndim != 2 or arr.shape[1] != len(self.agent_ids):
                raise DataError(f"Profiles.{name} must have shape (n_steps, {len(self.agent_ids)}), got {arr.shape}")
            bad = ~np.isfinite(arr)
            if bad.any():
                t, i = np.argwhere(bad)[0]
                raise DataError(f"Profiles.{name} is not finite at step {t}, agent {self.agent_ids[i]!r}")
            neg = arr < 0
            if neg.any():
                t, i = np.argwhere(neg)[0]
                raise DataError(
                    f"Profiles.{name} is negative ({arr[t, i]:.6g} kW) at step {t}, agent {self.agent_ids[i]!r}"
                )
        if self.load_kw.shape != self.pv_kw.shape:
            raise DataError(f"load_kw {self.load_kw.shape} and pv_kw {self.pv_kw.shape} differ in shape")

    @property
    def n_steps(self) -> int:
        return self.load_kw.shape[0]

    @property
    def n_agents(self) -> int:
        return self.load_kw.shape[1]


def select_series(available: list, requested: list | None, n_agents: int | None, source: str, what: str) -> list:
    """Choose which series of a data source become agents, in order.

    ``requested`` (explicit ids, order kept) wins; else the first ``n_agents`` of ``available`` (already sorted);
    else all. Duplicates, unknown ids and a count that does not match are DataErrors naming ``source``.
    """
    if requested is not None:
        chosen = list(requested)
        if n_agents is not None and n_agents != len(chosen):
            raise DataError(f"{source}: n_agents={n_agents} but {len(chosen)} {what}s were given")
        if len(set(chosen)) != len(chosen):
            raise DataError(f"{source}: the requested {what}s contain duplicates: {chosen}")
        known = set(available)
        unknown = [c for c in chosen if c not in known]
        if unknown:
            raise DataError(
                f"{source}: unknown {what}(s) {unknown[:5]}; available include {available[:5]} "
                f"({len(available)} {what}s)"
            )
        return chosen
    if n_agents is None:
        return list(available)
    if not 1 <= n_agents <= len(available):
        raise DataError(f"{source}: n_agents={n_agents} but the data has {len(available)} {what}s")
    return list(available[:n_agents])
