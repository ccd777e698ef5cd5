"""Per-session apps through Redis, with bad input and refusals: what Redis
holds is untrusted, and a refusal reaches the waiting page as on one hub."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import redis

import wsbridge as wb
from tests.helpers.common import run, wait_until
from tests.server.test_edge_apps import app_page, closed_with, join
from wsbridge.scaleout.keys import BackplaneConfig, Keys

pytestmark = pytest.mark.redis


@pytest.fixture
def rds(cfg: BackplaneConfig) -> Iterator[Any]:
    client = redis.Redis.from_url(cfg.url)
    yield client
    client.close()


async def _join_and_close(hub: wb.Bridge, doc: str, key: str) -> tuple[Any, int | None]:
    """The first answer to a hello, and the close code that follows it."""
    conn, first = await join(hub, doc, key)
    return first, await closed_with(conn)


def _broken(dash: wb.Dashboard) -> wb.Model:
    raise RuntimeError("the factory broke")


@pytest.fixture
def producer(cfg: BackplaneConfig) -> Iterator[wb.Bridge]:
    bridge = wb.Bridge(backplane=cfg, serve=False, max_app_sessions_per_address=1)
    bridge.app("counter", lambda dash: wb.Column(wb.Slider(1.0)), title="Counter")
    bridge.app("broken", _broken)
    bridge.start()
    yield bridge
    bridge.stop()


@pytest.fixture
def hub(cfg: BackplaneConfig, producer: wb.Bridge) -> Iterator[wb.Bridge]:
    bridge = wb.Bridge(follow=cfg, port=0).start()
    wait_until(lambda: "counter" in bridge._titles(), what="the hub lists the app")
    yield bridge
    bridge.stop()


def test_a_failing_factory_closes_the_page_on_the_hub(hub: wb.Bridge) -> None:
    doc, key = app_page(hub.url + "d/broken")
    first, code = run(_join_and_close(hub, doc, key))
    assert first.type == "error" and "failed to start" in first.message
    assert code == 1011


def test_the_producers_caps_hold_across_hubs(hub: wb.Bridge, producer: wb.Bridge) -> None:
    doc, key = app_page(hub.url + "d/counter")
    _conn, welcome = run(join(hub, doc, key))
    assert welcome.type == "welcome"
    other, key2 = app_page(hub.url + "d/counter")
    refused, code = run(_join_and_close(hub, other, key2))  # one per address (the fixture)
    assert refused.type == "error" and refused.code == "too_many_clients"
    assert code == 1013


def test_a_session_name_without_its_key_is_refused(hub: wb.Bridge) -> None:
    doc, _ = app_page(hub.url + "d/counter")
    _conn, answer = run(join(hub, doc, "not-the-key"))
    assert answer.type == "error" and answer.code == "unknown_document"


def test_bad_app_entries_in_redis_are_skipped_once(
    hub: wb.Bridge, cfg: BackplaneConfig, rds: Any, caplog: pytest.LogCaptureFixture
) -> None:
    keys = Keys(cfg.prefix)
    rds.hset(keys.apps, "evil", b"not json")
    rds.hset(keys.apps, "other~x", b'{"title": "t", "producer": "abcd1234"}')
    rds.hset(keys.apps, "badid", b'{"title": "t", "producer": "../../x"}')
    rds.hset(keys.apps, "ghost", b'{"title": "Ghost", "producer": "deadbeef"}')  # not alive
    with caplog.at_level(logging.WARNING, logger="wsbridge.backplane"):
        wait_until(lambda: len([r for r in caplog.records if "skipped app" in r.message]) >= 3)
    titles = hub._titles()
    assert "counter" in titles and not {"evil", "other~x", "badid", "ghost"} & set(titles)
    doc, key = app_page(hub.url + "d/counter")  # the good app still opens
    _conn, welcome = run(join(hub, doc, key))
    assert welcome.type == "welcome"


def test_bad_opens_and_refusals_are_dropped(
    hub: wb.Bridge,
    producer: wb.Bridge,
    cfg: BackplaneConfig,
    rds: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    keys = Keys(cfg.prefix)
    backend: Any = producer.backend
    opens = keys.opens(backend.publisher.apps.producer_id)
    follower: Any = hub.backend.follower
    with caplog.at_level(logging.WARNING, logger="wsbridge.backplane"):
        rds.xadd(opens, {"doc": "counter~x", "hub": "../x"})
        rds.xadd(opens, {"nothing": "here"})
        rds.xadd(opens, {"doc": b"\xff\xfe", "hub": "abcd"})
        rds.publish(keys.refused(follower.hub_id), b"{not json")
        wait_until(lambda: len([r for r in caplog.records if "bad app open" in r.message]) >= 3)
        wait_until(lambda: any("bad app refusal" in r.message for r in caplog.records))
    assert not any(n.startswith("counter~x") for n in producer.hub.documents)
    doc, key = app_page(hub.url + "d/counter")  # the producer still builds sessions
    _conn, welcome = run(join(hub, doc, key))
    assert welcome.type == "welcome"
