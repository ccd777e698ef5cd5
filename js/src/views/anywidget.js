// Custom widgets in the anywidget convention (wsbridge/custom.py): the view
// of the `AnyWidget` model type.
//
// The module text travels in the model state (`_esm`) and is imported from a
// `blob:` URL made of it, so a custom widget never loads code from the
// network and always matches the state it is shown with. Loaded modules are
// cached per module text. The module shapes anywidget accepts all work:
//   export default { render, initialize }
//   export default () => ({ render, initialize })   (sync or async)
//   export function render / export function initialize   (legacy)
// `initialize({model})` runs once per model per page (on its first view);
// `render({model, el})` per view; a function either returns (or resolves
// to) is called when the view, or for `initialize` the model's last view, is
// removed. Listeners a widget adds with `model.on` are removed with it too,
// as anywidget does. `msg:custom` buffers reach the widget as DataViews over
// their own ArrayBuffers (what Jupyter gives), so `new Float64Array(b.buffer)`
// works as it does there.
//
// Pure helpers (`widgetFromModule`, `ModuleCache`, `toDataViews`) take no
// DOM and are tested in node; the view itself in Chromium.

/** @typedef {import("./registry.js").ViewContext} ViewContext */
/** @typedef {import("../client/model.js").Model} Model */

/**
 * @typedef {object} AnyWidgetSpec what a custom module provides
 * @property {((ctx: {model: any, el: HTMLElement, experimental: any}) => any) | undefined} render
 * @property {((ctx: {model: any, experimental: any}) => any) | undefined} initialize
 */

/**
 * The widget of an imported module, whatever shape anywidget accepts.
 * @param {any} mod the module namespace object
 * @returns {Promise<AnyWidgetSpec>}
 */
export async function widgetFromModule(mod) {
  let def = mod?.default;
  if (typeof def === "function") def = await def();
  const src = def && typeof def === "object" ? def : mod;
  const render = typeof src?.render === "function" ? src.render.bind(src) : undefined;
  const initialize = typeof src?.initialize === "function" ? src.initialize.bind(src) : undefined;
  if (!render && !initialize) {
    throw new TypeError("the module exports neither render nor initialize (anywidget: export default { render })");
  }
  return { render, initialize };
}

/**
 * `import()` of module text from a blob: URL (the browser's importer).
 * @param {string} text
 * @returns {Promise<any>}
 */
export async function importText(text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/javascript" }));
  try {
    return await import(/* webpackIgnore: true */ url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/**
 * Loaded widgets by module text: a page with a hundred counters imports the
 * module once. A failed import is not cached (a later view retries).
 */
export class ModuleCache {
  /** @param {(text: string) => Promise<any>} [importer] */
  constructor(importer = importText) {
    this._import = importer;
    /** @type {Map<string, Promise<AnyWidgetSpec>>} */
    this._cache = new Map();
  }

  /**
   * @param {string} text
   * @returns {Promise<AnyWidgetSpec>}
   */
  load(text) {
    let p = this._cache.get(text);
    if (!p) {
      p = this._import(text).then(widgetFromModule);
      p.catch(() => this._cache.delete(text));
      this._cache.set(text, p);
    }
    return p;
  }

  get size() {
    return this._cache.size;
  }
}

/**
 * Buffers of a custom message as anywidget widgets expect them: DataViews,
 * each over its own ArrayBuffer (offset 0), copied out of the frame.
 * @param {ArrayBufferView[] | undefined} buffers
 * @returns {DataView[]}
 */
export function toDataViews(buffers) {
  return (buffers ?? []).map((b) => {
    const bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice();
    return new DataView(bytes.buffer);
  });
}

/**
 * anywidget's model interface over a wsbridge Model, remembering every
 * listener the widget adds so that `dispose()` removes them.
 * @param {Model} model
 */
export function widgetModel(model) {
  /** @type {{name: string, cb: Function, wrapped: Function}[]} */
  let subs = [];
  /**
   * @param {string | undefined} name
   * @param {Function | undefined} cb
   */
  const remove = (name, cb) => {
    const keep = [];
    for (const s of subs) {
      if ((name === undefined || name === null || s.name === name) && (cb === undefined || cb === null || s.cb === cb)) {
        model.off(s.name, /** @type {any} */ (s.wrapped));
      } else keep.push(s);
    }
    subs = keep;
  };
  const proxy = {
    get id() {
      return model.id;
    },
    /** @param {string} name */
    get: (name) => model.get(name),
    /**
     * @param {string | Record<string, any>} name
     * @param {any} [value]
     */
    set(name, value) {
      model.set(name, value);
    },
    save_changes: () => model.save_changes(),
    /**
     * @param {any} content
     * @param {unknown} [callbacks]
     * @param {(ArrayBuffer | ArrayBufferView)[]} [buffers]
     */
    send: (content, callbacks, buffers) => model.send(content, callbacks, buffers ?? []),
    /**
     * @param {string} name
     * @param {Function} cb
     */
    on(name, cb) {
      for (const one of String(name).split(/\s+/).filter(Boolean)) {
        const wrapped =
          one === "msg:custom"
            ? (/** @type {any} */ content, /** @type {any} */ buffers) => cb(content, toDataViews(buffers))
            : cb;
        subs.push({ name: one, cb, wrapped });
        model.on(one, /** @type {any} */ (wrapped));
      }
    },
    /**
     * @param {string} [name]
     * @param {Function} [cb]
     */
    off(name, cb) {
      if (typeof name === "string") for (const one of name.split(/\s+/).filter(Boolean)) remove(one, cb);
      else remove(undefined, cb);
    },
    widget_manager: model.widget_manager,
  };
  return { model: proxy, dispose: () => remove(undefined, undefined), count: () => subs.length };
}

const MODULES = new ModuleCache();

/**
 * Per client and model id: the `initialize` of a model runs once for all
 * its views and is cleaned up with the last one.
 * @typedef {{views: number, ready: Promise<void>, cleanup: () => void}} ModelLife
 * @type {WeakMap<object, Map<string, ModelLife>>}
 */
const LIVES = new WeakMap();

/**
 * @param {any} result what `initialize`/`render` returned (a cleanup, maybe async)
 * @returns {Promise<(() => void) | null>}
 */
async function cleanupOf(result) {
  const r = await result;
  return typeof r === "function" ? r : null;
}

/**
 * @param {object} client
 * @param {Model} model
 * @param {AnyWidgetSpec} widget
 * @returns {ModelLife}
 */
function acquire(client, model, widget) {
  let lives = LIVES.get(client);
  if (!lives) LIVES.set(client, (lives = new Map()));
  // per module too: a new `_esm` (a file changed) gets its own initialize
  const key = `${model.id}\0${String(model.get("_esm") ?? "")}`;
  let life = lives.get(key);
  if (life) {
    life.views++;
    return life;
  }
  const wm = widgetModel(model);
  /** @type {(() => void) | null} */
  let userCleanup = null;
  let gone = false;
  const ready = (async () => {
    if (!widget.initialize) return;
    userCleanup = await cleanupOf(widget.initialize({ model: wm.model, experimental: EXPERIMENTAL }));
    if (gone) runCleanup(userCleanup);
  })();
  life = {
    views: 1,
    ready,
    cleanup() {
      gone = true;
      lives.delete(key);
      runCleanup(userCleanup);
      userCleanup = null;
      wm.dispose();
    },
  };
  lives.set(key, life);
  return life;
}

/** @param {(() => void) | null} fn */
function runCleanup(fn) {
  if (!fn) return;
  try {
    fn();
  } catch (err) {
    console.error("wsbridge: a custom widget's cleanup failed", err);
  }
}

/** anywidget's `experimental` render argument; `invoke` needs Jupyter comms. */
const EXPERIMENTAL = Object.freeze({
  invoke: async () => {
    throw new Error("experimental.invoke is not supported by wsbridge; use model.send / msg:custom");
  },
});

/**
 * Put a widget class's CSS in the page once: one <style> per `_anywidget_id`,
 * updated in place when its text differs.
 * @param {string} key
 * @param {string} css
 */
export function injectCss(key, css) {
  if (!css) return;
  const head = document.head ?? document.documentElement;
  let style = Array.from(head.querySelectorAll("style[data-wsbridge-css]")).find(
    (s) => /** @type {HTMLElement} */ (s).dataset.wsbridgeCss === key,
  );
  if (!style) {
    style = document.createElement("style");
    /** @type {HTMLElement} */ (style).dataset.wsbridgeCss = key;
    head.append(style);
  }
  if (style.textContent !== css) style.textContent = css;
}

/**
 * The `AnyWidget` view: load the module, initialize the model once, render.
 * `data-wsbridge-state` on the root says `loading`, `ready` or `error`.
 * @param {ViewContext} ctx
 * @returns {() => void}
 */
function anyWidgetView(ctx) {
  const { model } = ctx;
  let stop = startView(ctx);
  // a changed module (anywidget's FileContents) re-renders; a changed style replaces it
  const reload = () => {
    stop();
    stop = startView(ctx);
  };
  const restyle = () => injectCss(String(model.get("_anywidget_id") ?? model.id), String(model.get("_css") ?? ""));
  model.on("change:_esm", reload);
  model.on("change:_css", restyle);
  return () => {
    model.off("change:_esm", reload);
    model.off("change:_css", restyle);
    stop();
  };
}

/**
 * One render of an `AnyWidget` view with the module it has now.
 * @param {ViewContext} ctx
 * @returns {() => void}
 */
function startView({ model, el, client }) {
  let dead = false;
  /** @type {(() => void)[]} */
  const cleanups = [];
  /** @type {ModelLife | null} */
  let life = null;
  el.replaceChildren();
  el.dataset.wsbridgeState = "loading";
  const esm = String(model.get("_esm") ?? "");
  const key = String(model.get("_anywidget_id") ?? model.id);
  injectCss(key, String(model.get("_css") ?? ""));
  (async () => {
    const widget = await MODULES.load(esm);
    if (dead) return;
    life = acquire(client, model, widget);
    await life.ready;
    if (dead || !widget.render) {
      if (!dead) el.dataset.wsbridgeState = "ready";
      return;
    }
    const wm = widgetModel(model);
    cleanups.push(wm.dispose);
    const cleanup = await cleanupOf(widget.render({ model: wm.model, el, experimental: EXPERIMENTAL }));
    if (cleanup) {
      if (dead) runCleanup(cleanup);
      else cleanups.push(cleanup);
    }
    if (!dead) el.dataset.wsbridgeState = "ready";
  })().catch((err) => {
    console.error(`wsbridge: custom widget ${model.id} failed`, err);
    if (dead) return;
    el.dataset.wsbridgeState = "error";
    const note = document.createElement("div");
    note.className = "wsbridge-placeholder";
    note.setAttribute("role", "alert");
    note.textContent = `custom widget failed: ${err?.message ?? err}`;
    el.append(note);
  });
  return () => {
    dead = true;
    for (const c of cleanups.splice(0).reverse()) runCleanup(c);
    if (life && --life.views === 0) life.cleanup();
    life = null;
  };
}

/** The view registered for the `AnyWidget` model type (index.js). */
export const ANYWIDGET_VIEWS = Object.freeze({ AnyWidget: anyWidgetView });
