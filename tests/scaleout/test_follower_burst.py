"""A hub following Redis applies a burst of bus messages as a batch.

Real redis-server, a producer ``Bridge(backplane=...)``, a hub
``Bridge(follow=...)`` and Python clients: a burst the hub finds waiting on
its pub/sub connection reaches every viewer exact and in order, and each
viewer is written once per burst, not once per message
(docs/performance.md#batched-fan-out-on-a-follower-hub).
"""

from __future__ import annotations

import threading
from typing import Any

import redis

import wsbridge as wb
from tests.helpers.common import run, wait_until
from wsbridge.client import Client
from wsbridge.hub.hub import Hub
from wsbridge.scaleout.keys import BackplaneConfig, Keys

BURST = 200


def test_a_burst_is_written_once_per_viewer_exact_and_in_order(
    cfg: BackplaneConfig, rds: redis.Redis
) -> None:
    producer = wb.Bridge(backplane=cfg, serve=False).start()
    label = wb.Label(value="start", id="label")
    producer.dashboard("live", wb.Column(label))
    hub = wb.Bridge(follow=cfg).start()
    meta = Keys(cfg.prefix).meta("live")
    try:
        wait_until(lambda: hub.call(lambda h: "live" in h.documents))
        flushes: dict[str, int] = {}

        def count_flushes(h: Hub) -> None:
            """Count each viewer's writes requested by the hub (the real edge still runs)."""
            for session in h.sessions.values():
                real = session.flush

                def counted(sid: str = session.id, real: Any = real) -> None:
                    flushes[sid] = flushes.get(sid, 0) + 1
                    real()

                session.flush = counted

        async def main() -> None:
            clients = [await Client.connect(hub.url, "live") for _ in range(3)]
            seen: list[list[str]] = [[] for _ in clients]
            for c, got in zip(clients, seen, strict=True):
                c.on_message(
                    lambda m, got=got: got.append(m.state["value"]) if m.type == "patch" else None
                )
            start = clients[0].seq
            assert start is not None
            hub.call(count_flushes)
            # hold the hub's loop while the whole burst lands in Redis, so it
            # finds the burst waiting on its pub/sub connection
            release = threading.Event()
            held = threading.Thread(target=lambda: hub.call(lambda h: release.wait(10), 15))
            held.start()
            try:
                for i in range(BURST):
                    label.value = f"v{i}"
                wait_until(lambda: int(rds.hget(meta, "seq") or 0) >= start + BURST)
            finally:
                release.set()
                held.join()
            for c in clients:
                await c.wait_for(lambda c: c.seq == start + BURST, timeout=10)
                assert c.model("label")["value"] == f"v{BURST - 1}"
            for got in seen:  # every value, in order: nothing merged or lost
                assert got == [f"v{i}" for i in range(BURST)]
            assert len(flushes) == len(clients)
            assert all(n <= 4 for n in flushes.values()), flushes
            for c in clients:
                await c.close()

        run(main())
    finally:
        hub.stop()
        producer.stop()
