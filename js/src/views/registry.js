// The view registry: model type -> view, and drawing a document from its root.
//
// `render(el, client)` draws the layout from the document's root; every view
// follows live changes (property patches, `add` of models, new children,
// snapshots after a reconnection). Text from Python is set with
// `textContent`, never parsed as HTML (docs/security.md "Defaults").
// Every widget's root element carries `data-wsbridge-model="<id>"`
// (docs/protocol.md "Model types").
//
// A view is anywidget-shaped: `render({model, el, ...})`, optionally
// returning a cleanup function, so more types (and anywidget ESM widgets)
// plug in with `registerView(type, view)`. This module knows no view
// family: index.js registers the bundled ones, so the families may import
// from here without an import cycle.

import { applyStyles } from "./styles.js";
import { followLinks } from "./links.js";

/** @typedef {import("../client/connection.js").Connection} Client */
/** @typedef {import("../client/model.js").Model} Model */

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
      // an ipywidget's layout and style (styles.js), after the view's own look
      if (model.get("_layout") !== undefined || model.get("_style") !== undefined) applyStyles(ctx);
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
  const unlink = followLinks(client); // ipywidgets jslink/jsdlink (links.js)
  state.on("root", draw);
  state.on("add", draw);
  state.on("snapshot", draw);
  draw();
  return {
    destroy() {
      unlink();
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
 * Whether a mounted view still fits its model (same type, model present).
 * @param {View} view
 * @param {Client} client
 */
export function fits(view, client) {
  return view.type === client.model(view.id).type;
}
