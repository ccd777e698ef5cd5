"""The wsbridge wire protocol, sans I/O.

Pure code from frames (``str`` or ``bytes``) to message objects and back, in
the spirit of python-websockets' ``protocol.py`` and h11's ``_events.py``:
nothing here knows about sockets, event loops or Tornado, so every rule of
docs/protocol.md is tested without a network.

Messages are small frozen dataclasses that validate themselves on
construction, so an invalid message can neither be decoded from the network
nor built by our own code. Arrays (numpy) anywhere inside a message travel
as 8-byte-aligned binary buffers (docs/protocol.md "Binary frames"); the
encoder finds them, the decoder puts read-only ``numpy`` views of the frame
back in their place without copying.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np
import orjson

__all__ = [
    "DTYPES",
    "ERROR_CODES",
    "PROTOCOL_VERSION",
    "SEQUENCED",
    "Ack",
    "Add",
    "Custom",
    "Error",
    "Event",
    "Frame",
    "Hello",
    "Message",
    "Patch",
    "ProtocolError",
    "Set",
    "Snapshot",
    "SourcePatch",
    "SourceReplace",
    "Stream",
    "Welcome",
    "decode",
    "encode",
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
    "internal": 1011,
}

_U32 = struct.Struct("<I")
_PAD = bytes(8)


class ProtocolError(ValueError):
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

    @property
    def close_code(self) -> int | None:
        return ERROR_CODES[self.code]


class Frame(NamedTuple):
    """One WebSocket message ready to write: payload bytes and opcode kind."""

    data: bytes
    binary: bool


# --------------------------------------------------------------------------
# small validators (each raises ProtocolError("bad_message"))


def _req(d: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if key not in d:
        raise ProtocolError("bad_message", f"{what} needs {key!r}")
    value = d[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ProtocolError("bad_message", f"{what}.{key} has the wrong type")
    return value


def _opt(d: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ProtocolError("bad_message", f"{what}.{key} has the wrong type")
    return value


def _check_id(value: Any, what: str) -> None:
    if not isinstance(value, str) or not value or len(value) > 256:
        raise ProtocolError("bad_message", f"{what} must be a non-empty string")


def _check_seq(value: Any, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError("bad_message", f"{what} must be a non-negative integer")


def _check_state(value: Any, what: str) -> None:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ProtocolError("bad_message", f"{what} must be an object")


def _check_specs(models: Any, sources: Any, what: str) -> None:
    _check_state(models, f"{what}.models")
    for mid, spec in models.items():
        _check_id(mid, f"{what} model id")
        if not isinstance(spec, dict):
            raise ProtocolError("bad_message", f"{what}.models[{mid!r}] must be an object")
        _check_id(spec.get("type"), f"{what}.models[{mid!r}].type")
        _check_state(spec.get("state"), f"{what}.models[{mid!r}].state")
    _check_state(sources, f"{what}.sources")
    for sid, spec in sources.items():
        _check_id(sid, f"{what} source id")
        if not isinstance(spec, dict):
            raise ProtocolError("bad_message", f"{what}.sources[{sid!r}] must be an object")
        _check_columns(spec.get("data"), f"{what}.sources[{sid!r}].data")


def _check_columns(data: Any, what: str) -> None:
    _check_state(data, what)
    for name, col in data.items():
        if not isinstance(col, (np.ndarray, list)):
            raise ProtocolError("bad_message", f"{what}[{name!r}] must be an array or a list")


# --------------------------------------------------------------------------
# messages


@dataclass(frozen=True, slots=True)
class Message:
    """Base of every message; ``type`` is the wire name."""

    type: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Hello(Message):
    """Client -> hub, first message: which document, which resume point."""

    type: ClassVar[str] = "hello"
    doc: str
    token: str | None = None
    epoch: str | None = None
    seq: int | None = None

    def __post_init__(self) -> None:
        _check_id(self.doc, "hello.doc")
        if self.token is not None and not isinstance(self.token, str):
            raise ProtocolError("bad_message", "hello.token must be a string")
        if self.epoch is not None and not isinstance(self.epoch, str):
            raise ProtocolError("bad_message", "hello.epoch must be a string")
        if self.seq is not None:
            _check_seq(self.seq, "hello.seq")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"v": 1, "type": "hello", "doc": self.doc}
        if self.token is not None:
            d["token"] = self.token
        if self.epoch is not None:
            d["epoch"] = self.epoch
            d["seq"] = self.seq
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hello:
        return cls(
            doc=_req(d, "doc", str, "hello"),
            token=_opt(d, "token", str, "hello"),
            epoch=_opt(d, "epoch", str, "hello"),
            seq=_opt(d, "seq", int, "hello"),
        )


@dataclass(frozen=True, slots=True)
class Welcome(Message):
    """Hub -> client answer to ``hello``; a replay or a snapshot follows."""

    type: ClassVar[str] = "welcome"
    doc: str
    epoch: str
    seq: int
    session: str
    resumed: bool
    title: str = ""
    limits: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_id(self.doc, "welcome.doc")
        _check_id(self.epoch, "welcome.epoch")
        _check_seq(self.seq, "welcome.seq")
        _check_id(self.session, "welcome.session")

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": 1,
            "type": "welcome",
            "doc": self.doc,
            "epoch": self.epoch,
            "seq": self.seq,
            "session": self.session,
            "resumed": self.resumed,
            "title": self.title,
            "limits": self.limits,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Welcome:
        return cls(
            doc=_req(d, "doc", str, "welcome"),
            epoch=_req(d, "epoch", str, "welcome"),
            seq=_req(d, "seq", int, "welcome"),
            session=_req(d, "session", str, "welcome"),
            resumed=_req(d, "resumed", bool, "welcome"),
            title=_opt(d, "title", str, "welcome") or "",
            limits=_opt(d, "limits", dict, "welcome") or {},
        )


@dataclass(frozen=True, slots=True)
class Snapshot(Message):
    """The whole document at ``seq``: models, sources, layout root."""

    type: ClassVar[str] = "snapshot"
    doc: str
    epoch: str
    seq: int
    models: dict[str, dict[str, Any]]
    sources: dict[str, dict[str, Any]]
    root: str | None = None
    title: str = ""

    def __post_init__(self) -> None:
        _check_id(self.doc, "snapshot.doc")
        _check_id(self.epoch, "snapshot.epoch")
        _check_seq(self.seq, "snapshot.seq")
        _check_specs(self.models, self.sources, "snapshot")
        if self.root is not None:
            _check_id(self.root, "snapshot.root")

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": 1,
            "type": "snapshot",
            "doc": self.doc,
            "epoch": self.epoch,
            "seq": self.seq,
            "title": self.title,
            "root": self.root,
            "models": self.models,
            "sources": self.sources,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Snapshot:
        return cls(
            doc=_req(d, "doc", str, "snapshot"),
            epoch=_req(d, "epoch", str, "snapshot"),
            seq=_req(d, "seq", int, "snapshot"),
            models=_req(d, "models", dict, "snapshot"),
            sources=_req(d, "sources", dict, "snapshot"),
            root=_opt(d, "root", str, "snapshot"),
            title=_opt(d, "title", str, "snapshot") or "",
        )


@dataclass(frozen=True, slots=True)
class Add(Message):
    """New models and/or sources joined the document (and maybe a new root)."""

    type: ClassVar[str] = "add"
    seq: int
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    root: str | None = None
    title: str | None = None

    def __post_init__(self) -> None:
        _check_seq(self.seq, "add.seq")
        _check_specs(self.models, self.sources, "add")
        if self.root is not None:
            _check_id(self.root, "add.root")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"v": 1, "type": "add", "seq": self.seq}
        d["models"] = self.models
        d["sources"] = self.sources
        if self.root is not None:
            d["root"] = self.root
        if self.title is not None:
            d["title"] = self.title
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Add:
        return cls(
            seq=_req(d, "seq", int, "add"),
            models=_opt(d, "models", dict, "add") or {},
            sources=_opt(d, "sources", dict, "add") or {},
            root=_opt(d, "root", str, "add"),
            title=_opt(d, "title", str, "add"),
        )


@dataclass(frozen=True, slots=True)
class Patch(Message):
    """Changed properties of one model (canonical values)."""

    type: ClassVar[str] = "patch"
    seq: int
    model: str
    state: dict[str, Any]
    origin: dict[str, Any] | None = None
    reply: bool = False

    def __post_init__(self) -> None:
        _check_seq(self.seq, "patch.seq")
        _check_id(self.model, "patch.model")
        _check_state(self.state, "patch.state")
        if self.origin is not None:
            _check_id(self.origin.get("session"), "patch.origin.session")
            _check_seq(self.origin.get("req"), "patch.origin.req")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "v": 1,
            "type": "patch",
            "seq": self.seq,
            "model": self.model,
            "state": self.state,
        }
        if self.origin is not None:
            d["origin"] = self.origin
        if self.reply:
            d["reply"] = True
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Patch:
        return cls(
            seq=_req(d, "seq", int, "patch"),
            model=_req(d, "model", str, "patch"),
            state=_req(d, "state", dict, "patch"),
            origin=_opt(d, "origin", dict, "patch"),
            reply=bool(_opt(d, "reply", bool, "patch")),
        )


@dataclass(frozen=True, slots=True)
class Stream(Message):
    """Rows appended to every column of a source, then cut to ``rollover``."""

    type: ClassVar[str] = "stream"
    seq: int
    source: str
    data: dict[str, Any]
    rollover: int | None = None

    def __post_init__(self) -> None:
        _check_seq(self.seq, "stream.seq")
        _check_id(self.source, "stream.source")
        _check_columns(self.data, "stream.data")
        if self.rollover is not None:
            _check_seq(self.rollover, "stream.rollover")

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": 1,
            "type": "stream",
            "seq": self.seq,
            "source": self.source,
            "data": self.data,
            "rollover": self.rollover,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Stream:
        return cls(
            seq=_req(d, "seq", int, "stream"),
            source=_req(d, "source", str, "stream"),
            data=_req(d, "data", dict, "stream"),
            rollover=_opt(d, "rollover", int, "stream"),
        )


def _check_patches(patches: Any) -> None:
    _check_state(patches, "source_patch.patches")
    for col, items in patches.items():
        if not isinstance(items, list):
            raise ProtocolError("bad_message", f"source_patch.patches[{col!r}] must be a list")
        for item in items:
            if not isinstance(item, list) or len(item) != 2:
                raise ProtocolError("bad_message", "each source patch is an [index, value] pair")
            index, value = item
            if isinstance(index, dict):
                for key in ("start", "stop", "step"):
                    _check_seq(index.get(key), f"source_patch slice {key}")
                if index["step"] < 1:
                    raise ProtocolError("bad_message", "source_patch slice step must be >= 1")
                count = len(range(index["start"], index["stop"], index["step"]))
                if not isinstance(value, (np.ndarray, list)) or len(value) != count:
                    raise ProtocolError(
                        "bad_message", "source_patch slice value must hold one item per index"
                    )
            else:
                _check_seq(index, "source_patch index")


@dataclass(frozen=True, slots=True)
class SourcePatch(Message):
    """Elements of source columns replaced in place (docs/protocol.md)."""

    type: ClassVar[str] = "source_patch"
    seq: int
    source: str
    patches: dict[str, list[list[Any]]]

    def __post_init__(self) -> None:
        _check_seq(self.seq, "source_patch.seq")
        _check_id(self.source, "source_patch.source")
        _check_patches(self.patches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": 1,
            "type": "source_patch",
            "seq": self.seq,
            "source": self.source,
            "patches": self.patches,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SourcePatch:
        return cls(
            seq=_req(d, "seq", int, "source_patch"),
            source=_req(d, "source", str, "source_patch"),
            patches=_req(d, "patches", dict, "source_patch"),
        )


@dataclass(frozen=True, slots=True)
class SourceReplace(Message):
    """A source's whole data replaced."""

    type: ClassVar[str] = "source_replace"
    seq: int
    source: str
    data: dict[str, Any]

    def __post_init__(self) -> None:
        _check_seq(self.seq, "source_replace.seq")
        _check_id(self.source, "source_replace.source")
        _check_columns(self.data, "source_replace.data")

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": 1,
            "type": "source_replace",
            "seq": self.seq,
            "source": self.source,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SourceReplace:
        return cls(
            seq=_req(d, "seq", int, "source_replace"),
            source=_req(d, "source", str, "source_replace"),
            data=_req(d, "data", dict, "source_replace"),
        )


@dataclass(frozen=True, slots=True)
class Custom(Message):
    """anywidget-style custom message; ``seq`` is None from a client."""

    type: ClassVar[str] = "custom"
    model: str
    content: Any = None
    buffers: list[np.ndarray] = field(default_factory=list)
    seq: int | None = None

    def __post_init__(self) -> None:
        _check_id(self.model, "custom.model")
        if self.seq is not None:
            _check_seq(self.seq, "custom.seq")
        if not isinstance(self.buffers, list) or not all(
            isinstance(b, np.ndarray) for b in self.buffers
        ):
            raise ProtocolError("bad_message", "custom.buffers must be a list of binary buffers")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "v": 1,
            "type": "custom",
            "model": self.model,
            "content": self.content,
            "buffers": list(self.buffers),
        }
        if self.seq is not None:
            d["seq"] = self.seq
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Custom:
        return cls(
            model=_req(d, "model", str, "custom"),
            content=d.get("content"),
            buffers=_opt(d, "buffers", list, "custom") or [],
            seq=_opt(d, "seq", int, "custom"),
        )


@dataclass(frozen=True, slots=True)
class Error(Message):
    """Hub -> client: something was refused; see :data:`ERROR_CODES`."""

    type: ClassVar[str] = "error"
    code: str
    message: str
    seq: int = 0
    ref: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        _check_id(self.code, "error.code")
        if not isinstance(self.message, str):
            raise ProtocolError("bad_message", "error.message must be a string")
        _check_seq(self.seq, "error.seq")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "v": 1,
            "type": "error",
            "seq": self.seq,
            "code": self.code,
            "message": self.message,
        }
        if self.ref is not None:
            d["ref"] = self.ref
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Error:
        return cls(
            code=_req(d, "code", str, "error"),
            message=_req(d, "message", str, "error"),
            seq=_opt(d, "seq", int, "error") or 0,
            ref=_opt(d, "ref", dict, "error"),
        )


@dataclass(frozen=True, slots=True)
class Set(Message):
    """Client -> hub: the user changed properties of a model."""

    type: ClassVar[str] = "set"
    model: str
    state: dict[str, Any]
    req: int = 0

    def __post_init__(self) -> None:
        _check_id(self.model, "set.model")
        _check_state(self.state, "set.state")
        if not self.state:
            raise ProtocolError("bad_message", "set.state must not be empty")
        _check_seq(self.req, "set.req")

    def to_dict(self) -> dict[str, Any]:
        return {"v": 1, "type": "set", "model": self.model, "state": self.state, "req": self.req}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Set:
        return cls(
            model=_req(d, "model", str, "set"),
            state=_req(d, "state", dict, "set"),
            req=_opt(d, "req", int, "set") or 0,
        )


@dataclass(frozen=True, slots=True)
class Event(Message):
    """Client -> hub: a declared event fired (a click...)."""

    type: ClassVar[str] = "event"
    model: str
    name: str
    data: Any = None

    def __post_init__(self) -> None:
        _check_id(self.model, "event.model")
        _check_id(self.name, "event.name")

    def to_dict(self) -> dict[str, Any]:
        return {"v": 1, "type": "event", "model": self.model, "name": self.name, "data": self.data}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Event:
        return cls(
            model=_req(d, "model", str, "event"),
            name=_req(d, "name", str, "event"),
            data=d.get("data"),
        )


@dataclass(frozen=True, slots=True)
class Ack(Message):
    """Client -> hub: the last ``seq`` applied (reported, never required)."""

    type: ClassVar[str] = "ack"
    seq: int

    def __post_init__(self) -> None:
        _check_seq(self.seq, "ack.seq")

    def to_dict(self) -> dict[str, Any]:
        return {"v": 1, "type": "ack", "seq": self.seq}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ack:
        return cls(seq=_req(d, "seq", int, "ack"))


_TYPES: dict[str, type[Message]] = {
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
        Error,
        Set,
        Event,
        Ack,
    )
}

#: message types that carry and advance the document's seq
SEQUENCED = frozenset(
    {"snapshot", "add", "patch", "stream", "source_patch", "source_replace", "custom"}
)


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


def _wire_dtype_name(arr: np.ndarray) -> str:
    if arr.dtype.kind == "b":
        return "bool"
    return _DTYPE_NAMES[arr.dtype.str]


def _extract(value: Any, path: list[str | int], out: list[tuple[list[str | int], Any]]) -> Any:
    """Copy of ``value`` with arrays replaced by None; arrays go to ``out``."""
    if isinstance(value, np.ndarray):
        out.append((list(path), to_wire_array(value)))
        return None
    if isinstance(value, dict):
        res: dict[str, Any] = {}
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
    except TypeError as exc:
        raise ValueError(f"cannot encode message: {exc}") from None


# --------------------------------------------------------------------------
# encode / decode


def encode(message: Message | dict[str, Any]) -> Frame:
    """Encode a message into one frame: text unless it holds arrays.

    The buffers are joined into the frame with one copy (``bytes.join`` of
    memoryviews); the frame is built once and can be written to any number
    of clients.
    """
    d = message.to_dict() if isinstance(message, Message) else message
    found: list[tuple[list[str | int], Any]] = []
    header = _extract(d, [], found)
    if not found:
        return Frame(_dumps(header), False)
    relative, offset = [], 0
    for _, arr in found:
        relative.append(offset)
        offset += (arr.nbytes + 7) & ~7
    entries = [
        {
            "path": path,
            "dtype": _wire_dtype_name(arr),
            "shape": list(arr.shape),
            "length": arr.nbytes,
        }
        for path, arr in found
    ]
    # The header's own length depends on the offsets written into it; grow
    # the base until it is stable (at most a couple of rounds).
    base = 0
    while True:
        for entry, rel in zip(entries, relative, strict=True):
            entry["offset"] = base + rel
        header["$buffers"] = entries
        head = _dumps(header)
        need = (4 + len(head) + 7) & ~7
        if need == base:
            break
        base = need
    parts: list[Any] = [_U32.pack(len(head)), head, _PAD[: base - 4 - len(head)]]
    for _, arr in found:
        parts.append(memoryview(arr).cast("B"))
        pad = -arr.nbytes & 7
        if pad:
            parts.append(_PAD[:pad])
    return Frame(b"".join(parts), True)


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
    """Decode one frame into a validated message, or raise ProtocolError.

    ``str`` is a text frame, ``bytes`` a binary one (docs/protocol.md). The
    arrays of a binary frame are read-only views of ``data``.
    """
    if isinstance(data, str):
        obj = _loads(data)
    elif isinstance(data, (bytes, bytearray, memoryview)):
        obj = _decode_binary(bytes(data) if not isinstance(data, bytes) else data)
    else:  # pragma: no cover - programming error
        raise TypeError("a frame is str or bytes")
    return from_dict(obj)


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
    cls = _TYPES.get(kind)
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
