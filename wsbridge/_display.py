"""Notebook display: a dashboard inline (an iframe of its page) plus a link.

Why an iframe of the real page rather than a widget: the page is the same
one a browser tab shows, with its own connection to the hub, so it keeps
working when the kernel is busy and needs no front-end extension. Under
Jupyter the address is a path on the notebook's own origin
(``<base_url>wsbridge/d/<name>``), which is right for local Jupyter and for
JupyterHub alike; an embedded hub's address is its loopback URL.
"""

from __future__ import annotations

import html

__all__ = ["embed_html"]


def embed_html(src: str, label: str, height: int = 380) -> str:
    """An iframe of ``src`` (resizable) and a link that opens it in a new tab."""
    esc = html.escape(src, quote=True)
    return (
        '<div class="wsbridge-embed">'
        f'<iframe src="{esc}" title="{html.escape(label)}" loading="lazy" '
        f'style="width:100%;height:{int(height)}px;border:1px solid #ddd;resize:vertical">'
        "</iframe>"
        f'<div><a href="{esc}" target="_blank" rel="noopener">{html.escape(label)} ↗</a></div>'
        "</div>"
    )
