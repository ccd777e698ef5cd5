"""Profile a hub's burst fan-out: the hub thread's CPU per delivery.

    python -m benchmarks.profile_follower [--viewers 200] [--burst 200]
                                          [--rounds 3] [--embedded] [--profile]

A producer publishes bursts of 1 KB ``Label`` values to a real
``redis-server``; one hub (``Bridge(follow=...)``, in this process) serves
``--viewers`` clients living in another process. With ``--embedded`` the
hub is the producer's own embedded hub instead (the baseline). Reported:
the hub thread's CPU time per delivery (``time.thread_time`` on the hub's
loop), which a shared, noisy machine disturbs far less than wall time; with
``--profile``, pyinstrument's view of the hub thread during the bursts.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from typing import Any

import wsbridge as wb
from wsbridge import wire as p
from wsbridge.scaleout.keys import BackplaneConfig

from ._clients import hold_clients
from ._common import child, free_port, quiet_logs, raise_nofile

MARK = "@@"
PAYLOAD = "x" * 1024


def _cpu(bridge: wb.Bridge) -> float:
    return float(bridge.call(lambda hub: time.thread_time()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--embedded", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    n = args.viewers
    raise_nofile(4 * n + 256)
    exe = shutil.which("redis-server")
    assert exe is not None, "needs redis-server"
    port = free_port()
    redis_proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tempfile.mkdtemp(prefix="wsbridge-prof-redis-"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        with quiet_logs():
            _run(args, n, BackplaneConfig(f"redis://127.0.0.1:{port}/0", prefix="prof:"))
    finally:
        redis_proc.terminate()
        redis_proc.wait(5)


def _run(args: Any, n: int, cfg: BackplaneConfig) -> None:
    big = {"max_clients": 20_000, "max_clients_per_document": 20_000}
    if args.embedded:
        producer = hub = wb.Bridge(**big).start()  # type: ignore[arg-type]
    else:
        producer = wb.Bridge(backplane=cfg, serve=False).start()
    label = wb.Label(value="", id="label")
    producer.dashboard("bench", wb.Column(children=[label]))
    producer.flush()
    if not args.embedded:
        hub = wb.Bridge(follow=cfg, **big).start()  # type: ignore[arg-type]
        while not hub.call(lambda h: "bench" in h.documents):
            time.sleep(0.02)
    hello = p.encode(p.Hello(doc="bench")).data.decode()
    url = hub.url.replace("http://", "ws://") + "ws"
    with child(hold_clients, url, n, hello, MARK) as (status, _go, clients):
        assert status[0] == "ready", status
        prof: list[Any] = []
        if args.profile:
            from pyinstrument import Profiler

            def start() -> None:  # pyinstrument samples the thread it starts in
                prof.append(Profiler(interval=0.0005, async_mode="disabled"))
                prof[0].start()

            hub.call(lambda h: start())
        k = 0
        per: list[float] = []
        for _ in range(args.rounds):
            cpu0, t0 = _cpu(hub), time.perf_counter()
            for i in range(args.burst):
                label.value = f"{MARK}{k + i}|{PAYLOAD}"
            last = k + args.burst - 1
            while True:
                _done, k1, _t1 = clients.queue.get(timeout=120)
                if k1 == last:
                    break
            wall, cpu = time.perf_counter() - t0, _cpu(hub) - cpu0
            per.append(cpu / (n * args.burst) * 1e6)
            print(
                f"burst {args.burst} x {n} viewers: {wall * 1e3:.0f} ms wall, hub CPU "
                f"{cpu * 1e3:.0f} ms = {per[-1]:.2f} us/delivery",
                flush=True,
            )
            k += args.burst
        if prof:
            hub.call(lambda h: prof[0].stop())
            print(prof[0].output_text(unicode=False, color=False, show_all=False))
    which = "embedded" if args.embedded else "follower"
    print(f"{which} hub, {n} viewers: best {min(per):.2f} us CPU per delivery")
    if hub is not producer:
        hub.stop()
    producer.stop()


if __name__ == "__main__":
    main()
