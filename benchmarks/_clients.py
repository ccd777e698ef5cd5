"""Many WebSocket clients in a child process (idle viewers, fan-out receivers).

Kept out of the measuring process so that reading N sockets never competes
with the measured client or the server for one GIL.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

from tornado.websocket import websocket_connect

from ._common import raise_nofile


def hold_clients(
    ready: Any,
    go: Any,
    url: str,
    n: int,
    hello: str | None,
    marker: str | None = None,
    nice: int = 0,
) -> None:
    """Connect ``n`` clients to ``url`` (sending ``hello`` first when given).

    Every client reads and discards what it gets. With ``marker`` (a prefix
    such as ``"@@"``), a received text frame containing ``marker + k + "|"``
    records its arrival time for round ``k``; when all ``n`` clients saw round
    ``k`` the child puts ``("done", k, last_arrival)`` on ``ready``.

    ``nice`` lowers this process's CPU priority: for viewers that stand for
    other machines, so that on a 2-core box their reading does not take the
    measured client's core (see bench_roundtrip).
    """
    if nice:
        os.nice(nice)
    raise_nofile(4 * n + 256)
    rounds: dict[int, list[float]] = {}

    def make_callback() -> Any:
        def on_message(msg: Any) -> None:
            if marker is None or not isinstance(msg, str):
                return
            at = msg.find(marker)
            if at < 0:
                return
            now = time.perf_counter()
            end = msg.index("|", at)
            k = int(msg[at + len(marker) : end])
            got = rounds.setdefault(k, [0, 0.0])
            got[0] += 1
            got[1] = max(got[1], now)
            if got[0] == n:
                ready.put(("done", k, got[1]))

        return on_message

    async def main() -> None:
        conns = []
        for i in range(n):
            for attempt in range(5):
                try:
                    conn = await websocket_connect(
                        url, on_message_callback=make_callback(), max_message_size=1 << 30
                    )
                    break
                except OSError:
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.05)
            try:
                conn.protocol.stream.set_nodelay(True)  # type: ignore[union-attr]
            except (AttributeError, OSError):
                pass
            if hello is not None:
                await conn.write_message(hello)
            conns.append(conn)
            if i % 100 == 99:
                await asyncio.sleep(0)
        await asyncio.sleep(0.5)  # welcome + snapshot read by everyone
        ready.put(("ready", len(conns)))
        while True:
            await asyncio.sleep(3600)

    try:
        asyncio.run(main())
    except Exception as exc:  # tell the parent instead of leaving it waiting
        print(f"hold_clients failed: {exc!r}", file=sys.stderr)
        ready.put(("failed", repr(exc)))
