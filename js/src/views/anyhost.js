// The view of a real Python `anywidget.AnyWidget` (wsbridge/widgets/anyhost.py):
// the `AnyHost` model type. Its module runs unchanged, with anywidget's
// life cycle (packages/anywidget/src/widget.js):
//
// - the module text is an `AnyAsset` model (`_esm` holds its id), shared by
//   every widget with the same text; it is imported once per asset from a
//   `blob:` URL (an http(s) URL as `_esm` is imported as it is, from the
//   page, as anywidget does);
// - `initialize({model})` runs once per model per page, `render({model, el})`
//   per view; a function either returns is called when the view, or for
//   `initialize` the model's last view, goes, and listeners the widget added
//   with `model.on` go with it;
// - a new `_esm` (a module changed on disk) re-runs everything: every view's
//   render cleanup, the initialize cleanup, then initialize and render again
//   (anywidget's hot reload); a new `_css` replaces the style in place;
// - binary values (Python `bytes`, travelling as uint8 arrays) are given to
//   the module as `DataView`s over their own `ArrayBuffer`, as in Jupyter,
//   and the same object on every `get` (modules mutate what they get);
// - `IPY_MODEL_<id>` values name models of the page:
//   `model.widget_manager.get_model(id)` resolves them;
// - `experimental.invoke(name, msg, {buffers, signal})` calls an anywidget
//   command (`@anywidget.experimental.command`) over custom messages.
//
// The conversions (`toModuleValue`) are pure and tested in node; the rest in
// Chromium.

import { importText, injectCss, toDataViews, widgetFromModule } from "./anywidget.js";

/** @typedef {import("./registry.js").ViewContext} ViewContext */
/** @typedef {import("../client/model.js").Model} Model */
/** @typedef {import("./anywidget.js").AnyWidgetSpec} AnyWidgetSpec */

/**
 * @param {any} v
 * @returns {boolean} whether `v` is a typed array (a binary value from Python)
 */
const isTyped = (v) => ArrayBuffer.isView(v) && !(v instanceof DataView);

/**
 * A wire value as an anywidget module expects it: typed arrays become
 * DataViews over their own ArrayBuffer (copied, offset 0); anything without
 * one is returned as it is (the same object, so in-place changes stick).
 * @param {any} value
 * @returns {any}
 */
export function toModuleValue(value) {
  if (value === null || typeof value !== "object") return value;
  if (isTyped(value)) return toDataViews([value])[0];
  if (value instanceof DataView) return value;
  if (!holdsTyped(value, 0)) return value;
  if (Array.isArray(value)) return value.map(toModuleValue);
  /** @type {Record<string, any>} */
  const out = {};
  for (const k of Object.keys(value)) {
    Object.defineProperty(out, k, { value: toModuleValue(value[k]), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * @param {any} value
 * @param {number} depth
 * @returns {boolean}
 */
function holdsTyped(value, depth) {
  if (value === null || typeof value !== "object" || depth > 80) return false;
  if (isTyped(value)) return true;
  if (value instanceof DataView) return false;
  const items = Array.isArray(value) ? value : Object.values(value);
  for (const v of items) if (holdsTyped(v, depth + 1)) return true;
  return false;
}

/**
 * `toModuleValue`, the same result for the same wire object (until the
 * document replaces it), so a module that mutates what `get` returned keeps
 * its change as it would in Jupyter.
 */
export class ValueCache {
  constructor() {
    /** @type {WeakMap<object, any>} */
    this._seen = new WeakMap();
  }

  /**
   * A value the module set itself: `get` gives it back as it is (Jupyter's
   * model keeps what was set, typed arrays included).
   * @param {any} value
   */
  own(value) {
    if (value !== null && typeof value === "object") this._seen.set(value, value);
  }

  /** @param {any} raw */
  get(raw) {
    if (raw === null || typeof raw !== "object") return raw;
    if (this._seen.has(raw)) return this._seen.get(raw);
    const out = toModuleValue(raw);
    this._seen.set(raw, out);
    return out;
  }
}

/**
 * A command's unique id (crypto.randomUUID needs a secure context).
 * @returns {string}
 */
function uuid() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * anywidget's `experimental.invoke`: a command message, resolved by the
 * matching response (anywidget's Python `@experimental.command`).
 * @param {any} model the module's model proxy
 * @param {string} name
 * @param {any} [msg]
 * @param {{buffers?: DataView[], signal?: AbortSignal}} [options]
 * @returns {Promise<[any, DataView[]]>}
 */
function invoke(model, name, msg, options = {}) {
  const id = uuid();
  const signal = options.signal ?? AbortSignal.timeout(3000);
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    /**
     * @param {any} content
     * @param {DataView[]} buffers
     */
    const handler = (content, buffers) => {
      if (content?.id !== id) return;
      model.off("msg:custom", handler);
      resolve([content.response, buffers]);
    };
    signal.addEventListener("abort", () => {
      model.off("msg:custom", handler);
      reject(signal.reason);
    });
    model.on("msg:custom", handler);
    model.send({ id, kind: "anywidget-command", name, msg }, undefined, options.buffers ?? []);
  });
}

/** Per client and model id: the values given to modules (`ValueCache`). */
const VALUES = new WeakMap();

/**
 * @param {any} client
 * @param {string} id
 * @returns {ValueCache}
 */
function valuesOf(client, id) {
  let all = VALUES.get(client);
  if (!all) VALUES.set(client, (all = new Map()));
  let v = all.get(id);
  if (!v) all.set(id, (v = new ValueCache()));
  return v;
}

/**
 * The module's model: anywidget's API over `model`, every listener
 * remembered so that `dispose()` removes them.
 * @param {any} client
 * @param {Model} model
 * @returns {{model: any, dispose: () => void}}
 */
function makeProxy(client, model) {
  const values = valuesOf(client, model.id);
  /** @type {{name: string, cb: Function, wrapped: (...a: any[]) => void}[]} */
  let subs = [];
  /**
   * @param {string | null | undefined} name
   * @param {Function | null | undefined} cb
   */
  const remove = (name, cb) => {
    subs = subs.filter((s) => {
      const hit = (name == null || s.name === name) && (cb == null || s.cb === cb);
      if (hit) model.off(s.name, s.wrapped);
      return !hit;
    });
  };
  /** @type {any} */
  const proxy = {
    get id() {
      return model.id;
    },
    /** @type {Record<string, any>} what the last change event changed (Backbone) */
    changed: {},
    /** @param {string} name */
    get: (name) => {
      if (name === "_esm" || name === "_css") {
        const id = model.get(name);
        return id ? client.model(id).get("text") : id;
      }
      return values.get(model.get(name));
    },
    /**
     * @param {string | Record<string, any>} name
     * @param {any} [value]
     */
    set(name, value) {
      if (typeof name === "string") values.own(value);
      else if (name && typeof name === "object") for (const v of Object.values(name)) values.own(v);
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
        /** @type {(...a: any[]) => void} */
        let wrapped;
        if (one === "msg:custom") wrapped = (content, buffers) => cb(content, toDataViews(buffers));
        else if (one.startsWith("change:")) {
          const key = one.slice(7);
          wrapped = (_m, _v, info) => {
            const value = proxy.get(key);
            proxy.changed = { [key]: value }; // Backbone's `model.changed` (Altair reads it)
            cb(proxy, value, info);
          };
        } else if (one === "change") wrapped = (_m, info) => cb(proxy, info);
        else wrapped = (...args) => cb(...args);
        subs.push({ name: one, cb, wrapped });
        model.on(one, wrapped);
      }
    },
    /**
     * @param {string | null} [name]
     * @param {Function | null} [cb]
     */
    off(name, cb) {
      if (typeof name === "string") for (const one of name.split(/\s+/).filter(Boolean)) remove(one, cb);
      else remove(undefined, cb);
    },
    widget_manager: Object.freeze({
      /** @param {string} id */
      get_model: async (id) => {
        const target = client.model(String(id).replace(/^IPY_MODEL_/, ""));
        if (!target.exists) throw new Error(`wsbridge: no model ${id} in this document`);
        return target.type === "AnyHost" ? makeProxy(client, target).model : target;
      },
    }),
  };
  return { model: proxy, dispose: () => remove(undefined, undefined) };
}

/**
 * Per client and model id: the loaded widget, its initialize, its views.
 * @type {WeakMap<object, Map<string, Runtime>>}
 */
const RUNTIMES = new WeakMap();

/** Loaded modules by asset id (an asset's text never changes). */
const MODULES = new Map();

/**
 * @param {any} client
 * @param {string} esm the `_esm` property: an asset id
 * @returns {Promise<AnyWidgetSpec>}
 */
function loadModule(client, esm) {
  const asset = client.model(esm);
  const text = String(asset.get("text") ?? "");
  const key = asset.exists ? `asset:${esm}` : `text:${esm}`;
  let p = MODULES.get(key);
  if (!p) {
    const source = asset.exists ? text : esm;
    const isHref = /^https?:\/\//.test(source.trim()) && !source.trim().includes("\n");
    p = (isHref ? import(/* webpackIgnore: true */ source.trim()) : importText(source)).then(widgetFromModule);
    p.catch(() => MODULES.delete(key));
    MODULES.set(key, p);
  }
  return p;
}

/** @param {(() => any) | null | undefined} fn */
async function runCleanup(fn) {
  if (typeof fn !== "function") return;
  try {
    await fn();
  } catch (err) {
    console.error("wsbridge: an anywidget's cleanup failed", err);
  }
}

/** One model's life in one page (anywidget's `Runtime`). */
class Runtime {
  /**
   * @param {any} client
   * @param {Model} model
   * @param {() => void} gone called when the last view left
   */
  constructor(client, model, gone) {
    this.client = client;
    this.model = model;
    this._gone = gone;
    /** @type {Set<Mount>} */
    this.views = new Set();
    /** @type {{dispose: () => void, cleanup: (() => any) | null} | null} */
    this._init = null;
    /** @type {Promise<AnyWidgetSpec | null>} */
    this.ready = Promise.resolve(null);
    this._generation = 0;
    this._onEsm = () => this.reload();
    this._onCss = () => this.css();
    model.on("change:_esm", this._onEsm);
    model.on("change:_css", this._onCss);
    this.css();
    this.reload();
  }

  /** Put the model's CSS in the page (one style per `_anywidget_id`). */
  css() {
    const id = this.model.get("_css");
    const text = id ? String(this.client.model(id).get("text") ?? "") : "";
    injectCss(String(this.model.get("_anywidget_id") ?? this.model.id), text);
  }

  /** (Re)load the module and run `initialize`, then render every view again. */
  reload() {
    const generation = ++this._generation;
    for (const view of this.views) view.unrender();
    const previous = this._init;
    this._init = null;
    this.ready = (async () => {
      if (previous) {
        await runCleanup(previous.cleanup);
        previous.dispose();
      }
      const widget = await loadModule(this.client, String(this.model.get("_esm") ?? ""));
      if (generation !== this._generation) return null;
      const ctx = makeProxy(this.client, this.model);
      const life = { dispose: ctx.dispose, cleanup: /** @type {(() => any) | null} */ (null) };
      this._init = life;
      if (widget.initialize) {
        const result = await widget.initialize({ model: ctx.model, experimental: experimental(ctx.model) });
        life.cleanup = typeof result === "function" ? result : null;
      }
      if (generation !== this._generation) {
        if (this._init !== life) void runCleanup(life.cleanup); // reloaded or gone meanwhile
        return null;
      }
      return widget;
    })();
    this.ready.catch(() => {});
    for (const view of this.views) view.render();
  }

  /** @param {Mount} view */
  attach(view) {
    this.views.add(view);
    view.render();
  }

  /** @param {Mount} view */
  detach(view) {
    this.views.delete(view);
    view.unrender();
    if (this.views.size > 0) return;
    this._generation++;
    this.model.off("change:_esm", this._onEsm);
    this.model.off("change:_css", this._onCss);
    const life = this._init;
    this._init = null;
    if (life) {
      void runCleanup(life.cleanup);
      life.dispose();
    }
    this._gone();
  }
}

/** @param {any} model */
const experimental = (model) =>
  Object.freeze({
    /**
     * @param {string} name
     * @param {any} [msg]
     * @param {{buffers?: DataView[], signal?: AbortSignal}} [options]
     */
    invoke: (name, msg, options) => invoke(model, name, msg, options),
  });

/**
 * @param {any} client
 * @param {Model} model
 * @returns {Runtime}
 */
function runtimeOf(client, model) {
  let all = RUNTIMES.get(client);
  if (!all) RUNTIMES.set(client, (all = new Map()));
  let rt = all.get(model.id);
  if (!rt) {
    const map = all;
    rt = new Runtime(client, model, () => map.delete(model.id));
    all.set(model.id, rt);
  }
  return rt;
}

/** One view of a hosted widget: its element and its current render. */
class Mount {
  /**
   * @param {Runtime} runtime
   * @param {HTMLElement} el
   */
  constructor(runtime, el) {
    this.runtime = runtime;
    this.el = el;
    this._token = 0;
    /** @type {{dispose: () => void, cleanup: (() => any) | null} | null} */
    this._life = null;
  }

  render() {
    const token = ++this._token;
    const el = this.el;
    el.dataset.wsbridgeState = "loading";
    (async () => {
      const widget = await this.runtime.ready;
      if (token !== this._token || !widget) return;
      if (!widget.render) {
        el.dataset.wsbridgeState = "ready";
        return;
      }
      const ctx = makeProxy(this.runtime.client, this.runtime.model);
      const life = { dispose: ctx.dispose, cleanup: /** @type {(() => any) | null} */ (null) };
      this._life = life;
      const result = await widget.render({ model: ctx.model, el, experimental: experimental(ctx.model) });
      life.cleanup = typeof result === "function" ? result : null;
      if (token !== this._token) {
        void runCleanup(life.cleanup); // unrendered meanwhile
        return;
      }
      el.dataset.wsbridgeState = "ready";
    })().catch((err) => {
      console.error(`wsbridge: anywidget ${this.runtime.model.id} failed`, err);
      if (token !== this._token) return;
      el.dataset.wsbridgeState = "error";
      const note = document.createElement("div");
      note.className = "wsbridge-placeholder";
      note.setAttribute("role", "alert");
      note.textContent = `widget failed: ${err?.message ?? err}`;
      el.append(note);
    });
  }

  unrender() {
    this._token++;
    const life = this._life;
    this._life = null;
    if (life) {
      void runCleanup(life.cleanup);
      life.dispose();
    }
    this.el.replaceChildren();
  }
}

/**
 * The `AnyHost` view.
 * @param {ViewContext} ctx
 * @returns {() => void}
 */
function anyHostView({ model, el, client }) {
  const runtime = runtimeOf(client, model);
  const mount = new Mount(runtime, el);
  runtime.attach(mount);
  return () => runtime.detach(mount);
}

/** The views registered for the hosted anywidget types (index.js). */
export const ANYHOST_VIEWS = Object.freeze({ AnyHost: anyHostView });
