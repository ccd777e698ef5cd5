"""The producer lock and the origin of a change.

Every producer-side change (a trait set, a ``stream``) is applied locally and
queued to the hub while holding ``LOCK``, and a document's initial state is
read under it too, so the hub sees changes in exactly the order the producer
applied them, whatever thread they come from. It is held for microseconds:
never while user callbacks run.

``ORIGIN`` carries the browser session and request id of a ``set`` while the
producer applies it, so the resulting ``patch`` names its origin
(docs/protocol.md ``patch.origin``).

``SESSION`` names the document and browser session whose input (a ``set``,
an ``event``, a custom message) the callbacks thread is handling, so a
callback can answer that viewer alone (``wb.session()``,
``widgets/session.py``).
"""

from __future__ import annotations

import contextvars
import threading
from typing import Any

__all__ = [
    "LOCK",
    "ORIGIN",
    "SESSION",
]

LOCK = threading.RLock()
ORIGIN: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "wsbridge_origin", default=None
)
#: (dashboard, session id) while a browser's input is handled; see ``wb.session()``
SESSION: contextvars.ContextVar[tuple[Any, str] | None] = contextvars.ContextVar(
    "wsbridge_session", default=None
)
