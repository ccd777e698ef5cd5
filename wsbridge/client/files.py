"""Files from the Python client: ``Client.upload`` sends files as a browser does.

The same messages and flow control as the JS client (docs/protocol.md
"Files"): ``upload_start``, then the files back to back in ``upload_chunk``
binary frames with a bounded window of bytes not yet acknowledged, until
the hub's ``upload_done`` (Python handled them) or a refusal. For tests,
bots and automation; a ``download`` answering the client's own click
reaches its ``on_message`` listeners like any message.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import WsbridgeError
from ..wire.codec import Frame, encode
from ..wire.files import UploadAck, UploadChunk, UploadDone, UploadStart
from ..wire.messages import Error, Message

if TYPE_CHECKING:
    from .aio import Client

__all__ = ["CHUNK_BYTES", "WINDOW_BYTES", "UploadFailed", "upload"]

#: bytes per chunk and bytes unacknowledged at most (as the JS client)
CHUNK_BYTES = 256 * 1024
WINDOW_BYTES = 2 * 1024 * 1024

#: upload ids: unique in this process, so on every connection
_IDS = itertools.count(1)


class UploadFailed(WsbridgeError):
    """The hub or Python refused an upload; ``code`` is the ``error``'s."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _files(files: Iterable[Any]) -> list[tuple[str, str, bytes]]:
    out = []
    for f in files:
        name, *rest = f
        mime, data = (rest[0], rest[1]) if len(rest) == 2 else ("", rest[0])
        out.append((str(name), str(mime), bytes(data)))
    return out


def _chunk(upload: int, offset: int, data: np.ndarray) -> Frame:
    return encode(UploadChunk(upload=upload, offset=offset, data=data))


async def upload(
    client: Client,
    model_id: str,
    files: Iterable[Any],
    progress: Callable[[int, int], Any] | None = None,
    timeout: float = 60.0,
) -> None:
    """Upload ``files`` (``(name, bytes)`` or ``(name, mime, bytes)``) to a
    FileInput; returns once Python handled them, raises :class:`UploadFailed`
    on a refusal and ``TimeoutError`` when no answer comes for ``timeout`` s."""
    chosen = _files(files)
    uid = next(_IDS)
    blob = b"".join(data for _, _, data in chosen)
    view = np.frombuffer(blob, np.uint8)
    total = len(blob)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    moved = asyncio.Event()
    acked = [0]

    def listen(message: Message) -> None:
        if isinstance(message, UploadAck) and message.upload == uid:
            acked[0] = max(acked[0], message.received)
            moved.set()
            if progress is not None:
                progress(acked[0], total)
        elif isinstance(message, UploadDone) and message.upload == uid and not done.done():
            done.set_result(None)
        elif isinstance(message, Error) and not done.done():
            ref = message.ref or {}
            if ref.get("type") == "upload" and ref.get("upload") == uid:
                done.set_exception(UploadFailed(message.code, message.message))

    meta = [{"name": n, "type": m, "size": len(d), "last_modified": None} for n, m, d in chosen]
    client.on_message(listen)
    try:
        await client._send(lambda: encode(UploadStart(model=model_id, upload=uid, files=meta)))
        sent = 0
        while sent < total and not done.done():
            while sent < total and sent - acked[0] < WINDOW_BYTES:
                piece = view[sent : sent + CHUNK_BYTES]
                await client._send(functools.partial(_chunk, uid, sent, piece))
                sent += len(piece)
            moved.clear()
            waiter: asyncio.Future[Any] = asyncio.ensure_future(moved.wait())
            pending: list[asyncio.Future[Any]] = [waiter, done]
            finished, _ = await asyncio.wait(
                pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            if not finished:
                raise TimeoutError(f"no answer to upload {uid} within {timeout}s")
        await asyncio.wait_for(asyncio.shield(done), timeout)
    finally:
        client._listeners.remove(listen)
