"""The browser case: 200 messages of 10,000 float64 land in headless Chromium.

wsbridge: a dashboard page (``d/bench``) whose client applies each
``stream`` to ``wsbridgeClient.source(id)``; done when the last value of the
last message is visible through ``source(id).data`` (checked on the
source's ``change`` event). Raw Tornado: a tiny page with a raw WebSocket
(``binaryType = "arraybuffer"``, a ``Float64Array`` view per message)
receiving the same 80 KB payloads, 8 writes in flight. Both servers run in
child processes and start sending when told; the time is from that moment
to the page flagging the marker (polled every 2 ms by Playwright for both).

The source's rollover is one message (``POINTS``), so wsbridge does not send
what no page could show: streams that queue up while the hub is busy go out
as one message already cut to the rollover (``Hub.publish_many``), and a
page that falls behind is coalesced the same way. Raw Tornado sends all 16 MB.
"""

from __future__ import annotations

import asyncio
import collections
import shutil
import threading
import time
from typing import Any

import numpy as np
import tornado.web
import tornado.websocket

import wsbridge as wb

from ._common import child, quiet_logs, row, serve_forever

MESSAGES = 200
POINTS = 10_000
MARKER = 4242.0
IN_FLIGHT = 8
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

_RAW_PAGE = """<!doctype html><meta charset="utf-8"><title>raw</title><script>
window.__done = null; window.__count = 0;
const ws = new WebSocket(`ws://${location.host}/ws`);
ws.binaryType = "arraybuffer";
ws.onopen = () => { window.__open = true; };
ws.onmessage = (ev) => {
  const a = new Float64Array(ev.data);
  window.__count++;
  if (a[a.length - 1] === MARKER) window.__done = performance.now();
};
</script>""".replace("MARKER", repr(MARKER))

_WSBRIDGE_HOOK = """(id) => {
  window.__done = null;
  window.__count = 0;
  const src = window.wsbridgeClient.source(id);
  src.on("change", () => {
    window.__count++;
    const y = src.data.y;
    if (y && y.length && y[y.length - 1] === MARKER) window.__done = performance.now();
  });
  return true;
}""".replace("MARKER", repr(MARKER))


def _chunks() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    chunks = [rng.random(POINTS) for _ in range(MESSAGES)]
    chunks[-1][-1] = MARKER
    return chunks


class _Page(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/html")
        self.finish(_RAW_PAGE)


class _Sender(tornado.websocket.WebSocketHandler):
    current: list[_Sender] = []

    def open(self, *args: object) -> None:
        self.set_nodelay(True)
        self.current.append(self)

    chunks: list[np.ndarray] = []

    async def send_all(self) -> None:
        pending: collections.deque[Any] = collections.deque()
        for chunk in self.chunks:
            pending.append(self.write_message(chunk.tobytes(), binary=True))
            if len(pending) >= self.in_flight:
                await pending.popleft()


def _serve_raw(ready: Any, go: Any, runs: int, in_flight: int = IN_FLIGHT) -> None:
    loop = asyncio.new_event_loop()
    _Sender.in_flight = in_flight
    _Sender.chunks = _chunks()

    def trigger() -> None:
        for _ in range(runs):
            go.wait()
            go.clear()
            handler = _Sender.current[-1]
            loop.call_soon_threadsafe(lambda h=handler: asyncio.ensure_future(h.send_all()))

    threading.Thread(target=trigger, daemon=True).start()
    app = tornado.web.Application([(r"/", _Page), (r"/ws", _Sender)])
    serve_forever(app, ready, loop=loop)


def _serve_wsbridge(ready: Any, go: Any, runs: int) -> None:
    bridge = wb.Bridge().start()
    src = wb.DataSource({"y": np.zeros(0)})
    bridge.dashboard("bench", wb.Column()).add(src)
    bridge.flush()
    ready.put((bridge.url, src.id))
    chunks = _chunks()
    for _ in range(runs):
        go.wait()
        go.clear()
        for chunk in chunks:
            src.stream({"y": chunk}, rollover=POINTS)
        src.replace({"y": np.zeros(0)})  # reset for the next run
    time.sleep(3600)


def _time_run(page: Any, go: Any, counts: list[int]) -> float:
    page.bring_to_front()  # a background tab is throttled
    page.evaluate("window.__done = null; window.__count = 0")
    t0 = time.perf_counter()
    go.set()
    page.wait_for_function("window.__done !== null", polling=2, timeout=60_000)
    elapsed = time.perf_counter() - t0
    counts.append(page.evaluate("window.__count"))
    return elapsed


def measure(
    runs: int, in_flight: int = IN_FLIGHT, counts: dict[str, list[int]] | None = None
) -> tuple[list[float], list[float]]:
    """Alternate raw and wsbridge runs, so background load hits both alike."""
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    raw: list[float] = []
    ours: list[float] = []
    counts = counts if counts is not None else {}
    counts.setdefault("raw", [])
    counts.setdefault("wsbridge", [])
    with (
        sync_playwright() as pw,
        child(_serve_raw, runs, in_flight) as ((port, _), raw_go, _p1),
        child(_serve_wsbridge, runs) as ((url, sid), ours_go, _p2),
    ):
        browser = pw.chromium.launch(executable_path=exe, args=ARGS)
        try:
            raw_page = browser.new_page()
            raw_page.goto(f"http://127.0.0.1:{port}/")
            raw_page.wait_for_function("window.__open === true", timeout=30_000)
            our_page = browser.new_page()
            our_page.goto(url + "d/bench")
            our_page.wait_for_function("window.wsbridgeClient !== undefined", timeout=30_000)
            our_page.evaluate(_WSBRIDGE_HOOK, sid)
            for _ in range(runs):
                raw.append(_time_run(raw_page, raw_go, counts["raw"]))
                time.sleep(0.2)
                ours.append(_time_run(our_page, ours_go, counts["wsbridge"]))
                time.sleep(0.2)
        finally:
            browser.close()
    return raw, ours


def run(quick: bool = False) -> list[dict[str, Any]]:
    runs = 2 if quick else 7
    counts: dict[str, list[int]] = {}
    with quiet_logs():
        raw, ours = measure(runs, counts=counts)
    # the first run warms up the JIT on both sides: report the median of the rest
    raw_ms = float(np.median(raw[1:])) * 1e3
    ours_ms = float(np.median(ours[1:])) * 1e3
    return [
        row(
            "browser",
            f"{MESSAGES} x {POINTS:,} f64 into Chromium",
            "ms",
            ours_ms,
            raw_ms,
            higher_is_better=False,
            target=1.25,
            notes=f"median of {runs - 1} runs after a warm-up; messages applied by the page: "
            f"wsbridge {counts['wsbridge'][1:]} (batched, cut to the rollover of "
            f"{POINTS:,} rows), raw {counts['raw'][1:]}",
            extra={
                "raw_runs_ms": [t * 1e3 for t in raw],
                "wsbridge_runs_ms": [t * 1e3 for t in ours],
                "messages_applied": counts,
            },
        )
    ]
