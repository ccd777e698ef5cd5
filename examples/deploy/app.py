"""The example producer: a live counter and a streaming sine, published to
Redis by ``wsbridge serve app.py --redis URL`` (run.sh does that)."""

import threading
import time

import numpy as np

import wsbridge as wb

count = wb.Number(0, label="updates")
src = wb.DataSource({"t": np.zeros(0), "y": np.zeros(0)})
bridge.dashboard("live", wb.Column(count, wb.Sparkline(src)), title="Live")  # type: ignore[name-defined]  # noqa: F821


def produce() -> None:
    for i in range(1, 10**9):
        src.stream({"t": [float(i)], "y": [float(np.sin(i / 10))]}, rollover=500)
        count.value = i
        time.sleep(0.1)


threading.Thread(target=produce, daemon=True).start()
