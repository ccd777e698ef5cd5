"""Fixtures of the runtime tests: a hub that takes remote producers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import wsbridge as wb

#: the producer token of the ``hub`` fixture
TOKEN = "producer-secret"


@pytest.fixture
def hub() -> Iterator[wb.Bridge]:
    """An embedded hub that remote producers (``RemoteBridge``) publish to with ``TOKEN``."""
    with wb.Bridge(producer_token=TOKEN) as bridge:
        yield bridge
