// ipywidgets' layout and style on a view: a model's `_layout` (CSS for the
// view's root element) and `_style` (ipywidgets style attributes and
// `button_style`/`bar_style`/`box_style`), wsbridge/widgets/ipystyle.py.
//
// Values come from the document, so they are untrusted strings: a property
// outside the allow-list or a value that `safeCss` refuses is skipped, and
// everything is applied with `style.setProperty` (never as CSS text), so no
// `;`, `{`, `url(...)` or comment can reach a stylesheet. Called by the
// registry for every view whose model carries `_layout` or `_style`.

/** @typedef {import("./registry.js").ViewContext} ViewContext */

/** CSS properties `_layout` may set on a view's root element. */
export const LAYOUT_PROPERTIES = Object.freeze(
  new Set(
    (
      "width height min-width max-width min-height max-height margin padding border-top border-right " +
      "border-bottom border-left display flex flex-flow align-items align-content align-self justify-content " +
      "justify-items overflow order visibility top right bottom left object-fit object-position grid-area " +
      "grid-row grid-column grid-template-columns grid-template-rows grid-template-areas grid-auto-columns " +
      "grid-auto-rows grid-auto-flow gap"
    ).split(" "),
  ),
);

const FUNCTIONS = new Set(["calc", "min", "max", "clamp", "rgb", "rgba", "hsl", "hsla", "repeat", "minmax", "fit-content", "var"]);

/**
 * Whether `value` is a CSS value to let through: plain tokens only (letters,
 * digits, spaces, `# % . , ( ) + - * / " ' _`), at most 200 characters, no
 * comment, and no function but calc, min, max, clamp, rgb(a), hsl(a),
 * repeat, minmax, fit-content and var: so no `url(...)`, `image-set(...)`,
 * `expression(...)`, and no `;`, `{`, `}`, `\`, `!`, `<`, `@`.
 * Mirrors `safe_css` in wsbridge/widgets/ipystyle.py.
 * @param {unknown} value
 * @returns {value is string}
 */
export function safeCss(value) {
  if (typeof value !== "string" || value.trim() === "" || value.length > 200) return false;
  if (!/^[A-Za-z0-9\s#%.,()+\-*/"'_]*$/u.test(value) || value.includes("/*")) return false;
  for (const m of value.matchAll(/([A-Za-z_-][A-Za-z0-9_-]*)\s*\(/gu)) if (!FUNCTIONS.has(m[1].toLowerCase())) return false;
  return true;
}

/** The colours of ipywidgets' `button_style` / `bar_style` / `box_style` names. */
const LOOKS = /** @type {Record<string, string>} */ ({
  primary: "#1976d2",
  success: "#388e3c",
  info: "#0097a7",
  warning: "#f57c00",
  danger: "#d32f2f",
});

/**
 * Where each `_style` key goes: [selector inside the view (`""`: the root), CSS property].
 * @type {Record<string, [string, string][]>}
 */
const STYLE_TARGETS = {
  description_width: [
    [":scope > label, :scope > .wsbridge-label", "width"],
    [":scope > label, :scope > .wsbridge-label", "flex"],
    [":scope > label, :scope > .wsbridge-label", "display"],
  ],
  button_color: [["button", "background-color"]],
  bar_color: [["progress", "accent-color"]],
  handle_color: [["input[type=range]", "accent-color"]],
  text_color: [["", "color"], ["button, input, select, textarea", "color"]],
  background: [["", "background"], ["input, select, textarea", "background"]],
  font_weight: [["", "font-weight"], ["button, input, select, textarea", "font-weight"]],
  font_size: [["", "font-size"], ["button, input, select, textarea", "font-size"]],
  font_family: [["", "font-family"], ["button, input, select, textarea", "font-family"]],
  font_style: [["", "font-style"], ["button, input, select, textarea", "font-style"]],
  font_variant: [["", "font-variant"], ["button, input, select, textarea", "font-variant"]],
  text_decoration: [["", "text-decoration"], ["button, input, select, textarea", "text-decoration"]],
};

/**
 * The [selector, property, value] triples a model's `_layout` and `_style` ask for,
 * checked (pure: tested in node).
 * @param {unknown} layout
 * @param {unknown} style
 * @returns {[string, string, string][]}
 */
export function styleRules(layout, style) {
  /** @type {[string, string, string][]} */
  const out = [];
  if (layout && typeof layout === "object") {
    // sizes include borders and padding, as in ipywidgets (.jupyter-widgets)
    if (Object.keys(layout).length) out.push(["", "box-sizing", "border-box"]);
    for (const [prop, value] of Object.entries(layout)) {
      if (LAYOUT_PROPERTIES.has(prop) && safeCss(value)) out.push(["", prop, value]);
    }
  }
  if (style && typeof style === "object") {
    const s = /** @type {Record<string, unknown>} */ (style);
    for (const [key, value] of Object.entries(s)) {
      const targets = STYLE_TARGETS[key];
      if (!targets || !safeCss(value)) continue;
      for (const [sel, prop] of targets) {
        const v = prop === "flex" ? `0 0 ${value}` : prop === "display" ? "inline-block" : value;
        out.push([sel, prop, v]);
      }
    }
    for (const [key, sel, prop] of [
      ["button_style", "button", "background-color"],
      ["bar_style", "progress", "accent-color"],
      ["box_style", "", "border-color"],
    ]) {
      const colour = typeof s[key] === "string" ? LOOKS[/** @type {string} */ (s[key])] : undefined;
      if (!colour) continue;
      out.push([sel, prop, colour]);
      if (key === "button_style") out.push([sel, "color", "#fff"]);
      if (key === "box_style") out.push([sel, "border", `1px solid ${colour}`]);
    }
  }
  return out;
}

/**
 * Keep the view's elements styled as its model's `_layout`/`_style` say.
 * What it set and no longer applies goes back to the view's own value.
 * @param {ViewContext} ctx
 */
export function applyStyles({ model, el, listen }) {
  /** @type {Map<HTMLElement, Map<string, string>>} element -> property -> the view's own value */
  let applied = new Map();
  const sync = () => {
    /** @type {Map<HTMLElement, Map<string, string>>} */
    const next = new Map();
    for (const [sel, prop, value] of styleRules(model.get("_layout"), model.get("_style"))) {
      const targets = sel === "" ? [el] : /** @type {HTMLElement[]} */ (Array.from(el.querySelectorAll(sel)));
      for (const target of targets) {
        let props = next.get(target);
        if (!props) next.set(target, (props = new Map()));
        const own = applied.get(target)?.get(prop) ?? target.style.getPropertyValue(prop);
        props.set(prop, own);
        target.style.setProperty(prop, value);
      }
    }
    for (const [target, props] of applied) {
      for (const [prop, own] of props) {
        if (next.get(target)?.has(prop)) continue;
        if (own) target.style.setProperty(prop, own);
        else target.style.removeProperty(prop);
      }
    }
    applied = next;
  };
  listen(model, "change", sync);
  sync();
}
