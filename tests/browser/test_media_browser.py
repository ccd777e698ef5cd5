"""``Image`` and ``Matplotlib`` in real headless Chromium: numpy frames drawn on
the canvas pixel for pixel, PNG and JPEG bytes decoded, a matplotlib figure
redrawn after Python changes it and re-rendered when its container resizes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.browser import open_dashboard, root, wait_dom

pytestmark = pytest.mark.browser

matplotlib = pytest.importorskip("matplotlib")
PIL = pytest.importorskip("PIL")
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image as PILImage  # noqa: E402


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, Any]]:
    with wb.Bridge(port=0) as bridge:
        img = wb.Image(np.zeros((2, 3), np.uint8), label="camera")
        encoded = wb.Image()
        fig = Figure(figsize=(4, 2))
        ax = fig.add_subplot()
        (line,) = ax.plot([0, 1, 2], [0, 1, 0], color="blue", linewidth=8)
        mpl = wb.Matplotlib(fig)
        box = wb.Column(mpl)
        small = Figure(figsize=(3, 1.5))
        small.add_subplot().plot([0, 1], [1, 0])
        in_row = wb.Matplotlib(small)
        row = wb.Row(wb.Label("beside it"), in_row)
        bridge.dashboard("media", wb.Column(img, encoded, box, row))
        yield {"bridge": bridge, "img": img, "encoded": encoded, "mpl": mpl, "line": line,
               "in_row": in_row}  # fmt: skip


@pytest.fixture(scope="module")
def mpage(chromium: Any, served: dict[str, Any]) -> Iterator[Any]:
    context = chromium.new_context(device_scale_factor=2)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors
    open_dashboard(pg, served["bridge"].url + "d/media")
    try:
        yield pg
    finally:
        context.close()


def canvas_pixels(page: Any, model: Any) -> dict[str, Any]:
    got: dict[str, Any] = page.evaluate(
        """(sel) => { const c = document.querySelector(sel + ' canvas');
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             return {w: c.width, h: c.height, px: Array.from(d)}; }""",
        root(model),
    )
    return got


def wait_frames(page: Any, model: Any, n: int) -> None:
    wait_dom(page, "(sel, n) => Number(document.querySelector(sel)?.dataset.wsbridgeFrames) >= n",
             root(model), n)  # fmt: skip


def test_numpy_frames_reach_the_canvas_pixel_for_pixel(served: dict[str, Any], mpage: Any) -> None:
    img = served["img"]
    wait_frames(mpage, img, 1)
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    rgba[..., 3] = 255  # opaque: a canvas stores premultiplied alpha
    img.value = rgba
    wait_dom(mpage, "(sel) => document.querySelector(sel + ' canvas').width === 7", root(img))
    got = canvas_pixels(mpage, img)
    assert (got["w"], got["h"]) == (7, 5)
    assert got["px"] == rgba.reshape(-1).tolist()
    grey = np.array([[0.0, 0.25], [0.5, 1.0]])
    img.update(grey)
    wait_dom(mpage, "(sel) => document.querySelector(sel + ' canvas').width === 2", root(img))
    px = np.array(canvas_pixels(mpage, img)["px"]).reshape(2, 2, 4)
    assert px[..., 0].tolist() == [[0, 64], [128, 255]] and (px[..., 3] == 255).all()
    assert (
        mpage.evaluate(  # the frame came as a Uint8Array of the binary message
            f"() => window.wsbridgeClient.model('{img.id}').get('frame').data.constructor.name"
        )
        == "Uint8Array"
    )
    assert not mpage.js_errors


def test_png_and_jpeg_bytes_are_decoded_on_the_canvas(served: dict[str, Any], mpage: Any) -> None:
    enc = served["encoded"]
    for fmt, colour in (("PNG", (200, 30, 40)), ("JPEG", (20, 120, 220))):
        buf = io.BytesIO()
        PILImage.new("RGB", (16, 8), colour).save(buf, format=fmt, quality=95)
        enc.value = buf.getvalue()
        wait_dom(
            mpage,
            """(sel, r) => { const c = document.querySelector(sel + ' canvas');
                 if (c.width !== 16) return false;
                 const d = c.getContext('2d').getImageData(8, 4, 1, 1).data;
                 return Math.abs(d[0] - r) <= 3; }""",
            root(enc),
            colour[0],
        )
        got = canvas_pixels(mpage, enc)
        assert (got["w"], got["h"]) == (16, 8)
        assert all(abs(a - b) <= 3 for a, b in zip(got["px"][:3], colour, strict=True)), fmt
    assert not mpage.js_errors


def test_matplotlib_redraws_after_python_changes_it_and_follows_its_container(
    served: dict[str, Any], mpage: Any
) -> None:
    mpl, line = served["mpl"], served["line"]
    sel = root(mpl)
    # the view reported its width at devicePixelRatio 2: the PNG has twice the CSS px
    wait_dom(
        mpage,
        "(sel) => (document.querySelector(sel).dataset.wsbridgeRendered || '')"
        ".startsWith(String(2 * document.querySelector(sel).clientWidth) + 'x')",
        sel,
    )
    width = mpage.evaluate("(sel) => document.querySelector(sel).clientWidth", sel)
    assert mpl.view_size[0] == width and mpl.view_size[2] == 2.0
    head = mpage.evaluate(  # the PNG came as bytes of the binary message, not base64 text
        f"""() => {{ const d = window.wsbridgeClient.model('{mpl.id}').get('image').data;
              return [d.constructor.name, Array.from(d.subarray(0, 4))]; }}"""
    )
    assert head == ["Uint8Array", [0x89, 0x50, 0x4E, 0x47]]
    shot = mpage.locator(sel + " img").screenshot()
    frames = int(mpage.evaluate("(sel) => document.querySelector(sel).dataset.wsbridgeFrames", sel))
    line.set_color("red")
    mpl.refresh()
    wait_frames(mpage, mpl, frames + 1)
    mpage.wait_for_timeout(100)
    assert mpage.locator(sel + " img").screenshot() != shot
    # the container shrinks: the figure is rendered again at the new width x 2
    mpage.evaluate("(sel) => { document.querySelector(sel).parentElement.style.width = '300px'; }",
                   sel)  # fmt: skip
    wait_dom(mpage, "(sel) => document.querySelector(sel).dataset.wsbridgeRendered === '600x300'",
             sel)  # fmt: skip
    assert mpl.view_size == (300, 150, 2.0)  # a 4 x 2 figure keeps its aspect
    frames = int(mpage.evaluate("(sel) => document.querySelector(sel).dataset.wsbridgeFrames", sel))
    mpl.format = "svg"  # drawn again as SVG, shown by the same <img>
    wait_frames(mpage, mpl, frames + 1)
    assert (
        mpage.evaluate(f"() => window.wsbridgeClient.model('{mpl.id}').get('image').mime")
        == "image/svg+xml"
    )
    wait_dom(mpage, "(sel) => document.querySelector(sel + ' img').naturalWidth === 300", sel)
    assert not mpage.js_errors


def test_matplotlib_in_a_row_keeps_its_size(served: dict[str, Any], mpage: Any) -> None:
    """A Row shares its width among its children (each grows from 10rem): the
    picture is drawn for the width its cell gets and stays that size, rather
    than growing by its device pixels at each render."""
    in_row = served["in_row"]
    sel = root(in_row)
    wait_dom(mpage, "(sel) => !!document.querySelector(sel).dataset.wsbridgeRendered", sel)
    mpage.wait_for_timeout(800)  # a report would come 150 ms after a resize
    first = mpage.evaluate("(sel) => document.querySelector(sel).dataset.wsbridgeRendered", sel)
    width = mpage.evaluate("(sel) => document.querySelector(sel).clientWidth", sel)
    w, h, dpr = in_row.view_size
    assert dpr == 2.0 and w == width and abs(h - w / 2) <= 1  # its 3 x 1.5 in aspect
    assert first == f"{2 * w}x{2 * h}"
    mpage.wait_for_timeout(800)
    assert mpage.evaluate("(sel) => document.querySelector(sel).clientWidth", sel) == width
    assert in_row.view_size == (w, h, dpr)  # no growth at each render


def test_image_fit_and_size_follow_python(served: dict[str, Any], mpage: Any) -> None:
    img = served["img"]
    img.fit, img.width, img.height, img.smooth = "cover", 120, 60, False
    wait_dom(
        mpage,
        """(sel) => { const s = document.querySelector(sel + ' canvas').style;
             return s.objectFit === 'cover' && s.width === '120px' && s.height === '60px'
               && s.imageRendering === 'pixelated'; }""",
        root(img),
    )
    assert mpage.locator(root(img) + " .wsbridge-label").text_content() == "camera"
