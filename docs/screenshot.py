"""Regenerate the pictures of the README and docs/theming.md in headless Chromium.

    python docs/screenshot.py            # every picture
    python docs/screenshot.py demo       # only the demo's (or: gallery)

The demo (``wsbridge demo``, wsbridge/demo.py) and the gallery of every
control (wsbridge/gallery.py) at a desktop width (1280 px) and a phone width
(390 px), each in the light and the dark colours (the page follows the
system's ``prefers-color-scheme``, which Chromium is told here):

- docs/screenshot.png: the demo, 1280 px, light (the README's first picture);
- docs/screenshots/<page>-<width>-<scheme>.png: all eight.

The demo streams, so each run differs in its details; its random noise is
seeded and the picture is taken once its plot has filled (7 s).
Needs playwright and a Chromium (``chromium`` on the PATH, or
``WSBRIDGE_CHROMIUM``); the PNGs are optimised with Pillow (a dependency of
Bokeh).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

import wsbridge as wb
from wsbridge.demo import DEMO_NAME, DemoStreamer, build_demo
from wsbridge.gallery import GALLERY_NAME, build_gallery

DOCS = Path(__file__).resolve().parent
OUT = DOCS / "screenshots"
WIDTHS = (1280, 390)
SCHEMES = ("light", "dark")
#: how long the demo streams before its pictures: its plot holds 6 s
DEMO_WARMUP_S = 7.0

ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def chromium() -> str:
    path = os.environ.get("WSBRIDGE_CHROMIUM") or shutil.which("chromium")
    if not path:
        sys.exit("screenshot.py needs Chromium: apt-get install -y chromium (or WSBRIDGE_CHROMIUM)")
    return path


def optimise(path: Path) -> None:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with Bokeh
        return
    with Image.open(path) as img:
        img.load()
    img.save(path, optimize=True)


def shoot(browser: object, url: str, width: int, scheme: str, path: Path, settle: float) -> None:
    page = browser.new_page(  # type: ignore[attr-defined]
        viewport={"width": width, "height": 900}, color_scheme=scheme, device_scale_factor=1
    )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_function("() => window.wsbridgeClient?.status === 'connected'")
    page.wait_for_function(  # every Bokeh plot drawn
        "() => [...document.querySelectorAll('[data-wsbridge-type=Plot]')]"
        ".every((el) => el.dataset.wsbridgeReady === 'true')"
    )
    time.sleep(settle)
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    page.close()
    if errors:
        raise SystemExit(f"{url}: errors in the page: {errors}")
    optimise(path)
    print(f"{path.relative_to(DOCS.parent)}  {path.stat().st_size // 1024} KiB")


def main(which: list[str]) -> None:
    pages = [p for p in ("demo", "gallery") if not which or p in which]
    OUT.mkdir(exist_ok=True)
    streamer = DemoStreamer(seed=3)
    with wb.Bridge() as bridge, sync_playwright() as pw:
        build_demo(bridge, streamer)
        build_gallery(bridge)
        browser = pw.chromium.launch(executable_path=chromium(), args=ARGS)
        try:
            if "demo" in pages:
                time.sleep(DEMO_WARMUP_S)
            for name in pages:
                url = bridge.url + "d/" + (DEMO_NAME if name == "demo" else GALLERY_NAME)
                for width in WIDTHS:
                    for scheme in SCHEMES:
                        path = OUT / f"{name}-{width}-{scheme}.png"
                        shoot(browser, url, width, scheme, path, 1.5)
                        if name == "demo" and width == 1280 and scheme == "light":
                            shutil.copyfile(path, DOCS / "screenshot.png")
        finally:
            browser.close()
            streamer.stop()
            streamer.join(5.0)


if __name__ == "__main__":
    main(sys.argv[1:])
