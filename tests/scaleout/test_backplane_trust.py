"""Data read from Redis is untrusted input (docs/security.md "Redis is a trust boundary").

Against a real redis-server: entries written by hand that no producer would
write (non-UTF-8 frames, a snapshot in the log, a name a producer may not
use) are contained to their document, which is reported in ``/healthz``
and logged once, while the follower keeps serving every other document.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from typing import Any

import pytest
import redis

import wsbridge as wb
from tests.helpers.common import wait_until
from wsbridge.client import Client
from wsbridge.scaleout.keys import BackplaneConfig, Keys, bus_payload, snap_value
from wsbridge.wire.codec import Frame, encode
from wsbridge.wire.messages import Patch, Snapshot


def _health(hub: wb.Bridge) -> dict[str, Any]:
    with urllib.request.urlopen(hub.url + "healthz", timeout=5) as r:
        assert r.status == 200
        return json.load(r)  # type: ignore[no-any-return]


def _snapshot(name: str, epoch: str = "e1", seq: int = 1) -> Frame:
    label = wb.Label("hand-written", id="l")
    return encode(
        Snapshot(doc=name, epoch=epoch, seq=seq, models={"l": label._spec()}, sources={}, root="l")
    )


def _write_document(
    rds: redis.Redis,
    keys: Keys,
    name: bytes,
    snap: bytes,
    log: list[tuple[int, bytes]] = (),  # type: ignore[assignment]
    epoch: bytes = b"e1",
) -> None:
    """A document as the publisher's Lua scripts lay it out, by hand."""
    text = name.decode("utf-8", "surrogateescape")
    meta, alive = keys.meta(text).encode("utf-8", "surrogateescape"), keys.alive(text)
    seq = max([1, *(s for s, _ in log)])
    rds.hset(meta, mapping={"epoch": epoch, "seq": seq, "snap_seq": 1, "title": b"t"})
    rds.set(keys.snap(text).encode("utf-8", "surrogateescape"), snap)
    for entry_seq, data in log:
        log_key = keys.log(text).encode("utf-8", "surrogateescape")
        rds.xadd(log_key, {b"f": data, b"b": b"0"}, id=f"{entry_seq}-0")
    rds.set(alive.encode("utf-8", "surrogateescape"), epoch, px=60_000)
    rds.hset(keys.docs, name, epoch)


def _serves(hub: wb.Bridge, name: str, model: str, value: Any) -> None:
    async def main() -> None:
        c = await Client.connect(hub.url, name)
        await c.wait_for(lambda c: c.model(model)["value"] == value, timeout=10)
        await c.close()

    asyncio.run(main())


def test_unreadable_documents_are_contained_and_reported(
    cfg: BackplaneConfig, rds: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    keys = Keys(cfg.prefix)
    patch = encode(Patch(seq=2, model="l", state={"value": "patched"})).data
    # sorted before the good one, so a follower that stops at the first bad
    # document never reaches it
    _write_document(rds, keys, b"a-bad-snapshot", b"t" + b'{"v":1,"type":"\xff\xfe"}')
    _write_document(rds, keys, b"b-bad-entry", snap_value(_snapshot("b-bad-entry")), [(2, b"\xff")])
    snap_in_log = encode(Snapshot(doc="c", epoch="e1", seq=2, models={}, sources={})).data
    _write_document(rds, keys, b"c-snapshot-in-log", snap_value(_snapshot("c")), [(2, snap_in_log)])
    _write_document(rds, keys, b"d/slash", snap_value(_snapshot("d/slash")))
    _write_document(rds, keys, b"e-\xff-name", b"tgarbage")
    _write_document(rds, keys, b"f-other-name", snap_value(_snapshot("not-f")))
    _write_document(rds, keys, b"z-good", snap_value(_snapshot("z-good")), [(2, patch)])
    with caplog.at_level(logging.WARNING, logger="wsbridge.follower"):
        hub = wb.Bridge(follow=cfg).start()
        try:
            _serves(hub, "z-good", "l", "patched")
            broken = _health(hub)["backplane"]["broken"]
            assert set(broken) == {
                "a-bad-snapshot",
                "b-bad-entry",
                "c-snapshot-in-log",
                "d/slash",
                "e-\\xff-name",
                "f-other-name",
            }, broken
            assert _health(hub)["status"] == "ok"  # the hub serves every other document
            for name in ("a-bad-snapshot", "b-bad-entry", "c-snapshot-in-log", "d/slash"):
                assert not hub.call(lambda h, n=name: n in h.documents and not h.documents[n].gone)
            time.sleep(1.5)  # several polls: still contained, not retried into the log
            follower = hub.backend.follower  # type: ignore[attr-defined]
            assert follower.reconnects == 0  # never started over
        finally:
            hub.stop()
    for name in broken:
        lines = [r for r in caplog.records if repr(name)[1:-1] in r.getMessage()]
        assert len(lines) == 1, (name, [r.getMessage() for r in lines])


def test_a_served_document_that_turns_bad_is_marked_gone_then_recovers(
    cfg: BackplaneConfig, rds: redis.Redis
) -> None:
    """A bad entry in a followed document's log: that document is marked gone
    (viewers keep its last state), the others are untouched; a new epoch from
    its producer brings it back."""
    keys = Keys(cfg.prefix)
    producer = wb.Bridge(backplane=cfg, serve=False).start()
    hub = wb.Bridge(follow=cfg).start()
    try:
        first, second = wb.Slider(1.0, id="s"), wb.Slider(5.0, id="s")
        producer.dashboard("one", wb.Column(first))
        producer.dashboard("two", wb.Column(second))
        wait_until(lambda: hub.call(lambda h: "one" in h.documents and "two" in h.documents))
        seq = hub.call(lambda h: h.documents["one"].seq)
        epoch = hub.call(lambda h: h.documents["one"].epoch)
        rds.xadd(keys.log("one"), {b"f": b"\xff\xfe", b"b": b"0"}, id=f"{seq + 1}-0")
        rds.hset(keys.meta("one"), "seq", seq + 1)
        header = {"t": "msg", "doc": "one", "epoch": epoch, "seq": seq + 1}
        rds.publish(keys.bus, bus_payload(header, Frame(b"\xff\xfe", False)))
        wait_until(lambda: "one" in _health(hub)["backplane"]["broken"])
        assert hub.call(lambda h: h.documents["one"].gone) is not None
        second.value = 7.0  # the other document goes on
        _serves(hub, "two", "s", 7.0)
        producer.dashboard("one", wb.Column(wb.Slider(3.0, id="s")))  # a new epoch
        wait_until(lambda: "one" not in _health(hub)["backplane"]["broken"])
        _serves(hub, "one", "s", 3.0)
    finally:
        hub.stop()
        producer.stop()
