"""The Tornado edge over real sockets: routes, Origin, tokens, raw frames."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.common import http_get, port_of, run
from tests.helpers.ws import RawClient, hello, read
from wsbridge import wire as p


@pytest.fixture
def served(bridge: wb.Bridge) -> tuple[wb.Bridge, wb.Slider, wb.DataSource]:
    s = wb.Slider(value=1.0, label="f")
    src = wb.DataSource({"x": np.arange(3.0)})
    dash = bridge.dashboard("main", wb.Column(s), title="Main <&>")
    dash.add(src)
    bridge.flush()
    return bridge, s, src


def test_routes(served: Any) -> None:
    bridge, _, _ = served
    status, _, body = http_get(bridge.url)
    assert status == 200 and 'href="d/main"' in body and "Main &lt;&amp;&gt;" in body
    status, headers, body = http_get(bridge.url + "d/main")
    assert status == 200 and "window.wsbridgeClient" in body and "<title>Main &lt;&amp;&gt;" in body
    assert 'doc: "main"' in body
    status, headers, body = http_get(bridge.url + "static/wsbridge.js")
    assert status == 200 and "javascript" in headers["Content-Type"] and "export" in body
    assert http_get(bridge.url + "d/nope")[0] == 404
    status, _, body = http_get(bridge.url + "healthz")
    assert status == 200 and '"main"' in body
    assert http_get(bridge.url + "static/../bridge.py")[0] in (403, 404)


def test_index_serves_the_index_dashboard(served: Any) -> None:
    bridge, _, _ = served
    bridge.index = "main"
    status, _, body = http_get(bridge.url)
    assert status == 200 and 'doc: "main"' in body and '"./static/wsbridge.js"' in body


def test_pages_list_peer_hubs_after_their_own_base() -> None:
    peers = ["http://hub-b:8001/", "https://hub-c/x/?a=1&b=</script>"]
    with wb.Bridge(peers=peers) as bridge:
        assert bridge.server_config.peers == tuple(peers)
        bridge.dashboard("main", wb.Column())
        bridge.app("solo", lambda dash: wb.Column())
        body = http_get(bridge.url + "d/main")[2]
        assert 'new Client([base, ...["http://hub-b:8001/", ' in body
        # exact in a script (no HTML entities), and no way out of it
        assert '"https://hub-c/x/?a=1\\u0026b=\\u003c/script\\u003e"]' in body
        assert body.count("</script>") == 1
        # a per-session app's document lives in this process only
        assert "new Client([base, ...[]]" in http_get(bridge.url + "d/solo")[2]
    with wb.Bridge() as bridge:
        bridge.dashboard("main", wb.Column())
        assert "new Client([base, ...[]]" in http_get(bridge.url + "d/main")[2]


def test_page_names_its_document_exactly_in_the_script() -> None:
    with wb.Bridge() as bridge:
        bridge.dashboard("R&D <x>", wb.Column())
        body = http_get(bridge.url + "d/R%26D%20%3Cx%3E")[2]
        # a script's text is not HTML-unescaped: "&amp;" would name another document
        assert 'doc: "R\\u0026D \\u003cx\\u003e"' in body


@pytest.mark.parametrize("peer", ["hub-b:8001", "ws://hub-b/ws", "http://", "/relative/"])
def test_a_peer_must_be_a_hub_base_url(peer: str) -> None:
    with pytest.raises(ValueError, match="hub base URL"):
        wb.Bridge(peers=[peer])


async def test_foreign_origin_is_refused_and_own_origin_accepted(served: Any) -> None:
    bridge, _, _ = served
    with pytest.raises(Exception) as info:
        await hello(bridge, headers={"Origin": "http://evil.example"})
    assert "403" in str(info.value)
    port = port_of(bridge.url)
    conn = await hello(bridge, headers={"Origin": f"http://127.0.0.1:{port}"})
    assert isinstance(await read(conn), p.Welcome)
    conn.close()


async def test_allow_origins_patterns() -> None:
    with wb.Bridge(allow_origins=["https://*.example.org"]) as bridge:
        bridge.dashboard("main", wb.Column())
        conn = await hello(bridge, headers={"Origin": "https://app.example.org"})
        assert isinstance(await read(conn), p.Welcome)
        conn.close()
        with pytest.raises(Exception, match="403"):
            await hello(bridge, headers={"Origin": "https://example.org.evil.net"})


async def test_token_required_by_page_and_websocket() -> None:
    with wb.Bridge(token="s3cret") as bridge:
        bridge.dashboard("main", wb.Column())
        assert http_get(bridge.url + "d/main")[0] == 403
        # ?token= sets this hub's cookie, then redirects (tests/test_edge_cookie.py)
        cookie = f"wsbridge_token_{bridge.url.rstrip('/').rsplit(':', 1)[1]}=s3cret"
        assert http_get(bridge.url + "d/main", {"Cookie": cookie})[0] == 200
        assert http_get(bridge.url + "d/main", {"Authorization": "Bearer s3cret"})[0] == 200
        # not a browser (no Origin) and no token: 403 at the handshake
        with pytest.raises(Exception, match="403"):
            await hello(bridge)
        # a page of ours without the token: error then close 1008
        own = {"Origin": bridge.url.rstrip("/")}
        conn = await hello(bridge, headers=own)
        msg = await read(conn)
        assert isinstance(msg, p.Error) and msg.code == "unauthorized"
        assert await conn.read_message() is None and conn.close_code == 1008
        conn.close()  # closed by the hub; tornado still wants it closed on our side
        # token in the hello (a page), in a header, the cookie, a subprotocol
        for kw, headers in (
            ({"token": "s3cret"}, own),
            ({}, {"Authorization": "Bearer s3cret"}),
            ({}, {"Cookie": cookie}),
            ({}, {"Sec-WebSocket-Protocol": "wsbridge.v1, wsbridge.token.s3cret"}),
        ):
            conn = await hello(bridge, headers=headers, **kw)
            assert isinstance(await read(conn), p.Welcome)
            conn.close()
        conn = await hello(bridge, headers=own, token="wrong")
        assert isinstance(await read(conn), p.Error)
        assert await conn.read_message() is None and conn.close_code == 1008
        conn.close()


def test_non_loopback_needs_a_token() -> None:
    with pytest.raises(ValueError, match="token"):
        wb.Bridge(host="0.0.0.0")


def test_invalid_utf8_closes_with_1007(served: Any) -> None:
    bridge, _, _ = served
    raw = RawClient(bridge)
    raw.send(0x1, b'{"v":1,"type":"hello","doc":"\xff\xfe"}')
    assert raw.close_code() == 1007


def test_invalid_utf8_split_across_fragments_closes_with_1007(served: Any) -> None:
    bridge, _, _ = served
    raw = RawClient(bridge)
    text = '{"v":1,"type":"hello","doc":"\u00e9"}'.encode()
    cut = text.index(b"\xc3") + 1  # a valid sequence cut between its two bytes...
    raw.send(0x1, text[:cut], fin=False)
    raw.send(0x0, b"\x28" + text[cut + 1 :], fin=True)  # ...completed by a bad byte
    assert raw.close_code() == 1007


def test_oversized_message_closes_with_1009() -> None:
    with wb.Bridge(max_message_size=1024) as bridge:
        bridge.dashboard("main", wb.Column())
        raw = RawClient(bridge)
        raw.send(0x2, bytes(4096))
        assert raw.close_code() == 1009


def test_fragmented_messages_are_reassembled(served: Any) -> None:
    bridge, _, _ = served
    raw = RawClient(bridge)
    hello_text = p.encode(p.Hello(doc="main")).data
    raw.send(0x1, hello_text[:5], fin=False)
    raw.send(0x0, hello_text[5:], fin=True)
    opcode, payload = raw.recv()
    assert opcode == 0x1 and isinstance(p.decode(payload.decode()), p.Welcome)


async def test_bad_input_leaves_others_working(served: Any) -> None:
    bridge, slider, src = served
    good = await hello(bridge)
    assert isinstance(await read(good), p.Welcome)
    assert isinstance(await read(good), p.Snapshot)
    bad = await hello(bridge)
    await read(bad), await read(bad)
    cases: list[tuple[str | bytes, str]] = [
        ("not json", "bad_json"),
        (b"\x05\x00\x00\x00{}", "bad_frame"),
        ('{"v":1,"type":"teleport"}', "unknown_type"),
        ('{"v":1,"type":"set","model":"nope","state":{"value":1},"req":1}', "unknown_model"),
        (p.encode(p.Set(model=slider.id, state={"label": "x"}, req=2)).data.decode(), "read_only"),
        (
            p.encode(p.Set(model=slider.id, state={"bogus": 1}, req=3)).data.decode(),
            "unknown_property",
        ),
        (
            p.encode(p.Set(model=slider.id, state={"value": "x"}, req=4)).data.decode(),
            "invalid_value",
        ),
        (p.encode(p.Event(model=slider.id, name="click")).data.decode(), "unknown_event"),
    ]
    for data, code in cases:
        bad.write_message(data, binary=isinstance(data, bytes))
        msg = await read(bad)
        assert isinstance(msg, p.Error) and msg.code == code, (code, msg)
        if code in ("read_only", "invalid_value"):
            reply = await read(bad)
            assert isinstance(reply, p.Patch) and reply.reply
            assert reply.state.get("value", 1.0) == 1.0
    # wrong version closes that connection only
    bad.write_message('{"v":9,"type":"ack","seq":1}')
    msg = await read(bad)
    assert isinstance(msg, p.Error) and msg.code == "bad_version"
    assert await bad.read_message() is None and bad.close_code == 1002
    bad.close()
    # the hub, the producer and the other client are untouched
    src.stream({"x": np.array([3.0])})
    msg = await read(good)
    assert isinstance(msg, p.Stream) and msg.data["x"].tolist() == [3.0]
    good.write_message(p.encode(p.Set(model=slider.id, state={"value": 2.5}, req=1)).data.decode())
    msg = await read(good)
    assert isinstance(msg, p.Patch) and msg.state == {"value": 2.5}
    assert slider.value == 2.5
    good.close()


# -- issue 6: security and faults at the edge


def test_tokens_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    with wb.Bridge(token="tok-SECRET-123") as bridge:
        bridge.dashboard("main", wb.Column())
        for url in ("d/main?token=tok-SECRET-123", "d/main?token=wrong-SECRET", "?token=x&token=y"):
            http_get(bridge.url + url)

        async def attempts() -> None:
            for headers in ({}, {"Sec-WebSocket-Protocol": "wsbridge.v1, wsbridge.token.nope"}):
                with pytest.raises(Exception, match="403"):
                    await hello(bridge, headers=headers)
            conn = await hello(
                bridge, headers={"Origin": bridge.url.rstrip("/")}, token="wrong-SECRET"
            )
            await read(conn)  # unauthorized, then the hub closes
            assert await conn.read_message() is None
            conn.close()

        run(attempts())
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "d/main?token=***" in text  # the request is logged, the token is not
    assert "SECRET" not in text and "token=x" not in text


async def test_expired_token_closes_sessions_with_1008() -> None:
    import time

    with wb.Bridge(token="t", token_expires=time.time() + 1.0) as bridge:
        bridge.dashboard("main", wb.Column())
        conn = await hello(bridge, token="t", headers={"Origin": bridge.url.rstrip("/")})
        assert isinstance(await read(conn), p.Welcome)
        await read(conn)  # snapshot
        msg = await read(conn)
        assert isinstance(msg, p.Error) and msg.code == "unauthorized" and "expired" in msg.message
        assert await conn.read_message() is None and conn.close_code == 1008
        conn.close()
        assert http_get(bridge.url + "d/main?token=t")[0] == 403
        with pytest.raises(Exception, match="403"):
            await hello(bridge, headers={"Authorization": "Bearer t"})


def test_compression_is_off_by_default(served: Any) -> None:
    bridge, _, _ = served
    host, port = bridge.url[len("http://") :].rstrip("/").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101")
    assert b"sec-websocket-extensions" not in head.lower()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (struct.pack("!H", 1000) + b"bye", 1000),  # echoed (RFC 6455 §5.5.1)
        (struct.pack("!H", 4321), 4321),
        (struct.pack("!H", 999), 1002),  # not a close code
        (struct.pack("!H", 1005), 1002),  # reserved, never sent on the wire
        (struct.pack("!H", 1015), 1002),
        (b"\x03", 1002),  # one byte: no room for a code
        (struct.pack("!H", 1000) + b"\xff", 1002),  # reason not UTF-8
    ],
)
def test_close_frames_are_checked(served: Any, payload: bytes, expected: int) -> None:
    bridge, _, _ = served
    raw = RawClient(bridge)
    raw.send(0x8, payload)
    assert raw.close_code() == expected


def test_protocol_violations_fail_only_that_connection(served: Any) -> None:
    bridge, _, src = served
    good = RawClient(bridge)
    good.send(0x1, p.encode(p.Hello(doc="main")).data)
    assert good.recv()[0] == 0x1 and good.recv()[0] == 0x2  # welcome, snapshot (binary)
    for frame in (
        b"\x81\x05hello",  # unmasked client frame (RFC 6455 §5.1)
        b"\x89\xfe\x00\x80" + bytes(4) + bytes(128),  # control frame over 125 bytes (§5.5)
        b"\xf1\x80" + bytes(4),  # reserved bits set without an extension (§5.2)
    ):
        bad = RawClient(bridge)
        bad.sock.sendall(frame)
        with pytest.raises((ConnectionError, OSError)):
            for _ in range(10):
                opcode, _ = bad.recv()
                if opcode == 0x8:
                    raise ConnectionError("closed")
    src.stream({"x": np.array([7.0])})
    opcode, data = good.recv()
    msg = p.decode(data)
    assert isinstance(msg, p.Stream) and msg.data["x"].tolist() == [7.0]


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_a_stalled_client_is_bounded_then_dropped_and_others_unaffected() -> None:
    """1 GiB streamed while one client never reads (figures in the closing note)."""
    import logging
    import threading

    mib = 1024 * 1024
    queue, log_bytes = 16 * mib, 8 * mib
    with wb.Bridge(queue_max_bytes=queue, log_max_bytes=log_bytes, write_timeout=3.0) as bridge:
        src = wb.DataSource({"y": np.zeros(0)})
        bridge.dashboard("main", wb.Column()).add(src)
        bridge.flush()
        stalled = RawClient(bridge)
        stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        stalled.send(0x1, p.encode(p.Hello(doc="main")).data)
        reader = RawClient(bridge)
        reader.send(0x1, p.encode(p.Hello(doc="main")).data)
        reader.recv(), reader.recv()
        last = [0]

        def read() -> None:  # a healthy viewer reads as fast as it can
            try:
                while True:
                    _, data = reader.recv()
                    last[0] = getattr(p.decode(data), "seq", None) or last[0]
            except OSError:
                pass

        def sessions() -> dict[str, tuple[int, int, int]]:
            def stats(hub: Any) -> dict[str, tuple[int, int, int]]:
                return {
                    s.id: (s.queued_bytes, s.coalesced, s.dropped) for s in hub.sessions.values()
                }

            return bridge.call(stats)  # type: ignore[no-any-return]

        threading.Thread(target=read, daemon=True).start()
        chunk = np.random.default_rng(1).random(mib // 8)  # 1 MiB per message
        before = peak = _rss()
        most_queued = 0
        for i in range(1024):  # 1 GiB
            src.stream({"y": chunk}, rollover=mib // 8)
            if i % 16 == 15:
                bridge.flush()
                peak = max(peak, _rss())
                most_queued = max([most_queued, *(q for q, _, _ in sessions().values())])
        bridge.flush()
        final = bridge.call(lambda hub: hub.documents["main"].seq)
        deadline = time.monotonic() + 20
        while (last[0] < final or len(sessions()) > 1) and time.monotonic() < deadline:
            time.sleep(0.05)  # the reader catches up; the stalled one goes after write_timeout
        growth = peak - before
        logging.getLogger("wsbridge.tests").warning(
            "stalled client: RSS growth %.1f MiB over 1 GiB streamed, most queued %.1f MiB, "
            "sessions left %s",
            growth / mib,
            most_queued / mib,
            sessions(),
        )
        assert last[0] == final  # the healthy client got everything
        assert most_queued <= queue  # no session ever held more than its bound
        # two sessions at their bound, the log, frames in flight and the allocator's slack
        assert growth < 2 * queue + log_bytes + 64 * mib, f"hub memory grew {growth / mib:.0f} MiB"
        assert len(sessions()) == 1  # the stalled one was dropped (4001), the reader stays
        stalled.sock.close()
        reader.sock.close()


def test_frames_written_by_reference_arrive_whole_through_partial_writes() -> None:
    """Large streamed arrays go to ``sendmsg`` by reference (protocol.Frame); a
    slow reader's small socket buffer cuts writes inside them, and every
    frame still arrives byte for byte, in order."""
    with wb.Bridge() as bridge:
        src = wb.DataSource({"y": np.zeros(0)})
        bridge.dashboard("main", wb.Column()).add(src)
        bridge.flush()
        client = RawClient(bridge)
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        client.send(0x1, p.encode(p.Hello(doc="main")).data)
        client.recv(), client.recv()  # welcome, snapshot
        floor = p.MIN_REFERENCED_BYTES // 8
        sent = [np.full(floor + 7 * i, float(i)) for i in range(24)]
        for y in sent:
            src.stream({"y": y}, rollover=10)
            bridge.flush()  # one message each (not batched with the next one)
        got = []
        for _ in sent:
            time.sleep(0.01)  # a slow reader: the hub's writes are cut short
            _, data = client.recv()
            message = p.decode(data)
            assert isinstance(message, p.Stream)
            got.append(message.data["y"])
        for want, arrived in zip(sent, got, strict=True):
            np.testing.assert_array_equal(arrived, want)


async def test_a_broadcast_the_sockets_take_at_once_leaves_every_writer_parked(
    bridge: wb.Bridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each client's frame is written straight from the hub's publish; a writer
    whose socket took it all is not woken for a turn that finds nothing (that
    turn cost the hub ~10 us per client per patch: benchmarks/README.md)."""
    from wsbridge.server import edge

    label = wb.Label("a")
    bridge.dashboard("main", wb.Column(label))
    bridge.flush()
    conns = [await hello(bridge) for _ in range(5)]
    for conn in conns:
        assert isinstance(await read(conn), p.Welcome)
        assert isinstance(await read(conn), p.Snapshot)
    await asyncio.sleep(0.05)  # every writer parked
    turns: list[str | None] = []
    write_batch = edge.SessionWriter._write_batch

    def counted(self: Any) -> Any:
        turns.append(self.session.id if self.session else None)
        return write_batch(self)

    monkeypatch.setattr(edge.SessionWriter, "_write_batch", counted)
    label.value = "b"  # (no bridge.flush(): queued behind it, writers would batch)
    for conn in conns:
        patch = await read(conn)
        assert isinstance(patch, p.Patch) and patch.state == {"value": "b"}
    await asyncio.sleep(0.05)  # a woken writer would have taken its turn by now
    assert len(turns) == len(set(turns)) == 5  # one direct write each, nothing more

    # A browser set: its echo, then the others, all written directly. The
    # callbacks thread's "done with this input", queued behind the patch,
    # publishes nothing and must not send the patch through the writers.
    slider = wb.Slider(value=1.0)
    bridge.dashboard("main", wb.Column(label, slider))  # a new spec: a new snapshot each
    for conn in conns:
        while not isinstance(await read(conn), p.Snapshot):
            pass
    await asyncio.sleep(0.05)
    turns.clear()
    req = p.Set(model=slider.id, state={"value": 2.0}, req=1)
    conns[0].write_message(p.encode(req).data.decode())
    for conn in conns:
        patch = await read(conn)
        assert isinstance(patch, p.Patch) and patch.state == {"value": 2.0}
    await asyncio.sleep(0.05)
    assert len(turns) == len(set(turns)) == 5
    assert bridge.hub is not None and bridge.hub.after_echo == os.sched_yield  # see Hub._fan_out
    for conn in conns:
        conn.close()
