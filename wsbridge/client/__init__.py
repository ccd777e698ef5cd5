"""A Python client of the wsbridge protocol: mirrors a document, sends input.

Two layers, as in python-websockets: :mod:`~wsbridge.client.protocol` (the
protocol, sans I/O) and :mod:`~wsbridge.client.aio` (the ``Client`` that runs
it over a WebSocket). Used by the test-suite, the benchmarks and anyone
automating a dashboard; docs/protocol.md is the specification.
"""

from __future__ import annotations

from ..errors import ConnectionFailed
from .aio import Client
from .protocol import FATAL_CLOSE_CODES, ClientConnection

__all__ = ["FATAL_CLOSE_CODES", "Client", "ClientConnection", "ConnectionFailed"]
