"""The producer lock and the origin of a change.

Every producer-side change (a trait set, a ``stream``) is applied locally and
queued to the hub while holding ``LOCK``, and a document's initial state is
read under it too, so the hub sees changes in exactly the order the producer
applied them, whatever thread they come from. It is held for microseconds:
never while user callbacks run.

``ORIGIN`` carries the browser session and request id of a ``set`` while the
producer applies it, so the resulting ``patch`` names its origin
(docs/protocol.md ``patch.origin``).
"""

from __future__ import annotations

import contextvars
import threading
from typing import Any

__all__ = [
    "LOCK",
    "ORIGIN",
]

LOCK = threading.RLock()
ORIGIN: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "wsbridge_origin", default=None
)
