"""Stream throughput: wsbridge vs raw Tornado vs Bokeh server vs stdlib JSON.

Every transport delivers the same float64 payload, N values per message, to
a Python client on loopback; throughput is float64 values received per
second, measured from the first message's arrival to the last one's (steady
state; connection set-up excluded for all).

- raw Tornado: one binary frame of N float64 per message, 8 messages in
  flight, each ``write_message`` future awaited (the ceiling);
- wsbridge: ``DataSource.stream({"x": ..., "y": ...})`` of N/2 rows from a
  producer thread, through the hub (sequence, replica, log, outbox, writer
  task); the client parses the binary header and views the buffers. Calls
  that queue up while the hub is busy reach it as one message
  (``Hub.publish_many``); every value is still delivered (``ROLLOVER``);
- Bokeh: a real ``bokeh.server.server.Server``, ``ColumnDataSource.stream``
  of N/2 rows of x, y from a chain of next-tick callbacks; the client reads
  Bokeh's wire protocol with a raw WebSocket and counts buffer bytes;
- JSON: raw Tornado sending ``json.dumps(list_of_floats)`` text frames
  (8 in flight), the client ``json.loads`` them;
- wsbridge over its streaming-HTTP fallback (docs/deploy.md "The
  streaming-HTTP fallback"): the same hub and producer, the frames read from
  the ``POST <url>stream`` response by the Python client's transport
  (``client/httpstream.py``); its row's baseline is wsbridge over a
  WebSocket in the same run.

    python -m benchmarks.bench_stream [--quick]
"""

from __future__ import annotations

import asyncio
import collections
import json
import struct
import threading
import time
from typing import Any

import numpy as np
import orjson
import tornado.web
import tornado.websocket
from tornado.websocket import websocket_connect

import wsbridge as wb
from wsbridge import wire as p

from ._common import WS_OPTIONS, child, free_port, nodelay, quiet_logs, row, serve_forever

IN_FLIGHT = 8
#: Bridge options for the "without coalescing" variant (high-water mark out of reach)
NO_COALESCING = {"queue_high_water": 1 << 40}
#: wsbridge's rollover (rows): more than a batch of streams ever holds
#: (``Bridge`` batches up to 1 MiB of columns), so that every value is
#: delivered and counted; with a rollover of one message, batches and a
#: lagging client's coalescing would rightly drop rows no client could see,
#: and a throughput of delivered values would no longer compare with raw
#: Tornado's. Bokeh keeps a rollover of one message (its fastest case: its
#: ``stream`` copies the whole window).
ROLLOVER = 1_000_000
#: every run sends at least this many bytes of float64 (not with --quick)
STEADY_BYTES = 32 << 20


def _payload(points: int) -> np.ndarray:
    return np.random.default_rng(0).random(points)


class _RawHandler(tornado.websocket.WebSocketHandler):
    """Sends ``count`` messages on open, ``IN_FLIGHT`` writes outstanding."""

    def initialize(self, payload: np.ndarray, count: int, as_json: bool = False) -> None:
        self.payload, self.count, self.as_json = payload, count, as_json

    def open(self, *args: object) -> None:
        self.set_nodelay(True)
        self._task = asyncio.ensure_future(self._send())

    async def _send(self) -> None:
        pending: collections.deque[Any] = collections.deque()
        for _ in range(self.count):
            if self.as_json:  # the producer encodes each message, as an app would
                pending.append(self.write_message(json.dumps(self.payload.tolist())))
            else:
                pending.append(self.write_message(self.payload.tobytes(), binary=True))
            if len(pending) >= IN_FLIGHT:
                await pending.popleft()
        for fut in pending:
            await fut


def _rate(first: float, last: float, values_after_first: int) -> float:
    return values_after_first / (last - first) if last > first else float("nan")


def _serve_raw(ready: Any, go: Any, points: int, count: int, as_json: bool) -> None:
    kw = {"payload": _payload(points), "count": count, "as_json": as_json}
    serve_forever(tornado.web.Application([(r"/ws", _RawHandler, kw)]), ready)


async def _read(conn: Any, count: int, values: Any, final: Any = None) -> tuple[float, int]:
    """Read ``count`` messages, or until ``final(data)``; return (rate, values
    received after the first message)."""
    first = last = 0.0
    total = 0
    for i in range(count):
        data = await asyncio.wait_for(conn.read_message(), 60)
        if data is None:
            raise RuntimeError("the server closed the connection")
        n = values(data)
        last = time.perf_counter()
        if i == 0:
            first = last
        else:
            total += n
        if final is not None and final(data):
            break
    conn.close()
    return _rate(first, last, total), total


async def _raw(points: int, count: int, as_json: bool = False) -> float:
    with child(_serve_raw, points, count, as_json) as ((port, _), _go, _proc):
        conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws", **WS_OPTIONS)
        nodelay(conn)
        if as_json:
            rate, total = await _read(conn, count, lambda d: len(json.loads(d)))
        else:
            rate, total = await _read(conn, count, lambda d: len(np.frombuffer(d, np.float64)))
    assert total == points * (count - 1)
    return rate


def _wsbridge_values(data: bytes) -> int:
    """What a minimal client does with a stream frame: parse, view the buffers."""
    (hlen,) = struct.unpack_from("<I", data)
    header = orjson.loads(data[4 : 4 + hlen])
    n = 0
    for entry in header.get("$buffers", ()):
        n += len(
            np.frombuffer(
                data, dtype=np.float64, count=entry["length"] // 8, offset=entry["offset"]
            )
        )
    return n


def _serve_wsbridge(
    ready: Any, go: Any, points: int, count: int, options: dict[str, Any] | None = None
) -> None:
    half = points // 2
    chunk = _payload(points)
    x, y = chunk[:half].copy(), chunk[half:].copy()
    bridge = wb.Bridge(queue_max_bytes=1 << 31, log_max_bytes=1 << 26, **(options or {})).start()
    src = wb.DataSource({"x": np.zeros(0), "y": np.zeros(0)})
    bridge.dashboard("bench", wb.Column()).add(src)
    bridge.flush()
    ready.put((bridge.url, None))
    go.wait()
    for _ in range(count):  # the producer thread: the caller's own code
        src.stream({"x": x, "y": y}, rollover=ROLLOVER)
    time.sleep(3600)


async def wsbridge_connect(url: str, doc: str = "bench") -> Any:
    """A raw connection to a wsbridge hub, past welcome and snapshot."""
    conn = await websocket_connect(url.replace("http://", "ws://") + "ws", **WS_OPTIONS)
    nodelay(conn)
    conn.write_message(p.encode(p.Hello(doc=doc)).data.decode())
    welcome = await conn.read_message()
    conn.wsbridge_seq = orjson.loads(welcome)["seq"]  # the seq the snapshot is at
    await conn.read_message()  # snapshot
    return conn


def _seq_of(data: bytes) -> int:
    (hlen,) = struct.unpack_from("<I", data)
    return int(orjson.loads(data[4 : 4 + hlen])["seq"])


async def _wsbridge(points: int, count: int, options: dict[str, Any] | None = None) -> float:
    with child(_serve_wsbridge, points, count, options) as ((url, _), go, _proc):
        conn = await wsbridge_connect(url)
        go.set()
        end = conn.wsbridge_seq + count  # coalescing (when behind) may merge messages
        rate, total = await _read(conn, count, _wsbridge_values, lambda d: _seq_of(d) >= end)
    assert total <= 2 * (points // 2) * (count - 1)
    return rate


async def _wsbridge_http(points: int, count: int) -> float:
    """As ``_wsbridge``, read from the streaming-HTTP fallback."""
    from wsbridge.client.httpstream import StreamConnection

    with child(_serve_wsbridge, points, count) as ((url, _), go, _proc):
        hello = p.encode(p.Hello(doc="bench"))
        conn = await StreamConnection.connect(
            url + "stream", {}, [(hello.data, hello.binary)], 10.0, 1 << 30
        )
        welcome = await conn.read_message()
        assert welcome is not None
        end = orjson.loads(welcome)["seq"] + count
        await conn.read_message()  # snapshot
        go.set()
        first = last = 0.0
        total = i = 0
        while True:
            data = await asyncio.wait_for(conn.read_message(), 60)
            if data is None:
                raise RuntimeError("the hub ended the stream")
            assert isinstance(data, bytes)
            n = _wsbridge_values(data)
            last = time.perf_counter()
            if i == 0:
                first = last
            else:
                total += n
            i += 1
            if _seq_of(data) >= end:
                break
        conn.close()
    return _rate(first, last, total)


def _serve_bokeh(ready: Any, go: Any, points: int, count: int) -> None:
    from bokeh.application import Application
    from bokeh.application.handlers.function import FunctionHandler
    from bokeh.models import ColumnDataSource
    from bokeh.server.server import Server
    from tornado.ioloop import IOLoop

    half = points // 2
    chunk = _payload(points)
    x, y = chunk[:half].copy(), chunk[half:].copy()
    docs: list[Any] = []

    def make_doc(doc: Any) -> None:
        src = ColumnDataSource({"x": np.zeros(0), "y": np.zeros(0)})
        doc.add_root(src)
        docs.append((doc, src))

    def start() -> None:
        go.wait()
        doc, src = docs[-1]
        sent = [0]

        def pump() -> None:  # one stream per tick, as a periodic producer would
            src.stream({"x": x, "y": y}, rollover=points)
            sent[0] += 1
            if sent[0] < count:
                doc.add_next_tick_callback(pump)

        doc.add_next_tick_callback(pump)  # the one thread-safe Document method

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    port = free_port()
    server = Server(
        {"/": Application(FunctionHandler(make_doc))},
        port=port,
        address="127.0.0.1",
        io_loop=IOLoop.current(),
        websocket_max_message_size=1 << 30,
    )
    server.start()
    threading.Thread(target=start, daemon=True).start()
    ready.put((port, None))
    loop.run_forever()


async def _bokeh(points: int, count: int) -> float:
    from bokeh.util.token import generate_jwt_token, generate_session_id

    per_message = 2 * (points // 2) * 8
    with child(_serve_bokeh, points, count) as ((port, _), go, _proc):
        token = generate_jwt_token(generate_session_id())
        conn = await websocket_connect(
            f"ws://127.0.0.1:{port}/ws", subprotocols=["bokeh", token], **WS_OPTIONS
        )
        nodelay(conn)
        ack = await conn.read_message()  # the ACK: header, metadata, content
        assert isinstance(ack, str) and "ACK" in ack, ack
        await conn.read_message()
        await conn.read_message()
        go.set()
        first = last = 0.0
        total = got = messages = 0
        while messages < count:  # a message = text frames + one binary frame per buffer
            data = await asyncio.wait_for(conn.read_message(), 60)
            if data is None:
                raise RuntimeError("bokeh closed the connection")
            if isinstance(data, bytes):
                got += len(data)
                if got >= per_message:
                    last = time.perf_counter()
                    if messages == 0:
                        first = last
                    else:
                        total += got // 8
                    got = 0
                    messages += 1
        conn.close()
    return _rate(first, last, total)


def measure(
    sizes: list[int], messages: int, repeat: int, steady_bytes: int = STEADY_BYTES
) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        slow_count = max(10, min(messages, 2_000_000 // size))  # JSON/Bokeh: ~1-2 s each
        # at least STEADY_BYTES per run: 300 messages of 1,000 f64 are 2.4 MB,
        # 16 ms for raw Tornado and a handful of batched frames for wsbridge,
        # too short to measure a rate between the first and the last message
        count = max(messages, steady_bytes // (size * 8))

        def best(fn: Any, *args: Any) -> float:
            return max(asyncio.run(fn(*args)) for _ in range(repeat))

        raw = best(_raw, size, count)
        ours = best(_wsbridge, size, count)
        try:  # the same without coalescing, to show what it costs a fast client
            no_coalescing: float | None = best(_wsbridge, size, count, NO_COALESCING)
        except TypeError:  # a wsbridge without that option
            no_coalescing = None
        try:
            bokeh: float | None = best(_bokeh, size, slow_count)
        except ImportError:
            bokeh = None
        js = best(_raw, size, slow_count, True)
        rows.append(
            row(
                "stream",
                f"{size:,} f64/msg",
                "M values/s",
                ours / 1e6,
                raw / 1e6,
                higher_is_better=True,
                target=0.8,
                others={
                    "wsbridge w/o coalescing": no_coalescing / 1e6 if no_coalescing else None,
                    "bokeh": bokeh / 1e6 if bokeh else None,
                    "json": js / 1e6,
                    "vs bokeh x": ours / bokeh if bokeh else None,
                },
            )
        )
        http = best(_wsbridge_http, size, count)
        rows.append(
            row(
                "stream",
                f"{size:,} f64/msg, streaming HTTP",
                "M values/s",
                http / 1e6,
                ours / 1e6,
                higher_is_better=True,
                baseline="wsbridge websocket",
            )
        )
    return rows


def run(quick: bool = False) -> list[dict[str, Any]]:
    with quiet_logs():
        if quick:
            return measure([1_000, 10_000, 100_000], messages=40, repeat=1, steady_bytes=0)
        return measure([1_000, 10_000, 100_000], messages=300, repeat=3)


def main() -> None:
    import argparse

    from .__main__ import table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print(table(run(parser.parse_args().quick)))


if __name__ == "__main__":
    main()
