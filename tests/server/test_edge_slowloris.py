"""Slowloris and the open-file limit: half-sent requests cannot take the hub down.

A hub runs in a subprocess whose open-file limit is lowered to 256, as a
small ``ulimit -n`` would; the test then holds hundreds of connections that
send half a request and never finish it. The hub keeps a connection cap
below its limit (the oldest connection still in its HTTP phase makes room
for a new one), closes connections whose headers do not arrive within
``header_timeout``, keeps its WebSocket sessions working, and logs a
failing ``accept`` once per interval instead of a traceback per attempt
(docs/security.md "Limits"). Real sockets throughout.
"""

from __future__ import annotations

import asyncio
import os
import select
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tornado.httpclient import HTTPRequest

from tests.helpers.common import http_get
from tests.helpers.ws import connect
from wsbridge import wire as p

#: the hub: RLIMIT_NOFILE lowered, a settable slider, then it serves; on
#: "fill" it opens files until the limit (EMFILE), on "free" it closes them
_HUB = textwrap.dedent(
    """
    import logging, os, resource, sys
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    import wsbridge as wb
    bridge = wb.Bridge(port=0, {options})
    bridge.start()
    slider = wb.Slider(1.0)
    bridge.dashboard("main", wb.Column(slider))
    print(bridge.url, bridge.server_config.max_connections, flush=True)
    held = []
    for line in sys.stdin:
        if line.strip() == "fill":
            try:
                while True:
                    held.append(os.open("/dev/null", os.O_RDONLY))
            except OSError:
                pass
            print("full", flush=True)
        elif line.strip() == "free":
            for fd in held:
                os.close(fd)
            held.clear()
            print("freed", flush=True)
    bridge.stop()
    """
)


class Hub:
    def __init__(self, options: str = "") -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # its log goes to a file: a pipe nobody reads while the test runs
        # would block a hub that logs a lot
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HUB.format(options=options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
            text=True,
        )
        url, cap = self.line().split()
        self.url, self.cap = url, int(cap)
        self.port = int(url.rstrip("/").rsplit(":", 1)[1])

    def line(self, timeout: float = 10.0) -> str:
        assert self.proc.stdout is not None
        ready = select.select([self.proc.stdout], [], [], timeout)[0]
        assert ready, "the hub said nothing"
        return self.proc.stdout.readline().strip()

    def tell(self, command: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.line()

    def stop(self) -> str:
        """Stop it; everything it logged."""
        try:
            self.proc.communicate(input="", timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
        self.log.seek(0)
        text = self.log.read()
        self.log.close()
        return text


@pytest.fixture
def hub() -> Iterator[Hub]:
    h = Hub("header_timeout=1.5")
    try:
        yield h
    finally:
        if h.proc.poll() is None:
            h.stop()


def half_requests(port: int, n: int) -> list[socket.socket]:
    """``n`` connections that each send half a request line and stop."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        socks.append(s)
    return socks


async def viewer(url: str) -> Any:
    conn = await connect(HTTPRequest(url.replace("http://", "ws://") + "ws"))
    conn.write_message(p.encode(p.Hello(doc="main")).data.decode())
    welcome = p.decode(await asyncio.wait_for(conn.read_message(), 5))
    assert isinstance(welcome, p.Welcome)
    snapshot = p.decode(await asyncio.wait_for(conn.read_message(), 5))
    assert isinstance(snapshot, p.Snapshot)
    slider = next(m for m, spec in snapshot.models.items() if spec["type"] == "Slider")
    return conn, slider


async def round_trip(conn: Any, slider: str, value: float) -> None:
    conn.write_message(p.encode(p.Set(model=slider, state={"value": value}, req=1)).data.decode())
    while True:
        msg = p.decode(await asyncio.wait_for(conn.read_message(), 5))
        if isinstance(msg, p.Patch) and msg.state.get("value") == value:
            return


async def test_half_sent_requests_leave_the_hub_reachable(hub: Hub) -> None:
    assert 0 < hub.cap < 256  # below the lowered open-file limit
    conn, slider = await viewer(hub.url)
    socks = half_requests(hub.port, 400)  # far more than the hub may hold
    try:
        # the hub answers: the oldest half-sent connections made room
        start = time.monotonic()
        status, _, body = await asyncio.to_thread(http_get, hub.url + "healthz")
        assert status == 200 and time.monotonic() - start < 3.0, body
        await round_trip(conn, slider, 7.0)  # its WebSocket session goes on
        # after header_timeout every half-sent request is closed
        await asyncio.sleep(2.5)
        open_ones = 0
        for s in socks:
            s.settimeout(0.01)
            try:
                open_ones += s.recv(1) != b""
            except (TimeoutError, BlockingIOError):
                open_ones += 1
            except OSError:
                pass
        assert open_ones == 0
        await round_trip(conn, slider, 8.0)
    finally:
        for s in socks:
            s.close()
        conn.close()
    err = hub.stop()
    assert "Too many open files" not in err and "Traceback" not in err, err[-3000:]
    # the cap is logged, once per interval, not once per connection
    assert 1 <= err.count("connections open") <= 3, err[-3000:]


async def test_accept_failures_are_logged_once_per_interval_and_recover() -> None:
    hub = Hub()
    try:
        conn, slider = await viewer(hub.url)
        assert hub.tell("fill") == "full"  # no descriptor left for a new connection
        waiting = [socket.create_connection(("127.0.0.1", hub.port), timeout=5) for _ in range(5)]
        try:
            for s in waiting:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            await asyncio.sleep(1.5)
            await round_trip(conn, slider, 3.0)  # the open session is unaffected
            assert hub.tell("free") == "freed"
            for s in waiting:  # accepted and answered once descriptors are free again
                s.settimeout(5)
                assert s.recv(64).startswith(b"HTTP/1.1 200"), "not answered after the limit"
        finally:
            for s in waiting:
                s.close()
            conn.close()
    finally:
        err = hub.stop()
    assert "Traceback" not in err, err[-3000:]
    assert 1 <= err.count("cannot accept") <= 2, err[-3000:]
