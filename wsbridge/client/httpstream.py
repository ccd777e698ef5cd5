"""The Python client's streaming-HTTP transport: a WebSocket-shaped connection.

Where a WebSocket cannot be opened, :class:`~wsbridge.client.aio.Client`
(``transport="http"``, or ``"auto"`` after a failed WebSocket) reads the
hub's frames from one long-lived ``POST <url>stream`` response and sends
its own by ``POST <url>stream/<id>`` (docs/protocol.md "Streaming HTTP").
:class:`StreamConnection` has the methods of Tornado's
``WebSocketClientConnection`` that the client uses (``read_message``,
``write_message``, ``close``, ``close_code``), so one read loop serves
both transports. The framing is ``wire/framing.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import sys
import urllib.parse
from collections.abc import Awaitable, Mapping
from typing import Any

import tornado.httpclient
import tornado.httputil
from tornado.http1connection import HTTP1Connection, HTTP1ConnectionParameters
from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpclient import TCPClient

from ..wire import framing

__all__ = ["StreamConnection", "stream_url"]

#: messages read ahead of the client; past it, reading the response waits
READ_AHEAD = 64


def stream_url(ws_url: str) -> str:
    """``ws://h:p/base/ws`` -> ``http://h:p/base/stream`` (the query kept)."""
    parts = urllib.parse.urlsplit(ws_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    path = parts.path[: -len("ws")] if parts.path.endswith("/ws") else parts.path.rstrip("/") + "/"
    return urllib.parse.urlunsplit((scheme, parts.netloc, path + "stream", parts.query, ""))


def frames_body(frames: list[tuple[bytes, bool]]) -> bytes:
    return b"".join(
        framing.encode_frame(framing.BINARY if binary else framing.TEXT, data)
        for data, binary in frames
    )


class StreamConnection(tornado.httputil.HTTPMessageDelegate):
    """One stream: its response read in the background, input by POST."""

    def __init__(self, url: str, headers: Mapping[str, str], max_message_size: int) -> None:
        self.url = url
        self.headers = dict(headers)
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.status: int | None = None
        self.id = ""
        #: seconds between the hub's keep-alives on an idle stream
        self.keepalive = 0.0
        self.stream: IOStream | None = None
        self._parser = framing.FrameParser(max_message_size)
        self._messages: asyncio.Queue[str | bytes | None] = asyncio.Queue(READ_AHEAD)
        self._opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reader: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._error_body = b""
        #: when the hub was last heard from (loop time)
        self._heard = asyncio.get_running_loop().time()

    @classmethod
    async def connect(
        cls,
        url: str,
        headers: Mapping[str, str],
        first: list[tuple[bytes, bool]],
        connect_timeout: float,
        max_message_size: int,
    ) -> StreamConnection:
        """Open ``url`` (``.../stream``) with ``first`` frames in the body;
        return once the hub's ``open`` frame arrived. Raises
        ``HTTPClientError`` for a refusal, ``OSError`` or ``TimeoutError``."""
        self = cls(url, headers, max_message_size)
        parts = urllib.parse.urlsplit(url)
        https = parts.scheme == "https"
        host = parts.hostname or "127.0.0.1"
        port = parts.port or (443 if https else 80)
        ssl_options = ssl.create_default_context() if https else None
        stream = await asyncio.wait_for(
            TCPClient().connect(host, port, ssl_options=ssl_options),
            connect_timeout,
        )
        self.stream = stream
        stream.set_nodelay(True)
        conn = HTTP1Connection(
            stream,
            True,
            HTTP1ConnectionParameters(
                no_keep_alive=True,
                max_body_size=sys.maxsize,
                decompress=False,
                chunk_size=1 << 20,  # a large frame in few reads
            ),
        )
        body = frames_body(first)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        request_headers = tornado.httputil.HTTPHeaders(
            {
                "Host": parts.netloc,
                "Content-Type": "application/octet-stream",
                "Content-Length": str(len(body)),
                **self.headers,
            }
        )
        conn.write_headers(
            tornado.httputil.RequestStartLine("POST", path, "HTTP/1.1"), request_headers, body
        )
        conn.finish()
        self._reader = asyncio.ensure_future(self._read(conn))
        try:
            await asyncio.wait_for(asyncio.shield(self._opened), connect_timeout)
        except BaseException:
            self.abort()
            raise
        return self

    # -- what the client uses (Tornado's WebSocketClientConnection's names)
    async def read_message(self) -> str | bytes | None:
        """The next message frame; None once the stream ended."""
        return await self._messages.get()

    async def write_message(self, data: str | bytes, binary: bool = False) -> None:
        """POST one frame; in order with the others (one POST at a time)."""
        payload = data.encode() if isinstance(data, str) else data
        await self.send_frames([(payload, binary)])

    async def send_frames(self, frames: list[tuple[bytes, bool]]) -> None:
        if not self.id or self.stream is None or self.stream.closed():
            raise StreamClosedError()
        async with self._send_lock:
            request = tornado.httpclient.HTTPRequest(
                f"{self.url}/{self.id}",
                method="POST",
                body=frames_body(frames),
                headers={"Content-Type": "application/octet-stream", **self.headers},
            )
            response = await tornado.httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code != 204:  # the hub closes the stream and says why there
            raise StreamClosedError(real_error=OSError(f"input refused: HTTP {response.code}"))

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """End the stream (the hub sees the connection close)."""
        if self.stream is not None:
            self.stream.close()

    def abort(self) -> None:
        """Cut the connection with a reset, as a dropped network would."""
        stream = self.stream
        if stream is None:
            return
        with contextlib.suppress(OSError, AttributeError):
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        stream.close()

    # -- tornado.httputil.HTTPMessageDelegate: the response
    def headers_received(
        self,
        start_line: tornado.httputil.RequestStartLine | tornado.httputil.ResponseStartLine,
        headers: tornado.httputil.HTTPHeaders,
    ) -> Awaitable[None] | None:
        assert isinstance(start_line, tornado.httputil.ResponseStartLine)
        self.status = start_line.code
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        self._heard = asyncio.get_running_loop().time()
        if self.status != 200:
            self._error_body = (self._error_body + chunk)[:300]
            return None
        out: list[str | bytes] = []
        for kind, payload in self._parser.feed(chunk):
            if kind == framing.TEXT:
                out.append(payload.decode("utf-8"))
            elif kind == framing.BINARY:
                out.append(payload)
            elif kind == framing.OPEN:
                info = framing.parse_open(payload)
                self.id, self.keepalive = info["stream"], float(info.get("keepalive", 0))
                if not self._opened.done():
                    self._opened.set_result(None)
            elif kind == framing.CLOSE:
                self.close_code, self.close_reason = framing.parse_close(payload)
        for i, message in enumerate(out):
            if self._messages.full():  # the reader is behind: hold the response back
                return self._deliver(out[i:])
            self._messages.put_nowait(message)
        return None

    async def _deliver(self, messages: list[str | bytes]) -> None:
        for message in messages:  # a full queue holds the response back
            await self._messages.put(message)

    def finish(self) -> None:
        return None

    def on_connection_close(self) -> None:
        return None

    async def _read(self, conn: HTTP1Connection) -> None:
        failure: BaseException | None = None
        try:
            await self._watch(conn.read_response(self))
        except (StreamClosedError, OSError, framing.FramingError, asyncio.TimeoutError) as exc:
            failure = exc
        finally:
            conn.close()
            if not self._opened.done():
                if self.status is not None and self.status != 200:
                    response = tornado.httpclient.HTTPResponse(
                        tornado.httpclient.HTTPRequest(self.url), self.status
                    )
                    error: BaseException = tornado.httpclient.HTTPClientError(
                        self.status, self._error_body.decode(errors="replace"), response
                    )
                else:
                    error = failure or StreamClosedError()
                self._opened.set_exception(error)
                self._opened.exception()
            await self._messages.put(None)

    async def _watch(self, reading: Awaitable[Any]) -> None:
        """Read the response; give up when the hub says nothing (not even a
        keep-alive) for two of its keep-alive intervals and a second."""
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(reading)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # seen here, not lost
        try:
            while not task.done():
                silent = 2 * self.keepalive + 1.0
                await asyncio.wait({task}, timeout=silent if self.keepalive else 30.0)
                if self._messages.full():  # we are the slow one: the hub is not silent
                    self._heard = loop.time()
                if self.keepalive and not task.done() and loop.time() - self._heard > silent:
                    raise asyncio.TimeoutError("the hub's stream went silent")
        finally:
            if not task.done():
                self.close()
                with contextlib.suppress(BaseException):
                    await task
        task.result()
