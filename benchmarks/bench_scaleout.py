"""Scale-out: 1 producer, H hubs on a Redis backplane, V viewers per hub, vs one embedded hub.

    python -m benchmarks --only scaleout --hubs 1,2,4,8 --viewers 1000

For each hub count H, one producer publishes to a real ``redis-server``
(``Bridge(backplane=..., serve=False)``) and H hub processes
(``Bridge(follow=...)``, what ``wsbridge hub --redis`` runs) each serve V
viewers (in child processes, timing each arrival of a ~1 KB ``Label``
value). The baseline, alive through the whole run and measured in
alternating rounds, is the same producer as one embedded hub with V
viewers. Reported: the round time from the producer's call to the last
viewer's arrival (p50, p99), burst deliveries per second (best of 2) with
its ratio to the embedded hub, and for each H > 1 its rate over one hub's.

On fewer cores than hubs + 2, the H hubs share cores (a note says so): the
figures then measure the Redis hop more than the gain of more machines.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import wsbridge as wb
from wsbridge import wire as p
from wsbridge.scaleout.keys import BackplaneConfig

from ._clients import hold_clients
from ._common import child, free_port, pct, quiet_logs, raise_nofile, row

MARK = "@@"
PAYLOAD = "x" * 1024


def _producer(ready: Any, go: Any, cmd: Any, backplane: BackplaneConfig | None) -> None:
    raise_nofile(4096)
    if backplane is None:
        bridge = wb.Bridge(max_clients=20_000, max_clients_per_document=20_000).start()
    else:
        bridge = wb.Bridge(backplane=backplane, serve=False).start()
    label = wb.Label(value="", id="label")
    bridge.dashboard("bench", wb.Column(children=[label]))
    bridge.flush()
    ready.put(bridge.url if backplane is None else "published")
    while True:
        k, burst = cmd.get()
        t0 = time.perf_counter()
        for i in range(burst):
            label.value = f"{MARK}{k + i}|{PAYLOAD}"
        ready.put(("sent", k, t0))


def _hub(ready: Any, go: Any, backplane: BackplaneConfig) -> None:
    raise_nofile(4096)
    bridge = wb.Bridge(follow=backplane, max_clients=20_000, max_clients_per_document=20_000)
    bridge.start()
    deadline = time.monotonic() + 10
    while not bridge.call(lambda hub: "bench" in hub.documents):
        if time.monotonic() > deadline:
            raise TimeoutError("the hub never saw the document")
        time.sleep(0.02)
    ready.put(bridge.url)
    while True:
        time.sleep(3600)


def _round(server: Any, cmd: Any, client_sets: list[Any], k: int, burst: int = 1) -> float:
    """Time from the producer's first call to the last client's arrival of round k+burst-1."""
    cmd.put((k, burst))
    _, _k0, t0 = server.queue.get(timeout=60)
    last = k + burst - 1
    ends = []
    for clients in client_sets:
        while True:
            _done, k1, t1 = clients.queue.get(timeout=60)
            if k1 == last:
                ends.append(t1)
                break
    return float(max(ends) - t0)


def run(
    quick: bool = False, hubs: Sequence[int] = (1, 2), viewers: int | None = None
) -> list[dict[str, Any]]:
    """Each count of ``hubs`` (on one Redis), ``viewers`` clients per hub, against one
    embedded hub with ``viewers`` clients measured in the same run (rounds alternate)."""
    exe = shutil.which("redis-server")
    if exe is None:
        return [
            row(
                "scaleout",
                "hubs on Redis",
                "ms",
                None,
                None,
                higher_is_better=False,
                notes="skipped: no redis-server (apt-get install -y redis-server)",
            )
        ]
    n = viewers or (100 if quick else 400)
    rounds, burst = (10, 50) if quick else (30, 200)
    cores = os.cpu_count() or 1
    if cores < max(hubs) + 2:
        print(
            f"   note: {cores} cores; the scaling figures need one core per hub (and one for "
            "the producer and Redis): here they measure the Redis hop more than the gain",
            file=sys.stderr,
            flush=True,
        )
    raise_nofile(4 * n * max(hubs) + 256)
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="wsbridge-bench-redis-")
    redis_proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    hello = p.encode(p.Hello(doc="bench")).data.decode()
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    rows: list[dict[str, Any]] = []
    rates: dict[int, float] = {}
    try:
        time.sleep(0.3)
        one_cmd = ctx.Queue()
        with (
            quiet_logs(),
            child(_producer, one_cmd, None) as (one_url, _g1, one_server),
            child(hold_clients, _ws(one_url), n, hello, MARK) as (s1, _g2, one_clients),
        ):
            assert s1[0] == "ready", s1
            k = 0
            for h in hubs:
                cfg = BackplaneConfig(url, prefix=f"bench{h}:")
                cmd = ctx.Queue()
                with contextlib.ExitStack() as stack:
                    _, _, server = stack.enter_context(child(_producer, cmd, cfg))
                    sets = []
                    for _ in range(h):
                        hub_url, _, _ = stack.enter_context(child(_hub, cfg))
                        ok, _, clients = stack.enter_context(
                            child(hold_clients, _ws(hub_url), n, hello, MARK)
                        )
                        assert ok[0] == "ready", ok
                        sets.append(clients)
                    one: list[float] = []
                    many: list[float] = []
                    for _ in range(rounds):  # alternate, so background load hits both alike
                        one.append(_round(one_server, one_cmd, [one_clients], k))
                        many.append(_round(server, cmd, sets, k))
                        k += 1
                        time.sleep(0.05)
                    best_one = best_many = float("inf")
                    for _ in range(2):
                        t = _round(one_server, one_cmd, [one_clients], k, burst)
                        best_one = min(best_one, t)
                        best_many = min(best_many, _round(server, cmd, sets, k, burst))
                        k += burst
                rates[h] = h * n * burst / best_many
                rows += _rows(h, n, burst, one, many, rates[h], n * burst / best_one)
    finally:
        redis_proc.terminate()
        redis_proc.wait(5)
    if 1 in rates:
        for h, rate in rates.items():
            if h != 1:
                rows.append(
                    row(
                        "scaleout",
                        f"{h} hubs vs 1 hub, burst deliveries/s",
                        "x",
                        rate / rates[1],
                        float(h),
                        higher_is_better=True,
                        baseline="ideal (hubs x 1)",
                        notes=f"{cores} cores",
                    )
                )
    return rows


def _rows(
    h: int, n: int, burst: int, one: list[float], many: list[float], rate: float, rate_one: float
) -> list[dict[str, Any]]:
    where = f"{h} hub{'s' if h > 1 else ''} on Redis x {n} viewers"
    out = [
        row(
            "scaleout",
            f"round p{q}, 1 KB, {where}",
            "ms",
            pct(many, q) * 1e3,
            pct(one, q) * 1e3,
            higher_is_better=False,
            baseline=f"one embedded hub x {n} viewers",
            notes="producer call to last delivery" if q == 50 else "",
        )
        for q in (50, 99)
    ]
    out.append(
        row(
            "scaleout",
            f"burst of {burst} x 1 KB, {where}",
            "msgs/s",
            rate,
            rate_one,
            higher_is_better=True,
            baseline=f"one embedded hub x {n} viewers",
            notes="deliveries per second (best of 2); the ratio is per hub count",
        )
    )
    return out


def _ws(url: str) -> str:
    return url.replace("http://", "ws://") + "ws"
