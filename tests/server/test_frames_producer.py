"""Packed columns from a remote producer (docs/protocol.md "Packed
columns"): a stream with missing values is applied and fanned out with its
mask; one whose mask does not fit its rows is refused with a clear
``bad_message`` error and changes nothing, the hub and its viewer going on.

A producer speaking envelopes over a real socket to an embedded hub with
``producer_token``, and a raw viewer.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
from tornado.httpclient import HTTPRequest

import wsbridge as wb
from tests.helpers.ws import connect, hello, read
from wsbridge.wire.envelope import PRODUCER_HEADER, decode_envelope, encode_envelope
from wsbridge.wire.messages import Add, Snapshot, Stream, Welcome
from wsbridge.wire.packed import Packed

TOKEN = "producer-secret"


async def _producer(bridge: wb.Bridge) -> Any:
    headers = {"Authorization": f"Bearer {TOKEN}", PRODUCER_HEADER: "frames-producer-0123456789"}
    url = bridge.url.replace("http://", "ws://") + "producer"
    return await connect(HTTPRequest(url, headers=headers))


def _rows(bridge: wb.Bridge) -> Any:
    return bridge.call(lambda hub: hub.documents["doc"].state.sources["s"].data["n"])


async def test_a_remote_producers_masks_travel_and_a_bad_one_is_refused() -> None:
    with wb.Bridge(producer_token=TOKEN) as bridge:
        producer = await _producer(bridge)
        spec = Add(seq=0, sources={"s": {"data": {"n": np.arange(2, dtype=np.int64)}}})
        producer.write_message(encode_envelope("create", doc="doc", title="", spec=spec).data, True)
        deadline = time.monotonic() + 5
        while not bridge.call(lambda hub: "doc" in hub.documents):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        viewer = await hello(bridge, "doc")
        assert isinstance(await read(viewer), Welcome)
        assert isinstance(await read(viewer), Snapshot)

        good = Stream(
            seq=0, source="s", data={"n": Packed(np.array([7, 0]), np.array([1, 0], np.uint8))}
        )
        producer.write_message(encode_envelope("publish", doc="doc", message=good).data, True)
        got = await read(viewer)
        assert isinstance(got, Stream) and got.data["n"].mask.tolist() == [1, 0]
        assert _rows(bridge).mask.tolist() == [1, 1, 1, 0]

        bad = {  # a mask of 2 entries for 3 rows, as a faulty producer might send it
            "v": 1, "type": "stream", "seq": 0, "source": "s", "rollover": None,
            "data": {"n": {"values": np.arange(3, dtype=np.int64), "mask": np.ones(2, np.uint8)}},
        }  # fmt: skip
        producer.write_message(encode_envelope("publish", doc="doc", message=bad).data, True)
        env = decode_envelope(await asyncio.wait_for(producer.read_message(), 5))
        assert env["type"] == "error" and env["code"] == "bad_message", env
        assert "mask has 2 entries for 3 rows" in env["message"]
        assert len(_rows(bridge)) == 4  # nothing changed
        with_more = Stream(seq=0, source="s", data={"n": np.array([9])})
        producer.write_message(encode_envelope("publish", doc="doc", message=with_more).data, True)
        got = await read(viewer)  # the hub and the viewer go on
        assert isinstance(got, Stream) and got.data["n"].tolist() == [9]
        assert _rows(bridge).mask.tolist() == [1, 1, 1, 0, 1]
        for conn in (producer, viewer):
            conn.close()
