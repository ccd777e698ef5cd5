"""Columnar data: the producer's ``DataSource`` and the store both sides share.

``ColumnStore`` is pure data (no transport, no threads): columns of equal
length, appended in chunks so that a stream costs O(new rows), not a copy of
the whole rollover window as Bokeh's ``ColumnDataSource.stream`` does. The
columns are materialised (one ``np.concatenate``) only when someone reads
them. The hub keeps one per source as its replica; the Python client mirrors
with one; ``DataSource`` wraps one for the producer.

Values follow docs/protocol.md "Values": numeric numpy dtypes travel as
binary buffers, ``datetime64`` as float64 milliseconds, strings as lists;
columns with missing values or ragged rows as packed columns. pandas,
polars and pyarrow tables are taken as they are (``frames``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ..hub.columns import Column, ColumnStore, new_id
from ..wire.messages import SourcePatch, SourceReplace, Stream, unchecked
from ..wire.packed import Packed
from . import sync as _sync
from .frames import patch_value, to_columns

__all__ = [
    "DataSource",
]


def _stream(source: str, data: dict[str, Column], rollover: int | None) -> Stream:
    """The ``stream`` message of ``DataSource.stream``, built without
    ``Stream.__post_init__``'s checks: ``to_columns`` and
    ``check_stream`` have just checked the columns, ``stream()`` the
    rollover, and the id is our own. Hot path: the checks were ~3 us of a
    call whose target is 50 us (docs/performance.md#messages-built-without-re-validation)."""
    return unchecked(Stream, seq=0, source=source, data=data, rollover=rollover, first=None)


class DataSource:
    """Columns of data shared with browsers; ``stream`` is the hot path.

    ``data`` is a dict of column name to numpy array or list, or a table as
    it is: a pandas ``DataFrame`` (its index becomes columns), a polars
    ``DataFrame`` or a pyarrow ``Table`` (``frames``). Date columns, missing
    values, categoricals and lists of numbers per row (ragged, as Bokeh's
    ``multi_line`` takes them) travel as docs/ipywidgets.md "DataFrames"
    describes.

    Thread-safe: any thread may ``stream``/``patch``/``replace``; each change
    is applied here and queued to every document holding the source in the
    same order (under the producer lock, see ``_sync``). Invalid input raises
    ``ValueError`` before anything is sent.
    """

    def __init__(self, data: Any = None, *, id: str | None = None):
        self.id = id or new_id("s")
        meta: dict[str, Any] = {}
        cols = to_columns(data if data is not None else {}, meta)
        self._store = ColumnStore(cols, meta)
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
        """The current columns: read-only arrays, lists for strings; a
        column with missing values is a ``numpy.ma.MaskedArray``, a ragged
        one a list of rows (each an array, or a list of them). Dates are
        float64 milliseconds since the epoch (``meta`` says which)."""
        with _sync.LOCK:
            data = self._store.data
        return {name: _readable(col) for name, col in data.items()}

    @property
    def meta(self) -> dict[str, Any]:
        """Column metadata: ``{"t": {"type": "datetime", "tz": "Europe/Paris"}}``
        for each date column (``tz`` None: a naive one)."""
        with _sync.LOCK:
            return {name: dict(entry) for name, entry in self._store.meta.items()}

    @property
    def bokeh(self) -> Any:
        """A ``bokeh.models.ColumnDataSource`` tied to this source (see ``widgets.plot``)."""
        from .plot import bokeh_source

        return bokeh_source(self)

    def _spec(self) -> dict[str, Any]:
        return self._store.spec()

    def _emit(self, message: Any) -> None:
        for listener in list(self._listeners):
            listener(self, message)

    def stream(self, data: Any, rollover: int | None = None) -> None:
        """Append rows to every column; keep only the last ``rollover`` rows."""
        if rollover is not None and (not isinstance(rollover, int) or rollover < 0):
            raise ValueError("rollover must be a non-negative int or None")
        cols = to_columns(data)
        with _sync.LOCK:
            cols = self._store.check_stream(cols)
            self._store.stream(cols, rollover)
            if self._listeners:
                self._emit(_stream(self.id, cols, rollover))

    def patch(self, patches: Mapping[str, Iterable[Any]]) -> None:
        """Replace elements: ``{"y": [(0, 1.5), (slice(2, 4), [7, 8])]}``;
        ``None`` (or pandas' ``NA``) makes a value missing."""
        if isinstance(patches, Mapping):
            patches = {
                name: [_patch_item(item) for item in items] for name, items in patches.items()
            }
        with _sync.LOCK:
            norm = self._store.check_patch(patches)
            self._store.patch(norm)
            if self._listeners:
                self._emit(SourcePatch(seq=0, source=self.id, patches=norm))

    def replace(self, data: Any) -> None:
        """Replace all columns (the set of columns may change)."""
        meta: dict[str, Any] = {}
        cols = to_columns(data, meta)
        with _sync.LOCK:
            self._store.replace(cols, meta)
            if self._listeners:
                self._emit(SourceReplace(seq=0, source=self.id, data=cols, meta=meta or None))


def _patch_item(item: Any) -> Any:
    """One ``(index, value)`` of a patch with pandas values made plain."""
    try:
        index, value = item
    except (TypeError, ValueError):
        return item  # the store says what is wrong
    return (index, patch_value(value))


def _readable(col: Column) -> Any:
    """A column as ``DataSource.data`` shows it (see there)."""
    if type(col) is not Packed:
        return col
    if col.lengths:
        return col.rows()
    values = col.values.join() if not isinstance(col.values, np.ndarray) else col.values
    out = np.ma.MaskedArray(values, mask=col.missing())
    out.flags.writeable = False
    return out
