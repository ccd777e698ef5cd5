"""Fixtures of the Redis tests: a backplane config of its own per test, a client of the server."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from wsbridge.scaleout.keys import BackplaneConfig

_prefixes = itertools.count()


@pytest.fixture
def cfg(redis_server: Any) -> BackplaneConfig:
    """A fresh key prefix per test, and short timers so faults show quickly."""
    return BackplaneConfig(
        url=redis_server.url,
        prefix=f"t{next(_prefixes)}:",
        heartbeat=0.2,
        alive_ttl=1.0,
        poll_interval=0.2,
        snapshot_interval=0.2,
        backoff=(0.05, 0.5),
    )


@pytest.fixture
def rds(redis_server: Any) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()
