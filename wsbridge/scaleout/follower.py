"""A hub that serves the documents of the Redis backplane (``wsbridge hub --redis``).

It owns no document. It mirrors every document of the backplane into its
own :class:`~wsbridge.hub.Hub`, with the producer's epoch and seq, and the
hub does the rest as usual: fan-out, per-client queues, coalescing, exact
replay. So a browser can resume on any hub: the seqs are the same
everywhere (docs/deploy.md).

- Start, and after every reconnection: subscribe to the bus, then load
  each document (snapshot, then the stream after it; the stream before it
  fills the replay log).
- Each bus message carries its seq. The next one is applied (its frame
  inline, or read from the stream when large); anything else means pub/sub
  lost something (it is at-most-once), and the gap is read from the stream.
  A poll compares seqs with Redis every ``poll_interval`` for a lost tail.
- A producer whose ``alive`` key lapsed is gone: its documents keep their
  last state, marked stale, until it publishes again (a new epoch).
- Browser input goes to the document's inbox stream, the session named
  ``<hub id>/c<n>`` (unique across hubs: it is also the browser's session
  id, which echoes name); the producer answers on this hub's channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from typing import Any

from ..errors import ProtocolError
from ..hub.hub import Hub
from ..hub.link import PRODUCER_GONE, GoneProducer, ProducerLink
from ..logs import clip, log_limited
from ..wire.codec import Frame, decode
from ..wire.envelope import encode_envelope
from ..wire.messages import Message, Snapshot
from .keys import (
    REDIS_DOWN,
    BackplaneConfig,
    connect,
    parse_bus,
    redact_url,
    snap_value,
    split_snap,
)
from .publisher import RedisLink

__all__ = [
    "BackplaneFollower",
    "BackplaneLink",
]

log = logging.getLogger("wsbridge.follower")

#: browser input entries kept per document inbox (``XADD MAXLEN ~``)
INBOX_MAXLEN = 10_000


def _message(frame: Frame) -> Message:
    return decode(frame.data if frame.binary else frame.data.decode())


def _entry_frame(fields: dict[bytes, bytes]) -> Frame:
    """A stream entry's frame (``f``: payload, ``b``: b"1" when binary)."""
    return Frame(fields[b"f"], fields.get(b"b") == b"1")


def _seq_of(entry_id: bytes) -> int:
    return int(entry_id.split(b"-", 1)[0])


class BackplaneLink(ProducerLink):
    """The producer of every followed document, as the hub sees it.

    Input goes to Redis instead of a WebSocket; the producer's answers
    (``reject``, ``reply_state``, ``done``) come back through
    :meth:`ProducerLink.receive`, with the same checks as a remote
    producer's.
    """

    def __init__(self, follower: BackplaneFollower) -> None:
        super().__init__(follower.hub, self._refused, name="backplane")
        self.follower = follower

    def _refused(self, frame: Frame) -> None:
        pass  # a bad answer is logged by receive(); nobody to tell over pub/sub

    def _input(self, doc: str, session: str, message: Message) -> None:
        document = self.hub.documents.get(doc)
        if document is None:
            self.hub.input_done(session)
            return
        self.in_flight[session] += 1
        self.follower.send_input(doc, document.epoch, session, message)

    def free(self, sessions: list[str]) -> None:
        """Inputs of these sessions will never be answered: free their slots."""
        for sid in sessions:
            for _ in range(self.in_flight.pop(sid, 0)):
                self.hub.input_done(sid)


class BackplaneFollower(RedisLink):
    """Mirrors the backplane's documents into ``hub``; runs on the hub's loop."""

    def __init__(self, hub: Hub, config: BackplaneConfig, hub_id: str | None = None) -> None:
        super().__init__(config)
        self.hub = hub
        self.hub_id = hub_id or secrets.token_hex(4)
        self.link = BackplaneLink(self)
        hub.session_prefix = f"{self.hub_id}/"
        self.redis: Any = None
        #: counters, for /healthz, tests and benchmarks
        self.loads = 0
        self.repairs = 0
        self.reconnects = 0
        self._inputs: deque[tuple[str, bytes]] = deque()
        self._synced = asyncio.Event()

    def health(self) -> dict[str, Any]:
        return {
            "backplane": {
                "status": "ok" if self.healthy else "down",
                "url": redact_url(self.config.url),
                "hub_id": self.hub_id,
                "documents": len(self._followed()),
                "loads": self.loads,
                "repairs": self.repairs,
                "reconnects": self.reconnects,
                "last_error": self.last_error,
            }
        }

    async def start(self, wait: float = 5.0) -> None:
        """Start following; returns once the documents are loaded, or after ``wait``
        seconds when Redis does not answer (it is retried, and /healthz says so)."""
        self.redis = connect(self.config.url)
        self._spawn(self._run(), self._input_loop())
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._synced.wait(), wait)

    async def close(self) -> None:
        await self._stop_tasks()
        if self.redis is not None:
            await self.redis.aclose()

    def _followed(self) -> list[str]:
        return [n for n, d in self.hub.documents.items() if d.producer is self.link or d.gone]

    # -- the subscription
    async def _run(self) -> None:
        attempt = 0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.keys.bus, self.keys.hub(self.hub_id))
                await self._sync_all()
                self._up()
                self._synced.set()
                attempt = 0
                next_poll = loop.time() + self.config.poll_interval
                while not self._stopping:
                    wait = max(0.0, next_poll - loop.time())
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
                    if msg is not None and msg.get("type") == "message":
                        await self._on_message(msg["channel"], msg["data"])
                    if loop.time() >= next_poll:
                        await self._poll()
                        next_poll = loop.time() + self.config.poll_interval
            except REDIS_DOWN as exc:
                self._down(exc)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not end the subscription for good
                log.exception("the backplane follower failed; starting over")
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass
            if self._stopping:
                return
            self.reconnects += 1
            await self._backoff(attempt)
            attempt += 1

    async def _on_message(self, channel: bytes, data: bytes) -> None:
        if channel.decode() != self.keys.bus:  # our channel: the producer's answers
            answer = split_snap(data)
            self.link.receive(answer.data if answer.binary else answer.data.decode())
            return
        try:
            header, frame = parse_bus(data)
            kind, name, epoch = header["t"], str(header["doc"]), header.get("epoch")
        except (ValueError, KeyError, TypeError) as exc:
            log_limited(
                log, logging.WARNING, "bad bus message", "dropped a bad bus message: %s", clip(exc)
            )
            return
        doc = self.hub.documents.get(name)
        if kind == "reset":
            await self._load(name)
        elif kind == "remove":
            if doc is not None and doc.epoch == epoch:
                self.hub.remove_document(name)
        elif kind == "msg":
            if doc is None or doc.epoch != epoch or doc.gone:
                await self._load(name)
                return
            seq = header.get("seq")
            if not isinstance(seq, int) or seq <= doc.seq:
                return  # already have it (a repair got there first)
            if seq == doc.seq + 1 and frame is not None:
                try:
                    if self.hub.publish_frame(name, _message(frame), frame) is not None:
                        return
                except ProtocolError as exc:
                    log_limited(
                        log,
                        logging.WARNING,
                        "bad bus frame",
                        "bad frame for %r seq %s on the bus: %s",
                        clip(name, 64),
                        seq,
                        clip(exc),
                    )
            await self._repair(name)

    # -- loading and repairing
    async def _sync_all(self) -> None:
        """Every document in Redis, loaded or caught up; ours that vanished, gone."""
        names = {n.decode() for n in await self.redis.hkeys(self.keys.docs)}
        for name in sorted(names):
            await self._load(name)

    async def _load(self, name: str) -> None:
        """Catch up with ``name`` from Redis: what we miss if the epoch is ours, else adopt."""
        k = self.keys
        doc = self.hub.documents.get(name)
        if doc is not None and not doc.gone:  # read only the tail we lack (one transaction)
            pipe = self.redis.pipeline(transaction=True)
            pipe.hget(k.meta(name), "epoch")
            pipe.xrange(k.log(name), min=f"{doc.seq + 1}-0")
            epoch, tail = await pipe.execute()
            if epoch is not None and epoch.decode() == doc.epoch and self._apply(name, tail):
                return
        pipe = self.redis.pipeline(transaction=True)
        pipe.hmget(k.meta(name), "epoch", "seq")
        pipe.get(k.snap(name))
        pipe.xrange(k.log(name))
        pipe.exists(k.alive(name))
        (epoch, _), snap, entries, alive = await pipe.execute()
        if epoch is None or snap is None:
            return  # not (or no longer) in Redis: keep what we show
        try:
            snapshot = _message(split_snap(snap))
        except ProtocolError as exc:
            log.error("the snapshot of %r in Redis is unreadable: %s", name, exc)
            return
        if not isinstance(snapshot, Snapshot):
            log.error("the snapshot key of %r holds a %s", name, snapshot.type)
            return
        self.loads += 1
        doc = self.hub.adopt_document(snapshot, self.link)
        for entry_id, fields in entries:  # the log before the snapshot: for replays
            seq = _seq_of(entry_id)
            if seq <= snapshot.seq:
                doc.append_log(seq, _entry_frame(fields))
        if not self._apply(name, entries):
            log.warning("document %r: the stream does not continue its snapshot", name)
        if not alive:
            self._gone(name)

    def _apply(self, name: str, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> bool:
        """Apply stream entries past the document's seq; False on a hole."""
        doc = self.hub.documents.get(name)
        if doc is None:
            return False
        for entry_id, fields in entries:
            seq = _seq_of(entry_id)
            if seq <= doc.seq:
                continue
            if seq != doc.seq + 1:
                return False
            frame = _entry_frame(fields)
            try:
                if self.hub.publish_frame(name, _message(frame), frame) is None:
                    return False
            except ProtocolError:
                return False
        return True

    async def _repair(self, name: str) -> None:
        """A gap: read it from the stream (``_load`` reloads when the stream lost it)."""
        self.repairs += 1
        await self._load(name)

    async def _poll(self) -> None:
        """Seqs, epochs and heartbeats against Redis: what pub/sub may have lost."""
        k = self.keys
        names = self._followed()
        pipe = self.redis.pipeline(transaction=False)
        pipe.hkeys(k.docs)
        for name in names:
            pipe.hmget(k.meta(name), "epoch", "seq")
            pipe.exists(k.alive(name))
        replies = await pipe.execute()
        known = {n.decode() for n in replies[0]}
        for i, name in enumerate(names):
            (epoch, seq), alive = replies[1 + 2 * i], replies[2 + 2 * i]
            doc = self.hub.documents.get(name)
            if doc is None:
                continue
            if not alive:
                if not doc.gone:
                    self._gone(name)
                continue
            if epoch is None:
                continue
            if doc.gone or epoch.decode() != doc.epoch:
                await self._load(name)
            elif int(seq) > doc.seq:
                await self._repair(name)
        for name in sorted(known - set(names)):  # a reset we never heard of
            await self._load(name)

    def _gone(self, name: str) -> None:
        doc = self.hub.documents.get(name)
        if doc is None:
            return
        log.info("the producer of %r stopped its heartbeat; marked gone", name)
        self.link.free([s.id for s in doc.sessions])
        self.hub.mark_gone(name, GoneProducer(self.hub), PRODUCER_GONE)

    # -- browser input, to the producer
    def send_input(self, doc: str, epoch: str, session: str, message: Message) -> None:
        frame = encode_envelope("input", doc=doc, session=session, epoch=epoch, message=message)
        self._inputs.append((doc, snap_value(frame)))
        self._wake.set()

    async def _input_loop(self) -> None:
        while not self._stopping:
            if not self._inputs:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._inputs.popleft() for _ in range(min(len(self._inputs), 256))]
            pipe = self.redis.pipeline(transaction=False)
            for doc, value in batch:
                kind, data = value[:1], value[1:]
                pipe.xadd(
                    self.keys.inbox(doc),
                    {b"f": kind + data},
                    maxlen=INBOX_MAXLEN,
                    approximate=True,
                )
            try:
                await pipe.execute()
            except REDIS_DOWN as exc:
                self._down(exc)
                self._inputs.extendleft(reversed(batch))
                await asyncio.sleep(self.config.backoff[0])
