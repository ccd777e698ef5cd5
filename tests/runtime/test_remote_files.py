"""Files with a remote producer (a kernel's ``RemoteBridge``): an upload
crosses the producer link as one binary ``input``, a download back as one
binary ``download`` envelope, to the clicking viewer only."""

from __future__ import annotations

import asyncio
import os

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.ws import hello, read
from tests.runtime.conftest import TOKEN
from wsbridge import wire as p
from wsbridge.hub import link
from wsbridge.runtime.remote import RemoteBridge
from wsbridge.wire.files import Download, UploadChunk, UploadDone, UploadStart


async def _until(conn: object, kind: type) -> p.Message:
    while True:
        msg = await read(conn)
        if isinstance(msg, kind):
            return msg


async def test_files_cross_the_producer_link(
    hub: wb.Bridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = RemoteBridge(hub.url, token=TOKEN)
    remote.start()
    try:
        inp = wb.FileInput()
        payload = os.urandom(200_000)
        dl = wb.FileDownload(payload, filename="out.bin")
        remote.dashboard("k", wb.Column(inp, dl))
        conn = None
        for _ in range(100):  # the create crosses the link first
            conn = await hello(hub, "k")
            if isinstance(await read(conn), p.Welcome):
                break
            conn.close()
            await asyncio.sleep(0.05)
        assert conn is not None
        data = os.urandom(300_000)
        meta = [{"name": "in.bin", "type": "application/octet-stream", "size": len(data)}]
        await conn.write_message(
            p.encode(UploadStart(model=inp.id, upload=1, files=meta)).data.decode()
        )
        for at in range(0, len(data), 100_000):
            chunk = np.frombuffer(data[at : at + 100_000], np.uint8)
            await conn.write_message(
                p.encode(UploadChunk(upload=1, offset=at, data=chunk)).data, binary=True
            )
        assert (await _until(conn, UploadDone)).upload == 1
        assert inp.value[0].content == data and inp.value[0].name == "in.bin"
        # past what the link carries in one frame: refused, nothing sent to the kernel
        monkeypatch.setattr(link, "MAX_LINK_UPLOAD", 1000)
        small = [{"name": "x.bin", "type": "", "size": 2000}]
        await conn.write_message(
            p.encode(UploadStart(model=inp.id, upload=3, files=small)).data.decode()
        )
        chunk = np.frombuffer(os.urandom(2000), np.uint8)
        await conn.write_message(
            p.encode(UploadChunk(upload=3, offset=0, data=chunk)).data, binary=True
        )
        err = await _until(conn, p.Error)
        assert isinstance(err, p.Error) and "remote producer is at most 1000 bytes" in err.message
        assert (await _until(conn, UploadDone)).upload == 3
        assert inp.value[0].name == "in.bin"
        await conn.write_message(p.encode(p.Event(model=dl.id, name="click")).data.decode())
        got = await _until(conn, Download)
        assert isinstance(got, Download) and got.data.tobytes() == payload
        remote.stop()  # the kernel is gone: its document stays, uploads are refused at once
        gone = await _until(conn, p.Error)
        assert isinstance(gone, p.Error) and gone.code == "producer_gone"
        await conn.write_message(
            p.encode(UploadStart(model=inp.id, upload=2, files=meta)).data.decode()
        )
        refused = await _until(conn, p.Error)
        assert isinstance(refused, p.Error) and refused.code == "upload_refused"
        assert refused.message == gone.message
    finally:
        remote.stop()
