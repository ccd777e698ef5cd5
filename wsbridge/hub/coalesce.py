"""Coalescing: what the hub does with the queue of a client that is behind.

A session is *behind* when it has more than ``queue_high_water`` bytes
queued and its current write has been pending for ``coalesce_after``
seconds (``Session.push`` in hub.py decides; docs/reliability.md). Then a
patch or a stream that continues the run at the tail of its queue is merged
into that run instead of being queued on its own:

- patches of one model keep the latest value per property (one merged
  patch, so the run stays one small message);
- streams of one source with the same rollover and columns are kept as a
  list and merged once, when written, then cut to the rollover; streams the
  rollover has already pushed out are dropped from the front as they come.
  Merged columns stay the producer's frozen arrays (``wire.chunks``)
  when they can: the frame references them instead of a joined copy.

Why lazily: joining (``np.concatenate``) and re-encoding on every push cost
a copy of the whole kept window per push per lagging session, more than half
of the hub's time while streaming, and a stalled session's writer never
takes its run at all. Adding to a run is O(1); the merged message is built
and encoded once, by the writer (``Session.next_frame``). The merged
message carries ``first``, the seq of the first message it stands for
(docs/protocol.md "Coalesced messages"), so a client knows what it skipped.

Pure functions and one small class; no I/O, no clock (the hub decides when).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from ..wire.chunks import Chunks
from ..wire.codec import Frame
from ..wire.messages import Message, Patch, Stream
from ..wire.packed import Packed

#: a session's queue: (frame, message, size); ``frame`` is None for a run,
#: encoded only when written (``Session.next_frame``)
#: the messages a run can merge (:func:`mergeable`)
Mergeable = Patch | Stream

Outbox = deque[tuple[Frame | None, "Message | Run | None", int]]

__all__ = [
    "Outbox",
    "Run",
    "coalesce",
    "merge_into_tail",
    "mergeable",
    "message_size",
]


def mergeable(a: Message | None, b: Message | None) -> bool:
    """Can ``b`` be folded into a coalesced message that starts with ``a``?"""
    if isinstance(a, Patch) and isinstance(b, Patch):
        return a.model == b.model and not a.reply and not b.reply
    if isinstance(a, Stream) and isinstance(b, Stream):
        return a.source == b.source and a.rollover == b.rollover and a.data.keys() == b.data.keys()
    return False


class Run:
    """Consecutive mergeable messages queued for a session that is behind.

    Adding is O(1) (a list append); stream messages whose rows the rollover
    has already pushed out are dropped from the front, so a stalled client
    holds at most about one rollover window per run. The run becomes one
    message, joined once, when it is written (:func:`coalesce`).
    """

    __slots__ = ("first", "messages", "rows", "size")

    def __init__(self, message: Mergeable) -> None:
        self.first = message.first_seq()
        self.messages: list[Mergeable] = [message]
        self.rows = _rows(message)
        self.size = message_size(message)

    @property
    def last(self) -> Mergeable:
        return self.messages[-1]

    def add(self, message: Mergeable) -> None:
        if isinstance(message, Patch):  # one merged patch: cheap, and bounded
            self.messages = [coalesce([self.last, message], first=self.first)]
            self.size = message_size(self.messages[0])
            return
        self.messages.append(message)
        self.rows += _rows(message)
        self.size += message_size(message)
        keep = message.rollover  # a Stream: patches returned above
        while (
            keep is not None
            and len(self.messages) > 1
            and self.rows - _rows(self.messages[0]) >= keep
        ):
            dropped = self.messages.pop(0)  # wholly cut by the rollover
            self.rows -= _rows(dropped)
            self.size -= message_size(dropped)

    def message(self) -> Mergeable:
        return coalesce(self.messages, first=self.first)


def _rows(message: Message) -> int:
    data = getattr(message, "data", None)
    return len(next(iter(data.values()))) if data else 0


def message_size(message: Message) -> int:
    """Bytes a queued, not yet encoded message stands for (its arrays, mostly)."""
    data = getattr(message, "data", None) or getattr(message, "state", {})
    total = 256
    for value in data.values():
        if isinstance(value, (np.ndarray, Chunks, Packed)):
            total += value.nbytes
        elif isinstance(value, list):
            total += 16 * len(value)  # a string column: about a short string each
        elif isinstance(value, dict):
            total += _nested_size(value, 8)  # a property holding arrays (an Image's frame)
        else:
            total += 64
    return total


def _nested_size(value: Any, depth: int) -> int:
    """About the bytes of a property value: its arrays in full, at any depth
    (a coalesced run must count what it holds, or a lagging session's queue
    outgrows ``queue_max_bytes`` unseen)."""
    if isinstance(value, (np.ndarray, Chunks)):
        return int(value.nbytes)
    if depth > 0 and isinstance(value, dict):
        return 64 + sum(_nested_size(v, depth - 1) for v in value.values())
    if depth > 0 and isinstance(value, (list, tuple)):
        return 16 * len(value) + sum(
            _nested_size(v, depth - 1) for v in value if isinstance(v, (dict, list, np.ndarray))
        )
    return 64


def coalesce(run: Sequence[Mergeable], first: int | None = None) -> Mergeable:
    """One message with the effect of ``run`` (consecutive, all mergeable).

    Patches of one model keep the latest value per property; streams of one
    source with the same rollover are merged (``Chunks.of``: the frozen
    arrays as they are, else one concatenation) and cut to the rollover: a
    client applies a message whole, so rows the rollover drops within it
    are rows no client could ever see. The result carries ``first``
    (docs/protocol.md "Coalesced messages").
    """
    head, last = run[0], run[-1]
    if len(run) == 1 and first is None:
        return head
    if first is None:
        first = head.first_seq()
    if isinstance(last, Patch):
        patches = cast("Sequence[Patch]", run)  # mergeable: all of one kind
        state: dict[str, Any] = {}
        for p in patches:
            state.update(p.state)
        origins = {str(p.origin) for p in patches}
        return Patch(
            seq=last.seq,
            model=last.model,
            state=state,
            origin=last.origin if len(origins) == 1 else None,
            first=first,
        )
    streams = cast("Sequence[Stream]", run)
    keep = last.rollover
    data: dict[str, Any] = {}
    for name in last.data:
        cols = [s.data[name] for s in streams]
        if any(isinstance(c, list) for c in cols):
            joined: Any = [v for c in cols for v in c]
        elif any(type(c) is Packed for c in cols):
            joined = Packed.join(cols)  # missing values or ragged rows (wire.packed)
        else:
            joined = Chunks.of(cols)  # the frozen arrays as they are (wire.chunks)
        if keep is not None and len(joined) > keep:
            cut = type(joined) is Chunks or type(joined) is Packed
            joined = joined.last(keep) if cut else joined[len(joined) - keep :]
        data[name] = joined
    return Stream(seq=last.seq, source=last.source, data=data, rollover=keep, first=first)


def merge_into_tail(outbox: Outbox, message: Message) -> int | None:
    """Fold ``message`` into the run at the tail of ``outbox`` when it
    continues it; returns by how many bytes the queue grew, or None (not
    mergeable: the caller queues it on its own)."""
    _, tail, tail_size = outbox[-1]
    last = tail.last if isinstance(tail, Run) else tail
    if not isinstance(message, (Patch, Stream)) or not mergeable(last, message):
        return None
    run = tail if isinstance(tail, Run) else Run(cast(Mergeable, tail))
    run.add(message)
    outbox[-1] = (None, run, run.size)
    return run.size - tail_size
