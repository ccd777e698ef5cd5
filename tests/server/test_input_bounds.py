"""Browser input waiting for Python is bounded in bytes, events carry only
what they declare, and a departed session's queued input is dropped.

Over real sockets against a started ``Bridge`` whose callbacks are slow
(docs/security.md "Input waiting for Python").
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import wsbridge as wb
from tests.helpers.common import http_get
from tests.helpers.ws import hello, read
from wsbridge import wire as p

MIB = 1024 * 1024


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def _joined(bridge: wb.Bridge, doc: str = "main") -> Any:
    conn = await hello(bridge, doc)
    assert isinstance(await read(conn), p.Welcome)
    assert isinstance(await read(conn), p.Snapshot)
    return conn


async def _errors_until_quiet(conn: Any, quiet: float = 0.5) -> list[p.Error]:
    """Every ``error`` received until nothing came for ``quiet`` seconds."""
    found: list[p.Error] = []
    while True:
        try:
            data = await asyncio.wait_for(conn.read_message(), quiet)
        except asyncio.TimeoutError:
            return found
        if data is None:
            return found
        msg = p.decode(data)
        if isinstance(msg, p.Error):
            found.append(msg)


def _set(model: str, value: str, req: int) -> str:
    return p.encode(p.Set(model=model, state={"value": value}, req=req)).data.decode()


async def test_large_clicks_are_refused_before_anything_is_queued() -> None:
    """A click carries no data: 60 clicks of 8 MiB each are refused by the hub
    with ``invalid_value`` and never reach Python nor its queue."""
    clicks: list[Any] = []
    with wb.Bridge() as bridge:
        button = wb.Button("go")
        button.on_click(lambda b: (clicks.append(b), time.sleep(1.0)))
        bridge.dashboard("main", wb.Column(button))
        bridge.flush()
        conn = await _joined(bridge)
        before = _rss()
        big = p.encode(p.Event(model=button.id, name="click", data={"x": "y" * (8 * MIB)}))
        for _ in range(60):
            await conn.write_message(big.data.decode())
        errors = await _errors_until_quiet(conn, 1.0)
        growth = _rss() - before
        assert errors and {e.code for e in errors} <= {"invalid_value", "rate_limited"}
        assert errors[0].code == "invalid_value" and errors[0].ref["type"] == "event"
        assert bridge.call(lambda hub: hub.pending_input_bytes) == 0
        assert growth < 100 * MIB, f"hub memory grew {growth / MIB:.0f} MiB"
        # a plain click still works
        await conn.write_message(p.encode(p.Event(model=button.id, name="click")).data.decode())
        deadline = time.monotonic() + 5
        while not clicks and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert clicks == [button]
        conn.close()


def test_an_event_may_carry_a_small_object_only_when_declared() -> None:
    """``_event_data`` declares the events whose data reaches callbacks; the
    spec says so to the hub (``event_data``), which refuses the rest."""

    class Picker(wb.Button):
        _events = frozenset({"click", "pick"})
        _event_data = frozenset({"pick"})

    spec = Picker()._spec()
    assert spec["events"] == ["click", "pick"] and spec["event_data"] == ["pick"]
    assert "event_data" not in wb.Button()._spec()  # snapshots of the core types unchanged

    async def main() -> None:
        got: list[Any] = []
        with wb.Bridge() as bridge:
            picker = Picker()
            picker.on_event("pick", lambda model, data: got.append(data))
            bridge.dashboard("main", wb.Column(picker))
            bridge.flush()
            conn = await _joined(bridge)

            def event(name: str, data: Any) -> str:
                return p.encode(p.Event(model=picker.id, name=name, data=data)).data.decode()

            await conn.write_message(event("pick", {"row": 3}))
            await conn.write_message(event("pick", ["not", "an", "object"]))
            await conn.write_message(event("click", {"row": 3}))
            await conn.write_message(event("pick", {"row": "z" * 8192}))
            errors = await _errors_until_quiet(conn)
            assert [e.code for e in errors] == ["invalid_value"] * 3
            deadline = time.monotonic() + 5
            while not got and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert got == [{"row": 3}]
            conn.close()

    asyncio.run(main())


async def test_queued_input_is_bounded_in_bytes_per_session_and_overall() -> None:
    """1 MiB sets behind a slow observer: past the session's byte bound they
    are refused (``rate_limited``) and not queued; the hub-wide bound holds
    across sessions too."""
    handled: list[int] = []
    session_bound, total_bound = 4 * MIB, 6 * MIB
    with wb.Bridge(
        max_pending_input_bytes=session_bound, max_pending_input_bytes_total=total_bound
    ) as bridge:
        text = wb.TextInput()
        text.observe(lambda change: (handled.append(len(change["new"])), time.sleep(0.3)), "value")
        bridge.dashboard("main", wb.Column(text))
        bridge.flush()
        a, b = await _joined(bridge), await _joined(bridge)
        most = [0, 0]
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                hub_bytes, per = bridge.call(
                    lambda hub: (
                        hub.pending_input_bytes,
                        max(s.pending_input_bytes for s in hub.sessions.values()),
                    )
                )
                most[0], most[1] = max(most[0], hub_bytes), max(most[1], per)
                time.sleep(0.01)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        for i in range(20):
            await a.write_message(_set(text.id, str(i % 10) * MIB, i))
        for i in range(20):
            await b.write_message(_set(text.id, str(i % 10) * MIB, i))
        refused_a = [e for e in await _errors_until_quiet(a, 1.0) if e.code == "rate_limited"]
        refused_b = [e for e in await _errors_until_quiet(b, 1.0) if e.code == "rate_limited"]
        stop.set()
        watcher.join()
        assert refused_a and refused_b
        assert "bytes" in refused_a[0].message
        assert most[1] <= session_bound, f"a session had {most[1]} bytes waiting"
        assert most[0] <= total_bound, f"the hub had {most[0]} bytes waiting"
        assert len(handled) < 40  # the refused sets never reached Python
        a.close()
        b.close()


async def test_a_departed_sessions_queued_input_is_dropped() -> None:
    """Clicks queued behind a slow callback do not run once their client left."""
    started = threading.Event()
    clicks: list[float] = []

    def slow(_: Any) -> None:
        clicks.append(time.monotonic())
        started.set()
        time.sleep(0.5)

    with wb.Bridge() as bridge:
        button = wb.Button("go")
        button.on_click(slow)
        bridge.dashboard("main", wb.Column(button))
        bridge.flush()
        conn = await _joined(bridge)
        click = p.encode(p.Event(model=button.id, name="click")).data.decode()
        for _ in range(8):
            await conn.write_message(click)
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5.0)
        conn.close()
        deadline = time.monotonic() + 5
        while bridge.call(lambda hub: len(hub.sessions)) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(2.0)  # time for the 7 queued clicks, were they run
        assert len(clicks) <= 2, f"{len(clicks)} clicks ran after the client left"
        assert bridge.call(lambda hub: hub.pending_input_bytes) == 0
        status, _, body = http_get(bridge.url + "healthz")
        assert status == 200 and json.loads(body)["pending_input_bytes"] == 0


def test_the_publisher_checks_event_data_too() -> None:
    """Redis is shared: the producer checks each input again (scaleout.publisher)
    with the hub's own rule."""
    from wsbridge.hub.hub import Hub
    from wsbridge.hub.link import GoneProducer
    from wsbridge.scaleout.publisher import _allowed

    hub, button = Hub(), wb.Button()
    spec = p.Add(seq=0, models={button.id: button._spec()}, root=button.id)
    doc = hub.create_document("d", spec, GoneProducer(hub))
    assert not _allowed(doc, p.Event(model=button.id, name="click", data={"a": 1}))
    assert _allowed(doc, p.Event(model=button.id, name="click"))


def test_a_remote_producer_drops_the_queued_input_of_a_departed_session() -> None:
    """Through a producer link (a kernel under Jupyter): the hub sends ``left``
    and the producer's callbacks thread skips that session's queued clicks."""
    from wsbridge.runtime.remote import RemoteBridge

    started = threading.Event()
    clicks: list[float] = []

    def slow(_: Any) -> None:
        clicks.append(time.monotonic())
        started.set()
        time.sleep(0.5)

    with wb.Bridge(producer_token="secret") as hub:
        producer = RemoteBridge(hub.url, token="secret").start()
        try:
            button = wb.Button("go")
            button.on_click(slow)
            producer.dashboard("main", wb.Column(button))
            producer.flush()

            async def main() -> None:
                deadline = time.monotonic() + 5
                while "main" not in hub.call(lambda h: h.documents):
                    assert time.monotonic() < deadline, "the document never arrived"
                    await asyncio.sleep(0.02)
                conn = await _joined(hub)
                click = p.encode(p.Event(model=button.id, name="click")).data.decode()
                for _ in range(8):
                    await conn.write_message(click)
                await asyncio.get_running_loop().run_in_executor(None, started.wait, 5.0)
                conn.close()
                await asyncio.sleep(2.5)  # time for the 7 queued clicks, were they run

            asyncio.run(main())
            assert len(clicks) <= 2, f"{len(clicks)} clicks ran after the client left"
            assert hub.call(lambda h: h.pending_input_bytes) == 0
        finally:
            producer.stop()
