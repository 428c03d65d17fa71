"""Messages between agents and a deterministic in-memory broker with per-link latency and seeded drops.

Time is a discrete step counter. A message sent at step ``s`` on a link of latency ``L`` becomes deliverable at
step ``s + L``. Drops are decided at send time with a seeded ``numpy`` Generator, so a run is reproducible.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from heron.errors import MessagingError


@dataclass(frozen=True)
class Message:
    """An immutable message; ``sent_at`` is the step at which it was sent."""

    sender: str
    recipient: str
    topic: str
    payload: dict[str, Any]
    sent_at: int


class Broker(Protocol):
    """Anything that accepts messages and hands them out per recipient at a given step."""

    def send(self, msg: Message) -> None: ...

    def deliver(self, step: int) -> dict[str, list[Message]]: ...


@dataclass
class InMemoryBroker:
    """Single-process broker: fixed per-link latency (steps) and independent drops with a fixed probability.

    Args:
        latency: one latency for every link, or a mapping ``(sender, recipient) -> steps``; links missing from
            the mapping have latency 0.
        drop_probability: probability in [0, 1] that a sent message is lost (counted in ``dropped``).
        seed: seed of the drop generator.

    ``deliver(step)`` returns every pending message due at or before ``step`` (so skipped steps lose nothing),
    grouped by recipient (recipients sorted) and, per recipient, ordered by (due step, send order).
    """

    latency: dict[tuple[str, str], int] | int = 0
    drop_probability: float = 0.0
    seed: int = 0
    dropped: int = field(default=0, init=False)
    sent: int = field(default=0, init=False)
    _rng: np.random.Generator = field(init=False, repr=False)
    _queue: list[tuple[int, int, Message]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.drop_probability <= 1.0:
            raise MessagingError(f"drop_probability must be in [0, 1], got {self.drop_probability}")
        values = [self.latency] if isinstance(self.latency, int) else list(self.latency.values())
        if any(int(v) != v or v < 0 for v in values):
            raise MessagingError(f"latencies must be non-negative integers, got {self.latency}")
        self._rng = np.random.default_rng(self.seed)

    def link_latency(self, sender: str, recipient: str) -> int:
        """Latency in steps of the link ``sender -> recipient``."""
        if isinstance(self.latency, int):
            return self.latency
        return int(self.latency.get((sender, recipient), 0))

    def send(self, msg: Message) -> None:
        """Queue ``msg`` for delivery at ``msg.sent_at + latency``, unless it is dropped."""
        seq = self.sent
        self.sent += 1
        if self.drop_probability > 0.0 and self._rng.random() < self.drop_probability:
            self.dropped += 1
            return
        heapq.heappush(self._queue, (msg.sent_at + self.link_latency(msg.sender, msg.recipient), seq, msg))

    def deliver(self, step: int) -> dict[str, list[Message]]:
        """Pop every message due at or before ``step``; ``{recipient: [messages]}`` with recipients sorted."""
        out: dict[str, list[Message]] = {}
        while self._queue and self._queue[0][0] <= step:
            _, _, msg = heapq.heappop(self._queue)
            out.setdefault(msg.recipient, []).append(msg)
        return dict(sorted(out.items()))

    @property
    def pending(self) -> int:
        """Number of messages queued but not yet delivered."""
        return len(self._queue)
