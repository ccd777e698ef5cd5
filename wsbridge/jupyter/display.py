"""Notebook display: a dashboard inline (an iframe of its page) plus a link.

Why an iframe of the real page rather than a widget: the page is the same
one a browser tab shows, with its own connection to the hub, so it keeps
working when the kernel is busy and needs no front-end extension. Under
Jupyter the address is a path on the notebook's own origin
(``<base_url>wsbridge/d/<name>``), which is right for local Jupyter and for
JupyterHub alike; an embedded hub's address is its loopback URL.

Sizing: the page reports its content height to its parent
(``js/src/page/embed.js``: ``{wsbridge: "size", height}`` by ``postMessage``,
again whenever the content's size changes), and a small script next to the
iframe sets the iframe's height to it, clamped to ``[min_height,
max_height]``. It resizes only the iframe the message came from
(``event.source``), so no other frame or window can resize one.
Front-ends that strip scripts from output still get a usable frame:
``height`` as the default and a ``resize: vertical`` handle.
"""

from __future__ import annotations

import html

__all__ = [
    "embed_html",
    "index_html",
]

#: the embedding side of js/src/page/embed.js: one listener per notebook window
#: (installed by the first display, kept by a flag), resizing whichever of
#: our iframes sent the message. No ids: the same dashboard may be shown in
#: several cells, and the same display must give the same HTML.
_LISTENER = """<script>(function () {
  if (window.wsbridgeEmbedSizing1) return;
  window.wsbridgeEmbedSizing1 = true;
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || data.wsbridge !== "size" || typeof data.height !== "number") return;
    if (!(data.height >= 0)) return;
    var frames = document.querySelectorAll("iframe[data-wsbridge-embed]");
    for (var i = 0; i < frames.length; i++) {
      var frame = frames[i];
      if (event.source !== frame.contentWindow) continue;
      var low = Number(frame.dataset.minHeight) || 0;
      var high = Number(frame.dataset.maxHeight) || 1600;
      frame.style.height = Math.max(low, Math.min(high, Math.ceil(data.height))) + "px";
    }
  });
})();</script>"""


def embed_html(
    src: str, label: str, height: int = 380, min_height: int = 40, max_height: int = 1600
) -> str:
    """An iframe of ``src`` sized to its content, and a link to open it in a new tab.

    ``height`` is the iframe's height until the page reports its own (or
    for good, where the front-end strips scripts).
    """
    esc = html.escape(src, quote=True)
    return (
        '<div class="wsbridge-embed">'
        f'<iframe src="{esc}" title="{html.escape(label)}" loading="lazy" data-wsbridge-embed="" '
        f'data-min-height="{int(min_height)}" data-max-height="{int(max_height)}" '
        f'style="display:block;box-sizing:content-box;width:100%;height:{int(height)}px;'
        f'border:1px solid #ddd;resize:vertical">'
        "</iframe>"
        f"{_LISTENER}"
        f'<div><a href="{esc}" target="_blank" rel="noopener">{html.escape(label)} ↗</a></div>'
        "</div>"
    )


def index_html(hub_url: str, pages: list[tuple[str, str, str]]) -> str:
    """A hub's documents as a list sized to its content: each a link to its
    page and, folded, its dashboard inline (``pages``: (name, title, page URL)).

    What displaying a ``Bridge`` shows: the dashboards are what one opens,
    not the hub's index page (an iframe of which would be mostly empty).
    """
    hub = html.escape(hub_url, quote=True)
    head = (
        f'<div class="wsbridge-index"><div><b>wsbridge</b> hub at '
        f'<a href="{hub}" target="_blank" rel="noopener">{html.escape(hub_url)}</a>'
    )
    if not pages:
        return (
            head + " serves no dashboard yet: <code>bridge.dashboard(name, root)</code></div></div>"
        )
    items = []
    for name, title, src in pages:
        esc = html.escape(src, quote=True)
        label = html.escape(title or name)
        items.append(
            f"<li><details><summary>{label} "
            f'<a href="{esc}" target="_blank" rel="noopener">open ↗</a></summary>'
            f"{embed_html(src, title or name)}</details></li>"
        )
    count = f"{len(pages)} dashboard{'s' if len(pages) != 1 else ''}"
    return f'{head}, {count}:</div><ul style="margin:0.3em 0">{"".join(items)}</ul></div>'
