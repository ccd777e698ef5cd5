"""ipywidgets Output captured in Python without a kernel or a browser, its
bounds, the CSS checks of layout/style, jslink's models and Play's Python
driver (widgets/ipyoutput.py, ipystyle.py, ipylinks.py, ipypickers.py)."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

import pytest

import wsbridge as wb
from tests.helpers.common import wait_until
from wsbridge.ipy import mirror
from wsbridge.widgets import ipyoutput
from wsbridge.widgets.ipystyle import layout_css, safe_css, style_css

W = pytest.importorskip("ipywidgets")
from IPython.display import HTML, Image, Markdown, clear_output, display  # noqa: E402


def kinds(out: Any) -> list[str]:
    return [item["kind"] for item in mirror(out).outputs]


def test_prints_and_displays_are_captured_in_order_without_a_kernel() -> None:
    out = W.Output()
    stdout = sys.stdout
    with out:
        print("one", end="")
        print(" two")
        display(Markdown("**m**"))
        print("oops", file=sys.stderr)
        display(HTML("<b>h</b>"), 3)
    assert sys.stdout is stdout  # the redirect is gone once no thread captures
    assert [o.get("name") or o["output_type"] for o in out.outputs] == [
        "stdout",
        "display_data",
        "stderr",
        "display_data",
        "display_data",
    ]
    assert out.outputs[0]["text"] == "one two\n"
    assert kinds(out) == ["stream", "markdown", "stream", "html", "text"]
    assert mirror(out).outputs[-1]["text"] == "3"


def test_clear_output_wait_capture_decorator_and_append_stdout() -> None:
    out = W.Output()

    @out.capture(clear_output=True, wait=True)
    def run(n: int) -> None:
        print("run", n)

    run(1)
    run(2)
    assert out.outputs == ({"output_type": "stream", "name": "stdout", "text": "run 2\n"},)
    with out:
        clear_output(wait=True)
    assert len(out.outputs) == 1  # a waiting clear keeps the old output...
    out.append_stdout("new\n")  # ...until the next one (append_stdout is ipywidgets' own)
    assert [o["text"] for o in out.outputs] == ["run 2\n", "new\n"]
    out.clear_output()
    assert out.outputs == ()


def test_an_exception_is_shown_and_suppressed_as_in_a_kernel() -> None:
    out = W.Output()
    with out:
        raise KeyError("nope")
    assert out.outputs[-1]["ename"] == "KeyError"
    assert "KeyError: 'nope'" in mirror(out).outputs[-1]["text"]
    with pytest.raises(KeyboardInterrupt), out:  # only Exception is suppressed
        raise KeyboardInterrupt


def test_each_thread_writes_to_its_own_output() -> None:
    a, b = W.Output(), W.Output()
    go = threading.Barrier(2)

    def work(out: Any, name: str) -> None:
        with out:
            go.wait()
            for i in range(50):
                print(name, i)

    threads = [threading.Thread(target=work, args=(o, n)) for o, n in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert a.outputs[0]["text"] == "".join(f"a {i}\n" for i in range(50))
    assert b.outputs[0]["text"] == "".join(f"b {i}\n" for i in range(50))


def test_outputs_are_bounded() -> None:
    out = W.Output()
    with out:
        for i in range(ipyoutput.MAX_OUTPUTS + 20):
            display(i)
    assert len(out.outputs) == ipyoutput.MAX_OUTPUTS  # the capture keeps the newest
    items = ipyoutput.wire_outputs(
        tuple({"output_type": "display_data", "data": {"text/plain": str(i)}} for i in range(150))
    )
    assert items[0] == {"kind": "note", "text": "[50 earlier outputs not shown]"}
    assert len(items) == ipyoutput.MAX_OUTPUTS + 1 and items[-1]["text"] == "149"
    long = ipyoutput.wire_outputs(
        ({"output_type": "stream", "name": "stdout", "text": "x" * (ipyoutput.MAX_TEXT + 5)},)
    )
    assert len(long[0]["text"]) == ipyoutput.MAX_TEXT + 1  # "…" and the end
    huge = b"\x89PNG" + b"0" * ipyoutput.MAX_IMAGE_BYTES
    with out:
        clear_output()
        display(Image(data=huge, format="png"))
    assert mirror(out).outputs[0]["kind"] == "note"


def test_images_travel_as_bytes_and_ansi_codes_are_dropped() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    out = W.Output()
    with out:
        print("\x1b[31mred\x1b[0m")
        print("10%\r100%")  # a line rewritten after \r shows its last version
        display(Image(data=png, format="png", width=40))
    text, image = mirror(out).outputs
    assert text["text"] == "red\n100%\n"
    assert image["data"] == png and image["width"] == 40 and image["mime"] == "image/png"
    state = mirror(out).get_state()["outputs"][1]["data"]
    assert state.dtype.name == "uint8" and state.tobytes() == png  # a binary buffer


@pytest.mark.parametrize(
    "value", ["url(x)", "1px; color: red", "a{b}", "x\\28", "red !important", "image-set(a)", ""]
)
def test_bad_css_is_refused(value: str) -> None:
    assert not safe_css(value)


def test_layout_and_style_are_checked_and_follow_python(caplog: Any) -> None:
    w = W.Button(
        description="b",
        button_style="success",
        layout=W.Layout(width="10em", height="url(http://x)"),
        style={"button_color": "red", "font_weight": "bold"},
    )
    with caplog.at_level(logging.WARNING):
        assert layout_css(w) == {"width": "10em"}
    assert "layout.height" in caplog.text
    assert style_css(w) == {"button_color": "red", "font_weight": "bold", "button_style": "success"}
    m = mirror(w)
    assert m._layout == {"width": "10em"}
    w.layout.margin = "0 auto"
    assert m._layout == {"width": "10em", "margin": "0 auto"}
    w.layout = W.Layout(width="5px")  # a new Layout object is followed too
    w.layout.height = "6px"
    assert m._layout == {"width": "5px", "height": "6px"}
    w.style.button_color = "blue"
    assert m._style["button_color"] == "blue"


def test_jslink_makes_a_link_model_and_a_python_link() -> None:
    a, b = W.IntSlider(3), W.IntSlider(0)
    link = W.jslink((a, "value"), (b, "value"))
    dash = wb.Dashboard("links", mirror(W.VBox([a, b])))
    models = [m for m in dash.members.values() if type(m).__name__ == "Link"]
    assert len(models) == 1 and models[0].source is mirror(a) and models[0].bidirectional
    assert b.value == 3  # a link starts by copying the source
    a.value = 7
    assert b.value == 7 and mirror(b).value == 7
    link.unlink()
    assert models[0].active is False
    a.value = 1
    assert b.value == 7
    d = W.jsdlink((W.Dropdown(options=["x", "y"]), "index"), (W.IntText(), "value"))
    src, dst = d.source[0], d.target[0]
    mirror(src), mirror(dst)
    src.index = 1
    assert dst.value == 1  # selections travel by index: linked in Python only
    assert not mirror(dst).__dict__.get("_companions")


def test_play_started_from_python_is_stepped_by_python() -> None:
    play = W.Play(value=0, min=0, max=3, interval=10)
    m = mirror(play)
    play.playing = True
    wait_until(lambda: play.playing is False)
    assert play.value == 3 and m.value == 3


def test_matplotlib_figures_display_as_png_and_plt_show_flushes_them() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = W.Output()
    with out:
        fig, ax = plt.subplots(figsize=(2, 1))
        ax.plot([1, 3, 2])
        display(fig)
        plt.plot([0, 1])
        plt.show()  # as under %matplotlib inline: displayed, then closed
    assert kinds(out) == ["image", "image"]
    assert mirror(out).outputs[1]["data"][:4] == b"\x89PNG"
    plt.close(fig)
    assert plt.get_fignums() == []


def test_a_jslink_to_a_property_no_browser_may_set_runs_in_python_only() -> None:
    a, b = W.IntSlider(5), W.IntSlider(0, max=100)
    W.jslink((a, "value"), (b, "max"))  # a page could not send b.max
    mirror(a), mirror(b)
    assert b.max == 5 and not mirror(a).__dict__.get("_companions")
    a.value = 8
    assert b.max == 8 and mirror(b).max == 8


def test_a_colour_picker_takes_what_ipywidgets_takes() -> None:
    picker = W.ColorPicker(value="rgb(10, 20, 30)")
    m = mirror(picker)
    assert m.value == "rgb(10, 20, 30)"
    picker.value = "#abc"
    assert m.value == "#abc"
    m._apply_client_state("value", "#00ff00")  # what a browser's input sends
    assert picker.value == "#00ff00"
    with pytest.raises(Exception, match="colour"):
        m._apply_client_state("value", "url(x)")
    assert picker.value == "#00ff00"


def test_a_print_loop_updates_the_output_a_few_times_not_per_line() -> None:
    out = W.Output()
    changes = values(out)
    with out:
        for i in range(5000):
            print("line", i)
    assert out.outputs[0]["text"].count("\n") == 5000
    assert len(changes) < 50
    with out:
        print("quiet")  # a thread that prints, then waits: shown by the timer
        wait_until(lambda: out.outputs[-1]["text"].endswith("quiet\n"), timeout=2)


def values(widget: Any) -> list[Any]:
    seen: list[Any] = []
    widget.observe(lambda change: seen.append(change["new"]), names=["outputs"])
    return seen
