"""Latest frame wins for a slow viewer: ``Image`` frames queued for a page that
stopped reading are coalesced by the hub (the newest value of the property),
never queued without bound, and the viewer gets the newest frame when it reads."""

from __future__ import annotations

import time

import numpy as np

import wsbridge as wb
from tests.helpers.ws import RawClient
from wsbridge import wire as p


def frame(k: int) -> np.ndarray:
    f = np.zeros((480, 640, 4), np.uint8)
    f[0, 0, 0] = k  # which frame it is, read back below
    return f


def read(client: RawClient) -> p.Message:
    opcode, payload = client.recv()
    return p.decode(payload.decode() if opcode == 0x1 else payload)


def test_a_stalled_viewer_gets_the_latest_frame_not_the_backlog() -> None:
    with wb.Bridge(port=0) as bridge:
        img = wb.Image(frame(0))
        bridge.dashboard("cam", wb.Column(img))
        bridge.flush()
        client = RawClient(bridge, rcvbuf=64 * 1024)
        client.send(0x1, p.encode(p.Hello(doc="cam")).data)
        kinds = []
        while "snapshot" not in kinds:
            kinds.append(read(client).type)
        sent = 60  # 74 MB of frames: more than the session's queue_max_bytes (32 MiB)
        for k in range(1, sent + 1):
            img.value = frame(k)
            time.sleep(0.01)
        bridge.flush()
        queued, entries = bridge.call(
            lambda hub: max((s.queued_bytes, len(s.outbox)) for s in hub.sessions.values())
        )
        assert queued < 8 * 1024 * 1024 and entries <= 6  # a run of merged frames, not 74 MB
        got: list[int] = []
        client.sock.settimeout(10)
        while not got or got[-1] != sent:
            msg = read(client)
            assert msg.type != "snapshot"  # never dropped and resent: coalesced
            if msg.type == "patch" and "frame" in msg.state:
                got.append(int(msg.state["frame"]["data"][0, 0, 0]))
        assert got == sorted(got) and got[-1] == sent
        assert len(got) < sent / 2, got  # stale frames were skipped, not queued
