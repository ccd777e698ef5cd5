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
// follows its wsbridge source through a `Feed` (plotfeed.js).
//
// Left out for now: multi-dimensional columns (image glyphs want one
// ndarray per row) and figures with custom Bokeh extensions (their
// JavaScript is not in the bokeh package).
//
// The feed is tested in node (js/test/views/plotfeed.test.js); the view in
// Chromium (tests/test_plot_browser.py).

import { defaultScheduler, frameThrottle } from "./util.js";
import { Feed, fillFigure } from "./plotfeed.js";

/** @typedef {import("./registry.js").ViewContext} ViewContext */
/** @typedef {import("../client/source.js").Source} Source */

/** Where BokehJS is served: `<hub>/static/bokeh/`, one folder up from this module's. */
export const BOKEH_BASE = new URL("../bokeh/", import.meta.url).href;

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
      return src && src.columns.length ? src.wireData : undefined;
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
