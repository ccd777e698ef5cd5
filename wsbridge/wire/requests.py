"""Messages from a client to the hub: ``hello``, ``set``, ``event``, ``ack``.

Frozen and self-validating like the server's messages (``messages.py``);
docs/protocol.md "Client to server" is their specification.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import ProtocolError
from .checks import _check_id, _check_seq, _check_set_values, _check_state, _opt, _req
from .messages import Message
from .query import check_query
from .values import check_value

__all__ = [
    "Ack",
    "Event",
    "Hello",
    "Set",
]


@dataclass(frozen=True, slots=True)
class Hello(Message):
    """Client -> hub, first message: which document, which resume point."""

    type: ClassVar[str] = "hello"
    doc: str
    token: str | None = None
    epoch: str | None = None
    seq: int | None = None
    #: a per-session document's key, from the page that opened it
    key: str | None = None
    #: the page's address query (``wire.query``): what a per-session app's
    #: factory reads as ``dash.query`` when this hello builds its document
    query: dict[str, str] | None = None

    def __post_init__(self) -> None:
        _check_id(self.doc, "hello.doc")
        if self.token is not None and not isinstance(self.token, str):
            raise ProtocolError("bad_message", "hello.token must be a string")
        if self.key is not None and not isinstance(self.key, str):
            raise ProtocolError("bad_message", "hello.key must be a string")
        if self.epoch is not None and not isinstance(self.epoch, str):
            raise ProtocolError("bad_message", "hello.epoch must be a string")
        if self.seq is not None:
            _check_seq(self.seq, "hello.seq")
        if self.query is not None:
            check_query(self.query, "hello.query")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"v": 1, "type": "hello", "doc": self.doc}
        if self.token is not None:
            d["token"] = self.token
        if self.epoch is not None:
            d["epoch"] = self.epoch
            d["seq"] = self.seq
        if self.key is not None:
            d["key"] = self.key
        if self.query:
            d["query"] = self.query
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hello:
        return cls(
            doc=_req(d, "doc", str, "hello"),
            token=_opt(d, "token", str, "hello"),
            epoch=_opt(d, "epoch", str, "hello"),
            seq=_opt(d, "seq", int, "hello"),
            key=_opt(d, "key", str, "hello"),
            query=_opt(d, "query", dict, "hello"),
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
        _check_set_values(self.model, self.state, self.req)

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
        check_value(self.data, "event.data")

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
