"""Profile the streaming hot path: the producer thread and the hub thread.

    python -m benchmarks.profile_stream [--points 1000] [--messages 20000]
                                         [--clients 1] [--patches]

An embedded ``Bridge`` streams ``--messages`` of ``--points`` float64 to
``--clients`` readers living in another process (so they do not share this
process's GIL). pyinstrument samples the producer thread (``src.stream``)
and, started from inside it, the hub thread (publish, encode, fan-out,
writer tasks, Tornado). With ``--patches`` the producer sets a Label's 1 KB
value instead (the fan-out path). Needs ``pip install pyinstrument``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

import wsbridge as wb
from wsbridge import wire as p

from ._clients import hold_clients
from ._common import child


def main() -> None:
    from pyinstrument import Profiler

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--patches", action="store_true")
    args = parser.parse_args()

    bridge = wb.Bridge(queue_max_bytes=1 << 31, log_max_bytes=1 << 26).start()
    src = wb.DataSource({"y": np.zeros(0)})
    label = wb.Label(value="")
    bridge.dashboard("bench", wb.Column(children=[label])).add(src)
    bridge.flush()
    hello = p.encode(p.Hello(doc="bench")).data.decode()
    url = bridge.url.replace("http://", "ws://") + "ws"
    with child(hold_clients, url, args.clients, hello) as (status, _go, _proc):
        assert status[0] == "ready", status
        hub_profiler: list[Any] = []

        def start() -> None:  # pyinstrument samples the thread it starts in
            prof = Profiler(interval=0.0005, async_mode="disabled")
            prof.start()
            hub_profiler.append(prof)

        bridge._loop.call_soon_threadsafe(start)  # type: ignore[union-attr]
        bridge.flush()
        y = np.random.default_rng(0).random(args.points)
        producer = Profiler(interval=0.0005, async_mode="disabled")
        producer.start()
        t0 = time.perf_counter()
        for i in range(args.messages):
            if args.patches:
                label.value = f"{i}|" + "x" * 1024
            else:
                src.stream({"y": y}, rollover=args.points * 10)
        produced = time.perf_counter() - t0
        producer.stop()
        bridge.flush(timeout=120)
        # the writers drain the outboxes: profile that too
        while bridge.call(lambda hub: sum(s.queued_bytes for s in hub.sessions.values())):
            time.sleep(0.05)
        total = time.perf_counter() - t0
        bridge.call(lambda hub: hub_profiler[0].stop(), timeout=120)
    bridge.stop()
    what = "patches of 1 KB" if args.patches else f"streams of {args.points} f64"
    print(f"{args.messages} {what} to {args.clients} client(s): produced in {produced:.2f} s, ")
    print(f"delivered in {total:.2f} s ({args.messages / total:,.0f} messages/s)")
    print("\n==== producer thread (src.stream / trait set) ====")
    print(producer.output_text(unicode=False, color=False, show_all=False))
    print("\n==== hub thread (publish, encode, fan-out, writers, Tornado) ====")
    print(hub_profiler[0].output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    main()
