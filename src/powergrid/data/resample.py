"""Change the step length of mean-power series while preserving energy exactly."""

from __future__ import annotations

import numpy as np

from powergrid.errors import DataError


def resample_mean_kw(values: np.ndarray, native_minutes: int, target_minutes: int) -> np.ndarray:
    """Resample a mean-kW series along axis 0 from ``native_minutes`` to ``target_minutes`` steps.

    Coarser target: the mean of the whole native steps inside each target step (the series length must be a
    multiple of the ratio). Finer target: each native step's mean power is held over its sub-steps. Either way the
    energy (kW x h) of every coarse interval is preserved.
    """
    values = np.asarray(values, dtype=float)
    if native_minutes == target_minutes:
        return values.copy()
    if target_minutes > native_minutes:
        if target_minutes % native_minutes:
            raise DataError(f"cannot aggregate {native_minutes}-min data to {target_minutes}-min steps")
        ratio = target_minutes // native_minutes
        if values.shape[0] % ratio:
            raise DataError(
                f"{values.shape[0]} steps of {native_minutes} min do not fill whole {target_minutes}-min steps"
            )
        return values.reshape(values.shape[0] // ratio, ratio, *values.shape[1:]).mean(axis=1)
    if native_minutes % target_minutes:
        raise DataError(f"cannot split {native_minutes}-min data into {target_minutes}-min steps")
    return np.repeat(values, native_minutes // target_minutes, axis=0)
