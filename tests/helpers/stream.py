"""A streaming-HTTP client written by hand (docs/protocol.md "Streaming HTTP"),
for what the Python client won't send: a stream opened with ``http.client``,
its frames parsed with ``wire/framing.py``, input POSTed raw. Closed after
each test (``close_streams``, tests/conftest.py)."""

from __future__ import annotations

import http.client
import urllib.parse
from typing import Any

from wsbridge import wire as p
from wsbridge.wire import framing as f

__all__ = ["RawStream", "close_streams", "post"]


def _split(url: str) -> tuple[str, int, str]:
    u = urllib.parse.urlsplit(url)
    return u.hostname or "127.0.0.1", u.port or 80, u.path or "/"


def post(
    url: str, body: bytes, headers: dict[str, str] | None = None, timeout: float = 5.0
) -> tuple[int, str]:
    """POST ``body`` to ``url``: (status, body text), whatever the status."""
    host, port, path = _split(url)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


class RawStream:
    """``POST <base>stream`` and its response, frame by frame."""

    made: list[RawStream] = []

    def __init__(
        self,
        base: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.base = base
        host, port, path = _split(base)
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        RawStream.made.append(self)
        self.headers = headers or {}
        self.conn.request("POST", path + "stream", body=body, headers=self.headers)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.parser = f.FrameParser(1 << 30)
        self.pending: list[tuple[int, bytes]] = []
        self.id = ""
        self.keepalive = 0.0
        if self.status == 200:
            kind, payload = self.frame()
            assert kind == f.OPEN, kind
            info = f.parse_open(payload)
            self.id, self.keepalive = info["stream"], info["keepalive"]

    def frame(self) -> tuple[int, bytes]:
        """The next frame (raises ``EOFError`` when the response ended)."""
        while not self.pending:
            data = self.resp.read1(65536)
            if not data:
                raise EOFError("the stream ended")
            self.pending += self.parser.feed(data)
        return self.pending.pop(0)

    def message(self) -> p.Message:
        """The next message (keep-alives skipped; a close frame is an error)."""
        while True:
            kind, payload = self.frame()
            if kind == f.TEXT:
                return p.decode(payload.decode())
            if kind == f.BINARY:
                return p.decode(payload)
            assert kind == f.KEEPALIVE, (kind, payload)

    def close_code(self) -> tuple[int, str]:
        """Read until the close frame: (code, reason); the response then ends."""
        while True:
            kind, payload = self.frame()
            if kind == f.CLOSE:
                code = f.parse_close(payload)
                assert self.resp.read1(65536) == b"", "nothing after the close frame"
                return code

    def send(self, *messages: p.Message, sid: str | None = None, **headers: str) -> int:
        """POST messages to this stream (or to ``sid``); the status."""
        body = b""
        for m in messages:
            frame = p.encode(m)
            body += f.encode_frame(f.BINARY if frame.binary else f.TEXT, frame.data)
        status, _ = post(
            f"{self.base}stream/{self.id if sid is None else sid}",
            body,
            {**self.headers, **headers},
        )
        return status

    def close(self) -> None:
        self.resp.close()
        self.conn.close()


def close_streams() -> None:
    while RawStream.made:
        RawStream.made.pop().close()


def body(*messages: Any) -> bytes:
    """Framed messages, for an open request's body."""
    out = b""
    for m in messages:
        frame = p.encode(m)
        out += f.encode_frame(f.BINARY if frame.binary else f.TEXT, frame.data)
    return out
