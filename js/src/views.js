// DOM views of a document: native controls, live both ways.
//
// `render(el, client)` draws the layout from the document's root; every view
// follows live changes (property patches, `add` of models, new children,
// snapshots after a reconnection). Text from Python is set with
// `textContent`, never parsed as HTML (DESIGN.md "Security defaults").
// Every widget's root element carries `data-wsbridge-model="<id>"`
// (docs/protocol.md "Model types"). The pure parts live in viewutil.js; the
// views of the widget set (RangeSlider ... Card) in widgets.js.
//
// A view is anywidget-shaped: `render({model, el, ...})`, optionally
// returning a cleanup function, so more types (and anywidget ESM widgets)
// plug in with `registerView(type, view)`.

import {
  defaultScheduler,
  followSource,
  formatValue,
  frameThrottle,
  sparklinePoints,
  statusText,
} from "./views/util.js";
import { WIDGET_VIEWS, fits, keyedChildren } from "./widgets.js";
import { ANYWIDGET_VIEWS } from "./views/anywidget.js";
import { TABLE_VIEWS } from "./views/table.js";
import { PLOT_VIEWS } from "./views/plot.js";

/** @typedef {import("./client/connection.js").Connection} Client */
/** @typedef {import("./client/model.js").Model} Model */

/**
 * What a view's `render` receives: anywidget's `{model, el}` plus helpers.
 * @typedef {object} ViewContext
 * @property {Model} model
 * @property {HTMLElement} el the view's root element (already carries data-wsbridge-model)
 * @property {Client} client
 * @property {(target: {on: Function, off: Function}, name: string, cb: (...args: any[]) => void) => void} listen
 *   subscribe for the life of the view
 * @property {(id: string) => View} child create the view of another model
 */

/**
 * @typedef {{render: (ctx: ViewContext) => (void | (() => void))} | ((ctx: ViewContext) => (void | (() => void)))} ViewSpec
 */

/**
 * A mounted view.
 * @typedef {object} View
 * @property {string} id
 * @property {string | undefined} type the model type it was made for (undefined: model missing)
 * @property {HTMLElement} el
 * @property {() => void} destroy
 */

/** @type {Map<string, ViewSpec>} */
const VIEWS = new Map();

/**
 * Add (or replace) the view of a model type. `view` is an anywidget-style
 * module object `{render({model, el})}` or a plain render function.
 * @param {string} type
 * @param {ViewSpec} view
 */
export function registerView(type, view) {
  VIEWS.set(type, view);
}

/** @returns {string[]} the model types that have a view */
export function viewTypes() {
  return [...VIEWS.keys()];
}

let uid = 0;

/**
 * Create the view of model `id`: its registered view, or a visible
 * placeholder for an unknown type or a model the document does not hold.
 * @param {string} id
 * @param {Client} client
 * @returns {View}
 */
export function createView(id, client) {
  const model = client.model(id);
  const type = model.type;
  const el = document.createElement("div");
  el.dataset.wsbridgeModel = id;
  /** @type {(() => void)[]} */
  const cleanups = [];
  /** @type {ViewContext} */
  const ctx = {
    model,
    el,
    client,
    listen(target, name, cb) {
      target.on(name, cb);
      cleanups.push(() => target.off(name, cb));
    },
    child: (cid) => createView(cid, client),
  };
  const spec = type === undefined ? undefined : VIEWS.get(type);
  if (type === undefined) {
    placeholder(el, `missing model "${id}"`);
  } else if (spec === undefined) {
    el.dataset.wsbridgeType = type;
    placeholder(el, `unknown widget type "${type}"`);
  } else {
    el.dataset.wsbridgeType = type;
    el.classList.add("wsbridge-widget", `wsbridge-${type.toLowerCase()}`);
    try {
      const fn = typeof spec === "function" ? spec : spec.render.bind(spec);
      const cleanup = fn(ctx);
      if (typeof cleanup === "function") cleanups.push(cleanup);
    } catch (err) {
      console.error(`wsbridge: the ${type} view of ${id} failed`, err);
      el.replaceChildren();
      placeholder(el, `${type} view failed: ${/** @type {Error} */ (err).message}`);
    }
  }
  return {
    id,
    type,
    el,
    destroy() {
      for (const c of cleanups.splice(0).reverse()) {
        try {
          c();
        } catch (err) {
          console.error("wsbridge: view cleanup failed", err);
        }
      }
    },
  };
}

/**
 * @param {HTMLElement} el
 * @param {string} text
 */
function placeholder(el, text) {
  el.classList.add("wsbridge-placeholder");
  el.setAttribute("role", "note");
  el.textContent = text;
  Object.assign(el.style, {
    border: "1px dashed #b00",
    color: "#b00",
    padding: "0.25em 0.5em",
    fontFamily: "monospace",
    fontSize: "0.85em",
  });
}

/**
 * Draw the document into `el` and keep it live: the root view is replaced
 * when the root (or its type) changes; everything below updates itself.
 * @param {Element} el
 * @param {Client} client
 * @returns {{destroy: () => void}}
 */
export function render(el, client) {
  /** @type {View | null} */
  let root = null;
  const draw = () => {
    const id = client.root;
    if (root && root.id === id && fits(root, client)) return;
    root?.destroy();
    root = id ? createView(id, client) : null;
    el.replaceChildren(...(root ? [root.el] : []));
  };
  const state = client.state;
  state.on("root", draw);
  state.on("add", draw);
  state.on("snapshot", draw);
  draw();
  return {
    destroy() {
      state.off("root", draw);
      state.off("add", draw);
      state.off("snapshot", draw);
      root?.destroy();
      root = null;
      el.replaceChildren();
    },
  };
}

/**
 * A plain status line: "reconnecting…", "disconnected: <reason>", nothing
 * (and hidden) while connected.
 * @param {HTMLElement} el
 * @param {{status: string, reason?: string, on: Function, off: Function}} client
 * @returns {{destroy: () => void}}
 */
export function renderStatus(el, client) {
  el.setAttribute("role", "status");
  el.setAttribute("aria-live", "polite");
  const update = () => {
    const text = statusText(client.status, client.reason);
    el.textContent = text;
    el.hidden = text === "";
    el.dataset.wsbridgeStatus = client.status;
  };
  client.on("status", update);
  update();
  return { destroy: () => client.off("status", update) };
}

// ---------------------------------------------------------------------------
// the core types (docs/protocol.md "Model types")

/**
 * Column and Row: flex containers of `children`. Children are keyed by id,
 * so a changed list moves existing views (a slider keeps its drag) and
 * creates only new ones.
 * @param {"column" | "row"} direction
 * @returns {(ctx: ViewContext) => () => void}
 */
function box(direction) {
  return (ctx) => {
    const { el } = ctx;
    Object.assign(el.style, {
      display: "flex",
      flexDirection: direction,
      gap: "0.5em",
      alignItems: direction === "row" ? "center" : "stretch",
      flexWrap: direction === "row" ? "wrap" : "nowrap",
    });
    return keyedChildren(ctx, (views) => {
      const current = Array.from(el.children);
      if (current.length !== views.length || views.some((v, i) => current[i] !== v.el)) {
        el.replaceChildren(...views.map((v) => v.el));
      }
    });
  };
}

/**
 * Slider: a <label>, an <input type=range> and an <output> readout. User
 * input sets the value locally at once and sends at most one `set` per
 * animation frame while dragging, and always the final value on `change`.
 * @param {ViewContext} ctx
 */
function slider({ model, el, listen }) {
  const id = `wsbridge-slider-${++uid}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  const input = document.createElement("input");
  input.type = "range";
  input.id = id;
  const output = document.createElement("output");
  output.htmlFor.add(id);
  output.setAttribute("aria-hidden", "true"); // the range already announces its value
  Object.assign(el.style, { display: "flex", alignItems: "center", gap: "0.5em" });
  Object.assign(output.style, { fontVariantNumeric: "tabular-nums", minWidth: "3em" });
  el.append(label, input, output);

  const num = (/** @type {string} */ name, /** @type {string} */ fallback) => {
    const v = model.get(name);
    return typeof v === "number" && Number.isFinite(v) ? String(v) : fallback;
  };
  const sync = () => {
    label.textContent = String(model.get("label") ?? "");
    // bounds and step before the value: the browser clamps the value to them
    input.min = num("min", "0");
    input.max = num("max", "100");
    const step = model.get("step");
    input.step = typeof step === "number" && step > 0 ? String(step) : "any";
    const value = num("value", input.min);
    if (input.value !== value) input.value = value;
    input.disabled = Boolean(model.get("disabled"));
    output.textContent = formatValue(model.get("value"), model.get("step"));
  };
  const send = frameThrottle(() => model.save_changes());
  input.addEventListener("input", () => {
    model.set("value", Number(input.value));
    send.call();
  });
  input.addEventListener("change", () => {
    send.cancel();
    model.set("value", Number(input.value));
    model.save_changes();
  });
  listen(model, "change", sync);
  sync();
  return () => send.cancel();
}

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
 * Button: a <button> that fires the declared `click` event.
 * @param {ViewContext} ctx
 */
function button({ model, el, client, listen }) {
  el.style.display = "inline-flex";
  const btn = document.createElement("button");
  btn.type = "button";
  el.append(btn);
  const sync = () => {
    btn.textContent = String(model.get("label") ?? "");
    btn.disabled = Boolean(model.get("disabled"));
  };
  btn.addEventListener("click", () => {
    client.event(model.id, "click", null);
  });
  listen(model, "change", sync);
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

registerView("Column", box("column"));
registerView("Row", box("row"));
registerView("Slider", slider);
registerView("Label", labelView);
registerView("Button", button);
registerView("Sparkline", sparkline);
// the widget set (widgets.js)
for (const [type, view] of Object.entries(WIDGET_VIEWS)) registerView(type, view);
// custom anywidget-style widgets (anywidget.js) and the virtual-scrolling Table (table.js)
for (const [type, view] of Object.entries({ ...ANYWIDGET_VIEWS, ...TABLE_VIEWS })) registerView(type, view);
for (const [type, view] of Object.entries(PLOT_VIEWS)) registerView(type, view); // Bokeh figures (plot.js)
