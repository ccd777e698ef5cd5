"""A document's state as the protocol describes it, and how messages change it.

Pure data, shared by the hub (its replica, from which snapshots are made)
and the Python client (its mirror). Applying the same sequenced messages in
the same order to two ``DocumentState`` objects gives equal states; that is
the whole resync guarantee of docs/protocol.md.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from ..errors import StateError
from ..wire.messages import (
    Add,
    Custom,
    Message,
    Notify,
    Patch,
    Sequenced,
    Snapshot,
    SourcePatch,
    SourceReplace,
    Stream,
    unchecked,
)
from .columns import ColumnStore

__all__ = [
    "DocumentState",
]


class DocumentState:
    """Models (type + state), sources (columns), root, title and ``seq``."""

    def __init__(self, doc: str, epoch: str, title: str = ""):
        self.doc = doc
        self.epoch = epoch
        self.title = title
        self.root: str | None = None
        self.seq = 0
        self.models: dict[str, dict[str, Any]] = {}
        self.sources: dict[str, ColumnStore] = {}

    # -- building messages
    def snapshot(self) -> Snapshot:
        """The whole state as a ``snapshot`` message at the current ``seq``.

        Built without re-validating: every value in it was checked when the
        message that brought it was (``check``), and a snapshot is rebuilt
        for each seq a viewer joins at.
        """
        return unchecked(
            Snapshot,
            doc=self.doc,
            epoch=self.epoch,
            seq=self.seq,
            title=self.title,
            root=self.root,
            models={mid: dict(spec) for mid, spec in self.models.items()},
            sources={sid: s.spec() for sid, s in self.sources.items()},
        )

    # -- applying messages
    def apply(self, message: Message, trusted: bool = False) -> Message:
        """Apply one sequenced message (its ``seq`` becomes the state's).

        Returns the message as applied (``check``): what every client must
        be sent. Raises ``StateError`` or ``ValueError``, before changing
        anything, when it does not fit this state.
        """
        applied = self.check(message, trusted)
        self.commit(applied)
        return applied

    def check(self, message: Message, trusted: bool = False) -> Message:
        """Does ``message`` fit this state? Returns it in the form to apply and send.

        Nothing changes here, so the hub can encode the result before the
        replica takes it (``Hub._publish``): what it cannot encode never
        enters the replica or the log. From the network (``trusted`` False) a
        ``stream``'s rows and a ``source_patch``'s values come back cast to
        their columns' dtypes (docs/protocol.md "Values"), a new message when
        anything was cast.

        ``trusted``: the message comes from this process's own ``DataSource``,
        which already checked and cast a stream's columns against a store
        equal to this one (``DataSource.stream``); checking them again cost
        the hub thread a few microseconds per message. Only the column names
        are compared then (a cheap guard; any mismatch takes the full check).
        Anything from the network (remote producers, followers, browsers) is
        checked in full.
        """
        if isinstance(message, Patch):
            if message.model not in self.models:
                raise StateError(f"patch for unknown model {message.model!r}")
        elif isinstance(message, Stream):
            store = self._source(message.source)
            data = message.data
            if not (trusted and store.has_columns(data)):
                cast = store.check_stream(data)
                if any(cast[name] is not data[name] for name in cast):
                    return _with(message, data=cast)
        elif isinstance(message, SourcePatch):
            store = self._source(message.source)
            if not trusted:
                return _with(message, patches=store.check_wire_patch(message.patches))
        elif isinstance(message, SourceReplace):
            self._source(message.source)
            _check_lengths(message.source, message.data)
        elif isinstance(message, Add):
            for sid, spec in message.sources.items():
                _check_lengths(sid, spec["data"])
        elif isinstance(message, Custom):
            if message.model not in self.models:
                raise StateError(f"custom message for unknown model {message.model!r}")
        elif isinstance(message, Notify):
            pass  # sequenced, but it changes no state: only the seq
        elif not isinstance(message, Snapshot):
            raise StateError(f"{message.type} does not change a document")
        return message

    def commit(self, message: Message) -> None:
        """Apply a message ``check`` returned (it cannot fail any more)."""
        if isinstance(message, Snapshot):
            self.load(message)
            return
        if isinstance(message, Patch):
            model = self.models[message.model]
            model["state"] = {**model["state"], **message.state}
        elif isinstance(message, Stream):
            self.sources[message.source].stream(message.data, message.rollover)
        elif isinstance(message, SourcePatch):
            self.sources[message.source].patch(message.patches)
        elif isinstance(message, SourceReplace):
            self.sources[message.source].replace(message.data, message.meta)
        elif isinstance(message, Add):
            self._add(message.models, message.sources)
            if message.root is not None:
                self.root = message.root
            if message.title is not None:
                self.title = message.title
        if isinstance(message, Sequenced) and message.seq is not None:
            self.seq = message.seq

    def load(self, snap: Snapshot) -> None:
        self.doc, self.epoch, self.seq = snap.doc, snap.epoch, snap.seq
        self.title, self.root = snap.title, snap.root
        self.models, self.sources = {}, {}
        self._add(snap.models, snap.sources)

    def _add(self, models: dict[str, Any], sources: dict[str, Any]) -> None:
        for sid, spec in sources.items():  # all checked before any is added
            _check_lengths(sid, spec["data"])
        for mid, spec in models.items():
            self.models[mid] = {**spec, "state": dict(spec["state"])}
        for sid, spec in sources.items():
            self.sources[sid] = ColumnStore(dict(spec["data"]), spec.get("meta"))

    def _source(self, sid: str) -> ColumnStore:
        store = self.sources.get(sid)
        if store is None:
            raise StateError(f"unknown source {sid!r}")
        return store

    # -- reading
    def model_state(self, mid: str) -> dict[str, Any]:
        return copy.copy(self.models[mid]["state"])


M = TypeVar("M", bound=Message)


def _with(message: M, **changed: Any) -> M:
    """``message`` with some fields replaced, the others already checked."""
    slots: tuple[str, ...] = type(message).__slots__
    fields: dict[str, Any] = {name: getattr(message, name) for name in slots}
    fields.update(changed)
    return unchecked(type(message), **fields)


def _check_lengths(sid: str, data: dict[str, Any]) -> None:
    """A source's columns (arrays, lists or packed: the message checked that)
    are equally long."""
    lengths = {len(col) for col in data.values()}
    if len(lengths) > 1:
        raise StateError(f"source {sid!r}: columns have different lengths {sorted(lengths)}")
