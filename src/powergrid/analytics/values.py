"""KPI values: a number, or ``NA`` (not defined for this run, with the reason)."""

from __future__ import annotations

from dataclasses import dataclass

#: Relative size below which a denominator counts as zero.
ZERO = 1e-12


@dataclass(frozen=True)
class NA:
    """A KPI that is not defined for this run, with the reason."""

    reason: str

    def __str__(self) -> str:
        return "n/a"


Value = float | NA
