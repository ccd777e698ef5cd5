"""Logging what the network sent: clipped, and rate-limited per kind of event.

Anything a browser, a remote producer or Redis sends can end up in a log
line. :func:`clip` bounds such text (and escapes control characters, so
it cannot forge log lines); :func:`log_limited` logs each kind of event at
most ``LOG_BURST`` times per ``LOG_INTERVAL`` seconds and then once more
with how many were left out, so a flood of bad frames costs the log a few
short lines, not one line of attacker text per frame (docs/security.md
"Logs"). Imports nothing of wsbridge: every layer may use it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

__all__ = ["LOG_BURST", "LOG_INTERVAL", "clip", "log_limited", "reset"]

#: lines per kind of event per interval, and the interval (seconds)
LOG_BURST = 5
LOG_INTERVAL = 10.0
#: characters of untrusted text kept in a log line
CLIP = 200

#: kinds of event are the callers' literal keys, so this stays small; it is
#: pruned anyway, should a caller build keys from input
_MAX_KEYS = 1024

_lock = threading.Lock()
#: (logger name, key) -> [window start, lines logged in it, lines left out]
_windows: dict[tuple[str, str], list[float]] = {}


def clip(value: object, limit: int = CLIP) -> str:
    """``value`` as at most ``limit`` printable characters, then how many more there were."""
    text = value if isinstance(value, str) else repr(value)
    extra = len(text) - limit
    head = text[:limit] if extra > 0 else text
    # repr escapes newlines and other control characters: one value, one line
    shown = repr(head)[1:-1] if isinstance(value, str) else head
    return f"{shown}... ({extra} more characters)" if extra > 0 else shown


def log_limited(
    logger: logging.Logger,
    level: int,
    key: str,
    msg: str,
    *args: object,
    exc_info: Any = None,
    burst: int = LOG_BURST,
    clock: float | None = None,
) -> bool:
    """``logger.log(level, msg, *args)`` unless ``key`` was logged ``burst``
    times in this ``LOG_INTERVAL``; returns whether it was logged.

    ``key`` names the kind of event (``"bad_frame"``, ``"foreign host"``),
    never the untrusted text itself; pass that text through :func:`clip`.
    """
    if not logger.isEnabledFor(level):
        return False
    now = time.monotonic() if clock is None else clock
    with _lock:
        window = _windows.get((logger.name, key))
        left_out = 0
        if window is None or now - window[0] >= LOG_INTERVAL:
            if window is not None:
                left_out = int(window[2])
            elif len(_windows) >= _MAX_KEYS:
                _prune(now)
            _windows[(logger.name, key)] = [now, 1.0, 0.0]
        elif window[1] < burst:
            window[1] += 1
        else:
            window[2] += 1
            return False
    if left_out:
        msg += " (and %d more like it in the last %.0f s, not logged)"
        args = (*args, left_out, LOG_INTERVAL)
    logger.log(level, msg, *args, exc_info=exc_info)
    return True


def _prune(now: float) -> None:
    """Forget windows that are over (``_lock`` held)."""
    for k in [k for k, w in _windows.items() if now - w[0] >= LOG_INTERVAL]:
        del _windows[k]
    if len(_windows) >= _MAX_KEYS:  # all live: keys come from input after all
        _windows.clear()


def reset() -> None:
    """Start a new interval for every kind of event (tests: each its own log)."""
    with _lock:
        _windows.clear()
