"""The community engine: one step for N agents, and the yardstick's end-of-horizon rules (``yardstick``)."""

from powergrid.engine.step import CommunityEngine, StepResult

__all__ = ["CommunityEngine", "StepResult"]
