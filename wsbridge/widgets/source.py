"""Columnar data: the producer's ``DataSource`` and the store both sides share.

``ColumnStore`` is pure data (no transport, no threads): columns of equal
length, appended in chunks so that a stream costs O(new rows), not a copy of
the whole rollover window as Bokeh's ``ColumnDataSource.stream`` does. The
columns are materialised (one ``np.concatenate``) only when someone reads
them. The hub keeps one per source as its replica; the Python client mirrors
with one; ``DataSource`` wraps one for the producer.

Values follow docs/protocol.md "Values": numeric numpy dtypes travel as
binary buffers, ``datetime64`` as float64 milliseconds, strings as lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..hub.columns import Column, ColumnStore, new_id, normalize_columns
from ..wire.messages import SourcePatch, SourceReplace, Stream, unchecked
from . import sync as _sync

__all__ = [
    "DataSource",
]


def _stream(source: str, data: dict[str, Column], rollover: int | None) -> Stream:
    """The ``stream`` message of ``DataSource.stream``, built without
    ``Stream.__post_init__``'s checks: ``normalize_columns`` and
    ``check_stream`` have just checked the columns, ``stream()`` the
    rollover, and the id is our own. Hot path: the checks were ~3 us of a
    call whose target is 50 us (docs/performance.md#messages-built-without-re-validation)."""
    return unchecked(Stream, seq=0, source=source, data=data, rollover=rollover, first=None)


class DataSource:
    """Columns of data shared with browsers; ``stream`` is the hot path.

    Thread-safe: any thread may ``stream``/``patch``/``replace``; each change
    is applied here and queued to every document holding the source in the
    same order (under the producer lock, see ``_sync``). Invalid input raises
    ``ValueError`` before anything is sent.
    """

    def __init__(self, data: Any = None, *, id: str | None = None):
        self.id = id or new_id("s")
        self._store = ColumnStore(normalize_columns(data if data is not None else {}))
        self._listeners: list[Callable[[DataSource, Any], None]] = []

    def __repr__(self) -> str:
        return f"DataSource(id={self.id!r}, columns={self.columns}, length={len(self)})"

    def __len__(self) -> int:
        return self._store.length

    @property
    def columns(self) -> list[str]:
        return self._store.column_names

    @property
    def data(self) -> dict[str, Any]:
        """The current columns (read-only arrays, lists for strings)."""
        with _sync.LOCK:
            return self._store.data

    @property
    def bokeh(self) -> Any:
        """A ``bokeh.models.ColumnDataSource`` tied to this source (see ``widgets.plot``)."""
        from .plot import bokeh_source

        return bokeh_source(self)

    def _spec(self) -> dict[str, Any]:
        return {"data": self._store.data}

    def _emit(self, message: Any) -> None:
        for listener in list(self._listeners):
            listener(self, message)

    def stream(self, data: Any, rollover: int | None = None) -> None:
        """Append rows to every column; keep only the last ``rollover`` rows."""
        if rollover is not None and (not isinstance(rollover, int) or rollover < 0):
            raise ValueError("rollover must be a non-negative int or None")
        cols = normalize_columns(data)
        with _sync.LOCK:
            cols = self._store.check_stream(cols)
            self._store.stream(cols, rollover)
            if self._listeners:
                self._emit(_stream(self.id, cols, rollover))

    def patch(self, patches: Mapping[str, Iterable[Any]]) -> None:
        """Replace elements: ``{"y": [(0, 1.5), (slice(2, 4), [7, 8])]}``."""
        with _sync.LOCK:
            norm = self._store.check_patch(patches)
            self._store.patch(norm)
            if self._listeners:
                self._emit(SourcePatch(seq=0, source=self.id, patches=norm))

    def replace(self, data: Any) -> None:
        """Replace all columns (the set of columns may change)."""
        cols = normalize_columns(data)
        with _sync.LOCK:
            self._store.replace(cols)
            if self._listeners:
                self._emit(SourceReplace(seq=0, source=self.id, data=cols))
