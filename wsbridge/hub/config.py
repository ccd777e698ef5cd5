"""The hub's limits and defaults, tokens and epochs.

Every limit has a documented default (docs/security.md); the hub, the
Tornado edge and the Jupyter extension read them from one
:class:`HubConfig`.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "NEVER_JOINED_GRACE",
    "HubConfig",
    "new_epoch",
    "token_valid",
]

#: a per-session document whose page never connected is kept at least this
#: long (seconds): its page may still be loading
NEVER_JOINED_GRACE = 30.0


def new_epoch() -> str:
    return secrets.token_hex(8)


def token_valid(expected: str | None, expires: float | None, given: str | None) -> bool:
    """Constant-time token check with optional expiry (wall clock); logs nothing."""
    if expected is None:
        return True
    if given is None or (expires is not None and time.time() >= expires):
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass
class HubConfig:
    """Limits and policy; every one is documented in docs/security.md."""

    max_message_size: int = 16 * 1024 * 1024
    log_max_messages: int = 10_000
    log_max_bytes: int = 16 * 1024 * 1024
    queue_max_bytes: int = 32 * 1024 * 1024
    #: a session is *behind* when it has this many bytes queued and its
    #: current write has been pending for ``coalesce_after`` seconds; then its
    #: new patches and streams are merged into the last queued one
    #: (docs/reliability.md). A client that reads as fast as it can is never
    #: coalesced, however bursty the producer.
    queue_high_water: int = 4 * 1024 * 1024
    coalesce_after: float = 0.05
    token: str | None = None
    #: wall-clock time (``time.time()``) after which the token is refused
    token_expires: float | None = None
    #: authenticated sessions per hub and per document (past them: close 1013)
    max_clients: int = 10_000
    max_clients_per_document: int = 5_000
    #: connections that have not authenticated yet (no valid ``hello``, no
    #: token at the handshake): they do not count against ``max_clients``,
    #: so idle sockets cannot lock users out; past this many: close 1013
    max_pending: int = 1_000
    #: seconds a connection has to send a valid ``hello`` (then close 4008)
    hello_timeout: float = 10.0
    #: browser input (set/event/custom) per session: a token bucket
    input_rate: float = 200.0
    input_burst: int = 400
    #: refused-for-rate messages in a row before the session is closed (1008)
    flood_close_after: int = 200
    #: browser inputs handed to the producer and not yet handled, per session
    max_pending_inbound: int = 256
    #: bytes (of their frames) of those inputs, per session and for the whole
    #: hub; past either, input is refused (``rate_limited``) and not queued. An
    #: input larger than the bound is taken only when nothing else waits.
    max_pending_input_bytes: int = 16 * 1024 * 1024
    max_pending_input_bytes_total: int = 64 * 1024 * 1024
    #: largest ``event`` frame (its ``data`` is a small object, or null)
    max_event_bytes: int = 4096
    #: files (docs/security.md "Uploads"): the hard cap on one uploaded file
    #: (a widget's ``max_size`` cannot raise it), files per upload, uploads in
    #: progress per session, bytes of uploads held by the hub for the whole hub
    #: (received, or handed to Python and not yet handled), the largest chunk,
    #: seconds without a chunk before an upload is cancelled and freed, and the
    #: largest download (one frame: ``queue_max_bytes`` bounds it too)
    max_upload_size: int = 64 * 1024 * 1024
    max_upload_files: int = 32
    max_uploads_per_session: int = 4
    max_upload_bytes_total: int = 256 * 1024 * 1024
    max_upload_chunk: int = 1024 * 1024
    upload_timeout: float = 30.0
    max_download_size: int = 32 * 1024 * 1024
    clock: Callable[[], float] = field(default=time.monotonic)
    #: signs per-session documents' keys (``Hub.document_key``); kept by the
    #: config so a bridge restarted in this process accepts its pages' keys
    session_secret: bytes = field(
        default_factory=lambda: secrets.token_bytes(32), repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not self.hello_timeout > 0:
            raise ValueError(f"hello_timeout must be positive, not {self.hello_timeout!r}")
        if self.max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, not {self.max_pending!r}")
        if not self.upload_timeout > 0:
            raise ValueError(f"upload_timeout must be positive, not {self.upload_timeout!r}")
