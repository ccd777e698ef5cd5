"""The producer's widgets: the ``Model`` base, controls, display, layout, table,
plots, anywidget hosting, ipywidgets mirroring, ``DataSource`` and ``Dashboard``.

Widgets reach the runtime only through the dashboard's port; they import no
Tornado.
"""

__all__: list[str] = []
