"""The hub's upload bookkeeping, sans I/O: an uploader whose outbound queue
was dropped (it fell behind) has its upload cancelled, told past the drop,
instead of waiting forever for acks that were dropped with the queue."""

from __future__ import annotations

import numpy as np

import wsbridge as wb
from tests.helpers.pair import Pair
from wsbridge.wire.codec import decode, encode
from wsbridge.wire.files import UploadChunk, UploadStart
from wsbridge.wire.messages import Error


def test_an_uploader_that_fell_behind_is_told_and_its_upload_freed() -> None:
    pair = Pair(queue_max_bytes=8 * 1024)
    inp = wb.FileInput()
    src = wb.DataSource({"x": np.zeros(0)})
    pair.create("main", wb.Column(inp, wb.Sparkline(src, x="x", y="x")))
    client = pair.connect()
    session = pair.session(client)
    meta = [{"name": "a", "type": "", "size": 100_000}]
    pair.send(client, encode(UploadStart(model=inp.id, upload=1, files=meta)))
    for i in range(20):  # the client reads nothing: its queue overflows
        src.stream({"x": np.arange(100.0) + i})
    assert session.need_snapshot
    chunk = UploadChunk(upload=1, offset=0, data=np.zeros(1000, np.uint8))
    pair.send(client, encode(chunk))
    frames = [decode(f.data if f.binary else f.data.decode()) for f, _, _ in session.outbox]
    errors = [m for m in frames if isinstance(m, Error)]
    assert [e.code for e in errors] == ["upload_refused"]
    assert "fell behind" in errors[0].message
    assert pair.hub.uploads.stats() == {"uploads": 0, "received_bytes": 0, "reserved_bytes": 0}


def test_sizes_read_like_the_page_shows_them() -> None:
    """The same texts as js/src/views/files.js ``fileSize`` (js/test/views/files.test.js)."""
    from wsbridge.hub.uploads import file_size

    sizes = [0, 999, 1000, 11_000, 2_000_000, 20_971_520, 5 * 10**12]
    assert [file_size(n) for n in sizes] == [
        "0 bytes",
        "999 bytes",
        "1.0 KB",
        "11.0 KB",
        "2.0 MB",
        "21.0 MB",
        "5000.0 GB",
    ]
