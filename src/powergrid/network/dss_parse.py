"""A reader for the subset of the OpenDSS script language used by distribution test feeders.

It reads ``New <class>.<name> prop=value ...`` statements (with ``~``/``more`` continuation lines), ``redirect`` /
``compile`` of other files, ``set`` options, and skips the commands that only solve or report (``solve``,
``calcv``, ``buscoords``, ``show`` …). Comments ``!`` and ``//`` (to end of line) and ``/* … */`` blocks are
removed. Values keep their raw text; the helpers below turn them into numbers (including OpenDSS's in-line RPN
such as ``(8 1000 /)``), arrays and lower-triangular matrices. Anything else (``edit``, ``batchedit``, unknown
commands) raises a DataError naming file and line, so a file that changes elements after creation is never
silently misread.

No OpenDSS engine is involved: this is text processing (plus numpy for the matrices).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

import numpy as np

from powergrid.errors import DataError

#: Commands that only solve, report or draw: they do not change the circuit data.
_IGNORED_COMMANDS = frozenset(
    {"clear", "calcv", "calcvoltagebases", "solve", "buscoords", "show", "plot", "export", "visualize", "summary"}
)
_OPEN = {"(": ")", "[": "]", "{": "}", '"': '"', "'": "'"}
_LENGTH_M = {"mi": 1609.344, "kft": 304.8, "km": 1000.0, "m": 1.0, "ft": 0.3048, "in": 0.0254, "cm": 0.01}


@dataclass
class DssElement:
    """One ``New`` statement: class and name in lower case, properties in the order written (key lower case)."""

    cls: str
    name: str
    props: list[tuple[str, str]]
    where: str  # "file:line" of the New statement, for error messages

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    def get(self, key: str, default: str | None = None) -> str | None:
        """The last value assigned to ``key`` (lower case), or ``default``."""
        value = default
        for k, v in self.props:
            if k == key:
                value = v
        return value

    def require(self, key: str) -> str:
        """The last value assigned to ``key`` (lower case); a DataError if there is none."""
        value = self.get(key)
        if value is None:
            raise DataError(f"{self.where}: {self.cls}.{self.name} has no {key!r}")
        return value

    def number(self, key: str, default: float | None = None) -> float:
        """A numeric property; a DataError if it is missing without default or not a number."""
        raw = self.get(key)
        if raw is None:
            if default is None:
                raise DataError(f"{self.where}: {self.cls}.{self.name} has no {key!r}")
            return default
        return parse_number(raw, f"{self.where}: {self.cls}.{self.name} {key}")


@dataclass
class DssCircuit:
    """All elements of a script, in order, with the ``set`` options (keys lower case)."""

    name: str
    elements: list[DssElement] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)

    def of_class(self, cls: str) -> list[DssElement]:
        """The enabled elements of a class, in file order."""
        return [e for e in self.elements if e.cls == cls and not _is_false(e.get("enabled", "yes"))]

    def find(self, cls: str, name: str) -> DssElement:
        for e in self.elements:
            if e.cls == cls and e.name == name.lower():
                return e
        raise DataError(f"circuit {self.name!r}: no {cls}.{name}")


def _is_false(raw: str) -> bool:
    return raw.strip().lower().startswith(("n", "f"))


def is_true(raw: str | None) -> bool:
    """OpenDSS yes/true/y (case-insensitive)."""
    return raw is not None and raw.strip().lower().startswith(("y", "t"))


def parse_number(raw: str, what: str) -> float:
    """A float, or an OpenDSS RPN expression in parentheses such as ``(8 1000 /)``."""
    text = raw.strip()
    if text[:1] in "([{" and text[-1:] in ")]}":
        return _rpn(text[1:-1], what)
    try:
        return float(text)
    except ValueError:
        raise DataError(f"{what}: {raw!r} is not a number") from None


def _rpn(expr: str, what: str) -> float:
    ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}
    ops["^"] = lambda a, b: a**b
    stack: list[float] = []
    for tok in expr.split():
        if tok in ops:
            if len(stack) < 2:
                raise DataError(f"{what}: RPN expression {expr!r} lacks an operand")
            b, a = stack.pop(), stack.pop()
            stack.append(ops[tok](a, b))
        else:
            stack.append(parse_number(tok, what))
    if len(stack) != 1:
        raise DataError(f"{what}: RPN expression {expr!r} does not reduce to one number")
    return stack[0]


def parse_array(raw: str) -> list[str]:
    """The items of ``[a b c]``, ``(a, b)``, ``"a b"`` or a bare single value."""
    text = raw.strip()
    if text[:1] in _OPEN and text[-1:] == _OPEN[text[0]]:
        text = text[1:-1]
    return [t for t in re.split(r"[\s,]+", text) if t]


def parse_matrix(raw: str, what: str) -> np.ndarray:
    """A symmetric matrix from OpenDSS text: rows separated by ``|``, lower triangle or full rows."""
    text = raw.strip()
    if text[:1] in _OPEN and text[-1:] == _OPEN[text[0]]:
        text = text[1:-1]
    rows = [[parse_number(t, what) for t in re.split(r"[\s,]+", r.strip()) if t] for r in text.split("|")]
    n = len(rows)
    if all(len(r) == i + 1 for i, r in enumerate(rows)):
        m = np.zeros((n, n))
        for i, r in enumerate(rows):
            m[i, : i + 1] = r
        return np.tril(m) + np.tril(m, -1).T
    if all(len(r) == n for r in rows):
        m = np.array(rows, dtype=float)
        if not np.allclose(m, m.T):
            raise DataError(f"{what}: full matrix is not symmetric")
        return m
    raise DataError(f"{what}: matrix rows {[len(r) for r in rows]} are neither lower triangle nor full")


def length_to_m(units: str | None) -> float | None:
    """Metres per OpenDSS length unit, None for ``none``/missing."""
    if units is None or units.lower() == "none":
        return None
    try:
        return _LENGTH_M[units.lower()]
    except KeyError:
        raise DataError(f"unknown OpenDSS length unit {units!r}") from None


def parse_bus(spec: str, n_default: int) -> tuple[str, tuple[int, ...]]:
    """``"671.1.3"`` → ("671", (1, 3)); a bare name → nodes 1..n_default. Node 0 (ground) is kept."""
    name, *nodes = spec.strip().split(".")
    if not nodes:
        return name, tuple(range(1, n_default + 1))
    try:
        return name, tuple(int(n) for n in nodes)
    except ValueError:
        raise DataError(f"bus {spec!r}: node numbers must be integers") from None


def _strip_comments(text: str) -> list[str]:
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    lines = []
    for line in text.splitlines():
        cut = [i for i in (line.find("!"), line.find("//")) if i >= 0]
        lines.append(line[: min(cut)] if cut else line)
    return lines


def _tokens(text: str, where: str) -> list[str]:
    """Split a statement into tokens, keeping bracketed/quoted groups whole and ``key = value`` as one token."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        j = i
        while j < n and not text[j].isspace():
            if text[j] in _OPEN:
                close = text.find(_OPEN[text[j]], j + 1)
                if close < 0:
                    raise DataError(f"{where}: unclosed {text[j]!r}")
                j = close
            j += 1
        out.append(text[i:j])
        i = j
    merged: list[str] = []  # join "key", "=", "value" and "key=", "value"
    for tok in out:
        if merged and (tok.startswith("=") or merged[-1].endswith("=")):
            merged[-1] += tok
        else:
            merged.append(tok)
    return merged


def _props(tokens: list[str], where: str) -> list[tuple[str, str]]:
    props = []
    for tok in tokens:
        if "=" not in tok:
            raise DataError(f"{where}: positional property {tok!r} is not supported; write key=value")
        key, value = tok.split("=", 1)
        props.append((key.strip().lower(), value.strip()))
    return props


def parse_dss(path: str | Path) -> DssCircuit:
    """Read an OpenDSS script (following ``redirect``/``compile``) into a DssCircuit."""
    circuit = DssCircuit(name="")
    _read(Path(path), circuit)
    if not circuit.name:
        raise DataError(f"{path}: no 'New Circuit' statement")
    return circuit


def _read(path: Path, circuit: DssCircuit) -> None:
    if not path.is_file():
        raise DataError(f"OpenDSS file not found: {path}")
    current: DssElement | None = None
    for lineno, line in enumerate(_strip_comments(path.read_text()), start=1):
        where = f"{path.name}:{lineno}"
        toks = _tokens(line, where)
        if not toks:
            continue
        cmd = toks[0].lower()
        if cmd in ("~", "more", "m"):
            if current is None:
                raise DataError(f"{where}: continuation line without a preceding New statement")
            current.props.extend(_props(toks[1:], where))
            continue
        current = None
        if cmd == "new":
            if len(toks) < 2 or "." not in toks[1]:
                raise DataError(f"{where}: expected 'New <class>.<name>'")
            cls, name = toks[1].split(".", 1)
            element = DssElement(cls.lower(), name.lower(), _props(toks[2:], where), where)
            if element.cls == "circuit":
                circuit.name = name
                element = DssElement("vsource", "source", element.props, where)
            circuit.elements.append(element)
            current = element
        elif cmd in ("redirect", "compile"):
            _read(path.parent / toks[1].strip("\"'"), circuit)
        elif cmd == "set":
            for key, value in _props(toks[1:], where):
                circuit.options[key] = value
        elif cmd not in _IGNORED_COMMANDS:
            raise DataError(f"{where}: OpenDSS command {toks[0]!r} is not supported by this reader")


def sequence_to_phase(z1: complex, z0: complex, n: int) -> np.ndarray:
    """An n×n phase matrix from sequence values: self (2·z1 + z0)/3, mutual (z0 − z1)/3."""
    zs, zm = (2 * z1 + z0) / 3, (z0 - z1) / 3
    return np.full((n, n), zm) + np.eye(n) * (zs - zm)


def transformer_windings(t: DssElement) -> list[dict]:
    """Winding data of a transformer: bus, conn, kv, kva, r (%), tap; plus xhl (%) on the first winding."""
    n = int(t.number("windings", 2))
    if n != 2:
        raise DataError(f"{t.where}: transformer.{t.name} has {n} windings; only 2 are supported")
    w = [{"bus": None, "conn": "wye", "kv": 12.47, "kva": 1000.0, "r": 0.2, "tap": 1.0} for _ in range(n)]
    active = 0
    plural = {"buses": "bus", "conns": "conn", "kvs": "kv", "kvas": "kva", "taps": "tap", "%rs": "r"}
    for key, value in t.props:
        what = f"{t.where}: transformer.{t.name} {key}"
        if key == "wdg":
            active = int(parse_number(value, what)) - 1
        elif key in ("bus", "conn"):
            w[active][key] = value.lower() if key == "conn" else value
        elif key in ("kv", "kva", "tap", "%r"):
            w[active][key.lstrip("%")] = parse_number(value, what)
        elif key in plural:
            items = parse_array(value)
            attr = plural[key]
            for k, item in enumerate(items[:n]):
                w[k][attr] = item if attr == "bus" else item.lower() if attr == "conn" else parse_number(item, what)
        elif key == "%loadloss":
            for k in range(n):
                w[k]["r"] = parse_number(value, what) / 2
    for k in range(n):
        if w[k]["conn"] not in ("wye", "delta", "y", "d", "ln", "ll"):
            raise DataError(f"{t.where}: transformer.{t.name} winding {k + 1} conn {w[k]['conn']!r} unknown")
        w[k]["conn"] = "delta" if w[k]["conn"] in ("delta", "d", "ll") else "wye"
    w[0]["xhl"] = t.number("xhl", t.number("x12", 7.0))
    return w


def impedance_per_length(e: DssElement, n: int) -> tuple[np.ndarray, np.ndarray, str | None]:
    """(Z Ω, C F) n×n per unit length and the length unit, from a linecode or a line's own properties.

    Matrices if given, else sequence values (OpenDSS defaults R1 0.058, X1 0.1206, R0 0.1784, X0 0.4047 Ω,
    C1 3.4, C0 1.6 nF per unit length)."""
    where = f"{e.where}: {e.cls}.{e.name}"
    rmatrix, xmatrix = e.get("rmatrix"), e.get("xmatrix")
    if rmatrix is not None and xmatrix is not None:
        z = parse_matrix(rmatrix, where) + 1j * parse_matrix(xmatrix, where)
    else:
        z1 = complex(e.number("r1", 0.058), e.number("x1", 0.1206))
        z0 = complex(e.number("r0", 0.1784), e.number("x0", 0.4047))
        z = sequence_to_phase(z1, z0, n)
    cmatrix = e.get("cmatrix")
    if cmatrix is not None:
        c = parse_matrix(cmatrix, where)
    else:
        c = sequence_to_phase(e.number("c1", 3.4), e.number("c0", 1.6), n).real
    if z.shape != (n, n) or c.shape != (n, n):
        raise DataError(f"{where}: matrices {z.shape}/{c.shape} do not match {n} phases")
    return z, c * 1e-9, e.get("units")


@dataclass(frozen=True)
class BusLayout:
    """Buses of a circuit by lower-case name: display name, phases present (0 = a … 2 = c) and line-to-line base
    voltage (V)."""

    names: dict[str, str]
    phases: dict[str, tuple[int, ...]]
    base_v: dict[str, float]


def _terminal_specs(e: DssElement) -> list[str]:
    if e.cls == "transformer":
        specs = [w["bus"] for w in transformer_windings(e)]
    elif e.cls == "line":
        specs = [e.get("bus1"), e.get("bus2")]
    elif e.cls in ("load", "capacitor"):
        specs = [e.get("bus1")]
    elif e.cls == "vsource":
        specs = [e.get("bus1", "sourcebus")]
    else:
        return []
    if any(s is None for s in specs):
        raise DataError(f"{e.where}: {e.cls}.{e.name} lacks a bus")
    return specs


def bus_layout(c: DssCircuit) -> BusLayout:
    """Every bus of the circuit with its phases and its base voltage: propagated from the source through the
    winding ratios, then snapped to the nearest of ``Set Voltagebases`` (as OpenDSS's ``calcv`` does)."""
    names: dict[str, str] = {}
    phases: dict[str, set[int]] = {}
    kv: dict[str, float] = {}
    edges: list[tuple[str, str, float]] = []
    elements = [e for cls in ("vsource", "transformer", "line", "load", "capacitor") for e in c.of_class(cls)]
    for e in elements:
        terminals = [parse_bus(s, int(e.number("phases", 3))) for s in _terminal_specs(e)]
        for name, nodes in terminals:
            if any(n < 0 or n > 3 for n in nodes):
                raise DataError(f"{e.where}: {e.cls}.{e.name} uses nodes {nodes}; only 0 (ground) and 1..3")
            names.setdefault(name.lower(), name)
            phases.setdefault(name.lower(), set()).update(n - 1 for n in nodes if n > 0)
        buses = [name.lower() for name, _ in terminals]
        if e.cls == "vsource":
            kv[buses[0]] = e.number("basekv")
        elif e.cls == "line":
            edges.append((buses[0], buses[1], 1.0))
        elif e.cls == "transformer":
            w = transformer_windings(e)
            edges += [(buses[0], buses[k], w[k]["kv"] / w[0]["kv"]) for k in range(1, len(w))]
    changed = True
    while changed:  # spread voltages along the edges until nothing changes (a small graph)
        changed = False
        for a, b, ratio in edges:
            if a in kv and b not in kv:
                kv[b], changed = kv[a] * ratio, True
            elif b in kv and a not in kv:
                kv[a], changed = kv[b] / ratio, True
    missing = set(names) - set(kv)
    if missing:
        raise DataError(f"circuit {c.name!r}: buses not connected to the source: {sorted(missing)}")
    if "voltagebases" in c.options:
        levels = np.array([parse_number(x, "Set Voltagebases") for x in parse_array(c.options["voltagebases"])])
        kv = {b: float(levels[np.argmin(np.abs(levels - v))]) for b, v in kv.items()}
    return BusLayout(names, {b: tuple(sorted(p)) for b, p in phases.items()}, {b: kv[b] * 1e3 for b in names})
