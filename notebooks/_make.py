"""Regenerate the example notebooks (kept as code so reviews see plain diffs).

python notebooks/_make.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent


def write(name: str, cells: list[tuple[str, str]]) -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells
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
        ("code", """bridge.stop()"""),
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
        ("code", """bridge.stop()"""),
    ],
)
