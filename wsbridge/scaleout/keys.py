"""Redis keys, Lua scripts and the backplane's framing.

One place for every key a document uses (its hash, stream, snapshot, bus
channel) and the scripts that update them atomically, so the publisher
and the follower cannot disagree about the layout (docs/deploy.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions

from ..wire.codec import Frame

__all__ = [
    "BUS_INLINE_MAX",
    "CREATE_LUA",
    "PUBLISH_LUA",
    "REDIS_DOWN",
    "REMOVE_LUA",
    "SNAPSHOT_LUA",
    "BackplaneConfig",
    "Keys",
    "bus_payload",
    "connect",
    "is_remote_session",
    "parse_bus",
    "redact_url",
    "snap_value",
    "split_snap",
]

#: frames up to this size travel inside the pub/sub message; larger ones are
#: only referenced (by seq) and each hub reads them from the stream, so Redis
#: never buffers a large frame once per subscribed hub
BUS_INLINE_MAX = 64 * 1024


#: errors that mean "Redis is unreachable for now": retried with backoff
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


@dataclass(frozen=True)
class BackplaneConfig:
    """Where the shared log lives and how it is kept; see docs/deploy.md."""

    url: str
    prefix: str = "wsbridge:"
    #: stream entries kept per document (``XADD MAXLEN ~``); a hub or browser
    #: further behind than this gets a snapshot instead of a replay
    maxlen: int = 10_000
    bus_inline_max: int = BUS_INLINE_MAX
    #: the snapshot key is rewritten at most this often (seconds), and also
    #: every ``maxlen // 2`` messages, so it always lies inside the stream
    snapshot_interval: float = 1.0
    #: the producer refreshes ``alive`` this often; hubs mark its documents
    #: gone when the key has been missing for ``alive_ttl``
    heartbeat: float = 1.0
    alive_ttl: float = 5.0
    #: hubs compare their seq with Redis this often (repairs lost tails)
    poll_interval: float = 1.0
    #: bytes queued for Redis before the documents are re-created instead
    max_queue_bytes: int = 64 * 1024 * 1024
    backoff: tuple[float, float] = (0.1, 5.0)

    @classmethod
    def of(cls, value: str | BackplaneConfig) -> BackplaneConfig:
        return value if isinstance(value, BackplaneConfig) else cls(url=value)


class Keys:
    """The Redis key names of one deployment (one ``prefix``)."""

    def __init__(self, prefix: str = "wsbridge:") -> None:
        self.prefix = prefix
        self.docs = f"{prefix}docs"
        self.bus = f"{prefix}bus"

    def meta(self, name: str) -> str:
        return f"{self.prefix}doc:{name}:meta"

    def log(self, name: str) -> str:
        return f"{self.prefix}doc:{name}:log"

    def snap(self, name: str) -> str:
        return f"{self.prefix}doc:{name}:snap"

    def inbox(self, name: str) -> str:
        return f"{self.prefix}doc:{name}:in"

    def alive(self, name: str) -> str:
        return f"{self.prefix}doc:{name}:alive"

    def hub(self, hub_id: str) -> str:
        return f"{self.prefix}hub:{hub_id}"

    # per-session apps on any hub (scaleout.apps)
    @property
    def apps(self) -> str:
        """Hash: app name -> JSON ``{"title", "producer"}``."""
        return f"{self.prefix}apps"

    @property
    def secret(self) -> str:
        """The key every hub signs app sessions' page keys with (``Hub.document_key``)."""
        return f"{self.prefix}session-secret"

    def producer(self, producer_id: str) -> str:
        """Set while that producer runs (expires ``alive_ttl`` after its last heartbeat)."""
        return f"{self.prefix}producer:{producer_id}"

    def opens(self, producer_id: str) -> str:
        """Stream: hubs ask that producer to build a session's document."""
        return f"{self.prefix}producer:{producer_id}:opens"

    def refused(self, hub_id: str) -> str:
        """Channel: a producer tells a hub it could not build a session."""
        return f"{self.prefix}hub:{hub_id}:refused"

    def seen(self, name: str) -> str:
        """Set by every hub showing session ``name`` to a browser, with a short TTL."""
        return f"{self.prefix}doc:{name}:seen"


#: ``scheme://user:password@``: the password runs to the last '@' of the authority
_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)([^/@?#]*?):([^/?#]*)@", re.IGNORECASE)
#: a query parameter that carries a credential (redis-py reads ``password``,
#: ``ssl_password``... from the query as keyword arguments)
_SECRET_PARAM = re.compile(
    r"(?i)([?&;][^=&;#]*(?:pass|secret|token|auth|credential)[^=&;#]*=)[^&;#]*"
)


def redact_url(url: str) -> str:
    """``url`` with every credential hidden, for logs, ``/healthz`` and banners.

    The password of the authority (``redis://user:***@host/0``) and the value
    of any query parameter naming one (``?password=***``,
    ``?ssl_password=***``); the rest is kept as written. Text matching, not
    parsing, so a URL that does not parse is redacted too.
    """
    return _SECRET_PARAM.sub(r"\1***", _USERINFO.sub(r"\1\2:***@", url))


def connect(url: str) -> aioredis.Redis:
    """A client for ``redis://`` or ``rediss://`` (TLS) URLs, AUTH included."""
    return aioredis.Redis.from_url(
        url, decode_responses=False, socket_connect_timeout=5.0, health_check_interval=10
    )


def snap_value(frame: Frame) -> bytes:
    """A frame as stored in a string key: one kind byte, then the payload."""
    return (b"b" if frame.binary else b"t") + frame.data


def split_snap(value: bytes) -> Frame:
    return Frame(value[1:], value[:1] == b"b")


def bus_payload(header: dict[str, Any], frame: Frame | None = None) -> bytes:
    """One pub/sub message: a JSON header line, then the frame if inline."""
    if frame is not None:
        header = {**header, "bin": frame.binary}
    head = json.dumps(header, separators=(",", ":")).encode()
    return head + b"\n" + (frame.data if frame is not None else b"")


def parse_bus(data: bytes) -> tuple[dict[str, Any], Frame | None]:
    """The header and the inline frame (or None) of a pub/sub message."""
    head, _, rest = data.partition(b"\n")
    header = json.loads(head)
    if not isinstance(header, dict):
        raise ValueError("bus header is not an object")
    if "bin" not in header:
        return header, None
    return header, Frame(bytes(rest), bool(header["bin"]))


# The sequenced append: epoch and seq checked, log and bus written at once.
# KEYS: meta, log, bus. ARGV: epoch, seq, frame, kind, maxlen, bus payload.
PUBLISH_LUA = """
local m = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if not m[1] then return redis.error_reply('WSB_GONE') end
if m[1] ~= ARGV[1] then return redis.error_reply('WSB_EPOCH ' .. m[1]) end
if tonumber(m[2]) + 1 ~= tonumber(ARGV[2]) then
  return redis.error_reply('WSB_SEQ ' .. m[2])
end
redis.call('HSET', KEYS[1], 'seq', ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], ARGV[2] .. '-0', 'f', ARGV[3], 'b', ARGV[4])
redis.call('PUBLISH', KEYS[3], ARGV[6])
return tonumber(ARGV[2])
"""


# A new epoch: the log restarts, the snapshot is the whole state.
# KEYS: meta, log, snap, docs, bus, inbox, alive.
# ARGV: name, epoch, seq, title, snap, bus payload, alive ttl (ms).
CREATE_LUA = """
redis.call('DEL', KEYS[1], KEYS[2], KEYS[6])
redis.call('SET', KEYS[7], ARGV[2], 'PX', ARGV[7])
redis.call('HSET', KEYS[1], 'epoch', ARGV[2], 'seq', ARGV[3], 'snap_seq', ARGV[3], 'title', ARGV[4])
redis.call('SET', KEYS[3], ARGV[5])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('PUBLISH', KEYS[5], ARGV[6])
return 1
"""


# A newer snapshot of the same epoch. KEYS: meta, snap. ARGV: epoch, seq, snap.
SNAPSHOT_LUA = """
local m = redis.call('HMGET', KEYS[1], 'epoch', 'snap_seq')
if m[1] ~= ARGV[1] or tonumber(m[2]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[1], 'snap_seq', ARGV[2])
return 1
"""


# KEYS: meta, log, snap, docs, bus, inbox, alive. ARGV: name, epoch, bus payload.
REMOVE_LUA = """
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[6], KEYS[7])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('PUBLISH', KEYS[5], ARGV[3])
return 1
"""


def is_remote_session(session: str) -> bool:
    """Sessions of backplane hubs are named ``<hub id>/c<n>`` (ours have no '/')."""
    return "/" in session
