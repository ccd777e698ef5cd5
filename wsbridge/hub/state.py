"""A document's state as the protocol describes it, and how messages change it.

Pure data, shared by the hub (its replica, from which snapshots are made)
and the Python client (its mirror). Applying the same sequenced messages in
the same order to two ``DocumentState`` objects gives equal states; that is
the whole resync guarantee of docs/protocol.md.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..errors import StateError
from ..wire.messages import (
    Add,
    Custom,
    Message,
    Patch,
    Sequenced,
    Snapshot,
    SourcePatch,
    SourceReplace,
    Stream,
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
        """The whole state as a ``snapshot`` message at the current ``seq``."""
        return Snapshot(
            doc=self.doc,
            epoch=self.epoch,
            seq=self.seq,
            title=self.title,
            root=self.root,
            models={mid: dict(spec) for mid, spec in self.models.items()},
            sources={sid: {"data": s.data} for sid, s in self.sources.items()},
        )

    # -- applying messages
    def apply(self, message: Message, trusted: bool = False) -> None:
        """Apply one sequenced message (its ``seq`` becomes the state's).

        ``trusted``: the message comes from this process's own ``DataSource``,
        which already checked and cast a stream's columns against a store
        equal to this one (``DataSource.stream``); checking them again cost
        the hub thread a few microseconds per message. Only the column names
        are compared then (a cheap guard; any mismatch takes the full check).
        Anything from the network (remote producers, followers, browsers) is
        applied untrusted and fully validated.
        """
        if isinstance(message, Snapshot):
            self.load(message)
            return
        if isinstance(message, Patch):
            model = self.models.get(message.model)
            if model is None:
                raise StateError(f"patch for unknown model {message.model!r}")
            model["state"] = {**model["state"], **message.state}
        elif isinstance(message, Stream):
            store = self._source(message.source)
            data = message.data
            if not (trusted and store.has_columns(data)):
                data = store.check_stream(data)
            store.stream(data, message.rollover)
        elif isinstance(message, SourcePatch):
            store = self._source(message.source)
            store.patch(message.patches)
        elif isinstance(message, SourceReplace):
            self._source(message.source).replace(message.data)
        elif isinstance(message, Add):
            self._add(message.models, message.sources)
            if message.root is not None:
                self.root = message.root
            if message.title is not None:
                self.title = message.title
        elif isinstance(message, Custom):
            if message.model not in self.models:
                raise StateError(f"custom message for unknown model {message.model!r}")
        else:
            raise StateError(f"{message.type} does not change a document")
        if isinstance(message, Sequenced) and message.seq is not None:
            self.seq = message.seq

    def load(self, snap: Snapshot) -> None:
        self.doc, self.epoch, self.seq = snap.doc, snap.epoch, snap.seq
        self.title, self.root = snap.title, snap.root
        self.models, self.sources = {}, {}
        self._add(snap.models, snap.sources)

    def _add(self, models: dict[str, Any], sources: dict[str, Any]) -> None:
        for mid, spec in models.items():
            self.models[mid] = {**spec, "state": dict(spec["state"])}
        for sid, spec in sources.items():
            data = spec["data"]
            for name, col in data.items():
                if not isinstance(col, (np.ndarray, list)):
                    raise StateError(f"source {sid!r} column {name!r} is not an array or a list")
            try:
                self.sources[sid] = ColumnStore(dict(data))
            except ValueError as exc:
                raise StateError(str(exc)) from None

    def _source(self, sid: str) -> ColumnStore:
        store = self.sources.get(sid)
        if store is None:
            raise StateError(f"unknown source {sid!r}")
        return store

    # -- reading
    def model_state(self, mid: str) -> dict[str, Any]:
        return copy.copy(self.models[mid]["state"])
