"""The Redis backplane: the shared log, and a producer's side of it.

One process cannot serve thousands of viewers on several machines; many hub
processes can, if they share each document's ordered log. That log lives in
Redis, an engine built for it, laid out per document (docs/deploy.md):

- ``<p>doc:<name>:meta``, a hash: ``epoch``, ``seq`` (the last message's),
  ``snap_seq`` and ``title``;
- ``<p>doc:<name>:log``, a Redis Stream of the document's frames, entry id
  ``<seq>-0``, trimmed with ``MAXLEN ~``: exact replay for any hub;
- ``<p>doc:<name>:snap``, the encoded snapshot at ``snap_seq``, rewritten at
  a bounded rate and always on (re)creation;
- ``<p>doc:<name>:in``, a stream of browser input for the producer;
- ``<p>doc:<name>:alive``, a key the producer keeps alive (its heartbeat);
- ``<p>docs``, a hash of every document (name -> epoch), and ``<p>bus``, a
  pub/sub channel announcing each change; ``<p>hub:<id>`` carries the
  producer's answers to one hub's sessions.

Appending checks the epoch and the seq and does the ``XADD`` and the
``PUBLISH`` in one Lua script, so the log can never hold two messages with
one seq, or a message of a dead epoch. Pub/sub is at-most-once: hubs number
what they get and repair gaps from the stream (scaleout.follower).

:class:`RedisPublisher` is the producer's half: a tap on the embedded hub of
a ``Bridge(backplane=...)``. The embedded hub still sequences and encodes
each message once; the publisher copies those very bytes to Redis, with the
embedded document's epoch and seq, so a browser can move between the
producer's own pages and any hub's.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions

from ..errors import ProtocolError
from ..hub.document import Document
from ..hub.hub import Hub
from ..hub.inputs import event_refusal
from ..hub.port import Producer
from ..logs import clip, log_limited
from ..wire.codec import Frame
from ..wire.envelope import decode_envelope, encode_envelope
from ..wire.files import Download
from ..wire.messages import Add, Custom, Message, Notify
from ..wire.requests import Event, Set
from .apps import AppPublisher, shared_secret
from .keys import (
    CREATE_LUA,
    PUBLISH_LUA,
    REDIS_DOWN,
    REMOVE_LUA,
    SNAPSHOT_LUA,
    BackplaneConfig,
    Keys,
    bus_payload,
    connect,
    is_remote_session,
    redact_url,
    snap_value,
    split_snap,
)

__all__ = [
    "PublishingHub",
    "RedisLink",
    "RedisPublisher",
]

log = logging.getLogger("wsbridge.backplane")

# -- values in Redis


class _Op:
    """One queued write to Redis (ordered; executed in pipelined batches)."""

    __slots__ = ("args", "epoch", "kind", "name", "seq", "size")

    def __init__(self, kind: str, name: str, epoch: str, seq: int, args: list[Any]) -> None:
        self.kind, self.name, self.epoch, self.seq, self.args = kind, name, epoch, seq, args
        self.size = sum(len(a) for a in args if isinstance(a, bytes))


class RedisLink:
    """What both ends of the backplane share: health, backoff, their tasks.

    Health is what ``/healthz`` reports; an outage is logged once, when it
    starts, with the URL redacted; retries back off exponentially with
    jitter, so hubs that lost Redis together do not reconnect in lockstep.
    """

    def __init__(self, config: BackplaneConfig) -> None:
        self.config = config
        self.keys = Keys(config.prefix)
        self.healthy = False
        self.last_error: str | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def _spawn(self, *coros: Coroutine[Any, Any, None]) -> None:
        loop = asyncio.get_running_loop()
        self._tasks.extend(loop.create_task(coro) for coro in coros)

    async def _stop_tasks(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _backoff(self, attempt: int) -> None:
        low, high = self.config.backoff
        await asyncio.sleep(min(high, low * 2**attempt) * (0.5 + random.random() / 2))

    def _down(self, exc: BaseException) -> None:
        if self.healthy or self.last_error is None:  # once per outage
            log.warning("lost the backplane at %s: %s; retrying", redact_url(self.config.url), exc)
        self.healthy, self.last_error = False, f"{type(exc).__name__}: {exc}"

    def _up(self) -> None:
        if not self.healthy:
            log.info("connected to the backplane at %s", redact_url(self.config.url))
        self.healthy, self.last_error = True, None


class RedisPublisher(RedisLink):
    """The producer's side of the backplane; every method runs on the bridge's loop.

    The bridge reaches it through :class:`PublishingHub`, its hub port: the
    embedded hub does the work, then the result is copied to Redis. Answers
    to other hubs' sessions go to those hubs instead. ``reset(name)`` is
    called when Redis lost the document (flushed, restarted, or the link
    lagged too far): the bridge publishes it again, which makes a new epoch.
    """

    def __init__(
        self,
        config: BackplaneConfig,
        reset: Callable[[str], None],
        app_titles: Callable[[], dict[str, str]] = dict,
    ) -> None:
        super().__init__(config)
        self.reset = reset
        #: the producer's per-session apps (name -> title), served by every hub
        self.app_titles = app_titles
        self.apps: AppPublisher | None = None
        self.redis: aioredis.Redis | None = None
        self._reader: aioredis.Redis | None = None
        self._ops: deque[_Op] = deque()
        self._queued = 0
        #: our documents: name -> epoch (the embedded document's)
        self.documents: dict[str, str] = {}
        #: epoch Redis confirmed creating, per document
        self._confirmed: dict[str, str] = {}
        self._snap_at: dict[str, tuple[float, int]] = {}
        self._inbox_ids: dict[str, bytes] = {}
        #: counters for /healthz and tests
        self.resets = 0
        self._hub: Hub | None = None

    # -- lifecycle
    async def start(self, hub: Hub) -> None:
        """Connect (a failure raises, with the password redacted) and start the tasks."""
        self._hub = hub
        self.redis = connect(self.config.url)
        self._reader = connect(self.config.url)
        try:
            await self.redis.ping()
        except Exception as exc:
            raise ConnectionError(
                f"cannot reach the backplane at {redact_url(self.config.url)}: {exc}"
            ) from None
        self.healthy = True
        self._publish = self.redis.register_script(PUBLISH_LUA)
        self._create = self.redis.register_script(CREATE_LUA)
        self._snapshot = self.redis.register_script(SNAPSHOT_LUA)
        self._remove = self.redis.register_script(REMOVE_LUA)
        hub.config.session_secret = await shared_secret(self.redis, self.keys)
        self.apps = AppPublisher(self, hub, self.app_titles)
        self._spawn(self._write_loop(), self._heartbeat_loop(), self._input_loop())
        self._spawn(self.apps.run(), self.apps.opens())

    async def close(self) -> None:
        """Let queued writes out (bounded), then stop; hubs see ``alive`` lapse."""
        for _ in range(200):
            if not self._ops:
                break
            await asyncio.sleep(0.01)
        await self._stop_tasks()
        if self.redis is not None:
            try:
                await self.redis.delete(*[self.keys.alive(n) for n in self.documents] or ["-"])
            except Exception:
                pass
        for client in (self.redis, self._reader):
            if client is not None:
                await client.aclose()

    def _created(self, doc: Document) -> None:
        self.documents[doc.name] = doc.epoch
        self._snap_at[doc.name] = (time.monotonic(), doc.seq)
        bus = bus_payload({"t": "reset", "doc": doc.name, "epoch": doc.epoch})
        k = self.keys
        keys = [k.meta(doc.name), k.log(doc.name), k.snap(doc.name), k.docs, k.bus]
        keys += [k.inbox(doc.name), k.alive(doc.name)]
        args = [doc.name, doc.epoch, doc.seq, doc.state.title, snap_value(doc.snapshot_frame())]
        ttl = int(self.config.alive_ttl * 1000)
        self._push(_Op("create", doc.name, doc.epoch, doc.seq, [*keys, *args, bus, ttl]))

    def _published(self, doc: Document, seq: int, frame: Frame) -> None:
        cfg = self.config
        header = {"t": "msg", "doc": doc.name, "epoch": doc.epoch, "seq": seq}
        inline = frame if len(frame.data) <= cfg.bus_inline_max else None
        bus = bus_payload(header if inline else {**header, "ref": True}, inline)
        k = self.keys
        args = [k.meta(doc.name), k.log(doc.name), k.bus, doc.epoch, seq, frame.data]
        self._push(
            _Op(
                "publish",
                doc.name,
                doc.epoch,
                seq,
                [*args, b"1" if frame.binary else b"0", cfg.maxlen, bus],
            )
        )
        at, at_seq = self._snap_at.get(doc.name, (0.0, 0))
        now = time.monotonic()
        if now - at >= cfg.snapshot_interval or seq - at_seq >= cfg.maxlen // 2:
            self._snap_at[doc.name] = (now, seq)
            value = snap_value(doc.snapshot_frame())
            self._push(
                _Op(
                    "snapshot",
                    doc.name,
                    doc.epoch,
                    seq,
                    [k.meta(doc.name), k.snap(doc.name), doc.epoch, seq, value],
                )
            )

    def _removed(self, name: str) -> None:
        epoch = self.documents.pop(name, None)
        self._confirmed.pop(name, None)
        if epoch is None:
            return
        k = self.keys
        keys = [
            k.meta(name),
            k.log(name),
            k.snap(name),
            k.docs,
            k.bus,
            k.inbox(name),
            k.alive(name),
        ]
        bus = bus_payload({"t": "remove", "doc": name, "epoch": epoch})
        self._push(_Op("remove", name, epoch, 0, [*keys, name, epoch, bus]))

    def unpublish(self, name: str) -> None:
        """Remove ``name`` from Redis (our hub freed it: a per-session app's document)."""
        self._removed(name)

    def _answer(self, session: str, frame: Frame) -> None:
        """An answer to another hub's session, on that hub's channel."""
        channel = self.keys.hub(session.partition("/")[0])
        self._push(_Op("answer", "", "", 0, [channel, snap_value(frame)]), control=True)

    def _push(self, op: _Op, control: bool = False) -> None:
        if not control and self._queued + op.size > self.config.max_queue_bytes:
            log.warning("the backplane is %d bytes behind; re-creating the documents", self._queued)
            self._ops = deque(o for o in self._ops if o.kind == "answer")
            self._queued = sum(o.size for o in self._ops)
            for name in list(self.documents):
                self._confirmed.pop(name, None)
                self.resets += 1
                self.reset(name)
            return
        self._ops.append(op)
        self._queued += op.size
        self._wake.set()

    # -- writing
    async def _write_loop(self) -> None:
        attempt = 0
        while not self._stopping:
            if not self._ops:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._ops.popleft() for _ in range(min(len(self._ops), 256))]
            try:
                results = await self._execute(batch)
            except REDIS_DOWN as exc:
                self._down(exc)
                self._ops.extendleft(reversed(batch))
                await self._backoff(attempt)
                attempt += 1
                continue
            attempt = 0
            self._up()
            for op in batch:
                self._queued -= op.size
            for op, result in zip(batch, results, strict=True):
                self._settle(op, result)

    async def _execute(self, batch: list[_Op]) -> list[Any]:
        assert self.redis is not None
        pipe = self.redis.pipeline(transaction=False)
        for op in batch:
            a = op.args
            if op.kind == "publish":
                await self._publish(keys=a[:3], args=a[3:], client=pipe)
            elif op.kind == "create":
                await self._create(keys=a[:7], args=a[7:], client=pipe)
            elif op.kind == "snapshot":
                await self._snapshot(keys=a[:2], args=a[2:], client=pipe)
            elif op.kind == "remove":
                await self._remove(keys=a[:7], args=a[7:], client=pipe)
            else:  # answer: the frame, kind byte first, on the hub's channel
                pipe.publish(a[0], a[1])
        results: list[Any] = await pipe.execute(raise_on_error=False)
        return results

    def _settle(self, op: _Op, result: Any) -> None:
        if op.kind == "create" and not isinstance(result, Exception):
            self._confirmed[op.name] = op.epoch
        if not isinstance(result, redis.exceptions.ResponseError):
            return
        current = self.documents.get(op.name)
        if op.kind != "publish" or current != op.epoch or self._confirmed.get(op.name) != op.epoch:
            if op.kind != "publish":
                log.warning("backplane %s of %r failed: %s", op.kind, op.name, result)
            return  # an older epoch's leftovers, or a re-creation already queued
        if str(result).startswith("WSB_EPOCH"):
            self._taken(op.name)
            return
        log.warning("the backplane lost document %r (%s); publishing it again", op.name, result)
        self._confirmed.pop(op.name, None)
        self.resets += 1
        self.reset(op.name)

    def _taken(self, name: str) -> None:
        """Another producer created ``name`` since (a newer epoch): let it have it.

        Re-creating it would make the two producers take turns forever, each
        giving every viewer a new snapshot; the newest one wins instead.
        """
        log.error(
            "document %r is now published to the backplane by another producer; "
            "this process stops publishing it there",
            name,
        )
        self.documents.pop(name, None)
        self._confirmed.pop(name, None)

    # -- heartbeat: keep ``alive``, notice a Redis that forgot us
    async def _heartbeat_loop(self) -> None:
        cfg = self.config
        while not self._stopping:
            await asyncio.sleep(cfg.heartbeat)
            names = [n for n, e in self.documents.items() if self._confirmed.get(n) == e]
            if not names or self.redis is None:
                continue
            pipe = self.redis.pipeline(transaction=False)
            for name in names:
                pipe.set(self.keys.alive(name), self.documents[name], px=int(cfg.alive_ttl * 1000))
                pipe.hget(self.keys.meta(name), "epoch")
            try:
                replies = await pipe.execute()
            except REDIS_DOWN as exc:
                self._down(exc)
                continue
            self._up()
            for name, stored in zip(names, replies[1::2], strict=True):
                epoch = self.documents.get(name)
                if epoch is None or self._confirmed.get(name) != epoch or stored == epoch.encode():
                    continue
                if stored is not None:
                    self._taken(name)
                else:
                    log.warning("the backplane forgot document %r; publishing it again", name)
                    self._confirmed.pop(name, None)
                    self.resets += 1
                    self.reset(name)

    # -- browser input from every hub
    async def _input_loop(self) -> None:
        while not self._stopping:
            names = list(self.documents)
            if not names or self._reader is None:
                await asyncio.sleep(0.2)
                continue
            streams: dict[Any, Any] = {
                self.keys.inbox(n): self._inbox_ids.get(n, b"0-0") for n in names
            }
            try:
                got: Any = await self._reader.xread(streams, count=256, block=250)
            except REDIS_DOWN as exc:
                self._down(exc)
                await asyncio.sleep(self.config.backoff[0])
                continue
            for key, entries in got or ():
                name = key.decode()[len(self.config.prefix) + 4 : -3]
                for entry_id, fields in entries:
                    self._inbox_ids[name] = entry_id
                    self._input(name, fields)

    def _input(self, name: str, fields: dict[bytes, bytes]) -> None:
        try:
            frame = split_snap(fields[b"f"])
            env = decode_envelope(frame.data if frame.binary else frame.data.decode())
        except (ProtocolError, KeyError, ValueError) as exc:
            log_limited(
                log,
                logging.WARNING,
                "bad input",
                "dropped a bad input for %r from the backplane: %s",
                clip(name, 64),
                clip(exc),
            )
            return
        session = env.get("session")
        if not isinstance(session, str) or not is_remote_session(session):
            return
        message = env.get("message")
        hub = self._hub
        doc = hub.documents.get(name) if hub is not None else None
        if (
            doc is None
            or env.get("epoch") != doc.epoch
            or not isinstance(message, (Set, Event, Custom))
            or not _allowed(doc, message)
        ):
            # a past epoch, or input the hub should have refused: drop it,
            # answering so the hub frees the session's slot
            self._answer(session, encode_envelope("done", session=session))
            return
        if isinstance(message, Set):
            doc.producer.on_set(name, session, message)
        elif isinstance(message, Event):
            doc.producer.on_event(name, session, message)
        else:
            doc.producer.on_custom(name, session, message)


def _allowed(doc: Document, message: Set | Event | Custom) -> bool:
    """The hub's checks again (settable properties, declared events): Redis is
    shared, so input is checked where it is applied too."""
    spec = doc.state.models.get(message.model)
    if spec is None:
        return False
    if isinstance(message, Set):
        settable = spec.get("settable", ())
        return all(p in settable for p in message.state)
    if isinstance(message, Event):
        return event_refusal(spec, message) is None
    return True


class PublishingHub:
    """The bridge's :class:`~wsbridge.hub.port.HubPort` on a backplane.

    The embedded hub does the work, then the publisher copies the result to
    Redis; input that came through another hub (its session ids name that
    hub) is answered on that hub's channel instead.
    """

    def __init__(self, hub: Hub, publisher: RedisPublisher) -> None:
        self.hub = hub
        self.publisher = publisher

    def create_document(
        self, name: str, spec: Add, producer: Producer, title: str = "", ephemeral: bool = False
    ) -> Document:
        doc = self.hub.create_document(name, spec, producer, title, ephemeral)
        self.publisher._created(doc)  # app sessions too: any hub serves them (scaleout.apps)
        return doc

    def publish(self, name: str, message: Message, trusted: bool = False) -> int | None:
        seq = self.hub.publish(name, message, trusted)
        if seq is not None:
            doc = self.hub.documents.get(name)
            publisher = self.publisher
            if doc is not None and name in publisher.documents and doc.last_frame is not None:
                publisher._published(doc, seq, doc.last_frame)
        return seq

    def publish_many(self, name: str, messages: list[Message], trusted: bool = False) -> int | None:
        # the log in Redis takes one message per seq
        seq = None
        for message in messages:
            seq = self.publish(name, message, trusted)
        return seq

    def remove_document(self, name: str, reason: str = "document removed") -> None:
        self.hub.remove_document(name, reason)
        self.publisher._removed(name)

    def reject(
        self,
        name: str,
        session_id: str,
        code: str,
        text: str,
        ref: dict[str, Any] | None = None,
        model: str | None = None,
        properties: list[str] | None = None,
    ) -> None:
        if not is_remote_session(session_id):
            self.hub.reject(name, session_id, code, text, ref, model, properties)
            return
        frame = encode_envelope(
            "reject",
            doc=name,
            session=session_id,
            code=code,
            text=text,
            ref=ref,
            model=model,
            properties=properties,
        )
        self.publisher._answer(session_id, frame)

    def reply_state(self, name: str, session_id: str, model: str, properties: list[str]) -> None:
        if not is_remote_session(session_id):
            self.hub.reply_state(name, session_id, model, properties)
            return
        frame = encode_envelope(
            "reply_state", doc=name, session=session_id, model=model, properties=properties
        )
        self.publisher._answer(session_id, frame)

    def input_done(self, session_id: str) -> None:
        if not is_remote_session(session_id):
            self.hub.input_done(session_id)
            return
        self.publisher._answer(session_id, encode_envelope("done", session=session_id))

    def notify_session(self, name: str, session_id: str, message: Notify) -> None:
        if not is_remote_session(session_id):
            self.hub.notify_session(name, session_id, message)
            return
        frame = encode_envelope("notify", doc=name, session=session_id, message=message)
        self.publisher._answer(session_id, frame)

    def download(self, name: str, session_id: str, message: Download) -> None:
        if not is_remote_session(session_id):
            self.hub.download(name, session_id, message)
            return
        frame = encode_envelope("download", doc=name, session=session_id, message=message)
        self.publisher._answer(session_id, frame)
