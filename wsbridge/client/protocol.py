"""The Python client's protocol state, sans I/O: frames in, frames out, a mirror.

:class:`ClientConnection` knows the protocol and nothing of sockets. It
builds the frames to send and consumes the frames received, keeping a
:class:`~wsbridge.hub.state.DocumentState` mirror by the rules of
docs/protocol.md "Applying sequenced messages". Because it shares
``DocumentState`` with the hub, a mirror that applied the same messages
*is* the hub's state; tests compare the two directly, and the hub's resume
logic can be exercised in memory (tests/helpers/pair.py).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections import deque
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import ProtocolError, StateError
from ..hub.state import DocumentState
from ..wire.codec import SEQUENCED, Frame, decode, encode
from ..wire.messages import (
    Custom,
    Dev,
    Error,
    Message,
    Notify,
    Patch,
    Sequenced,
    Snapshot,
    Welcome,
)
from ..wire.requests import Ack, Event, Hello, Set

#: unsequenced answers to a client's own files (wire.files), passed to its listeners
FILE_ANSWERS = frozenset({"upload_ack", "upload_done", "download"})

__all__ = ["FATAL_CLOSE_CODES", "ClientConnection"]

log = logging.getLogger("wsbridge.client")

#: close codes after which reconnecting cannot help (docs/protocol.md
#: "Close codes"): a protocol mismatch or a policy refusal (token, document).
FATAL_CLOSE_CODES = frozenset({1002, 1008})


class ClientConnection:
    """The protocol state of one client, sans I/O (see the module doc).

    ``hello()`` starts a connection (a resume when a mirror exists),
    ``receive(data)`` consumes one frame, ``set``/``event``/``custom``/``ack``
    return frames to send. When ``needs_resync`` becomes true the mirror has
    missed data: the I/O edge must reconnect (``hello()`` then resumes).
    """

    def __init__(
        self,
        doc: str,
        token: str | None = None,
        max_customs: int = 1000,
        key: str | None = None,
    ):
        self.doc = doc
        self.token = token
        #: a per-session document's key (its page's), sent in every hello
        self.key = key
        self.state: DocumentState | None = None
        self.welcome: Welcome | None = None
        self.errors: list[Error] = []
        #: custom messages from views' models, most recent last (bounded)
        self.customs: deque[Custom] = deque(maxlen=max_customs)
        #: notifications (``notify``: to every viewer, or to this session only),
        #: most recent last (bounded like ``customs``)
        self.notifications: deque[Notify] = deque(maxlen=max_customs)
        #: the app's current error under ``wsbridge serve --dev`` (``dev``), if any
        self.dev_error: dict[str, str] | None = None
        self.needs_resync = False
        self.close_code: int | None = None
        self.close_reason = ""
        self._synced = False
        self._reqs = itertools.count(1)
        #: (model, property) -> req of my newest set of it not yet answered
        self._pending: dict[tuple[str, str], int] = {}

    # -- what the edge reads
    @property
    def seq(self) -> int | None:
        """The last applied ``seq`` (None before the first snapshot)."""
        return self.state.seq if self.state is not None else None

    @property
    def epoch(self) -> str | None:
        return self.state.epoch if self.state is not None else None

    @property
    def session(self) -> str | None:
        return self.welcome.session if self.welcome is not None else None

    @property
    def ready(self) -> bool:
        """Welcome received and the snapshot or the whole replay applied."""
        return (
            self._synced
            and not self.needs_resync
            and self.welcome is not None
            and self.state is not None
            and self.state.seq >= self.welcome.seq
        )

    @property
    def fatal(self) -> bool:
        """The hub closed us for a reason reconnecting would not fix."""
        return self.close_code in FATAL_CLOSE_CODES

    # -- frames to send
    def hello(self) -> Frame:
        """Start a (re)connection; resume from the mirror when it can be trusted.

        A set we applied optimistically but never saw answered may never have
        reached the hub; a replay would not mention it and the mirror would
        keep a value the hub never had. Only a snapshot can tell, so pending
        sets turn a resume into a fresh start.
        """
        self.welcome, self._synced, self.needs_resync = None, False, False
        self.close_code, self.close_reason = None, ""
        resume = self.state is not None and not self._pending
        self._pending.clear()
        hello = Hello(
            doc=self.doc,
            token=self.token,
            epoch=self.state.epoch if resume and self.state is not None else None,
            seq=self.state.seq if resume and self.state is not None else None,
            key=self.key,
        )
        return encode(hello)

    def set(self, model: str, **state: Any) -> Frame:
        """A ``set`` with a fresh ``req``; applied to the mirror at once.

        Only properties the model declares settable are applied
        optimistically: the hub refuses the others and a reply patch (if any)
        restores the canonical value, so guessing would only add flicker.
        """
        req = next(self._reqs)
        message = Set(model=model, state=state, req=req)
        spec = self.state.models.get(model) if self.state is not None else None
        if spec is not None and self.state is not None:
            settable = spec.get("settable", spec["state"].keys())
            ok = {k: v for k, v in state.items() if k in settable and k in spec["state"]}
            if ok:
                self.state.apply(Patch(seq=self.state.seq, model=model, state=ok))
                for prop in ok:
                    self._pending[(model, prop)] = req
        return encode(message)

    def event(self, model: str, name: str, data: Any = None) -> Frame:
        return encode(Event(model=model, name=name, data=data))

    def custom(self, model: str, content: Any, buffers: Iterable[Any] = ()) -> Frame:
        arrays = [
            np.frombuffer(b, dtype=np.uint8)
            if isinstance(b, (bytes, bytearray, memoryview))
            else np.asarray(b)
            for b in buffers
        ]
        return encode(Custom(model=model, content=content, buffers=arrays))

    def ack(self) -> Frame:
        return encode(Ack(seq=self.seq or 0))

    # -- frames received
    def receive(self, data: str | bytes) -> list[Message]:
        """Consume one frame; return the messages it applied or recorded.

        Duplicates (``seq`` already applied) and everything after a gap
        return ``[]``. Raises :class:`ProtocolError` for a frame that is not
        a hub message (the edge should drop the connection).
        """
        message = decode(data)
        if isinstance(message, Welcome):
            if message.doc != self.doc:
                raise ProtocolError("bad_message", f"welcome for {message.doc!r}, not {self.doc!r}")
            self.welcome = message
            self._synced = message.resumed
            if message.resumed and (self.state is None or self.state.epoch != message.epoch):
                self._resync("the hub resumed an epoch we do not hold")
            return [message]
        if isinstance(message, Error):
            self.errors.append(message)
            return [message]
        if isinstance(message, Dev):
            self.dev_error = message.error
            return [message]
        if isinstance(message, Notify) and message.seq is None:  # to this session only
            self.notifications.append(message)
            return [message]
        if message.type in FILE_ANSWERS:  # to this client's own uploads and clicks
            return [message]
        if message.type not in SEQUENCED:
            raise ProtocolError("bad_message", f"a hub does not send {message.type!r}")
        if self.needs_resync or self.welcome is None:
            return []
        if isinstance(message, Snapshot):
            # always taken: it may be a new epoch (lower seq) or follow a
            # dropped queue (higher seq); either way it is the whole truth
            self.state = DocumentState(message.doc, message.epoch, message.title)
            self.state.load(message)
            self._synced = True
            return [message]
        if self.state is None:
            self._resync(f"{message.type} before any snapshot")
            return []
        if isinstance(message, Patch) and message.reply:
            # canonical values for this client only; the seq stays ours
            for prop in message.state:
                self._pending.pop((message.model, prop), None)
            mine = dataclasses.replace(message, seq=self.state.seq)
            return [message] if self._apply(mine) else []
        if not isinstance(message, Sequenced) or message.seq is None:
            return []
        seq = message.seq
        if seq <= self.state.seq:
            return []  # duplicate
        if message.first_seq() != self.state.seq + 1:  # coalesced: stands for first..seq
            self._resync(f"gap: got seq {seq} after {self.state.seq}")
            return []
        if isinstance(message, Patch) and message.origin is not None:
            message = self._echo_filter(message)
        if not self._apply(message):
            return []
        if isinstance(message, Custom):
            self.customs.append(message)
        elif isinstance(message, Notify):
            self.notifications.append(message)
        return [message]

    def connection_closed(self, code: int | None, reason: str | None = "") -> None:
        """The edge lost the connection (``None``: no close frame, 1006)."""
        self.close_code = 1006 if code is None else code
        self.close_reason = reason or ""
        self._synced = False

    # -- internals
    def _apply(self, message: Message) -> bool:
        assert self.state is not None
        try:
            self.state.apply(message)
        except (StateError, ValueError, KeyError) as exc:
            self._resync(f"{message.type} does not fit the mirror: {exc}")
            return False
        return True

    def _echo_filter(self, message: Patch) -> Patch:
        """Drop properties echoing my older sets while a newer one is pending.

        A slider being dragged sends req 1, 2, 3; the echo of 1 must not pull
        it back. The echo of the newest req clears the entry, so the last
        echo always lands (docs/protocol.md ``patch.origin``).
        """
        origin = message.origin or {}
        if origin.get("session") != self.session:
            return message
        req = origin.get("req", 0)
        keep = {}
        for prop, value in message.state.items():
            newest = self._pending.get((message.model, prop))
            if newest is not None and req < newest:
                continue
            self._pending.pop((message.model, prop), None)
            keep[prop] = value
        return (
            message if len(keep) == len(message.state) else dataclasses.replace(message, state=keep)
        )

    def _resync(self, why: str) -> None:
        log.info("document %r: %s; reconnecting to resync", self.doc, why)
        self.needs_resync = True
