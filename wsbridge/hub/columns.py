"""Columnar data: the store that the hub's replica, the client and ``DataSource`` share.

``ColumnStore`` is pure data (no transport, no threads): columns of equal
length, appended in chunks so that a stream costs O(new rows), not a copy of
the whole rollover window as Bokeh's ``ColumnDataSource.stream`` does. The
columns are materialised (one ``np.concatenate``) only when someone reads
them. Values follow docs/protocol.md "Values": numeric numpy dtypes travel
as binary buffers, ``datetime64`` as float64 milliseconds, strings as lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..wire.chunks import Chunks
from ..wire.codec import DTYPES, to_wire_array
from ..wire.values import check_strings

__all__ = [
    "Column",
    "ColumnStore",
    "new_id",
    "normalize_columns",
]

Column = Any  # np.ndarray (numeric) or list (strings / None)


def new_id(prefix: str) -> str:
    """A short, unique, unguessable id for a model or source."""
    import secrets

    return f"{prefix}{secrets.token_hex(6)}"


#: dtypes that travel as they are (little-endian; on a big-endian machine no
#: native dtype compares equal): a C-contiguous array of one of these takes
#: ``_as_column``'s short path
_WIRE_DTYPES = frozenset(DTYPES.values())


def _as_column(name: str, value: Any) -> Column:
    """One column in wire form: a fresh read-only array, or a list of str."""
    if (
        type(value) is np.ndarray
        and value.dtype in _WIRE_DTYPES
        and value.ndim
        and value.flags.c_contiguous
    ):
        # The common case of ``src.stream`` (a numpy array of a wire dtype),
        # checked first: the general path below costs ~10 us more (asarray,
        # dtype lookup, shares_memory) on a call that should only enqueue.
        return _frozen_copy(value)
    if isinstance(value, list) and any(isinstance(v, str) for v in value):
        if not all(v is None or isinstance(v, str) for v in value):
            raise ValueError(f"column {name!r} mixes strings with other values")
        return _strings(name, list(value))
    arr = np.asarray(value)
    if arr.dtype.kind in "US":
        return _strings(name, [str(v) for v in arr.tolist()])
    if arr.dtype.kind == "O":
        items = arr.tolist()
        if all(v is None or isinstance(v, str) for v in items):
            return _strings(name, items)
        raise ValueError(f"column {name!r} has object dtype; only numbers, dates and strings")
    if arr.ndim == 0:
        raise ValueError(f"column {name!r} must be one-dimensional, got a scalar")
    try:
        wire = to_wire_array(arr)
    except ValueError as exc:
        raise ValueError(f"column {name!r}: {exc}") from None
    if wire is arr or wire.base is arr or np.shares_memory(wire, arr):
        wire = _frozen_copy(wire)  # the caller may reuse its array; ours must not change
    wire.flags.writeable = False
    return wire


def _strings(name: str, values: list[Any]) -> list[Any]:
    """A string column as the wire takes it: valid Unicode (``InvalidValue``,
    a ValueError, for a lone surrogate, before anything is sent)."""
    check_strings(values, f"column {name[:64]!r}")
    return values


#: columns up to this size are copied without releasing the GIL (see _frozen_copy)
GIL_COPY_MAX_BYTES = 4 * 1024 * 1024


def _frozen_copy(arr: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """A read-only copy of a C-contiguous array.

    Why not ``arr.copy()``: numpy releases the GIL around a copy of more than
    a few hundred elements, and getting it back means waiting for the hub's
    thread, which grabs it meanwhile and may keep it for a whole hand-off
    drain. Profiled, that wait was two thirds of ``src.stream()`` of 10,000
    float64. ``tobytes`` is the same memcpy with the GIL held (the
    hub thread waits a few microseconds instead); past
    ``GIL_COPY_MAX_BYTES`` holding the GIL for the copy would stall the hub
    for longer than the wait, so numpy copies.
    """
    copy: np.ndarray[Any, Any]
    if arr.nbytes > GIL_COPY_MAX_BYTES:
        copy = arr.copy()
    else:
        copy = np.frombuffer(arr.tobytes(), dtype=arr.dtype).reshape(arr.shape)
    return copy


def normalize_columns(data: Any) -> dict[str, Column]:
    """Columns from a dict of arrays/lists, a pandas DataFrame or Series.

    Raises ``ValueError`` for mismatched lengths or types that cannot travel.
    """
    if type(data) is not dict:  # a plain dict, the common case, needs no probing
        if hasattr(data, "to_dict") and hasattr(data, "columns") and hasattr(data, "index"):
            data = {str(c): data[c].to_numpy() for c in data.columns}  # pandas DataFrame
        elif hasattr(data, "to_numpy") and hasattr(data, "name") and hasattr(data, "index"):
            data = {str(data.name if data.name is not None else "value"): data.to_numpy()}
        if not isinstance(data, Mapping):
            raise ValueError("columns must be a mapping of name to array, or a pandas DataFrame")
    cols = {}
    for name, value in data.items():
        if not isinstance(name, str):
            raise ValueError(f"column names must be strings, got {name!r}")
        cols[name] = _as_column(name, value)
    if len({len(c) for c in cols.values()}) > 1:
        lengths = {name: len(c) for name, c in cols.items()}
        raise ValueError(f"columns have different lengths: {lengths}")
    return cols


def _concat(chunks: list[Column]) -> Column:
    if isinstance(chunks[0], list):
        out: list[Any] = []
        for c in chunks:
            out.extend(c)
        return out
    arr = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    arr.flags.writeable = False
    return arr


def _cast_to(name: str, values: np.ndarray[Any, Any], target: np.dtype[Any]) -> Column:
    """``values`` as ``target``, refusing a cast that would change a value's kind
    or wrap an integer around (an int64 -1 into a uint64 column)."""
    if values.dtype == target:
        return values
    if not np.can_cast(values.dtype, target, casting="same_kind") or not _fits(values, target):
        raise ValueError(f"column {name[:64]!r} is {target}, cannot take these {values.dtype}")
    out = values.astype(target)
    out.flags.writeable = False
    return out


def _fits(values: np.ndarray[Any, Any], target: np.dtype[Any]) -> bool:
    """Does every integer of ``values`` exist in the integer dtype ``target``?
    (A float target rounds, as the column always does.)"""
    if target.kind not in "iu" or values.size == 0 or np.can_cast(values.dtype, target, "safe"):
        return True
    info = np.iinfo(target)
    return bool(info.min <= int(values.min()) and int(values.max()) <= info.max)


def _patch_scalar(name: str, value: Any, target: np.dtype[Any], row: tuple[int, ...]) -> Any:
    """One element (or row) of a numeric column's patch from the network, as an
    array of ``target``: a 0-d array (or one row), or a JSON number, bool or
    null (NaN) from an older producer."""
    if isinstance(value, np.ndarray):
        if value.shape not in ((), row):
            raise ValueError(f"column {name[:64]!r} rows have shape {row}, got {value.shape}")
        return _cast_to(name, value, target)
    if value is None and target.kind == "f":
        value = np.nan
    if isinstance(value, (bool, int, float)):
        try:
            arr = np.asarray(value)
        except OverflowError:
            arr = np.asarray(value, dtype=object)
        return _cast_to(name, arr, target)
    raise ValueError(f"column {name[:64]!r} holds numbers, got {type(value).__name__}")


class _ChunkedColumn:
    """One column as a list of chunks; concatenated lazily, trimmed in O(chunks)."""

    __slots__ = ("chunks", "length")

    def __init__(self, values: Column):
        self.chunks: list[Column] = [values]
        self.length = len(values)

    @property
    def is_numeric(self) -> bool:
        return isinstance(self.chunks[0], np.ndarray)

    def value(self) -> Column:
        if len(self.chunks) > 1:
            self.chunks = [_concat(self.chunks)]
        return self.chunks[0]

    def append(self, values: Column | Chunks) -> None:
        if type(values) is Chunks:  # a hub's batch: its arrays as they are
            self.chunks.extend(values.arrays)
            self.length += len(values)
        elif len(values):
            self.chunks.append(values)
            self.length += len(values)

    def keep_last(self, n: int) -> None:
        drop = self.length - n
        while drop > 0:
            first = self.chunks[0]
            if len(first) <= drop and len(self.chunks) > 1:
                self.chunks.pop(0)
                drop -= len(first)
                self.length -= len(first)
            else:
                self.chunks[0] = first[drop:]
                self.length -= drop
                drop = 0


class ColumnStore:
    """Equal-length columns with stream/patch/replace, as the protocol defines.

    Not thread-safe by itself: each owner serialises access (the hub's loop,
    the producer's lock).
    """

    def __init__(self, data: Mapping[str, Column] | None = None):
        self._cols: dict[str, _ChunkedColumn] = {}
        self.replace(dict(data or {}))

    # -- reading
    @property
    def length(self) -> int:
        for c in self._cols.values():
            return c.length
        return 0

    @property
    def column_names(self) -> list[str]:
        return list(self._cols)

    @property
    def data(self) -> dict[str, Column]:
        """Column name to array (read-only) or list; concatenated on demand."""
        return {name: c.value() for name, c in self._cols.items()}

    def dtype_of(self, name: str) -> np.dtype[Any] | None:
        col = self._cols[name]
        return col.chunks[0].dtype if col.is_numeric else None

    # -- writing (inputs already normalised)
    def replace(self, data: Mapping[str, Column]) -> None:
        lengths = {len(v) for v in data.values()}
        if len(lengths) > 1:
            raise ValueError("columns have different lengths")
        self._cols = {name: _ChunkedColumn(v) for name, v in data.items()}

    def has_columns(self, data: Mapping[str, Column]) -> bool:
        """Does ``data`` name exactly these columns? (The hub's cheap guard for
        streams its own producer already checked: ``DocumentState.apply``.)"""
        return data.keys() == self._cols.keys()

    def check_stream(self, data: Mapping[str, Column]) -> dict[str, Column]:
        """Validate an append against the current columns; return it cast."""
        if data.keys() != self._cols.keys():
            missing = sorted(set(self._cols) - set(data))
            unknown = sorted(set(data) - set(self._cols))
            raise ValueError(f"stream must give every column: missing {missing}, unknown {unknown}")
        lengths = {len(v) for v in data.values()}
        if len(lengths) > 1:
            raise ValueError("streamed columns have different lengths")
        out = {}
        for name, values in data.items():
            out[name] = self._cast(name, values)
        return out

    def _cast(self, name: str, values: Column | Chunks) -> Column:
        col = self._cols[name]
        if isinstance(values, Chunks):
            values = values.join()
        if not col.is_numeric:
            if isinstance(values, np.ndarray):
                if len(values) == 0:
                    return []
                raise ValueError(f"column {name!r} holds strings, got numbers")
            return values
        if isinstance(values, list):
            if len(values) == 0:
                return np.empty(0, dtype=col.chunks[0].dtype)
            raise ValueError(f"column {name!r} holds numbers, got strings")
        target = col.chunks[0].dtype
        if values.shape[1:] != col.chunks[0].shape[1:]:
            raise ValueError(_shape_error(name, col.chunks[0].shape[1:], values.shape))
        return _cast_to(name, values, target)

    def stream(self, data: Mapping[str, Column], rollover: int | None = None) -> None:
        for name, values in data.items():
            col = self._cols[name]
            col.append(values)
            if rollover is not None and col.length > rollover:
                col.keep_last(rollover)

    def check_patch(self, patches: Mapping[str, Iterable[Any]]) -> dict[str, list[list[Any]]]:
        """Normalise ``{col: [(index_or_slice, value), ...]}`` to wire form."""
        if not isinstance(patches, Mapping):
            raise ValueError("patch takes {column: [(index_or_slice, value), ...]}")
        out: dict[str, list[list[Any]]] = {}
        n = self.length
        for name, items in patches.items():
            if name not in self._cols:
                raise ValueError(f"unknown column {name!r}")
            col = self._cols[name]
            norm: list[list[Any]] = []
            for item in items:
                try:
                    index, value = item
                except (TypeError, ValueError):
                    raise ValueError("each patch is an (index_or_slice, value) pair") from None
                if isinstance(index, slice):
                    start, stop, step = index.indices(n)
                    if step < 1:
                        raise ValueError("patch slices must have a positive step")
                    count = len(range(start, stop, step))
                    vals = self._cast(name, _as_column(name, value if value is not None else []))
                    if len(vals) != count:
                        raise ValueError(f"slice of {count} items patched with {len(vals)} values")
                    norm.append([{"start": start, "stop": max(stop, start), "step": step}, vals])
                elif isinstance(index, (int, np.integer)) and not isinstance(index, bool):
                    i = int(index)
                    if not -n <= i < n:
                        raise ValueError(f"patch index {i} out of range for {n} rows")
                    i %= n
                    if col.is_numeric:
                        scalar = np.asarray(value)
                        if scalar.ndim:
                            raise ValueError(f"column {name!r} cannot take {value!r}")
                        # a 0-d array of the column's dtype: it travels exactly
                        # (a JSON number would lose inf, int64 and uint64 values)
                        scalar = _cast_to(name, scalar, col.chunks[0].dtype)
                        norm.append([i, _frozen_copy(scalar)])
                    else:
                        if value is not None and not isinstance(value, str):
                            raise ValueError(f"column {name!r} holds strings, got {value!r}")
                        norm.append([i, value])
                else:
                    raise ValueError(f"patch index must be an int or a slice, got {index!r}")
            out[name] = norm
        return out

    def check_wire_patch(
        self, patches: Mapping[str, list[list[Any]]]
    ) -> dict[str, list[list[Any]]]:
        """A ``source_patch`` from the network (structure checked by the message)
        against these columns: every index within the rows, every value of the
        column's kind. Returns it with numbers as arrays of the column's dtype
        (a JSON number from an older producer becomes one); raises ValueError.
        """
        out: dict[str, list[list[Any]]] = {}
        n = self.length
        for name, items in patches.items():
            col = self._cols.get(name)
            if col is None:
                raise ValueError(f"unknown column {name[:64]!r}")
            row = col.chunks[0].shape[1:] if col.is_numeric else ()
            norm: list[list[Any]] = []
            for index, value in items:
                if isinstance(index, dict):
                    if index["start"] > n or index["stop"] > n:
                        raise ValueError(f"patch slice {index} is beyond the {n} rows")
                    if col.is_numeric:
                        if isinstance(value, list):
                            value = np.asarray(value) if value else np.empty((0, *row))
                        value = self._cast(name, value)
                    elif not isinstance(value, list):
                        raise ValueError(f"column {name[:64]!r} holds strings, got numbers")
                elif not index < n:
                    raise ValueError(f"patch index {index} out of range for {n} rows")
                elif col.is_numeric:
                    value = _patch_scalar(name, value, col.chunks[0].dtype, row)
                elif value is not None and not isinstance(value, str):
                    raise ValueError(f"column {name[:64]!r} holds strings, got a number")
                norm.append([index, value])
            out[name] = norm
        return out

    def patch(self, patches: Mapping[str, list[list[Any]]]) -> None:
        for name, items in patches.items():
            col = self._cols[name]
            values = col.value()
            if isinstance(values, np.ndarray):
                values = values.copy()
            else:
                values = list(values)
            for index, value in items:
                if isinstance(index, dict):
                    values[index["start"] : index["stop"] : index["step"]] = value
                else:
                    values[index] = value
            if isinstance(values, np.ndarray):
                values.flags.writeable = False
            col.chunks = [values]


def _shape_error(name: str, row: tuple[int, ...], given: tuple[int, ...]) -> str:
    """Why rows of shape ``given[1:]`` cannot go into a column of ``row`` rows."""
    if row == ():
        wanted = "a 1-D array (one value per new row)"
    else:
        wanted = f"an array of shape (n, {', '.join(map(str, row))})"
    return f"column {name[:64]!r} takes {wanted}, not an array of shape {given}"
