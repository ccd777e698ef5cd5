"""Protocol messages: small frozen dataclasses that validate themselves.

Like h11's ``_events.py``: a message that breaks docs/protocol.md can be
neither decoded from the network nor built by our own code, because every
constructor checks its fields and raises :class:`ProtocolError`. The
framing (text and binary frames, buffers) lives in ``codec.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from ..errors import ProtocolError
from .checks import (
    _check_columns,
    _check_first,
    _check_id,
    _check_meta,
    _check_seq,
    _check_specs,
    _check_state,
    _check_values,
    _columns_from_wire,
    _opt,
    _patches_from_wire,
    _req,
    _sources_from_wire,
)
from .packed import Packed
from .values import InvalidValue, check_value, wire_dtype

__all__ = [
    "NOTIFY_DURATION_MAX",
    "NOTIFY_LEVELS",
    "NOTIFY_TEXT_MAX",
    "Add",
    "Custom",
    "Dev",
    "Error",
    "Message",
    "Notify",
    "Patch",
    "Sequenced",
    "Snapshot",
    "SourcePatch",
    "SourceReplace",
    "Stream",
    "Welcome",
    "unchecked",
]


# --------------------------------------------------------------------------
# small validators (each raises ProtocolError("bad_message"))


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


class Sequenced(Message):
    """Base of the messages that carry the document's ``seq`` (docs/protocol.md).

    The hub numbers them; a client applies one only when it is the next.
    A merged message (a coalesced ``patch`` or ``stream``) stands for the
    range ``first..seq``: :meth:`first_seq` gives where it starts.
    """

    __slots__ = ()

    if TYPE_CHECKING:  # a dataclass field of every subclass

        @property
        def seq(self) -> int | None: ...

    def first_seq(self) -> int | None:
        """The first seq this message stands for (``seq`` unless merged)."""
        return self.seq


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
        check_value(self.limits, "welcome.limits")

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
class Snapshot(Sequenced):
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
            sources=_sources_from_wire(_req(d, "sources", dict, "snapshot"), "snapshot.sources"),
            root=_opt(d, "root", str, "snapshot"),
            title=_opt(d, "title", str, "snapshot") or "",
        )


@dataclass(frozen=True, slots=True)
class Add(Sequenced):
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
            sources=_sources_from_wire(_opt(d, "sources", dict, "add") or {}, "add.sources"),
            root=_opt(d, "root", str, "add"),
            title=_opt(d, "title", str, "add"),
        )


@dataclass(frozen=True, slots=True)
class Patch(Sequenced):
    """Changed properties of one model (canonical values)."""

    type: ClassVar[str] = "patch"
    seq: int
    model: str
    state: dict[str, Any]
    origin: dict[str, Any] | None = None
    reply: bool = False
    #: set when this patch stands for several coalesced ones: the first's seq
    first: int | None = None

    def first_seq(self) -> int:
        return self.seq if self.first is None else self.first

    def __post_init__(self) -> None:
        _check_seq(self.seq, "patch.seq")
        _check_id(self.model, "patch.model")
        _check_state(self.state, "patch.state")
        _check_values(self.state, "patch.state")
        if self.origin is not None:
            _check_id(self.origin.get("session"), "patch.origin.session")
            _check_seq(self.origin.get("req"), "patch.origin.req")
            check_value(self.origin, "patch.origin")
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
class Stream(Sequenced):
    """Rows appended to every column of a source, then cut to ``rollover``."""

    type: ClassVar[str] = "stream"
    seq: int
    source: str
    data: dict[str, Any]
    rollover: int | None = None
    #: set when this stream stands for several coalesced ones: the first's seq
    first: int | None = None

    def first_seq(self) -> int:
        return self.seq if self.first is None else self.first

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
            data=_columns_from_wire(_req(d, "data", dict, "stream"), "stream.data"),
            rollover=_opt(d, "rollover", int, "stream"),
            first=_opt(d, "first", int, "stream"),
        )


def _rows(value: Any) -> int | None:
    """The rows of a slice patch's value (None: not an array, a list or a
    packed column; a 0-d array has none)."""
    if isinstance(value, np.ndarray):
        return value.shape[0] if value.shape else None
    return len(value) if isinstance(value, (list, Packed)) else None


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
                if _rows(value) != count:
                    raise ProtocolError(
                        "bad_message", "source_patch slice value must hold one item per index"
                    )
            else:
                _check_seq(index, "source_patch index")
            what = f"source_patch.patches[{col[:64]!r}]"
            if type(value) is Packed:  # rows of a packed column (docs/protocol.md "source_patch")
                value.check(what)
                if not isinstance(index, dict) and len(value) != 1:
                    raise ProtocolError("bad_message", f"{what}: a row's packed value has one row")
            else:
                # numbers travel as arrays of the column's dtype (docs/protocol.md "source_patch")
                check_value(value, what)


@dataclass(frozen=True, slots=True)
class SourcePatch(Sequenced):
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
            patches=_patches_from_wire(_req(d, "patches", dict, "source_patch")),
        )


@dataclass(frozen=True, slots=True)
class SourceReplace(Sequenced):
    """A source's whole data replaced (and its column metadata, ``meta``)."""

    type: ClassVar[str] = "source_replace"
    seq: int
    source: str
    data: dict[str, Any]
    meta: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        _check_seq(self.seq, "source_replace.seq")
        _check_id(self.source, "source_replace.source")
        _check_columns(self.data, "source_replace.data")
        _check_meta(self.meta, self.data, "source_replace.meta")

    def to_dict(self) -> dict[str, Any]:
        d = {
            "v": 1,
            "type": "source_replace",
            "seq": self.seq,
            "source": self.source,
            "data": self.data,
        }
        if self.meta:
            d["meta"] = self.meta
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SourceReplace:
        return cls(
            seq=_req(d, "seq", int, "source_replace"),
            source=_req(d, "source", str, "source_replace"),
            data=_columns_from_wire(_req(d, "data", dict, "source_replace"), "source_replace.data"),
            meta=_opt(d, "meta", dict, "source_replace"),
        )


@dataclass(frozen=True, slots=True)
class Custom(Sequenced):
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
        for buf in self.buffers:
            if not wire_dtype(buf.dtype):
                raise InvalidValue(f"custom.buffers: arrays of {buf.dtype} cannot travel")
        check_value(self.content, "custom.content")

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
        if self.ref is not None:
            check_value(self.ref, "error.ref")

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


#: the levels of a ``notify`` (docs/protocol.md "notify")
NOTIFY_LEVELS = ("info", "success", "warning", "error")
#: characters of a notification's text, at most
NOTIFY_TEXT_MAX = 2000
#: seconds a notification may stay, at most (``duration: null``: until dismissed)
NOTIFY_DURATION_MAX = 3600.0


def _check_number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProtocolError("bad_message", f"{what} must be a finite number")
    return float(value)


@dataclass(frozen=True, slots=True)
class Notify(Sequenced):
    """A transient notification (a toast) for the viewers of a document.

    With a ``seq`` it goes to every viewer and is sequenced like ``custom``:
    in the log and in a resume's replay, never in a snapshot (so a viewer
    who opens the page later does not get it). Without one (``None``) it is
    for one session only (``Hub.notify_session``) and does not advance the
    client's ``seq``. ``time`` is when Python sent it (ms since the Unix
    epoch): a client replaying it after a reconnection shows it only for
    what is left of ``duration`` (seconds; ``None``: until dismissed).
    """

    type: ClassVar[str] = "notify"
    text: str
    level: str = "info"
    duration: float | None = 5.0
    time: float = 0.0
    seq: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ProtocolError("bad_message", "notify.text must be a string")
        if len(self.text) > NOTIFY_TEXT_MAX:
            raise ProtocolError(
                "bad_message", f"notify.text is at most {NOTIFY_TEXT_MAX} characters"
            )
        check_value(self.text, "notify.text")
        if self.level not in NOTIFY_LEVELS:
            raise ProtocolError(
                "bad_message", f"notify.level must be one of {', '.join(NOTIFY_LEVELS)}"
            )
        if self.duration is not None:
            duration = _check_number(self.duration, "notify.duration")
            if not 0 < duration <= NOTIFY_DURATION_MAX:
                raise ProtocolError(
                    "bad_message",
                    f"notify.duration is in (0, {NOTIFY_DURATION_MAX:g}] seconds, or null",
                )
        if _check_number(self.time, "notify.time") < 0:
            raise ProtocolError("bad_message", "notify.time must not be negative")
        if self.seq is not None:
            _check_seq(self.seq, "notify.seq")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "v": 1,
            "type": "notify",
            "text": self.text,
            "level": self.level,
            "duration": self.duration,
            "time": self.time,
        }
        if self.seq is not None:
            d["seq"] = self.seq
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Notify:
        duration = d.get("duration")
        return cls(
            text=_req(d, "text", str, "notify"),
            level=_opt(d, "level", str, "notify") or "info",
            duration=None if duration is None else _check_number(duration, "notify.duration"),
            time=_check_number(d.get("time", 0.0), "notify.time"),
            seq=_opt(d, "seq", int, "notify"),
        )


@dataclass(frozen=True, slots=True)
class Dev(Message):
    """Hub -> client, only under ``wsbridge serve --dev``: the app's current error.

    ``error`` is ``{"title": str, "text": str}`` (a one-line summary and the
    traceback, plain text) while the app's last run failed, ``None`` once it
    ran again. Never sent by a hub that is not in development mode
    (docs/security.md).
    """

    type: ClassVar[str] = "dev"
    error: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.error is not None:
            if not isinstance(self.error, dict) or not all(
                isinstance(self.error.get(k), str) for k in ("title", "text")
            ):
                raise ProtocolError("bad_message", "dev.error: {title, text} strings, or null")
            check_value(self.error, "dev.error")

    def to_dict(self) -> dict[str, Any]:
        return {"v": 1, "type": "dev", "error": self.error}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Dev:
        error = _opt(d, "error", dict, "dev")
        if error is not None:
            error = {"title": error.get("title"), "text": error.get("text")}
        return cls(error=error)
