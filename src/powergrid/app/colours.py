"""One colour per controller and per series, the same in every figure (dashboard, report, PNGs).

Controllers get fixed colours (the registered ones in a fixed order); any other label (a run key, a series, a
controller with a scenario suffix) gets a stable colour derived from its text, so a label never changes colour
between figures or sessions.
"""

from __future__ import annotations

import hashlib

#: Fixed colours of the registered controllers and of the named series (Tableau 10 and darker tones).
FIXED = {
    "grid-only": "#7f7f7f",
    "self-consumption": "#1f77b4",
    "truthful-bidder": "#ff7f0e",
    "greedy": "#2ca02c",
    "mpc": "#9467bd",
    "oracle": "#d62728",
    "ppo": "#8c564b",
    "wallet": "#1f77b4",
    "import": "#d62728",
    "export": "#2ca02c",
    "stored": "#9467bd",
    "production": "#ff7f0e",
    "consumption": "#1f77b4",
    "p2p": "#17becf",
}

_SPARE = ("#e377c2", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")


def colour_of(label: str) -> str:
    """The colour of a controller, series or run label; ``"mpc · community-5"`` takes the colour of ``mpc``."""
    head = label.split(" · ", 1)[0]
    if head in FIXED:
        return FIXED[head]
    digest = int(hashlib.sha256(head.encode()).hexdigest()[:8], 16)
    return _SPARE[digest % len(_SPARE)]
