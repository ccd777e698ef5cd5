// The views that show values: Label, Sparkline and the widget set's
// Markdown, HTML, Number and Progress.
//
// Text from Python is set with `textContent`; Markdown goes through the
// sanitising renderer of markdown.js; only the HTML widget, which says so,
// uses `innerHTML`.

import { defaultScheduler, followSource, frameThrottle, sparklinePoints } from "./util.js";
import { formatNumber, thresholdColor } from "./format.js";
import { renderMarkdown } from "./markdown.js";
import { h, labelFor, newId, setLabel, str } from "./dom.js";

/** @typedef {import("./registry.js").ViewContext} ViewContext */

/**
 * Label: the value as text (textContent, never HTML).
 * @param {ViewContext} ctx
 */
function labelView({ model, el, listen }) {
  const sync = () => {
    const v = model.get("value");
    el.textContent = v === null || v === undefined ? "" : String(v);
  };
  listen(model, "change:value", sync);
  sync();
}

/**
 * Sparkline: a <canvas> line of source columns `x`, `y`; redrawn at most
 * once per animation frame whatever the rate of streams. The number of rows
 * drawn is in `data-wsbridge-length` (for tests and curious users).
 * @param {ViewContext} ctx
 */
function sparkline({ model, el, client, listen }) {
  const canvas = document.createElement("canvas");
  canvas.setAttribute("role", "img");
  canvas.style.display = "block";
  canvas.style.width = "100%";
  el.append(canvas);
  el.style.minWidth = "100px";
  const scheduler = defaultScheduler();
  const draw = () => {
    const height = Number(model.get("height")) > 0 ? Number(model.get("height")) : 60;
    const width = el.clientWidth || 300;
    const dpr = /** @type {any} */ (globalThis).devicePixelRatio || 1;
    canvas.style.height = `${height}px`;
    if (canvas.width !== Math.round(width * dpr)) canvas.width = Math.round(width * dpr);
    if (canvas.height !== Math.round(height * dpr)) canvas.height = Math.round(height * dpr);
    const sid = model.get("source");
    const src = typeof sid === "string" ? client.source(sid) : null;
    const xs = src ? src.column(String(model.get("x") ?? "x")) : undefined;
    const ys = src ? src.column(String(model.get("y") ?? "y")) : undefined;
    const { points, drawn } = sparklinePoints(
      /** @type {any} */ (xs),
      /** @type {any} */ (ys),
      width,
      height,
    );
    el.dataset.wsbridgeLength = String(ys ? ys.length : 0);
    canvas.setAttribute("aria-label", `line chart of ${drawn} points`);
    const g = canvas.getContext("2d");
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    g.lineWidth = 1.5;
    g.lineJoin = "round";
    g.strokeStyle = getComputedStyle(el).getPropertyValue("--wsbridge-line").trim() || "#1f77b4";
    g.beginPath();
    let pen = false;
    for (let i = 0; i < points.length; i += 2) {
      const px = points[i];
      if (Number.isNaN(px)) {
        pen = false;
        continue;
      }
      if (pen) g.lineTo(px, points[i + 1]);
      else g.moveTo(px, points[i + 1]);
      pen = true;
    }
    g.stroke();
  };
  const redraw = frameThrottle(draw, scheduler);
  const schedule = () => redraw.call();
  const unfollow = followSource(model, client, listen, schedule);
  listen(model, "change", schedule);
  /** @type {any} */
  let observer = null;
  const RO = /** @type {any} */ (globalThis).ResizeObserver;
  if (typeof RO === "function") {
    observer = new RO(schedule);
    observer.observe(el);
  }
  schedule();
  return () => {
    redraw.cancel();
    unfollow();
    observer?.disconnect();
  };
}

/**
 * Markdown: rendered by markdown.js into DOM nodes (sanitised by design).
 * @param {ViewContext} ctx
 */
function markdown({ model, el, listen }) {
  const sync = () => el.replaceChildren(renderMarkdown(model.get("value")));
  listen(model, "change:value", sync);
  sync();
}

/**
 * HTML: RAW. The value goes to innerHTML, unsanitised, as the Python class
 * documents; use Markdown or Label for text you did not write yourself.
 * @param {ViewContext} ctx
 */
function rawHtml({ model, el, listen }) {
  const sync = () => {
    el.innerHTML = str(model.get("value"));
  };
  listen(model, "change:value", sync);
  sync();
}

/**
 * Number: a label over a big formatted value, coloured by thresholds.
 * @param {ViewContext} ctx
 */
function bigNumber({ model, el, listen }) {
  const label = h("div", "wsbridge-number-label");
  const value = h("div", "wsbridge-number-value");
  el.append(label, value);
  const sync = () => {
    setLabel(label, model.get("label"));
    const v = model.get("value");
    value.textContent = formatNumber(str(model.get("format")) || "{}", typeof v === "number" ? v : null);
    // a CSS colour through the CSSOM: an invalid one is ignored, never parsed as markup
    value.style.color = thresholdColor(v, model.get("colors"), str(model.get("default_color")));
  };
  listen(model, "change", sync);
  sync();
}

/**
 * Progress: a labelled native <progress> and a percentage readout;
 * indeterminate when the value is null.
 * @param {ViewContext} ctx
 */
function progress({ model, el, listen }) {
  const id = newId("progress");
  const label = labelFor(id);
  const bar = h("progress");
  bar.id = id;
  const output = h("output");
  output.setAttribute("aria-hidden", "true");
  el.append(label, bar, output);
  const sync = () => {
    setLabel(label, model.get("label"));
    const max = model.get("max");
    bar.max = typeof max === "number" && max > 0 ? max : 100;
    const v = model.get("value");
    if (typeof v === "number" && Number.isFinite(v)) {
      bar.value = v;
      output.textContent = `${Math.round((100 * Math.min(Math.max(v, 0), bar.max)) / bar.max)}%`;
    } else {
      bar.removeAttribute("value");
      output.textContent = "";
    }
  };
  listen(model, "change", sync);
  sync();
}

/** The views of this module, by model type (registered by index.js). */
export const DISPLAY_VIEWS = Object.freeze({
  Label: labelView,
  Sparkline: sparkline,
  Markdown: markdown,
  HTML: rawHtml,
  Number: bigNumber,
  Progress: progress,
});
