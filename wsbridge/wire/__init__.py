"""The wire: messages, their text/binary codec, chunked arrays, the producer envelope.

Sans I/O and light: this package imports numpy and orjson and nothing else
(no Tornado, no traitlets), so a third-party client or a test can use it
alone. docs/protocol.md is its specification.
"""

from __future__ import annotations

from ..errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from .chunks import MIN_REFERENCED_BYTES, Chunks
from .codec import (
    DTYPES,
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    SEQUENCED,
    Frame,
    decode,
    encode,
    from_dict,
    to_wire_array,
)
from .messages import (
    Add,
    Custom,
    Dev,
    Error,
    Message,
    Notify,
    Patch,
    Sequenced,
    Snapshot,
    SourcePatch,
    SourceReplace,
    Stream,
    Welcome,
)
from .packed import Packed
from .requests import Ack, Event, Hello, Set

__all__ = [
    "DTYPES",
    "MESSAGE_TYPES",
    "MIN_REFERENCED_BYTES",
    "PROTOCOL_VERSION",
    "SEQUENCED",
    "Ack",
    "Add",
    "Chunks",
    "Custom",
    "Dev",
    "Error",
    "Event",
    "Frame",
    "Hello",
    "LocalProtocolError",
    "Message",
    "Notify",
    "Packed",
    "Patch",
    "ProtocolError",
    "RemoteProtocolError",
    "Sequenced",
    "Set",
    "Snapshot",
    "SourcePatch",
    "SourceReplace",
    "Stream",
    "Welcome",
    "decode",
    "encode",
    "from_dict",
    "to_wire_array",
]
