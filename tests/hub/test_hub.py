"""The sans-I/O hub, driven through in-memory clients (tests/helpers/pair.py)."""

from __future__ import annotations

import json
import logging
import struct
from typing import Any

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.pair import Pair, assert_same_state, payload
from wsbridge.errors import ProtocolError
from wsbridge.hub.config import HubConfig
from wsbridge.wire.codec import decode, encode
from wsbridge.wire.messages import (
    Add,
    Custom,
    Error,
    Patch,
    Snapshot,
    SourcePatch,
    SourceReplace,
    Stream,
    Welcome,
)
from wsbridge.wire.requests import Event, Hello, Set


class Doc:
    """A small document: a slider, a label, a button and a streamed source."""

    def __init__(self, pair: Pair, name: str = "main") -> None:
        self.slider = wb.Slider(1.0, min=0.0, max=10.0, label="f")
        self.label = wb.Label("hello")
        self.button = wb.Button("go")
        self.source = wb.DataSource({"x": np.arange(3.0), "y": np.zeros(3)})
        self.spark = wb.Sparkline(self.source)
        self.root = wb.Column(self.slider, self.label, self.button, self.spark)
        self.dash = pair.create(name, self.root, title="Main")

    def stream(self, n: int, start: float = 0.0) -> None:
        x = np.arange(start, start + n)
        self.source.stream({"x": x, "y": x * 2}, rollover=50)


def make(**limits: int | str) -> tuple[Pair, Doc]:
    pair = Pair(**limits)
    return pair, Doc(pair)


def hub_errors(caplog: pytest.LogCaptureFixture, code: str) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == "wsbridge.hub" and f": {code}: " in r.getMessage()
    ]


# -- joining


def test_first_hello_gets_welcome_then_snapshot() -> None:
    pair, doc = make()
    doc.slider.value = 4.0  # seq 1, before anyone joins
    client = pair.connect(pump=False)
    outbox = list(pair.session(client).outbox)
    assert len(outbox) == 2
    welcome, snapshot = (decode(payload(f)) for f, _, _ in outbox)
    assert isinstance(welcome, Welcome) and isinstance(snapshot, Snapshot)
    assert welcome.resumed is False
    assert welcome.seq == snapshot.seq == 1
    assert welcome.session == pair.session(client).id
    assert welcome.title == "Main"
    assert welcome.limits["max_message_size"] == 16 * 1024 * 1024
    assert snapshot.root == doc.root.id
    assert snapshot.models[doc.slider.id]["state"]["value"] == 4.0
    pair.pump()
    assert client.ready and client.seq == 1 and client.session == welcome.session
    assert_same_state(client.state, pair.doc_state())


def test_publish_encodes_once_and_fans_out_the_same_frame() -> None:
    pair, doc = make()
    clients = [pair.connect() for _ in range(3)]
    doc.slider.value = 2.5
    frames = [pair.session(c).outbox[-1][0] for c in clients]
    assert frames[0] is frames[1] is frames[2]  # one encode, N writes
    assert pair.hub.documents["main"].log[-1][1] is frames[0]
    pair.pump()
    for c in clients:
        assert c.seq == 1 and c.state is not None
        assert c.state.models[doc.slider.id]["state"]["value"] == 2.5


def test_seq_increments_by_one_per_change() -> None:
    pair, doc = make()
    client = pair.connect()
    hub = pair.hub
    seqs = [
        hub.publish("main", Patch(seq=0, model=doc.label.id, state={"value": "a"})),
        hub.publish("main", Stream(seq=0, source=doc.source.id, data=_cols(1))),
        hub.publish("main", SourcePatch(seq=0, source=doc.source.id, patches={"y": [[0, 9.0]]})),
        hub.publish("main", Custom(model=doc.label.id, content={"k": 1}, seq=0)),
    ]
    assert seqs == [1, 2, 3, 4]
    assert hub.publish("nope", Patch(seq=0, model="m", state={})) is None
    pair.pump()
    seen = [m.seq for m in pair.received(client) if not isinstance(m, Welcome)]
    assert seen == [0, 1, 2, 3, 4]
    assert client.customs[-1].content == {"k": 1}
    assert_same_state(client.state, pair.doc_state())


# -- resume


def test_resume_replays_exactly_the_missing_messages() -> None:
    pair, doc = make()
    client = pair.connect()
    doc.slider.value = 3.0
    pair.pump()
    pair.drop(client)
    doc.stream(5)  # 2
    doc.source.patch({"y": [(0, np.nan), (slice(1, 3), [np.inf, -np.inf])]})  # 3
    doc.label.value = "changed"  # 4
    doc.root.children = [*doc.root.children, wb.Label("new")]  # add (5) + patch (6)
    doc.source.replace({"x": np.arange(2.0), "y": np.ones(2), "name": ["a", "b"]})  # 7
    before = len(pair.received(client))
    pair.reconnect(client)
    got = pair.received(client)[before:]
    assert isinstance(got[0], Welcome) and got[0].resumed
    assert [type(m) for m in got[1:]] == [
        Stream, SourcePatch, Patch, Add, Patch, SourceReplace,
    ]  # fmt: skip
    assert [m.seq for m in got[1:]] == [2, 3, 4, 5, 6, 7]
    fresh = pair.connect()
    assert_same_state(client.state, pair.doc_state())
    assert_same_state(client.state, fresh.state)


def test_resume_at_the_current_seq_replays_nothing() -> None:
    pair, doc = make()
    client = pair.connect()
    doc.slider.value = 2.0
    pair.pump()
    pair.drop(client)
    before = len(pair.received(client))
    pair.reconnect(client)
    got = pair.received(client)[before:]
    assert len(got) == 1 and isinstance(got[0], Welcome) and got[0].resumed
    assert client.ready and client.seq == 1


def _resume_from(pair: Pair, epoch: str | None, seq: int | None) -> list[object]:
    """Open a raw session with a hand-made hello; return the decoded answer."""
    session = pair.hub.open_session()
    pair.hub.receive(session, payload(encode(Hello(doc="main", epoch=epoch, seq=seq))))
    out = []
    while (frame := session.next_frame()) is not None:
        out.append(decode(payload(frame)))
    pair.hub.close_session(session)
    return out


def test_log_bounded_by_count_snapshot_when_it_no_longer_reaches_back() -> None:
    pair, doc = make(log_max_messages=5)
    for i in range(10):
        doc.label.value = f"v{i}"
    document = pair.hub.documents["main"]
    assert len(document.log) == 5 and document.log[0][0] == 6
    covered = _resume_from(pair, document.epoch, 5)  # needs 6..10: all there
    assert covered[0].resumed is True  # type: ignore[attr-defined]
    assert [m.seq for m in covered[1:]] == [6, 7, 8, 9, 10]  # type: ignore[attr-defined]
    gone = _resume_from(pair, document.epoch, 4)  # needs 5, evicted
    assert gone[0].resumed is False  # type: ignore[attr-defined]
    assert len(gone) == 2 and isinstance(gone[1], Snapshot) and gone[1].seq == 10


def test_log_bounded_by_bytes_snapshot_when_it_no_longer_reaches_back() -> None:
    pair, doc = make()
    frame_size = len(encode(Stream(seq=1, source=doc.source.id, data=_cols(100))).data)
    pair.hub.config.log_max_bytes = 3 * frame_size + frame_size // 2  # room for 3 streams
    for i in range(6):
        pair.hub.publish("main", Stream(seq=0, source=doc.source.id, data=_cols(100, i)))
    document = pair.hub.documents["main"]
    assert [s for s, _ in document.log] == [4, 5, 6]
    assert document.log_bytes <= pair.hub.config.log_max_bytes
    assert _resume_from(pair, document.epoch, 3)[0].resumed is True  # type: ignore[attr-defined]
    gone = _resume_from(pair, document.epoch, 2)
    assert gone[0].resumed is False  # type: ignore[attr-defined]
    assert isinstance(gone[1], Snapshot) and gone[1].seq == 6


def _cols(n: int, base: int = 0) -> dict[str, np.ndarray]:
    x = np.arange(base * n, (base + 1) * n, dtype=np.float64)
    return {"x": x, "y": -x}


@pytest.mark.parametrize("log_max_messages", [1, 3, 7, 100])
def test_never_a_partial_replay(log_max_messages: int) -> None:
    pair, doc = make(log_max_messages=log_max_messages)
    for i in range(8):
        doc.stream(2, start=2 * i)
    document = pair.hub.documents["main"]
    for seq in range(0, 9):
        answer = _resume_from(pair, document.epoch, seq)
        welcome, rest = answer[0], answer[1:]
        assert isinstance(welcome, Welcome)
        if welcome.resumed:
            assert [m.seq for m in rest] == list(range(seq + 1, 9))  # type: ignore[attr-defined]
            assert 8 - seq <= log_max_messages
        else:
            assert len(rest) == 1 and isinstance(rest[0], Snapshot) and rest[0].seq == 8
            assert 8 - seq > log_max_messages


@pytest.mark.parametrize(
    "epoch, seq",
    [("feedfacecafe0001", 0), ("feedfacecafe0001", 3), ("CURRENT", 99)],
    ids=["foreign-epoch", "foreign-epoch-known-seq", "seq-from-the-future"],
)
def test_resume_impossible_gets_a_snapshot_not_an_error(
    epoch: str, seq: int, caplog: pytest.LogCaptureFixture
) -> None:
    pair, doc = make()
    for i in range(3):
        doc.label.value = str(i)
    if epoch == "CURRENT":
        epoch = pair.hub.documents["main"].epoch
    answer = _resume_from(pair, epoch, seq)
    assert [type(m) for m in answer] == [Welcome, Snapshot]
    assert answer[0].resumed is False  # type: ignore[attr-defined]
    assert answer[1].seq == 3  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_client_with_a_stale_epoch_converges_on_the_snapshot() -> None:
    pair, doc = make()
    client = pair.connect()
    for i in range(3):
        doc.label.value = str(i)
    pair.pump()
    pair.drop(client)
    old_epoch = client.epoch
    doc2 = Doc(pair)  # the document is recreated: a new epoch, seq back to 0
    pair.reconnect(client)
    assert client.epoch != old_epoch and client.seq == 0
    assert not client.errors
    assert client.welcome is not None and client.welcome.resumed is False
    assert doc2.slider.id in client.state.models  # type: ignore[union-attr]
    assert_same_state(client.state, pair.doc_state())


def test_recreated_document_sends_connected_sessions_a_snapshot() -> None:
    pair, doc = make()
    clients = [pair.connect() for _ in range(2)]
    doc.slider.value = 5.0
    doc.stream(4)
    pair.pump()
    old_epoch = clients[0].epoch
    new = Doc(pair)
    new.label.value = "after"
    pair.pump()
    for c in clients:
        assert c.epoch != old_epoch and c.epoch == pair.hub.documents["main"].epoch
        assert isinstance(pair.received(c)[-1], Snapshot)
        assert not c.needs_resync
        assert_same_state(c.state, pair.doc_state())
    assert doc.slider.id not in clients[0].state.models  # type: ignore[union-attr]


def test_recreated_document_while_a_hello_is_unanswered_still_welcomes() -> None:
    pair, _ = make()
    client = pair.connect(pump=False)  # hello received, welcome not yet written
    Doc(pair)
    pair.pump()
    kinds = [type(m).__name__ for m in pair.received(client)]
    assert kinds[:2] == ["Welcome", "Snapshot"]
    assert client.welcome is not None and client.epoch == pair.hub.documents["main"].epoch
    assert_same_state(client.state, pair.doc_state())


def test_gap_makes_the_client_resync_and_duplicates_are_ignored() -> None:
    pair, doc = make()
    client = pair.connect()
    doc.label.value = "one"
    frame = pair.session(client).outbox[-1][0]
    pair.pump()
    assert client.receive(payload(frame)) == []  # a duplicate
    assert client.seq == 1
    doc.label.value = "two"  # seq 2, then we pretend it was lost
    pair.session(client).outbox.clear()
    pair.session(client).queued_bytes = 0
    doc.label.value = "three"  # seq 3: a gap
    sessions_before = len(pair.hub.sessions)
    pair.pump(resync=False)
    assert client.needs_resync and client.seq == 1
    assert not client.ready
    pair.pump()  # the edge reconnects and resumes
    assert not client.needs_resync and client.ready and client.seq == 3
    assert len(pair.hub.sessions) == sessions_before
    welcomes = [m for m in pair.received(client) if isinstance(m, Welcome)]
    assert welcomes[-1].resumed is True
    assert client.state.models[doc.label.id]["state"]["value"] == "three"  # type: ignore[union-attr]


# -- backpressure


def test_outbox_bound_drops_the_queue_and_sends_a_snapshot_on_drain() -> None:
    pair, doc = make(queue_max_bytes=8 * 1024)
    fast, slow = pair.connect(), pair.connect()
    for i in range(60):
        doc.stream(50, start=50 * i)  # ~900 bytes per frame
        doc.slider.value = i % 10
        pair.pump(fast)
        assert pair.session(slow).queued_bytes <= 8 * 1024
    session = pair.session(slow)
    assert session.dropped >= 1 and session.need_snapshot
    pair.pump()
    assert_same_state(slow.state, pair.doc_state())
    assert_same_state(fast.state, pair.doc_state())
    assert isinstance(pair.received(slow)[-1], Snapshot)
    assert sum(isinstance(m, Snapshot) for m in pair.received(fast)) == 1  # only the first


# -- input


def test_set_reaches_the_producer_and_the_canonical_echo_reaches_everyone() -> None:
    pair, doc = make()
    a, b = pair.connect(), pair.connect()
    pair.send(a, a.set(doc.slider.id, value=3.0))
    assert a.state.models[doc.slider.id]["state"]["value"] == 3.0  # type: ignore[union-attr]
    ((_, session, message),) = pair.producer.sets
    assert session == a.session and message.state == {"value": 3.0} and message.req == 1
    pair.producer.accept(state={"value": 2.5})  # the producer clamps/rounds
    pair.pump()
    for c in (a, b):
        assert c.state.models[doc.slider.id]["state"]["value"] == 2.5  # type: ignore[union-attr]
        assert c.seq == 1
    echo = pair.received(b)[-1]
    assert isinstance(echo, Patch) and echo.origin == {"session": a.session, "req": 1}


def test_the_sender_gets_its_echo_before_the_others_and_the_edge_may_yield_between() -> None:
    """``Hub.after_echo`` runs once the echo is queued (and flushed) for its
    sender and before any other session gets the patch: the Tornado edge
    yields the CPU there, so a local sender reads its echo first."""
    pair, doc = make()
    a, b, c = pair.connect(), pair.connect(), pair.connect()
    seen: list[tuple[int, int, int]] = []

    def queued() -> tuple[int, int, int]:
        return tuple(len(pair.session(x).outbox) for x in (a, b, c))  # type: ignore[return-value]

    pair.hub.after_echo = lambda: seen.append(queued())
    before = queued()
    pair.send(a, a.set(doc.slider.id, value=3.0))
    pair.producer.accept()
    assert seen == [(before[0] + 1, before[1], before[2])]  # only the sender's echo so far
    assert queued() == (before[0] + 1, before[1] + 1, before[2] + 1)
    doc.label.value = "no sender"  # a producer's change: no echo, no yield
    pair.send(a, a.set(doc.slider.id, value=4.0))
    pair.drop(b)
    pair.drop(c)
    pair.producer.accept()  # a sender alone: nobody else to write first
    assert len(seen) == 1


def test_echo_of_an_older_set_does_not_pull_a_dragged_value_back() -> None:
    pair, doc = make()
    a, b = pair.connect(), pair.connect()
    sid = doc.slider.id
    pair.send(a, a.set(sid, value=2.0))
    pair.send(a, a.set(sid, value=3.0))
    pair.send(a, a.set(sid, label="nope"))  # not settable: no optimistic change
    assert a.state.models[sid]["state"] == {**b.state.models[sid]["state"], "value": 3.0}  # type: ignore[union-attr]
    pair.producer.accept()  # echo of req 1 (value 2.0)
    pair.pump()
    assert a.state.models[sid]["state"]["value"] == 3.0  # type: ignore[union-attr]
    assert b.state.models[sid]["state"]["value"] == 2.0  # type: ignore[union-attr]
    pair.producer.accept()  # echo of req 2
    pair.pump()
    assert a.state.models[sid]["state"]["value"] == 3.0  # type: ignore[union-attr]
    assert b.state.models[sid]["state"]["value"] == 3.0  # type: ignore[union-attr]
    assert a.seq == b.seq == 2
    # a later change by someone else always applies
    doc.slider.value = 7.0
    pair.pump()
    assert a.state.models[sid]["state"]["value"] == 7.0  # type: ignore[union-attr]
    assert [e.code for e in a.errors] == ["read_only"]


def test_rejected_set_gets_an_error_and_a_reply_patch_without_a_new_seq() -> None:
    pair, doc = make()
    a, b = pair.connect(), pair.connect()
    doc.slider.value = 4.0
    pair.pump()
    pair.send(a, a.set(doc.slider.id, value=99.0))
    pair.producer.reject(text="too big")
    pair.pump()
    assert [(e.code, e.message, e.ref) for e in a.errors] == [
        ("invalid_value", "too big", {"type": "set", "model": doc.slider.id, "req": 1})
    ]
    reply = pair.received(a)[-1]
    assert isinstance(reply, Patch) and reply.reply and reply.seq == 1
    assert a.state.models[doc.slider.id]["state"]["value"] == 4.0  # type: ignore[union-attr]
    assert a.seq == 1 and not a.needs_resync
    assert not b.errors and pair.received(b)[-1].seq == 1  # type: ignore[attr-defined]


def test_event_and_custom_go_to_the_producer_and_ack_is_recorded() -> None:
    pair, doc = make()
    client = pair.connect()
    pair.send(client, client.event(doc.button.id, "click"))  # a click carries no data
    pair.send(client, client.custom(doc.label.id, {"k": "v"}, [np.arange(3, dtype=np.int32)]))
    pair.send(client, client.ack())
    ((_, session, event),) = pair.producer.events
    assert session == client.session and event.name == "click" and event.data is None
    ((_, _, custom),) = pair.producer.customs
    assert custom.content == {"k": "v"}
    assert custom.buffers[0].dtype == np.int32 and custom.buffers[0].tolist() == [0, 1, 2]
    assert pair.session(client).acked == 0
    pair.pump()
    assert not client.errors


# -- refusals


def _misaligned_frame(model: str) -> bytes:
    header = {
        "v": 1, "type": "custom", "model": model, "content": None, "buffers": [None],
        "$buffers": [{"path": ["buffers", 0], "dtype": "uint8", "shape": [4],
                      "offset": 999_999, "length": 4}],
    }  # fmt: skip
    head = json.dumps(header).encode()
    base = (4 + len(head) + 7) & ~7
    header["$buffers"][0]["offset"] = base + 4  # type: ignore[index]
    head2 = json.dumps(header).encode().ljust(len(head))  # JSON allows trailing blanks
    return struct.pack("<I", len(head2)) + head2 + bytes(base - 4 - len(head2)) + bytes(12)


#: payload maker, error code, close code, words the error message must hold
BAD_INPUTS: dict[str, tuple[Any, str, int | None, str]] = {
    "not-json": (lambda d: "{not json", "bad_json", None, "not valid JSON"),
    "json-not-object": (lambda d: "[1, 2]", "bad_json", None, "JSON object"),
    "header-length-too-long": (
        lambda d: struct.pack("<I", 10_000) + b'{"v":1}' + bytes(5),
        "bad_frame",
        None,
        "header length 10000",
    ),
    "misaligned-buffer": (
        lambda d: _misaligned_frame(d.label.id),
        "bad_frame",
        None,
        "not 8-byte aligned",
    ),
    "unknown-type": (lambda d: '{"v":1,"type":"teleport"}', "unknown_type", None, "teleport"),
    "missing-field": (
        lambda d: '{"v":1,"type":"set","state":{}}',
        "bad_message",
        None,
        "'model'",
    ),
    "set-unknown-model": (
        lambda d: '{"v":1,"type":"set","model":"m-nope","state":{"value":1},"req":1}',
        "unknown_model",
        None,
        "m-nope",
    ),
    "undeclared-event": (
        lambda d: json.dumps({"v": 1, "type": "event", "model": d.slider.id, "name": "boom"}),
        "unknown_event",
        None,
        "boom",
    ),
    "wrong-version": (lambda d: '{"v":2,"type":"ack","seq":0}', "bad_version", 1002, "version 2"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_and_nobody_else_notices(
    case: str, caplog: pytest.LogCaptureFixture
) -> None:
    make_data, code, close, words = BAD_INPUTS[case]
    pair, doc = make()
    bad, other = pair.connect(), pair.connect()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="wsbridge.hub"):
        pair.send(bad, make_data(doc))
        pair.pump()
    assert [e.code for e in bad.errors] == [code]
    assert words in bad.errors[0].message and bad.errors[0].seq == 0
    assert len(hub_errors(caplog, code)) == 1
    assert bad.close_code == close
    assert not pair.producer.sets and not pair.producer.events and not pair.producer.customs
    doc.label.value = "still alive"
    pair.pump()
    assert not other.errors and other.seq == 1
    assert_same_state(other.state, pair.doc_state())
    if close is None:  # the connection stays usable
        assert pair.session(bad) is not None and bad.seq == 1
    else:
        assert bad.seq == 0 and bad.session not in pair.hub.sessions


@pytest.mark.parametrize(
    "prop, code, reply", [("label", "read_only", {"label": "f", "value": 1.0}),
                          ("bogus", "unknown_property", {"value": 1.0})],
)  # fmt: skip
def test_set_of_a_property_a_client_cannot_set(
    prop: str, code: str, reply: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    pair, doc = make()
    client, other = pair.connect(), pair.connect()
    with caplog.at_level(logging.WARNING, logger="wsbridge.hub"):
        pair.send(client, client.set(doc.slider.id, value=3.0, **{prop: "x"}))
        assert client.state.models[doc.slider.id]["state"]["value"] == 3.0  # type: ignore[union-attr]
        pair.pump()
    (error,) = client.errors
    assert error.code == code and error.ref == {
        "type": "set", "model": doc.slider.id, "property": prop, "req": 1,
    }  # fmt: skip
    patch = pair.received(client)[-1]
    assert isinstance(patch, Patch) and patch.reply and patch.state == reply
    assert client.state.models[doc.slider.id]["state"]["value"] == 1.0  # type: ignore[union-attr]
    assert "bogus" not in client.state.models[doc.slider.id]["state"]  # type: ignore[union-attr]
    assert client.seq == 0 and client.close_code is None
    assert not pair.producer.sets
    assert len(hub_errors(caplog, code)) == 1
    assert pair.received(other)[-1].type == "snapshot"


@pytest.mark.parametrize(
    "token, hub_token, first, code",
    [
        (None, None, "set", "hello_required"),
        (None, None, "hello-unknown-doc", "unknown_document"),
        (None, "s3cret", "hello", "unauthorized"),
        ("wrong", "s3cret", "hello", "unauthorized"),
    ],
)
def test_refusals_that_close_the_connection_with_1008(
    token: str | None,
    hub_token: str | None,
    first: str,
    code: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pair, doc = make(token=hub_token) if hub_token else make()
    other = pair.connect(token=hub_token)
    assert other.ready
    client = pair.connect("nope" if first == "hello-unknown-doc" else "main", token, hello=False)
    with caplog.at_level(logging.WARNING, logger="wsbridge.hub"):
        if first == "set":
            pair.send(client, '{"v":1,"type":"set","model":"m","state":{"a":1},"req":1}')
        else:
            pair.send(client, client.hello())
        pair.send(client, client.event(doc.button.id, "click"))  # ignored: closing
        pair.pump()
    assert [e.code for e in client.errors] == [code]
    assert client.close_code == 1008 and client.fatal
    assert client.state is None and client.welcome is None
    assert len(hub_errors(caplog, code)) == 1
    assert not pair.producer.events
    doc.slider.value = 2.0
    pair.pump()
    assert other.seq == 1 and not other.errors
    assert pair.hub.stats()["sessions"] == 1


def test_token_accepted_in_hello() -> None:
    pair, _ = make(token="s3cret")
    client = pair.connect(token="s3cret")
    assert client.ready and not client.errors


def test_removed_document_closes_its_sessions() -> None:
    pair, _ = make()
    client = pair.connect()
    pair.hub.remove_document("main")
    pair.pump()
    assert [e.code for e in client.errors] == ["unknown_document"]
    assert client.close_code == 1008


def test_hub_config_defaults_match_the_protocol_page() -> None:
    cfg = HubConfig()
    assert cfg.max_message_size == 16 * 1024 * 1024
    assert Error(code="x", message="y").to_dict()["seq"] == 0


# -- the client's own rules (docs/protocol.md "Applying sequenced messages")


def test_client_applies_a_reply_patch_but_keeps_its_seq() -> None:
    pair, doc = make()
    client = pair.connect()
    reply = Patch(seq=7, model=doc.slider.id, state={"value": 6.0}, reply=True)
    assert client.receive(payload(encode(reply))) == [reply]
    assert client.seq == 0 and not client.needs_resync
    assert client.state.models[doc.slider.id]["state"]["value"] == 6.0  # type: ignore[union-attr]
    stale = Patch(seq=0, model=doc.slider.id, state={"value": 1.0})
    assert client.receive(payload(encode(stale))) == []  # seq 0 is applied already


def test_client_refuses_frames_a_hub_never_sends() -> None:
    pair, _ = make()
    client = pair.connect()
    with pytest.raises(ProtocolError):
        client.receive(payload(encode(Hello(doc="main"))))
    other = Welcome(doc="other", epoch="e", seq=0, session="c9", resumed=False)
    with pytest.raises(ProtocolError):
        client.receive(payload(encode(other)))
    with pytest.raises(ProtocolError):
        client.receive("{oops")
    assert client.ready and client.seq == 0


def test_a_patch_for_a_model_the_mirror_lacks_forces_a_resync() -> None:
    pair, _ = make()
    client = pair.connect()
    client.receive(payload(encode(Patch(seq=1, model="m-unknown", state={"a": 1}))))
    assert client.needs_resync and not client.ready
    pair.pump()  # the edge reconnects: the hub has no seq 1, so this is a future seq
    assert client.ready and client.seq == 0 and not client.needs_resync
    assert_same_state(client.state, pair.doc_state())


# -- limits (docs/security.md "Limits")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _errors(pair: Pair, client: Any, code: str) -> list[Any]:
    return [m for m in pair.received(client) if isinstance(m, Error) and m.code == code]


def test_input_rate_is_limited_by_a_token_bucket(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    pair, doc = make(input_rate=10.0, input_burst=5, flood_close_after=1000, clock=clock)
    client, other = pair.connect(), pair.connect()
    for _ in range(8):
        pair.send(client, encode(Event(model=doc.button.id, name="click")))
    pair.pump()
    assert len(pair.producer.events) == 5  # the burst, then refused
    assert len(_errors(pair, client, "rate_limited")) == 1  # answered once per burst
    assert len(hub_errors(caplog, "rate_limited")) == 1
    clock.now += 0.5  # 5 tokens come back
    for _ in range(5):
        pair.send(client, encode(Event(model=doc.button.id, name="click")))
    pair.pump()
    assert len(pair.producer.events) == 10
    # the other session has its own bucket
    pair.send(other, encode(Event(model=doc.button.id, name="click")))
    assert len(pair.producer.events) == 11


def test_a_sustained_flood_closes_the_session_with_1008() -> None:
    pair, doc = make(input_rate=1.0, input_burst=1, flood_close_after=20, clock=FakeClock())
    client, other = pair.connect(), pair.connect()
    for _ in range(30):
        pair.send(client, encode(Event(model=doc.button.id, name="click")))
    assert pair.session(client).close_code == 1008
    pair.pump()
    assert client.close_code == 1008
    assert len(pair.producer.events) == 1
    doc.label.value = "still fine"
    pair.pump()
    assert other.state.models[doc.label.id]["state"]["value"] == "still fine"  # type: ignore[union-attr]


def test_inputs_in_flight_are_bounded_per_session() -> None:
    pair, doc = make(max_pending_inbound=3)
    client = pair.connect()
    for i in range(5):
        pair.send(client, encode(Set(model=doc.slider.id, state={"value": float(i)}, req=i)))
    pair.pump()
    assert len(pair.producer.sets) == 3  # the producer has not answered any yet
    assert len(_errors(pair, client, "rate_limited")) == 1
    pair.producer.accept(0)
    pair.send(client, encode(Set(model=doc.slider.id, state={"value": 9.0}, req=9)))
    assert len(pair.producer.sets) == 3 and pair.producer.sets[-1][2].req == 9


def test_client_caps_per_hub_and_per_document() -> None:
    pair, _ = make(max_clients=3, max_clients_per_document=2)
    a, b = pair.connect(), pair.connect()
    c = pair.connect()
    assert _errors(pair, c, "too_many_clients") and c.close_code == 1013
    assert pair.session(a).close_code is None and pair.session(b).close_code is None
    pair.drop(b)
    d = pair.connect()
    assert pair.session(d).close_code is None and d.welcome is not None
    # the hub-wide cap counts sessions that joined, not sockets without a hello
    e, f = pair.hub.open_session(), pair.hub.open_session()
    assert e.close_code is None and f.close_code is None and pair.hub.pending == 2
    pair, _ = make(max_clients=2, max_clients_per_document=5)
    a, b, c = pair.connect(), pair.connect(), pair.connect()
    assert _errors(pair, c, "too_many_clients") and c.close_code == 1013
    assert pair.hub.admitted == 2


# -- coalescing (DESIGN.md "Backpressure")


def test_a_lagging_session_gets_coalesced_patches_and_streams() -> None:
    pair, doc = make(queue_high_water=1, queue_max_bytes=1 << 20)
    fast, slow = pair.connect(), pair.connect()
    pair.session(slow).writing_since = -1e9  # its write has been pending for ages
    for i in range(50):
        doc.stream(3, start=float(i * 3))
    for i in range(50):
        doc.slider.value = float(i % 10)
    doc.label.value = "between"  # another model: not merged with the slider
    doc.slider.value = 7.5
    slow_session = pair.session(slow)
    queued = [m for _, m, _ in slow_session.outbox]
    assert len(queued) == 4  # stream run, slider run, label, slider: not 102 messages
    assert slow_session.coalesced == 102 - 4
    assert any(getattr(m, "first", None) is not None for m in queued)
    stream_run = queued[0]
    assert stream_run.rows < 50 + 3  # type: ignore[union-attr]  # rollover-cut rows dropped
    pair.pump()
    assert pair.session(fast).coalesced == 0  # queued as much, but never behind
    assert not slow.needs_resync and not fast.needs_resync
    for client in (fast, slow):
        assert client.seq == pair.hub.documents["main"].seq
        assert_same_state(client.state, pair.doc_state())
    streams = [m for m in pair.received(slow) if isinstance(m, Stream)]
    assert all(len(m.data["x"]) <= 50 for m in streams)  # cut to the rollover


def test_coalesce_rules() -> None:
    from wsbridge.hub.coalesce import coalesce
    from wsbridge.hub.coalesce import mergeable as _mergeable

    a = Patch(seq=4, model="m", state={"a": 1, "b": 2}, origin={"session": "c1", "req": 1})
    b = Patch(seq=5, model="m", state={"b": 3}, origin={"session": "c1", "req": 2})
    merged = coalesce([a, b])
    assert isinstance(merged, Patch)
    assert merged.state == {"a": 1, "b": 3} and merged.first == 4 and merged.seq == 5
    assert merged.origin is None  # different requests: the values simply apply
    assert not _mergeable(a, Patch(seq=5, model="other", state={"b": 3}))
    assert not _mergeable(a, Patch(seq=5, model="m", state={}, reply=True))
    s1 = Stream(seq=6, source="s", data={"x": np.arange(4.0), "n": list("abcd")}, rollover=5)
    s2 = Stream(seq=7, source="s", data={"x": np.arange(4.0, 7.0), "n": list("efg")}, rollover=5)
    s3 = Stream(seq=8, source="s", data={"x": np.array([9.0]), "n": ["h"]}, rollover=5)
    joined = coalesce([s1, s2, s3])
    assert isinstance(joined, Stream) and joined.first == 6 and joined.seq == 8
    np.testing.assert_array_equal(joined.data["x"], [3.0, 4.0, 5.0, 6.0, 9.0])
    assert joined.data["n"] == list("defgh")
    assert not _mergeable(s1, Stream(seq=7, source="s", data=s2.data, rollover=9))
    assert not _mergeable(None, s2) and not _mergeable(a, s1)
    assert coalesce([a]) is a


def test_sweep_removes_abandoned_per_session_documents() -> None:
    clock = FakeClock()
    pair = Pair(clock=clock)
    closed: list[str] = []
    pair.producer.on_closed = closed.append  # type: ignore[attr-defined]
    Doc(pair, "app~1")
    Doc(pair, "app~2")
    Doc(pair, "shared")
    client = pair.connect("app~1")  # before it is per-session: no key needed
    for name in ("app~1", "app~2"):
        pair.hub.documents[name].ephemeral = True
    clock.now = 5.0
    assert pair.hub.sweep(grace=2.0) == []  # app~2 never joined: its page may be loading
    pair.drop(client)
    clock.now = 6.0
    assert pair.hub.sweep(grace=2.0) == []  # app~1 left 1 s ago: within the grace
    clock.now = 8.0
    assert pair.hub.sweep(grace=2.0) == ["app~1"] and closed == ["app~1"]
    clock.now = 40.0
    assert pair.hub.sweep(grace=2.0) == ["app~2"]
    assert set(pair.hub.documents) == {"shared"}  # shared documents are never swept


def test_only_trusted_streams_skip_the_replica_check_and_names_are_still_guarded() -> None:
    pair, doc = make()
    state = pair.hub.documents["main"].state
    store = state.sources[doc.source.id]
    ints = {"x": np.arange(2), "y": np.arange(2)}  # int64: the full check casts to float64
    assert pair.hub.publish("main", Stream(seq=0, source=doc.source.id, data=ints)) is not None
    assert store.dtype_of("x") == np.float64 and store.length == 5
    # untrusted (network) input is fully checked: unequal lengths are refused
    bad = {"x": np.arange(2.0), "y": np.arange(3.0)}
    assert pair.hub.publish("main", Stream(seq=0, source=doc.source.id, data=bad)) is None
    # trusted input whose column names differ still takes the full check
    odd = {"x": np.arange(2.0)}
    assert pair.hub.publish("main", Stream(seq=0, source=doc.source.id, data=odd), True) is None
    good = {"x": np.arange(2.0), "y": np.arange(2.0)}
    assert pair.hub.publish("main", Stream(seq=0, source=doc.source.id, data=good), True)
    assert store.length == 7 and pair.hub.documents["main"].seq == state.seq


# -- batched producer streams (Hub.publish_many; Bridge hands them over in batches)


def _streams(
    source_id: str, sizes: list[int], rollover: int | None, frozen: bool = False
) -> list[Stream]:
    """Streams of rows start.. (x) and their doubles (y); ``frozen``: as a
    ``DataSource`` hands them over (read-only views of bytes)."""
    from wsbridge.hub.columns import _frozen_copy

    out, start = [], 0.0
    for n in sizes:
        x = np.arange(start, start + n)
        y = x * 2
        if frozen:
            x, y = _frozen_copy(x), _frozen_copy(y)
        out.append(Stream(seq=0, source=source_id, data={"x": x, "y": y}, rollover=rollover))
        start += n
    return out


def test_publish_many_is_one_message_that_takes_every_seq_cut_to_the_rollover() -> None:
    pair, doc = make()
    early, away = pair.connect(), pair.connect()
    pair.drop(away)  # gone before the batch; it resumes after it
    sid = doc.source.id
    seq0 = pair.hub.documents["main"].seq
    batch = _streams(sid, [20, 30, 25], rollover=50)  # 75 rows: more than the rollover
    assert pair.hub.publish_many("main", list(batch), trusted=True) == seq0 + 3
    pair.pump()
    got = [m for m in pair.received(early) if isinstance(m, Stream)]
    assert len(got) == 1 and (got[0].first, got[0].seq) == (seq0 + 1, seq0 + 3)
    # 75 rows streamed; the 25 the rollover drops inside the message stay at the hub
    np.testing.assert_array_equal(got[0].data["x"], np.arange(25.0, 75.0))
    assert early.seq == seq0 + 3 and not early.needs_resync
    assert_same_state(early.state, pair.doc_state())
    np.testing.assert_array_equal(pair.doc_state().sources[sid].data["x"], np.arange(25.0, 75.0))

    # the same bytes in the log: a client that stopped before the batch resumes exactly
    late = pair.connect()
    doc.stream(5)  # one more, published alone
    pair.reconnect(away)
    assert away.welcome is not None and away.welcome.resumed
    replayed = [m for m in pair.received(away) if isinstance(m, Stream)]
    assert [(m.first, m.seq) for m in replayed] == [(seq0 + 1, seq0 + 3), (None, seq0 + 4)]
    pair.pump()
    for client in (early, away, late):
        assert_same_state(client.state, pair.doc_state())
    log_keys = [s for s, _ in pair.hub.documents["main"].log]
    assert log_keys[-2:] == [seq0 + 1, seq0 + 4]  # a merged frame is logged under its first seq


def test_replay_from_inside_the_log_after_a_merged_frame() -> None:
    pair, doc = make()
    client = pair.connect()
    sid = doc.source.id
    seq0 = pair.hub.documents["main"].seq
    pair.hub.publish_many("main", _streams(sid, [3, 3], rollover=None), trusted=True)
    doc.stream(2)
    d = pair.hub.documents["main"]
    assert d.replay_from(seq0) is not None and len(d.replay_from(seq0) or []) == 2
    assert len(d.replay_from(seq0 + 2) or []) == 1  # after the merged frame: only the last
    assert d.replay_from(seq0 + 3) == []
    pair.pump()
    assert client.seq == seq0 + 3 and not client.needs_resync


def test_publish_many_of_frozen_streams_shares_the_producers_arrays() -> None:
    """A batch is not joined: the replica, the log and every frame keep the
    producer's frozen copies (wsbridge.chunks), and the bytes on the wire
    are those of the joined message."""
    from wsbridge.wire.chunks import Chunks

    pair, doc = make()
    early, away = pair.connect(), pair.connect()
    pair.drop(away)
    sid = doc.source.id
    seq0 = pair.hub.documents["main"].seq
    k = 2000  # columns of 400 KB after the cut: large enough to be referenced
    batch = _streams(sid, [20 * k, 30 * k, 25 * k], rollover=50 * k, frozen=True)
    pair.hub.publish_many("main", batch, trusted=True)
    d = pair.hub.documents["main"]
    frame = d.last_frame
    assert frame is not None
    xs = [m.data["x"] for m in batch]
    for arr in xs[1:]:  # the first is cut by the rollover, so a view of it is sent
        assert any(np.shares_memory(np.frombuffer(part, np.uint8), arr) for part in frame.parts)
    kept = d.state.sources[sid]._cols["x"].chunks  # the replica holds them as they are
    assert kept[-1] is xs[-1] and np.shares_memory(kept[-2], xs[-2])  # (a view: the cut)
    joined = _streams(sid, [75 * k], rollover=50 * k)[0]
    expect = encode(
        Stream(
            seq=seq0 + 3,
            source=sid,
            data={c: v[25 * k :] for c, v in joined.data.items()},
            rollover=50 * k,
            first=seq0 + 1,
        )
    )
    assert frame.data == expect.data  # byte for byte the joined message
    pair.pump()
    got = [m for m in pair.received(early) if isinstance(m, Stream)]
    assert len(got) == 1 and (got[0].first, got[0].seq) == (seq0 + 1, seq0 + 3)
    np.testing.assert_array_equal(got[0].data["y"], np.arange(50.0 * k, 150.0 * k, 2))
    pair.reconnect(away)  # the replay is the logged frame
    pair.pump()
    assert_same_state(away.state, pair.doc_state())
    late = pair.connect()  # a snapshot from the replica's chunks
    pair.pump()
    assert_same_state(late.state, pair.doc_state())
    assert not isinstance(pair.doc_state().sources[sid].data["x"], Chunks)


def test_publish_many_of_one_message_is_a_plain_publish() -> None:
    pair, doc = make()
    client = pair.connect()
    seq0 = pair.hub.documents["main"].seq
    assert pair.hub.publish_many("main", _streams(doc.source.id, [4], 50)) == seq0 + 1
    pair.pump()
    last = pair.received(client)[-1]
    assert isinstance(last, Stream) and last.first is None and last.seq == seq0 + 1


def test_a_lagging_session_coalesces_batched_streams_too() -> None:
    pair, doc = make(queue_high_water=1, queue_max_bytes=1 << 20)
    slow = pair.connect()
    pair.session(slow).writing_since = -1e9
    sid = doc.source.id
    seq0 = pair.hub.documents["main"].seq
    for i in range(4):  # frozen or not: the run merges both kinds
        batch = _streams(sid, [10, 10, 10], rollover=50, frozen=i % 2 == 1)
        pair.hub.publish_many("main", batch, trusted=True)
    queued = [m for _, m, _ in pair.session(slow).outbox]
    assert len(queued) == 1  # one run: the batches merged, rollover-cut
    pair.pump()
    got = [m for m in pair.received(slow) if isinstance(m, Stream)]
    assert len(got) == 1 and (got[0].first, got[0].seq) == (seq0 + 1, seq0 + 12)
    assert len(got[0].data["x"]) == 50  # coalescing (not batching) cuts to the rollover
    assert_same_state(slow.state, pair.doc_state())


def test_coalesce_join_is_one_read_only_copy_a_frame_can_reference() -> None:
    from wsbridge.hub.coalesce import coalesce
    from wsbridge.wire.chunks import immutable as _immutable

    a = Stream(seq=1, source="s", data={"x": np.arange(40_000.0)}, rollover=None)
    b = Stream(seq=2, source="s", data={"x": np.arange(40_000.0, 80_000.0)}, rollover=None)
    merged = coalesce([a, b])
    x = merged.data["x"]  # type: ignore[attr-defined]
    np.testing.assert_array_equal(x, np.arange(80_000.0))
    assert not x.flags.writeable and _immutable(x)
    frame = encode(merged)
    assert frame.parts is not None and len(frame.parts) > 1  # 640 KB referenced, not copied
    assert decode(frame.data).data["x"].tolist() == x.tolist()  # type: ignore[attr-defined]
    small = Stream(seq=1, source="s", data={"x": np.arange(3.0)}, rollover=2)
    cut = coalesce([small, small], first=1)
    assert cut.data["x"].tolist() == [1.0, 2.0]  # type: ignore[attr-defined]
