"""One error hierarchy: every exception wsbridge raises on purpose.

``WsbridgeError`` is the base. A :class:`ProtocolError` is a frame or message
that breaks docs/protocol.md; as in h11, :class:`RemoteProtocolError` means
the peer sent it (decoding untrusted input) and :class:`LocalProtocolError`
means our own side tried to build or send it. :class:`StateError` is a
message that does not fit a document's state; :class:`ConnectionFailed` a
hub that refused us or never answered. This module imports nothing of
wsbridge, so every layer may raise these.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ERROR_CODES",
    "ERROR_TEXT_MAX",
    "ConnectionFailed",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "StateError",
    "WsbridgeError",
    "clip_error",
]

#: error codes of docs/protocol.md, and the close code that follows each
#: (None: the connection stays open).
ERROR_CODES: dict[str, int | None] = {
    "bad_json": None,
    "bad_frame": None,
    "bad_message": None,
    "unknown_type": None,
    "bad_version": 1002,
    "hello_required": 1008,
    "unauthorized": 1008,
    "unknown_document": 1008,
    "unknown_model": None,
    "unknown_property": None,
    "read_only": None,
    "invalid_value": None,
    "unknown_event": None,
    "callback_error": None,
    "rate_limited": None,
    "too_many_clients": 1013,
    "producer_gone": None,
    # to a producer only: it touched a document another producer owns
    "not_owner": None,
    "internal": 1011,
}


#: an ``error``'s message, and each string in its ``ref``, is cut to this many
#: characters (docs/security.md "Limits"): an error may quote the input it
#: refuses, and must not hand a megabyte of it back, nor log it
ERROR_TEXT_MAX = 256

#: keys of an ``error``'s ``ref`` kept (the rest of a peer's ref is dropped)
_REF_KEYS_MAX = 8


def _clip(text: str) -> str:
    return text if len(text) <= ERROR_TEXT_MAX else text[: ERROR_TEXT_MAX - 1] + "\u2026"


def clip_error(text: str, ref: dict[str, Any] | None) -> tuple[str, dict[str, Any] | None]:
    """``text`` and ``ref`` cut to :data:`ERROR_TEXT_MAX` characters each.

    ``ref`` keeps at most a few keys with short scalar values (strings
    clipped; lists, objects and arrays dropped): it names the refused
    message, it never repeats it.
    """
    if ref is not None:
        kept: dict[str, Any] = {}
        for key, value in list(ref.items())[:_REF_KEYS_MAX]:
            if isinstance(value, str):
                kept[_clip(str(key))] = _clip(value)
            elif value is None or isinstance(value, (bool, int, float)):
                kept[_clip(str(key))] = value
        ref = kept
    return _clip(text), ref


class WsbridgeError(Exception):
    """Base of every error wsbridge raises on purpose."""


class ProtocolError(WsbridgeError, ValueError):
    """A frame or message that breaks docs/protocol.md.

    ``code`` is one of :data:`ERROR_CODES`; ``ref`` optionally names the
    offending message (its ``type``, ``model``, ``req``...) so the hub can
    answer with a precise ``error``.
    """

    def __init__(self, code: str, message: str, ref: dict[str, Any] | None = None):
        if code not in ERROR_CODES:  # pragma: no cover - programming error
            raise AssertionError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref
        #: for a refused ``set`` (``invalid_value``): every property it named,
        #: so the hub can send the sender all their canonical values back
        self.properties: list[str] = []

    @property
    def close_code(self) -> int | None:
        return ERROR_CODES[self.code]


class LocalProtocolError(ProtocolError):
    """Our side tried to build or send a message that breaks the protocol."""


class RemoteProtocolError(ProtocolError):
    """The peer sent a frame or message that breaks the protocol."""

    @classmethod
    def of(cls, exc: ProtocolError) -> RemoteProtocolError:
        """``exc`` (raised while checking what the peer sent) as a remote error."""
        remote = cls(exc.code, exc.message, exc.ref)
        remote.properties = exc.properties
        return remote


class StateError(WsbridgeError, ValueError):
    """A message that does not fit the state (unknown model, bad column...)."""


class ConnectionFailed(WsbridgeError, ConnectionError):
    """The hub refused us, or the first connection never became ready."""

    def __init__(self, message: str, code: int | None = None, reason: str = ""):
        super().__init__(message)
        self.code = code
        self.reason = reason
