"""Feeders and AC power flow: a feeder library, the pandapower converter, power-grid-model solves."""
