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
- Every frame read from Redis is decoded and checked like a remote
  producer's message (values, columns; docs/protocol.md "Values"). One
  that fails is logged once; its document keeps its last good state,
  marked stale, until a snapshot past that seq or a new epoch appears
  (Redis is written by producers only, so this is damage or an attack).
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

from ..errors import ERROR_TEXT_MAX, ProtocolError
from ..hub.hub import Hub
from ..hub.link import (
    PRODUCER_GONE,
    GoneProducer,
    ProducerLink,
    check_document_name,
    check_publishable,
)
from ..logs import clip, log_limited
from ..wire.codec import Frame, decode
from ..wire.envelope import encode_envelope
from ..wire.files import Upload
from ..wire.messages import Message, Snapshot
from .apps import AppFinder, shared_secret
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

#: bus messages applied in one burst, writes held (BackplaneFollower._burst)
BUS_BATCH = 256


#: what viewers of a document stuck at a refused entry are told
def _message(frame: Frame) -> Message:
    """A frame read from Redis, decoded and checked as a remote producer's
    would be (hub.link): anyone who can write the keys wrote it."""
    try:
        data = frame.data if frame.binary else frame.data.decode()
    except UnicodeDecodeError:
        raise ProtocolError("bad_frame", "a text frame that is not UTF-8") from None
    return decode(data)


def _change(frame: Frame) -> Message:
    """A log entry's message: a change a producer may publish (never a snapshot)."""
    message = _message(frame)
    check_publishable(message)
    return message


def _entry_frame(fields: dict[bytes, bytes]) -> Frame:
    """A stream entry's frame (``f``: payload, ``b``: b"1" when binary)."""
    if b"f" not in fields:
        raise ProtocolError("bad_frame", "a log entry without its frame")
    return Frame(fields[b"f"], fields.get(b"b") == b"1")


def _name(raw: bytes) -> str:
    """A document name from a Redis key or field, checked as a producer's."""
    try:
        name = raw.decode()
    except UnicodeDecodeError:
        raise ProtocolError("bad_message", "a document name that is not UTF-8") from None
    check_document_name(name)
    return name


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

    #: files are not relayed over Redis: the hub refuses uploads at their
    #: start (hub.uploads), before any byte is sent
    takes_uploads = False

    def on_upload(self, doc: str, session: str, message: Upload) -> None:
        """Files are not relayed over Redis: refused, plainly (docs/files.md)."""
        ref = {"type": "upload", "model": message.model, "upload": message.upload}
        text = "file uploads reach Python only through the hub its producer runs in"
        self.hub.reject(doc, session, "invalid_value", text, ref)
        self.hub.input_done(session)

    def on_left(self, doc: str, session: str) -> None:
        """Not relayed: the producer answers every input it reads from Redis."""

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
        #: documents whose data in Redis is unreadable, and why (in /healthz);
        #: each is tried again only once its epoch in Redis changes
        self.broken: dict[str, str] = {}
        self._broken_epochs: dict[str, bytes | None] = {}
        #: the producers' per-session apps, opened here on a page's hello
        self.apps = AppFinder(self)
        hub.open_document = self.apps.open_document

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
                "broken": dict(self.broken),
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
                await pubsub.subscribe(
                    self.keys.bus, self.keys.hub(self.hub_id), self.keys.refused(self.hub_id)
                )
                await self._sync_all()
                self._up()
                self._synced.set()
                attempt = 0
                next_poll = loop.time() + self.config.poll_interval
                while not self._stopping:
                    wait = max(0.0, next_poll - loop.time())
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
                    drained = msg is None or await self._burst(pubsub, msg)
                    # a burst still being read is not a lost tail: polling now
                    # would read from the stream what the bus already holds
                    late = loop.time() - next_poll
                    if late >= 0 and (drained or late >= self.config.poll_interval):
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

    async def _burst(self, pubsub: Any, msg: dict[str, Any]) -> bool:
        """Apply ``msg`` and the bus messages already received after it, up to
        :data:`BUS_BATCH`, with the hub's writes held: each viewer is written
        once per burst, not once per message (Hub.hold_writes). True when
        nothing more was waiting."""
        hub = self.hub
        try:
            for count in range(1, BUS_BATCH + 1):
                if msg.get("type") == "message":
                    hub.hold_writes()  # again: a load or repair released them
                    await self._on_message(msg["channel"], msg["data"])
                if count == BUS_BATCH:
                    return False
                msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0)
                if msg is None:
                    return True
            return False
        finally:
            hub.release_writes()

    async def _on_message(self, channel: bytes, data: bytes) -> None:
        if channel == self.keys.refused(self.hub_id).encode():
            self.apps.refused(data)
            return
        if channel != self.keys.bus.encode():  # our channel: the producer's answers
            answer = split_snap(data)
            try:
                self.link.receive(answer.data if answer.binary else answer.data.decode())
            except UnicodeDecodeError:
                log.warning("dropped an answer on this hub's channel: not UTF-8")
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
                    if self.hub.publish_frame(name, _change(frame), frame) is not None:
                        return
                except ProtocolError as exc:  # the log has it too: reading it decides
                    log.debug("bad frame for %r seq %s on the bus: %s", name, seq, exc)
            await self._repair(name)

    # -- loading and repairing
    async def _sync_all(self) -> None:
        """Every document in Redis, loaded or caught up; ours that vanished, gone."""
        self.hub.config.session_secret = await shared_secret(self.redis, self.keys)
        await self.apps.refresh(self.redis)  # first: its sessions' documents need keys
        for name in sorted(self._names(await self.redis.hkeys(self.keys.docs))):
            await self._load(name)

    def _names(self, raw: list[bytes]) -> set[str]:
        """The document names of the ``docs`` hash; a bad one is reported, skipped."""
        names = set()
        for item in raw:
            try:
                names.add(_name(item))
            except ProtocolError as exc:
                shown = item.decode("utf-8", "backslashreplace")[:ERROR_TEXT_MAX]
                self._broken(shown, None, exc.message)
        return names

    def _broken(self, name: str, epoch: bytes | None, why: str) -> None:
        """``name``'s data in Redis cannot be served: reported in /healthz, logged
        once, and, when this hub served it, marked gone (its viewers keep the
        last state). The other documents are not affected."""
        why = why[:ERROR_TEXT_MAX]
        if self.broken.get(name) != why:
            log.error("document %r in the backplane is unreadable, not served: %s", name, why)
        self.broken[name] = why
        self._broken_epochs[name] = epoch
        doc = self.hub.documents.get(name)
        if doc is not None and doc.gone is None:
            self.link.free([s.id for s in doc.sessions])
            reason = "this document's data on the backplane is unreadable"
            self.hub.mark_gone(name, GoneProducer(self.hub, reason), reason)

    async def _load(self, name: str) -> None:
        """Catch up with ``name`` from Redis, or report it broken (``_broken``).

        Everything read is untrusted (docs/security.md): a bad entry is
        contained to its document, and only a new epoch is tried again.
        """
        epoch: bytes | None = None
        self.hub.release_writes()  # held frames must not wait for Redis
        try:
            epoch = await self.redis.hget(self.keys.meta(name), "epoch")
            if name in self.broken and epoch == self._broken_epochs.get(name):
                return
            check_document_name(name)
            await self._load_checked(name)
        except REDIS_DOWN:
            raise
        except ProtocolError as exc:
            self._broken(name, epoch, f"{exc.code}: {exc.message}")
            return
        except Exception as exc:  # e.g. a key of the wrong type, a field not a number
            self._broken(name, epoch, f"{type(exc).__name__}: {exc}")
            return
        if self.broken.pop(name, None) is not None:
            self._broken_epochs.pop(name, None)
            log.info("document %r in the backplane is readable again", name)

    async def _load_checked(self, name: str) -> None:
        """What we miss if the epoch is ours, else adopt; raises on bad data."""
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
        snapshot = _message(split_snap(snap))
        if not isinstance(snapshot, Snapshot):
            raise ProtocolError("bad_message", f"its snapshot key holds a {snapshot.type}")
        if snapshot.doc != name:
            raise ProtocolError("bad_message", f"its snapshot is of {snapshot.doc[:64]!r}")
        # the log before the snapshot, for replays: browsers get these frames
        # as they are, so each is checked before anything is shown
        replay: list[tuple[int, Frame]] = []
        for entry_id, fields in entries:
            seq = _seq_of(entry_id)
            if seq <= snapshot.seq:
                frame = _entry_frame(fields)
                _change(frame)
                replay.append((seq, frame))
        self.loads += 1
        doc = self.hub.adopt_document(snapshot, self.link, self.apps.is_session(name))
        for seq, frame in replay:
            doc.append_log(seq, frame)
        if not self._apply(name, entries):
            log.warning("document %r: the stream does not continue its snapshot", name)
        if not alive:
            self._gone(name)

    def _apply(self, name: str, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> bool:
        """Apply stream entries past the document's seq; False on a hole."""
        doc = self.hub.documents.get(name)
        if doc is None:
            return False
        self.hub.hold_writes()  # a tail of many entries: each viewer written once
        try:
            for entry_id, fields in entries:
                seq = _seq_of(entry_id)
                if seq <= doc.seq:
                    continue
                if seq != doc.seq + 1:
                    return False
                frame = _entry_frame(fields)  # a bad entry raises: the document is broken
                if self.hub.publish_frame(name, _change(frame), frame) is None:
                    return False
            return True
        finally:
            self.hub.release_writes()

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
        raw_names = replies[0]
        known = self._names(raw_names)
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
            if doc.gone or epoch != doc.epoch.encode():
                await self._load(name)
            elif not seq or not seq.isdigit() or int(seq) > doc.seq:
                await self._repair(name)
        await self.apps.refresh(self.redis)
        await self.apps.presence(self.redis)
        for name in sorted(known - set(names)):  # a reset we never heard of
            await self._load(name)
        shown = {item.decode("utf-8", "backslashreplace")[:ERROR_TEXT_MAX] for item in raw_names}
        for name in [n for n in self.broken if n not in known and n not in shown]:
            del self.broken[name]  # removed from Redis: nothing to report any more
            self._broken_epochs.pop(name, None)

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
