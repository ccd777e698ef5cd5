"""What a client can put in the hub's log: little, and never a token.

- Bad frames, unknown types and repeated ``hello`` are logged clipped and at
  most a few times per interval, whatever the client sends
  (``wsbridge.logs``); the error frames that answer them are clipped too.
- A static path the file system cannot name is a 404, not a 500 traceback.
- Tokens are redacted from every logged URI after percent-decoding, so
  ``?%74oken=`` hides nothing (docs/security.md "Logs").

Real sockets on a started Bridge; the log is what ``caplog`` collects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import urllib.parse
from collections.abc import Iterator

import pytest
from tornado.httpclient import HTTPRequest

import wsbridge as wb
from tests.helpers.common import http_get
from tests.helpers.ws import connect, read, ws_url
from wsbridge import wire as p
from wsbridge.logs import LOG_INTERVAL, clip, log_limited
from wsbridge.server.pages import redact

MiB = 1 << 20


@pytest.fixture
def bridge() -> Iterator[wb.Bridge]:
    with wb.Bridge(token="s3cret") as b:
        b.dashboard("main", wb.Column(wb.Slider(1.0)))
        b.flush()
        yield b


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(("wsbridge", "tornado"))
    )


def bad_dtype_frame(size: int) -> bytes:
    """A binary frame whose buffer entry names a ``size``-character dtype."""
    header = {
        "v": 1,
        "type": "set",
        "model": "m1",
        "state": {"value": None},
        "req": 1,
        "$buffers": [{"path": ["state", "value"], "dtype": "x" * size, "shape": [1], "offset": 0}],
    }
    head = json.dumps(header).encode()
    return struct.pack("<I", len(head)) + head


async def test_a_flood_of_bad_frames_costs_the_log_a_few_short_lines(
    bridge: wb.Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    own = {"Origin": bridge.url.rstrip("/")}
    conn = await connect(HTTPRequest(ws_url(bridge), headers=own))
    conn.write_message(p.encode(p.Hello(doc="main", token="s3cret")).data.decode())
    assert isinstance(await read(conn), p.Welcome)
    await read(conn)  # the snapshot
    frame = bad_dtype_frame(MiB)
    for _ in range(50):
        conn.write_message(frame, binary=True)
        conn.write_message(json.dumps({"v": 1, "type": "t" * MiB}))
        conn.write_message(p.encode(p.Hello(doc="main", token="x" * MiB)).data.decode())
    answers = [await read(conn) for _ in range(150)]
    assert all(isinstance(a, p.Error) for a in answers)
    assert {a.code for a in answers} == {"bad_frame", "unknown_type", "bad_message"}  # type: ignore[attr-defined]
    assert max(len(a.message) for a in answers) < 1000  # type: ignore[attr-defined]
    text = logged(caplog)
    assert len(text) < 20_000, f"{len(text)} characters logged"
    assert text.count("bad_frame") <= 5 and text.count("unknown_type") <= 5
    # the connection still works
    conn.write_message(p.encode(p.Ack(seq=0)).data.decode())
    status, _, _ = http_get(bridge.url + "d/main", {"Authorization": "Bearer s3cret"})
    assert status == 200
    conn.close()


@pytest.mark.parametrize("path", ["static/%00", "static/a%00b.js", "static/bokeh/%00"])
def test_a_static_path_with_a_nul_byte_is_a_404(
    bridge: wb.Bridge, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    for _ in range(20):
        assert http_get(bridge.url + path)[0] == 404
    assert "Traceback" not in caplog.text and "Uncaught" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_long_uris_are_clipped_and_refusals_rate_limited(
    bridge: wb.Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(30):
        assert http_get(bridge.url + "d/" + "x" * 30_000)[0] == 403
    text = logged(caplog)
    assert len(text) < 20_000, f"{len(text)} characters logged"


@pytest.mark.parametrize(
    "query",
    [
        "token=s3cret",
        "%74oken=s3cret",
        "%74%6F%6B%65%6E=s3cret",
        "to%6Ben=s3cret",
        "a=1&%54OKEN=s3cret&b=2",
        "x=1;token=s3cret",
        "token=s3%63ret",
    ],
)
def test_tokens_are_redacted_after_percent_decoding(
    bridge: wb.Bridge, caplog: pytest.LogCaptureFixture, query: str
) -> None:
    caplog.set_level(logging.INFO)
    status, _, _ = http_get(bridge.url + "d/main?" + query)
    assert status in (200, 403)
    http_get(bridge.url + "d/nope?" + query)  # a 404, logged as a warning
    http_get(bridge.url + "ws?" + query)  # not a WebSocket upgrade: 400
    text = caplog.text
    assert "s3cret" not in text and "s3%63ret" not in text, text
    assert "***" in text
    assert "s3cret" not in urllib.parse.unquote(redact("/d/main?" + query))


def test_redact_keeps_everything_else() -> None:
    assert redact("/d/main?a=1&token=x&b=2") == "/d/main?a=1&token=***&b=2"
    assert redact("/d/main?tokens=1&mytoken=2") == "/d/main?tokens=1&mytoken=2"
    assert redact("/d/main") == "/d/main"
    assert redact("/d/main?%74oken=x#frag") == "/d/main?%74oken=***#frag"


async def test_websocket_handshake_tokens_are_redacted(
    bridge: wb.Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    conn = await connect(ws_url(bridge) + "?%74oken=s3cret")
    conn.write_message(p.encode(p.Hello(doc="main")).data.decode())
    assert isinstance(await read(conn), p.Welcome)
    conn.close()
    await asyncio.sleep(0.1)
    assert "s3cret" not in caplog.text


def test_clip_and_log_limited(caplog: pytest.LogCaptureFixture) -> None:
    assert clip("a\nb") == "a\\nb"  # one value, one line
    assert clip("x" * 250) == "x" * 200 + "... (50 more characters)"
    assert clip(b"\x00") == "b'\\x00'"
    logger = logging.getLogger("wsbridge.test")
    caplog.set_level(logging.INFO, logger="wsbridge.test")
    shown = [log_limited(logger, logging.WARNING, "k", "n=%d", i, clock=0.0) for i in range(8)]
    assert shown == [True] * 5 + [False] * 3
    assert log_limited(logger, logging.WARNING, "other", "other", clock=0.0)  # its own window
    assert log_limited(logger, logging.WARNING, "k", "again", clock=LOG_INTERVAL)
    assert caplog.records[-1].getMessage() == (
        f"again (and 3 more like it in the last {LOG_INTERVAL:.0f} s, not logged)"
    )
