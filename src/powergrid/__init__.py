"""powergrid: the energy side of heron-grid — data, devices, market, engine, controllers, KPIs, CLI."""

__version__ = "0.1.0"
