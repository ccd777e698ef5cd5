"""Files: ``FileInput`` (a viewer uploads files to Python) and ``FileDownload``.

``FileInput`` is a file picker (``input[type=file]``) whose files reach
Python as :class:`UploadedFile` objects in ``value``, like ipywidgets'
``FileUpload``. The browser sends each file in binary chunks with a
progress bar; the hub checks every chunk and hands Python only a complete
upload (hub/uploads.py, docs/files.md). The bytes go to Python alone: the
synced state every viewer sees holds only the names, types and sizes of
the last upload (``files``), never the content.

``FileDownload`` is a button: a click sends ``data`` (or what ``callback()``
returns, computed on that click) to the viewer who clicked, as one binary
frame, and the browser saves it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import traitlets
from traitlets import Bool, Int, List, Unicode, observe, validate

from .model import Model

__all__ = [
    "DEFAULT_MAX_SIZE",
    "FileDownload",
    "FileInput",
    "UploadRefused",
    "UploadedFile",
    "accepts",
]

#: a FileInput's default ``max_size`` per file (10 MiB); the hub's
#: ``max_upload_size`` (64 MiB by default) caps it whatever it is set to
DEFAULT_MAX_SIZE = 10 * 1024 * 1024


class UploadRefused(Exception):
    """Python refused an upload (a type not in ``accept``...); the page shows why."""


@dataclass(frozen=True)
class UploadedFile:
    """One uploaded file: its name, MIME type (as the browser declared it),
    size and bytes; ``last_modified`` as the browser reported it (UTC)."""

    name: str
    type: str
    size: int
    content: bytes
    last_modified: _dt.datetime | None = None

    def __repr__(self) -> str:  # never the content: it may be megabytes
        return f"UploadedFile(name={self.name!r}, type={self.type!r}, size={self.size})"


def accepts(accept: str, name: str, mime: str) -> bool:
    """Does a file match ``accept`` (HTML's syntax: ``.csv``, ``image/*``,
    ``text/plain``, comma-separated; empty: anything)?"""
    items = [a.strip().lower() for a in accept.split(",") if a.strip()]
    if not items:
        return True
    name, mime = name.lower(), mime.lower()
    for item in items:
        if item.startswith("."):
            if name.endswith(item):
                return True
        elif item.endswith("/*"):
            if mime.startswith(item[:-1]):
                return True
        elif item == mime:
            return True
    return False


def _bytes_of(buf: np.ndarray) -> bytes:
    """A buffer's bytes, without a copy when it is a whole ``bytes`` object."""
    base = buf.base
    if type(base) is bytes and len(base) == buf.nbytes:
        return base
    return buf.tobytes()


def _modified(ms: Any) -> _dt.datetime | None:
    if isinstance(ms, (int, float)) and not isinstance(ms, bool):
        try:
            return _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    return None


class FileInput(Model):
    """A file picker whose files reach Python: ``value`` is a tuple of
    :class:`UploadedFile` (the last upload's files), ``on_upload(cb)`` calls
    ``cb(files)`` after each upload; ``observe(cb, names="value")`` works too.

    ``accept`` (``".csv,image/*"``) is a hint to the browser's picker and
    checked here: a file that does not match refuses the whole upload.
    ``multiple`` allows several files at once. ``max_size`` is the largest
    file in bytes (10 MiB by default; the hub's ``max_upload_size`` caps it).
    An upload is taken whole or refused whole, with the reason shown in the
    page; nothing of a refused one is kept. Viewers other than the uploader
    see only ``files`` (names, types, sizes), never the bytes.
    """

    _type = "FileInput"
    _client_settable = frozenset()

    label = Unicode("Upload").tag(sync=True)
    accept = Unicode("").tag(sync=True)
    multiple = Bool(False).tag(sync=True)
    max_size = Int(DEFAULT_MAX_SIZE, min=0).tag(sync=True)
    disabled = Bool(False).tag(sync=True)
    #: what every viewer sees of the last upload: name, type and size per file
    files: List[Any] = List().tag(sync=True)
    #: the last upload's files (Python only: never sent to any browser)
    value = traitlets.Tuple()

    def __init__(
        self,
        label: str = "Upload",
        *,
        accept: str | Sequence[str] = "",
        multiple: bool = False,
        max_size: int = DEFAULT_MAX_SIZE,
        **kwargs: Any,
    ) -> None:
        if not isinstance(accept, str):
            accept = ",".join(accept)
        self._upload_handlers: list[Callable[[tuple[UploadedFile, ...]], Any]] = []
        super().__init__(label=label, accept=accept, multiple=multiple, max_size=max_size, **kwargs)

    def _spec(self) -> dict[str, Any]:
        spec = super()._spec()
        spec["uploads"] = True  # the hub takes uploads for this model (hub.uploads)
        return spec

    @validate("value")
    def _only_files(self, proposal: Any) -> tuple[UploadedFile, ...]:
        value = tuple(proposal["value"])
        if not all(isinstance(f, UploadedFile) for f in value):
            raise traitlets.TraitError("FileInput.value holds UploadedFile objects")
        return value

    @observe("value")
    def _show_names(self, change: dict[str, Any]) -> None:
        self.files = [{"name": f.name, "type": f.type, "size": f.size} for f in change["new"]]

    def on_upload(self, callback: Callable[[tuple[UploadedFile, ...]], Any]) -> None:
        """Call ``callback(files)`` (a tuple of :class:`UploadedFile`) after each upload."""
        self._upload_handlers.append(callback)

    def _receive_upload(self, files: list[dict[str, Any]], data: list[np.ndarray]) -> None:
        """An upload the hub checked and assembled (on the callbacks thread):
        checked against ``accept`` and ``max_size``, then ``value`` and the
        ``on_upload`` callbacks. Raises :class:`UploadRefused` to refuse it."""
        if self.disabled:
            raise UploadRefused("this file input is disabled")
        if len(files) > 1 and not self.multiple:
            raise UploadRefused("this input takes one file at a time")
        out: list[UploadedFile] = []
        for meta, buf in zip(files, data, strict=True):
            name, mime, size = str(meta["name"]), str(meta.get("type") or ""), int(meta["size"])
            if not accepts(self.accept, name, mime):
                raise UploadRefused(f"{name[:64]} is not one of the accepted types ({self.accept})")
            if size > self.max_size:
                raise UploadRefused(f"{name[:64]} is larger than {self.max_size} bytes")
            out.append(
                UploadedFile(name, mime, size, _bytes_of(buf), _modified(meta.get("last_modified")))
            )
        self.value = tuple(out)
        for callback in list(self._upload_handlers):
            callback(self.value)


class FileDownload(Model):
    """A button that saves a file in the clicking viewer's browser.

    ``data`` (bytes, or a str sent as UTF-8) or ``callback()`` returning
    them, called on each click on the callbacks thread; ``filename`` and
    ``mime`` name the saved file. The bytes go to that viewer alone, as one
    binary frame of at most the hub's ``max_download_size`` (32 MiB).
    """

    _type = "FileDownload"
    _client_settable = frozenset()
    _events = frozenset({"click"})

    label = Unicode("Download").tag(sync=True)
    filename = Unicode("download").tag(sync=True)
    mime = Unicode("application/octet-stream").tag(sync=True)
    disabled = Bool(False).tag(sync=True)

    def __init__(
        self,
        data: bytes | str | None = None,
        *,
        filename: str = "download",
        mime: str = "application/octet-stream",
        label: str = "Download",
        callback: Callable[[], bytes | str] | None = None,
        **kwargs: Any,
    ) -> None:
        if data is None and callback is None:
            raise TypeError("FileDownload needs data or a callback")
        self.data = data
        self.callback = callback
        super().__init__(filename=filename, mime=mime, label=label, **kwargs)

    def _content(self) -> bytes:
        """The bytes of this click: ``callback()`` if given, else ``data``."""
        data = self.callback() if self.callback is not None else self.data
        if isinstance(data, str):
            return data.encode("utf-8")
        if isinstance(data, (bytes, bytearray, memoryview)):
            return bytes(data)
        raise TypeError(f"FileDownload data must be bytes or str, not {type(data).__name__}")
