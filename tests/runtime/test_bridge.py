"""Bridge life cycle and thread safety (the hub on its own thread and loop)."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

import wsbridge as wb
from tests.helpers.common import port_of


def hub_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "wsbridge-hub"]


def test_start_is_idempotent_and_stop_frees_port_and_thread() -> None:
    before = len(hub_threads())
    bridge = wb.Bridge()
    assert bridge.start() is bridge
    url = bridge.url
    assert bridge.start() is bridge and bridge.url == url
    assert len(hub_threads()) == before + 1
    port = port_of(url)
    bridge.stop()
    bridge.stop()  # twice is fine
    assert len(hub_threads()) == before
    with socket.create_server(("127.0.0.1", port)):  # the port is free again
        pass


def test_restart_keeps_the_port_and_gives_documents_a_new_epoch() -> None:
    bridge = wb.Bridge()
    s = wb.Slider(2.0)
    with bridge:
        bridge.dashboard("main", wb.Column(s))
        url = bridge.url
        epoch = bridge.call(lambda hub: hub.documents["main"].epoch)
    s.value = 4.0  # changed while stopped: the restarted hub starts from it
    with bridge:
        assert bridge.url == url
        doc = bridge.call(lambda hub: hub.documents["main"])
        assert doc.epoch != epoch
        assert doc.state.models[s.id]["state"]["value"] == 4.0


def test_start_failure_is_raised_in_the_caller() -> None:
    before = len(hub_threads())
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        bridge = wb.Bridge(port=port)
        with pytest.raises(OSError):
            bridge.start()
    assert not bridge.running and len(hub_threads()) == before


def test_streams_from_many_threads_keep_the_hub_replica_exact(bridge: wb.Bridge) -> None:
    src = wb.DataSource({"k": np.zeros(0, dtype=np.int64), "v": np.zeros(0)})
    s = wb.Slider(0.0, max=1000.0)
    bridge.dashboard("main", wb.Column(s)).add(src)

    def work(k: int) -> None:
        for i in range(200):
            src.stream({"k": np.array([k]), "v": np.array([float(i)])}, rollover=300)
            s.value = float(k * 100 + i % 100)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bridge.flush()
    doc = bridge.call(lambda hub: hub.documents["main"])
    replica = doc.state.sources[src.id].data
    np.testing.assert_array_equal(replica["k"], src.data["k"])
    np.testing.assert_array_equal(replica["v"], src.data["v"])
    assert doc.state.models[s.id]["state"]["value"] == s.value
    # one add, 800 streams, and a patch per slider change that changed the value
    assert doc.seq >= 1 + 4 * 200


def test_a_busy_main_thread_does_not_stop_the_hub(bridge: wb.Bridge) -> None:
    src = wb.DataSource({"x": np.zeros(1)})
    bridge.dashboard("main", wb.Column()).add(src)
    deadline = time.monotonic() + 0.3
    n = 0
    while time.monotonic() < deadline:  # never yields, like a busy cell
        src.stream({"x": np.array([float(n)])})
        n += 1
    bridge.flush()
    assert bridge.call(lambda hub: hub.documents["main"].state.sources[src.id].length) == n + 1


async def test_a_burst_of_streams_reaches_a_client_batched_with_every_row(
    bridge: wb.Bridge,
) -> None:
    """Streams queued back to back go to the hub in batches (Handoff.batch):
    one message each (``first``..``seq``), seqs as if sent one by one; with
    no rollover every row arrives."""
    from wsbridge import wire as p
    from wsbridge.client import Client

    src = wb.DataSource({"x": np.zeros(0), "n": np.zeros(0, dtype=np.int32)})
    label = wb.Label("start")
    bridge.dashboard("main", wb.Column(label)).add(src)
    bridge.flush()
    client = await Client.connect(bridge.url, "main")
    got: list[p.Message] = []
    client.on_message(got.append)
    seq0 = client.seq
    assert seq0 is not None
    n = 3000
    for i in range(n):  # never yields: the hub can only take what queued up
        src.stream({"x": np.array([float(i), i + 0.5]), "n": np.array([i, i], np.int32)})
        if i == n // 2:
            label.value = "middle"  # a patch between streams: order is kept
    bridge.flush()
    await client.wait_for(lambda c: c.seq == seq0 + n + 1, timeout=20)
    streams = [m for m in got if isinstance(m, p.Stream)]
    assert sum(len(m.data["x"]) for m in streams) == 2 * n  # every row
    assert any(m.first is not None for m in streams)  # some calls were batched
    assert len(streams) < n
    middle = next(m for m in got if isinstance(m, p.Patch))
    assert middle.seq == seq0 + n // 2 + 2  # after stream n // 2, before the next one
    np.testing.assert_array_equal(client.source(src.id)["x"], src.data["x"])
    np.testing.assert_array_equal(client.source(src.id)["n"], src.data["n"])
    await client.close()


def test_stream_batches_are_bounded_by_size_string_columns_included(bridge: wb.Bridge) -> None:
    src = wb.DataSource({"s": ["a"], "n": np.zeros(1)})
    bridge.dashboard("main", wb.Column()).add(src)
    bridge.flush()
    gate = threading.Event()
    bridge._threadsafe(gate.wait, 5)  # the hub's loop waits: streams queue up behind it
    try:
        for _ in range(3):  # ~640 KB each by estimate (16 bytes a string)
            src.stream({"s": ["x"] * 40_000, "n": np.zeros(40_000)})
        for _ in range(3):
            src.stream({"s": ["y"], "n": np.ones(1)})
        handoff = bridge._handoff
        assert handoff is not None
        batches = [args[0] for fn, args in list(handoff.calls) if fn == bridge._publish_batch]
        assert [len(b.items) for b in batches] == [1, 1, 4]  # 1 MiB per batch at most
    finally:
        gate.set()
    bridge.flush()
    replica = bridge.call(lambda hub: hub.documents["main"].state.sources[src.id].data)
    assert replica["s"] == src.data["s"] and len(replica["s"]) == 1 + 120_003
    np.testing.assert_array_equal(replica["n"], src.data["n"])


def test_url_and_repr() -> None:
    bridge = wb.Bridge()
    with pytest.raises(RuntimeError):
        _ = bridge.url
    assert "stopped" in repr(bridge)
    with bridge:
        assert bridge.url.startswith("http://127.0.0.1:") and bridge.url.endswith("/")
        assert bridge.url in bridge._repr_html_()


def test_a_bare_model_displays_its_dashboard_while_the_bridge_runs() -> None:
    label = wb.Label(value="hi")
    with wb.Bridge() as bridge:
        dash = bridge.dashboard("shown", wb.Column(label), title="Shown")
        assert f'<iframe src="{bridge.url}d/shown"' in label._repr_html_()
        assert label._repr_html_() == dash._repr_html_()
    assert "<iframe" not in label._repr_html_()  # stopped: the text, not a dead page


def test_an_unknown_option_names_the_limits_a_bridge_takes() -> None:
    with pytest.raises(TypeError, match=r"\['max_clint'\].*max_clients"):
        wb.Bridge(max_clint=3)
    bridge = wb.Bridge(max_clients=3, write_timeout=5.0, max_message_size=1000)
    assert bridge.server_config.write_timeout == 5.0
    assert bridge.server_config.max_message_size == 1000  # both configs enforce it
