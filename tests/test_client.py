"""The asyncio Python client against a real Bridge, over real sockets."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.common import free_port, run
from wsbridge.client import Client, ConnectionFailed
from wsbridge.client.aio import _ws_url
from wsbridge.wire.messages import Custom, Message, Patch, Welcome


def hub_seq(bridge: wb.Bridge, doc: str = "main") -> int:
    bridge.flush()  # every change made so far has been published
    return int(bridge.call(lambda hub: hub.documents[doc].seq))


async def synced(client: Client, bridge: wb.Bridge, doc: str = "main") -> None:
    target = hub_seq(bridge, doc)
    await client.wait_for(lambda c: c.connected and c.seq == target)


def assert_columns_equal(mine: dict[str, Any], truth: dict[str, Any]) -> None:
    assert list(mine) == list(truth)
    for name, col in truth.items():
        if isinstance(col, np.ndarray):
            got = mine[name]
            assert isinstance(got, np.ndarray), name
            assert got.dtype == col.dtype and got.shape == col.shape, name
            assert np.array_equal(got, col, equal_nan=True), name
        else:
            assert list(mine[name]) == list(col), name


def recorder(client: Client) -> list[Message]:
    seen: list[Message] = []
    client.on_message(seen.append)
    return seen


def test_ws_url_from_a_hub_base() -> None:
    assert _ws_url("http://127.0.0.1:8000/") == "ws://127.0.0.1:8000/ws"
    assert _ws_url("https://h/base/wsbridge") == "wss://h/base/wsbridge/ws"
    assert _ws_url("ws://h:1/ws?token=x") == "ws://h:1/ws?token=x"
    with pytest.raises(ValueError):
        _ws_url("ftp://h/")


def test_mirrors_models_and_sources(bridge: wb.Bridge) -> None:
    slider = wb.Slider(2.0, max=5.0, label="f")
    src = wb.DataSource({"x": np.arange(4.0), "n": np.arange(4, dtype=np.int16), "s": list("abcd")})
    root = wb.Column(slider, wb.Row(wb.Label("<b>t</b>"), wb.Sparkline(src, y="n")))
    bridge.dashboard("main", root, title="Mirror")

    async def main() -> None:
        async with await Client.connect(bridge.url, "main") as c:
            assert c.connected and c.session and c.epoch
            assert c.seq == hub_seq(bridge) == 0
            assert c.root == root.id and c.title == "Mirror"
            assert c.models[slider.id]["type"] == "Slider"
            assert c.model(slider.id) == {
                "value": 2.0, "min": 0.0, "max": 5.0, "step": 0.1, "label": "f",
                "disabled": False,
            }  # fmt: skip
            assert c.model(root.id)["children"] == [m.id for m in root.children]
            assert len(c.models) == 5
            assert_columns_equal(c.source(src.id), src.data)
            assert c.source(src.id)["n"].dtype == np.int16

    run(main())


def test_set_reaches_python_and_the_canonical_echo_reaches_everyone(bridge: wb.Bridge) -> None:
    slider = wb.Slider(1.0, min=0.0, max=10.0)
    seen: list[tuple[float, str]] = []
    observed = threading.Event()

    def observer(change: dict[str, Any]) -> None:
        seen.append((change["new"], threading.current_thread().name))
        observed.set()

    slider.observe(observer, names="value")
    bridge.dashboard("main", wb.Column(slider))
    sid = slider.id

    async def main() -> None:
        async with (
            await Client.connect(bridge.url, "main") as a,
            await Client.connect(bridge.url, "main") as b,
        ):
            heard = recorder(b)
            await a.set(sid, value=11.0)  # out of range: Python clamps to 10
            assert a.model(sid)["value"] == 11.0  # optimistic
            await b.wait_for(lambda c: c.model(sid)["value"] == 10.0)
            await a.wait_for(lambda c: c.model(sid)["value"] == 10.0)
            assert slider.value == 10.0
            # the patch goes out from an earlier observer than ours: wait for ours
            assert await asyncio.to_thread(observed.wait, 5)
            assert [v for v, _ in seen] == [10.0]
            assert seen[0][1].startswith("wsbridge-callbacks")
            (echo,) = [m for m in heard if isinstance(m, Patch)]
            assert echo.origin == {"session": a.session, "req": 1} and not echo.reply
            assert a.seq == b.seq == 1
            # Python's own change flows the other way
            slider.value = 4.0
            await a.wait_for(lambda c: c.model(sid)["value"] == 4.0)
            await b.wait_for(lambda c: c.model(sid)["value"] == 4.0)

    run(main())


def test_invalid_value_gets_an_error_and_the_canonical_value_back(bridge: wb.Bridge) -> None:
    slider = wb.Slider(3.0, min=0.0, max=10.0)
    bridge.dashboard("main", wb.Column(slider))
    sid = slider.id

    async def main() -> None:
        async with (
            await Client.connect(bridge.url, "main") as a,
            await Client.connect(bridge.url, "main") as b,
        ):
            await a.set(sid, value="not a number")
            await a.wait_for(lambda c: c.errors and c.model(sid)["value"] == 3.0)
            (error,) = a.errors
            assert error.code == "invalid_value" and "float" in error.message
            assert error.ref == {"type": "set", "model": sid, "property": "value", "req": 1}
            # a value clamped to what it already was changes nothing: a reply
            slider.value = 10.0
            await a.wait_for(lambda c: c.model(sid)["value"] == 10.0)
            await a.set(sid, value=50.0)
            await a.wait_for(lambda c: c.model(sid)["value"] == 10.0)
            assert len(a.errors) == 1
            await synced(b, bridge)
            assert not b.errors and b.model(sid)["value"] == 10.0
            assert a.seq == b.seq == 1  # replies never advance seq

    run(main())


def test_stream_patch_replace_are_mirrored_exactly(bridge: wb.Bridge) -> None:
    t0 = np.datetime64("2024-01-01T00:00:00", "ms")
    src = wb.DataSource(
        {
            "x": np.array([0.0, np.nan, np.inf]),
            "i": np.arange(3, dtype=np.int32),
            "t": t0 + np.arange(3) * np.timedelta64(1, "s"),
            "s": ["a", "b", "c"],
        }
    )
    bridge.dashboard("main", wb.Column(wb.Sparkline(src)))

    async def main() -> None:
        async with await Client.connect(bridge.url, "main") as c:
            data = c.source(src.id)
            assert data["t"].dtype == np.float64
            assert data["t"][0] == 1704067200000.0 and data["t"][2] - data["t"][0] == 2000.0
            for k in range(4):
                src.stream(
                    {
                        "x": np.array([-np.inf, k + 0.5]),
                        "i": np.array([10 * k, 10 * k + 1], dtype=np.int32),
                        "t": np.array(["NaT", "2030-01-01"], dtype="datetime64[ms]"),
                        "s": [f"r{k}", None],
                    },
                    rollover=5,
                )
            await synced(c, bridge)
            assert len(src) == 5
            assert_columns_equal(c.source(src.id), src.data)
            assert np.isnan(c.source(src.id)["t"][-2])  # NaT -> NaN
            src.patch({"x": [(0, np.nan), (slice(1, 5, 2), [np.inf, -0.0])], "s": [(4, "z")]})
            await synced(c, bridge)
            assert_columns_equal(c.source(src.id), src.data)
            src.replace({"u": np.linspace(0, 1, 7, dtype=np.float32), "s": list("abcdefg")})
            await synced(c, bridge)
            assert_columns_equal(c.source(src.id), src.data)
            assert c.source(src.id)["u"].dtype == np.float32

    run(main())


def test_drop_mid_stream_resumes_and_ends_equal(bridge: wb.Bridge) -> None:
    src = wb.DataSource({"x": np.zeros(0), "y": np.zeros(0)})
    bridge.dashboard("main", wb.Column(wb.Sparkline(src)))
    dropped = threading.Event()
    halfway = 100  # chunks

    def produce() -> None:
        for i in range(200):  # 2,000 points in chunks of 10
            x = np.arange(10 * i, 10 * i + 10, dtype=np.float64)
            y = np.sin(x)
            y[::7] = np.nan
            src.stream({"x": x, "y": y}, rollover=1500)
            if i == halfway:
                dropped.wait(5)  # the rest is published while the client is away

    async def main() -> None:
        # a back-off of >= 0.25 s leaves the producer ample time to publish
        # the second half while we are away, so the resume has work to do
        async with await Client.connect(bridge.url, "main", backoff=(0.5, 1.0)) as c:
            welcomes: list[tuple[Welcome, int | None]] = []
            c.on_message(lambda m: welcomes.append((m, c.seq)) if isinstance(m, Welcome) else None)
            producer = threading.Thread(target=produce)
            producer.start()
            try:
                await c.wait_for(lambda c: len(c.source(src.id)["x"]) >= 300)
                assert len(c.source(src.id)["x"]) < 2000
                await c.drop()
                dropped.set()
                await asyncio.to_thread(producer.join, 10)
            finally:
                dropped.set()
            await synced(c, bridge)
            assert c.closed_code == 1006  # no close frame: a network cut
            assert c.connections == 2
            ((welcome, seq_then),) = welcomes
            assert welcome.resumed is True
            assert seq_then is not None and welcome.seq - seq_then >= 99  # replayed, not resent
            assert_columns_equal(c.source(src.id), src.data)
            assert len(src) == 1500 and src.data["x"][-1] == 1999.0

    run(main())


def test_hub_restart_gives_a_new_epoch_and_a_fresh_snapshot(bridge: wb.Bridge) -> None:
    slider = wb.Slider(1.0)
    src = wb.DataSource({"x": np.arange(3.0)})
    bridge.dashboard("main", wb.Column(slider, wb.Sparkline(src)))

    async def main() -> None:
        async with await Client.connect(bridge.url, "main") as c:
            seen = recorder(c)
            slider.value = 2.0
            src.stream({"x": np.array([3.0])})
            await synced(c, bridge)
            epoch = c.epoch
            await asyncio.to_thread(bridge.stop)
            await c.wait_for(lambda c: not c.connected)
            slider.value = 7.0  # while nobody serves it
            await asyncio.to_thread(bridge.start)
            await c.wait_for(lambda c: c.connected and c.epoch != epoch, timeout=10)
            assert c.closed_code == 1001  # "the hub is stopping"
            (welcome,) = [m for m in seen if isinstance(m, Welcome)]
            assert welcome.resumed is False and welcome.epoch == c.epoch
            assert c.seq == hub_seq(bridge) == 0
            assert c.model(slider.id)["value"] == 7.0
            assert_columns_equal(c.source(src.id), src.data)

    run(main())


def test_events_and_custom_messages_both_ways(bridge: wb.Bridge) -> None:
    button = wb.Button("go")
    label = wb.Label("x")
    clicked = threading.Event()
    got: list[tuple[Any, list[Any]]] = []
    button.on_click(lambda b: clicked.set())
    label.on_msg(lambda m, content, buffers: got.append((content, buffers)))
    bridge.dashboard("main", wb.Column(button, label))

    async def main() -> None:
        async with await Client.connect(bridge.url, "main") as c:
            await c.event(button.id, "click")
            assert await asyncio.to_thread(clicked.wait, 5)
            await c.custom(label.id, {"kind": "hi"}, [np.arange(4, dtype=np.float64)])
            label.send({"kind": "back"}, [b"\x01\x02"])
            await c.wait_for(lambda c: len(c.connection.customs) == 1)
            custom = c.connection.customs[0]
            assert isinstance(custom, Custom) and custom.content == {"kind": "back"}
            assert custom.buffers[0].tolist() == [1, 2]
            await c.event(button.id, "explode")
            await c.wait_for(lambda c: bool(c.errors))
            assert c.errors[0].code == "unknown_event"
            await c.ack()
            await c.wait_for(lambda c: bool(got))
            assert got[0][0] == {"kind": "hi"} and got[0][1][0].tolist() == [0.0, 1.0, 2.0, 3.0]

    run(main())


def test_fatal_refusals_raise_and_stop_reconnecting(bridge: wb.Bridge) -> None:
    bridge.dashboard("main", wb.Column(wb.Label("x")))

    async def main() -> None:
        with pytest.raises(ConnectionFailed) as info:
            await Client.connect(bridge.url, "nope")
        assert info.value.code == 1008
        with pytest.raises(ConnectionFailed) as info:
            await Client.connect(bridge.url, "main", origin="http://evil.example")
        assert info.value.code == 403
        same_host = bridge.url.rstrip("/")
        c = await Client.connect(bridge.url, "main", origin=same_host)
        bridge.call(lambda hub: hub.remove_document("main"))
        await c.wait_for(lambda c: c.closed)
        assert c.closed_code == 1008 and c.connections == 1
        assert [e.code for e in c.errors] == ["unknown_document"]
        with pytest.raises(ConnectionFailed):
            await c.set("m", value=1)
        await c.close()

    run(main())


def test_token_and_no_reconnect() -> None:
    with wb.Bridge(token="s3cret") as bridge:
        bridge.dashboard("main", wb.Column(wb.Label("x")))

        async def main() -> None:
            with pytest.raises(ConnectionFailed) as info:
                await Client.connect(bridge.url, "main")
            assert info.value.code == 403  # no Origin, no token: refused at the handshake
            with pytest.raises(ConnectionFailed) as info:
                await Client.connect(bridge.url, "main", origin=bridge.url.rstrip("/"))
            assert info.value.code == 1008  # a page without the token: refused at hello
            c = await Client.connect(bridge.url, "main", token="s3cret", reconnect=False)
            assert c.connected and not c.errors
            await c.drop()
            await c.wait_for(lambda c: c.closed)
            assert c.connections == 1 and c.closed_code == 1006
            await c.close()

        run(main())


def test_close_is_clean_and_wait_for_times_out(bridge: wb.Bridge) -> None:
    bridge.dashboard("main", wb.Column(wb.Label("x")))

    async def main() -> None:
        c = await Client.connect(bridge.url, "main")
        with pytest.raises(TimeoutError):
            await c.wait_for(lambda c: False, timeout=0.05)
        await c.close()
        assert c.closed and c.closed_code == 1000 and not c.connected
        with pytest.raises(ConnectionFailed):
            await c.wait_for(lambda c: False)

    run(main())


def test_first_connection_failures_raise_promptly() -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    free = socket.create_server(("127.0.0.1", 0))
    closed_port = free.getsockname()[1]
    free.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(ConnectionFailed):
            port = silent.getsockname()[1]
            await Client.connect(f"http://127.0.0.1:{port}/", "main", connect_timeout=0.3)
        assert loop.time() - start < 3
        with pytest.raises(ConnectionFailed):
            await Client.connect(f"http://127.0.0.1:{closed_port}/", "main")

    try:
        run(main())
    finally:
        silent.close()


def test_several_hub_urls_first_refusing_then_failing_over(bridge: wb.Bridge) -> None:
    """A list of hubs: a refused first one is skipped; a dropped hub moves to the next."""
    s = wb.Slider(2.0)
    bridge.dashboard("main", s)
    dead = f"http://127.0.0.1:{free_port()}/"  # a port nobody listens on

    async def main() -> None:
        c = await Client.connect([dead, bridge.url], "main", backoff=(0.02, 0.05))
        assert c.url == c.urls[1] and c.model(s.id)["value"] == 2.0
        await c.drop()  # this hub "fails": the client tries the next (dead) one, then back
        s.value = 4.0
        await c.wait_for(lambda c: c.connected and c.model(s.id)["value"] == 4.0)
        assert c.url == c.urls[1] and c.connections == 2
        await c.close()
        with pytest.raises(ConnectionFailed):  # none answers: connect() fails, after trying all
            await Client.connect([dead, dead.replace("http", "ws") + "ws"], "main")

    run(main())
    with pytest.raises(ValueError):
        Client([], "main")
