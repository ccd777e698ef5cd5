"""Regenerate docs/screenshot.png (the README picture) in headless Chromium: python docs/screenshot.py"""
import shutil, time, numpy as np, wsbridge as wb
from playwright.sync_api import sync_playwright
with wb.Bridge() as bridge:
    t = np.linspace(0, 10, 400)
    src = wb.DataSource({"t": t, "y": np.sin(t) + 0.1 * np.sin(7 * t)})
    root = wb.Column(
        wb.Row(wb.Number(value=1234.5678, label="throughput", format="{:,.1f}"), wb.Progress(value=62, max=100, label="buffer")),
        wb.Row(wb.Slider(value=2.5, min=0, max=10, step=0.5, label="frequency"), wb.Toggle(value=True, label="live")),
        wb.Row(wb.Select(options=["sine", "square", "saw"], value="sine", label="shape"), wb.TextInput(value="run 42", label="name")),
        wb.Sparkline(src, x="t", y="y", height=140),
        wb.Tabs(wb.Markdown("**Markdown**, sanitised: `code`, [links](https://example.org)"), wb.Table(src, page_size=5), titles=["Notes", "Data"]),
    )
    bridge.dashboard("gallery", root, title="wsbridge")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox","--disable-gpu","--disable-background-networking","--disable-component-update","--disable-sync","--no-first-run"])
        pg = b.new_page(viewport={"width": 900, "height": 640})
        pg.goto(bridge.url + "d/gallery")
        pg.wait_for_function("() => window.wsbridgeClient && window.wsbridgeClient.status === 'connected'")
        time.sleep(1.0)
        pg.screenshot(path=str(__import__("pathlib").Path(__file__).with_name("screenshot.png")), full_page=True)
        b.close()
