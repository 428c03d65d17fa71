"""Scenarios are data: a pydantic schema, built-in YAML files, and the builder that turns them into arrays."""

from powergrid.scenarios.loader import builtin_names, dump_scenario, load_scenario
from powergrid.scenarios.model import Scenario

__all__ = ["Scenario", "builtin_names", "dump_scenario", "load_scenario"]
