"""Uploads and downloads at the hub: untrusted chunks checked, assembled, bounded.

A browser opens an upload (``upload_start``: the files, each with its
declared size), then sends their bytes back to back in ``upload_chunk``
frames (docs/protocol.md "Files"). The hub is where the bytes are checked,
before anything reaches Python: the model must take files, every file is
within the widget's ``max_size`` and the hub's ``max_upload_size``, each
chunk comes at the offset expected next, no larger than
``max_upload_chunk``, and never past the declared total. Anything else
cancels the upload: its bytes are dropped at once and the page is told why
(``upload_refused``). Only a complete upload is handed to the producer, as
one ``upload`` input.

Bounded: uploads in progress per session (``max_uploads_per_session``), and
the bytes the hub holds for uploads, received or handed to Python and not
yet handled, for the whole hub (``max_upload_bytes_total``, reserved in full
at ``upload_start``, so concurrent uploads cannot overcommit). An upload
with no chunk for ``upload_timeout`` seconds is cancelled and freed.

Each chunk is acknowledged (``upload_ack``); a client keeps a bounded window
of bytes unacknowledged, so its upload never queues ahead of its own other
input, and the hub's loop reads one bounded chunk at a time between the
writes to every other client. Sans I/O: the timer is the edge's
(``SessionEdge.later``).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from ..wire.codec import encode
from ..wire.files import Download, Upload, UploadAck, UploadChunk, UploadDone, UploadStart

if TYPE_CHECKING:
    from .document import Document
    from .hub import Hub
    from .session import Session

__all__ = ["HeldUpload", "Uploads", "file_size"]

#: ids of a session's cancelled uploads remembered, so chunks already in
#: flight when it was cancelled are dropped quietly
_ENDED_KEPT = 16


def file_size(n: int) -> str:
    """``n`` bytes for a person: ``"12.5 MB"`` (decimal units, as browsers show)."""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} bytes"  # pragma: no cover - the loop always returns


class HeldUpload(int):
    """A session's input-size entry for an upload handed to the producer
    (``Session.input_sizes``): its bytes count against the upload budget, not
    the input one, and its answer (``input_done``) tells the page it is done."""

    upload: int

    def __new__(cls, size: int, upload: int) -> HeldUpload:
        out = super().__new__(cls, size)
        out.upload = upload
        return out


class _Upload:
    """One upload in progress: what was declared, what has arrived."""

    __slots__ = ("data", "doc", "files", "id", "last", "model", "received", "session", "total")

    def __init__(self, session: Session, doc: Document, start: UploadStart, now: float) -> None:
        self.session = session
        self.doc = doc
        self.model = start.model
        self.id = start.upload
        self.files = start.files
        self.total = start.total
        self.received = 0
        self.data = bytearray()
        self.last = now


class Uploads:
    """Every upload in progress at one hub, by session; runs on the hub's loop."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._active: dict[str, dict[int, _Upload]] = {}
        self._ended: dict[str, deque[int]] = {}
        #: bytes reserved for uploads: declared totals of those in progress,
        #: plus those handed to producers and not yet handled
        self.reserved = 0

    # -- introspection
    def stats(self) -> dict[str, int]:
        """How many uploads are in progress and the bytes they hold (``/healthz``, tests)."""
        ups = [u for per in self._active.values() for u in per.values()]
        return {
            "uploads": len(ups),
            "received_bytes": sum(len(u.data) for u in ups),
            "reserved_bytes": self.reserved,
        }

    # -- from the browser
    def start(self, session: Session, doc: Document, msg: UploadStart) -> None:
        hub, cfg = self.hub, self.hub.config
        ref = {"type": "upload", "model": msg.model, "upload": msg.upload}
        spec = doc.state.models.get(msg.model)
        if spec is None:
            hub._error(session, "unknown_model", f"no model {msg.model[:64]!r}", ref)
            return
        state = spec.get("state", {})
        mine = self._active.setdefault(session.id, {})
        why: str | None
        if not spec.get("uploads"):
            why = f"{spec.get('type')} takes no files"
        elif doc.gone is not None:
            why = doc.gone
        elif not getattr(doc.producer, "takes_uploads", True):
            why = "file uploads reach Python only through the hub its producer runs in"
        elif state.get("disabled") is True:
            why = "this file input is disabled"
        elif msg.upload in mine or msg.upload in self._ended.get(session.id, ()):
            why = f"upload {msg.upload} was already used on this connection"
        elif len(msg.files) > (cfg.max_upload_files if state.get("multiple") else 1):
            many = cfg.max_upload_files if state.get("multiple") else 1
            why = f"{len(msg.files)} files at once; this input takes at most {many}"
        elif len(mine) >= cfg.max_uploads_per_session:
            why = f"{len(mine)} uploads are already in progress on this connection"
        else:
            why = self._too_large(msg, state)
        if why is None and self.reserved + msg.total > cfg.max_upload_bytes_total:
            why = "the server is busy with other uploads; try again in a moment"
        if why is not None:
            self._refuse(session, why, ref)
            return
        up = _Upload(session, doc, msg, cfg.clock())
        mine[msg.upload] = up
        self.reserved += up.total
        if up.total == 0:
            self._deliver(up)
            return
        if session.later is not None:
            session.later(cfg.upload_timeout, lambda: self._check_stalled(up))

    def _too_large(self, msg: UploadStart, state: dict[str, Any]) -> str | None:
        cfg = self.hub.config
        limit = cfg.max_upload_size
        own = state.get("max_size")
        if isinstance(own, int) and not isinstance(own, bool) and 0 <= own < limit:
            limit = own
        for f in msg.files:
            if f["size"] > limit:
                return (
                    f"{f['name'][:64]} is {file_size(f['size'])}; "
                    f"files of at most {file_size(limit)} are accepted here"
                )
        return None

    def chunk(self, session: Session, msg: UploadChunk) -> None:
        up = self._active.get(session.id, {}).get(msg.upload)
        if up is None:
            # chunks in flight when their upload was cancelled: dropped quietly,
            # but each takes an input token (a flood of them is closed)
            if msg.upload in self._ended.get(session.id, ()):
                self.hub._token_for_refusal(session)
                return
            if self.hub._token_for_refusal(session):
                ref = {"type": "upload", "upload": msg.upload}
                self.hub._error(session, "upload_refused", f"no upload {msg.upload} here", ref)
            return
        n = int(msg.data.size)
        limit = self.hub.config.max_upload_chunk
        if msg.offset != up.received:
            self._cancel(up, f"a chunk at byte {msg.offset}, expected byte {up.received}")
        elif not 0 < n <= limit:
            self._cancel(up, f"a chunk of {n} bytes (1 to {limit} allowed)")
        elif up.received + n > up.total:
            self._cancel(up, f"more bytes than the {up.total} declared")
        else:
            up.data += msg.data.data
            up.received += n
            up.last = self.hub.config.clock()
            session.push(encode(UploadAck(upload=up.id, received=up.received)))
            if session.need_snapshot:
                # the ack was dropped with the queue of a client that fell
                # behind: its window would never move again
                why = "this connection fell behind; upload again"
                self._cancel(up, why, force=True)
            elif up.received == up.total:
                self._deliver(up)

    def closed(self, session: Session) -> None:
        """``session`` ended: its uploads in progress are dropped (nothing kept)."""
        for up in list(self._active.pop(session.id, {}).values()):
            self.reserved -= up.total
            up.data = bytearray()
        self._ended.pop(session.id, None)

    # -- the producer's answer
    def handled(self, session: Session, held: HeldUpload) -> None:
        """The producer handled a delivered upload: free its reservation, tell the
        page (forced past a dropped queue: one small frame per upload, and the
        page waits for it)."""
        self.reserved -= int(held)
        session.push(encode(UploadDone(upload=held.upload)), force=True)

    # -- inside
    def _deliver(self, up: _Upload) -> None:
        """Hand a complete upload to the producer, as one input of its session."""
        session = up.session
        doc = session.doc or up.doc  # a re-created document: its producer now
        self._active.get(session.id, {}).pop(up.id, None)
        whole, up.data = bytes(up.data), bytearray()
        data, at = [], 0
        for f in up.files:
            size = f["size"]
            piece = whole if size == len(whole) else whole[at : at + size]
            data.append(np.frombuffer(piece, dtype=np.uint8))
            at += size
        del whole
        message = Upload(model=up.model, upload=up.id, files=up.files, data=data)
        session.pending_inbound += 1
        session.input_sizes.append(HeldUpload(up.total, up.id))
        doc.producer.on_upload(doc.name, session.id, message)

    def _check_stalled(self, up: _Upload) -> None:
        """The upload's timer: cancel it after ``upload_timeout`` s without a chunk."""
        if self._active.get(up.session.id, {}).get(up.id) is not up:
            return  # finished or cancelled meanwhile
        cfg = self.hub.config
        idle = cfg.clock() - up.last
        if idle >= cfg.upload_timeout:
            self._cancel(up, f"no data for {cfg.upload_timeout:g} s; the upload was cancelled")
        elif up.session.later is not None:
            up.session.later(cfg.upload_timeout - idle, lambda: self._check_stalled(up))

    def _cancel(self, up: _Upload, why: str, force: bool = False) -> None:
        """Drop an upload in progress and every byte of it; tell its page why."""
        session = up.session
        self._active.get(session.id, {}).pop(up.id, None)
        self.reserved -= up.total
        up.data = bytearray()
        ref = {"type": "upload", "model": up.model, "upload": up.id}
        self._refuse(session, why, ref, force)

    def _refuse(self, session: Session, why: str, ref: dict[str, Any], force: bool = False) -> None:
        ended = self._ended.setdefault(session.id, deque(maxlen=_ENDED_KEPT))
        if isinstance(ref.get("upload"), int):
            ended.append(ref["upload"])
        self.hub._error(session, "upload_refused", why, ref, force=force)

    # -- downloads
    def download(self, session: Session, message: Download) -> None:
        """Send one session a file: refused (``download_refused``) when larger than
        ``max_download_size`` or when it does not fit the session's outbound bound
        now (a client that does not read gets no more bytes queued)."""
        cfg = self.hub.config
        ref = {"type": "download", "model": message.model}
        size = int(message.data.size)
        limit = min(cfg.max_download_size, cfg.queue_max_bytes)
        if size > limit:
            why = f"{file_size(size)} is more than the {file_size(limit)} allowed"
            self.hub._error(session, "download_refused", why, ref)
            return
        frame = encode(message)
        if session.queued_bytes + frame.size > cfg.queue_max_bytes:
            why = "the connection is still busy with earlier data; try again"
            self.hub._error(session, "download_refused", why, ref)
            return
        session.push(frame, force=True)
