"""Stream throughput: wsbridge against raw Tornado, in the same run.

Both sides deliver the same float64 payload as binary WebSocket frames to a
Python client on loopback; the client turns each frame into a numpy view.
Raw Tornado is the baseline (a handler awaiting every ``write_message``);
wsbridge goes through the whole path: ``DataSource.stream`` on the producer
thread, the hub's sequencing and log, the session outbox and writer task.

    python -m benchmarks.bench_stream [--messages 200] [--sizes 1000,10000,100000]

Prints points/s for both and the ratio wsbridge / raw (target >= 0.8, see
issue "Performance").
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import threading
import time

import numpy as np
import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket
from tornado.websocket import websocket_connect

import wsbridge as wb
from wsbridge import protocol as p


class _RawHandler(tornado.websocket.WebSocketHandler):
    def initialize(self, payload: bytes, count: int) -> None:
        self.payload, self.count = payload, count

    def open(self, *args: object) -> None:
        self.set_nodelay(True)
        self._task = asyncio.ensure_future(self._send())

    async def _send(self) -> None:
        for _ in range(self.count):
            await self.write_message(self.payload, binary=True)


async def _raw(points: int, count: int) -> float:
    payload = np.random.default_rng(0).random(points).tobytes()
    app = tornado.web.Application([(r"/ws", _RawHandler, {"payload": payload, "count": count})])
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws", max_message_size=1 << 30)
    t0 = time.perf_counter()
    total = 0
    for _ in range(count):
        data = await conn.read_message()
        assert isinstance(data, bytes)
        total += len(np.frombuffer(data, dtype=np.float64))
    elapsed = time.perf_counter() - t0
    conn.close()
    server.stop()
    assert total == points * count
    return total / elapsed


async def _wsbridge(points: int, count: int) -> float:
    chunk = np.random.default_rng(0).random(points)
    with wb.Bridge(queue_max_bytes=1 << 31, log_max_bytes=1 << 26) as bridge:
        src = wb.DataSource({"y": np.zeros(0)})
        bridge.dashboard("bench", wb.Column()).add(src)
        bridge.flush()
        url = bridge.url.replace("http://", "ws://") + "ws"
        conn = await websocket_connect(url, max_message_size=1 << 30)
        conn.write_message(p.encode(p.Hello(doc="bench")).data.decode())
        await conn.read_message()  # welcome
        await conn.read_message()  # snapshot

        def produce() -> None:
            for _ in range(count):
                src.stream({"y": chunk}, rollover=points)

        t0 = time.perf_counter()
        threading.Thread(target=produce, daemon=True).start()
        total = 0
        while total < points * count:
            data = await conn.read_message()
            assert isinstance(data, bytes)
            (hlen,) = struct.unpack_from("<I", data)
            start = (4 + hlen + 7) & ~7
            total += len(np.frombuffer(data, dtype=np.float64, offset=start))
        elapsed = time.perf_counter() - t0
        conn.close()
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = parser.parse_args()
    print(f"{'points/msg':>10} {'raw M pts/s':>12} {'wsbridge M pts/s':>17} {'ratio':>6}")
    for size in (int(s) for s in args.sizes.split(",")):
        raw = max(asyncio.run(_raw(size, args.messages)) for _ in range(args.repeat))
        ours = max(asyncio.run(_wsbridge(size, args.messages)) for _ in range(args.repeat))
        print(f"{size:>10} {raw / 1e6:>12.2f} {ours / 1e6:>17.2f} {ours / raw:>6.2f}")


if __name__ == "__main__":
    main()
