"""File messages: uploads from a browser in binary chunks, downloads to one browser.

Sans I/O like the rest of the wire (docs/protocol.md "Files"):

- a client opens an upload with ``upload_start`` (the files it will send,
  each with its declared name, MIME type and size), then sends the bytes of
  all its files back to back as ``upload_chunk`` binary frames, each at the
  ``offset`` the hub expects next;
- the hub answers each chunk with ``upload_ack`` (bytes received so far: the
  client keeps a bounded window in flight and draws its progress bar from
  them) and, once Python has handled the whole upload, ``upload_done``;
- the hub hands a complete upload to the producer as one ``upload`` (never
  sent by a client), the bytes of each file as a ``uint8`` buffer;
- ``download`` carries a file's bytes to the one client that asked for them,
  as a binary buffer (never base64). None of these is sequenced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..errors import ProtocolError
from .checks import _check_id, _check_seq, _opt, _req
from .messages import Message

__all__ = [
    "MAX_FILES_PER_UPLOAD",
    "Download",
    "Upload",
    "UploadAck",
    "UploadChunk",
    "UploadDone",
    "UploadStart",
    "check_file_meta",
]

#: files one ``upload_start`` may declare at most (the hub's own limit is lower)
MAX_FILES_PER_UPLOAD = 256
#: longest file name and MIME type kept (longer ones are refused)
_MAX_NAME = 1024
_MAX_MIME = 255


def check_file_meta(files: Any, what: str) -> list[dict[str, Any]]:
    """The declared files of an upload in canonical form; raises ``bad_message``."""
    if not isinstance(files, list) or not 1 <= len(files) <= MAX_FILES_PER_UPLOAD:
        raise ProtocolError("bad_message", f"{what}.files must list 1-{MAX_FILES_PER_UPLOAD} files")
    out: list[dict[str, Any]] = []
    for f in files:
        if not isinstance(f, dict):
            raise ProtocolError("bad_message", f"{what}.files: each file is an object")
        name, mime, size = f.get("name"), f.get("type", ""), f.get("size")
        modified = f.get("last_modified")
        if not isinstance(name, str) or not 1 <= len(name) <= _MAX_NAME:
            raise ProtocolError("bad_message", f"{what}: a file name is 1-{_MAX_NAME} characters")
        if not isinstance(mime, str) or len(mime) > _MAX_MIME:
            raise ProtocolError(
                "bad_message", f"{what}: a file type is at most {_MAX_MIME} characters"
            )
        _check_seq(size, f"{what}: a file size")
        if modified is not None and (
            not isinstance(modified, (int, float)) or isinstance(modified, bool)
        ):
            raise ProtocolError("bad_message", f"{what}: last_modified is a number of ms or null")
        out.append({"name": name, "type": mime, "size": size, "last_modified": modified})
    return out


def _bytes_buffer(data: Any, what: str) -> np.ndarray:
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 1:
        raise ProtocolError("bad_message", f"{what} must be a 1-D uint8 buffer")
    return data


@dataclass(frozen=True, slots=True)
class UploadStart(Message):
    """Client -> hub: an upload of ``files`` to a model that takes files."""

    type: ClassVar[str] = "upload_start"
    model: str
    upload: int
    files: list[dict[str, Any]]

    def __post_init__(self) -> None:
        _check_id(self.model, "upload_start.model")
        _check_seq(self.upload, "upload_start.upload")
        object.__setattr__(self, "files", check_file_meta(self.files, "upload_start"))

    @property
    def total(self) -> int:
        return sum(int(f["size"]) for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": 1,
            "type": "upload_start",
            "model": self.model,
            "upload": self.upload,
            "files": self.files,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UploadStart:
        return cls(
            model=_req(d, "model", str, "upload_start"),
            upload=_req(d, "upload", int, "upload_start"),
            files=_req(d, "files", list, "upload_start"),
        )


@dataclass(frozen=True, slots=True)
class UploadChunk(Message):
    """Client -> hub: the next bytes of an upload (its files back to back)."""

    type: ClassVar[str] = "upload_chunk"
    upload: int
    offset: int
    data: np.ndarray

    def __post_init__(self) -> None:
        _check_seq(self.upload, "upload_chunk.upload")
        _check_seq(self.offset, "upload_chunk.offset")
        _bytes_buffer(self.data, "upload_chunk.data")

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": 1,
            "type": "upload_chunk",
            "upload": self.upload,
            "offset": self.offset,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UploadChunk:
        return cls(
            upload=_req(d, "upload", int, "upload_chunk"),
            offset=_req(d, "offset", int, "upload_chunk"),
            data=_bytes_buffer(d.get("data"), "upload_chunk.data"),
        )


@dataclass(frozen=True, slots=True)
class UploadAck(Message):
    """Hub -> client: ``received`` bytes of upload ``upload`` are in the hub."""

    type: ClassVar[str] = "upload_ack"
    upload: int
    received: int

    def __post_init__(self) -> None:
        _check_seq(self.upload, "upload_ack.upload")
        _check_seq(self.received, "upload_ack.received")

    def to_dict(self) -> dict[str, Any]:
        return {"v": 1, "type": "upload_ack", "upload": self.upload, "received": self.received}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UploadAck:
        return cls(
            upload=_req(d, "upload", int, "upload_ack"),
            received=_req(d, "received", int, "upload_ack"),
        )


@dataclass(frozen=True, slots=True)
class UploadDone(Message):
    """Hub -> client: Python has handled upload ``upload`` (a refusal came before)."""

    type: ClassVar[str] = "upload_done"
    upload: int

    def __post_init__(self) -> None:
        _check_seq(self.upload, "upload_done.upload")

    def to_dict(self) -> dict[str, Any]:
        return {"v": 1, "type": "upload_done", "upload": self.upload}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UploadDone:
        return cls(upload=_req(d, "upload", int, "upload_done"))


@dataclass(frozen=True, slots=True)
class Upload(Message):
    """Hub -> producer: a complete upload, one ``uint8`` buffer per file.

    Never accepted from a client (the hub refuses it as "not sent by
    clients"): only the hub, having checked every chunk, builds one.
    """

    type: ClassVar[str] = "upload"
    model: str
    upload: int
    files: list[dict[str, Any]]
    data: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        _check_id(self.model, "upload.model")
        _check_seq(self.upload, "upload.upload")
        object.__setattr__(self, "files", check_file_meta(self.files, "upload"))
        if not isinstance(self.data, list) or len(self.data) != len(self.files):
            raise ProtocolError("bad_message", "upload.data holds one buffer per file")
        for meta, buf in zip(self.files, self.data, strict=True):
            if _bytes_buffer(buf, "upload.data").size != meta["size"]:
                raise ProtocolError("bad_message", "upload.data: a buffer differs from its size")

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": 1,
            "type": "upload",
            "model": self.model,
            "upload": self.upload,
            "files": self.files,
            "data": list(self.data),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Upload:
        return cls(
            model=_req(d, "model", str, "upload"),
            upload=_req(d, "upload", int, "upload"),
            files=_req(d, "files", list, "upload"),
            data=_opt(d, "data", list, "upload") or [],
        )


@dataclass(frozen=True, slots=True)
class Download(Message):
    """Hub -> one client: a file to save, its bytes as one ``uint8`` buffer."""

    type: ClassVar[str] = "download"
    model: str
    name: str
    mime: str
    data: np.ndarray

    def __post_init__(self) -> None:
        _check_id(self.model, "download.model")
        if not isinstance(self.name, str) or not 1 <= len(self.name) <= _MAX_NAME:
            raise ProtocolError("bad_message", f"download.name is 1-{_MAX_NAME} characters")
        if not isinstance(self.mime, str) or len(self.mime) > _MAX_MIME:
            raise ProtocolError("bad_message", "download.mime must be a short string")
        _bytes_buffer(self.data, "download.data")

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": 1,
            "type": "download",
            "model": self.model,
            "name": self.name,
            "mime": self.mime,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Download:
        return cls(
            model=_req(d, "model", str, "download"),
            name=_req(d, "name", str, "download"),
            mime=_req(d, "mime", str, "download"),
            data=_bytes_buffer(d.get("data"), "download.data"),
        )
