"""Per-session apps on any hub of a backplane (``bridge.app`` behind Redis).

A page of an app opened on any hub gets its own document, as on the
producer's own hub (runtime/apps.py), without sticky sessions:

- The producer lists its apps in the ``apps`` hash (title and producer id)
  and keeps ``producer:<id>`` alive while it runs (:class:`AppPublisher`).
- A hub shows those apps in its index and opens their pages: a page gets a
  new session name ``<app>~<random>`` and its key, signed with the secret
  every hub and producer of the prefix share (``session-secret``), so the
  key is valid on every hub (:func:`shared_secret`).
- The page's ``hello`` reaches a hub that lacks the document: the hub asks
  the producer on its ``opens`` stream (:class:`AppFinder`); the producer
  builds it with the same caps as for its own pages and publishes it like
  any document (ephemeral), so every hub can serve it and a reconnection to
  another hub resumes it exactly. A refusal comes back on the asking hub's
  ``refused`` channel and closes the waiting page as on a single hub.
- Every hub showing a session to a browser refreshes its ``seen`` key (a
  short TTL); the producer counts that as a viewer, so a session is freed
  ``session_grace`` after it was last seen on any hub, then removed from
  Redis.

Everything read from Redis is untrusted (docs/security.md): names, titles
and ids are checked, a bad entry is logged once and skipped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ERROR_TEXT_MAX, ProtocolError
from ..hub.hub import Hub
from ..hub.link import check_document_name
from ..logs import clip, log_limited
from ..wire.query import check_query
from .keys import REDIS_DOWN, Keys

if TYPE_CHECKING:
    from .follower import BackplaneFollower
    from .publisher import RedisPublisher

__all__ = ["AppFinder", "AppPublisher", "shared_secret"]

log = logging.getLogger("wsbridge.backplane")

_ID = re.compile(r"[0-9a-f]{4,64}")
#: bounded streams: a hub asks at most this many opens ahead of the producer
OPENS_MAXLEN = 10_000
TITLE_MAX = 200


#: one-shot Redis calls in flight (the loop keeps only weak references to tasks)
_PENDING: set[asyncio.Future[None]] = set()


def _keep(task: asyncio.Future[None]) -> None:
    _PENDING.add(task)
    task.add_done_callback(_PENDING.discard)


async def shared_secret(redis: Any, keys: Keys) -> bytes:
    """The secret app sessions' page keys are signed with, the same for every
    hub and producer of the prefix: the first one to start sets it."""
    await redis.set(keys.secret, secrets.token_hex(32), nx=True)
    value = await redis.get(keys.secret)
    if not isinstance(value, bytes) or len(value) < 32:
        raise ProtocolError("bad_message", "the backplane's session secret is missing or short")
    return value


def _seen_ttl_ms(heartbeat: float, poll: float) -> int:
    """A ``seen`` key outlives two refreshes by hubs and two checks by the producer."""
    return int((2 * max(heartbeat, poll) + 1.0) * 1000)


class AppPublisher:
    """The producer's side; its loops run on the bridge's loop, spawned by the publisher."""

    def __init__(
        self, publisher: RedisPublisher, hub: Hub, titles: Callable[[], dict[str, str]]
    ) -> None:
        self.publisher = publisher
        self.hub = hub
        self.keys = publisher.keys
        self.titles = titles
        self.producer_id = secrets.token_hex(8)
        self._listed: set[str] = set()
        #: sessions being built for a hub: name -> the asking hub's id
        self._asked: dict[str, str] = {}

    async def run(self) -> None:
        """Every heartbeat: list the apps, keep sessions seen elsewhere, drop freed ones."""
        cfg = self.publisher.config
        while True:
            await asyncio.sleep(cfg.heartbeat)
            redis = self.publisher.redis
            if redis is None:
                continue
            try:
                await self._tick(redis, int(cfg.alive_ttl * 1000))
            except REDIS_DOWN as exc:
                self.publisher._down(exc)

    async def _tick(self, redis: Any, ttl_ms: int) -> None:
        apps = self.titles()
        pipe = redis.pipeline(transaction=False)
        pipe.set(self.keys.producer(self.producer_id), b"1", px=ttl_ms)
        for name, title in apps.items():
            entry = {"title": title[:TITLE_MAX], "producer": self.producer_id}
            pipe.hset(self.keys.apps, name, json.dumps(entry))
        for name in self._listed - set(apps):
            pipe.hdel(self.keys.apps, name)
        self._listed = set(apps)
        idle = [n for n, d in self.hub.documents.items() if d.ephemeral and not d.sessions]
        for name in idle:
            pipe.exists(self.keys.seen(name))
        replies = await pipe.execute()
        now = self.hub.config.clock()
        for name, seen in zip(idle, replies[len(replies) - len(idle) :], strict=True):
            doc = self.hub.documents.get(name)
            if seen and doc is not None:  # a browser on another hub: not idle
                doc.empty_since, doc.joined = now, True
        for name in [n for n in self.publisher.documents if n not in self.hub.documents]:
            self.publisher.unpublish(name)  # freed by our hub's sweep: out of Redis too
        for name in [n for n in self._asked if n in self.hub.documents]:
            del self._asked[name]

    async def opens(self) -> None:
        """Build the sessions hubs ask for (``opens:<id>``)."""
        key, last = self.keys.opens(self.producer_id), b"0-0"
        while True:
            reader = self.publisher._reader
            if reader is None:
                await asyncio.sleep(0.2)
                continue
            try:
                got: Any = await reader.xread({key: last}, count=64, block=250)
            except REDIS_DOWN as exc:
                self.publisher._down(exc)
                await asyncio.sleep(self.publisher.config.backoff[0])
                continue
            for _, entries in got or ():
                for entry_id, fields in entries:
                    last = entry_id
                    self._open(fields)

    def _open(self, fields: dict[bytes, bytes]) -> None:
        try:
            name = fields[b"doc"].decode()
            address = fields.get(b"address", b"").decode()[:100]
            hub_id = fields[b"hub"].decode()
            raw_query = fields.get(b"query")
            query = check_query(json.loads(raw_query)) if raw_query is not None else None
            check_document_name(name)
            if not _ID.fullmatch(hub_id):
                raise ValueError(f"bad hub id {hub_id[:20]!r}")
        except (KeyError, UnicodeDecodeError, ValueError, ProtocolError) as exc:
            log_limited(
                log, logging.WARNING, "bad open", "dropped a bad app open from Redis: %s", clip(exc)
            )
            return
        app, sep, _ = name.partition("~")
        if not sep or app not in self.titles():
            self._refuse(hub_id, name, f"no app {app[:64]!r} here")
            return
        if name in self.hub.documents or name in self._asked:
            return  # built or being built: every hub loads it from Redis
        try:
            opened = self.hub.open_document(name, address, query)
        except ProtocolError as exc:
            self._refuse(hub_id, name, exc.message, busy=exc.code == "too_many_clients")
            return
        if not opened:
            self._refuse(hub_id, name, "the app cannot open this session")
            return
        self._asked[name] = hub_id

    def failed(self, name: str, text: str) -> None:
        """The app's factory raised for ``name``: tell the hub whose page waits."""
        hub_id = self._asked.pop(name, None)
        if hub_id is not None:
            self._refuse(hub_id, name, text)

    def _refuse(self, hub_id: str, name: str, text: str, busy: bool = False) -> None:
        payload = json.dumps({"doc": name, "error": text[:ERROR_TEXT_MAX], "busy": busy})
        redis = self.publisher.redis
        if redis is not None:
            _keep(asyncio.ensure_future(self._send(redis, self.keys.refused(hub_id), payload)))

    async def _send(self, redis: Any, channel: str, payload: str) -> None:
        try:
            await redis.publish(channel, payload)
        except REDIS_DOWN as exc:
            self.publisher._down(exc)


class AppFinder:
    """A hub's side: which apps the backplane offers, opening their sessions,
    and telling producers which sessions this hub shows (runs on the hub's loop)."""

    def __init__(self, follower: BackplaneFollower) -> None:
        self.follower = follower
        self.hub = follower.hub
        self.keys = follower.keys
        #: app name -> (title, producer id), of producers alive at the last refresh
        self.apps: dict[str, tuple[str, str]] = {}
        cfg = follower.config
        self.seen_ttl_ms = _seen_ttl_ms(cfg.heartbeat, cfg.poll_interval)

    def titles(self) -> dict[str, str]:
        return {name: title for name, (title, _) in self.apps.items()}

    def is_session(self, name: str) -> bool:
        """Is ``name`` a session of an app, so its page needs its key? Any name
        with ``~`` is (fail closed: it may be loaded before its app is listed);
        ``bridge.dashboard`` refuses ``~``."""
        return "~" in name

    async def refresh(self, redis: Any) -> None:
        """Read the ``apps`` hash; keep the apps whose producer runs."""
        raw = await redis.hgetall(self.keys.apps)
        found: dict[str, tuple[str, str]] = {}
        for key, value in raw.items():
            try:
                name = key.decode()
                check_document_name(name)
                entry = json.loads(value)
                title, producer = entry["title"], entry["producer"]
                if "~" in name or not isinstance(title, str) or not isinstance(producer, str):
                    raise ValueError("not an app entry")
                if not _ID.fullmatch(producer):
                    raise ValueError(f"bad producer id {producer[:20]!r}")
            except (UnicodeDecodeError, ValueError, KeyError, TypeError, ProtocolError) as exc:
                shown = key.decode("utf-8", "backslashreplace")
                log_limited(
                    log,
                    logging.WARNING,
                    "bad app entry",
                    "skipped app %r of the backplane: %s",
                    clip(shown, 64),
                    clip(exc),
                )
                continue
            found[name] = (title[:TITLE_MAX], producer)
        producers = sorted({producer for _, producer in found.values()})
        pipe = redis.pipeline(transaction=False)
        for producer in producers:
            pipe.exists(self.keys.producer(producer))
        alive = {p for p, up in zip(producers, await pipe.execute(), strict=True) if up}
        self.apps = {name: entry for name, entry in found.items() if entry[1] in alive}

    def open_document(self, name: str, address: str, query: dict[str, str] | None = None) -> bool:
        """``HubHooks.open_document``: ask the app's producer to build session ``name``
        (with the page's URL query, checked by the hub already)."""
        app, sep, _ = name.partition("~")
        entry = self.apps.get(app) if sep else None
        if entry is None:
            return False
        if not self.follower.healthy:
            raise ProtocolError("too_many_clients", "the backplane is unreachable; retry later")
        fields = {"doc": name, "address": address, "hub": self.follower.hub_id}
        if query:
            fields["query"] = json.dumps(query)
        _keep(asyncio.ensure_future(self._ask(entry[1], name, fields)))
        return True

    async def _ask(self, producer: str, name: str, fields: dict[str, str]) -> None:
        try:
            await self.follower.redis.xadd(
                self.keys.opens(producer), fields, maxlen=OPENS_MAXLEN, approximate=True
            )
        except REDIS_DOWN as exc:
            self.follower._down(exc)
            self.hub.open_failed(name, "the backplane is unreachable; retry later")

    def refused(self, data: bytes) -> None:
        """A producer's ``refused`` message on this hub's channel."""
        try:
            answer = json.loads(data)
            name, text, busy = answer["doc"], answer["error"], answer.get("busy", False)
            if not isinstance(name, str) or not isinstance(text, str) or busy not in (True, False):
                raise ValueError("not a refusal")
        except (ValueError, KeyError, TypeError) as exc:
            log_limited(
                log, logging.WARNING, "bad refusal", "dropped a bad app refusal: %s", clip(exc)
            )
            return
        self.hub.open_failed(name, text[:ERROR_TEXT_MAX], busy)

    async def presence(self, redis: Any) -> None:
        """Refresh ``seen`` for every session a browser here is joined to."""
        shown = [n for n, d in self.hub.documents.items() if d.ephemeral and d.sessions]
        if not shown:
            return
        pipe = redis.pipeline(transaction=False)
        for name in shown:
            pipe.set(self.keys.seen(name), b"1", px=self.seen_ttl_ms)
        await pipe.execute()
