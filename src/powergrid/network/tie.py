"""Several feeders (microgrids) off one common upstream bus, as one Feeder solved in one power flow.

``tie_feeders`` keeps the first feeder's ``source`` (the upstream grid) and moves it to a new common node at the
source voltage; each feeder's former source node is tied to that node by a power-grid-model ``link`` (a
zero-impedance branch: lossless — numerically ~0.1 W on MW flows — so the section head flows add up to the head
flow). Feeder k (0-based) becomes section k; its component ids are shifted by k·``id_stride`` (feeder 0 keeps its
ids) and its node names get a prefix. The common node and the links take the ids just above the last feeder's
range. Sections a feeder had of its own are merged into its one section (its regulators and capacitors too).

The feeders then share the source impedance (e.g. the IEEE 13 source's 20 GVA short-circuit power), so each
feeder's flow moves the other's voltages by a little (~ΔS/S_sc: 3.5 MVA of load → ~2e-4 pu at the common bus).
"""

from __future__ import annotations

import numpy as np
from power_grid_model import initialize_array

from powergrid.errors import DataError
from powergrid.network.ieee13 import build_ieee13
from powergrid.network.model import AGENT_ID_BASE, Feeder

#: Component id offset between consecutive feeders of ``ieee13-pair`` (MG2's ids = MG1's + 1000).
PAIR_ID_STRIDE = 1000
#: Name of the common upstream node of a tie.
COMMON_NODE_NAME = "Common"

#: Fields of power-grid-model components that hold ids (their own or another component's).
_ID_FIELDS = ("id", "node", "from_node", "to_node", "node_1", "node_2", "node_3", "measured_object", "regulated_object")


def _shifted(data: dict[str, np.ndarray], offset: int) -> dict[str, np.ndarray]:
    """A copy of ``data`` with every id and node reference increased by ``offset``."""
    out = {}
    for component, arr in data.items():
        arr = arr.copy()
        for f in _ID_FIELDS:
            if f in (arr.dtype.names or ()):
                arr[f] += offset
        out[component] = arr
    return out


def tie_feeders(
    parts: list[Feeder], prefixes: list[str], name: str, description: str, id_stride: int = PAIR_ID_STRIDE
) -> Feeder:
    """One Feeder of ``parts`` tied at a common upstream bus (module docstring); part k is section k.

    Args:
        parts: feeders of the same kind (all symmetric or all asymmetric), each with exactly one source.
        prefixes: node name prefix per part, e.g. "MG1.".
        name, description: of the result (the description should say how the parts are tied).
        id_stride: id offset between consecutive parts; every part's ids must be below it.
    """
    if len(parts) != len(prefixes) or not parts:
        raise DataError(f"tie {name!r}: {len(parts)} feeders for {len(prefixes)} prefixes")
    if len({p.symmetric for p in parts}) != 1:
        raise DataError(f"tie {name!r}: cannot tie symmetric and asymmetric feeders")
    for p in parts:
        biggest = max(int(a["id"].max()) for a in p.input_data.values() if a.size)
        if biggest >= id_stride or len(p.input_data["source"]) != 1:
            raise DataError(f"tie {name!r}: feeder {p.name!r} needs one source and ids below {id_stride}")
    source_v = {float(p.input_data["node"]["u_rated"][p.node_ids == p.source_node][0]) for p in parts}
    if len(source_v) != 1:
        raise DataError(f"tie {name!r}: the feeders' source nodes have different rated voltages {sorted(source_v)}")
    base = len(parts) * id_stride
    if base + len(parts) + 1 >= AGENT_ID_BASE:
        raise DataError(f"tie {name!r}: ids up to {base + len(parts)} reach AGENT_ID_BASE")
    common = base + 1
    shifted = [_shifted(p.input_data, k * id_stride) for k, p in enumerate(parts)]
    heads = [p.source_node + k * id_stride for k, p in enumerate(parts)]
    node = initialize_array("input", "node", 1)
    node["id"], node["u_rated"] = common, source_v.pop()
    link = initialize_array("input", "link", len(parts))
    link["id"] = base + 2 + np.arange(len(parts))
    link["from_node"], link["to_node"] = common, heads
    link["from_status"] = link["to_status"] = 1
    source = shifted[0]["source"].copy()
    source["node"] = common
    data: dict[str, np.ndarray] = {}
    for component in dict.fromkeys(c for d in shifted for c in d):
        if component != "source":
            data[component] = np.concatenate([d[component] for d in shifted if component in d])
    data["node"] = np.concatenate([data["node"], node])
    data["link"] = np.concatenate([data["link"], link]) if "link" in data else link
    data["source"] = source
    sections = np.concatenate([np.full(p.node_ids.size, k, dtype=np.int32) for k, p in enumerate(parts)] + [[-1]])
    masks = [p.phase_mask if p.phase_mask is not None else np.ones((p.node_ids.size, 3), bool) for p in parts]
    return Feeder(
        name=name,
        input_data=data,
        symmetric=parts[0].symmetric,
        node_names=(
            *(f"{pre}{n}" for pre, p in zip(prefixes, parts, strict=True) for n in p.node_names),
            COMMON_NODE_NAME,
        ),
        connection_nodes=np.concatenate([p.connection_nodes + k * id_stride for k, p in enumerate(parts)]),
        lv_nodes=np.concatenate([p.lv_nodes + k * id_stride for k, p in enumerate(parts)]),
        connection_phases=tuple(ph for p in parts for ph in p.connection_phases),
        description=description,
        phase_mask=np.concatenate([*masks, np.ones((1, 3), dtype=bool)]),
        sections=sections.astype(np.int32),
        regulators=tuple(
            np.concatenate([*p.regulators, []]).astype(np.int32) + k * id_stride for k, p in enumerate(parts)
        ),
        capacitors=tuple(
            np.concatenate([*p.capacitors, []]).astype(np.int32) + k * id_stride for k, p in enumerate(parts)
        ),
    )


def build_ieee13_pair() -> Feeder:
    """Two IEEE 13 node feeders (microgrids MG1, MG2: sections 0, 1) off one common 115 kV bus (library name
    ``ieee13-pair``): one upstream source, each feeder's SourceBus linked to the common node."""
    one = build_ieee13()
    description = (
        "Two IEEE 13 node feeders (microgrids MG1 = section 0, MG2 = section 1; published regulator taps) tied at "
        f"one common 115 kV bus '{COMMON_NODE_NAME}' (section −1): the IEEE 13 source (115 kV, 20 GVA) sits on "
        "the common bus, and each feeder's SourceBus is joined to it by a zero-impedance power-grid-model link, "
        "so each microgrid keeps its own 115/4.16 kV substation transformer and regulators and both share the "
        f"source impedance. MG2's component ids are MG1's + {PAIR_ID_STRIDE}; node names 'MG1.<bus>', 'MG2.<bus>'."
    )
    return tie_feeders([one, one], ["MG1.", "MG2."], "ieee13-pair", description)
