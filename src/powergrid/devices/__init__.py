"""Devices as struct-of-arrays fleets (one entry per agent)."""

from powergrid.devices.battery import BatteryFleet

__all__ = ["BatteryFleet"]
