"""The community engine: one step for N agents, and the yardstick's end-of-horizon rules (``yardstick``)."""

from powergrid.engine.result import StepResult
from powergrid.engine.step import CommunityEngine

__all__ = ["CommunityEngine", "StepResult"]
