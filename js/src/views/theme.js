// A dashboard's theme (wsbridge/widgets/theme.py, docs/theming.md): light,
// dark or the viewer's system, and an accent colour.
//
// The theme travels as a model of type "Theme" outside the layout.
// `followTheme(client, el)` applies it to an element (the page applies it
// to <html>): `data-wsbridge-theme="auto|light|dark"` selects the colour
// set of wsbridge.css, and the accent becomes the `--wsbridge-accent`
// custom property (through the CSSOM: an invalid colour is ignored, never
// parsed as markup). The server writes the same attributes into the page it
// serves, so this only takes over once the document is live (a change
// from Python, a replaced dashboard).
//
// Views that draw on a canvas (Bokeh plots) ask `colorScheme(el)` which
// colour set applies, and `onSchemeChange` when it may have changed: the
// system switched, or a theme was applied.

/** @typedef {import("./registry.js").Client} Client */
/** @typedef {import("../client/model.js").Model} Model */

/** The model type that carries a document's theme. */
export const THEME_TYPE = "Theme";
/** The modes a theme has; anything else counts as "auto". */
export const MODES = Object.freeze(["auto", "light", "dark"]);
/** Dispatched on `document` after `followTheme` applied a theme. */
export const THEME_EVENT = "wsbridge-theme";

/**
 * The mode of a Theme model's `mode` value ("auto" for anything unknown).
 * @param {unknown} mode
 * @returns {"auto" | "light" | "dark"}
 */
export function themeMode(mode) {
  return /** @type {any} */ (MODES.includes(/** @type {any} */ (mode)) ? mode : "auto");
}

/**
 * Apply the document's Theme model to `el` and keep it applied: on every
 * snapshot and add (a theme added, or the dashboard replaced) and on every
 * change of the model. Without a Theme model, `el` follows the system
 * (its theme attribute and accent are removed).
 * @param {Client} client
 * @param {HTMLElement} el
 * @returns {{destroy: () => void}}
 */
export function followTheme(client, el) {
  /** @type {Model | null} */
  let watched = null;
  const apply = () => {
    if (watched === null) {
      delete el.dataset.wsbridgeTheme;
      el.style.removeProperty("--wsbridge-accent");
    } else {
      el.dataset.wsbridgeTheme = themeMode(watched.get("mode"));
      const accent = watched.get("accent");
      if (typeof accent === "string" && accent.trim() !== "") el.style.setProperty("--wsbridge-accent", accent.trim());
      else el.style.removeProperty("--wsbridge-accent");
    }
    const doc = /** @type {any} */ (globalThis).document;
    if (doc && typeof CustomEvent === "function") doc.dispatchEvent(new CustomEvent(THEME_EVENT));
  };
  const find = () => {
    const id = client.models().find((mid) => client.model(mid).type === THEME_TYPE);
    const next = id === undefined ? null : client.model(id);
    if (next !== watched) {
      watched?.off("change", apply);
      watched = next;
      watched?.on("change", apply);
    }
    apply();
  };
  client.state.on("snapshot", find);
  client.state.on("add", find);
  find();
  return {
    destroy() {
      client.state.off("snapshot", find);
      client.state.off("add", find);
      watched?.off("change", apply);
      watched = null;
    },
  };
}

/**
 * The colour set that applies to `el`: "dark" or "light" (wsbridge.css
 * sets `--wsbridge-scheme`; without the stylesheet, the system's).
 * @param {Element} el
 * @returns {"light" | "dark"}
 */
export function colorScheme(el) {
  const g = /** @type {any} */ (globalThis);
  const own = g.getComputedStyle ? g.getComputedStyle(el).getPropertyValue("--wsbridge-scheme").trim() : "";
  if (own === "dark" || own === "light") return own;
  return g.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

/**
 * Call `cb` when the colour scheme may have changed (the system's
 * preference, or a theme applied by `followTheme`). Returns the unsubscribe.
 * @param {() => void} cb
 * @returns {() => void}
 */
export function onSchemeChange(cb) {
  const g = /** @type {any} */ (globalThis);
  const query = g.matchMedia?.("(prefers-color-scheme: dark)");
  query?.addEventListener?.("change", cb);
  g.document?.addEventListener(THEME_EVENT, cb);
  return () => {
    query?.removeEventListener?.("change", cb);
    g.document?.removeEventListener(THEME_EVENT, cb);
  };
}
