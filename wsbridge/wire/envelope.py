"""The producer envelope: browser-protocol messages wrapped with their document.

A remote producer (a kernel under Jupyter, a ``Bridge`` on Redis) and its
hub speak the same framing and message classes as browsers, each message
wrapped with the document it belongs to, so a stream's arrays cross both
hops as binary buffers and nothing is re-encoded as JSON lists
(docs/protocol.md "Producer connection").
"""

from __future__ import annotations

from typing import Any

from ..errors import ProtocolError
from .codec import SEQUENCED, Frame, encode, from_dict
from .codec import _decode_binary as _decode_binary_object
from .codec import _loads as _load_object
from .messages import Message, Snapshot

__all__ = [
    "PRODUCER_HEADER",
    "PUBLISHABLE",
    "decode_envelope",
    "encode_envelope",
]

#: the handshake header a producer names itself with: a random id per
#: producer process, so the hub lets that producer, reconnecting, take its
#: own documents over (and no other live producer)
PRODUCER_HEADER = "X-Wsbridge-Producer"

#: message types a producer may ``publish`` (the sequenced changes)
PUBLISHABLE = SEQUENCED - {Snapshot.type}


#: envelope types and the keys each one must carry (docs/protocol.md)
_ENVELOPES: dict[str, tuple[str, ...]] = {
    # producer -> hub
    "create": ("doc", "spec"),
    "publish": ("doc", "message"),
    "remove": ("doc",),
    "reject": ("doc", "session", "code", "text"),
    "reply_state": ("doc", "session", "model", "properties"),
    "notify": ("doc", "session", "message"),
    "done": ("session",),
    "download": ("doc", "session", "message"),
    # hub -> producer
    "input": ("doc", "session", "message"),
    "left": ("doc", "session"),
    "error": ("code", "message"),
}


#: envelope keys holding a wrapped protocol message
_WRAPPED: dict[str, tuple[str, ...]] = {
    "create": ("spec",),
    "publish": ("message",),
    "notify": ("message",),
    "input": ("message",),
    "download": ("message",),
}


def encode_envelope(kind: str, **fields: Any) -> Frame:
    """One producer-channel frame: ``{"v": 1, "type": kind, ...fields}``.

    A wrapped message (``spec``, ``message``) is given as a ``Message`` and
    travels as its wire object, its arrays as binary buffers whose paths
    start at the envelope (``["message", "data", "x"]``).
    """
    obj: dict[str, Any] = {"v": 1, "type": kind}
    for key, value in fields.items():
        obj[key] = value.to_dict() if isinstance(value, Message) else value
    return encode(obj)


def decode_envelope(data: str | bytes) -> dict[str, Any]:
    """Decode and check one producer-channel frame.

    Wrapped messages (``spec``, ``message``) come back as validated
    ``Message`` objects; a broken frame raises ``ProtocolError``.
    """
    obj = _load_object(data) if isinstance(data, str) else _decode_binary_object(bytes(data))
    if obj.get("v") != 1 or isinstance(obj.get("v"), bool):
        raise ProtocolError("bad_version", f"producer protocol version {obj.get('v')!r}")
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in _ENVELOPES:
        raise ProtocolError("unknown_type", f"unknown producer message type {str(kind)[:64]!r}")
    for key in _ENVELOPES[kind]:
        if key not in obj:
            raise ProtocolError("bad_message", f"{kind} needs {key!r}")
    for key in ("doc", "session", "code", "model"):
        if key in obj and not isinstance(obj[key], str):
            raise ProtocolError("bad_message", f"{kind}.{key} must be a string")
    for key in _WRAPPED.get(kind, ()):
        if key in obj:
            if not isinstance(obj[key], dict):
                raise ProtocolError("bad_message", f"{kind}.{key} must be a message object")
            obj[key] = from_dict(obj[key])
    return obj
