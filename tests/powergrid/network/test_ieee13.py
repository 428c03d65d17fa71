"""IEEE 13 node feeder: our OpenDSS-file reader + power-grid-model against OpenDSS itself (opendssdirect.py)."""

from __future__ import annotations

import dataclasses
import re
import time

import numpy as np
import opendssdirect as dss
import pytest
from power_grid_model import ComponentType, PowerGridModel

from powergrid.errors import DataError
from powergrid.network.dss_parse import parse_dss
from powergrid.network.ieee13 import MAIN_FILE, OPENDSS_TAPS, build_ieee13
from powergrid.network.ieee13_results import bus_phase_voltages, bus_phases, solve_asym
from powergrid.network.model import AGENT_ID_BASE

BUSES = {
    "SourceBus",
    "650",
    "RG60",
    "632",
    "633",
    "634",
    "645",
    "646",
    "670",
    "671",
    "680",
    "684",
    "611",
    "652",
    "692",
    "675",
}
LOAD_BUSES = {
    "671": (0, 1, 2),
    "634": (0, 1, 2),
    "645": (1, 2),
    "646": (1, 2),
    "692": (0, 1, 2),
    "675": (0, 1, 2),
    "611": (2,),
    "652": (0,),
    "670": (0, 1, 2),
}


def _file_loads() -> list[tuple[str, int, float, float]]:
    """(name, model, kW, kvar) of every load, read with a plain regex (independent of our parser)."""
    text = MAIN_FILE.read_text()
    rows = re.findall(r"New Load\.(\S+).*?Model=(\d).*?kW=([\d.]+)\s+kvar=([\d.]+)", text, flags=re.I)
    return [(n, int(m), float(p), float(q)) for n, m, p, q in rows]


@pytest.fixture(scope="module")
def feeder():
    return build_ieee13(OPENDSS_TAPS)


def test_structure(feeder):
    names = feeder.node_names
    assert BUSES <= set(names)
    assert feeder.name == "ieee13" and feeder.symmetric is False
    assert (
        len(feeder.input_data["source"]) == 1 and names[list(feeder.node_ids).index(feeder.source_node)] == "SourceBus"
    )
    ids = np.concatenate([a["id"] for a in feeder.input_data.values()])
    assert len(np.unique(ids)) == len(ids) and ids.max() < AGENT_ID_BASE
    by_id = dict(zip(feeder.node_ids.tolist(), names, strict=True))
    conn = {by_id[n]: ph for n, ph in zip(feeder.connection_nodes.tolist(), feeder.connection_phases, strict=True)}
    assert conn == LOAD_BUSES
    assert np.all(np.diff(feeder.connection_nodes) > 0)
    assert {by_id[n] for n in feeder.lv_nodes.tolist()} == BUSES - {"SourceBus"}
    assert "asym_line" in feeder.input_data and "line" not in feeder.input_data  # full 3×3 matrices
    assert bus_phases()["611"] == (2,) and bus_phases()["684"] == (0, 2)


def test_total_load_is_the_files(feeder):
    rows = _file_loads()
    assert len(rows) == 15
    assert sum(r[2] for r in rows) == pytest.approx(3466.0)
    loads = feeder.input_data["asym_load"]
    assert len(loads) == 15
    p_kw, q_kvar = loads["p_specified"].sum() / 1e3, loads["q_specified"].sum() / 1e3
    # constant-power loads exactly as written; the Z/I loads rated 2.4 kV are rescaled to the 4.16/√3 kV base
    pq = loads["type"] == 0
    assert loads["p_specified"][pq].sum() / 1e3 == pytest.approx(sum(r[2] for r in rows if r[1] == 1), abs=1e-9)
    assert p_kw == pytest.approx(3466.0, abs=0.5)
    assert q_kvar == pytest.approx(sum(r[3] for r in rows), abs=0.5)
    assert "asym_load" not in build_ieee13(include_loads=False).input_data


def test_power_flow_converges_and_is_fast(feeder):
    out = solve_asym(feeder, error_tolerance=1e-10)
    v = bus_phase_voltages(feeder, out["node"])
    assert sum(len(p) for p in v.values()) == 41
    assert all(0.9 < u < 1.1 for ph in v.values() for u in ph.values())
    solve_asym(build_ieee13(), error_tolerance=1e-10)  # published taps too
    model = PowerGridModel(feeder.input_data)
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        model.calculate_power_flow(symmetric=False, error_tolerance=1e-10, output_component_types=[ComponentType.node])
        times.append(time.perf_counter() - t0)
    print(f"\npower-grid-model asymmetric NR solve (IEEE 13): median {np.median(times) * 1e3:.3f} ms")


def test_without_loads_voltages_are_flat():
    f = build_ieee13(regulator_taps=(1.0, 1.0, 1.0), include_loads=False)
    u = np.array([x for ph in bus_phase_voltages(f, solve_asym(f)["node"]).values() for x in ph.values()])
    assert u.min() > 0.999 and u.max() < 1.04  # only the capacitors lift the voltage
    data = dict(f.input_data)
    for kind in ("shunt", "asym_gen"):
        data[kind] = data[kind].copy()
        data[kind]["status"] = 0
    bare = dataclasses.replace(f, input_data=data)
    u = np.array([x for ph in bus_phase_voltages(bare, solve_asym(bare)["node"]).values() for x in ph.values()])
    assert np.abs(u - 1.0001).max() < 2e-4  # source pu 1.0001; only line charging left


def test_bad_parameters_raise():
    with pytest.raises(DataError, match="regulator_taps"):
        build_ieee13(regulator_taps=(1.0, 2.0, 1.0))


def test_parser_rejects_what_it_cannot_read(tmp_path):
    bad = tmp_path / "bad.dss"
    bad.write_text("New Circuit.x basekv=1\nEdit Line.a length=2\n")
    with pytest.raises(DataError, match=r"bad.dss:2.*'Edit'"):
        parse_dss(bad)
    bad.write_text("New Circuit.x basekv=(8 1000 /\n")
    with pytest.raises(DataError, match="unclosed"):
        parse_dss(bad)
    ok = tmp_path / "ok.dss"
    ok.write_text("New Circuit.x basekv=(8 1000 /) pu=1\n/* New Load.y\n kW=1 */\n~ angle=30 ! comment\n")
    c = parse_dss(ok)
    src = c.find("vsource", "source")
    assert src.number("basekv") == pytest.approx(0.008) and src.number("angle") == 30 and not c.of_class("load")


# ---------------------------------------------------------------------------------------------- against OpenDSS


@pytest.fixture(scope="module")
def opendss():
    """OpenDSS on the same files: its regulator taps, then taps fixed, loads pure PQ/Z/I, tolerance 1e-9."""
    dss.Text.Command("clear")
    dss.Text.Command(f'compile "{MAIN_FILE}"')
    dss.Text.Command("set tolerance=1e-9")
    dss.Solution.Solve()
    taps = []
    for reg in ("reg1", "reg2", "reg3"):  # phases a, b, c
        dss.Transformers.Name(reg)
        dss.Transformers.Wdg(2)
        taps.append(dss.Transformers.Tap())
    dss.Text.Command("set controlmode=off")
    dss.Text.Command("batchedit load..* vminpu=0 vmaxpu=2")  # no switch to constant Z outside 0.95–1.05 pu
    dss.Solution.Solve()
    assert dss.Solution.Converged()
    volts = {}
    for bus in dss.Circuit.AllBusNames():
        dss.Circuit.SetActiveBus(bus)
        volts[bus] = dict(zip((np.array(dss.Bus.Nodes()) - 1).tolist(), dss.Bus.puVmagAngle()[0::2], strict=True))
    p = q = 0.0
    for name in dss.Loads.AllNames():
        dss.Circuit.SetActiveElement(f"Load.{name}")
        s = np.asarray(dss.CktElement.Powers())
        p, q = p + s[0::2].sum(), q + s[1::2].sum()
    return {"taps": tuple(taps), "volts": volts, "load_kw": p, "load_kvar": q}


def test_matches_opendss(opendss):
    assert opendss["taps"] == pytest.approx(OPENDSS_TAPS)
    f = build_ieee13(opendss["taps"])
    out = solve_asym(f, error_tolerance=1e-10)
    ours = bus_phase_voltages(f, out["node"])
    assert {b.lower() for b in ours} == set(opendss["volts"])
    err = {(b, p): abs(u - opendss["volts"][b.lower()][p]) for b, ph in ours.items() for p, u in ph.items()}
    assert len(err) == sum(len(v) for v in opendss["volts"].values()) == 41
    (bus, phase), worst = max(err.items(), key=lambda kv: kv[1])
    print(f"\nIEEE 13 vs OpenDSS: max |ΔV| = {worst:.2e} pu at {bus}.{'abc'[phase]} over {len(err)} bus-phases")
    assert worst < 0.01  # the bar
    assert worst < 1e-5  # what the model achieves (3.8e-6 measured)
    loads = out["asym_load"]
    assert loads["p"].sum() / 1e3 == pytest.approx(opendss["load_kw"], abs=0.01)
    assert loads["q"].sum() / 1e3 == pytest.approx(opendss["load_kvar"], abs=0.01)
