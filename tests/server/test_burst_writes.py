"""A producer's burst is written to each viewer in batches, exact and in order.

A real ``Bridge`` and Python clients over real sockets: while more producer
input is queued, the hub queues each message for its viewers without waking
their writers, and writes each viewer once per batch of messages
(docs/performance.md#writes-held-during-a-producers-burst).
"""

from __future__ import annotations

import threading
from typing import Any

import wsbridge as wb
from tests.helpers.common import run
from wsbridge.client import Client
from wsbridge.hub.hub import BURST_HOLD_MESSAGES, Hub

BURST = 200


def test_a_burst_is_written_in_batches_exact_and_in_order() -> None:
    bridge = wb.Bridge(port=0).start()
    label = wb.Label(value="start", id="label")
    bridge.dashboard("live", wb.Column(label))
    bridge.flush()
    calls: dict[str, int] = {}

    def count_writes(h: Hub) -> None:
        """Count each viewer's wake-ups and direct writes (the real edge still runs)."""
        for session in h.sessions.values():
            for name in ("wake", "flush"):
                real = getattr(session, name)

                def counted(sid: str = session.id, real: Any = real) -> None:
                    calls[sid] = calls.get(sid, 0) + 1
                    real()

                setattr(session, name, counted)

    async def main() -> None:
        clients = [await Client.connect(bridge.url, "live") for _ in range(3)]
        seen: list[list[str]] = [[] for _ in clients]
        for c, got in zip(clients, seen, strict=True):
            c.on_message(
                lambda m, got=got: got.append(m.state["value"]) if m.type == "patch" else None
            )
        start = clients[0].seq
        assert start is not None
        bridge.call(count_writes)
        # hold the hub's loop while the whole burst is handed off, so it
        # finds the burst queued
        release = threading.Event()
        held = threading.Thread(target=lambda: bridge.call(lambda h: release.wait(10), 15))
        held.start()
        try:
            for i in range(BURST):
                label.value = f"v{i}"
        finally:
            release.set()
            held.join()
        for c in clients:
            await c.wait_for(lambda c: c.seq == start + BURST, timeout=10)
            assert c.model("label")["value"] == f"v{BURST - 1}"
        for got in seen:  # every value, in order: nothing merged or lost
            assert got == [f"v{i}" for i in range(BURST)]
        assert len(calls) == len(clients)
        most = BURST // BURST_HOLD_MESSAGES + 4
        assert all(n <= most for n in calls.values()), calls
        for c in clients:
            await c.close()

    try:
        run(main())
    finally:
        bridge.stop()
