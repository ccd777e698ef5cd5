"""Notifications and development mode in the sans-I/O hub (tests/helpers/pair.py).

A dashboard-wide ``notify`` is sequenced like ``custom``: every viewer gets
it, a resume's replay carries the ones missed, a snapshot never does. One
to a single session is not sequenced and reaches that session only. The
``dev`` message (the app's error under ``--dev``) follows every welcome in
development mode, and never otherwise.
"""

from __future__ import annotations

import pytest

import wsbridge as wb
from tests.helpers.pair import Pair
from wsbridge.errors import ProtocolError
from wsbridge.wire.codec import decode, encode
from wsbridge.wire.messages import Dev, Notify, Snapshot, Welcome


def make() -> tuple[Pair, wb.Dashboard, wb.Slider]:
    pair = Pair()
    slider = wb.Slider(1.0)
    dash = pair.create("main", wb.Column(slider))
    return pair, dash, slider


def test_a_dashboard_notification_reaches_every_viewer_in_seq_order() -> None:
    pair, dash, slider = make()
    one, two = pair.connect(), pair.connect()
    slider.value = 2.0
    dash.notify("saved", level="success", duration=3)
    pair.pump()
    for client in (one, two):
        got = [m for m in pair.received(client) if isinstance(m, Notify)]
        assert len(got) == 1
        note = got[0]
        assert (note.text, note.level, note.duration, note.seq) == ("saved", "success", 3, 2)
        assert note.time > 0
        assert list(client.notifications) == [note]
        assert client.seq == 2  # it advanced the seq like any change


def test_a_resume_replays_missed_notifications_a_snapshot_never_has_them() -> None:
    pair, dash, slider = make()
    client = pair.connect()
    pair.drop(client)
    dash.notify("while you were away")
    slider.value = 5.0
    before = len(pair.received(client))
    pair.reconnect(client)
    got = pair.received(client)[before:]
    assert isinstance(got[0], Welcome) and got[0].resumed
    assert [type(m).__name__ for m in got[1:]] == ["Notify", "Patch"]
    late = pair.connect()  # a new viewer: the snapshot has no notification
    assert not [m for m in pair.received(late) if isinstance(m, Notify)]
    snap = next(m for m in pair.received(late) if isinstance(m, Snapshot))
    assert "notify" not in str(snap.to_dict())


def test_a_notification_to_one_session_reaches_it_alone_without_a_seq() -> None:
    pair, _, _ = make()
    one, two = pair.connect(), pair.connect()
    seq = one.seq
    note = Notify(text="only you", level="info", duration=None, time=1.0, seq=0)
    pair.hub.notify_session("main", pair.session(one).id, note)
    pair.hub.notify_session("other", pair.session(two).id, note)  # not its document: dropped
    pair.hub.notify_session("main", "c999", note)  # gone: dropped
    pair.pump()
    mine = [m for m in pair.received(one) if isinstance(m, Notify)]
    assert [(m.text, m.seq) for m in mine] == [("only you", None)]
    assert one.seq == seq
    assert not [m for m in pair.received(two) if isinstance(m, Notify)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"text": "x" * 2001},
        {"text": "hi", "level": "fatal"},
        {"text": "hi", "duration": 0},
        {"text": "hi", "duration": 7200},
        {"text": "hi", "duration": float("nan")},
        {"text": "hi\ud800"},
    ],
)
def test_a_bad_notification_is_refused_where_it_is_made(kwargs: dict[str, object]) -> None:
    _, dash, _ = make()
    with pytest.raises(ProtocolError):
        dash.notify(**kwargs)  # type: ignore[arg-type]


def test_notify_round_trips_both_forms() -> None:
    for note in (
        Notify(text="a", level="warning", duration=2.5, time=12.0, seq=4),
        Notify(text="b", level="error", duration=None, time=0.0),
    ):
        assert decode(encode(note).data.decode()) == note


def test_dev_state_follows_every_welcome_only_in_development_mode() -> None:
    pair, _, _ = make()
    plain = pair.connect()
    assert not [m for m in pair.received(plain) if isinstance(m, Dev)]
    error = {"title": "app.py raised ValueError: <b>", "text": "Traceback ...\nValueError: <b>"}
    pair.hub.set_dev(error)
    pair.pump()
    assert [m.error for m in pair.received(plain) if isinstance(m, Dev)] == [error]
    assert plain.dev_error == error
    late = pair.connect()
    got = pair.received(late)
    kinds = [type(m).__name__ for m in got]
    assert kinds[:3] == ["Welcome", "Snapshot", "Dev"] and got[2].error == error  # type: ignore[attr-defined]
    pair.hub.set_dev(None)  # the app ran again
    pair.pump()
    assert plain.dev_error is None and late.dev_error is None
    again = pair.connect()  # dev mode stays on: "no error" is said after the welcome
    assert [m.error for m in pair.received(again) if isinstance(m, Dev)] == [None]
