"""Scale-out: 1 producer, 2 hubs on a Redis backplane, N clients, vs one embedded hub.

Both sides run the same producer code (a ``Label`` set to ~1 KB with a round
marker) and the same N clients (in child processes, timing each arrival).
One side is the plain embedded hub with all N clients; the other is a
producer publishing to a real ``redis-server`` (``Bridge(backplane=...,
serve=False)``) and two hub processes (``Bridge(follow=...)``, what
``wsbridge hub --redis`` runs) with N/2 clients each. Measured in the same
run: the time from the producer's call to the last client's arrival (p50,
p99 over rounds), and delivered messages per second for a burst.

On a 2-core machine the second side runs five busy processes on two cores,
so this measures the cost of the Redis hop more than the gain of a second
machine; the gain needs hubs on their own cores.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from typing import Any

import wsbridge as wb
from wsbridge import wire as p

from ._clients import hold_clients
from ._common import child, free_port, pct, quiet_logs, raise_nofile, row

MARK = "@@"
PAYLOAD = "x" * 1024


def _producer(ready: Any, go: Any, cmd: Any, backplane: str | None) -> None:
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


def _hub(ready: Any, go: Any, backplane: str) -> None:
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


def run(quick: bool = False) -> list[dict[str, Any]]:
    exe = shutil.which("redis-server")
    if exe is None:
        return [
            row(
                "scaleout",
                "2 hubs on Redis",
                "ms",
                None,
                None,
                higher_is_better=False,
                notes="skipped: no redis-server (apt-get install -y redis-server)",
            )
        ]
    n, rounds, burst = (100, 10, 50) if quick else (400, 30, 200)
    raise_nofile(4 * n + 256)
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
    one_cmd, two_cmd = ctx.Queue(), ctx.Queue()
    one: list[float] = []
    two: list[float] = []
    bursts: dict[str, list[float]] = {"one": [], "two": []}
    try:
        time.sleep(0.3)
        with (
            quiet_logs(),
            child(_producer, one_cmd, None) as (one_url, _g1, one_server),
            child(_producer, two_cmd, url) as (_none, _g2, two_server),
            child(_hub, url) as (hub_a, _g3, _pa),
            child(_hub, url) as (hub_b, _g4, _pb),
            child(hold_clients, _ws(one_url), n, hello, MARK) as (s1, _g5, one_clients),
            child(hold_clients, _ws(hub_a), n // 2, hello, MARK) as (s2, _g6, a_clients),
            child(hold_clients, _ws(hub_b), n // 2, hello, MARK) as (s3, _g7, b_clients),
        ):
            assert s1[0] == s2[0] == s3[0] == "ready", (s1, s2, s3)
            k = 0
            for _ in range(rounds):  # alternate, so background load hits both alike
                one.append(_round(one_server, one_cmd, [one_clients], k))
                two.append(_round(two_server, two_cmd, [a_clients, b_clients], k))
                k += 1
                time.sleep(0.05)
            for _ in range(2):
                bursts["one"].append(_round(one_server, one_cmd, [one_clients], k, burst))
                b = _round(two_server, two_cmd, [a_clients, b_clients], k, burst)
                bursts["two"].append(b)
                k += burst
    finally:
        redis_proc.terminate()
        redis_proc.wait(5)
    rows = []
    for q in (50, 99):
        rows.append(
            row(
                "scaleout",
                f"p{q}, 1 KB to {n} clients, 2 hubs on Redis",
                "ms",
                pct(two, q) * 1e3,
                pct(one, q) * 1e3,
                higher_is_better=False,
                baseline="one embedded hub",
                notes="producer call to last delivery" if q == 50 else "",
            )
        )
    rate_two = n * burst / min(bursts["two"])
    rate_one = n * burst / min(bursts["one"])
    rows.append(
        row(
            "scaleout",
            f"burst of {burst} x 1 KB to {n} clients, 2 hubs on Redis",
            "msgs/s",
            rate_two,
            rate_one,
            higher_is_better=True,
            baseline="one embedded hub",
            notes="deliveries per second (best of 2)",
        )
    )
    return rows


def _ws(url: str) -> str:
    return url.replace("http://", "ws://") + "ws"
