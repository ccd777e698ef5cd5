"""The producer's runtime: ``Bridge`` on its own thread and loop, and its helpers.

The hand-off queue from user threads to the hub's loop, the callbacks
worker, browser input turned into Python objects, and the remote hub that a
kernel uses under Jupyter. The runtime reaches a hub only through
:class:`~wsbridge.hub.port.HubPort`.
"""

__all__: list[str] = []
