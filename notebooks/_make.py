"""Regenerate the example notebooks (kept as code so reviews see plain diffs).

python notebooks/_make.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

#: the last cell of each notebook. Not a ``bridge.stop()`` cell: after "Run
#: All" the dashboards above must stay live (a stopped bridge leaves them
#: stale); shutting the kernel down stops the bridge anyway.
STOP = """The dashboards above stay live while this kernel runs: use them, or change
the widgets from a new cell. When you are done, `bridge.stop()` closes them
(shutting the kernel down does too)."""


def write(name: str, cells: list[tuple[str, str]]) -> None:
    # fixed cell ids (nbformat would draw random ones), so regenerating is a no-op
    nb = new_notebook(
        cells=[
            new_markdown_cell(src, id=f"cell-{i}")
            if kind == "md"
            else new_code_cell(src, id=f"cell-{i}")
            for i, (kind, src) in enumerate(cells)
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(nb)
    nbformat.write(nb, HERE / name)


write(
    "01-quickstart.ipynb",
    [
        (
            "md",
            """# wsbridge quickstart: a slider and a live number

`wb.Bridge()` starts a hub on its own thread. In a kernel started by a Jupyter
server that runs the wsbridge extension, it publishes through that server
instead (no extra port, works on JupyterHub). Either way, displaying a
dashboard shows it inline, with a link to open it in its own tab.""",
        ),
        (
            "code",
            """import wsbridge as wb

bridge = wb.Bridge().start()
bridge""",
        ),
        (
            "md",
            """A slider and a label that follows it. The callback runs in Python,
on the bridge's callbacks thread, whenever a browser moves the slider.""",
        ),
        (
            "code",
            """freq = wb.Slider(value=2.0, min=0.0, max=10.0, step=0.5, label="frequency")
shown = wb.Label(value="2.0")
freq.observe(lambda change: setattr(shown, "value", f"{change['new']:.1f}"), names="value")

dash = bridge.dashboard("quickstart", wb.Column(freq, shown), title="Quickstart")
dash""",
        ),
        ("md", """Python can move it too; every open page follows at once."""),
        (
            "code",
            """freq.value = 7.5
bridge.flush()
assert shown.value == "7.5"
shown.value""",
        ),
        (
            "md",
            """What a browser sees, read with wsbridge's own Python client (the same
protocol the page speaks).""",
        ),
        (
            "code",
            """from wsbridge.client import Client

async def peek():
    async with await Client.connect(bridge.url, "quickstart") as browser:
        await browser.set(freq.id, value=3.0)  # as if a user dragged the slider
        await browser.wait_for(lambda c: c.model(shown.id)["value"] == "3.0")
        return browser.model(freq.id)["value"], browser.model(shown.id)["value"]

await peek()""",
        ),
        ("md", STOP),
    ],
)

write(
    "02-streaming.ipynb",
    [
        (
            "md",
            """# Streaming from a background thread while cells keep running

The hub has its own thread and event loop, so `src.stream(...)` reaches the
browsers immediately, whether it is called from a background thread (below)
or from a busy cell, and browser callbacks still fire meanwhile. The
producer thread stops itself after a few seconds.""",
        ),
        (
            "code",
            """import threading
import time

import numpy as np
import wsbridge as wb

bridge = wb.Bridge().start()
src = wb.DataSource({"t": np.zeros(0), "y": np.zeros(0)})
status = wb.Label(value="starting")
dash = bridge.dashboard(
    "stream", wb.Column(wb.Sparkline(src, x="t", y="y", height=160), status), title="Streaming"
)
dash""",
        ),
        (
            "code",
            """stop = threading.Event()
progress = [0]  # rows sent so far (the source itself keeps only the last 300)

def produce(points=600, chunk=10, period=0.02):
    \"\"\"Append a sine wave in chunks; binary float64 columns, kept to the last 300 rows.\"\"\"
    done = 0
    while done < points and not stop.is_set():
        t = np.arange(done, done + chunk) * 0.01
        src.stream({"t": t, "y": np.sin(2 * np.pi * t)}, rollover=300)
        done += chunk
        progress[0] = done
        status.value = f"{done} points"
        time.sleep(period)
    status.value = "done"

worker = threading.Thread(target=produce, name="producer", daemon=True)
worker.start()""",
        ),
        (
            "md",
            """This cell is busy (it sleeps in a loop) while the thread streams: the
rows keep arriving (and reach every open page as they are sent).""",
        ),
        (
            "code",
            """seen = []
for _ in range(5):
    time.sleep(0.1)
    seen.append(progress[0])
print(seen)
assert seen[-1] > seen[0], "the stream kept flowing while this cell ran\"""",
        ),
        (
            "code",
            """worker.join(timeout=20)
assert status.value == "done" and len(src.data["t"]) == 300  # cut to the rollover
print(status.value, len(src.data["t"]))""",
        ),
        ("md", STOP),
    ],
)

write(
    "03-ipywidgets-dashboard.ipynb",
    [
        (
            "md",
            """# An ipywidgets UI as a standalone dashboard

Give an ipywidgets object where wsbridge accepts a widget and it is
*mirrored* by the matching native model, in two-way sync: a browser's change
reaches the ipywidget (so its observers fire as in Jupyter), and a Python
change to the ipywidget reaches every browser. The page needs no Jupyter
front end, so it can be shared as a standalone dashboard.""",
        ),
        (
            "code",
            """import ipywidgets as W
import wsbridge as wb
from wsbridge.ipy import mirror

bridge = wb.Bridge().start()

level = W.IntSlider(2, min=0, max=10, description="level")
mode = W.Dropdown(options=["sine", "square", "saw"], value="sine", description="mode")
armed = W.Checkbox(False, description="armed")
summary = W.Label()

def update(_change=None):
    summary.value = f"{mode.value} at level {level.value}" + (" (armed)" if armed.value else "")

for w in (level, mode, armed):
    w.observe(update, names="value")
update()

dash = bridge.dashboard("ipy", W.VBox([level, mode, armed, summary]), title="ipywidgets")
dash""",
        ),
        (
            "md",
            """Change an ipywidget from Python: its mirror (what every page shows)
follows, and so does the label its observer rewrites.""",
        ),
        (
            "code",
            """level.value = 7
armed.value = True
bridge.flush()
assert mirror(level).value == 7
assert mirror(summary).value == summary.value == "sine at level 7 (armed)"
mirror(summary).value""",
        ),
        (
            "md",
            """A browser (here wsbridge's Python client, speaking the page's protocol)
moves the slider: the ipywidget and its observer see it.""",
        ),
        (
            "code",
            """from wsbridge.client import Client

async def drag():
    async with await Client.connect(bridge.url, "ipy") as browser:
        await browser.set(mirror(level).id, value=4)
        await browser.wait_for(lambda c: c.model(mirror(summary).id)["value"].endswith("4 (armed)"))
    return level.value, summary.value

await drag()""",
        ),
        ("md", STOP),
    ],
)

write(
    "04-custom-widget.ipynb",
    [
        (
            "md",
            """# A custom widget in the anywidget style

`wb.AnyWidget` takes the same `_esm` module (and optional `_css`) an
anywidget does; only the base class differs. Every synced trait that is not
a reference is settable by the browser, validated by the trait.""",
        ),
        (
            "code",
            """import traitlets
import wsbridge as wb

class Counter(wb.AnyWidget):
    _esm = \"\"\"
    function render({ model, el }) {
      const button = document.createElement("button");
      const show = () => { button.textContent = `count is ${model.get("value")}`; };
      button.addEventListener("click", () => {
        model.set("value", model.get("value") + 1);
        model.save_changes();
      });
      model.on("change:value", show);
      model.on("msg:custom", (content) => { if (content.reset) { model.set("value", 0); model.save_changes(); } });
      show();
      el.appendChild(button);
    }
    export default { render };
    \"\"\"
    _css = "button { font-size: 1.5em }"
    value = traitlets.Int(0).tag(sync=True)

bridge = wb.Bridge().start()
counter = Counter(value=1)
dash = bridge.dashboard("counter", wb.Column(counter), title="Counter")
dash""",
        ),
        ("md", """Python sets the value; every page shows it."""),
        (
            "code",
            """from wsbridge.client import Client

counter.value = 41
bridge.flush()
assert counter.value == 41

async def look():
    async with await Client.connect(bridge.url, "counter") as browser:
        return browser.model(counter.id)["value"]

await look()""",
        ),
        (
            "md",
            """Custom messages: `send` from Python reaches the module's
`msg:custom` handlers (here, one that resets the count); a message from the
page reaches `on_msg` (here, a handler that answers it).""",
        ),
        (
            "code",
            """received = []

def answer(widget, content, buffers):  # runs on the bridge's callbacks thread
    received.append(content)
    widget.send({"thanks": content})

counter.on_msg(answer)

async def chat():
    async with await Client.connect(bridge.url, "counter") as browser:
        counter.send({"reset": True})
        await browser.custom(counter.id, {"clicked": 3})
        await browser.wait_for(lambda c: len(c.connection.customs) == 2)
        return received, [m.content for m in browser.connection.customs]

await chat()""",
        ),
        ("md", STOP),
    ],
)
