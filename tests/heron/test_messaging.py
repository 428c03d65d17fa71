"""In-memory broker: latency, deterministic ordering, seeded drops."""

from __future__ import annotations

import pytest

from heron.messaging import Broker, InMemoryBroker, Message


def msg(sender: str, recipient: str, step: int, topic: str = "t", **payload: float) -> Message:
    return Message(sender=sender, recipient=recipient, topic=topic, payload=payload, sent_at=step)


def test_message_is_frozen() -> None:
    m = msg("a", "b", 0)
    with pytest.raises(AttributeError):
        m.topic = "x"  # type: ignore[misc]


def test_broker_satisfies_protocol() -> None:
    broker: Broker = InMemoryBroker()
    broker.send(msg("a", "b", 3))
    assert broker.deliver(3) == {"b": [msg("a", "b", 3)]}


@pytest.mark.parametrize("latency", [0, 1, 4])
def test_uniform_latency_delivers_exactly_l_steps_later(latency: int) -> None:
    broker = InMemoryBroker(latency=latency)
    broker.send(msg("a", "b", 2, x=1.0))
    for step in range(2, 2 + latency):
        assert broker.deliver(step) == {}
    out = broker.deliver(2 + latency)
    assert [m.payload for m in out["b"]] == [{"x": 1.0}]
    assert broker.pending == 0
    assert broker.deliver(3 + latency) == {}


def test_per_link_latency_and_order() -> None:
    broker = InMemoryBroker(latency={("a", "c"): 2, ("b", "c"): 1})
    broker.send(msg("a", "c", 0, topic="first"))
    broker.send(msg("b", "c", 0, topic="second"))
    broker.send(msg("b", "c", 1, topic="third"))
    broker.send(msg("c", "a", 0, topic="zero"))  # unlisted link: latency 0
    assert broker.deliver(0) == {"a": [msg("c", "a", 0, topic="zero")]}
    assert [m.topic for m in broker.deliver(1)["c"]] == ["second"]
    # Due at step 2: "first" (sent earlier) then "third", in send order.
    assert [m.topic for m in broker.deliver(2)["c"]] == ["first", "third"]


def test_skipped_steps_lose_nothing_and_recipients_sorted() -> None:
    broker = InMemoryBroker(latency=1)
    for r in ("z", "b", "m"):
        broker.send(msg("s", r, 0))
    out = broker.deliver(10)
    assert list(out) == ["b", "m", "z"]


def test_seeded_drops_reproducible_and_counted() -> None:
    def run(seed: int) -> tuple[int, list[int]]:
        broker = InMemoryBroker(drop_probability=0.3, seed=seed)
        for i in range(500):
            broker.send(msg("a", "b", 0, i=float(i)))
        delivered = [int(m.payload["i"]) for m in broker.deliver(0).get("b", [])]
        assert broker.dropped + len(delivered) == 500
        return broker.dropped, delivered

    first, second = run(7), run(7)
    assert first == second
    assert 100 < first[0] < 200
    assert run(8) != first
    assert first[1] == sorted(first[1])


def test_no_drops_at_zero_probability_and_all_at_one() -> None:
    keep, lose = InMemoryBroker(drop_probability=0.0), InMemoryBroker(drop_probability=1.0)
    for i in range(20):
        keep.send(msg("a", "b", i))
        lose.send(msg("a", "b", i))
    assert keep.dropped == 0
    assert len(keep.deliver(100)["b"]) == 20
    assert lose.dropped == 20
    assert lose.deliver(100) == {}


@pytest.mark.parametrize("kwargs", [{"drop_probability": 1.5}, {"latency": -1}, {"latency": {("a", "b"): -2}}])
def test_invalid_configuration(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        InMemoryBroker(**kwargs)
