"""Event round trip with 100 other clients connected: wsbridge vs a raw Tornado echo.

wsbridge: ``Client.set(slider, value=v)`` -> the hub checks it -> the
producer's traits validate it -> a Python observer fires -> the canonical
patch goes to every client; the time is until the sender receives its echo.
Raw Tornado: a handler that echoes each text message back. In both cases 100
other clients (in another process) are connected to the same server, and
every socket has TCP_NODELAY. Those 100 stand for browsers on other
machines: they are ``_clients._Viewer`` connections, which find frame
boundaries, answer pings and discard the rest, so that their reading (which
only wsbridge's side has: every viewer gets the canonical patch) does not
take the measuring box's cores from the client being measured.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import tornado.web
import tornado.websocket
from tornado.websocket import websocket_connect

import wsbridge as wb
from wsbridge import wire as p
from wsbridge.client import Client

from ._clients import hold_light_clients
from ._common import child, nodelay, pct, quiet_logs, row, serve_forever

IDLE = 100


class _Echo(tornado.websocket.WebSocketHandler):
    def open(self, *args: object) -> None:
        self.set_nodelay(True)

    def on_message(self, message: str | bytes) -> None:
        self.write_message(message, binary=isinstance(message, bytes))


def _serve_raw(ready: Any, go: Any) -> None:
    serve_forever(tornado.web.Application([(r"/ws", _Echo)]), ready)


def _serve_wsbridge(ready: Any, go: Any) -> None:
    bridge = wb.Bridge().start()
    slider = wb.Slider(value=0.0, min=0.0, max=1e9, step=1.0)
    fired = [0]

    def observe(change: Any) -> None:
        fired[0] += 1

    slider.observe(observe, names="value")
    bridge.dashboard("bench", wb.Column(children=[slider]))
    bridge.flush()
    ready.put((bridge.url, slider.id))
    go.wait()
    ready.put(("fired", fired[0]))
    time.sleep(3600)


def _idle(url: str, hello: str | None) -> Any:
    return child(hold_light_clients, url, IDLE, hello)


async def _both(samples: int, warmup: int) -> tuple[list[float], list[float], int]:
    """Alternate raw and wsbridge round trips, so background load hits both alike."""
    hello = p.encode(p.Hello(doc="bench")).data.decode()
    with (
        child(_serve_raw) as ((port, _), _go, _proc),
        child(_serve_wsbridge) as ((url, slider_id), go, proc),
    ):
        raw_url = f"ws://127.0.0.1:{port}/ws"
        with (
            _idle(raw_url, None) as (status1, _g1, _p1),
            _idle(url.replace("http://", "ws://") + "ws", hello) as (status2, _g2, _p2),
        ):
            assert status1[0] == status2[0] == "ready", (status1, status2)
            conn = await websocket_connect(raw_url)
            nodelay(conn)
            client = await Client.connect(url, "bench")
            echo: list[asyncio.Future[None]] = []

            def on_message(message: p.Message) -> None:
                origin = getattr(message, "origin", None)
                if (
                    isinstance(message, p.Patch)
                    and origin
                    and origin.get("session") == client.session
                    and echo
                    and not echo[-1].done()
                ):
                    echo[-1].set_result(None)

            client.on_message(on_message)
            loop = asyncio.get_running_loop()
            raw, ours = [], []
            for i in range(samples + warmup):
                msg = json.dumps({"v": 1, "type": "set", "model": "m1", "state": {"value": i}})
                t0 = time.perf_counter()
                await conn.write_message(msg)
                await conn.read_message()
                raw.append(time.perf_counter() - t0)
                await asyncio.sleep(0.005)
                echo.append(loop.create_future())
                t0 = time.perf_counter()
                await client.set(slider_id, value=float(i + 1))
                await asyncio.wait_for(echo[-1], 10)
                ours.append(time.perf_counter() - t0)
                await asyncio.sleep(0.03)  # let the echo to the 100 others settle
            conn.close()
            await client.close()
            go.set()
            fired = proc.queue.get(timeout=10)[1]
    return raw[warmup:], ours[warmup:], fired


def run(quick: bool = False) -> list[dict[str, Any]]:
    samples, warmup = (150, 20) if quick else (1000, 50)
    with quiet_logs():
        raw, ours, fired = asyncio.run(_both(samples, warmup))
    assert fired == samples + warmup, f"the observer fired {fired} times"
    rows = []
    for q, target in ((50, 2.0), (99, 3.0)):
        rows.append(
            row(
                "roundtrip",
                f"p{q}, {IDLE} idle clients",
                "ms",
                pct(ours, q) * 1e3,
                pct(raw, q) * 1e3,
                higher_is_better=False,
                target=target,
                notes="set->validate->observer->echo" if q == 50 else "",
            )
        )
    return rows
