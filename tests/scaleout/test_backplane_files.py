"""Files on a Redis backplane: a hub following it refuses uploads plainly
(they reach Python only through the producer's own hub), and a download a
viewer of a following hub asked for comes back to that viewer only."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

import wsbridge as wb
from tests.helpers.common import run, wait_until
from tests.helpers.ws import hello, read
from wsbridge import wire as p
from wsbridge.scaleout.keys import BackplaneConfig
from wsbridge.wire.files import Download, UploadStart

pytestmark = pytest.mark.redis


async def _until(conn: Any, kind: type) -> Any:
    while True:
        msg = await read(conn)
        if isinstance(msg, kind):
            return msg


def test_a_following_hub_refuses_uploads_and_relays_downloads(cfg: BackplaneConfig) -> None:
    payload = os.urandom(100_000)
    producer = wb.Bridge(backplane=cfg, serve=False).start()
    hub = wb.Bridge(follow=cfg).start()
    try:
        inp = wb.FileInput(id="in")
        dl = wb.FileDownload(payload, filename="p.bin", id="dl")
        producer.dashboard("live", wb.Column(inp, dl))
        wait_until(lambda: bool(hub.call(lambda h: "live" in h.documents)))

        async def main() -> None:
            a = await hello(hub, "live")
            b = await hello(hub, "live")
            for conn in (a, b):
                assert isinstance(await read(conn), p.Welcome)
            meta = [{"name": "x.bin", "type": "", "size": 10}]
            await a.write_message(
                p.encode(UploadStart(model="in", upload=1, files=meta)).data.decode()
            )
            err = await _until(a, p.Error)
            assert err.ref == {"type": "upload", "model": "in", "upload": 1}
            assert "only through the hub its producer runs in" in err.message
            await a.write_message(p.encode(p.Event(model="dl", name="click")).data.decode())
            got = await asyncio.wait_for(_until(a, Download), 10)
            assert got.name == "p.bin" and got.data.tobytes() == payload
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(_until(b, Download), 0.5)

        run(main())
    finally:
        hub.stop()
        producer.stop()
