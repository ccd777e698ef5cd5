"""Error replies are short and count against the outbound bound.

A client that sends large malformed frames and never reads must not make
the hub queue (or log) copies of them: every ``error`` carries at most
``ERROR_TEXT_MAX`` characters of text and of each ``ref`` value, errors
that answer a client's input are queued under ``queue_max_bytes`` like any
other frame, and malformed frames take input tokens, so a flood of them is
refused and then closed (1008) like any input flood (docs/security.md).
"""

from __future__ import annotations

import logging
import socket
import struct
import time

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.pair import Pair
from tests.helpers.ws import RawClient
from wsbridge import wire as p
from wsbridge.errors import ERROR_TEXT_MAX

MIB = 1024 * 1024


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _send_fast(raw: RawClient, opcode: int, payload: bytes) -> None:
    """One masked frame with an all-zero mask (valid, RFC 6455 §5.3): no
    Python loop over a megabyte to mask it."""
    n = len(payload)
    head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n) if n >= 65536 else b""
    if not head:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n) if n >= 126 else b""
    if not head:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    raw.sock.sendall(head + b"\0\0\0\0" + payload)


def _echoing_frame(size: int) -> bytes:
    """A text frame the hub refuses (unknown type) whose type is ``size`` bytes long."""
    return b'{"v":1,"type":"' + b"x" * size + b'"}'


def test_an_error_echoes_at_most_the_documented_length() -> None:
    pair = Pair()
    pair.create("main", wb.Column())
    client = pair.connect()
    pair.send(client, _echoing_frame(MIB).decode())
    pair.send(client, '{"v":"' + "y" * MIB + '","type":"ack"}')  # bad_version echoes v
    pair.pump()
    errors = [m for m in pair.received(client) if isinstance(m, p.Error)]
    assert [e.code for e in errors] == ["unknown_type", "bad_version"]
    for error in errors:
        assert len(error.message) <= ERROR_TEXT_MAX
        for value in (error.ref or {}).values():
            assert not isinstance(value, str) or len(value) <= ERROR_TEXT_MAX


def test_errors_count_against_the_outbound_bound() -> None:
    """Errors answering input are queued like any frame: past the bound the
    queue is dropped for a snapshot, never grown."""
    bound = 16 * 1024
    pair = Pair(queue_max_bytes=bound, input_burst=100_000)
    pair.create("main", wb.Column())
    client = pair.connect()
    session = pair.session(client)
    most = 0
    for _ in range(2000):  # never drained: the client does not read
        pair.send(client, _echoing_frame(4096).decode())
        most = max(most, session.queued_bytes)
    assert most <= bound
    assert session.dropped >= 1 and session.need_snapshot


def test_large_bad_frames_from_a_client_that_never_reads(caplog: pytest.LogCaptureFixture) -> None:
    """Hundreds of 1 MiB bad frames, never reading: the hub's memory and the
    session's queue stay bounded, the flood is closed (1008), others go on."""
    caplog.set_level(logging.WARNING, logger="wsbridge.hub")
    queue = 256 * 1024
    with wb.Bridge(queue_max_bytes=queue, input_rate=20.0, input_burst=50) as bridge:
        src = wb.DataSource({"y": np.zeros(0)})
        bridge.dashboard("main", wb.Column()).add(src)
        bridge.flush()
        good = RawClient(bridge)
        good.send(0x1, p.encode(p.Hello(doc="main")).data)
        good.recv(), good.recv()
        bad = RawClient(bridge)
        bad.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        bad.send(0x1, p.encode(p.Hello(doc="main")).data)

        def queued() -> int:
            return bridge.call(  # type: ignore[no-any-return]
                lambda hub: max((s.queued_bytes for s in hub.sessions.values()), default=0)
            )

        frame = _echoing_frame(MIB)
        before = _rss()
        peak, most, sent = before, 0, 0
        try:
            for i in range(400):
                _send_fast(bad, 0x1, frame)
                sent += 1
                if i % 10 == 9:
                    bridge.flush()
                    peak, most = max(peak, _rss()), max(most, queued())
        except OSError:  # the hub closed the flood: it stopped reading from us
            pass
        bridge.flush()
        peak, most = max(peak, _rss()), max(most, queued())
        assert most <= queue, f"a session queued {most} bytes"
        assert peak - before < 64 * MIB, f"hub memory grew {(peak - before) / MIB:.0f} MiB"
        deadline = time.monotonic() + 15
        while bridge.call(lambda hub: len(hub.sessions)) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bridge.call(lambda hub: len(hub.sessions)) == 1, "the flood was not closed"
        # the other client is unaffected
        src.stream({"y": np.array([4.0])})
        msg = p.decode(good.recv()[1])
        assert isinstance(msg, p.Stream) and msg.data["y"].tolist() == [4.0]
        # and nothing logged carries a megabyte of the attacker's input
        assert all(len(r.getMessage()) < 4 * ERROR_TEXT_MAX for r in caplog.records)
        good.sock.close()
        bad.sock.close()
