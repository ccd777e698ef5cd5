"""Messages held during a producer's burst keep every session's order exact.

Sans I/O (tests/helpers/pair.py): the hub is told more producer input is
queued, so it holds a burst's messages and queues them session by session
later (docs/performance.md#writes-held-during-a-producers-burst). Whatever
else reaches a session meanwhile comes after them, and a session joining
mid-burst gets its snapshot and only the messages after it.
"""

from __future__ import annotations

from collections.abc import Callable

import wsbridge as wb
from tests.helpers.pair import Pair
from wsbridge.hub.hub import BURST_HOLD_MESSAGES
from wsbridge.wire.messages import Error, Message, Patch, Snapshot


def _seen(messages: list[Message]) -> list[object]:
    out: list[object] = []
    for m in messages:
        if isinstance(m, Patch):
            out.append((m.seq, m.state["value"]))
        elif isinstance(m, Snapshot):
            out.append(("snapshot", m.seq))
        elif isinstance(m, Error):
            out.append("error")
    return out


def test_held_burst_order_is_exact_for_members_joiners_and_errors() -> None:
    pair = Pair()
    more = [True]
    due: list[Callable[[], None]] = []
    pair.hub.more_input = lambda: more[0]
    pair.hub.soon = due.append
    label = wb.Label(value="v0")
    pair.create("main", wb.Column(label))
    a = pair.connect()
    start = pair.hub.documents["main"].seq
    label.value = "v1"
    label.value = "v2"
    assert pair.pump(a) == 0  # held: nothing queued to anyone yet
    b = pair.connect()  # its welcome queues the held messages to a first
    label.value = "v3"
    pair.send(a, "not json")  # an error to a: after v3, which was fanned out first
    label.value = "v4"
    assert due, "the hub asked to be called back after the hand-off's turn"
    more[0] = False
    while due:
        due.pop(0)()
    pair.pump()
    assert _seen(pair.received(a))[-5:] == [
        (start + 1, "v1"),
        (start + 2, "v2"),
        (start + 3, "v3"),
        "error",
        (start + 4, "v4"),
    ]
    assert _seen(pair.received(b)) == [
        ("snapshot", start + 2),
        (start + 3, "v3"),
        (start + 4, "v4"),
    ]
    for c in (a, b):
        assert c.state is not None and c.state.model_state(label.id)["value"] == "v4"


def test_a_burst_is_released_after_its_limit_of_messages() -> None:
    pair = Pair()
    pair.hub.more_input = lambda: True  # the producer never stops
    pair.hub.soon = lambda fn: None
    label = wb.Label(value="v0")
    pair.create("main", wb.Column(label))
    a = pair.connect()
    for i in range(BURST_HOLD_MESSAGES - 1):
        label.value = f"v{i + 1}"
    assert pair.pump(a) == 0
    label.value = "last"
    assert pair.pump(a) == BURST_HOLD_MESSAGES
    assert a.state is not None and a.state.model_state(label.id)["value"] == "last"
