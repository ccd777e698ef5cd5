"""Protocol messages: small frozen dataclasses that validate themselves.

Like h11's ``_events.py``: a message that breaks docs/protocol.md can be
neither decoded from the network nor built by our own code, because every
constructor checks its fields and raises :class:`ProtocolError`. The
framing (text and binary frames, buffers) lives in ``protocol.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from .chunks import Chunks

__all__ = [
    "ERROR_CODES",
    "MESSAGE_TYPES",
    "SEQUENCED",
    "Ack",
    "Add",
    "Custom",
    "Error",
    "Event",
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
    "unchecked",
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
    "internal": 1011,
}


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


def _check_first(first: Any, seq: int, what: str) -> None:
    if first is not None:
        _check_seq(first, f"{what}.first")
        if first > seq:
            raise ProtocolError("bad_message", f"{what}.first must not exceed its seq")


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
        if not isinstance(col, (np.ndarray, list, Chunks)):
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


M = TypeVar("M", bound=Message)


def unchecked(cls: type[M], **fields: Any) -> M:
    """A message of ``cls`` from fields already checked, without running its
    ``__post_init__`` again. For hot paths only: the hub sequencing a
    producer's message, ``DataSource.stream`` building one from columns it
    has just checked. Every field must be given."""
    out = object.__new__(cls)
    for name, value in fields.items():
        object.__setattr__(out, name, value)
    return out


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
    #: set when this patch stands for several coalesced ones: the first's seq
    first: int | None = None

    def __post_init__(self) -> None:
        _check_seq(self.seq, "patch.seq")
        _check_id(self.model, "patch.model")
        _check_state(self.state, "patch.state")
        if self.origin is not None:
            _check_id(self.origin.get("session"), "patch.origin.session")
            _check_seq(self.origin.get("req"), "patch.origin.req")
        _check_first(self.first, self.seq, "patch")

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
        if self.first is not None:
            d["first"] = self.first
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Patch:
        return cls(
            seq=_req(d, "seq", int, "patch"),
            model=_req(d, "model", str, "patch"),
            state=_req(d, "state", dict, "patch"),
            origin=_opt(d, "origin", dict, "patch"),
            reply=bool(_opt(d, "reply", bool, "patch")),
            first=_opt(d, "first", int, "patch"),
        )


@dataclass(frozen=True, slots=True)
class Stream(Message):
    """Rows appended to every column of a source, then cut to ``rollover``."""

    type: ClassVar[str] = "stream"
    seq: int
    source: str
    data: dict[str, Any]
    rollover: int | None = None
    #: set when this stream stands for several coalesced ones: the first's seq
    first: int | None = None

    def __post_init__(self) -> None:
        _check_seq(self.seq, "stream.seq")
        _check_id(self.source, "stream.source")
        _check_columns(self.data, "stream.data")
        if self.rollover is not None:
            _check_seq(self.rollover, "stream.rollover")
        _check_first(self.first, self.seq, "stream")

    def to_dict(self) -> dict[str, Any]:
        d = {
            "v": 1,
            "type": "stream",
            "seq": self.seq,
            "source": self.source,
            "data": self.data,
            "rollover": self.rollover,
        }
        if self.first is not None:
            d["first"] = self.first
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Stream:
        return cls(
            seq=_req(d, "seq", int, "stream"),
            source=_req(d, "source", str, "stream"),
            data=_req(d, "data", dict, "stream"),
            rollover=_opt(d, "rollover", int, "stream"),
            first=_opt(d, "first", int, "stream"),
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
