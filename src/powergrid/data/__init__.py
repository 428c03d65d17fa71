"""Input data: per-agent load and PV profiles, tariffs, carbon intensity. Pure data in, arrays out."""

from powergrid.data.profiles import Profiles, TimeGrid

__all__ = ["Profiles", "TimeGrid"]
