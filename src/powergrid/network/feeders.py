"""The feeder library: names → Feeder. LV feeders come from pandapower's network library (and SimBench under
the ``simbench`` extra); the IEEE 13 node test feeder is built by our own reader of its OpenDSS files, and
``ieee13-pair`` is two of them (microgrids MG1, MG2) tied at one common upstream bus (``tie.py``)."""

from __future__ import annotations

import logging
import random
import warnings
from collections.abc import Callable
from functools import cache

from powergrid.errors import ScenarioError
from powergrid.network.convert import feeder_from_pandapower
from powergrid.network.model import Feeder

#: pandapower's Kerber builders draw line types with Python's global ``random`` module: build every pandapower
#: feeder under this fixed seed (restoring the caller's random state) so a feeder is the same in every process.
PANDAPOWER_SEED = 0


def _pandapower(builder: str, *args) -> Callable[[], object]:
    def make():
        state = random.getstate()
        random.seed(PANDAPOWER_SEED)
        logger = logging.getLogger("pandapower")
        level = logger.level
        logger.setLevel(logging.ERROR)  # its import-time notice that numba is missing (not used on our hot path)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pandapower's deprecation notices
                import pandapower.networks as pn

                return getattr(pn, builder)(*args)
        finally:
            random.setstate(state)
            logger.setLevel(level)

    return make


_PANDAPOWER_FEEDERS: dict[str, tuple[Callable[[], object], str]] = {
    "cigre-lv": (
        _pandapower("create_cigre_network_lv"),
        "CIGRE TF C6.04.02 European LV benchmark (residential, industrial, commercial subnetworks; 20/0.4 kV)",
    ),
    "kerber-dorfnetz": (
        _pandapower("create_kerber_dorfnetz"),
        "Kerber 'Dorfnetz' rural German LV feeder (57 house connections; 10/0.4 kV, 400 kVA)",
    ),
    "dickert-rural": (
        _pandapower("create_dickert_lv_network", "long", "C&OHL", "multiple", "average"),
        "Dickert et al. (2013) reference LV feeder, rural: long cable and overhead-line (NFA2X 4x70) sections, "
        "90 house connections; 20/0.4 kV, 400 kVA",
    ),
    "ieee-european-lv": (
        _pandapower("ieee_european_lv_asymmetric", "on_peak_566"),
        "IEEE European LV test feeder (55 single-phase house connections; 11/0.416 kV), asymmetric",
    ),
}


def feeder_names() -> list[str]:
    """Names accepted by ``load_feeder``."""
    return [*_PANDAPOWER_FEEDERS, "ieee13", "ieee13-pair", "simbench:<code>"]


@cache
def load_feeder(name: str) -> Feeder:
    """Build (once per process) the named feeder."""
    if name in _PANDAPOWER_FEEDERS:
        make, description = _PANDAPOWER_FEEDERS[name]
        return feeder_from_pandapower(make(), name, description)
    if name == "ieee13":
        from powergrid.network.ieee13 import build_ieee13

        return build_ieee13()
    if name == "ieee13-pair":
        from powergrid.network.tie import build_ieee13_pair

        return build_ieee13_pair()
    if name.startswith("simbench:"):
        code = name.split(":", 1)[1]
        try:
            import simbench
        except ImportError:
            raise ScenarioError(
                f"feeder {name!r} needs the SimBench package: pip install 'heron-grid[simbench]'"
            ) from None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = simbench.get_simbench_net(code)
        return feeder_from_pandapower(net, name, f"SimBench grid {code}")
    raise ScenarioError(f"unknown feeder {name!r}; available: {', '.join(feeder_names())}")
