"""``Image`` and ``Matplotlib`` without a browser: what a frame becomes, the
errors for wrong inputs, the bounds on a browser's size, the binary frame."""

from __future__ import annotations

import io

import numpy as np
import pytest
import traitlets

import wsbridge as wb
from wsbridge.widgets.media import MAX_CSS_SIDE, check_view_size, image_frame
from wsbridge.wire.codec import decode, encode
from wsbridge.wire.messages import Patch

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402


def png_bytes(width: int = 3, height: int = 2) -> bytes:
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.new("RGB", (width, height), (10, 20, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_grey_rgb_rgba_and_float_frames_become_rgba_uint8() -> None:
    grey = np.array([[0, 128], [255, 7]], dtype=np.uint8)
    f = image_frame(grey)
    assert f is not None and f["mime"] == "raw" and (f["width"], f["height"]) == (2, 2)
    assert f["data"].shape == (2, 2, 4) and f["data"].dtype == np.uint8
    assert f["data"][0, 1].tolist() == [128, 128, 128, 255]
    rgb = np.zeros((1, 3, 3), dtype=np.uint8)
    rgb[0, 2] = (1, 2, 3)
    assert image_frame(rgb)["data"][0, 2].tolist() == [1, 2, 3, 255]  # type: ignore[index]
    rgba = np.full((2, 1, 4), 9, dtype=np.uint8)
    out = image_frame(rgba)["data"]  # type: ignore[index]
    assert out.tolist() == rgba.tolist() and out is not rgba and not out.flags.writeable
    floats = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    assert image_frame(floats)["data"][0, :, 0].tolist() == [0, 128, 255]  # type: ignore[index]


def test_png_and_jpeg_bytes_travel_as_they_are() -> None:
    data = png_bytes(5, 4)
    f = image_frame(data)
    assert f is not None and f["mime"] == "image/png" and (f["width"], f["height"]) == (5, 4)
    assert f["data"].tobytes() == data
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.new("RGB", (7, 3)).save(buf, format="JPEG")
    j = image_frame(buf.getvalue())
    assert j is not None and j["mime"] == "image/jpeg" and (j["width"], j["height"]) == (7, 3)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (
            np.zeros((2, 2, 2), np.uint8),
            r"HxWx3 \(RGB\) or HxWx4 \(RGBA\) array; got shape 2 x 2 x 2",
        ),
        (np.zeros(5, np.uint8), r"got shape 5$"),
        (np.zeros((2, 2), np.int64), r"uint8 arrays, or floats in \[0, 1\]; got dtype int64"),
        (np.full((2, 2), 1.5), r"must lie in \[0, 1\]; got float64 values from 1.5 to 1.5"),
        (np.full((2, 2), np.nan), r"must lie in \[0, 1\]"),
        (np.zeros((0, 3), np.uint8), r"within 1\.\.16384 pixels; got shape 0 x 3"),
        (b"GIF89a....", r"PNG or a JPEG file .* starting with b'GIF89a"),
    ],
)
def test_bad_frames_are_refused_naming_what_was_given(value: object, match: str) -> None:
    img = wb.Image(np.zeros((1, 1), np.uint8))
    before = img.frame
    with pytest.raises(ValueError, match=match):
        img.value = value
    assert img.frame is before  # nothing changed, nothing was sent


def test_a_list_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"numpy array .* or PNG/JPEG bytes, not list"):
        wb.Image([[1, 2]])


def test_a_frame_is_a_binary_buffer_of_its_patch() -> None:
    img = wb.Image(np.zeros((480, 640, 4), np.uint8))
    frame = encode(Patch(seq=1, model=img.id, state={"frame": img._wire_value("frame")}))
    assert frame.binary and frame.size > 640 * 480 * 4
    assert any(len(p) == 640 * 480 * 4 for p in frame.parts)  # referenced, not joined
    back = decode(frame.data)
    assert back.state["frame"]["data"].shape == (480, 640, 4)


def test_view_size_bounds() -> None:
    assert check_view_size((0, 0, 1.0)) == (0, 0, 1.0)
    assert check_view_size((300, 200, 2)) == (300, 200, 2.0)
    for bad in [(MAX_CSS_SIDE + 1, 10, 1.0), (10, 0, 1.0), (10, 10, 9.0), (10, 10, float("nan")),
                (4000, 4000, 4.0), ("a", 2, 1.0), (1, 2)]:  # fmt: skip
        with pytest.raises(traitlets.TraitError):
            check_view_size(bad)


def test_matplotlib_renders_png_and_svg_and_follows_refresh_and_draw() -> None:
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    (line,) = ax.plot([0, 1], [0, 1])
    plot = wb.Matplotlib(fig)
    first = plot.image
    assert first is not None and first["mime"] == "image/png"
    assert first["data"].tobytes().startswith(b"\x89PNG")
    assert (first["width"], first["height"]) == (384, 288)  # 4 x 3 in at 96 CSS px an inch
    line.set_color("red")
    plot.refresh()
    assert plot.image["data"].tobytes() != first["data"].tobytes()
    seen = plot.image
    line.set_color("green")
    fig.canvas.draw()  # the figure's draw_event redraws it too
    assert plot.image is not seen
    plot.view_size = (200, 100, 2.0)
    assert (plot.image["width"], plot.image["height"]) == (200, 100)
    svg = wb.Matplotlib(fig, format="svg")
    assert svg.image["mime"] == "image/svg+xml" and b"<svg" in svg.image["data"].tobytes()
    with pytest.raises(TypeError, match="matplotlib Figure, not str"):
        wb.Matplotlib("fig")
    with pytest.raises(traitlets.TraitError):
        plot.view_size = (10_000, 10, 1.0)


def test_without_matplotlib_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'wsbridge\[matplotlib\]'"):
        wb.Matplotlib(object())


def test_a_browser_asking_for_too_big_a_render_is_refused(bridge: wb.Bridge) -> None:
    from tests.helpers.common import run
    from wsbridge.client import Client

    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1])
    view = wb.Matplotlib(fig)
    bridge.dashboard("mpl", wb.Column(view))
    drawn = view.image

    async def main() -> None:
        async with await Client.connect(bridge.url, "mpl") as c:
            await c.set(view.id, view_size=[4096, 4096, 2.0])
            await c.wait_for(lambda c: c.errors)
            (error,) = c.errors
            assert error.code == "invalid_value" and "device pixels" in error.message
            await c.set(view.id, view_size=[300, 150, 1.0])  # within bounds: drawn
            await c.wait_for(lambda c: c.model(view.id)["image"]["width"] == 300)

    run(main())
    assert view.view_size == (300, 150, 1.0) and view.image is not drawn
    with pytest.raises(traitlets.TraitError, match=r"1\.\.16384 CSS px"):
        wb.Image(width=0)
