"""A document as the hub holds it: its replica, log, sessions and producer.

:class:`Producer` is what the hub calls with a browser's input: the embedded
runtime, a remote producer's link, or the Redis follower's link.
"""

from __future__ import annotations

from collections import deque

from ..wire.codec import Frame, encode
from .config import HubConfig, new_epoch
from .port import Producer
from .session import Session
from .state import DocumentState

__all__ = [
    "Document",
    "Producer",
]


class Document:
    """One document: its replica state, bounded log and joined sessions."""

    def __init__(self, name: str, title: str, producer: Producer, config: HubConfig):
        self.name = name
        self.state = DocumentState(name, new_epoch(), title)
        self.producer = producer
        self.config = config
        self.log: deque[tuple[int, Frame]] = deque()
        self.log_bytes = 0
        self.sessions: set[Session] = set()
        self._snapshot: tuple[int, Frame] | None = None
        #: a per-browser-session document (``Bridge.app``): removed by
        #: :meth:`Hub.sweep` once nobody has been connected for a grace period
        self.ephemeral = False
        self.empty_since: float | None = config.clock()
        self.joined = False  # anyone ever said hello (the page may still be loading)
        #: why the producer is gone (hub.link); None while it is live
        self.gone: str | None = None
        #: the frame of the last message published (scaleout.publisher copies it)
        self.last_frame: Frame | None = None

    @property
    def epoch(self) -> str:
        return self.state.epoch

    @property
    def seq(self) -> int:
        return self.state.seq

    def snapshot_frame(self) -> Frame:
        """The encoded snapshot at the current seq (built once per seq)."""
        if self._snapshot is None or self._snapshot[0] != self.seq:
            self._snapshot = (self.seq, encode(self.state.snapshot()))
        return self._snapshot[1]

    def append_log(self, seq: int, frame: Frame) -> None:
        """Log ``frame`` under ``seq``: the first seq it stands for (a merged
        message, ``Hub.publish_many``, stands for ``first..seq``; no client
        ever stops inside that range, so ``replay_from`` stays exact)."""
        self.log.append((seq, frame))
        self.log_bytes += frame.size
        cfg = self.config
        while self.log and (
            len(self.log) > cfg.log_max_messages or self.log_bytes > cfg.log_max_bytes
        ):
            _, old = self.log.popleft()
            self.log_bytes -= old.size

    def replay_from(self, seq: int) -> list[Frame] | None:
        """Every logged frame after ``seq``, or None when any one is gone."""
        if seq == self.seq:
            return []
        if seq > self.seq or not self.log or self.log[0][0] > seq + 1:
            return None
        return [frame for s, frame in self.log if s > seq]
