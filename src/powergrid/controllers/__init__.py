"""Decision-makers behind one interface: ``act(observation) -> actions``."""

from powergrid.controllers import consensus_dispatch as _consensus  # noqa: F401  (registers consensus-dispatch)
from powergrid.controllers import merit_order as _merit_order  # noqa: F401  (registers merit-order)
from powergrid.controllers import optimizers as _optimizers  # noqa: F401  (registers greedy, mpc, oracle)
from powergrid.controllers import rules as _rules  # noqa: F401  (registers the rule-based controllers)
from powergrid.controllers.base import Controller, available_controllers, make_controller, register

__all__ = ["Controller", "available_controllers", "make_controller", "register"]
