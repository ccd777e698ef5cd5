"""Packed columns: values with a validity mask, and ragged rows.

A column travels as an array (numbers), a list (strings and nulls) or, when
an array alone cannot say what it holds, as a *packed* column
(docs/protocol.md "Packed columns"): an object of parts,

- ``values``: the numbers, an array of a wire dtype;
- ``mask`` (optional): one ``uint8`` per row, 1 where the row has a value
  and 0 where it is missing (pandas' ``NA``, a ``None``): the row's slot in
  ``values`` holds a filler (NaN for floats, 0 else) that means nothing;
- ``lengths`` (optional): ragged rows, lists of numbers of any length (what
  Bokeh's ``multi_line``, ``patches`` and ``multi_polygons`` take). One
  ``uint32`` array per level of nesting: ``lengths[0]`` has an entry per
  row (how many items that row holds), ``lengths[k + 1]`` one per item of
  level ``k``, and the flat ``values`` one per item of the last level.

Why lengths and not offsets: a stream appends each level's array as it
is, and a rollover drops a prefix of each, with no rebasing; a client that
wants offsets takes a running sum once.

Why a separate mask and not NaN: integers and booleans have no NaN, and
pandas tells a missing ``Float64`` value from a NaN one. Only a column
with missing values carries one, so plain numeric columns (the hot path)
never do.

No I/O and no other wsbridge imports but ``chunks``, ``values`` and the
errors: the codec, the messages and the hub's column store build on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ProtocolError
from .chunks import Chunks
from .values import InvalidValue, wire_dtype

__all__ = [
    "LENGTHS_DTYPE",
    "MASK_DTYPE",
    "MAX_LEVELS",
    "Packed",
    "ragged_rows",
]

#: the dtype of a mask: 1 present, 0 missing
MASK_DTYPE = np.dtype("<u1")
#: the dtype of every level of ``lengths``
LENGTHS_DTYPE = np.dtype("<u4")
#: levels of nesting a ragged column may have (``multi_polygons`` needs 3:
#: polygons per row, rings per polygon, points per ring)
MAX_LEVELS = 4


def _bad(what: str, text: str) -> ProtocolError:
    return ProtocolError("bad_message", f"{what} {text}")


class Packed:
    """A column (or some rows of one) as values plus a mask and/or ragged lengths.

    ``values`` is an array or a ``Chunks``; ``mask`` a uint8 array of one
    entry per row, or None; ``lengths`` a tuple of uint32 arrays (empty: not
    ragged). ``len()`` is the number of rows. Built by the producer's
    conversions, by :meth:`from_wire` for what the network sent, and by
    :meth:`join` / :meth:`last` for streams. :meth:`check` says whether the
    parts fit together; nothing here copies an array that need not be.
    """

    __slots__ = ("lengths", "mask", "values")

    def __init__(
        self,
        values: Any,
        mask: np.ndarray[Any, Any] | None = None,
        lengths: Sequence[np.ndarray[Any, Any]] = (),
    ) -> None:
        self.values = values
        self.mask = mask
        self.lengths = tuple(lengths)

    def __len__(self) -> int:
        if self.lengths:
            return len(self.lengths[0])
        return len(self.values)

    def __repr__(self) -> str:
        parts = [f"{len(self)} rows of {self.values.dtype}"]
        if self.mask is not None:
            parts.append(f"{len(self.mask) - int(np.count_nonzero(self.mask))} missing")
        if self.lengths:
            parts.append(f"ragged, {len(self.lengths)} level(s)")
        return f"Packed(<{', '.join(parts)}>)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Packed):
            return NotImplemented
        return (
            _same(self.values, other.values)
            and _same(self.mask, other.mask)
            and len(self.lengths) == len(other.lengths)
            and all(_same(a, b) for a, b in zip(self.lengths, other.lengths, strict=True))
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def dtype(self) -> np.dtype[Any]:
        dtype: np.dtype[Any] = self.values.dtype
        return dtype

    @property
    def nbytes(self) -> int:
        total: int = self.values.nbytes
        if self.mask is not None:
            total += self.mask.nbytes
        return total + sum(level.nbytes for level in self.lengths)

    # -- the wire
    def to_wire(self) -> dict[str, Any]:
        """The object docs/protocol.md describes (the codec makes each array a buffer)."""
        out: dict[str, Any] = {"values": self.values}
        if self.mask is not None:
            out["mask"] = self.mask
        if self.lengths:
            out["lengths"] = list(self.lengths)
        return out

    @classmethod
    def from_wire(cls, obj: dict[str, Any], what: str) -> Packed:
        """A packed column as decoded (arrays in place), checked (:meth:`check`)."""
        values, mask, lengths = obj.get("values"), obj.get("mask"), obj.get("lengths")
        if not isinstance(values, np.ndarray):
            raise _bad(what, "is an object without a 'values' array")
        if mask is not None and not isinstance(mask, np.ndarray):
            raise _bad(what, "has a 'mask' that is not an array")
        if lengths is None:
            lengths = []
        if not isinstance(lengths, list) or not all(isinstance(v, np.ndarray) for v in lengths):
            raise _bad(what, "has 'lengths' that are not a list of arrays")
        packed = cls(values, mask, lengths)
        packed.check(what)
        return packed

    def check(self, what: str) -> None:
        """Raise ``ProtocolError`` (``bad_message``) unless the parts fit
        together: a mask of one 0 or 1 per row, lengths that add up level by
        level to the values; ``InvalidValue`` for values that cannot travel."""
        values = self.values
        if not isinstance(values, (np.ndarray, Chunks)):
            raise _bad(what, "values must be an array")
        if not wire_dtype(values.dtype):
            raise InvalidValue(f"{what}: arrays of {values.dtype} cannot travel")
        if not values.shape:
            raise _bad(what, "values must have rows")
        if len(self.lengths) > MAX_LEVELS:
            raise _bad(what, f"has {len(self.lengths)} levels of lengths, at most {MAX_LEVELS}")
        expected = None
        for level, counts in enumerate(self.lengths):
            if counts.dtype != LENGTHS_DTYPE or counts.ndim != 1:
                raise _bad(what, f"lengths[{level}] must be a 1-D uint32 array")
            if expected is not None and len(counts) != expected:
                raise _bad(what, f"lengths[{level}] has {len(counts)} entries, not {expected}")
            expected = int(counts.sum(dtype=np.uint64))
        if expected is not None:
            if len(values.shape) != 1:
                raise _bad(what, "ragged values must be one-dimensional")
            if values.shape[0] != expected:
                raise _bad(
                    what, f"has {values.shape[0]} values where its lengths add up to {expected}"
                )
        if self.mask is not None:
            mask = self.mask
            if mask.dtype != MASK_DTYPE or mask.ndim != 1:
                raise _bad(what, "mask must be a 1-D uint8 array")
            if len(mask) != len(self):
                raise _bad(what, f"mask has {len(mask)} entries for {len(self)} rows")
            if len(mask) and int(mask.max()) > 1:
                raise _bad(what, "mask entries must be 0 (missing) or 1 (present)")

    # -- rows
    @classmethod
    def join(cls, pieces: Sequence[Any]) -> Packed:
        """Consecutive pieces of one column (packed, or plain arrays: rows
        without a missing value) as one, without copying the values of a run
        the frame may reference (``Chunks.of``)."""
        packs = [p if type(p) is Packed else Packed(p) for p in pieces if len(p)]
        if not packs:  # no rows at all: any piece stands for them
            head = pieces[0]
            return head if type(head) is Packed else Packed(head)
        mask = None
        if any(p.mask is not None for p in packs):
            mask = _concat(
                [p.mask if p.mask is not None else np.ones(len(p), MASK_DTYPE) for p in packs]
            )
        levels = len(packs[0].lengths)
        lengths = [_concat([p.lengths[k] for p in packs]) for k in range(levels)]
        return cls(Chunks.of([p.values for p in packs]), mask, lengths)

    def last(self, rows: int) -> Packed:
        """The last ``rows`` rows (a rollover cut)."""
        drop = len(self) - rows
        if drop <= 0:
            return self
        mask = self.mask[drop:] if self.mask is not None else None
        lengths = []
        for counts in self.lengths:
            lengths.append(counts[drop:])
            drop = int(counts[:drop].sum(dtype=np.uint64))
        values = self.values
        keep = len(values) - drop
        values = values.last(keep) if type(values) is Chunks else values[drop:]
        return Packed(values, mask, lengths)

    def missing(self) -> np.ndarray[Any, Any]:
        """A bool per row: True where the value is missing."""
        if self.mask is None:
            return np.zeros(len(self), dtype=bool)
        missing: np.ndarray[Any, Any] = self.mask == 0
        return missing

    def rows(self) -> list[Any]:
        """One Python value per row: a ragged row as a list (of lists...) of
        arrays, a missing row as None, else the row's value."""
        values = self.values.join() if type(self.values) is Chunks else self.values
        items: Any = values
        for counts in reversed(self.lengths):
            ends = np.cumsum(counts, dtype=np.int64).tolist()
            starts = [0, *ends[:-1]] if ends else []
            items = [items[a:b] for a, b in zip(starts, ends, strict=True)]
        out: list[Any] = items if self.lengths else values.tolist()
        if self.mask is not None:
            out = [None if m == 0 else v for v, m in zip(out, self.mask.tolist(), strict=True)]
        return out


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    a = a.join() if type(a) is Chunks else a
    b = b.join() if type(b) is Chunks else b
    return bool(
        a.dtype == b.dtype
        and a.shape == b.shape
        and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    )


def _concat(arrays: list[np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
    out = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
    out.flags.writeable = False
    return out


def ragged_rows(rows: Sequence[Any], what: str, depth: int | None = None) -> Packed:
    """Rows of lists (of lists...) of numbers as a ragged packed column.

    ``rows`` is what a Bokeh ColumnDataSource takes for ``multi_line`` or
    ``patches`` (a list of lists or of 1-D arrays) or ``multi_polygons``
    (three levels). Every row has the same depth; ``None`` is a missing row
    (a mask entry, no items). The numbers become one array (float64 when
    any is a float, as numpy infers). ``depth`` (levels of lists) is found
    from the rows when not given. Raises ``ValueError`` saying which row
    does not fit.
    """
    if depth is None:
        depth = _depth(rows, what)
    counts: list[list[int]] = [[] for _ in range(depth)]
    leaves: list[Any] = []
    mask = None
    level: list[Any] = list(rows)
    for k in range(depth):
        nxt: list[Any] = []
        for i, item in enumerate(level):
            where = f"row {i}" if k == 0 else "an item of a row"
            if item is None and k == 0:
                if mask is None:
                    mask = np.ones(len(rows), MASK_DTYPE)
                mask[i] = 0
                counts[k].append(0)
                continue
            if k == depth - 1:
                arr = np.asarray(item)
                if arr.ndim != 1 or arr.dtype.kind not in "biuf":
                    raise ValueError(f"{what}: {where} is not a list of numbers")
                counts[k].append(len(arr))
                leaves.append(arr)
            else:
                if isinstance(item, (str, bytes)) or not hasattr(item, "__len__"):
                    raise ValueError(f"{what}: {where} is not nested {depth} deep like the others")
                counts[k].append(len(item))
                nxt.extend(item)
        level = nxt
    values = np.concatenate(leaves) if leaves else np.empty(0)
    if values.dtype.kind == "b":
        values = values.astype(np.uint8)
    lengths = [np.asarray(c, dtype=LENGTHS_DTYPE) for c in counts]
    if mask is not None:
        mask.flags.writeable = False
    return Packed(values, mask, lengths)


def _depth(rows: Sequence[Any], what: str) -> int:
    """Levels of lists above the numbers, from the first row that reaches
    a number (rows of empty lists only tell a lower bound)."""
    low = 1
    for row in rows:
        if row is None:
            continue
        depth, item = 0, row
        while isinstance(item, (list, tuple)) and item:
            depth += 1
            item = item[0]
        if isinstance(item, np.ndarray):
            depth += item.ndim
        elif isinstance(item, (list, tuple)):  # an empty list: its depth at least
            low = max(low, depth + 1)
            continue
        if depth == 0:
            raise ValueError(f"{what}: a ragged column's rows are lists")
        if depth > MAX_LEVELS:
            raise ValueError(f"{what}: rows nested {depth} deep, at most {MAX_LEVELS}")
        return depth
    return low
