"""The example notebooks in real JupyterLab, in real Chromium, as a user runs them.

A ``jupyter lab`` subprocess (the wsbridge extension enabled by the config
JSON the package installs) serves copies of ``notebooks/*.ipynb``. Each
test opens one in JupyterLab's UI, waits for its kernel, clicks Run → Run
All Cells, and checks what the user sees: every cell ran, no cell shows an
error, every inline dashboard (an iframe of ``<base_url>wsbridge/d/<name>``,
served by the server's hub) renders its widgets, and it is live both ways:
a cell typed into the notebook changes a widget from Python and the
iframe follows; the user moves a slider (or clicks) in the iframe and a
new cell prints the value Python now holds.

Each notebook runs in a kernel of the server, so ``wb.Bridge()`` publishes
to the server's hub (``hub_kind == "jupyter"``); tests/jupyter/test_notebooks.py
runs the same notebooks under nbclient, where the hub is embedded.

Twice: at ``/`` as a local ``jupyter lab``, and under
``--ServerApp.base_url=/user/alice/`` as JupyterHub runs a single-user
server, with the browser using another host name (``localhost``) than the
kernel (``127.0.0.1``), as it does behind JupyterHub's proxy.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.helpers.common import require
from tests.helpers.labserver import NOTEBOOKS, JupyterLab, execute

pytestmark = pytest.mark.timeout(150)

#: JupyterLab's first load (parsing several MB of JS) is slow on a loaded machine
LOAD_MS = 60_000
#: a cell, or a change crossing kernel, hub and page
WAIT_MS = 30_000


def _require_lab() -> None:
    for module in ("jupyterlab", "jupyter_server", "ipykernel", "nbformat"):
        try:
            __import__(module)
        except ImportError:
            require(False, module, 'pip install -e ".[test]"')
    require(
        shutil.which("chromium") is not None or shutil.which("chromium-browser") is not None,
        "chromium",
        "apt-get install -y chromium",
    )


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(("/", "127.0.0.1"), id="local"),
        pytest.param(("/user/alice/", "localhost"), id="hub-base-url"),
    ],
)
def lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterLab]:
    """One ``jupyter lab`` per parametrization, shared by the notebooks' tests."""
    _require_lab()
    base_url, host = request.param
    server = JupyterLab(tmp_path_factory.mktemp("lab"), base_url=base_url, browser_host=host)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lab_context(chromium: Any, lab: JupyterLab) -> Iterator[Any]:
    """One browser profile per server: JupyterLab's assets load and cache once."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield context
    finally:
        context.close()


class Notebook:
    """One notebook open in JupyterLab, driven through its UI."""

    def __init__(self, page: Any, lab: JupyterLab, name: str) -> None:
        self.page = page
        self.lab = lab
        self.name = name

    def open(self) -> None:
        workspace = re.sub(r"\W", "", self.name) + str(time.monotonic_ns())
        self.page.goto(self.lab.lab_url(self.name, workspace), timeout=LOAD_MS)
        self.page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=LOAD_MS)
        self.wait_kernel_idle()

    def wait_kernel_idle(self) -> None:
        # the status bar reads "Python 3 (ipykernel) | Idle" once the kernel is up
        self.page.locator("#jp-main-statusbar").get_by_text(re.compile(r"\| Idle$")).wait_for(
            timeout=LOAD_MS
        )

    def prompts(self) -> list[str]:
        return [
            p.strip()
            for p in self.page.locator(
                ".jp-Notebook .jp-CodeCell .jp-InputArea-prompt"
            ).all_inner_texts()
        ]

    def run_all(self) -> None:
        """Run → Run All Cells, then wait until it is over: the first cell ran
        (a count above any before) and no cell is queued or running (``[*]``;
        after an error the rest go back to ``[ ]``)."""
        counts = [int(p[1:-2]) for p in self.prompts() if re.fullmatch(r"\[\d+\]:", p)]
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        self.page.wait_for_function(
            """(before) => {
              const prompts = Array.from(
                document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt'),
                p => p.textContent.trim());
              const first = /^\\[(\\d+)\\]:$/.exec(prompts[0] || '');
              return first !== null && Number(first[1]) > before
                && prompts.every(p => p !== '[*]:');
            }""",
            arg=max(counts, default=0),
            timeout=WAIT_MS * 3,
        )

    def stderr(self) -> list[str]:
        """Outputs shown as stderr: warnings, and error outputs (JupyterLab
        renders an error as stderr holding its traceback)."""
        stderr = '[data-mime-type="application/vnd.jupyter.stderr"]'
        return list(
            self.page.locator(f".jp-Notebook .jp-OutputArea-output{stderr}").all_inner_texts()
        )

    def save(self) -> None:
        """File → Save Notebook; then the copy on disk holds what the UI ran."""
        self.page.get_by_role("menuitem", name="File", exact=True).click()
        dirty = self.page.locator("#jp-main-dock-panel .lm-TabBar-tab.jp-mod-dirty")
        dirty.wait_for(timeout=WAIT_MS)  # what Run All changed is not saved yet
        self.page.get_by_role("menuitem", name=re.compile(r"^Save Notebook")).first.click()
        dirty.wait_for(state="detached", timeout=WAIT_MS)

    def run_cell(self, code: str) -> str:
        """A new cell below the last one, typed and run through the UI; its output text."""
        cells = self.page.locator(".jp-Notebook .jp-Cell")
        count = cells.count()
        cells.nth(count - 1).locator(".jp-InputPrompt").click()  # select it (command mode)
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("b")  # insert a cell below
        new = cells.nth(count)
        new.wait_for(timeout=WAIT_MS)
        new.locator(".cm-content").click()
        self.page.keyboard.insert_text(code)  # as typed, without auto-closed brackets
        self.page.keyboard.press("Shift+Enter")
        prompt = new.locator(".jp-InputArea-prompt")
        expect(prompt).to_have_text(re.compile(r"^\s*\[\d+\]:\s*$"), timeout=WAIT_MS)
        text = "\n".join(new.locator(".jp-OutputArea-output").all_inner_texts())
        assert "Traceback" not in text, text
        return text.strip()

    def poll_cell(self, code: str, expected: str, tries: int = 5) -> None:
        for _ in range(tries):
            got = self.run_cell(code)
            if got == expected:
                return
            time.sleep(0.3)
        raise AssertionError(f"{code!r} printed {got!r}, never {expected!r}")

    def dashboard(self, doc: str) -> Any:
        """The inline iframe of dashboard ``doc``, scrolled into view (it loads lazily)."""
        src = f"{self.lab.base_url}wsbridge/d/{doc}"
        iframe = self.page.locator(f'.jp-OutputArea-output iframe[src="{src}"]')
        assert iframe.count() == 1, f"no single inline iframe of {src}"
        iframe.scroll_into_view_if_needed(timeout=WAIT_MS)
        frame = self.page.frame_locator(f'.jp-OutputArea-output iframe[src="{src}"]')
        frame.locator("[data-wsbridge-model]").first.wait_for(timeout=WAIT_MS)
        expect(frame.locator("#wsbridge-status")).to_have_attribute(
            "data-wsbridge-status", "connected", timeout=WAIT_MS
        )
        # the output's script ran (JupyterLab runs scripts of trusted output):
        # the frame took its content's height instead of the 380 px fallback
        self.page.wait_for_function(
            "(el) => el.style.height !== '380px'", arg=iframe.element_handle(), timeout=WAIT_MS
        )
        return frame


def expect(target: Any) -> Any:
    """Playwright's ``expect`` (imported late: a missing Playwright skips, in conftest)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def follow_link(nb: Notebook, link: Any) -> Any:
    """Click a link that opens a new tab (``target=_blank``); that tab, loaded."""
    with nb.page.context.expect_page(timeout=WAIT_MS) as opened:
        link.click()
    tab = opened.value
    tab.wait_for_load_state(timeout=WAIT_MS)
    return tab


def live_quickstart(nb: Notebook) -> None:
    # the hub link the first cell's output shows (the bridge's display) opens
    # the hub's index in the user's browser, logged in; it lists the dashboard
    first = nb.page.locator(".jp-Notebook .jp-CodeCell").first.locator(".jp-OutputArea-output")
    tab = follow_link(nb, first.get_by_role("link").first)
    try:
        expect(tab.get_by_role("link", name="Quickstart")).to_be_visible(timeout=WAIT_MS)
        assert tab.url == f"{nb.lab.browser_url}wsbridge/", tab.url
    finally:
        tab.close()
    frame = nb.dashboard("quickstart")
    slider = frame.locator("input[type=range]")
    # the Label: the one widget with no input (the slider and the column have one)
    label = frame.locator("[data-wsbridge-model]:not(:has(input))")
    # Python moves the slider: the page follows, and so does the label the
    # kernel's observer rewrites
    nb.run_cell("freq.value = 4.5")
    expect(slider).to_have_value("4.5", timeout=WAIT_MS)
    expect(label).to_have_text("4.5", timeout=WAIT_MS)
    # the user moves the slider to its end (keyboard): the kernel's observer
    # rewrites the label, and Python holds the value
    slider.focus()
    slider.press("End")
    expect(label).to_have_text("10.0", timeout=WAIT_MS)
    nb.poll_cell("print(freq.value, shown.value)", "10.0 10.0")


def live_streaming(nb: Notebook) -> None:
    frame = nb.dashboard("stream")
    expect(frame.get_by_text("done", exact=True)).to_be_visible(timeout=WAIT_MS)
    nb.run_cell('status.value = "seen from a new cell"')
    expect(frame.get_by_text("seen from a new cell")).to_be_visible(timeout=WAIT_MS)
    # the sparkline drew the streamed sine; a new cell streams a flat line
    # over it (300 rows: the rollover) and the drawing changes
    canvas = frame.locator("canvas")
    drawn = canvas.evaluate(
        """(c) => c.getContext('2d').getImageData(0, 0, c.width, c.height).data
                    .some((v, i) => i % 4 === 3 && v > 0)"""
    )
    assert drawn, "the sparkline drew nothing"
    before = canvas.evaluate("(c) => c.toDataURL()")
    nb.run_cell('src.stream({"t": 10 + np.arange(300) * 0.01, "y": np.ones(300)}, rollover=300)')
    nb.page.wait_for_function(
        "([c, before]) => c.toDataURL() !== before",
        arg=[canvas.element_handle(), before],
        timeout=WAIT_MS,
    )


def live_ipywidgets(nb: Notebook) -> None:
    frame = nb.dashboard("ipy")
    slider = frame.locator("input[type=range]")
    nb.run_cell("level.value = 3")
    expect(slider).to_have_value("3", timeout=WAIT_MS)
    expect(frame.get_by_text("sine at level 3 (armed)")).to_be_visible(timeout=WAIT_MS)
    slider.focus()
    slider.press("End")
    expect(frame.get_by_text("sine at level 10 (armed)")).to_be_visible(timeout=WAIT_MS)
    nb.poll_cell("print(level.value, summary.value)", "10 sine at level 10 (armed)")


def live_custom(nb: Notebook) -> None:
    frame = nb.dashboard("counter")
    nb.run_cell("counter.value = 5")
    button = frame.get_by_role("button", name="count is 5")
    expect(button).to_be_visible(timeout=WAIT_MS)
    button.click()
    expect(frame.get_by_role("button", name="count is 6")).to_be_visible(timeout=WAIT_MS)
    nb.poll_cell("print(counter.value)", "6")


LIVE: dict[str, Callable[[Notebook], None]] = {
    "01-quickstart.ipynb": live_quickstart,
    "02-streaming.ipynb": live_streaming,
    "03-ipywidgets-dashboard.ipynb": live_ipywidgets,
    "04-custom-widget.ipynb": live_custom,
}


def test_a_kernels_bridge_links_its_hub_by_a_path_on_the_notebooks_origin() -> None:
    """What displaying ``bridge`` shows in a kernel of the server: the hub as the
    notebook's browser reaches it (``<base_url>wsbridge/``), not the server
    address the kernel uses, which behind JupyterHub's proxy is internal."""
    import wsbridge as wb
    from wsbridge.runtime.remote import RemoteBridge

    with wb.Bridge(port=0, producer_token="t") as hub:
        kernel = RemoteBridge(hub.url, token="t", base_url="/user/alice/").start()
        try:
            assert 'href="/user/alice/wsbridge/"' in kernel._repr_html_()
            kernel.dashboard("q", wb.Column(wb.Slider(1.0)))
            shown = kernel._repr_html_()
            assert 'href="/user/alice/wsbridge/"' in shown
            assert 'src="/user/alice/wsbridge/d/q"' in shown
            assert hub.url not in shown
        finally:
            kernel.stop()
        assert f'href="{hub.url}"' in hub._repr_html_()  # embedded: its own address


RECONNECT = """
import asyncio, time
import wsbridge as wb
from wsbridge.client import Client

bridge = wb.Bridge().start()
level = wb.Slider(1.0, min=0.0, max=10.0, label="level")
bridge.dashboard("dropped", wb.Column(level))
remote = bridge.backend.remote
bridge._threadsafe(lambda: remote._ws.close())  # the link to the server drops
deadline = time.monotonic() + 20
while remote.connections < 2 and time.monotonic() < deadline:
    await asyncio.sleep(0.05)
level.value = 4.0

async def look():
    async with await Client.connect(bridge.url, "dropped") as browser:
        await browser.wait_for(lambda c: c.model(level.id)["value"] == 4.0, timeout=10)
        await browser.set(level.id, value=6.0)
        deadline = time.monotonic() + 10
        while level.value != 6.0 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    return level.value

print(bridge.hub_kind, remote.connections, await look())
"""


def test_a_kernels_bridge_republishes_after_its_link_to_the_server_drops(
    lab: JupyterLab,
) -> None:
    """``wb.Bridge()`` in a kernel reconnects, and its dashboards come back
    live (re-created from their state), not stale for good."""
    kid, kernel = lab.start_kernel()
    try:
        out, _ = execute(kernel, RECONNECT, timeout=60)
        assert out.split() == ["jupyter", "2", "6.0"], out
    finally:
        kernel.stop_channels()
        lab.shutdown_kernel(kid)


RERUN = """
import asyncio, time
import wsbridge as wb
from wsbridge.client import Client

first = wb.Bridge().start()
old = wb.Slider(1.0, label="old")
first.dashboard("again", wb.Column(old))
first.flush()
# the notebook run again: a new bridge of the same kernel publishes the same name
second = wb.Bridge().start()
new = wb.Slider(2.0, label="new")
second.dashboard("again", wb.Column(new))
deadline = time.monotonic() + 10
while "again" in first.dashboards and time.monotonic() < deadline:
    await asyncio.sleep(0.02)
print("again" in first.dashboards)
"""

RERUN_RECONNECT = """
remote = first.backend.remote
first._threadsafe(lambda: remote._ws.close())
deadline = time.monotonic() + 20
while remote.connections < 2 and time.monotonic() < deadline:
    await asyncio.sleep(0.05)
first.dashboard("marker", wb.Column(wb.Label("m")))  # after any re-create, on one link

async def look():
    async with await Client.connect(first.url, "marker"):
        pass
    async with await Client.connect(second.url, "again") as browser:
        return old.id in browser.models, new.id in browser.models

print(remote.connections, *(await look()))
"""


def test_a_rerun_notebooks_new_bridge_keeps_the_dashboard_quietly(lab: JupyterLab) -> None:
    """Run All twice: the second ``wb.Bridge()`` of the kernel takes the
    dashboard name over. The first bridge is told so (``not_owner``): it
    forgets that dashboard, quietly (no warning in the user's cell), and
    never takes it back, not even when its own link reconnects."""
    kid, kernel = lab.start_kernel()
    try:
        out, err = execute(kernel, RERUN)
        assert out.strip() == "False", out
        assert "refused" not in err and "not_owner" not in err, err
        out, _ = execute(kernel, RERUN_RECONNECT, timeout=60)
        assert out.split() == ["2", "False", "True"], out
    finally:
        kernel.stop_channels()
        lab.shutdown_kernel(kid)


def test_every_notebook_has_a_live_check() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(LIVE)


@pytest.mark.parametrize("name", sorted(LIVE))
def test_notebook_runs_live_in_jupyterlab(name: str, lab: JupyterLab, lab_context: Any) -> None:
    import nbformat

    page = lab_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        nb = Notebook(page, lab, name)
        nb.open()
        # the quickstart runs twice, as users do: the second run's new Bridge
        # takes the dashboards over from the first, which says nothing
        for _ in range(2 if name.startswith("01") else 1):
            nb.run_all()
        code_cells = [
            c for c in nbformat.read(NOTEBOOKS / name, as_version=4).cells if c.cell_type == "code"
        ]
        prompts = nb.prompts()
        assert len(prompts) == len(code_cells), prompts
        assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), (prompts, nb.stderr())
        assert not nb.stderr()  # no error, and no warning either
        # what the UI ran, as saved: an error output is unambiguous there
        nb.save()
        saved = nbformat.read(lab.root / name, as_version=4)
        outputs = [o for c in saved.cells if c.cell_type == "code" for o in c.outputs]
        assert not [o for o in outputs if o.output_type == "error"]
        assert all(c.execution_count for c in saved.cells if c.cell_type == "code")
        # the kernel published to the server's hub, not a hub of its own
        assert nb.run_cell("print(bridge.hub_kind)") == "jupyter"
        LIVE[name](nb)
        assert not errors, errors
    finally:
        page.close()
        lab.shutdown_sessions()
