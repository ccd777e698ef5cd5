"""Immutable arrays, and runs of them that stand for their concatenation.

Why this module: a ``DataSource`` makes one read-only copy of every array
streamed (``sources._frozen_copy``), backed by a ``bytes`` object that
nobody can change. Everything downstream can then share that one copy
instead of making its own: the hub's replica, its replay log and the frames
written to every client. When the hub merges a batch of streams
(``Hub.publish_many``) or a lagging client's run (``coalesce``), joining the
columns would make a second copy of every streamed byte, and on a fresh
process every such copy lands in memory never touched before: measured on
the stream benchmark (10,000 float64 per call), the join was ~40 % of the
hub thread's time, nearly all of it page faults rather than copying.
``Chunks`` keeps the run as it is; the encoder writes its arrays back to
back as one buffer of the frame (docs/protocol.md "Binary frames": a
buffer is only an offset and a length, so the bytes on the wire are the
same as for the joined array), and the replica appends them as they are.

No I/O and no other wsbridge imports: ``messages``, ``protocol``,
``sources`` and ``coalesce`` all build on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "MIN_PIECE_BYTES",
    "MIN_REFERENCED_BYTES",
    "Chunks",
    "immutable",
    "join_arrays",
]

#: buffers smaller than this are joined into a frame even when immutable
#: (``codec.encode``; docs/performance.md#frames-that-reference-immutable-arrays):
#: referencing the 40 KB columns of a stream of 10,000 f64, one frame
#: each, made it slower, while the 400 KB columns of 100,000 f64 gained
MIN_REFERENCED_BYTES = 256 * 1024
#: a run keeps its arrays apart only when each is at least this large and
#: all together reach ``MIN_REFERENCED_BYTES``, i.e. when the frame will
#: reference them. Else they are joined here, once, and the replica, the
#: log and the frame share that copy: small arrays kept apart would be
#: joined into the frame anyway, and the replica would hold them besides
#: (docs/performance.md#small-arrays-joined-once). 16 KB
#: keeps a batch (``bridge.STREAM_BATCH_MAX_BYTES``, 1 MiB) within the
#: frame's 64 referenced buffers.
MIN_PIECE_BYTES = 16 * 1024


def immutable(arr: np.ndarray[Any, Any]) -> bool:
    """Can nobody change ``arr``'s bytes? True only for read-only views whose
    memory is a ``bytes`` object (``sources._frozen_copy``); a read-only view
    of a writeable array may still change, so it is copied when kept."""
    if arr.flags.writeable:
        return False
    base: Any = arr.base
    while isinstance(base, np.ndarray):
        base = base.base
    return type(base) is bytes


def join_arrays(arrays: Sequence[np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
    """The arrays end to end, copied once into a ``bytes`` object.

    Why not ``np.concatenate``: its result is writeable, so ``encode`` would
    copy it again into the frame; a read-only view of bytes is one nobody
    can change, which a frame may reference.
    """
    head = arrays[0]
    tail = head.shape[1:]
    if any(
        a.dtype != head.dtype or a.shape[1:] != tail or not a.flags.c_contiguous for a in arrays
    ):
        return np.concatenate(arrays)
    joined = b"".join([a.data.cast("B") for a in arrays if a.size])
    return np.frombuffer(joined, dtype=head.dtype).reshape(-1, *tail)


class Chunks:
    """Immutable arrays of one dtype and row shape, standing for their
    concatenation without being joined.

    Built by :meth:`of`, which joins instead whenever the arrays could not
    stay apart (a writeable array, mixed dtypes or row shapes) or a frame
    would not reference them (small ones: ``MIN_PIECE_BYTES``), so a
    ``Chunks`` holds at least two C-contiguous arrays nobody can change.
    ``len`` is the number of rows, ``nbytes`` the total size, ``dtype`` and
    ``shape`` those of the joined array.
    """

    __slots__ = ("arrays", "dtype", "nbytes", "shape")

    def __init__(self, arrays: list[np.ndarray[Any, Any]]) -> None:
        self.arrays = arrays
        head = arrays[0]
        self.dtype = head.dtype
        self.shape: tuple[int, ...] = (sum(len(a) for a in arrays), *head.shape[1:])
        self.nbytes = sum(a.nbytes for a in arrays)

    @classmethod
    def of(cls, columns: Sequence[Any]) -> Chunks | np.ndarray[Any, Any]:
        """Consecutive pieces of one numeric column (arrays or ``Chunks``) as
        one: kept apart when they may be, else joined once."""
        arrays: list[np.ndarray[Any, Any]] = []
        for col in columns:
            if type(col) is Chunks:
                arrays.extend(col.arrays)
            elif len(col):
                arrays.append(col)
        if not arrays:  # all empty (a Chunks never is): any one stands for them
            empty: np.ndarray[Any, Any] = columns[0]
            return empty
        if len(arrays) == 1:
            return arrays[0]
        head = arrays[0]
        tail = head.shape[1:]
        total = 0
        for a in arrays:
            if (
                a.nbytes < MIN_PIECE_BYTES
                or a.dtype != head.dtype
                or a.shape[1:] != tail
                or not a.flags.c_contiguous
                or not immutable(a)
            ):
                return join_arrays(arrays)
            total += a.nbytes
        return cls(arrays) if total >= MIN_REFERENCED_BYTES else join_arrays(arrays)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"Chunks(<{len(self.arrays)} arrays, {len(self)} rows of {self.dtype}>)"

    def last(self, rows: int) -> Chunks | np.ndarray[Any, Any]:
        """The last ``rows`` rows (a rollover cut): whole arrays dropped from
        the front, the first one kept sliced (a view, still immutable)."""
        drop = len(self) - rows
        if drop <= 0:
            return self
        if rows <= 0:
            return self.arrays[0][:0]
        arrays = list(self.arrays)
        while drop and len(arrays[0]) <= drop:
            drop -= len(arrays.pop(0))
        if drop:
            arrays[0] = arrays[0][drop:]
        return arrays[0] if len(arrays) == 1 else Chunks(arrays)

    def join(self) -> np.ndarray[Any, Any]:
        """The rows as one read-only array (one copy)."""
        return join_arrays(self.arrays)
