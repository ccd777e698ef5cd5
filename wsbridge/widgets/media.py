"""Pictures as binary buffers: live images (``Image``) and matplotlib figures (``Matplotlib``).

Both send their pixels or encoded bytes as one numpy ``uint8`` array inside
a model property (``frame`` / ``image``), so a frame travels as a binary
buffer of the ``patch`` message (docs/protocol.md "Binary frames") and lands
in the browser as a ``Uint8Array`` view of the WebSocket frame, never as
base64 JSON. The views (js/src/views/media.js) draw raw RGBA with
``putImageData`` on an ``ImageData`` over that view (no copy) and encoded
PNG/JPEG with ``createImageBitmap``; matplotlib's PNG/SVG goes to an
``<img>`` through a ``blob:`` URL.

Why a property and not a stream: a picture replaces the last one, and a
property is exactly "the latest value": a reconnecting browser gets the
current frame in its snapshot, and the hub's coalescing of a lagging
session keeps only the latest value of each property of a model
(hub/coalesce.py), so a slow page skips stale frames instead of queueing
them. The view draws at most one frame per animation frame, the newest.

matplotlib is optional: ``import wsbridge`` works without it, and
``Matplotlib`` raises an ``ImportError`` that says how to install it.
"""

from __future__ import annotations

import io
import threading
from typing import Any

import numpy as np
import traitlets
from traitlets import Dict, Enum, Float, Int, Tuple, Unicode, validate

from .model import Model

__all__ = [
    "MAX_CSS_SIDE",
    "MAX_DPR",
    "MAX_IMAGE_SIDE",
    "MAX_RENDER_PIXELS",
    "Image",
    "Matplotlib",
    "image_frame",
]

#: the longest side of an ``Image`` frame, in pixels (what a canvas can hold)
MAX_IMAGE_SIDE = 16384

#: bounds on the size a browser may ask a ``Matplotlib`` figure to be drawn at
#: (docs/security.md "Limits"): CSS px per side, device pixel ratio, and
#: device pixels in all (width x dpr x height x dpr)
MAX_CSS_SIDE = 4096
MAX_DPR = 4.0
MAX_RENDER_PIXELS = 4096 * 4096

#: CSS px per inch: a figure drawn at dpi 96 x dpr has its fonts at the page's scale
CSS_DPI = 96.0

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_FITS = ("contain", "cover", "fill", "none", "scale-down")


def _frozen(arr: np.ndarray) -> np.ndarray:
    """A read-only copy of ``arr`` over a ``bytes`` object: the codec then
    references it in every frame instead of copying it (``wire.chunks.immutable``),
    and the caller may reuse its array at once."""
    return np.frombuffer(arr.tobytes(), dtype=arr.dtype).reshape(arr.shape)


def _encoded(data: bytes) -> dict[str, Any]:
    if data.startswith(_PNG):
        mime = "image/png"
        width, height = (int.from_bytes(data[i : i + 4], "big") for i in (16, 20))
    elif data.startswith(_JPEG):
        mime = "image/jpeg"
        width, height = _jpeg_size(data)
    else:
        raise ValueError(
            f"Image bytes must be a PNG or a JPEG file (told by their first bytes); "
            f"got {len(data)} bytes starting with {data[:8]!r}"
        )
    return {"data": np.frombuffer(data, dtype=np.uint8), "mime": mime,
            "width": width, "height": height}  # fmt: skip


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from a JPEG's start-of-frame marker (0, 0 if none is found)."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(
                data[i + 5 : i + 7], "big"
            )
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return 0, 0


def image_frame(value: Any) -> dict[str, Any] | None:
    """``value`` as the ``frame`` an ``Image`` sends, or ``ValueError``/``TypeError``.

    - ``bytes`` of a PNG or JPEG file: sent as they are (``mime`` names the format);
    - a numpy array (or anything with ``__array__``, such as a PIL image):
      HxW grey, HxWx3 RGB or HxWx4 RGBA, of ``uint8`` or floats in [0, 1];
      sent as HxWx4 RGBA ``uint8`` (``mime`` ``"raw"``), which the browser
      puts on a canvas as it is;
    - ``None``: nothing is shown.
    """
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _encoded(bytes(value))
    if not isinstance(value, np.ndarray):
        if not hasattr(value, "__array__"):
            raise TypeError(
                f"Image takes a numpy array (HxW, HxWx3 or HxWx4) or PNG/JPEG bytes, "
                f"not {type(value).__name__}"
            )
        value = np.asarray(value)
    arr = value
    shape = " x ".join(str(n) for n in arr.shape) or "()"
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(
            f"Image takes an HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA) array; got shape {shape}"
        )
    height, width = int(arr.shape[0]), int(arr.shape[1])
    if not (1 <= height <= MAX_IMAGE_SIDE and 1 <= width <= MAX_IMAGE_SIDE):
        raise ValueError(
            f"Image sides must be within 1..{MAX_IMAGE_SIDE} pixels; got shape {shape}"
        )
    if arr.dtype == np.uint8:
        pixels = arr
    elif arr.dtype.kind == "f":
        low, high = float(np.min(arr)), float(np.max(arr))
        if not (0.0 <= low and high <= 1.0):  # NaN fails both
            raise ValueError(
                f"Image float values must lie in [0, 1]; "
                f"got {arr.dtype} values from {low} to {high}"
            )
        pixels = np.rint(arr * 255.0).astype(np.uint8)
    else:
        raise ValueError(
            f"Image takes uint8 arrays, or floats in [0, 1]; got dtype {arr.dtype} (shape {shape})"
        )
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        rgba = pixels
    else:
        rgba = np.empty((height, width, 4), dtype=np.uint8)
        rgba[..., :3] = pixels[..., None] if pixels.ndim == 2 else pixels
        rgba[..., 3] = 255
    return {"data": _frozen(rgba), "mime": "raw", "width": width, "height": height}


class Image(Model):
    """A live image: numpy frames or PNG/JPEG bytes, streamed as binary buffers.

    ``img.value = frame`` (or ``img.update(frame)``) sends ``frame`` to every
    browser: an HxW, HxWx3 or HxWx4 array of ``uint8`` or floats in [0, 1]
    (sent as RGBA, drawn with ``putImageData``), or the bytes of a PNG or
    JPEG file (drawn with ``createImageBitmap``). Wrong shapes and dtypes
    raise ``ValueError`` naming what was given.

    Latest frame wins: a browser draws the newest frame at most once per
    animation frame, and a page that cannot keep up has its queued frames
    replaced by the latest (the hub's coalescing of property patches), so
    it shows the present rather than a growing backlog.

    ``fit``: how the picture fills the element (CSS ``object-fit``:
    ``contain``, ``cover``, ``fill``, ``none``, ``scale-down``); ``width`` and
    ``height``: the element's size in CSS px (None: the picture's own size,
    at most the container's width); ``smooth``: False draws scaled pixels
    as sharp squares (``image-rendering: pixelated``).
    """

    _type = "Image"
    _client_settable = frozenset()
    frame = Dict(default_value=None, allow_none=True).tag(sync=True)
    fit = Enum(_FITS, default_value="contain").tag(sync=True)
    width = Int(None, allow_none=True).tag(sync=True)
    height = Int(None, allow_none=True).tag(sync=True)
    smooth = traitlets.Bool(True).tag(sync=True)
    label = Unicode("").tag(sync=True)

    def __init__(self, value: Any = None, **kwargs: Any) -> None:
        self._value = value
        super().__init__(frame=image_frame(value), **kwargs)

    @property
    def value(self) -> Any:
        """The last frame given (as given); assigning one sends it."""
        return self._value

    @value.setter
    def value(self, value: Any) -> None:
        self.update(value)

    def update(self, value: Any) -> None:
        """Send a new frame (see the class docstring for what it may be)."""
        frame = image_frame(value)  # raises before anything changes
        self._value = value
        self.frame = frame  # type: ignore[assignment]

    @validate("width", "height")
    def _positive_size(self, proposal: Any) -> int | None:
        value = proposal["value"]
        if value is not None and not 1 <= value <= MAX_IMAGE_SIDE:
            name = proposal["trait"].name
            raise traitlets.TraitError(f"Image {name} must be within 1..{MAX_IMAGE_SIDE} CSS px")
        return value  # type: ignore[no-any-return]


def require_matplotlib() -> Any:
    """The ``matplotlib`` module, or an ``ImportError`` that says what to install."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(
            "wsbridge.Matplotlib needs matplotlib, which is not installed: "
            "pip install 'wsbridge[matplotlib]' (or pip install 'matplotlib>=3.7')"
        ) from exc
    return matplotlib


def check_view_size(value: Any) -> tuple[int, int, float]:
    """A browser's ``(width, height, dpr)`` if within the bounds, else ``TraitError``.

    ``(0, 0, 1)`` means "not reported": the figure's own size."""
    try:
        width, height, dpr = value
    except (TypeError, ValueError):
        raise traitlets.TraitError("view_size is (width, height, devicePixelRatio)") from None
    if (width, height) == (0, 0):
        return (0, 0, 1.0)
    if not (
        isinstance(width, int)
        and isinstance(height, int)
        and 1 <= width <= MAX_CSS_SIDE
        and 1 <= height <= MAX_CSS_SIDE
    ):
        raise traitlets.TraitError(
            f"Matplotlib view_size: width and height must be integers within 1..{MAX_CSS_SIDE} "
            f"CSS px, not {width!r} x {height!r}"
        )
    if isinstance(dpr, bool) or not isinstance(dpr, (int, float)) or not 0.25 <= dpr <= MAX_DPR:
        raise traitlets.TraitError(
            f"Matplotlib view_size: devicePixelRatio must be within 0.25..{MAX_DPR}, not {dpr!r}"
        )
    if width * dpr * height * dpr > MAX_RENDER_PIXELS:
        raise traitlets.TraitError(
            f"Matplotlib view_size: {width} x {height} CSS px at {dpr}x is more than "
            f"{MAX_RENDER_PIXELS} device pixels"
        )
    return (width, height, float(dpr))


def _inches(fig: Any) -> tuple[float, float]:
    width, height = fig.get_size_inches()
    return float(width), float(height)


class Matplotlib(Model):
    """A matplotlib ``Figure`` drawn with Agg to PNG (or SVG), sized by its container.

    ``Matplotlib(fig, format="png")``: no pyplot state is needed
    (``matplotlib.figure.Figure()`` works). The picture is redrawn when
    Python calls :meth:`refresh`, when the figure is drawn
    (``fig.canvas.draw()``: its ``draw_event``), and when the browser
    reports a new size: the view follows its container's width (the height
    is ``height`` CSS px, or the figure's aspect ratio) and asks, at most
    every 150 ms, for width x height CSS px at its ``devicePixelRatio``;
    Python resizes the figure to that and renders it at dpi 96 x dpr, so it
    is sharp on every screen. A browser's size is bounded (``check_view_size``,
    docs/security.md "Limits"). The bytes travel as a binary buffer.

    A shared dashboard has one figure for every viewer: the last size
    reported wins (the figure is drawn once, for all of them).
    Resize renders run on the bridge's callbacks thread; a figure changed
    from another thread at that moment may be drawn half-changed: call
    :meth:`refresh` after changing it.
    """

    _type = "Matplotlib"
    _client_settable = frozenset({"view_size"})
    image = Dict(default_value=None, allow_none=True).tag(sync=True)
    format = Enum(("png", "svg"), default_value="png").tag(sync=True)
    height = Int(None, allow_none=True).tag(sync=True)
    #: height / width of the figure when it was given (the height when ``height`` is None)
    aspect = Float(0.75).tag(sync=True)
    view_size = Tuple(Int(), Int(), Float(), default_value=(0, 0, 1.0)).tag(sync=True)
    label = Unicode("").tag(sync=True)

    def __init__(self, fig: Any, format: str = "png", **kwargs: Any) -> None:
        require_matplotlib()
        from matplotlib.figure import Figure

        if not isinstance(fig, Figure):
            raise TypeError(f"Matplotlib takes a matplotlib Figure, not {type(fig).__name__}")
        self._fig = fig
        self._lock = threading.RLock()
        self._rendering = False
        self._size_inches = _inches(fig)
        width, height = self._size_inches
        super().__init__(format=format, aspect=height / width if width > 0 else 0.75, **kwargs)
        self._attach(fig)
        self.refresh()

    def _attach(self, fig: Any) -> None:
        from matplotlib.backend_bases import FigureCanvasBase
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        if type(fig.canvas) is FigureCanvasBase:  # a bare Figure(): Agg, so canvas.draw() works
            FigureCanvasAgg(fig)
        self._cid = fig.canvas.mpl_connect("draw_event", self._on_draw)

    @property
    def figure(self) -> Any:
        """The figure shown; assigning another one draws it (``refresh``)."""
        return self._fig

    @figure.setter
    def figure(self, fig: Any) -> None:
        from matplotlib.figure import Figure

        if not isinstance(fig, Figure):
            raise TypeError(f"Matplotlib takes a matplotlib Figure, not {type(fig).__name__}")
        with self._lock:
            self._fig.canvas.mpl_disconnect(self._cid)
            self._fig = fig
            self._size_inches = _inches(fig)
            width, height = self._size_inches
            self.aspect = height / width if width > 0 else 0.75
            self._attach(fig)
        self.refresh()

    def _on_draw(self, event: Any) -> None:
        if not self._rendering:
            self.refresh()

    @validate("view_size")
    def _bounded_size(self, proposal: Any) -> tuple[int, int, float]:
        return check_view_size(proposal["value"])

    def _synced_change(self, name: str) -> None:
        if name in ("view_size", "format", "height"):
            self.refresh()

    def render(self) -> bytes:
        """The figure's PNG or SVG bytes at the current size (what browsers get)."""
        with self._lock:
            fig = self._fig
            width, height, dpr = self.view_size
            if width > 0:
                fig.set_size_inches(width / CSS_DPI, height / CSS_DPI, forward=False)
                dpi = CSS_DPI * dpr
            else:  # no browser has reported: the figure's own size, at 1x
                fig.set_size_inches(self._size_inches[0], self._size_inches[1], forward=False)
                dpi = CSS_DPI
            buf = io.BytesIO()
            self._rendering = True
            try:
                fig.savefig(buf, format=self.format, dpi=dpi)
            finally:
                self._rendering = False
            return buf.getvalue()

    def refresh(self) -> None:
        """Draw the figure now and send the picture to every browser."""
        with self._lock:  # two renders (a resize, a refresh) go out in the order drawn
            data = self.render()
            width, height, _ = self.view_size
            if width == 0:
                w_in, h_in = self._size_inches
                width, height = round(w_in * CSS_DPI), round(h_in * CSS_DPI)
            self.image = {
                "data": np.frombuffer(data, dtype=np.uint8),
                "mime": "image/png" if self.format == "png" else "image/svg+xml",
                "width": int(width),
                "height": int(height),
            }
