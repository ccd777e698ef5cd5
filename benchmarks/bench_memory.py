"""Memory per idle client: hub RSS growth / N, wsbridge vs raw Tornado.

Each server runs in its own process; N clients (another process) connect,
say hello (wsbridge) and go idle. The server's RSS is read from /proc before
and after, once the connections have settled.
"""

from __future__ import annotations

import gc
import time
from typing import Any

import tornado.web
import tornado.websocket

import wsbridge as wb
from wsbridge import wire as p

from ._clients import hold_clients
from ._common import child, quiet_logs, raise_nofile, row, rss_bytes, serve_forever


class _Idle(tornado.websocket.WebSocketHandler):
    def open(self, *args: object) -> None:
        self.set_nodelay(True)


def _serve_raw(ready: Any, go: Any) -> None:
    raise_nofile(8192)
    serve_forever(tornado.web.Application([(r"/ws", _Idle)]), ready)


def _serve_wsbridge(ready: Any, go: Any) -> None:
    raise_nofile(8192)
    bridge = wb.Bridge(max_clients=20_000, max_clients_per_document=20_000).start()
    # a small but real dashboard: its snapshot is what each client receives
    slider = wb.Slider(value=1.0, label="f")
    bridge.dashboard("bench", wb.Column(children=[slider, wb.Label(value="hello")]))
    bridge.flush()
    ready.put((bridge.url, None))
    while True:
        time.sleep(3600)


def _settled_rss(pid: int) -> int:
    time.sleep(1.0)
    return rss_bytes(pid)


def _per_client(url: str, hello: str | None, pid: int, n: int) -> float:
    gc.collect()
    before = _settled_rss(pid)
    with child(hold_clients, url, n, hello) as (status, _g, _p):
        assert status == ("ready", n), status
        after = _settled_rss(pid)
    return (after - before) / n


def run(quick: bool = False) -> list[dict[str, Any]]:
    n = 100 if quick else 1000
    raise_nofile(4 * n + 256)
    with quiet_logs():
        with child(_serve_raw) as ((port, _), _go, proc):
            raw = _per_client(f"ws://127.0.0.1:{port}/ws", None, proc.pid, n)
        with child(_serve_wsbridge) as ((url, _), _go, proc):
            hello = p.encode(p.Hello(doc="bench")).data.decode()
            ours = _per_client(url.replace("http://", "ws://") + "ws", hello, proc.pid, n)
    return [
        row(
            "memory",
            f"per idle client, {n:,} clients",
            "KB",
            ours / 1024,
            raw / 1024,
            higher_is_better=False,
            target=3.0,
            notes="server RSS delta / N",
        )
    ]
