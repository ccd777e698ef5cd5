"""The Python client's files: ``Client.upload`` as a browser uploads, its
refusals raised; a ``download`` answering its click reaches its listeners
(before, the client took it for a protocol error and resynchronised)."""

from __future__ import annotations

import os

import pytest

import wsbridge as wb
from wsbridge.client import Client
from wsbridge.client.files import UploadFailed
from wsbridge.wire.files import Download


async def test_upload_and_download_from_the_python_client() -> None:
    data = os.urandom(3_000_000)
    with wb.Bridge(port=0) as bridge:
        inp = wb.FileInput(multiple=True, accept=".bin,.txt")
        dl = wb.FileDownload(callback=lambda: b"report", filename="r.txt")
        bridge.dashboard("main", wb.Column(inp, dl))
        async with await Client.connect(bridge.url, "main") as c:
            seen: list[tuple[int, int]] = []
            await c.upload(
                inp.id,
                [("a.bin", data), ("b.txt", "text/plain", b"hi")],
                progress=lambda r, t: seen.append((r, t)),
            )
            assert [(f.name, f.type, f.content) for f in inp.value] == [
                ("a.bin", "", data),
                ("b.txt", "text/plain", b"hi"),
            ]
            assert seen[-1] == (len(data) + 2, len(data) + 2) and len(seen) > 3
            with pytest.raises(UploadFailed) as info:
                await c.upload(inp.id, [("c.exe", b"MZ")])
            assert info.value.code == "invalid_value" and "c.exe" in info.value.message
            got: list[Download] = []
            c.on_message(lambda m: got.append(m) if isinstance(m, Download) else None)
            await c.event(dl.id, "click")
            await c.wait_for(lambda c: got)
            assert got[0].data.tobytes() == b"report" and got[0].name == "r.txt"
            assert c.connections == 1  # no resync on the way
