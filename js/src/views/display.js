// The views that show values: Label, Sparkline and the widget set's
// Markdown, HTML, Number and Progress.
//
// Text from Python is set with `textContent`; Markdown goes through the
// sanitising renderer of markdown.js; only the HTML widget, which says so,
// uses `innerHTML`.

import { defaultScheduler, followSource, frameThrottle, sparklinePoints } from "./util.js";
import { formatNumber, thresholdColor } from "./format.js";
import { renderMarkdown } from "./markdown.js";
import { onSchemeChange } from "./theme.js";
import { fieldHead, fieldLayout, h, labelFor, newId, setLabel, str } from "./dom.js";

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
  const unscheme = onSchemeChange(schedule); // its colour is the page's (--wsbridge-line)
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
    unscheme();
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
 * Number: a label over a big formatted value, coloured by thresholds; laid
 * out as a field, so its label lines up with the labels of the controls
 * beside it.
 * @param {ViewContext} ctx
 */
function bigNumber({ model, el, listen }) {
  const label = h("div", "wsbridge-field-label wsbridge-number-label");
  const value = h("div", "wsbridge-number-value");
  Object.assign(value.style, { fontVariantNumeric: "tabular-nums" });
  fieldLayout(el);
  el.style.gap = "2px";
  el.append(label, value);
  const sync = () => {
    setLabel(label, model.get("label"), el);
    const v = model.get("value");
    value.textContent = formatNumber(str(model.get("format")) || "{}", typeof v === "number" ? v : null);
    // a CSS colour through the CSSOM: an invalid one is ignored, never parsed as markup
    value.style.color = thresholdColor(v, model.get("colors"), str(model.get("default_color")));
  };
  listen(model, "change", sync);
  sync();
}

/**
 * A progress readout: the share of `max` that `value` is, in percent.
 * Whole percents from 10 % to 99 %; one decimal outside them, so a start
 * is not "0%" and an almost-done bar is never a rounded "100%"; "<0.1%"
 * for a sliver. Null for no value (indeterminate).
 * @param {unknown} value
 * @param {number} max (> 0)
 * @returns {string | null}
 */
export function percentText(value, max) {
  if (typeof value !== "number" || !Number.isFinite(value)) return null;
  const pct = (100 * Math.min(Math.max(value, 0), max)) / max;
  if (pct === 0 || pct === 100) return `${pct}%`;
  if (pct < 0.1) return "<0.1%";
  if (pct >= 10 && pct < 99) return `${Math.round(pct)}%`;
  const one = Math.floor(pct * 10 + 1e-9) / 10; // floor: 99.96 is "99.9%", not "100.0%"
  return `${pct < 10 ? Math.round(pct * 10) / 10 : one}%`;
}

/**
 * Progress: a head (label, percentage) over a native <progress> bar;
 * indeterminate (a sweeping band, no readout) when the value is null.
 * The bar's `title` says the value out of `max` ("0.62 of 100").
 * @param {ViewContext} ctx
 */
function progress({ model, el, listen }) {
  const id = newId("progress");
  const label = labelFor(id);
  const bar = h("progress");
  bar.id = id;
  Object.assign(bar.style, { display: "block", width: "100%" });
  const output = h("output");
  output.setAttribute("aria-hidden", "true"); // the bar announces its value
  fieldLayout(el);
  el.append(fieldHead(label, output), bar);
  const sync = () => {
    setLabel(label, model.get("label"), el);
    const max = model.get("max");
    bar.max = typeof max === "number" && max > 0 ? max : 100;
    const v = model.get("value");
    const text = percentText(v, bar.max);
    if (text !== null) {
      bar.value = /** @type {number} */ (v);
      output.textContent = text;
      bar.title = `${v} of ${bar.max}`;
    } else {
      bar.removeAttribute("value");
      output.textContent = "";
      bar.title = "";
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
