"""The streaming-HTTP fallback at the edge (wsbridge/server/httpstream.py).

Real sockets on a started Bridge, a client written by hand
(tests/helpers/stream.py): the same frames, resume, limits and refusals as
the WebSocket; every bad request gets a clear status, is logged a few
times at most, and the other viewers carry on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.common import wait_until
from tests.helpers.stream import RawStream, body, post
from wsbridge import wire as p
from wsbridge.logs import LOG_BURST
from wsbridge.wire import framing as f


@pytest.fixture(scope="module")
def hub() -> Iterator[tuple[wb.Bridge, wb.Slider, wb.DataSource]]:
    with wb.Bridge(token="s3cret", max_message_size=4096, hello_timeout=0.5) as bridge:
        slider = wb.Slider(1.0, max=100.0)
        src = wb.DataSource({"x": np.arange(3.0)})
        bridge.dashboard("main", wb.Column(slider, wb.Sparkline(src)))
        bridge.flush()
        yield bridge, slider, src


def own(bridge: wb.Bridge) -> dict[str, str]:
    return {"Origin": bridge.url.rstrip("/")}


def joined(bridge: wb.Bridge, **hello: object) -> RawStream:
    """A viewer: a stream opened with its hello in the body, past the snapshot."""
    st = RawStream(bridge.url, body(p.Hello(doc="main", token="s3cret", **hello)), own(bridge))
    assert st.status == 200
    assert isinstance(st.message(), p.Welcome)
    return st


def test_a_stream_carries_every_kind_of_frame_and_input_by_post(hub: tuple) -> None:
    bridge, slider, src = hub
    st = joined(bridge)
    assert isinstance(st.message(), p.Snapshot)
    assert len(st.id) == 43  # 256 random bits, urlsafe base64
    src.stream({"x": np.arange(4.0)})
    got = st.message()
    assert isinstance(got, p.Stream)
    np.testing.assert_array_equal(got.data["x"], np.arange(4.0))  # binary stays binary
    assert st.send(p.Set(model=slider.id, state={"value": 7.0}, req=1), **own(bridge)) == 204
    echo = st.message()
    assert isinstance(echo, p.Patch) and echo.state == {"value": 7.0}
    wait_until(lambda: slider.value == 7.0)
    assert bridge.call(lambda h: h.stats()["transports"]) == {"http": 1}


def test_a_new_stream_resumes_with_exactly_what_was_missed(hub: tuple) -> None:
    bridge, slider, _ = hub
    st = joined(bridge)
    snap = st.message()
    assert isinstance(snap, p.Snapshot)
    st.close()  # cut
    for i in range(3):
        slider.value = 10.0 + i
        bridge.flush()
    again = RawStream(
        bridge.url,
        body(p.Hello(doc="main", token="s3cret", epoch=snap.epoch, seq=snap.seq)),
        own(bridge),
    )
    welcome = again.message()
    assert isinstance(welcome, p.Welcome) and welcome.resumed
    seqs = [again.message().seq for _ in range(3)]  # type: ignore[attr-defined]
    assert (
        seqs
        == [snap.seq + 1, snap.seq + 2, snap.seq + 3]
        == list(range(snap.seq + 1, welcome.seq + 1))
    )


def test_bad_requests_get_clear_statuses_and_the_others_carry_on(
    hub: tuple, caplog: pytest.LogCaptureFixture
) -> None:
    bridge, slider, _ = hub
    caplog.set_level(logging.INFO)
    other = joined(bridge)
    assert isinstance(other.message(), p.Snapshot)
    st = joined(bridge)
    welcome_session = bridge.call(lambda h: sorted(h.sessions))[0]
    hello = body(p.Hello(doc="main", token="s3cret"))
    base = bridge.url + "stream"
    for _ in range(20):
        # no id, a made-up id, another viewer's session id (from origin fields)
        assert post(base + "/", hello, own(bridge))[0] == 404
        assert post(base + "/" + "x" * 43, hello, own(bridge))[0] == 404
        assert post(base + "/" + welcome_session, hello, own(bridge))[0] == 404
        # the right id from another origin (even an allowed one would be)
        assert post(f"{base}/{st.id}", hello, {"Origin": "http://evil.example"})[0] == 403
        assert post(f"{base}/{st.id}", hello, {})[0] == 403
        # a foreign origin, or no origin and no token, cannot open one
        assert post(base, hello, {"Origin": "http://evil.example"})[0] == 403
        assert post(base, hello, {})[0] == 403
    # the right id, its origin: accepted
    assert st.send(p.Set(model=slider.id, state={"value": 3.0}, req=1), **own(bridge)) == 204
    text = "\n".join(r.getMessage() for r in caplog.records)
    # 140 refusals of 4 kinds: a few lines per kind (and per status), not one each
    assert text.count("refused a stream request") <= 4 * LOG_BURST
    assert len(caplog.records) < 70
    assert "x" * 43 not in text
    # the other viewer saw the set; nothing else happened to it
    assert isinstance(other.message(), p.Patch)
    # a client without Origin that shows the token may open a stream
    assert RawStream(bridge.url, hello, {"Authorization": "Bearer s3cret"}).status == 200


@pytest.mark.parametrize(
    ("payload", "status", "close"),
    [
        (f.frame_header(f.TEXT, 5000) + b"x" * 5000, 413, 1009),  # over max_message_size
        (f.encode_frame(f.TEXT, b"\xff\xfe"), 400, 1007),  # invalid UTF-8
        (f.encode_frame(f.CLOSE, b""), 400, 1002),  # not a client's kind
        (f.encode_frame(f.TEXT, b"{}")[:-1], 400, 1002),  # cut inside a frame
    ],
    ids=["too-big", "utf8", "kind", "truncated"],
)
def test_bad_input_closes_that_stream_as_a_websocket_would(
    hub: tuple, payload: bytes, status: int, close: int
) -> None:
    bridge, _, _ = hub
    other = joined(bridge)
    assert isinstance(other.message(), p.Snapshot)
    st = joined(bridge)
    assert isinstance(st.message(), p.Snapshot)
    assert post(f"{bridge.url}stream/{st.id}", payload, own(bridge))[0] == status
    assert st.close_code()[0] == close
    assert post(f"{bridge.url}stream/{st.id}", body(p.Ack(seq=0)), own(bridge))[0] == 404
    assert other.send(p.Ack(seq=0), **own(bridge)) == 204  # unaffected


def test_an_oversized_open_request_and_an_empty_post(hub: tuple) -> None:
    bridge, _, _ = hub
    big = f.encode_frame(f.TEXT, b"x" * 5000)
    assert RawStream(bridge.url, big, own(bridge)).status == 413
    st = joined(bridge)
    assert post(f"{bridge.url}stream/{st.id}", b"", own(bridge))[0] == 400


def test_a_stream_that_never_says_hello_is_closed_4008(hub: tuple) -> None:
    bridge, _, _ = hub
    start = time.monotonic()
    st = RawStream(bridge.url, b"", own(bridge))
    assert st.status == 200
    assert st.close_code() == (4008, "no hello in time")
    assert 0.4 < time.monotonic() - start < 3.0


def test_limits_and_keepalives_are_the_websockets() -> None:
    with wb.Bridge(max_clients=1, ping_interval=0.2) as bridge:
        bridge.dashboard("main", wb.Column())
        bridge.flush()
        first = RawStream(bridge.url, body(p.Hello(doc="main")), own(bridge))
        assert isinstance(first.message(), p.Welcome)
        assert isinstance(first.message(), p.Snapshot)
        second = RawStream(bridge.url, body(p.Hello(doc="main")), own(bridge))
        refused = second.message()
        assert isinstance(refused, p.Error) and refused.code == "too_many_clients"
        assert second.close_code()[0] == 1013
        # an idle stream gets keep-alives, so proxies keep it and the client knows it lives
        assert first.keepalive == 0.2
        assert first.frame()[0] == f.KEEPALIVE


def test_a_stream_that_stops_reading_is_bounded_then_closed_4001(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Backpressure as on a WebSocket: every write is awaited, the outbox is
    bounded, a reader stalled for ``write_timeout`` is dropped (4001)."""
    import socket

    with wb.Bridge(write_timeout=1.0, queue_max_bytes=1 << 20) as bridge:
        src = wb.DataSource({"x": np.zeros(0)})
        bridge.dashboard("main", wb.Column(wb.Sparkline(src)))
        bridge.flush()
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            port = int(bridge.url.rsplit(":", 1)[1].rstrip("/"))
            stalled.connect(("127.0.0.1", port))
            hello = body(p.Hello(doc="main"))
            stalled.sendall(
                b"POST /stream HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\n"
                b"Content-Length: %d\r\n\r\n%s"
                % (port, own(bridge)["Origin"].encode(), len(hello), hello)
            )
            wait_until(lambda: bridge.call(lambda h: h.stats()["transports"]) == {"http": 1})
            queued: list[int] = []
            chunk = np.random.default_rng(0).random(8192)
            for _ in range(200):  # 200 x 64 KB, never read
                src.stream({"x": chunk})
                bridge.flush()
                queued.append(
                    bridge.call(
                        lambda h: max((s.queued_bytes for s in h.sessions.values()), default=0)
                    )
                )
            assert max(queued) <= (1 << 20) + 65536  # its outbox stays bounded
            wait_until(lambda: bridge.call(lambda h: h.stats()["transports"]) == {}, 10)
            assert "closing (4001 slow consumer)" in caplog.text
        finally:
            stalled.close()
