"""pandapower network → power-grid-model Feeder (buses, lines, two-winding transformers, bus-bus switches, one
external grid). pandapower stays the network library and the reference solver; this is the one converter.

Modelling, matched to pandapower's power flow with ``trafo_model="pi"``:
- lines: series R + jX and shunt C (+ G as ``tan1``) per unit length × length, divided/multiplied by ``parallel``;
  rating ``max_i_ka × df × parallel``;
- transformers: ``uk = vk%``, ``pk = vkr% · sn``, ``i0 = i0%``, ``p0 = pfe``, clock from ``shift_degree``, winding
  types from the vector group, tap position, side and step as in pandapower;
- the external grid: a source with a very large short-circuit power (an ideal slack, like pandapower's), at the
  ext_grid's voltage set-point and angle;
- closed bus-bus switches: the two buses are fused into one node (as pandapower does; power-grid-model's ``link``
  is a near-zero impedance whose branch flows lose ~1e-6 to cancellation); open line/transformer switches: the
  branch side out of service.
The feeder's own loads are *not* converted: they mark the buses where households connect (``connection_nodes``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from power_grid_model import BranchSide, WindingType, initialize_array

from powergrid.errors import ScenarioError
from powergrid.network.model import Feeder

#: Short-circuit power of the slack source (VA): effectively ideal.
IDEAL_SK = 1e15
_ID_OFFSET = {"line": 1_000_000, "transformer": 2_000_000, "source": 4_000_000}
_WINDING = {"D": WindingType.delta, "Y": WindingType.wye, "YN": WindingType.wye_n}


def _in_service(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["in_service"].astype(bool)] if "in_service" in df else df


def _windings(vector_group: str | float, clock: int) -> tuple[int, int]:
    """Winding types (hv, lv) from a pandapower vector group such as 'Dyn5'; default by clock parity."""
    if not isinstance(vector_group, str) or not vector_group:
        return (WindingType.delta, WindingType.wye_n) if clock % 2 else (WindingType.wye_n, WindingType.wye_n)
    letters = vector_group.rstrip("0123456789")
    hv = "YN" if letters.startswith("YN") else letters[0].upper()
    lv_part = letters[len(hv) :].lower()
    lv = "YN" if lv_part.startswith("yn") else lv_part[:1].upper()
    return _WINDING[hv], _WINDING[lv]


def _open_sides(net, element: str) -> dict[int, set[int]]:
    """Buses at which a line ('l') or transformer ('t') is disconnected by an open switch."""
    sw = net.switch[(net.switch["et"] == element) & ~net.switch["closed"].astype(bool)]
    out: dict[int, set[int]] = {}
    for bus, idx in zip(sw["bus"], sw["element"], strict=True):
        out.setdefault(int(idx), set()).add(int(bus))
    return out


def _side_status(elements: pd.Index, buses: pd.Series, open_sides: dict[int, set[int]]) -> list[int]:
    """1 where the branch end at ``buses`` is connected, 0 where an open switch cuts it."""
    return [int(int(bus) not in open_sides.get(int(i), ())) for i, bus in zip(elements, buses, strict=True)]


def _fused_buses(net, buses: pd.Index) -> dict[int, int]:
    """Map every bus to the lowest bus index it is joined to by closed bus-bus switches (union-find)."""
    parent = {int(b): int(b) for b in buses}

    def root(b: int) -> int:
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        return b

    closed = net.switch[(net.switch["et"] == "b") & net.switch["closed"].astype(bool)]
    for a, b in zip(closed["bus"].astype(int), closed["element"].astype(int), strict=True):
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    return {b: root(b) for b in parent}


def feeder_from_pandapower(net, name: str, description: str = "", frequency_hz: float = 50.0) -> Feeder:
    """Convert a pandapower net into a Feeder (see module docstring for what is supported)."""
    unsupported = [t for t in ("trafo3w", "impedance", "xward", "ward", "dcline", "gen") if len(getattr(net, t, []))]
    if unsupported:
        raise ScenarioError(f"feeder {name!r}: pandapower element types not supported: {unsupported}")
    if len(_in_service(net.ext_grid)) != 1:
        raise ScenarioError(f"feeder {name!r}: needs exactly one in-service external grid")

    all_buses = _in_service(net.bus)
    fused = _fused_buses(net, all_buses.index)
    bus = all_buses.loc[sorted(set(fused.values()))]

    def to_node(buses) -> np.ndarray:
        return np.array([fused[int(b)] for b in buses], dtype=np.int64)

    node = initialize_array("input", "node", len(bus))
    node["id"] = bus.index.to_numpy()
    node["u_rated"] = bus["vn_kv"].to_numpy() * 1e3
    data: dict[str, np.ndarray] = {"node": node}

    lines = _in_service(net.line)
    open_line = _open_sides(net, "l")
    par = lines["parallel"].to_numpy()
    length = lines["length_km"].to_numpy()
    c = lines["c_nf_per_km"].to_numpy() * 1e-9 * length * par
    g = lines["g_us_per_km"].to_numpy() * 1e-6 * length * par if "g_us_per_km" in lines else np.zeros(len(lines))
    if np.any((g > 0) & (c <= 0)):
        raise ScenarioError(f"feeder {name!r}: a line has shunt conductance but no capacitance")
    line = initialize_array("input", "line", len(lines))
    line["id"] = lines.index.to_numpy() + _ID_OFFSET["line"]
    line["from_node"] = to_node(lines["from_bus"])
    line["to_node"] = to_node(lines["to_bus"])
    line["from_status"] = _side_status(lines.index, lines["from_bus"], open_line)
    line["to_status"] = _side_status(lines.index, lines["to_bus"], open_line)
    line["r1"] = lines["r_ohm_per_km"].to_numpy() * length / par
    line["x1"] = lines["x_ohm_per_km"].to_numpy() * length / par
    line["c1"] = c
    line["tan1"] = np.divide(g, 2 * np.pi * frequency_hz * c, out=np.zeros_like(c), where=c > 0)
    for seq, fallback in (("r0", "r_ohm_per_km"), ("x0", "x_ohm_per_km")):
        col = (
            f"{seq}_ohm_per_km"
            if f"{seq}_ohm_per_km" in lines and lines[f"{seq}_ohm_per_km"].notna().all()
            else fallback
        )
        line[seq] = lines[col].to_numpy() * length / par
    c0_col = "c0_nf_per_km" if "c0_nf_per_km" in lines and lines["c0_nf_per_km"].notna().all() else "c_nf_per_km"
    line["c0"] = lines[c0_col].to_numpy() * 1e-9 * length * par
    line["tan0"] = 0.0
    line["i_n"] = lines["max_i_ka"].to_numpy() * 1e3 * lines["df"].to_numpy() * par
    data["line"] = line

    trafos = _in_service(net.trafo)
    if len(trafos):
        open_trafo = _open_sides(net, "t")
        tr = initialize_array("input", "transformer", len(trafos))
        tr["id"] = trafos.index.to_numpy() + _ID_OFFSET["transformer"]
        tr["from_node"] = to_node(trafos["hv_bus"])
        tr["to_node"] = to_node(trafos["lv_bus"])
        tr["from_status"] = _side_status(trafos.index, trafos["hv_bus"], open_trafo)
        tr["to_status"] = _side_status(trafos.index, trafos["lv_bus"], open_trafo)
        tr["u1"] = trafos["vn_hv_kv"].to_numpy() * 1e3
        tr["u2"] = trafos["vn_lv_kv"].to_numpy() * 1e3
        if np.any(trafos["parallel"].to_numpy() != 1):
            raise ScenarioError(f"feeder {name!r}: parallel transformers are not supported")
        sn = trafos["sn_mva"].to_numpy() * 1e6
        tr["sn"] = sn
        tr["uk"] = trafos["vk_percent"].to_numpy() / 100
        tr["pk"] = trafos["vkr_percent"].to_numpy() / 100 * sn
        tr["i0"] = trafos["i0_percent"].to_numpy() / 100
        tr["p0"] = trafos["pfe_kw"].to_numpy() * 1e3
        clock = np.round(trafos["shift_degree"].fillna(0).to_numpy() / 30).astype(int) % 12
        tr["clock"] = clock
        groups = trafos["vector_group"] if "vector_group" in trafos else pd.Series([None] * len(trafos))
        windings = [_windings(vg, k) for vg, k in zip(groups, clock, strict=True)]
        tr["winding_from"] = [w[0] for w in windings]
        tr["winding_to"] = [w[1] for w in windings]
        side = trafos["tap_side"].fillna("hv").to_numpy()
        tr["tap_side"] = np.where(side == "lv", BranchSide.to_side, BranchSide.from_side)
        neutral = trafos["tap_neutral"].fillna(0).to_numpy().astype(int)
        tr["tap_pos"] = trafos["tap_pos"].fillna(0).to_numpy().astype(int)
        tr["tap_nom"] = neutral
        tr["tap_min"] = trafos["tap_min"].fillna(neutral.min() if len(neutral) else 0).to_numpy().astype(int)
        tr["tap_max"] = trafos["tap_max"].fillna(neutral.max() if len(neutral) else 0).to_numpy().astype(int)
        u_tap = np.where(side == "lv", tr["u2"], tr["u1"])
        tr["tap_size"] = trafos["tap_step_percent"].fillna(0).to_numpy() / 100 * u_tap
        data["transformer"] = tr

    ext = _in_service(net.ext_grid).iloc[0]
    source = initialize_array("input", "source", 1)
    source["id"] = _ID_OFFSET["source"]
    source["node"] = fused[int(ext["bus"])]
    source["status"] = 1
    source["u_ref"] = float(ext["vm_pu"])
    source["u_ref_angle"] = np.deg2rad(float(ext["va_degree"]))
    source["sk"] = IDEAL_SK
    data["source"] = source

    loads = _in_service(net.load)
    asym = _in_service(net.asymmetric_load) if "asymmetric_load" in net and len(net.asymmetric_load) else None
    if asym is not None and len(asym):
        phases_at: dict[int, set[int]] = {}
        for b, pa, pb, pc in zip(asym["bus"], asym["p_a_mw"], asym["p_b_mw"], asym["p_c_mw"], strict=True):
            phases_at.setdefault(fused[int(b)], set()).update(k for k, p in enumerate((pa, pb, pc)) if p > 0)
        connection = np.array(sorted(phases_at), dtype=np.int64)
        phases = tuple(tuple(sorted(phases_at[b])) or (0, 1, 2) for b in connection)
        symmetric = False
    else:
        connection = np.array(sorted({fused[int(b)] for b in loads["bus"]}), dtype=np.int64)
        phases = ()
        symmetric = True
    if connection.size == 0:
        raise ScenarioError(f"feeder {name!r} has no load buses to connect households to")
    names = tuple(
        str(n) if isinstance(n, str) and n else f"bus {i}" for i, n in zip(bus.index, bus["name"], strict=True)
    )
    lv = bus.index[bus["vn_kv"].to_numpy() < 1.0].to_numpy()
    return Feeder(
        name=name,
        input_data=data,
        symmetric=symmetric,
        node_names=names,
        connection_nodes=connection,
        lv_nodes=np.sort(lv),
        connection_phases=phases,
        description=description,
    )
