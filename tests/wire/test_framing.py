"""The streaming-HTTP framing (wsbridge/wire/framing.py) against the golden
stream of tests/wire/framing.bin, which the JS parser reads too
(js/test/client/httpstream.test.js)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wsbridge import wire as p
from wsbridge.wire import framing as f

WIRE = Path(__file__).parent
GOLDEN = json.loads((WIRE / "framing.json").read_text())
STREAM = (WIRE / GOLDEN["file"]).read_bytes()


def expected(entry: dict[str, Any]) -> bytes:
    if "json" in entry:
        return f.open_payload(entry["json"]["stream"], entry["json"]["keepalive"])
    if "file" in entry:
        return (WIRE / entry["file"]).read_bytes()
    if "code" in entry:
        return f.close_payload(entry["code"], entry["reason"])
    return b""


@pytest.mark.parametrize("step", [1, 3, 5, 64, 4096, len(STREAM)])
def test_the_golden_stream_parses_in_any_slicing(step: int) -> None:
    parser = f.FrameParser(1 << 20)
    frames: list[tuple[int, bytes]] = []
    for i in range(0, len(STREAM), step):
        frames += parser.feed(STREAM[i : i + step])
    parser.finish()
    assert [k for k, _ in frames] == [e["kind"] for e in GOLDEN["frames"]]
    assert [d for _, d in frames] == [expected(e) for e in GOLDEN["frames"]]
    # the payloads are the WebSocket's frames, byte for byte
    assert isinstance(p.decode(frames[1][1].decode()), p.Welcome)
    assert isinstance(p.decode(frames[2][1]), p.Stream)
    assert f.parse_open(frames[0][1])["stream"] == "s" * 43
    assert f.parse_close(frames[-1][1]) == (4001, "slow consumer")


@pytest.mark.parametrize("case", GOLDEN["invalid"], ids=lambda c: c["name"])
def test_invalid_streams_are_refused_with_their_codes(case: dict[str, Any]) -> None:
    parser = f.FrameParser(case["max_payload"])
    with pytest.raises(f.FramingError) as err:
        parser.feed(bytes.fromhex(case["hex"]))
        parser.finish()
    assert (err.value.close_code, err.value.status) == (case["close"], case["status"])
    assert err.value.code == "bad_frame"


def test_a_client_may_send_only_message_frames() -> None:
    parser = f.FrameParser(1024, f.CLIENT_KINDS)
    assert parser.feed(f.encode_frame(f.TEXT, b"{}") + f.encode_frame(f.BINARY, b"x")) == [
        (f.TEXT, b"{}"),
        (f.BINARY, b"x"),
    ]
    with pytest.raises(f.FramingError):
        parser.feed(f.encode_frame(f.CLOSE, f.close_payload(1000, "")))


def test_a_declared_length_over_the_bound_is_refused_before_it_is_buffered() -> None:
    parser = f.FrameParser(16)
    with pytest.raises(f.FramingError) as err:
        parser.feed(f.frame_header(f.BINARY, 1 << 31))
    assert err.value.close_code == 1009 and parser.buffered <= 5  # the header at most
