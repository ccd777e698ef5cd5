// DOM helpers shared by the view families (controls, display, layout):
// elements, page-unique ids, fields (a label above a control), and a
// property value as text.

let uid = 0;
/** @param {string} prefix an id unique in the page: `wsbridge-<prefix>-<n>` */
export const newId = (prefix) => `wsbridge-${prefix}-${++uid}`;

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, className) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  return e;
}

/** @param {unknown} v */
export const str = (v) => (v === null || v === undefined ? "" : String(v));

/**
 * @param {unknown} v
 * @param {string} fallback
 */
export const numText = (v, fallback) => (typeof v === "number" && Number.isFinite(v) ? String(v) : fallback);

/**
 * Put `els` in `parent` (in order) unless they already are.
 * @param {Element} parent
 * @param {Element[]} els
 */
export function place(parent, els) {
  const current = Array.from(parent.children);
  if (current.length !== els.length || els.some((e, i) => current[i] !== e)) parent.replaceChildren(...els);
}

/**
 * A field's `<label for>` (above its control); `setLabel` gives it its text.
 * @param {string} forId
 */
export function labelFor(forId) {
  const label = h("label", "wsbridge-field-label");
  label.htmlFor = forId;
  return label;
}

/**
 * Set a label's text, hidden when empty. With `field` (the widget's root),
 * that root is marked `wsbridge-nolabel` then, so a Row lines its control
 * up with the controls of labelled fields (wsbridge.css).
 * @param {HTMLElement} label
 * @param {unknown} text
 * @param {HTMLElement} [field]
 */
export function setLabel(label, text, field) {
  label.textContent = str(text);
  label.hidden = label.textContent === "";
  field?.classList.toggle("wsbridge-nolabel", label.hidden);
}

/**
 * Lay a widget's root out as a field: a label (or a head) above the
 * control, 6 px apart. Inline, so it holds in pages without wsbridge.css.
 * @param {HTMLElement} el
 */
export function fieldLayout(el) {
  Object.assign(el.style, { display: "flex", flexDirection: "column", gap: "6px" });
}

/**
 * A field's head: its label at the left, a readout (an `<output>`) at the right.
 * @param {HTMLElement} label
 * @param {HTMLElement} readout
 */
export function fieldHead(label, readout) {
  const head = h("div", "wsbridge-field-head");
  Object.assign(head.style, { display: "flex", justifyContent: "space-between", alignItems: "baseline", gap: "0.5em" });
  readout.classList.add("wsbridge-field-value");
  Object.assign(readout.style, { marginLeft: "auto", fontVariantNumeric: "tabular-nums" });
  head.append(label, readout);
  return head;
}
