"""Fan-out of a 1 KB property patch to 1,000 clients vs a raw Tornado broadcast loop.

wsbridge: the producer sets a ``Label.value`` of ~1 KB; the hub encodes the
patch once and queues the same bytes to every session's writer. Raw Tornado:
a loop calling ``write_message`` on every open handler with the same 1 KB.
The 1,000 clients live in another process and time each arrival; a round's
time is from the producer's call to the last client's arrival (both clocks
are CLOCK_MONOTONIC). Every round must reach every client.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import tornado.web
import tornado.websocket

import wsbridge as wb
from wsbridge import wire as p

from ._clients import hold_clients
from ._common import child, mp_context, pct, quiet_logs, raise_nofile, row, serve_forever

MARK = "@@"
PAYLOAD = "x" * 1024


class _Viewer(tornado.websocket.WebSocketHandler):
    viewers: set[_Viewer] = set()

    def open(self, *args: object) -> None:
        self.set_nodelay(True)
        self.viewers.add(self)

    def on_close(self) -> None:
        self.viewers.discard(self)


def _serve_raw(ready: Any, go: Any, cmd: Any) -> None:
    def broadcast(k: int) -> None:
        t0 = time.perf_counter()
        msg = f"{MARK}{k}|{PAYLOAD}"
        for viewer in list(_Viewer.viewers):
            viewer.write_message(msg)
        ready.put(("sent", k, t0))

    def commands() -> None:
        while True:
            k = cmd.get()
            loop.call_soon_threadsafe(broadcast, k)

    loop = asyncio.new_event_loop()
    threading.Thread(target=commands, daemon=True).start()
    serve_forever(tornado.web.Application([(r"/ws", _Viewer)]), ready, loop=loop)


def _serve_wsbridge(ready: Any, go: Any, cmd: Any) -> None:
    raise_nofile(4096)
    bridge = wb.Bridge(max_clients=20_000, max_clients_per_document=20_000).start()
    label = wb.Label(value="")
    bridge.dashboard("bench", wb.Column(children=[label]))
    bridge.flush()
    ready.put((bridge.url, label.id))
    while True:
        k = cmd.get()
        t0 = time.perf_counter()
        label.value = f"{MARK}{k}|{PAYLOAD}"
        ready.put(("sent", k, t0))


def _round(server: Any, cmd: Any, clients: Any, k: int) -> float:
    """One broadcast; the time from the producer's call to the last delivery (s)."""
    cmd.put(k)
    _, k0, t0 = server.queue.get(timeout=30)
    done, k1, t1 = clients.queue.get(timeout=30)  # raises Empty if one never arrives
    assert (k0, done, k1) == (k, "done", k), (k0, done, k1)
    return float(t1 - t0)


def run(quick: bool = False) -> list[dict[str, Any]]:
    n, rounds = (200, 10) if quick else (1000, 40)
    raise_nofile(4 * n + 256)
    ctx = mp_context()
    raw_cmd, our_cmd = ctx.Queue(), ctx.Queue()
    hello = p.encode(p.Hello(doc="bench")).data.decode()
    raw: list[float] = []
    ours: list[float] = []
    with (
        quiet_logs(),
        child(_serve_raw, raw_cmd) as ((port, _), _g1, raw_server),
        child(_serve_wsbridge, our_cmd) as ((url, _label), _g2, our_server),
        child(hold_clients, f"ws://127.0.0.1:{port}/ws", n, None, MARK) as (s1, _g3, raw_clients),
        child(hold_clients, url.replace("http://", "ws://") + "ws", n, hello, MARK) as (
            s2,
            _g4,
            our_clients,
        ),
    ):
        assert s1 == s2 == ("ready", n), (s1, s2)
        for k in range(rounds):  # alternate, so background load hits both alike
            raw.append(_round(raw_server, raw_cmd, raw_clients, k))
            time.sleep(0.05)
            ours.append(_round(our_server, our_cmd, our_clients, k))
            time.sleep(0.05)
    rows = []
    for q, target in ((50, None), (99, 1.5)):
        rows.append(
            row(
                "fanout",
                f"p{q}, 1 KB to {n:,} clients",
                "ms",
                pct(ours, q) * 1e3,
                pct(raw, q) * 1e3,
                higher_is_better=False,
                target=target,
                notes="time to last delivery; all delivered" if q == 50 else "",
            )
        )
    return rows
