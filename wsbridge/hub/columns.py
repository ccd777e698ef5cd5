"""Columnar data: the store that the hub's replica, the client and ``DataSource`` share.

``ColumnStore`` is pure data (no transport, no threads): columns of equal
length, appended in chunks so that a stream costs O(new rows), not a copy of
the whole rollover window as Bokeh's ``ColumnDataSource.stream`` does. The
columns are materialised (one ``np.concatenate``) only when someone reads
them. Values follow docs/protocol.md "Values": numeric numpy dtypes travel
as binary buffers, ``datetime64`` as float64 milliseconds, strings as lists,
and columns with missing values or ragged rows as packed columns
(``wire.packed``: values plus a validity mask and/or ragged lengths). A
store also keeps its columns' metadata (``meta``: which float64 columns are
dates, and in which zone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..wire.chunks import Chunks
from ..wire.codec import DTYPES, to_wire_array
from ..wire.packed import MASK_DTYPE, Packed, ragged_rows
from ..wire.values import check_strings

__all__ = [
    "DATETIME",
    "Column",
    "ColumnStore",
    "new_id",
    "normalize_columns",
]

Column = Any  # np.ndarray (numeric), list (strings / None) or Packed (missing values, ragged rows)

#: the metadata of a datetime column with no zone (docs/protocol.md "Column metadata")
DATETIME: dict[str, Any] = {"type": "datetime", "tz": None}


def new_id(prefix: str) -> str:
    """A short, unique, unguessable id for a model or source."""
    import secrets

    return f"{prefix}{secrets.token_hex(6)}"


#: dtypes that travel as they are (little-endian; on a big-endian machine no
#: native dtype compares equal): a C-contiguous array of one of these takes
#: ``_as_column``'s short path
_WIRE_DTYPES = frozenset(DTYPES.values())


def _as_column(name: str, value: Any, meta: dict[str, Any] | None = None) -> Column:
    """One column in wire form: a fresh read-only array, a list of str, or a
    ``Packed`` (missing values, ragged rows). A ``datetime64`` column is
    noted in ``meta`` (when given) as a date column."""
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
    if type(value) is Packed:
        return _packed(name, value)
    if isinstance(value, np.ma.MaskedArray):
        return _from_masked(name, value, meta)
    if isinstance(value, list):
        kinds = set(map(type, value))  # one C-speed pass: which kinds of items
        if kinds <= _STRING_KINDS and str in kinds:
            return _strings(name, list(value))
        if kinds & _SEQUENCES and kinds <= _SEQUENCES | {type(None)}:
            return _packed(name, ragged_rows(value, f"column {name[:64]!r}"))
        if str in kinds:  # strings with NaN or NA for missing ones, or a mix
            if not all(v is None or isinstance(v, str) or _is_missing(v) for v in value):
                raise ValueError(f"column {name!r} mixes strings with other values")
            return _strings(name, [v if v is None or isinstance(v, str) else None for v in value])
    arr = np.asarray(value)
    if arr.dtype.kind in "US":
        return _strings(name, [str(v) for v in arr.tolist()])
    if arr.dtype.kind == "O":
        return _from_objects(name, arr)
    if arr.ndim == 0:
        raise ValueError(f"column {name!r} must be one-dimensional, got a scalar")
    if arr.dtype.kind == "M" and meta is not None:
        meta[name] = dict(DATETIME)
    return _frozen_array(name, arr)


def _frozen_array(name: str, arr: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``arr`` in wire form (``to_wire_array``), a read-only copy nobody else holds."""
    try:
        wire = to_wire_array(arr)
    except ValueError as exc:
        raise ValueError(f"column {name!r}: {exc}") from None
    if wire is arr or wire.base is arr or np.shares_memory(wire, arr):
        wire = _frozen_copy(wire)  # the caller may reuse its array; ours must not change
    wire.flags.writeable = False
    return wire


_STRING_KINDS = frozenset((str, type(None)))
#: the items of a ragged column's rows (a row of None is a missing one)
_SEQUENCES = frozenset((list, tuple, np.ndarray))


def _rows_of_lists(items: list[Any]) -> bool:
    """Is every item a list (tuple, 1-D array) or None, and one at least a list?"""
    kinds = set(map(type, items))
    return bool(kinds & _SEQUENCES) and kinds <= _SEQUENCES | {type(None)}


def _is_missing(v: Any) -> bool:
    """None, a float NaN, pandas' ``NA`` or ``NaT`` (without importing pandas)."""
    return (
        v is None or (isinstance(v, float) and v != v) or type(v).__name__ in ("NAType", "NaTType")
    )


def _from_objects(name: str, arr: np.ndarray[Any, Any]) -> Column:
    """An object array: strings and missing values, numbers and missing
    values (a masked column), or rows of lists (ragged)."""
    items = arr.tolist() if arr.ndim == 1 else None
    if items is None:
        raise ValueError(f"column {name!r} has object dtype; only numbers, dates and strings")
    kinds = set(map(type, items))
    if kinds <= {str, type(None)}:
        return _strings(name, items)
    missing = [_is_missing(v) for v in items]
    if str in kinds:
        if all(m or isinstance(v, str) for v, m in zip(items, missing, strict=True)):
            return _strings(name, [None if m else v for v, m in zip(items, missing, strict=True)])
        raise ValueError(f"column {name!r} mixes strings with other values")
    if _rows_of_lists(items):
        return _packed(name, ragged_rows(items, f"column {name[:64]!r}"))
    present = [v for v, m in zip(items, missing, strict=True) if not m]
    bad = next((v for v in present if not isinstance(v, (int, float, np.number, np.bool_))), None)
    sample = np.asarray(present) if present and bad is None else np.empty(0)
    if bad is not None:
        raise ValueError(
            f"column {name!r} has object dtype holding {type(bad).__name__} values; only numbers, "
            "booleans, dates and strings travel (with None or NaN for missing ones)"
        )
    gone = np.asarray(missing, dtype=bool)
    if not gone.any():
        return _frozen_array(name, sample)
    values = np.zeros(len(items), dtype=sample.dtype if present else np.float64)
    values[~gone] = sample
    return _from_masked(name, np.ma.MaskedArray(values, mask=gone), None)


def _from_masked(
    name: str, arr: np.ma.MaskedArray[Any, Any], meta: dict[str, Any] | None
) -> Column:
    """A numpy masked array: a packed column when anything is masked (a
    masked slot of ``values`` holds NaN in a float column, 0 else)."""
    gone: np.ndarray[Any, Any] = np.ma.getmaskarray(arr)
    if gone.ndim > 1:
        gone = np.asarray(gone.reshape(len(gone), -1).any(axis=1))
    data = np.ma.getdata(arr)
    if not gone.any():
        return _as_column(name, np.ascontiguousarray(data), meta)
    if data.dtype.kind == "M" and meta is not None:
        meta[name] = dict(DATETIME)
    values = np.array(_frozen_array(name, data))  # writeable: the fillers go in
    values[gone] = np.nan if values.dtype.kind == "f" else 0
    return _packed(name, Packed(values, (~gone).astype(MASK_DTYPE)))


def _packed(name: str, packed: Packed) -> Column:
    """A packed column checked and made read-only; one with neither a mask
    nor ragged rows is its plain values."""
    if packed.mask is None and not packed.lengths:
        return _as_column(name, packed.values)
    try:
        packed.check(f"column {name[:64]!r}")
    except ValueError as exc:  # ProtocolError is one: the same refusal as for bad input
        raise ValueError(str(exc)) from None
    for arr in (packed.values, packed.mask, *packed.lengths):
        if isinstance(arr, np.ndarray):
            arr.flags.writeable = False
    return packed


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


def normalize_columns(data: Any, meta: dict[str, Any] | None = None) -> dict[str, Column]:
    """Columns in wire form from a mapping of name to array, list or ``Packed``.

    ``meta`` (when given) gets the metadata of the columns that need it
    (``datetime64`` ones). Tables (pandas, polars, pyarrow) are turned into
    such a mapping by ``widgets.frames``. Raises ``ValueError`` for
    mismatched lengths or types that cannot travel.
    """
    if not isinstance(data, Mapping):
        raise ValueError("columns must be a mapping of name to array, or a DataFrame")
    cols = {}
    for name, value in data.items():
        if not isinstance(name, str):
            raise ValueError(f"column names must be strings, got {name!r}")
        cols[name] = _as_column(name, value, meta)
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

    #: levels of ragged lengths (a plain column has none)
    ragged = 0

    def __init__(self, values: Column):
        self.chunks: list[Column] = [values]
        self.length = len(values)

    @property
    def is_numeric(self) -> bool:
        return isinstance(self.chunks[0], np.ndarray)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of a numeric column."""
        dtype: np.dtype[Any] = self.chunks[0].dtype
        return dtype

    @property
    def row_shape(self) -> tuple[int, ...]:
        """The shape of one row of a numeric column (``()`` for a 1-D one)."""
        shape: tuple[int, ...] = self.chunks[0].shape[1:]
        return shape

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


def _joined(values: Any) -> Any:
    return values.join() if type(values) is Chunks else values


def _ones(n: int) -> np.ndarray[Any, Any]:
    """A mask of ``n`` present rows (read-only)."""
    mask = np.ones(n, dtype=MASK_DTYPE)
    mask.flags.writeable = False
    return mask


class _PackedColumn:
    """A packed column (``wire.packed``): its values, its mask and each level
    of its ragged lengths are chunked columns of their own, kept in step row
    by row (a stream appends to each, a rollover cuts each)."""

    __slots__ = ("lengths", "mask", "values")

    is_numeric = True

    def __init__(self, packed: Packed):
        self.values = _ChunkedColumn(_joined(packed.values))
        self.mask = None if packed.mask is None else _ChunkedColumn(packed.mask)
        self.lengths = [_ChunkedColumn(counts) for counts in packed.lengths]

    @classmethod
    def of(cls, col: _ChunkedColumn) -> _PackedColumn:
        """A plain numeric column as a packed one (rows with missing values are coming)."""
        out = cls.__new__(cls)
        out.values, out.mask, out.lengths = col, None, []
        return out

    @property
    def length(self) -> int:
        return self.lengths[0].length if self.lengths else self.values.length

    @property
    def ragged(self) -> int:
        return len(self.lengths)

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.values.dtype

    @property
    def row_shape(self) -> tuple[int, ...]:
        return () if self.lengths else self.values.row_shape

    def value(self) -> Packed:
        mask = None if self.mask is None else self.mask.value()
        return Packed(self.values.value(), mask, [c.value() for c in self.lengths])

    def append(self, piece: Column | Chunks) -> None:
        if type(piece) is Packed:
            mask, lengths, values = piece.mask, piece.lengths, piece.values
        else:
            mask, lengths, values = None, (), piece
        if mask is not None and self.mask is None:
            self.mask = _ChunkedColumn(_ones(self.length))
        if self.mask is not None:
            self.mask.append(mask if mask is not None else _ones(len(piece)))
        for col, counts in zip(self.lengths, lengths, strict=True):
            col.append(counts)
        self.values.append(values)

    def keep_last(self, n: int) -> None:
        drop = self.length - n
        if drop <= 0:
            return
        if self.mask is not None:
            self.mask.keep_last(n)
        for col in self.lengths:
            counts = col.value()
            col.keep_last(col.length - drop)
            drop = int(counts[:drop].sum(dtype=np.uint64))
        self.values.keep_last(self.values.length - drop)


def _column(values: Column) -> _ChunkedColumn | _PackedColumn:
    return _PackedColumn(values) if type(values) is Packed else _ChunkedColumn(values)


def _is_na(value: Any) -> bool:
    """A patch value that means "missing": None or pandas' NA (a float NaN is a value)."""
    return value is None or type(value).__name__ == "NAType"


def _missing_row(dtype: np.dtype[Any], row: tuple[int, ...], levels: int) -> Packed:
    """One missing row of a column (a mask of one 0), as a patch value."""
    gone = np.zeros(1, dtype=MASK_DTYPE)
    if levels:
        return Packed(
            np.empty(0, dtype=dtype),
            gone,
            [np.zeros(1, "<u4")] + [np.empty(0, "<u4") for _ in range(levels - 1)],
        )
    return Packed(np.full((1, *row), np.nan if dtype.kind == "f" else 0, dtype=dtype), gone)


class ColumnStore:
    """Equal-length columns with stream/patch/replace, as the protocol defines,
    and their metadata (``meta``: column name to its entry, docs/protocol.md
    "Column metadata").

    Not thread-safe by itself: each owner serialises access (the hub's loop,
    the producer's lock).
    """

    def __init__(
        self, data: Mapping[str, Column] | None = None, meta: Mapping[str, Any] | None = None
    ):
        self._cols: dict[str, _ChunkedColumn | _PackedColumn] = {}
        self.meta: dict[str, Any] = {}
        self.replace(dict(data or {}), meta)

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
        """Column name to array (read-only), list or ``Packed``; concatenated on demand."""
        return {name: c.value() for name, c in self._cols.items()}

    def spec(self) -> dict[str, Any]:
        """The source as a snapshot or an ``add`` carries it: ``data``, and
        ``meta`` when any column has metadata."""
        spec: dict[str, Any] = {"data": self.data}
        if self.meta:
            spec["meta"] = {name: dict(entry) for name, entry in self.meta.items()}
        return spec

    def dtype_of(self, name: str) -> np.dtype[Any] | None:
        col = self._cols[name]
        return col.dtype if col.is_numeric else None

    # -- writing (inputs already normalised)
    def replace(self, data: Mapping[str, Column], meta: Mapping[str, Any] | None = None) -> None:
        lengths = {len(v) for v in data.values()}
        if len(lengths) > 1:
            raise ValueError("columns have different lengths")
        self._cols = {name: _column(v) for name, v in data.items()}
        self.meta = {name: dict(entry) for name, entry in (meta or {}).items() if name in data}

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
        """Rows for column ``name`` in its form and dtype (docs/protocol.md
        "Values"): 2-D rows and ragged ones of equal lengths convert into
        each other, rows with missing values come packed, an empty column
        takes the form of the first ragged rows it gets."""
        col = self._cols[name]
        if type(values) is np.ndarray and type(col) is _ChunkedColumn:
            first = col.chunks[0]  # the hot path: rows of a plain numeric column
            if type(first) is np.ndarray and values.shape[1:] == first.shape[1:]:
                return _cast_to(name, values, first.dtype)
        if isinstance(values, Chunks):
            values = values.join()
        if not col.is_numeric:
            if isinstance(values, (np.ndarray, Packed)):
                if len(values) == 0:
                    return []
                raise ValueError(f"column {name!r} holds strings, got numbers")
            return values
        if isinstance(values, list):
            if len(values) == 0:
                if col.ragged:
                    return _as_ragged(name, np.empty(0, dtype=col.dtype), col.ragged)
                return np.empty((0, *col.row_shape), dtype=col.dtype)
            raise ValueError(f"column {name!r} holds numbers, got strings")
        target = col.dtype
        if type(values) is Packed and values.lengths:
            if col.ragged == len(values.lengths):
                return _cast_packed(name, values, target)
            if not col.ragged and col.length == 0 and type(col) is _ChunkedColumn:
                return values  # an empty column takes the form of its first rows
            if col.ragged:
                raise ValueError(
                    f"column {name!r} holds rows nested {col.ragged} deep, "
                    f"got {len(values.lengths)}"
                )
            values = _unragged(name, values, col.row_shape)
        elif col.ragged:
            values = _as_ragged(name, values, col.ragged)
            return _cast_packed(name, values, target)
        rows = values.values if type(values) is Packed else values
        if rows.shape[1:] != col.row_shape:
            raise ValueError(_shape_error(name, col.row_shape, rows.shape))
        if type(values) is Packed:
            return _cast_packed(name, values, target)
        return _cast_to(name, values, target)

    def stream(self, data: Mapping[str, Column], rollover: int | None = None) -> None:
        for name, values in data.items():
            col = self._cols[name]
            if type(values) is Packed and type(col) is _ChunkedColumn:
                # a plain column gets missing values (or, empty, its first ragged rows)
                if values.lengths:
                    col = self._cols[name] = _PackedColumn(values)
                else:
                    col = self._cols[name] = _PackedColumn.of(col)
                    col.append(values)
            else:
                col.append(values)
            if rollover is not None and col.length > rollover:
                col.keep_last(rollover)

    def check_patch(self, patches: Mapping[str, Iterable[Any]]) -> dict[str, list[list[Any]]]:
        """Normalise ``{col: [(index_or_slice, value), ...]}`` to wire form.

        ``None`` (or pandas' ``NA``) makes a value missing; a ragged
        column's row is a list (of lists...) of numbers."""
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
                        norm.append([i, self._row_value(name, col, value)])
                    else:
                        if _is_na(value):
                            value = None
                        if value is not None and not isinstance(value, str):
                            raise ValueError(f"column {name!r} holds strings, got {value!r}")
                        norm.append([i, value])
                else:
                    raise ValueError(f"patch index must be an int or a slice, got {index!r}")
            out[name] = norm
        return out

    def _row_value(self, name: str, col: _ChunkedColumn | _PackedColumn, value: Any) -> Any:
        """One row's patch value, as the wire carries it: a 0-d array of the
        column's dtype, or a packed row (missing, or ragged)."""
        if _is_na(value):
            return _missing_row(col.dtype, col.row_shape, col.ragged)
        if col.ragged:
            row = self._cast(name, _as_column(name, [value]))
            if len(row) != 1:  # pragma: no cover - one list in, one row out
                raise ValueError(f"column {name!r} cannot take {value!r}")
            return row
        scalar = np.asarray(value)
        if scalar.ndim:
            raise ValueError(f"column {name!r} cannot take {value!r}")
        if scalar.dtype.kind in "Mm":  # a date or a duration: milliseconds, as the column
            scalar = to_wire_array(scalar).reshape(())
        # a 0-d array of the column's dtype: it travels exactly
        # (a JSON number would lose inf, int64 and uint64 values)
        return _frozen_copy(_cast_to(name, scalar, col.dtype))

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
            row = col.row_shape if col.is_numeric else ()
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
                    if type(value) is Packed:
                        value = self._cast(name, value)
                    elif col.ragged:
                        raise ValueError(
                            f"column {name[:64]!r} holds ragged rows: a row's value is packed"
                        )
                    else:
                        value = _patch_scalar(name, value, col.dtype, row)
                elif value is not None and not isinstance(value, str):
                    raise ValueError(f"column {name[:64]!r} holds strings, got a number")
                norm.append([index, value])
            out[name] = norm
        return out

    def patch(self, patches: Mapping[str, list[list[Any]]]) -> None:
        for name, items in patches.items():
            col = self._cols[name]
            if type(col) is _PackedColumn or any(type(v) is Packed for _, v in items):
                self._cols[name] = _PackedColumn(_patched(col.value(), items, col.dtype))
                continue
            assert type(col) is _ChunkedColumn
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


def _cast_packed(name: str, packed: Packed, target: np.dtype[Any]) -> Packed:
    """``packed`` with its values in ``target`` (the rest as it is)."""
    if packed.values.dtype == target:
        return packed
    values = _cast_to(name, _joined(packed.values), target)
    return Packed(values, packed.mask, packed.lengths)


def _unragged(name: str, packed: Packed, row: tuple[int, ...]) -> Column:
    """Ragged rows into a 2-D column: each must hold the column's row length."""
    counts = packed.lengths[0]
    if len(packed.lengths) != 1 or len(row) != 1 or (len(counts) and not (counts == row[0]).all()):
        raise ValueError(f"column {name!r} rows have shape {row}, got ragged rows")
    values = _joined(packed.values).reshape(len(counts), row[0])
    return values if packed.mask is None else Packed(values, packed.mask)


def _as_ragged(name: str, values: Any, levels: int) -> Packed:
    """2-D rows (or no rows) into a ragged column of ``levels`` levels."""
    mask = values.mask if type(values) is Packed else None
    rows = _joined(values.values if type(values) is Packed else values)
    if len(rows) == 0:
        empty = [np.empty(0, "<u4") for _ in range(levels)]
        return Packed(rows.reshape(-1), mask, empty)
    if levels != 1 or rows.ndim != 2:
        raise ValueError(f"column {name!r} holds ragged rows (lists of numbers)")
    counts = np.full(len(rows), rows.shape[1], dtype="<u4")
    return Packed(np.ascontiguousarray(rows).reshape(-1), mask, [counts])


def _patched(current: Column, items: list[list[Any]], dtype: np.dtype[Any]) -> Packed:
    """A packed column (or a plain one getting missing values) with a
    checked patch applied: a new, read-only ``Packed``."""
    packed = current if type(current) is Packed else Packed(current)
    if packed.lengths:
        rows = packed.rows()
        for index, value in items:
            new = value.rows()
            if isinstance(index, dict):
                rows[index["start"] : index["stop"] : index["step"]] = new
            else:
                rows[index] = new[0]
        out = ragged_rows(rows, "patched column", depth=len(packed.lengths))
        mask = out.mask if out.mask is not None or packed.mask is None else _ones(len(rows))
        values = out.values.astype(dtype, copy=False)
        patched = Packed(values, mask, out.lengths)
        _packed("patched column", patched)  # checked, made read-only
        return patched
    values = np.array(_joined(packed.values))
    mask = np.array(packed.mask) if packed.mask is not None else np.ones(len(values), MASK_DTYPE)
    for index, value in items:
        at = (
            slice(index["start"], index["stop"], index["step"])
            if isinstance(index, dict)
            else index
        )
        if type(value) is Packed:
            new = _joined(value.values)
            present = value.mask if value.mask is not None else np.ones(len(new), MASK_DTYPE)
            one = not isinstance(index, dict)
            values[at] = new[0] if one else new
            mask[at] = present[0] if one else present
        else:
            values[at] = value
            mask[at] = 1
    values.flags.writeable = False
    mask.flags.writeable = False
    return Packed(values, mask)
