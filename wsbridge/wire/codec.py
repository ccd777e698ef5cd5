"""The wsbridge wire protocol, sans I/O.

Pure code from frames (``str`` or ``bytes``) to message objects and back, in
the spirit of python-websockets' ``protocol.py`` and h11's ``_events.py``:
nothing here knows about sockets, event loops or Tornado, so every rule of
docs/protocol.md is tested without a network.

The messages themselves (frozen dataclasses that validate themselves) live
in ``messages.py`` and ``requests.py``. Arrays (numpy) anywhere inside a
message travel as 8-byte-aligned binary buffers (docs/protocol.md "Binary frames"); the
encoder finds them, the decoder puts read-only ``numpy`` views of the frame
back in their place without copying.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import orjson

from ..errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from .chunks import MIN_REFERENCED_BYTES, Chunks, immutable
from .files import Download, Upload, UploadAck, UploadChunk, UploadDone, UploadStart
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
    "PROTOCOL_VERSION",
    "SEQUENCED",
    "Frame",
    "decode",
    "encode",
    "from_dict",
    "to_wire_array",
]

PROTOCOL_VERSION = 1

#: dtype names allowed on the wire (docs/protocol.md "Binary frames"), all
#: little-endian. Anything else (object, strings, complex, big-endian after
#: conversion) is refused.
DTYPES: dict[str, np.dtype[Any]] = {
    name: np.dtype(name).newbyteorder("<")
    for name in (
        "bool",
        "int8",
        "uint8",
        "int16",
        "uint16",
        "int32",
        "uint32",
        "int64",
        "uint64",
        "float32",
        "float64",
    )
}
_DTYPE_NAMES: dict[str, str] = {DTYPES[n].str: n for n in DTYPES}

_U32 = struct.Struct("<I")
#: at most this many buffers of a frame are referenced rather than joined
#: (each is one ``sendmsg`` buffer; IOV_MAX is 1024)
_MAX_REFERENCED = 64
_PAD = bytes(8)


class Frame:
    """One WebSocket message ready to write: its payload and opcode kind.

    ``parts`` is the payload as buffers in order; ``size`` their total
    length. ``encode`` leaves the arrays of a binary frame out of the joined
    prefix when they are immutable (a ``DataSource``'s frozen copies), so a
    writer hands prefix and arrays to the kernel in one ``sendmsg`` without
    first copying every array into one ``bytes`` (profiled: a fifth of the
    hub's time per stream of 10,000 float64). ``data`` joins the parts once,
    on first use (a TLS or compressed write, the backplane, tests) and is
    then what every later reader gets: the bytes never differ between
    clients.
    """

    __slots__ = ("_data", "binary", "parts", "size")

    def __init__(
        self,
        data: bytes | None,
        binary: bool,
        parts: tuple[bytes | memoryview, ...] | None = None,
    ):
        self.binary = binary
        self._data = data
        if data is not None:
            self.parts: tuple[bytes | memoryview, ...] = (data,)
            self.size = len(data)
        else:
            assert parts is not None
            self.parts = parts
            self.size = sum(len(p) for p in parts)

    @property
    def data(self) -> bytes:
        """The whole payload as one ``bytes`` (joined on first use)."""
        if self._data is None:
            self._data = b"".join(self.parts)
            self.parts = (self._data,)
        return self._data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return self.binary == other.binary and self.data == other.data

    def __hash__(self) -> int:
        return hash((self.data, self.binary))

    def __repr__(self) -> str:
        return f"Frame(<{self.size} bytes>, binary={self.binary})"


# --------------------------------------------------------------------------
# arrays


def to_wire_array(value: Any) -> np.ndarray:
    """Return ``value`` as a C-contiguous little-endian array of a wire dtype.

    ``datetime64`` becomes float64 milliseconds since the epoch (NaT -> NaN),
    as Bokeh does. Raises ``ValueError`` for anything that cannot travel
    (object, string, complex dtypes).
    """
    arr = np.asarray(value)
    kind = arr.dtype.kind
    if kind == "M":
        ms = arr.astype("datetime64[ns]").astype(np.int64).astype(np.float64) / 1e6
        ms[np.isnat(arr)] = np.nan
        arr = ms
    elif kind == "m":
        arr = arr.astype("timedelta64[ns]").astype(np.int64).astype(np.float64) / 1e6
    kind = arr.dtype.kind
    name = _DTYPE_NAMES.get(arr.dtype.newbyteorder("<").str) if kind in "biuf" else None
    if name is None:
        raise ValueError(f"dtype {arr.dtype} cannot travel; allowed: {', '.join(DTYPES)}")
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return np.ascontiguousarray(arr)


_SCALARS = frozenset((str, int, float, bool, type(None)))
_CONTAINERS = (np.ndarray, dict, list, tuple, np.generic, Packed)


def _extract(value: Any, path: list[str | int], out: list[tuple[list[str | int], Any]]) -> Any:
    """Copy of ``value`` with arrays replaced by None; arrays go to ``out``.

    On the hot path (every message is encoded once, on the hub thread that
    shares the GIL with the producer): dispatch is on the exact type first,
    scalars inside dicts are copied without a recursive call (a stream's
    header is six scalars and one dict of arrays), lists of scalars (string
    columns) are returned as they are, and arrays already in wire form are
    not converted again.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        res: dict[str, Any] = {}
        for k, v in value.items():
            if type(v) in _SCALARS:
                res[k] = v
            else:
                path.append(k)
                res[k] = _extract(v, path, out)
                path.pop()
        return res
    if kind is Chunks:  # a run of frozen arrays, one buffer on the wire
        out.append((list(path), value))
        return None
    if kind is np.ndarray or isinstance(value, np.ndarray):
        if not (value.flags.c_contiguous and value.dtype.str in _DTYPE_NAMES):
            value = to_wire_array(value)
        out.append((list(path), value))
        return None
    if kind is list and not any(isinstance(v, _CONTAINERS) for v in value):
        return value
    if kind is Packed:  # a packed column: its parts, each array a buffer
        return _extract(value.to_wire(), path, out)
    if isinstance(value, dict):
        res = {}
        for k, v in value.items():
            path.append(k)
            res[k] = _extract(v, path, out)
            path.pop()
        return res
    if isinstance(value, (list, tuple)):
        items = []
        for i, v in enumerate(value):
            path.append(i)
            items.append(_extract(v, path, out))
            path.pop()
        return items
    if isinstance(value, np.generic):
        return value.item()
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(obj: Any) -> bytes:
    try:
        return orjson.dumps(obj, default=_json_default)
    except TypeError as exc:  # orjson's JSONEncodeError: our own message cannot travel
        raise LocalProtocolError("invalid_value", f"cannot encode message: {exc}") from None


# --------------------------------------------------------------------------
# encode / decode


def encode(message: Message | dict[str, Any]) -> Frame:
    """Encode a message into one frame: text unless it holds arrays.

    Mutable buffers are joined into the frame with one copy (``bytes.join``
    of memoryviews); large immutable ones are referenced, not copied
    (``Frame``), and so are the arrays of a ``Chunks`` column, written back
    to back as one buffer (``wire.chunks``).
    The frame is built once and can be written to any number of clients.
    The layout (each buffer's 8-byte-aligned offset) is computed in one
    pass over the arrays, and the header entries are built with their keys
    in wire order, so the frame is built with as little Python work per
    message as the format allows (the hub thread encodes every message).
    """
    d = message.to_dict() if isinstance(message, Message) else message
    found: list[tuple[list[str | int], Any]] = []
    header = _extract(d, [], found)
    if not found:
        return Frame(_dumps(header), False)
    entries: list[dict[str, Any]] = []
    relative: list[int] = []
    body: list[Any] = []
    offset = 0
    referenced = True  # may the frame keep every array by reference?
    for path, arr in found:
        nbytes = arr.nbytes
        dtype = arr.dtype
        entries.append(
            {
                "path": path,
                "dtype": "bool" if dtype.kind == "b" else _DTYPE_NAMES[dtype.str],
                "shape": list(arr.shape),
                "length": nbytes,
                "offset": 0,
            }
        )
        relative.append(offset)
        if type(arr) is Chunks:  # its arrays back to back: one buffer, no copy yet
            body.extend([a.data.cast("B") for a in arr.arrays])
        elif nbytes:
            body.append(memoryview(arr).cast("B"))
            referenced = referenced and immutable(arr)
        # else a zero-size array of any shape (an empty 2-D column): no bytes,
        # and no view (a memoryview cannot cast a shape holding a 0)
        referenced = referenced and nbytes >= MIN_REFERENCED_BYTES
        pad = -nbytes & 7
        if pad:
            body.append(_PAD[:pad])
        offset += nbytes + pad
    header["$buffers"] = entries
    # The header's own length depends on the offsets written into it; grow
    # the base until it is stable (at most a couple of rounds).
    base = 0
    while True:
        for entry, rel in zip(entries, relative, strict=True):
            entry["offset"] = base + rel
        head = _dumps(header)
        need = (4 + len(head) + 7) & ~7
        if need == base:
            break
        base = need
    prefix = b"".join((_U32.pack(len(head)), head, _PAD[: base - 4 - len(head)]))
    if referenced and len(body) <= _MAX_REFERENCED:
        return Frame(None, True, (prefix, *body))
    return Frame(b"".join([prefix, *body]), True)


def _loads(data: bytes | str) -> dict[str, Any]:
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError("bad_json", f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_json", "a message must be a JSON object")
    return obj


def _place(obj: dict[str, Any], path: Any, value: Any) -> None:
    if not isinstance(path, list) or not path:
        raise ProtocolError("bad_frame", "buffer path must be a non-empty list")
    target: Any = obj
    for step in path[:-1]:
        target = _step(target, step)
    last = path[-1]
    if isinstance(target, dict) and isinstance(last, str):
        if target.get(last) is not None:
            raise ProtocolError("bad_frame", f"buffer path {path!r} points at a non-null value")
        target[last] = value
    elif isinstance(target, list) and isinstance(last, int) and not isinstance(last, bool):
        if not 0 <= last < len(target) or target[last] is not None:
            raise ProtocolError("bad_frame", f"buffer path {path!r} is not a null list item")
        target[last] = value
    else:
        raise ProtocolError("bad_frame", f"buffer path {path!r} does not fit the header")


def _step(target: Any, step: Any) -> Any:
    if isinstance(target, dict) and isinstance(step, str) and step in target:
        return target[step]
    if (
        isinstance(target, list)
        and isinstance(step, int)
        and not isinstance(step, bool)
        and 0 <= step < len(target)
    ):
        return target[step]
    raise ProtocolError("bad_frame", "buffer path does not fit the header")


def _decode_binary(data: bytes) -> dict[str, Any]:
    size = len(data)
    if size < 4:
        raise ProtocolError("bad_frame", "binary frame shorter than its header length field")
    (hlen,) = _U32.unpack_from(data, 0)
    if hlen == 0 or 4 + hlen > size:
        raise ProtocolError("bad_frame", f"header length {hlen} does not fit a {size}-byte frame")
    obj = _loads(data[4 : 4 + hlen])
    entries = obj.pop("$buffers", [])
    if not isinstance(entries, list):
        raise ProtocolError("bad_frame", "header '$buffers' must be a list")
    view = memoryview(data)
    floor = 4 + hlen
    for entry in entries:
        if not isinstance(entry, dict):
            raise ProtocolError("bad_frame", "each buffer entry must be an object")
        dtype = DTYPES.get(entry.get("dtype"))  # type: ignore[arg-type]
        if dtype is None:
            raise ProtocolError("bad_frame", f"dtype {entry.get('dtype')!r} is not allowed")
        offset, length, shape = entry.get("offset"), entry.get("length"), entry.get("shape")
        for name, val in (("offset", offset), ("length", length)):
            if not isinstance(val, int) or isinstance(val, bool) or val < 0:
                raise ProtocolError("bad_frame", f"buffer {name} must be a non-negative integer")
        assert isinstance(offset, int) and isinstance(length, int)
        if offset % 8:
            raise ProtocolError("bad_frame", f"buffer offset {offset} is not 8-byte aligned")
        if offset < floor or offset + length > size:
            raise ProtocolError("bad_frame", f"buffer [{offset}, +{length}) is out of bounds")
        if not isinstance(shape, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
        ):
            raise ProtocolError("bad_frame", "buffer shape must be a list of non-negative integers")
        count = 1
        for n in shape:
            count *= n
        if count * dtype.itemsize != length:
            raise ProtocolError("bad_frame", f"buffer length {length} does not match its shape")
        arr = np.frombuffer(view, dtype=dtype, count=count, offset=offset).reshape(shape)
        _place(obj, entry.get("path"), arr)
        floor = offset + length
    return obj


def decode(data: bytes | str) -> Message:
    """Decode one frame into a validated message, or raise RemoteProtocolError.

    ``str`` is a text frame, ``bytes`` a binary one (docs/protocol.md). The
    arrays of a binary frame are read-only views of ``data``.
    """
    try:
        if isinstance(data, str):
            obj = _loads(data)
        elif isinstance(data, (bytes, bytearray, memoryview)):
            obj = _decode_binary(bytes(data) if not isinstance(data, bytes) else data)
        else:  # pragma: no cover - programming error
            raise TypeError("a frame is str or bytes")
        return from_dict(obj)
    except RemoteProtocolError:
        raise
    except ProtocolError as exc:  # the same checks as for our own messages, on the peer's
        raise RemoteProtocolError.of(exc) from exc


def from_dict(obj: dict[str, Any]) -> Message:
    """Validate a decoded JSON object (arrays already in place)."""
    kind = obj.get("type")
    ref = {"type": kind} if isinstance(kind, str) else None
    if "v" not in obj:
        raise ProtocolError("bad_message", "message lacks 'v'", ref)
    if obj["v"] != PROTOCOL_VERSION or isinstance(obj["v"], bool):
        raise ProtocolError(
            "bad_version",
            f"protocol version {obj['v']!r} is not supported (this hub speaks 1)",
            ref,
        )
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", "message lacks a string 'type'")
    cls = MESSAGE_TYPES.get(kind)
    if cls is None:
        raise ProtocolError("unknown_type", f"unknown message type {kind[:64]!r}", ref)
    try:
        return cls.from_dict(obj)
    except ProtocolError as exc:
        if exc.ref is None:
            exc.ref = _ref_of(obj)
        raise


def _ref_of(obj: dict[str, Any]) -> dict[str, Any]:
    ref: dict[str, Any] = {"type": obj.get("type")}
    for key in ("model", "req", "name"):
        if isinstance(obj.get(key), (str, int)) and not isinstance(obj.get(key), bool):
            ref[key] = obj[key]
    return ref


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.type: cls
    for cls in (
        Hello,
        Welcome,
        Snapshot,
        Add,
        Patch,
        Stream,
        SourcePatch,
        SourceReplace,
        Custom,
        Notify,
        Dev,
        Error,
        Set,
        Event,
        Ack,
        # files (wire.files): none of them sequenced
        UploadStart,
        UploadChunk,
        UploadAck,
        UploadDone,
        Upload,
        Download,
    )
}


#: message types that carry and advance the document's seq
SEQUENCED = frozenset(cls.type for cls in MESSAGE_TYPES.values() if issubclass(cls, Sequenced))
