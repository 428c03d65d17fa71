"""Shared pieces of the scenario schema: the strict base model and the constrained number types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

AgentKind = Literal["prosumer", "pv-only", "consumer", "storage", "microgrid"]
Mechanism = Literal["uniform", "pay-as-bid", "mcafee", "mid-market", "sdr", "none"]

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]


class Strict(BaseModel):
    """Base: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)
