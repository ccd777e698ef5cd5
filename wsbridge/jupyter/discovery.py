"""Finding the Jupyter server a kernel runs under, and the kernel's own id.

A kernel's ``Bridge`` uses this to decide whether to publish to the
server's hub (``/wsbridge/producer``) or run embedded.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

__all__ = [
    "KERNEL_HEADER",
    "JupyterServer",
    "current_kernel_id",
    "find_jupyter_server",
]

log = logging.getLogger("wsbridge.remote")


@dataclass(frozen=True)
class JupyterServer:
    """A running Jupyter server with the wsbridge extension, as a kernel sees it."""

    #: ``<server url><base_url>wsbridge/`` (the address the kernel can reach)
    hub_url: str
    token: str
    #: the server's ``base_url`` (``/`` or ``/user/x/``): pages are linked by
    #: path, so the link works from the browser whatever host it used
    base_url: str


def _parent_server() -> dict[str, Any] | None:
    """``list_running_servers()``'s entry for the server that started this kernel."""
    parent = os.environ.get("JPY_PARENT_PID")
    if not parent:
        return None
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return None
    for info in list_running_servers():
        if str(info.get("pid")) == parent:
            return dict(info)
    return None


def credentials_for(url: str) -> dict[str, str]:
    """Headers that authenticate a request from this kernel to ``url``.

    Inside a kernel, a URL on the Jupyter server that started it (its hub at
    ``<server url><base_url>wsbridge/``, say) gets the server's token, as the
    kernel's own ``Bridge`` sends it; anything else gets nothing. So
    ``Client.connect(bridge.url, ...)`` in a notebook works whether the hub
    is embedded or the server's.
    """
    info = _parent_server()
    if info is None or not info.get("token"):
        return {}
    server = str(info.get("url", ""))
    if not server.endswith("/"):
        server += "/"
    if url.startswith("ws"):  # ws:// and wss:// name the same server as http(s)://
        url = "http" + url[2:]
    return _auth_headers(str(info["token"])) if url.startswith(server) else {}


def find_jupyter_server(timeout: float = 3.0) -> JupyterServer | None:
    """The Jupyter server that started this kernel, if it runs our extension.

    Matches ``JPY_PARENT_PID`` (set by jupyter_client for the kernels it
    launches) against ``list_running_servers()``, then asks the extension's
    ``healthz`` with the server's token: a server without the extension (or
    with it disabled) answers 404, and the caller falls back to an embedded
    hub. ``WSBRIDGE_MODE=embedded`` skips the search.
    """
    if os.environ.get("WSBRIDGE_MODE", "").lower() == "embedded":
        return None
    info = _parent_server()
    if info is None:
        return None
    url = str(info.get("url", ""))
    if not url.endswith("/"):
        url += "/"
    server = JupyterServer(
        hub_url=url + "wsbridge/",
        token=str(info.get("token") or ""),
        base_url=str(info.get("base_url") or "/"),
    )
    request = urllib.request.Request(
        server.hub_url + "healthz", headers=_auth_headers(server.token)
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.status == 200:
                return server
    except (OSError, urllib.error.URLError) as exc:
        log.info("the Jupyter server at %s has no wsbridge hub (%s)", url, exc)
    return None


#: the header naming this kernel to the hub (``wsbridge.jupyter.extension``)
KERNEL_HEADER = "X-Wsbridge-Kernel"


def current_kernel_id() -> str | None:
    """This process's kernel id, when it is an ipykernel kernel; else None.

    Why: the server's hub removes a kernel's documents once the kernel is
    shut down, rather than keeping them stale forever, and for that it must
    know which kernel a producer connection is. jupyter_client names a
    kernel's connection file ``kernel-<id>.json`` after the id the server's
    kernel manager uses; ipykernel 6 and 7 both keep that path on their
    ``IPKernelApp``. Read from ``sys.modules`` only: a process that is no
    kernel never imports ipykernel for this.
    """
    kernelapp = sys.modules.get("ipykernel.kernelapp")
    app_class = getattr(kernelapp, "IPKernelApp", None)
    if app_class is None or not app_class.initialized():
        return None
    path = str(getattr(app_class.instance(), "connection_file", "") or "")
    found = re.fullmatch(r"kernel-([A-Za-z0-9_.-]{1,128})\.json", os.path.basename(path))
    return found.group(1) if found else None


def _auth_headers(token: str) -> dict[str, str]:
    # Jupyter and the embedded hub both accept "Bearer" (jupyter_server's
    # IdentityProvider.auth_header_pat is "(token|bearer)").
    return {"Authorization": f"Bearer {token}"} if token else {}
