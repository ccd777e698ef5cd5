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
// Every Plot of a client is a root of one BokehJS document (`SharedDocument`),
// so models figures share (ranges, sources, selections) are one JS object.
//
// Left out for now: columns of more than two dimensions (image glyphs want
// one ndarray per row) and figures with custom Bokeh extensions (their
// JavaScript is not in the bokeh package).
//
// The feed is tested in node (js/test/views/plotfeed.test.js); the view in
// Chromium (tests/test_plot_browser.py).

import { defaultScheduler, frameThrottle } from "./util.js";
import { Feed, eachModel, fillFigure } from "./plotfeed.js";
import { colorScheme, onSchemeChange } from "./theme.js";

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
// dark mode

/** The background the Python side's dark theme gives plots (wsbridge/widgets/plot.py
 * `SURFACE`): replaced by the page's `--wsbridge-surface`, so a plot sits on its card. */
export const DARK_SURFACE = "#161b22";

/**
 * Apply a Plot's `dark` overrides (model id -> {attribute: value}) to a
 * figure's document JSON, in place; `surface` replaces `DARK_SURFACE`.
 * Returns how many models changed.
 * @param {any} doc Bokeh's document JSON (a copy: it is changed)
 * @param {Record<string, Record<string, any>>} overrides
 * @param {string} [surface]
 */
export function themeFigure(doc, overrides, surface = DARK_SURFACE) {
  if (!overrides || typeof overrides !== "object") return 0;
  let changed = 0;
  eachModel(doc, (node) => {
    const own = overrides[node.id];
    if (own && typeof own === "object") {
      node.attributes = node.attributes ?? {};
      for (const [name, value] of Object.entries(own)) node.attributes[name] = value === DARK_SURFACE ? surface : value;
      changed++;
    }
  });
  return changed;
}

// ---------------------------------------------------------------------------
// one BokehJS document per client

/**
 * Every Plot of a client is a root of ONE BokehJS document, as the figures
 * would be in one Bokeh document: a model two figures share (a range from
 * `figure(x_range=p1.x_range)`, a ColumnDataSource and its selection, a
 * tool's overlay) is then one JS object, so panning one plot pans the
 * other. Bokeh model ids are unique within one Python process, which is
 * one wsbridge document's producer; a second client (another document) on
 * the page gets a BokehJS document of its own.
 *
 * The document is rendered with `Bokeh.embed.add_document_standalone(doc,
 * el, roots)`, whose `roots` array (root index -> element) we keep in step
 * with the document's roots, so each root added later (`RootAdded`) is
 * drawn in its own Plot's element. Feeds are shared too: one per wsbridge
 * source, feeding each BokehJS ColumnDataSource object once however many
 * plots draw it.
 */
class SharedDocument {
  /** @param {import("./registry.js").Client} client */
  constructor(client) {
    this.client = client;
    /** @type {any} the BokehJS Document */
    this.doc = null;
    /** @type {any} its ViewManager */
    this.views = null;
    /** @type {HTMLElement[]} element of each root, by index (add_document_standalone reads it) */
    this.rootEls = [];
    /** @type {Map<any, HTMLElement>} */
    this.elOf = new Map();
    /** @type {Promise<void> | null} */
    this.opening = null;
    /** @type {Map<string, {src: Source, feed: Feed, targets: Map<any, number>, users: number}>} */
    this.feeds = new Map();
    this.flush = frameThrottle(() => {
      for (const { feed, targets } of this.feeds.values()) if (targets.size) feed.flush([...targets.keys()]);
    }, defaultScheduler());
    /** @param {Record<string, any>} msg */
    this.onMessage = (msg) => {
      if (msg.type === "snapshot") {
        this.flush.call(); // versions moved: each feed replaces its data
        return;
      }
      const entry = typeof msg.source === "string" ? this.feeds.get(msg.source) : undefined;
      if (entry && entry.feed.message(msg)) this.flush.call();
    };
    this.onChange = () => this.flush.call();
    client.on("message", this.onMessage);
  }

  /**
   * The feed of a source, shared by the plots drawing it.
   * @param {string} sid
   */
  acquire(sid) {
    let entry = this.feeds.get(sid);
    if (!entry) {
      const src = this.client.source(sid);
      entry = { src, feed: new Feed(src), targets: new Map(), users: 0 };
      src.on("change", this.onChange);
      this.feeds.set(sid, entry);
    } else if (entry.targets.size) {
      entry.feed.flush([...entry.targets.keys()]); // up to date: a new figure starts from here
    }
    entry.users++;
    return entry;
  }

  /** @param {string} sid */
  release(sid) {
    const entry = this.feeds.get(sid);
    if (!entry || --entry.users > 0) return;
    entry.src.off("change", this.onChange);
    this.feeds.delete(sid);
  }

  /**
   * @param {string} sid
   * @param {any} cds a BokehJS ColumnDataSource to keep in step with source `sid`
   * @param {number} delta 1 to add a plot drawing it, -1 to remove one
   */
  target(sid, cds, delta) {
    const entry = this.feeds.get(sid);
    if (!entry) return;
    const n = (entry.targets.get(cds) ?? 0) + delta;
    if (n > 0) entry.targets.set(cds, n);
    else entry.targets.delete(cds);
  }

  /** @param {any} Bokeh */
  async open(Bokeh) {
    if (this.doc) return;
    this.opening ??= (async () => {
      // BokehJS exports no Document class; every document is one, so an
      // empty one made through the public embed API lends its constructor
      let Doc = Bokeh.documents?.[0]?.constructor;
      if (!Doc) {
        const tmp = document.createElement("div");
        tmp.hidden = true;
        document.body.append(tmp); // embed_item wants its target in the page
        try {
          const empty = { doc: { version: Bokeh.version, title: "", roots: [] }, root_id: "wsbridge-none" };
          const built = await Bokeh.embed.embed_item(empty, tmp);
          const made = Bokeh.documents[Bokeh.documents.length - 1];
          Doc = made.constructor;
          built?.clear?.();
          forgetDocument(made);
        } finally {
          tmp.remove();
        }
      }
      const doc = Doc.from_json({ version: Bokeh.version, title: "", roots: [] });
      this.views = await Bokeh.embed.add_document_standalone(doc, document.createElement("div"), this.rootEls);
      this.doc = doc;
    })();
    await this.opening;
  }

  /**
   * Add a figure's root (its `json_item` doc, data filled) to the shared
   * document, drawn in `target`. Models already in the document keep their
   * state (a range the user panned, a source's data): the figure's copy of
   * them is not applied again.
   * @param {any} itemDoc
   * @param {HTMLElement} target
   * @returns {Promise<any>} the root model
   */
  async add(itemDoc, target) {
    const doc = this.doc;
    const [rootJson] = itemDoc.roots;
    keepExisting(rootJson, (id) => doc.get_model_by_id(id) !== null);
    this.rootEls[doc.roots().length] = target;
    doc.apply_json_patch({ events: [{ kind: "RootAdded", model: rootJson }] }, new Map());
    const model = doc.get_model_by_id(rootJson.id);
    if (!model) throw new Error("BokehJS did not add the figure");
    this.elOf.set(model, target);
    // add_document_standalone draws the new root on its own (asynchronously): wait for its view
    for (let i = 0; i < 1000 && !this.views.get(model); i++) await new Promise((r) => setTimeout(r, 5));
    if (!this.views.get(model)) throw new Error("BokehJS did not draw the figure");
    await new Promise((r) => setTimeout(r, 0)); // its build() runs right after
    return model;
  }

  /** @param {any} model a root added by `add` */
  remove(model) {
    if (!this.doc) return;
    this.doc.remove_root(model);
    this.elOf.delete(model);
    this.rootEls.length = 0;
    for (const root of this.doc.roots()) this.rootEls.push(/** @type {HTMLElement} */ (this.elOf.get(root)));
  }
}

/**
 * In a figure's JSON, a ColumnDataSource the shared document already has
 * loses its `data`: the feed owns it (another plot drew it first). Other
 * shared models take the figure's attributes, which Bokeh writes only
 * where Python set them (a range panned in the page keeps its position
 * unless Python fixed it).
 * @param {any} node
 * @param {(id: string) => boolean} known
 */
function keepExisting(node, known) {
  const stack = [node];
  while (stack.length) {
    const item = stack.pop();
    if (Array.isArray(item)) {
      for (const v of item) if (v !== null && typeof v === "object") stack.push(v);
      continue;
    }
    if (item === null || typeof item !== "object" || ArrayBuffer.isView(item)) continue;
    if (item.type === "object" && item.name === "ColumnDataSource" && item.attributes && known(item.id)) {
      delete item.attributes.data;
    }
    for (const v of Object.values(item)) if (v !== null && typeof v === "object") stack.push(v);
  }
}

/** @type {WeakMap<object, SharedDocument>} */
const SHARED = new WeakMap();

/** @param {import("./registry.js").Client} client */
function sharedFor(client) {
  let shared = SHARED.get(client);
  if (!shared) SHARED.set(client, (shared = new SharedDocument(client)));
  return shared;
}

// ---------------------------------------------------------------------------
// the view

/**
 * Plot: adds the figure to the client's shared BokehJS document, drawn in
 * this view's element; its tied sources are fed by the shared feeds. The
 * figure is rebuilt when `figure` changes (`Plot.refresh()` in Python),
 * and when the page turns dark or light (its `dark` overrides applied or
 * not, see `themeFigure`); source changes never rebuild it.
 * `data-wsbridge-ready` is set once BokehJS has drawn the figure,
 * `data-wsbridge-scheme` says in which colours (for tests and curious users).
 * @param {ViewContext} ctx
 */
function plotView({ model, el, client, listen }) {
  const host = document.createElement("div");
  host.className = "wsbridge-plot-host";
  el.append(host);
  const shared = sharedFor(client);
  /** @type {[string, any][]} (source id, BokehJS ColumnDataSource) pairs this view feeds */
  let fed = [];
  /** @type {string[]} */
  let acquired = [];
  /** @type {any} */
  let root = null;
  let generation = 0;
  let destroyed = false;
  /** @type {string | null} the colour scheme the figure was built in */
  let builtScheme = null;

  const teardown = () => {
    for (const [sid, cds] of fed) shared.target(sid, cds, -1);
    for (const sid of acquired) shared.release(sid);
    fed = [];
    acquired = [];
    if (root) {
      try {
        shared.remove(root);
      } catch {
        // a half-built view; nothing more to free
      }
    }
    root = null;
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
      await shared.open(Bokeh);
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
    // a copy (BokehJS may keep what it is given), holding the sources'
    // current data; the shared feeds collect what changes while it builds
    const copy = JSON.parse(JSON.stringify(item));
    /** @type {Record<string, string>} */
    const ids = model.get("source_ids") ?? {};
    const entries = new Map();
    for (const sid of new Set(Object.values(ids))) {
      entries.set(sid, shared.acquire(sid));
      acquired.push(sid);
    }
    // a source the client does not hold yet keeps the figure's empty columns
    // (its arrival is a version change: the next flush replaces the data)
    fillFigure(copy.doc, ids, (sid) => {
      const src = entries.get(sid)?.src;
      return src && src.columns.length ? src.wireData : undefined;
    });
    for (const entry of entries.values()) if (!entry.targets.size) entry.feed.full = false; // the figure holds the data at feed.known
    const scheme = colorScheme(el);
    builtScheme = scheme;
    if (scheme === "dark") {
      const surface = getComputedStyle(el).getPropertyValue("--wsbridge-surface").trim();
      themeFigure(copy.doc, model.get("dark") ?? {}, surface || DARK_SURFACE);
    }
    el.dataset.wsbridgeScheme = scheme;
    let added;
    try {
      added = await shared.add(copy.doc, target);
    } catch (err) {
      console.error("wsbridge: BokehJS could not build the figure", err);
      if (mine === generation && !destroyed) showError(el, host, `Bokeh: ${/** @type {Error} */ (err).message}`);
      return;
    }
    if (mine !== generation || destroyed) {
      shared.remove(added); // superseded while it was building
      return;
    }
    root = added;
    for (const [cdsId, sid] of Object.entries(ids)) {
      const cds = shared.doc.get_model_by_id(cdsId);
      if (!cds) continue;
      shared.target(sid, cds, 1);
      fed.push([sid, cds]);
    }
    // what changed while BokehJS was building
    for (const { feed, targets } of entries.values()) if (targets.size) feed.flush([...targets.keys()]);
    el.dataset.wsbridgeReady = "true";
  };

  // `Plot.refresh()` sends sources, source_ids and bundles before figure
  // (and the figure JSON names the tied sources, so it changes with them):
  // rebuilding on `figure` alone builds once per refresh
  listen(model, "change:figure", () => void build());
  // the page turned dark or light: rebuild in its colours (if they differ)
  const unscheme = onSchemeChange(() => {
    const dark = model.get("dark");
    if (builtScheme !== null && colorScheme(el) !== builtScheme && dark && Object.keys(dark).length) void build();
  });
  void build();
  return () => {
    destroyed = true;
    generation++;
    unscheme();
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
