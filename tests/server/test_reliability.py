"""Faults, many clients and reconnect storms (issue "Reliability and security").

Figures (RSS, clients, messages) are logged at WARNING under
``wsbridge.tests`` so a run shows them; the closing note quotes them.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.websocket import websocket_connect

import wsbridge as wb
from tests.helpers.common import port_of, run
from tests.helpers.relay import Relay
from wsbridge import wire as p
from wsbridge.client import Client
from wsbridge.server.socket import WebSocketHandler

log = logging.getLogger("wsbridge.tests")


# -- faults


def test_a_raising_callback_is_logged_answered_and_the_hub_goes_on(
    bridge: wb.Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    button, slider = wb.Button("boom"), wb.Slider(1.0)

    def explode(_: Any) -> None:
        raise RuntimeError("user code failed")

    button.on_click(explode)
    slider.observe(lambda ch: explode(None), names="value")
    bridge.dashboard("main", wb.Column(button, slider))

    async def main() -> None:
        async with (
            await Client.connect(bridge.url, "main") as c,
            await Client.connect(bridge.url, "main") as other,
        ):
            await c.event(button.id, "click")
            await c.wait_for(lambda c: any(e.code == "callback_error" for e in c.errors))
            await c.set(slider.id, value=3.0)  # the observer raises after the value is set
            await c.wait_for(
                lambda c: len([e for e in c.errors if e.code == "callback_error"]) == 2
            )
            await other.wait_for(lambda o: o.model(slider.id)["value"] == 3.0)
            assert not other.errors
            await c.set(slider.id, value=4.0)
            await other.wait_for(lambda o: o.model(slider.id)["value"] == 4.0)

    run(main())
    raised = [r for r in caplog.records if r.exc_info and "user code failed" in str(r.exc_info[1])]
    assert len(raised) == 3  # logged once each, with the traceback
    assert slider.value == 4.0


@pytest.mark.parametrize("log_covers_gap", [True, False])
def test_network_cut_mid_stream_resumes_exactly_or_snapshots(log_covers_gap: bool) -> None:
    limits = {} if log_covers_gap else {"log_max_messages": 5}
    with wb.Bridge(**limits) as bridge:  # type: ignore[arg-type]
        src = wb.DataSource({"x": np.zeros(0)})
        s = wb.Slider(0.0, max=100.0)
        bridge.dashboard("main", wb.Column(s)).add(src)
        relay = Relay(port_of(bridge.url))
        try:

            async def main() -> None:
                async with await Client.connect(relay.url, "main", backoff=(0.2, 0.4)) as c:
                    seen: list[p.Message] = []
                    c.on_message(seen.append)
                    relay.cut()
                    for i in range(40):  # while the client is away
                        src.stream({"x": np.array([float(i)])}, rollover=30)
                        bridge.flush()  # 40 messages, not batched (test_hub covers that)
                    s.value = 42.0
                    bridge.flush()
                    final = src.data["x"]
                    await c.wait_for(
                        lambda c: (
                            c.connected
                            and c.model(s.id)["value"] == 42.0
                            and len(c.source(src.id)["x"]) == 30
                        ),
                        timeout=10,
                    )
                    np.testing.assert_array_equal(c.source(src.id)["x"], final)
                    welcomes = [m for m in seen if isinstance(m, p.Welcome)]
                    assert welcomes and welcomes[-1].resumed is log_covers_gap
                    streams = [m for m in seen if isinstance(m, p.Stream)]
                    snaps = [m for m in seen if isinstance(m, p.Snapshot)]
                    if log_covers_gap:  # exactly the 40 missing streams, no snapshot
                        assert len(streams) == 40 and not snaps
                    else:
                        assert snaps and not streams

            run(main())
            assert relay.accepted >= 2
        finally:
            relay.close()


# -- many clients, reconnect storms


def _rss_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _header(data: str | bytes) -> dict[str, Any]:
    """A frame's JSON header (docs/protocol.md "Binary frames"), without its buffers."""
    if isinstance(data, bytes):
        (size,) = struct.unpack_from("<I", data)
        return json.loads(data[4 : 4 + size])  # type: ignore[no-any-return]
    return json.loads(data)  # type: ignore[no-any-return]


SOAK_APP = textwrap.dedent(
    """
    import threading, time
    import numpy as np
    import wsbridge as wb
    src = wb.DataSource({"t": np.zeros(0), "y": np.zeros(0)})
    bridge.dashboard("idle", wb.Column(wb.Label("idle")))
    bridge.dashboard("live", wb.Column(wb.Sparkline(src, x="t", y="y"))).add(src)
    go = threading.Event()
    def stream():
        go.wait()
        t = 0.0
        while True:
            ts = t + np.arange(10) / 100
            src.stream({"t": ts, "y": np.sin(ts)}, rollover=2000)
            t += 0.1
            time.sleep(0.05)
    threading.Thread(target=stream, daemon=True).start()
    main = lambda bridge: None
    # start streaming once /healthz shows the clients are in
    def watch():
        while not bridge.hub or len(bridge.hub.sessions) < int(__import__("os").environ["N"]):
            time.sleep(0.05)
        go.set()
    threading.Thread(target=watch, daemon=True).start()
    """
)


@pytest.mark.slow
@pytest.mark.timeout(420)  # a 60 s soak plus connecting and draining 1,000 clients
def test_500_clients_for_a_soak_with_streaming(tmp_path: Path) -> None:
    n = 500
    seconds = float(os.environ.get("WSBRIDGE_SOAK_SECONDS", "60"))
    app = tmp_path / "soak.py"
    app.write_text(SOAK_APP)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wsbridge", "serve", str(app), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "N": str(n)},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while "http://" not in line:
            line = proc.stdout.readline()
            assert line, "the server did not start"
        base = line[line.index("http://") :].split()[0]
        base = base[: base.index("/", len("http://")) + 1]
        ws = base.replace("http://", "ws://") + "ws"
        rss_before = _rss_of(proc.pid)

        async def main() -> tuple[int, list[int], list[str]]:
            async def one(doc: str) -> Any:
                conn = await websocket_connect(ws)
                conn.write_message(p.encode(p.Hello(doc=doc)).data.decode())
                return conn

            conns = await asyncio.gather(*(one("idle") for _ in range(n)))
            for c in conns:
                await c.read_message(), await c.read_message()
            await asyncio.sleep(0.5)
            idle_rss = _rss_of(proc.pid)
            for c in conns:
                c.close()
            last = [0] * n
            errors: list[str] = []
            target: list[int] = []  # the hub's seq once the soak time is over
            done = asyncio.Event()
            behind = set(range(n))

            def reader(i: int) -> Any:
                """Per message: the header only (a callback, no read queue), so
                500 readers in this one process keep up on a loaded machine."""

                def on_message(data: str | bytes | None) -> None:
                    if data is None:
                        if i in behind:
                            errors.append(f"client {i}: closed at seq {last[i]}")
                        return
                    header = _header(data)
                    if header.get("type") == "error":
                        errors.append(f"client {i}: error {header.get('code')}")
                    seq = header.get("seq")
                    if header.get("type") in ("stream", "snapshot") and isinstance(seq, int):
                        last[i] = seq
                        if target and seq >= target[0] and i in behind:
                            behind.discard(i)
                            if not behind:
                                done.set()

                return on_message

            hello = p.encode(p.Hello(doc="live")).data.decode()

            async def live_one(i: int) -> Any:
                conn = await websocket_connect(ws, on_message_callback=reader(i))
                conn.write_message(hello)
                return conn

            live = await asyncio.gather(*(live_one(i) for i in range(n)))
            await asyncio.sleep(seconds)
            health = await AsyncHTTPClient().fetch(base + "healthz")
            target.append(json.loads(health.body)["documents"]["live"]["seq"])
            for i in list(behind):  # those already past the target
                if last[i] >= target[0]:
                    behind.discard(i)
            if behind:
                try:
                    await asyncio.wait_for(done.wait(), 30)
                except asyncio.TimeoutError:
                    errors.extend(f"client {i}: at seq {last[i]} after 30 s" for i in behind)
            for c in live:
                c.close()
            return idle_rss, last, errors, target[0]

        idle_rss, last, errors, target = run(main(), timeout=seconds + 300)
        per_client = (idle_rss - rss_before) / n
        log.warning(
            "%d clients, %.0f s: %.1f KiB per idle client, last seq min %d max %d, %d errors",
            n,
            seconds,
            per_client / 1024,
            min(last),
            max(last),
            len(errors),
        )
        assert not errors, errors[:5]
        # everyone got everything the hub had published when the soak ended
        # (the stream goes on meanwhile: how far past it each got is timing)
        assert min(last) > 0 and min(last) >= target
        assert per_client < 200 * 1024
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # and closes its pipes


@pytest.mark.slow
def test_reconnect_storm_from_a_browser_leaks_nothing(bridge: wb.Bridge, page: Any) -> None:
    src = wb.DataSource({"x": np.arange(1000.0)})
    bridge.dashboard("main", wb.Column(wb.Label("x"))).add(src)
    page.goto(bridge.url + "d/main")
    page.wait_for_function(
        "() => window.wsbridgeClient && window.wsbridgeClient.status === 'connected'"
    )

    def hub_state() -> tuple[int, int, int]:
        def count(hub: Any) -> tuple[int, int, int]:
            gc.collect()
            handlers = sum(isinstance(o, WebSocketHandler) for o in gc.get_objects())
            return len(hub.sessions), len(asyncio.all_tasks(asyncio.get_running_loop())), handlers

        return bridge.call(count)  # type: ignore[no-any-return]

    storm = """async (url) => {
        for (let i = 0; i < 100; i++) {
            await new Promise((resolve, reject) => {
                const ws = new WebSocket(url);
                ws.binaryType = 'arraybuffer';
                let n = 0;
                ws.onopen = () => ws.send(JSON.stringify({v: 1, type: 'hello', doc: 'main'}));
                ws.onmessage = () => { if (++n === 2) ws.close(); };
                ws.onclose = () => resolve();
                ws.onerror = reject;
            });
        }
    }"""
    url = bridge.url.replace("http://", "ws://") + "ws"
    page.evaluate(storm, url)  # warm up allocators and caches
    time.sleep(0.3)
    gc.collect()
    before = hub_state()
    tracemalloc.start()

    def settled() -> Any:
        deadline = time.monotonic() + 5
        while hub_state() != before and time.monotonic() < deadline:
            time.sleep(0.05)
        gc.collect()
        return tracemalloc.take_snapshot()

    try:
        page.evaluate(storm, url)  # the first traced round may fill lazy caches
        snap0 = settled()
        page.evaluate(storm, url)
        snap1 = settled()
    finally:
        tracemalloc.stop()
    # the hub's side only: Playwright keeps its own record of every socket
    hub_side = [tracemalloc.Filter(True, "*/wsbridge/*"), tracemalloc.Filter(True, "*/tornado/*")]
    diffs = snap1.filter_traces(hub_side).compare_to(snap0.filter_traces(hub_side), "lineno")
    grown = sum(s.size_diff for s in diffs)
    log.warning(
        "100 browser reconnects: %+.1f KiB traced in wsbridge+tornado (largest: %s), "
        "sessions/tasks/handlers %s",
        grown / 1024,
        diffs[0] if diffs else None,
        hub_state(),
    )
    assert hub_state() == before  # sessions, hub tasks, live handlers
    assert grown < 64 * 1024
