"""The IEEE 13 node test feeder as an asymmetric power-grid-model Feeder, built from its OpenDSS files.

The files in ``data/ieee13/`` are read as data by our own parser (``dss_parse``); OpenDSS itself is only the
reference in the tests. Units: volts, ohms, farads, watts, var (power-grid-model's).

Modelling, with measured effects against OpenDSS (``tolerance=1e-9``, taps fixed to OpenDSS's solution
1.05625/1.0375/1.05625, loads kept PQ/Z/I by ``batchedit load..* vminpu=0 vmaxpu=2``; see the test):

- Source: the 115 kV Vsource (pu 1.0001, 30°, MVAsc3 = 20000, X1/R1 = 4) as a ``source`` with sk = 20 GVA at a
  115 kV node, plus the near-zero-impedance substation transformer 115/4.16 kV (Dyn1, uk 0.008 %). The source's
  zero-sequence impedance is invisible behind the delta winding. Not an approximation: 650 and RG60 agree with
  OpenDSS to 1.5e-8 pu (an ideal source at 650 would miss the ~2e-4 pu drop in source and transformer).
- Lines: ``asym_line`` with the full 3×3 R, X and C (Maxwell form, off-diagonals ≤ 0) matrices of the line codes
  × length (ft → mi); codes without ``cmatrix`` get C1 = 3.4, C0 = 1.6 nF per unit length, OpenDSS's defaults
  (checked against its Lines.CMatrix). 1- and 2-phase laterals are 3-phase asym_lines whose missing phases
  have the mean self impedance, no coupling and no capacitance, so they carry no current; their voltages are
  meaningless and ``bus_phase_voltages`` leaves them out.
- Capacitances are scaled by 60 Hz / ``MODEL_FREQUENCY_HZ`` (50 Hz, power-grid-model's default), so build the
  model as ``PowerGridModel(feeder.input_data)`` (or with ``system_frequency=MODEL_FREQUENCY_HZ``).
- Switch 671–692 (closed; 1e-7 Ω in OpenDSS): an asym_line of ``SWITCH_OHM`` = 1e-5 Ω per phase (≤ 1e-6 pu).
  A ``link`` (or ≤ 1e-6 Ω) limits Newton–Raphson to ~1e-9 pu, so a 1e-10 tolerance would not be reached.
- Regulators Reg1..3 (single-phase 650.p → RG60.p): per phase a YNyn ``transformer`` 650 → helper node
  "RG60~regN" with half the leakage impedance, then an asym_line helper → RG60 carrying only phase p (the other
  half, fixed at the built tap; its other phases 1 MΩ, i.e. open: < 0.1 mA leaks). RG60 within 1.5e-8 pu.
  Each has power-grid-model's tap changer of a standard 32-step regulator on the regulated (to) side: tap_min
  −16, tap_max 16, tap_nom 0, tap_size 0.625 % of the nominal winding voltage u2, so ratio = 1 + 0.00625·tap_pos
  and raising tap_pos raises the voltage downstream. The built tap_pos is the step of the requested ratio
  (published 1.0625/1.05/1.06875 → 10/8/11); a ratio that is not on a step stays a fixed ratio in u2 (no tap
  changer) and that regulator is not listed in ``Feeder.regulators``.
- XFM1 (Yg-Yg 4.16/0.48 kV, 500 kVA, R 1.1 %, X 2 %): a YNyn transformer.
- Wye loads: ``asym_load`` per phase, model 1/2/5 → const_power/const_impedance/const_current. Z and I loads
  rated 2.4 kV are rescaled to the node's phase base 4.16/√3 kV so they draw the same at the same volts (their
  p_specified sum is 0.3 kW above the file's 3466 kW for that reason).
- Delta loads (671 three-phase, 646 b–c, 692 c–a): behind a Dyn11 helper transformer (u1 = u2 = 4.16 kV,
  ``DELTA_HELPER_SN`` 300 MVA, ``DELTA_HELPER_UK`` 1 %: 0.6 mΩ) whose secondary phase k sees the primary
  line-to-line voltage (k, k+1) in pu; the load sits on that phase. This is the main remaining error: a softer
  helper adds its drop, a stiffer one loses precision in power-grid-model (1 GVA/0.3 % → 2e-5 pu, 10 GVA → 2e-4).
- Capacitors: Cap1 (3-phase wye) a ``shunt``; Cap2 (611.c) an ``asym_gen`` of constant impedance.
- Helper nodes are named "bus~element" and are not in ``lv_nodes`` (the 15 real buses below 115 kV are); the
  absent phases of laterals show an upstream voltage, so per-node minima should use ``bus_phases()``.
- Sections (``Feeder.sections``): every node is section 0 except the source node (SourceBus, the upstream grid:
  −1), so section 0's head flow is the head flow through the substation transformer. ``regulators[0]`` are the
  tap-changing regulators (ganged by a controller), ``capacitors[0]`` the ids of Cap1 (shunt) and Cap2 (asym_gen).

Measured: max |ΔV| = 3.8e-6 pu over all 41 bus-phases (at 692.b), ~0.4 ms per asymmetric solve.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
from power_grid_model import BranchSide, LoadGenType, WindingType

from powergrid.errors import DataError
from powergrid.network.builder import RowBuilder, embed
from powergrid.network.dss_parse import (
    BusLayout,
    DssCircuit,
    DssElement,
    bus_layout,
    impedance_per_length,
    is_true,
    length_to_m,
    parse_bus,
    parse_dss,
    parse_number,
    transformer_windings,
)
from powergrid.network.model import Feeder

DATA_DIR = Path(__file__).parent / "data" / "ieee13"
MAIN_FILE = DATA_DIR / "IEEE13Nodeckt.dss"
#: Published regulator taps (the file's "alternate solution"), phases a, b, c.
PUBLISHED_TAPS = (1.0625, 1.0500, 1.06875)
#: OpenDSS's own RegControl solution with default settings, phases a, b, c.
OPENDSS_TAPS = (1.05625, 1.0375, 1.05625)
#: The system frequency the Feeder's capacitances are expressed for (power-grid-model's default).
MODEL_FREQUENCY_HZ = 50.0
#: Dyn11 helper in front of delta loads: rating (VA) and short-circuit voltage (pu); see the module docstring.
DELTA_HELPER_SN = 3e8
DELTA_HELPER_UK = 0.01
#: Series impedance (Ω) of the phases a regulator path does not carry: effectively open.
OPEN_PHASE_OHM = 1e6
#: Series resistance (Ω) per phase of a closed switch (see the module docstring).
SWITCH_OHM = 1e-5
#: Share of a regulator's leakage impedance placed in its helper line (the rest in its transformer).
REGULATOR_LINE_SHARE = 0.5
#: Regulator tap changer (a standard 32-step regulator): ±``REGULATOR_STEPS`` steps of ``REGULATOR_STEP`` pu.
REGULATOR_STEP = 0.00625
REGULATOR_STEPS = 16

_LOAD_TYPE = {1: LoadGenType.const_power, 2: LoadGenType.const_impedance, 5: LoadGenType.const_current}
_LOAD_EXPONENT = {1: 0, 2: 2, 5: 1}
_SQRT3 = np.sqrt(3.0)


@cache
def _circuit() -> DssCircuit:
    return parse_dss(MAIN_FILE)


@cache
def _layout() -> BusLayout:
    return bus_layout(_circuit())


def _bus(spec: str, n: int) -> tuple[str, tuple[int, ...]]:
    """Lower-case bus name and its phases 0..2 (ground node 0 dropped)."""
    name, nodes = parse_bus(spec, n)
    return name.lower(), tuple(k - 1 for k in nodes if k > 0)


def _phases(e: DssElement) -> int:
    return int(e.number("phases", 3))


class _Builder(RowBuilder):
    """A RowBuilder with one node per bus of the layout, ``node``: bus → node id."""

    def __init__(self, layout: BusLayout) -> None:
        super().__init__("IEEE 13 feeder")
        self.node = {bus: self.new_node(name, layout.base_v[bus]) for bus, name in layout.names.items()}


def regulator_step(ratio: float) -> int | None:
    """The tap step k with ratio = 1 + k·``REGULATOR_STEP`` (|k| ≤ ``REGULATOR_STEPS``), or None if off-step."""
    k = round((ratio - 1.0) / REGULATOR_STEP)
    on_step = abs(k) <= REGULATOR_STEPS and abs(ratio - (1.0 + k * REGULATOR_STEP)) < 1e-9
    return int(k) if on_step else None


def build_ieee13(regulator_taps: tuple[float, float, float] | None = None, include_loads: bool = True) -> Feeder:
    """The IEEE 13 node feeder for power-grid-model's asymmetric power flow (build the model at 50 Hz).

    Args:
        regulator_taps: ratio (pu) of the regulators on phases a, b, c; None → ``PUBLISHED_TAPS``. A ratio on a
            tap step (1 + k·0.00625, |k| ≤ 16) becomes the regulator's initial tap_pos k; any other ratio is fixed.
        include_loads: add the file's spot loads (the 670 points are the distributed load); capacitors stay.
    """
    taps = PUBLISHED_TAPS if regulator_taps is None else tuple(float(t) for t in regulator_taps)
    if len(taps) != 3 or not all(0.5 < t < 1.5 for t in taps):
        raise DataError(f"regulator_taps must be three ratios near 1 pu, got {regulator_taps!r}")
    c, lay = _circuit(), _layout()
    freq = parse_number(c.options.get("defaultbasefrequency", "60"), "Set DefaultBaseFrequency")
    b = _Builder(lay)
    sources = c.of_class("vsource")
    if len(sources) != 1:
        raise DataError(f"{MAIN_FILE.name}: expected exactly one source, found {len(sources)}")
    _add_source(b, sources[0])
    regulated = {e.get("transformer", "").lower() for e in c.of_class("regcontrol")}
    for t in c.of_class("transformer"):
        _add_transformer(b, t, lay, taps if t.name in regulated else None)
    for line in c.of_class("line"):
        _add_line(b, c, line, freq)
    for cap in c.of_class("capacitor"):
        _add_capacitor(b, cap, lay)
    loads = c.of_class("load")
    if include_loads:
        for load in loads:
            _add_load(b, load, lay)

    conn = sorted({b.node[_bus(ld.require("bus1"), _phases(ld))[0]] for ld in loads})
    bus_by_node = {n: bus for bus, n in b.node.items()}
    source_bus = _bus(sources[0].get("bus1", "sourcebus"), 3)[0]
    source_v = lay.base_v[source_bus]
    lv = [n for bus, n in b.node.items() if lay.base_v[bus] < source_v]
    data = b.arrays()
    mask = np.ones((data["node"].size, 3), dtype=bool)  # helper nodes: all phases
    for row, node_id in enumerate(data["node"]["id"].tolist()):
        bus = bus_by_node.get(node_id)
        if bus is not None and bus in lay.phases:
            mask[row] = np.isin(np.arange(3), lay.phases[bus])
    return Feeder(
        name="ieee13",
        input_data=data,
        symmetric=False,
        node_names=tuple(b.names),
        connection_nodes=np.array(conn, dtype=np.int32),
        lv_nodes=np.array(sorted(lv), dtype=np.int32),
        connection_phases=tuple(lay.phases[bus_by_node[n]] for n in conn),
        description=(
            "IEEE 13 node test feeder (OpenDSS files, 4.16 kV, 60 Hz) read by our own parser; asymmetric "
            f"power-grid-model with regulator taps {taps} (32-step tap changers, ±16 × 0.625 %, where on a step); "
            "capacitances scaled for a 50 Hz model. Helper nodes 'bus~element' carry the regulator paths and the "
            "delta loads. One section (0): every node but the source node."
        ),
        phase_mask=mask,
        sections=np.where(data["node"]["id"] == b.node[source_bus], -1, 0).astype(np.int32),
        regulators=(np.array(b.regulators, dtype=np.int32),),
        capacitors=(np.array(b.capacitors, dtype=np.int32),),
    )


def _add_source(b: _Builder, src: DssElement) -> None:
    for key in ("r1", "x1", "r0", "x0", "z1", "z0", "isc3", "isc1"):
        if src.get(key) is not None:
            raise DataError(f"{src.where}: vsource {key!r} is not supported; give MVAsc3/MVAsc1")
    bus, _ = _bus(src.get("bus1", "sourcebus"), 3)
    kv, x1r1, x0r0 = src.number("basekv"), src.number("x1r1", 4.0), src.number("x0r0", 3.0)
    mva3, mva1 = src.number("mvasc3", 2000.0), src.number("mvasc1", 2100.0)
    z1 = kv**2 / mva3  # Ω
    r1, x1 = z1 / np.hypot(1, x1r1), z1 * x1r1 / np.hypot(1, x1r1)
    # OpenDSS: |2·Z1 + Z0| = 3·kV²/MVAsc1 with Z0 = R0·(1 + j·X0/R0); power-grid-model keeps Z1's angle for Z0.
    qa, qb, qc = 1 + x0r0**2, 4 * (r1 + x1 * x0r0), 4 * z1**2 - (3 * kv**2 / mva1) ** 2
    r0 = (-qb + np.sqrt(qb**2 - 4 * qa * qc)) / (2 * qa)
    b.add(
        "source",
        node=b.node[bus],
        status=1,
        u_ref=src.number("pu", 1.0),
        u_ref_angle=np.deg2rad(src.number("angle", 0.0)),
        sk=mva3 * 1e6,
        rx_ratio=1 / x1r1,
        z01_ratio=r0 * np.hypot(1, x0r0) / z1,
    )


def _add_transformer(b: _Builder, t: DssElement, lay: BusLayout, taps: tuple[float, ...] | None) -> None:
    """A 3-phase unit as one transformer; a single-phase unit (regulator) as one phase path (module docstring)."""
    w = transformer_windings(t)
    n = _phases(t)
    (bus1, ph1), (bus2, ph2) = _bus(w[0]["bus"], n), _bus(w[1]["bus"], n)
    r_pu, x_pu = (w[0]["r"] + w[1]["r"]) / 100, w[0]["xhl"] / 100
    if t.get("%imag") is not None or t.get("%noloadloss") is not None:
        raise DataError(f"{t.where}: transformer.{t.name}: magnetising branch not supported")
    if n == 3:
        if len(ph1) != 3 or len(ph2) != 3:
            raise DataError(f"{t.where}: transformer.{t.name}: a 3-phase unit needs 3 phases on both buses")
        kinds = [WindingType.delta if wk["conn"] == "delta" else WindingType.wye_n for wk in w]
        sn = w[0]["kva"] * 1e3
        b.transformer(
            b.node[bus1],
            b.node[bus2],
            u1=w[0]["kv"] * 1e3 * w[0]["tap"],
            u2=w[1]["kv"] * 1e3 * w[1]["tap"],
            sn=sn,
            uk=np.hypot(r_pu, x_pu),
            pk=r_pu * sn,
            winding_from=kinds[0],
            winding_to=kinds[1],
            clock=0 if kinds[0] == kinds[1] else 1,
        )
        return
    if n != 1 or len(ph1) != 1 or ph1 != ph2 or w[0]["conn"] != "wye" or w[1]["conn"] != "wye":
        raise DataError(f"{t.where}: transformer.{t.name}: only 3-phase units and single-phase wye p → p units")
    p = ph1[0]
    step, tap = None, {}
    if taps is not None:
        w[1]["tap"] = w[0]["tap"]  # u2 at the nominal tap; the ratio comes from tap_pos (or is fixed in u2 below)
        step = regulator_step(taps[p])
    sn = 3 * w[0]["kva"] * 1e3  # three such units
    u1, u2 = (wk["kv"] * 1e3 * _SQRT3 * wk["tap"] for wk in w)
    if step is not None:
        tap = {
            "tap_side": BranchSide.to_side,
            "tap_pos": step,
            "tap_min": -REGULATOR_STEPS,
            "tap_max": REGULATOR_STEPS,
            "tap_nom": 0,
            "tap_size": REGULATOR_STEP * u2,
        }
    u2_built = u2 * (taps[p] if taps is not None else 1.0)  # the winding voltage at the built tap
    helper = b.new_node(f"{lay.names[bus2]}~{t.name}", lay.base_v[bus2])
    keep = 1 - REGULATOR_LINE_SHARE
    tid = b.transformer(
        b.node[bus1],
        helper,
        u1=u1,
        u2=u2 if step is not None else u2_built,
        sn=sn,
        uk=keep * np.hypot(r_pu, x_pu),
        pk=keep * r_pu * sn,
        winding_from=WindingType.wye_n,
        winding_to=WindingType.wye_n,
        clock=0,
        **tap,
    )
    if step is not None:
        b.regulators.append(tid)
    z = REGULATOR_LINE_SHARE * complex(r_pu, x_pu) * u2_built**2 / sn
    b.asym_line(helper, b.node[bus2], embed(np.array([[z]]), (p,), OPEN_PHASE_OHM * (1 + 1j)), np.zeros((3, 3)))


def _add_line(b: _Builder, c: DssCircuit, line: DssElement, freq: float) -> None:
    n = _phases(line)
    (bus1, ph1), (bus2, ph2) = _bus(line.require("bus1"), n), _bus(line.require("bus2"), n)
    if len(ph1) != n or ph1 != ph2 or len(set(ph1)) != n:
        raise DataError(f"{line.where}: line.{line.name}: phases {ph1} → {ph2} (n={n}) not supported")
    if is_true(line.get("switch")):
        b.asym_line(b.node[bus1], b.node[bus2], np.eye(3) * SWITCH_OHM, np.zeros((3, 3)))
        return
    linecode = line.get("linecode")
    code = c.find("linecode", linecode) if linecode else line
    z, cap, code_units = impedance_per_length(code, n)
    line_m, code_m = length_to_m(line.get("units")), length_to_m(code_units)
    scale = line.number("length", 1.0) * (line_m / code_m if line_m and code_m else 1.0)
    z3 = embed(z * scale, ph1, complex(np.mean(np.diag(z))) * scale)
    c3 = embed(cap * scale, ph1, 0.0).real * freq / MODEL_FREQUENCY_HZ
    b.asym_line(b.node[bus1], b.node[bus2], z3, c3, code.number("normamps", 400.0))


def _rating_scale(kv_rated: float, n: int, conn: str, base_ll: float, exponent: int) -> float:
    """Factor on a Z (exponent 2) or I (1) rating so that it draws the same at the same volts on the node's base:
    wye phases are per unit of base_ll/√3, delta branches (helper phases) of base_ll."""
    v_rated = kv_rated * 1e3 if (n == 1 or conn == "delta") else kv_rated * 1e3 / _SQRT3
    v_base = base_ll if conn == "delta" else base_ll / _SQRT3
    return (v_base / v_rated) ** exponent


def _load_pq(load: DssElement) -> tuple[float, float]:
    kw = load.number("kw", 10.0)
    if load.get("kvar") is not None:
        return kw * 1e3, load.number("kvar") * 1e3
    pf = load.number("pf", 0.88)
    return kw * 1e3, np.sign(pf) * kw * 1e3 * np.tan(np.arccos(abs(pf)))


def _add_load(b: _Builder, load: DssElement, lay: BusLayout) -> None:
    n = _phases(load)
    bus, ph = _bus(load.require("bus1"), n)
    model = int(load.number("model", 1))
    if model not in _LOAD_TYPE:
        raise DataError(f"{load.where}: load.{load.name}: model={model} not supported (1, 2, 5)")
    conn = "delta" if load.get("conn", "wye").lower() in ("delta", "d", "ll") else "wye"
    p, q = _load_pq(load)
    scale = _rating_scale(load.number("kv", 12.47), n, conn, lay.base_v[bus], _LOAD_EXPONENT[model])
    p_ph, q_ph = np.zeros(3), np.zeros(3)
    if conn == "wye":
        if len(ph) != n:
            raise DataError(f"{load.where}: load.{load.name}: {n} phases on nodes {ph}")
        target = b.node[bus]
        p_ph[list(ph)], q_ph[list(ph)] = p / n * scale, q / n * scale
    else:
        if not ((n == 1 and len(ph) == 2) or (n == 3 and sorted(ph) == [0, 1, 2])):
            raise DataError(f"{load.where}: load.{load.name}: a delta load needs 2 nodes (1-phase) or 3 (3-phase)")
        pairs = [(ph[0], ph[1])] if n == 1 else [(0, 1), (1, 2), (2, 0)]
        base = lay.base_v[bus]
        target = b.new_node(f"{lay.names[bus]}~load.{load.name}", base)
        b.transformer(
            b.node[bus],
            target,
            u1=base,
            u2=base,
            sn=DELTA_HELPER_SN,
            uk=DELTA_HELPER_UK,
            pk=0.0,
            winding_from=WindingType.delta,
            winding_to=WindingType.wye_n,
            clock=11,
        )
        for i, j in pairs:  # Dyn11: secondary phase k is coupled to the primary pair (k, k+1)
            k = i if j == (i + 1) % 3 else j
            p_ph[k], q_ph[k] = p / len(pairs) * scale, q / len(pairs) * scale
    b.add("asym_load", node=target, status=1, type=_LOAD_TYPE[model], p_specified=p_ph, q_specified=q_ph)


def _add_capacitor(b: _Builder, cap: DssElement, lay: BusLayout) -> None:
    n = _phases(cap)
    bus, ph = _bus(cap.require("bus1"), n)
    if cap.get("conn", "wye").lower() not in ("wye", "y", "ln"):
        raise DataError(f"{cap.where}: capacitor.{cap.name}: only wye capacitors are supported")
    kvar, kv = cap.number("kvar", 1200.0), cap.number("kv", 12.47)
    if n == 3 and len(ph) == 3:
        bsh = kvar * 1e3 / (kv * 1e3) ** 2
        b.capacitors.append(b.add("shunt", node=b.node[bus], status=1, g1=0.0, b1=bsh, g0=0.0, b0=bsh))
        return
    q = np.zeros(3)
    q[list(ph)] = kvar * 1e3 / n * _rating_scale(kv, n, "wye", lay.base_v[bus], 2)
    cid = b.add(
        "asym_gen", node=b.node[bus], status=1, type=LoadGenType.const_impedance, p_specified=np.zeros(3), q_specified=q
    )
    b.capacitors.append(cid)
