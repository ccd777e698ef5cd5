// DOM helpers shared by the view families (controls, display, layout):
// elements, page-unique ids, labels, and a property value as text.

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
 * A `<label for>` whose text follows the model's `label`, hidden when empty.
 * @param {string} forId
 */
export function labelFor(forId) {
  const label = h("label", "wsbridge-label");
  label.htmlFor = forId;
  return label;
}

/**
 * @param {HTMLElement} label
 * @param {unknown} text
 */
export function setLabel(label, text) {
  label.textContent = str(text);
  label.hidden = label.textContent === "";
}
