"""The Tornado edge: the app and routes shared with Jupyter, pages, sockets, writers.

Only this package (and ``jupyter/``) imports Tornado's web and websocket
modules; the hub below it is sans I/O.
"""

__all__: list[str] = []
