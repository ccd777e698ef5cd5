// The `PlotlyPlot` view (wsbridge/widgets/plotly.py): a Plotly figure drawn
// by Plotly.js, its mapped trace attributes fed by a wsbridge source.
//
// Plotly.js (`plotly.min.js`, a classic script defining `window.Plotly`) is
// loaded once per page from `static/plotly/`, which the hub serves from the
// installed plotly package, never a CDN. The figure arrives without the
// data of its mapped attributes; the view fills them from the source's
// columns and then follows the source through a `Feed` (plotfeed.js, as
// BokehJS's sources do): a stream becomes `Plotly.extendTraces` with the
// rollover as `maxPoints` (typed arrays stay typed arrays), anything else
// (a patch, a replace, a snapshot after a reconnection) `Plotly.react` with
// the source's whole data. At most once per animation frame.
//
// Clicks, selections and relayouts (zoom, pan) go to Python as events, a
// small summary each (`pointsOf`, `relayoutOf`), checked again in Python.

import { defaultScheduler, frameThrottle } from "./util.js";
import { Feed, toBokehColumn } from "./plotfeed.js";

/** @typedef {import("./registry.js").ViewContext} ViewContext */
/** @typedef {import("../client/source.js").Source} Source */

/** Where Plotly.js is served: `<hub>/static/plotly/`, beside the client's folders. */
export const PLOTLY_BASE = new URL("../plotly/", import.meta.url).href;
/** points an event carries at most (plotly.py MAX_EVENT_POINTS) */
export const MAX_EVENT_POINTS = 50;
/** keys a relayout event carries at most (plotly.py MAX_RELAYOUT_KEYS) */
export const MAX_RELAYOUT_KEYS = 32;

/** @type {Promise<any> | null} */
let loading = null;

/**
 * Load Plotly.js once per page (a page that has `window.Plotly` keeps it).
 * @param {string} [base] the directory serving plotly.min.js
 * @returns {Promise<any>} the Plotly namespace
 */
export function loadPlotly(base = PLOTLY_BASE) {
  const g = /** @type {any} */ (globalThis);
  if (g.Plotly?.react) return Promise.resolve(g.Plotly);
  if (loading) return loading;
  loading = new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = new URL("plotly.min.js", base).href;
    script.async = false;
    script.dataset.wsbridgePlotly = "";
    script.onload = () => (g.Plotly?.react ? resolve(g.Plotly) : reject(new Error("plotly.min.js defined no Plotly")));
    script.onerror = () => reject(new Error(`could not load Plotly.js from ${script.src}`));
    document.head.append(script);
  });
  loading.catch(() => {
    loading = null; // let a later view try again
  });
  return loading;
}

/**
 * A mapping entry as the model holds it: trace index -> attribute -> column.
 * @typedef {{trace: number, columns: Record<string, string>}} TraceMap
 */

/**
 * @param {unknown} traces the model's `traces`
 * @returns {TraceMap[]}
 */
export function traceMaps(traces) {
  if (!Array.isArray(traces)) return [];
  return traces.filter(
    (t) => t && Number.isInteger(t.trace) && t.columns && typeof t.columns === "object",
  );
}

/**
 * Set a dotted attribute ("marker.color") of a trace object.
 * @param {Record<string, any>} obj
 * @param {string} dotted
 * @param {any} value
 */
function setPath(obj, dotted, value) {
  const keys = dotted.split(".");
  let at = obj;
  for (const k of keys.slice(0, -1)) {
    if (at[k] === null || typeof at[k] !== "object") at[k] = {};
    at = at[k];
  }
  at[keys[keys.length - 1]] = value;
}

/**
 * @param {Record<string, any>} obj
 * @param {string} dotted
 */
function getPath(obj, dotted) {
  /** @type {any} */
  let at = obj;
  for (const k of dotted.split(".")) at = at?.[k];
  return at;
}

/**
 * The figure's traces with every mapped attribute set to its column (a copy
 * of each column, as Plotly.js may keep or extend it).
 * @param {any[]} data the spec's traces (not modified)
 * @param {TraceMap[]} maps
 * @param {Record<string, any>} columns column name -> values
 * @returns {any[]}
 */
export function fillTraces(data, maps, columns) {
  const out = data.map((t) => JSON.parse(JSON.stringify(t)));
  for (const { trace, columns: attrs } of maps) {
    if (!out[trace]) continue;
    for (const [attr, col] of Object.entries(attrs)) setPath(out[trace], attr, toBokehColumn(columns[col] ?? []));
  }
  return out;
}

/**
 * A stream as `Plotly.extendTraces` calls: traces mapping the same set of
 * attributes go in one call (`update[attr][k]` is trace `indices[k]`'s new
 * values).
 * @param {TraceMap[]} maps
 * @param {Record<string, any>} rows column name -> appended values
 * @returns {{update: Record<string, any[]>, indices: number[]}[]}
 */
export function extendCalls(maps, rows) {
  /** @type {Map<string, {update: Record<string, any[]>, indices: number[]}>} */
  const groups = new Map();
  for (const { trace, columns } of maps) {
    const attrs = Object.keys(columns).sort();
    const key = attrs.join("\n");
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { update: Object.fromEntries(attrs.map((a) => [a, []])), indices: [] }));
    g.indices.push(trace);
    for (const a of attrs) g.update[a].push(rows[columns[a]] ?? []);
  }
  return [...groups.values()];
}

/** @param {unknown} v */
function plain(v) {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string") return v.slice(0, 200);
  if (typeof v === "boolean") return v;
  return null;
}

/**
 * A click or selection as the event Python gets: at most MAX_EVENT_POINTS
 * points of `{trace, index, x, y}`.
 * @param {any} ev Plotly's event data (undefined for a cleared selection)
 */
export function pointsOf(ev) {
  const points = Array.isArray(ev?.points) ? ev.points.slice(0, MAX_EVENT_POINTS) : [];
  return {
    points: points
      .map((/** @type {any} */ p) => ({
        trace: p.curveNumber,
        index: p.pointIndex ?? p.pointNumber,
        x: plain(p.x),
        y: plain(p.y),
      }))
      .filter((/** @type {any} */ p) => Number.isInteger(p.trace) && Number.isInteger(p.index)),
  };
}

/**
 * A relayout as the event Python gets: the attributes Plotly names
 * ("xaxis.range[0]"...) with plain values; null when nothing is left.
 * @param {any} ev
 * @returns {Record<string, any> | null}
 */
export function relayoutOf(ev) {
  if (!ev || typeof ev !== "object") return null;
  /** @type {Record<string, any>} */
  const out = {};
  let n = 0;
  for (const [key, value] of Object.entries(ev)) {
    if (n >= MAX_RELAYOUT_KEYS || !/^[a-z][a-z0-9]*(\.[a-z_][a-z0-9_]*)*(\[\d\])?$/.test(key)) continue;
    if (Array.isArray(value)) {
      if (value.length > 4 || !value.every((v) => typeof v === "number" || typeof v === "string")) continue;
      out[key] = value.map(plain);
    } else if (value === null || ["number", "string", "boolean"].includes(typeof value)) {
      out[key] = plain(value);
    } else {
      continue;
    }
    n++;
  }
  return n ? out : null;
}

/**
 * PlotlyPlot: the figure in a div, its mapped traces following the source.
 * `data-wsbridge-ready` is set once Plotly.js has drawn it.
 * @param {ViewContext} ctx
 */
function plotlyView({ model, el, client, listen }) {
  const gd = /** @type {any} */ (document.createElement("div"));
  gd.className = "wsbridge-plotly-host";
  el.append(gd);
  /** @type {any} */
  let Plotly = null;
  /** @type {Source | null} */
  let src = null;
  /** @type {Feed | null} */
  let feed = null;
  let generation = 0;
  let destroyed = false;
  let drawn = false;
  let hooked = false;

  const spec = () => /** @type {{data?: any[], layout?: any}} */ (model.get("spec") ?? {});
  const maps = () => traceMaps(model.get("traces"));

  /** Draw the whole figure from the source's current data. */
  const redraw = async () => {
    const s = spec();
    const data = fillTraces(Array.isArray(s.data) ? s.data : [], maps(), src ? src.data : {});
    const layout = gd.layout && drawn ? gd.layout : JSON.parse(JSON.stringify(s.layout ?? {}));
    await Plotly.react(gd, data, layout, { responsive: true, ...(model.get("config") ?? {}) });
  };

  // the Feed's target: a stream extends the traces, anything else redraws
  const target = {
    get data() {
      const first = maps()[0];
      if (!first || !gd.data?.[first.trace]) return {};
      const [attr, col] = Object.entries(first.columns)[0];
      return { [col]: getPath(gd.data[first.trace], attr) ?? [] };
    },
    set data(_columns) {
      void redraw();
    },
    /** @param {Record<string, any>} rows @param {number | undefined} rollover */
    stream(rows, rollover) {
      for (const { update, indices } of extendCalls(maps(), rows)) {
        if (rollover === undefined) Plotly.extendTraces(gd, update, indices);
        else Plotly.extendTraces(gd, update, indices, rollover);
      }
    },
    patch() {
      void redraw();
    },
  };

  const flush = frameThrottle(() => {
    if (feed && drawn) feed.flush([target]);
  }, defaultScheduler());

  /** @param {Record<string, any>} msg */
  const onMessage = (msg) => {
    if (msg.type === "snapshot") flush.call();
    else if (feed && feed.message(msg)) flush.call();
  };
  const onChange = () => flush.call();

  const hook = () => {
    if (hooked) return;
    hooked = true;
    gd.on("plotly_click", (/** @type {any} */ ev) => client.event(model.id, "click", pointsOf(ev)));
    gd.on("plotly_selected", (/** @type {any} */ ev) => client.event(model.id, "select", pointsOf(ev)));
    gd.on("plotly_relayout", (/** @type {any} */ ev) => {
      const data = relayoutOf(ev);
      if (data) client.event(model.id, "relayout", data);
    });
  };

  const build = async () => {
    const mine = ++generation;
    try {
      Plotly = await loadPlotly();
    } catch (err) {
      if (mine === generation && !destroyed) {
        el.dataset.wsbridgeError = String(/** @type {Error} */ (err).message);
        gd.textContent = el.dataset.wsbridgeError;
      }
      return;
    }
    if (mine !== generation || destroyed) return;
    const sid = model.get("source");
    const next = typeof sid === "string" ? client.source(sid) : null;
    if (next !== src) {
      src?.off("change", onChange);
      src = next;
      src?.on("change", onChange);
      feed = src ? new Feed(src) : null;
    }
    drawn = false;
    const s = spec();
    const data = fillTraces(Array.isArray(s.data) ? s.data : [], maps(), src ? src.data : {});
    const layout = JSON.parse(JSON.stringify(s.layout ?? {}));
    if (feed && src) {
      feed.known = src.version; // the figure holds the data at this version
      feed.ops = [];
      feed.full = false;
    }
    try {
      await Plotly.react(gd, data, layout, { responsive: true, ...(model.get("config") ?? {}) });
    } catch (err) {
      console.error("wsbridge: Plotly.js could not draw the figure", err);
      el.dataset.wsbridgeError = `Plotly: ${/** @type {Error} */ (err).message}`;
      return;
    }
    if (mine !== generation || destroyed) return;
    drawn = true;
    hook();
    flush.call(); // what changed while Plotly.js was drawing
    el.dataset.wsbridgeReady = "true";
  };

  client.on("message", onMessage);
  listen(model, "change:spec", () => void build());
  listen(model, "change:source", () => void build());
  listen(model, "change:config", () => void build());
  void build();
  return () => {
    destroyed = true;
    generation++;
    flush.cancel();
    client.off("message", onMessage);
    src?.off("change", onChange);
    /** @type {any} */ (globalThis).Plotly?.purge(gd);
  };
}

/** Views of this module, registered by index.js. */
export const PLOTLY_VIEWS = { PlotlyPlot: plotlyView };
