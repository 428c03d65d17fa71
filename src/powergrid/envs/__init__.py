"""Environments: thin faces over the community engine (PettingZoo, Gymnasium, SB3)."""

from powergrid.envs.energy_market import EnergyMarketEnv

__all__ = ["EnergyMarketEnv"]
