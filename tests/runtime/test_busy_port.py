"""``Bridge(port=N)`` on a port another process holds: an error that says so."""

from __future__ import annotations

import errno
import socket

import pytest

import wsbridge as wb


def test_a_busy_port_names_itself_and_the_way_out() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bridge = wb.Bridge(port=port)
        with pytest.raises(OSError) as info:
            bridge.start()
        text = str(info.value)
        assert f"127.0.0.1:{port}" in text
        assert "port=0" in text  # how to get a free one
        assert info.value.errno == errno.EADDRINUSE  # still the OSError code can check
        assert not bridge.running
        bridge.stop()
    with wb.Bridge(port=port) as again:  # nothing of the failed start was left behind
        assert again.url.endswith(f":{port}/")
