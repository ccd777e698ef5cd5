"""The hub, sans I/O: documents, sessions, the column store, coalescing, the producer link.

It imports no Tornado, traitlets, redis or Jupyter (a test enforces it):
the edges (``server/``, ``runtime/``, ``scaleout/``, ``jupyter/``) drive it
through :class:`~wsbridge.hub.port.HubPort` and give it a
:class:`~wsbridge.hub.port.SessionEdge` per browser.
"""

__all__: list[str] = []
