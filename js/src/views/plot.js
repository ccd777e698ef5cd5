// The `Plot` view (wsbridge/plot.py): a Bokeh figure drawn by BokehJS and
// fed by wsbridge sources, without a Bokeh server.
//
// BokehJS (`bokeh.min.js`, a classic script defining `window.Bokeh`, plus
// the widgets/tables/WebGL/MathJax bundles a figure needs) is loaded once
// per page from `static/bokeh/`, beside the client's folders: the hub serves
// it from the installed bokeh package (wsbridge/server.py), never a CDN. The figure
// arrives as Bokeh's own JSON with the data of its tied ColumnDataSources
// left out; the view puts each source's current columns into it, builds it
// with `Bokeh.embed.embed_item`, and then each tied ColumnDataSource
// follows its wsbridge source:
//
// - a `stream` becomes `cds.stream(rows, rollover)`,
// - a `source_patch` becomes `cds.patch(...)` (wire slices are BokehJS slices),
// - a `source_replace`, a snapshot or anything unexpected becomes `cds.data = ...`.
//
// Left out for now: multi-dimensional columns (image glyphs want one
// ndarray per row) and figures with custom Bokeh extensions (their
// JavaScript is not in the bokeh package).
//
// Messages are collected as they are applied and handed to BokehJS at most
// once per animation frame (consecutive streams merged into one), so a
// source streaming at 1 kHz costs BokehJS ~60 updates a second. After each
// flush the BokehJS length is checked against the wsbridge source's and any
// disagreement is repaired by a full replace: the wsbridge source is the truth.
//
// The pure parts (`Feed`, `toBokehColumn`, `toBokehPatches`, `mergeOps`)
// are tested in node (js/test/views/plot.test.js); the view in Chromium.

import { defaultScheduler, frameThrottle } from "./util.js";
import { isTypedArray } from "../wire/codec.js";

/** @typedef {import("./registry.js").ViewContext} ViewContext */
/** @typedef {import("../client/source.js").Source} Source */

/** Where BokehJS is served: `<hub>/static/bokeh/`, one folder up from this module's. */
export const BOKEH_BASE = new URL("../bokeh/", import.meta.url).href;

/**
 * Pending operations past which a feed stops collecting and replaces the
 * whole data at its next flush (a hidden tab runs no animation frames, so
 * without a bound a fast stream would queue without end).
 */
export const MAX_OPS = 256;

// ---------------------------------------------------------------------------
// pure helpers

/**
 * A column as BokehJS wants it, in an array of its own: BokehJS's stream
 * and patch write into column arrays in place, and ours are views of the
 * wsbridge source's frames, shared with every other view. 64-bit integers
 * become Float64Array (BokehJS has no BigInt columns; Bokeh's own
 * serializer does the same); strings and nulls stay a plain array.
 * @param {any} values
 * @returns {any}
 */
export function toBokehColumn(values) {
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    const out = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = Number(values[i]);
    return out;
  }
  if (isTypedArray(values)) return values.slice();
  if (Array.isArray(values)) return values.slice();
  return [];
}

/**
 * @param {Record<string, any>} data column name -> values
 * @returns {Record<string, any>}
 */
export function toBokehData(data) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const name of Object.keys(data)) out[name] = toBokehColumn(data[name]);
  return out;
}

/**
 * A wire `source_patch` as BokehJS's `cds.patch` takes it: an index stays
 * a number; a `{start, stop, step}` slice is already the shape BokehJS
 * reads; a scalar `null` in a float column is NaN (how NaN travels in
 * JSON); BigInts are numbers.
 * @param {Record<string, [any, any][]>} patches
 * @param {Record<string, any>} columns the BokehJS columns being patched (for their kinds)
 * @returns {Record<string, [any, any][]>}
 */
export function toBokehPatches(patches, columns) {
  /** @type {Record<string, [any, any][]>} */
  const out = {};
  for (const [name, items] of Object.entries(patches)) {
    const col = columns[name];
    if (col === undefined) continue;
    const float = col instanceof Float64Array || col instanceof Float32Array;
    out[name] = items.map(([index, value]) => {
      if (typeof index === "number") {
        let v = value;
        if (v === null && float) v = NaN;
        else if (typeof v === "bigint") v = Number(v);
        return [index, v];
      }
      const slice = { start: index.start, stop: index.stop, step: index.step };
      return [slice, toBokehColumn(value)];
    });
  }
  return out;
}

/**
 * One pending change of a source.
 * @typedef {{kind: "stream", data: Record<string, any>, rollover: number | null}
 *   | {kind: "patch", patches: Record<string, [any, any][]>}} Op
 */

/**
 * Merge consecutive streams with the same rollover into one (appending A
 * then B, each time keeping the last r rows, is appending A+B and keeping
 * r). Streams with different rollovers, and patches, keep their order.
 * @param {Op[]} ops
 * @returns {Op[]}
 */
export function mergeOps(ops) {
  /** @type {Op[]} */
  const out = [];
  /** @type {Record<string, any[]> | null} */
  let chunks = null;
  for (const op of ops) {
    const last = out[out.length - 1];
    if (op.kind === "stream" && last?.kind === "stream" && last.rollover === op.rollover && chunks) {
      for (const [name, values] of Object.entries(op.data)) (chunks[name] ??= []).push(values);
      continue;
    }
    if (chunks && last?.kind === "stream") last.data = concatChunks(chunks);
    chunks = null;
    if (op.kind === "stream") {
      chunks = {};
      for (const [name, values] of Object.entries(op.data)) chunks[name] = [values];
      out.push({ kind: "stream", data: op.data, rollover: op.rollover });
    } else {
      out.push(op);
    }
  }
  const last = out[out.length - 1];
  if (chunks && last?.kind === "stream") last.data = concatChunks(chunks);
  return out;
}

/**
 * @param {Record<string, any[]>} chunks column name -> list of pieces
 * @returns {Record<string, any>}
 */
function concatChunks(chunks) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const [name, pieces] of Object.entries(chunks)) {
    if (pieces.length === 1) {
      out[name] = pieces[0];
      continue;
    }
    const first = pieces[0];
    if (isTypedArray(first) && pieces.every((p) => p.constructor === first.constructor)) {
      const total = pieces.reduce((n, p) => n + p.length, 0);
      const arr = new /** @type {any} */ (first.constructor)(total);
      let at = 0;
      for (const p of pieces) {
        arr.set(p, at);
        at += p.length;
      }
      out[name] = arr;
    } else {
      out[name] = pieces.flatMap((p) => Array.from(p));
    }
  }
  return out;
}

/**
 * Put the data of the tied ColumnDataSources into a figure's JSON (Bokeh's
 * `json_item`, whose tied sources travel with empty columns), so BokehJS
 * draws the figure with its data at once: one paint, and data ranges set
 * from the data. BokehJS's decoder keeps typed arrays as they are.
 * @param {any} doc the item's `doc` (modified in place)
 * @param {Record<string, string>} sourceIds ColumnDataSource id -> wsbridge source id
 * @param {(sid: string) => Record<string, any> | undefined} dataOf the current columns of a source
 * @returns {string[]} the ColumnDataSource ids filled
 */
export function fillFigure(doc, sourceIds, dataOf) {
  /** @type {string[]} */
  const filled = [];
  const stack = [doc];
  while (stack.length) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (const v of node) if (v !== null && typeof v === "object") stack.push(v);
      continue;
    }
    if (node === null || typeof node !== "object" || ArrayBuffer.isView(node)) continue;
    const sid = node.type === "object" && node.name === "ColumnDataSource" ? sourceIds[node.id] : undefined;
    const data = sid === undefined ? undefined : dataOf(sid);
    if (data !== undefined) {
      node.attributes = node.attributes ?? {};
      node.attributes.data = { type: "map", entries: Object.entries(toBokehData(data)) };
      filled.push(node.id);
    }
    for (const v of Object.values(node)) if (v !== null && typeof v === "object") stack.push(v);
  }
  return filled;
}

/**
 * @param {Record<string, any>} data
 * @returns {number} rows (the length of the first column)
 */
export function dataLength(data) {
  for (const v of Object.values(data)) return v?.length ?? 0;
  return 0;
}

/**
 * Keeps BokehJS ColumnDataSources in step with one wsbridge source.
 *
 * `message(msg)` is called with every hub message after the client applied
 * it; a message counts only when it moved the source's `version` by exactly
 * one (a duplicate moves nothing; a snapshot or `add` that replaced the
 * source moves it without a stream message, and is caught at the flush as
 * a full replace). `flush(targets)` brings BokehJS sources up to date.
 */
export class Feed {
  /** @param {{id: string, version: number, length: number, data: Record<string, any>}} source */
  constructor(source) {
    this.source = source;
    /** the source version accounted for by `ops` (or by `full`) */
    this.known = source.version;
    /** @type {Op[]} */
    this.ops = [];
    /** replace the whole data at the next flush */
    this.full = true;
  }

  /**
   * @param {Record<string, any>} msg a decoded hub message
   * @returns {boolean} whether it changed this source (a flush is due)
   */
  message(msg) {
    if (msg.source !== this.source.id) return false;
    const v = this.source.version;
    if (v === this.known) return false; // not applied (a duplicate, or no such source)
    const next = v === this.known + 1;
    this.known = v;
    if (this.full || !next || this.ops.length >= MAX_OPS) {
      this.ops = [];
      this.full = true;
      return true;
    }
    if (msg.type === "stream") {
      this.ops.push({ kind: "stream", data: toBokehData(msg.data), rollover: msg.rollover ?? null });
    } else if (msg.type === "source_patch") {
      this.ops.push({ kind: "patch", patches: msg.patches });
    } else {
      this.ops = [];
      this.full = true; // source_replace, or anything new: take the whole data
    }
    return true;
  }

  /**
   * Apply what changed since the last flush to each BokehJS source.
   * @param {{data: Record<string, any>, stream: Function, patch: Function}[]} targets
   */
  flush(targets) {
    if (this.source.version !== this.known) {
      this.known = this.source.version;
      this.full = true;
    }
    const ops = mergeOps(this.ops);
    const full = this.full;
    this.ops = [];
    this.full = false;
    for (const cds of targets) {
      if (!full) {
        try {
          for (const op of ops) {
            if (op.kind === "stream") {
              cds.stream(op.data, op.rollover ?? undefined);
            } else {
              cds.patch(toBokehPatches(op.patches, cds.data));
            }
          }
        } catch (err) {
          console.warn("wsbridge: a Bokeh source update failed; replacing its data", err);
        }
      }
      if (full || dataLength(cds.data) !== this.source.length) {
        cds.data = toBokehData(this.source.data);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// loading BokehJS

/** The BokehJS bundles a figure may ask for beyond `bokeh` (wsbridge/plot.py `BUNDLES`). */
export const EXTRA_BUNDLES = ["bokeh-gl", "bokeh-widgets", "bokeh-tables", "bokeh-mathjax"];

/** @type {Map<string, Promise<void>>} script URL -> its loading */
const scripts = new Map();

/**
 * Add a classic `<script>` once per page.
 * @param {string} src
 * @returns {Promise<void>}
 */
function loadScript(src) {
  let p = scripts.get(src);
  if (p) return p;
  p = new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.async = false;
    script.dataset.wsbridgeBokeh = "";
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`could not load BokehJS from ${src}`));
    document.head.append(script);
  });
  scripts.set(src, p);
  p.catch(() => scripts.delete(src)); // let a later view try again
  return p;
}

/**
 * Load BokehJS once per page (classic scripts: the builds that define
 * `window.Bokeh`), then the extra bundles asked for (WebGL, widgets,
 * tables, MathJax), each once, in Bokeh's order. Names outside
 * `EXTRA_BUNDLES` are ignored: a figure never chooses a script path.
 * A page that already has `window.Bokeh` keeps it.
 * @param {string[]} [bundles]
 * @param {string} [base] the directory serving bokeh.min.js
 * @returns {Promise<any>} the Bokeh namespace
 */
export async function loadBokeh(bundles = [], base = BOKEH_BASE) {
  const g = /** @type {any} */ (globalThis);
  if (!g.Bokeh?.embed) await loadScript(new URL("bokeh.min.js", base).href);
  if (!g.Bokeh?.embed) throw new Error("bokeh.min.js defined no Bokeh");
  for (const name of EXTRA_BUNDLES) {
    if (bundles.includes(name)) await loadScript(new URL(`${name}.min.js`, base).href);
  }
  return g.Bokeh;
}

// ---------------------------------------------------------------------------
// the view

/**
 * Plot: embeds the figure, then feeds its tied sources. The figure is
 * rebuilt when `figure` changes (`Plot.refresh()` in Python); source
 * changes never rebuild it. `data-wsbridge-ready` is set
 * once BokehJS has drawn the figure (for tests and curious users).
 * @param {ViewContext} ctx
 */
function plotView({ model, el, client, listen }) {
  const host = document.createElement("div");
  host.className = "wsbridge-plot-host";
  el.append(host);
  const scheduler = defaultScheduler();
  /** @type {Map<string, {src: Source, feed: Feed, targets: any[]}>} */
  let feeds = new Map();
  /** @type {any} */
  let views = null;
  /** @type {any} */
  let bokehDoc = null;
  let generation = 0;
  let destroyed = false;

  const flush = frameThrottle(() => {
    for (const { feed, targets } of feeds.values()) if (targets.length) feed.flush(targets);
  }, scheduler);

  /** @param {Record<string, any>} msg */
  const onMessage = (msg) => {
    if (msg.type === "snapshot") {
      flush.call(); // versions moved: each feed replaces its data
      return;
    }
    if (typeof msg.source !== "string") return;
    const entry = feeds.get(msg.source);
    if (entry && entry.feed.message(msg)) flush.call();
  };
  const onChange = () => flush.call();

  const teardown = () => {
    flush.cancel();
    for (const { src } of feeds.values()) src.off("change", onChange);
    feeds = new Map();
    if (views) {
      for (const v of views.roots ?? []) {
        try {
          v.remove();
        } catch {
          // a half-built view; nothing more to free
        }
      }
      views.clear?.();
    }
    forgetDocument(bokehDoc);
    views = null;
    bokehDoc = null;
    host.replaceChildren();
    delete el.dataset.wsbridgeReady;
    delete el.dataset.wsbridgeError;
  };

  const build = async () => {
    const mine = ++generation;
    teardown();
    const item = model.get("figure");
    if (!item || typeof item !== "object" || !item.doc) return;
    let Bokeh;
    try {
      const bundles = model.get("bundles");
      Bokeh = await loadBokeh(Array.isArray(bundles) ? bundles.map(String) : []);
    } catch (err) {
      if (mine === generation && !destroyed) showError(el, host, String(/** @type {Error} */ (err).message));
      return;
    }
    if (mine !== generation || destroyed) return;
    const wanted = String(model.get("bokeh_version") ?? "");
    if (wanted && Bokeh.version && majorMinor(wanted) !== majorMinor(Bokeh.version)) {
      console.warn(`wsbridge: the figure was written by Bokeh ${wanted}, the page has BokehJS ${Bokeh.version}`);
    }
    const target = document.createElement("div");
    host.replaceChildren(target);
    // a copy (embed_item may keep what it is given), holding the sources'
    // current data; their feeds collect what changes while BokehJS builds
    const copy = JSON.parse(JSON.stringify(item));
    /** @type {Record<string, string>} */
    const ids = model.get("source_ids") ?? {};
    for (const sid of new Set(Object.values(ids))) {
      const src = client.source(sid);
      feeds.set(sid, { src, feed: new Feed(src), targets: [] });
      src.on("change", onChange);
    }
    // a source the client does not hold yet keeps the figure's empty columns
    // (its arrival is a version change: the next flush replaces the data)
    fillFigure(copy.doc, ids, (sid) => {
      const src = feeds.get(sid)?.src;
      return src && src.columns.length ? src.data : undefined;
    });
    for (const { feed } of feeds.values()) feed.full = false; // the figure holds the data at feed.known
    let built;
    try {
      built = await Bokeh.embed.embed_item(copy, target);
    } catch (err) {
      console.error("wsbridge: BokehJS could not build the figure", err);
      if (mine === generation && !destroyed) showError(el, host, `Bokeh: ${/** @type {Error} */ (err).message}`);
      return;
    }
    const doc = built?.roots?.[0]?.model?.document ?? null;
    if (mine !== generation || destroyed) {
      for (const v of built?.roots ?? []) v.remove(); // superseded while it was building
      forgetDocument(doc);
      return;
    }
    views = built;
    bokehDoc = doc;
    for (const [cdsId, sid] of Object.entries(ids)) {
      const cds = doc?.get_model_by_id(cdsId);
      if (cds) feeds.get(sid)?.targets.push(cds);
    }
    // what changed while BokehJS was building
    for (const { feed, targets } of feeds.values()) if (targets.length) feed.flush(targets);
    el.dataset.wsbridgeReady = "true";
  };

  client.on("message", onMessage);
  // `Plot.refresh()` sends sources, source_ids and bundles before figure
  // (and the figure JSON names the tied sources, so it changes with them):
  // rebuilding on `figure` alone builds once per refresh
  listen(model, "change:figure", () => void build());
  void build();
  return () => {
    destroyed = true;
    generation++;
    client.off("message", onMessage);
    teardown();
  };
}

/**
 * Drop a BokehJS document from `Bokeh.documents` (every embed adds one; a
 * figure rebuilt by `refresh()` must not leave the old one behind).
 * @param {any} doc
 */
function forgetDocument(doc) {
  const docs = /** @type {any} */ (globalThis).Bokeh?.documents;
  if (!doc || !Array.isArray(docs)) return;
  const i = docs.indexOf(doc);
  if (i >= 0) docs.splice(i, 1);
}

/** @param {string} v */
function majorMinor(v) {
  return v.split(".").slice(0, 2).join(".");
}

/**
 * @param {HTMLElement} el
 * @param {HTMLElement} host
 * @param {string} text
 */
function showError(el, host, text) {
  const note = document.createElement("div");
  note.className = "wsbridge-placeholder";
  note.setAttribute("role", "note");
  note.textContent = text;
  host.replaceChildren(note);
  el.dataset.wsbridgeError = text;
}

/** Views of this module, registered by index.js. */
export const PLOT_VIEWS = { Plot: plotView };
