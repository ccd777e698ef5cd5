"""Producer side: how long ``src.stream()`` of 10,000 float64 blocks the caller.

A running embedded ``Bridge`` with the source in a dashboard and one client
reading; each call is timed alone (a short pause between calls lets the hub
drain, as a real acquisition loop would). Bokeh's ``ColumnDataSource.stream``
of the same data (same rollover, the source in a ``Document``) is shown for
comparison; there is no raw-Tornado equivalent, so the target is absolute.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from typing import Any

import numpy as np

import wsbridge as wb

from ._common import quiet_logs, row
from .bench_stream import wsbridge_connect

POINTS = 10_000
ROLLOVER = 100_000


def _time_calls(call: Any, n: int, pause: float = 0.0005) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
        time.sleep(pause)
    return times


def _wsbridge(n: int) -> list[float]:
    y = np.random.default_rng(0).random(POINTS)
    with wb.Bridge(queue_max_bytes=1 << 30) as bridge:
        src = wb.DataSource({"y": np.zeros(0)})
        bridge.dashboard("bench", wb.Column()).add(src)
        bridge.flush()
        stop = threading.Event()
        connected = threading.Event()

        def reader() -> None:
            async def main() -> None:
                conn = await wsbridge_connect(bridge.url)
                connected.set()
                while not stop.is_set():
                    if await conn.read_message() is None:
                        break
                conn.close()

            asyncio.run(main())

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        connected.wait(10)
        times = _time_calls(lambda: src.stream({"y": y}, rollover=ROLLOVER), n)
        stop.set()
        src.stream({"y": y}, rollover=ROLLOVER)  # wake the reader
        thread.join(5)
    return times


def _bokeh(n: int) -> list[float] | None:
    try:
        from bokeh.document import Document
        from bokeh.models import ColumnDataSource
    except ImportError:
        return None
    y = np.random.default_rng(0).random(POINTS)
    src = ColumnDataSource({"y": np.zeros(0)})
    doc = Document()
    doc.add_root(src)
    return _time_calls(lambda: src.stream({"y": y}, rollover=ROLLOVER), n, pause=0)


def run(quick: bool = False) -> list[dict[str, Any]]:
    n = 300 if quick else 2000
    with quiet_logs():
        ours = _wsbridge(n)
        bokeh = _bokeh(min(n, 300))
    med = statistics.median(ours) * 1e6
    return [
        row(
            "producer",
            f"src.stream() of {POINTS:,} f64 (median)",
            "us",
            med,
            None,
            higher_is_better=False,
            target=50.0,
            others={"bokeh CDS.stream": statistics.median(bokeh) * 1e6 if bokeh else None},
            notes=f"p99 {np.percentile(ours, 99) * 1e6:.0f} us; rollover {ROLLOVER:,}",
        )
    ]
