"""A producer may only change the documents it created (docs/protocol.md
"Producer connection"): another live producer's document can be neither
replaced nor removed, nor its viewers answered; the same producer
reconnecting (its producer id, or its kernel) takes its documents over and
the old connection is told.

Two producers speaking envelopes over real sockets to an embedded hub
with ``producer_token``, plus two ``RemoteBridge`` producers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from tornado.httpclient import HTTPRequest

import wsbridge as wb
from tests.helpers.pair import payload
from tests.helpers.ws import connect, hello, read
from wsbridge.hub.hub import Hub
from wsbridge.hub.link import ProducerLink
from wsbridge.runtime.remote import RemoteBridge
from wsbridge.wire.codec import Frame, decode
from wsbridge.wire.envelope import PRODUCER_HEADER, decode_envelope, encode_envelope
from wsbridge.wire.messages import Add, Error, Patch, Snapshot, Welcome

TOKEN = "producer-secret"


async def _producer(bridge: wb.Bridge, instance: str | None) -> Any:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if instance is not None:
        headers[PRODUCER_HEADER] = instance
    url = bridge.url.replace("http://", "ws://") + "producer"
    return await connect(HTTPRequest(url, headers=headers))


def _send(conn: Any, frame: Frame) -> None:
    conn.write_message(frame.data, binary=frame.binary)


def _spec(label: str) -> Add:
    model = wb.Label(label, id="l")
    return Add(seq=0, models={"l": model._spec()}, root="l")


async def _errors(conn: Any, quiet: float = 0.5) -> list[dict[str, Any]]:
    """The ``error`` envelopes received until nothing came for ``quiet`` seconds."""
    found = []
    while True:
        try:
            data = await asyncio.wait_for(conn.read_message(), quiet)
        except asyncio.TimeoutError:
            return found
        if data is None:
            return found
        env = decode_envelope(data)
        if env["type"] == "error":
            found.append(env)


def _label(bridge: wb.Bridge, doc: str = "doc") -> Any:
    return bridge.call(lambda hub: hub.documents[doc].state.models["l"]["state"]["value"])


async def _wait_doc(bridge: wb.Bridge, doc: str = "doc") -> None:
    deadline = time.monotonic() + 5
    while not bridge.call(lambda hub: doc in hub.documents and hub.documents[doc].gone is None):
        assert time.monotonic() < deadline, f"{doc} never arrived"
        await asyncio.sleep(0.02)


async def test_only_the_owner_changes_a_document_and_only_the_same_producer_takes_it_over() -> None:
    with wb.Bridge(producer_token=TOKEN) as bridge:
        bridge.dashboard("own", wb.Column())  # the bridge's own document
        bridge.flush()
        a = await _producer(bridge, "instance-a-0123456789")
        b = await _producer(bridge, "instance-b-0123456789")
        _send(a, encode_envelope("create", doc="doc", title="A", spec=_spec("from a")))
        await _wait_doc(bridge)
        epoch = bridge.call(lambda hub: hub.documents["doc"].epoch)
        viewer = await hello(bridge, "doc")
        assert isinstance(await read(viewer), Welcome)
        assert isinstance(await read(viewer), Snapshot)
        session = bridge.call(lambda hub: next(iter(hub.documents["doc"].sessions)).id)

        # b may not replace, change, remove, or answer the viewers of a's document
        _send(b, encode_envelope("create", doc="doc", title="B", spec=_spec("from b")))
        patch = Patch(seq=0, model="l", state={"value": "b was here"})
        for _ in range(3):
            _send(b, encode_envelope("publish", doc="doc", message=patch))
        _send(b, encode_envelope("remove", doc="doc"))
        _send(b, encode_envelope("reject", doc="doc", session=session, code="invalid_value",
                                 text="forged", model="l", properties=["value"]))  # fmt: skip
        _send(b, encode_envelope("reply_state", doc="doc", session=session, model="l",
                                 properties=["value"]))  # fmt: skip
        _send(b, encode_envelope("create", doc="own", title="B", spec=_spec("from b")))
        refused = await _errors(b)
        assert [e["code"] for e in refused] == ["not_owner"] * 6, refused  # once per kind
        assert "another producer" in refused[0]["message"]
        assert bridge.call(lambda hub: hub.documents["doc"].epoch) == epoch
        assert _label(bridge) == "from a"
        assert bridge.call(lambda hub: hub.documents["own"].state.title) == "own"
        with pytest.raises(asyncio.TimeoutError):  # the viewer heard nothing forged
            await asyncio.wait_for(viewer.read_message(), 0.5)

        # a reconnects (same producer id) before its old connection is seen to
        # close: the new connection takes the document over, the old is told
        a2 = await _producer(bridge, "instance-a-0123456789")
        _send(a2, encode_envelope("create", doc="doc", title="A", spec=_spec("a again")))
        told = await _errors(a)
        assert [e["code"] for e in told] == ["not_owner"] and "taken over" in told[0]["message"]
        assert _label(bridge) == "a again"
        _send(a, encode_envelope("publish", doc="doc", message=patch))  # no longer a's
        assert [e["code"] for e in await _errors(a)] == ["not_owner"]
        assert _label(bridge) == "a again"

        # once its owner is gone, anyone may publish the document again
        a2.close()
        deadline = time.monotonic() + 5
        while bridge.call(lambda hub: hub.documents["doc"].gone) is None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        _send(b, encode_envelope("create", doc="doc", title="B", spec=_spec("from b")))
        await _wait_doc(bridge)
        assert _label(bridge) == "from b" and not await _errors(b)
        for conn in (a, b, viewer):
            conn.close()


def test_the_same_kernel_takes_its_documents_over() -> None:
    """Under Jupyter a restarted kernel is a new process with the same kernel id."""
    hub = Hub()
    sent: dict[str, list[Frame]] = {"old": [], "new": [], "other": []}
    old = ProducerLink(hub, sent["old"].append, "old", kernel="k1")
    new = ProducerLink(hub, sent["new"].append, "new", kernel="k1")
    other = ProducerLink(hub, sent["other"].append, "other", kernel="k2")
    old.receive(payload(encode_envelope("create", doc="d", title="d", spec=_spec("old"))))
    other.receive(payload(encode_envelope("create", doc="d", title="d", spec=_spec("other"))))
    assert hub.documents["d"].producer is old
    error = decode(payload(sent["other"][0]))
    assert isinstance(error, Error) and error.code == "not_owner"
    new.receive(payload(encode_envelope("create", doc="d", title="d", spec=_spec("new"))))
    assert hub.documents["d"].producer is new and "d" not in old.documents
    told = decode(payload(sent["old"][0]))
    assert isinstance(told, Error) and "taken over" in told.message


def test_a_refused_remote_bridge_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    """A ``RemoteBridge`` whose document another live producer owns is told, and logs it."""
    with wb.Bridge(producer_token=TOKEN) as hub:
        first = RemoteBridge(hub.url, token=TOKEN).start()
        second = RemoteBridge(hub.url, token=TOKEN).start()
        try:
            first.dashboard("main", wb.Column(wb.Label("first")))
            first.flush()
            deadline = time.monotonic() + 5
            while "main" not in hub.call(lambda h: h.documents):
                assert time.monotonic() < deadline
                time.sleep(0.02)
            with caplog.at_level(logging.WARNING, logger="wsbridge.remote"):
                second.dashboard("main", wb.Column(wb.Label("second")))
                second.flush()
                deadline = time.monotonic() + 5
                while "not_owner" not in caplog.text:
                    assert time.monotonic() < deadline, caplog.text
                    time.sleep(0.02)
            state = hub.call(lambda h: h.documents["main"].state)
            labels = [m["state"].get("value") for m in state.models.values()]
            assert "first" in labels and "second" not in labels
        finally:
            second.stop()
            first.stop()
