// The Output view (an ipywidgets Output, wsbridge/widgets/ipyoutput.py) and
// the HTML sanitiser it uses.
//
// Each item of `outputs` is drawn safely: stream, plain text, errors and
// notes as text (textContent), Markdown by markdown.js, HTML by
// `sanitizeHtml` (parsed by DOMParser into an inert document, then rebuilt
// with createElement from an allow-list of tags and attributes: no script,
// no event handler, no style element, links through `safeHref`, images only
// from `data:image/...`, inline styles through `safeCss`), and images from
// their bytes as `blob:` URLs (revoked when replaced). Redrawn at most once
// per animation frame, so a `clear_output(wait=True)` followed by new
// outputs never flashes an empty area.

import { renderMarkdown, safeHref } from "./markdown.js";
import { safeCss } from "./styles.js";
import { frameThrottle } from "./util.js";
import { h, str } from "./dom.js";

/** @typedef {import("./registry.js").ViewContext} ViewContext */
/** @typedef {import("./registry.js").View} View */

/** Tags kept from HTML output (anything else is dropped, its text kept). */
export const HTML_TAGS = Object.freeze(
  new Set(
    (
      "a abbr b blockquote br caption cite code col colgroup dd del details dfn div dl dt em figcaption figure " +
      "h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q s samp small span strong sub summary sup " +
      "table tbody td tfoot th thead tr u ul var"
    ).split(" "),
  ),
);

/** Tags dropped with everything inside them. */
const DROP = new Set(["script", "style", "template", "iframe", "object", "embed", "noscript", "svg", "math", "frame", "frameset", "title", "head", "link", "meta", "base", "form", "textarea", "select", "button", "input"]);

/** Attributes kept (per tag, "*" for every tag); values are checked below. */
const ATTRS = /** @type {Record<string, string[]>} */ ({
  "*": ["title", "class", "style", "align", "valign", "lang", "dir"],
  a: ["href"],
  img: ["src", "alt", "width", "height"],
  td: ["colspan", "rowspan"],
  th: ["colspan", "rowspan", "scope"],
  col: ["span"],
  colgroup: ["span"],
  ol: ["start"],
});

/** CSS properties an inline `style` attribute of HTML output may set. */
const INLINE_CSS = new Set(
  (
    "color background-color text-align vertical-align font-weight font-style font-size font-family " +
    "text-decoration white-space padding padding-left padding-right padding-top padding-bottom margin " +
    "border border-top border-bottom border-left border-right border-collapse width min-width max-width height"
  ).split(" "),
);

const DATA_IMAGE = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$/u;

/**
 * A `style` attribute's declarations that pass `safeCss`, as [property, value].
 * @param {string} style
 * @returns {[string, string][]}
 */
export function inlineStyles(style) {
  /** @type {[string, string][]} */
  const out = [];
  for (const decl of style.split(";")) {
    const at = decl.indexOf(":");
    if (at < 0) continue;
    const prop = decl.slice(0, at).trim().toLowerCase();
    const value = decl.slice(at + 1).trim();
    if (INLINE_CSS.has(prop) && safeCss(value)) out.push([prop, value]);
  }
  return out;
}

/**
 * Copy the allowed parts of an (inert) parsed node into `doc`'s elements.
 * Pure apart from `doc`: works on anything node-shaped (tested in node).
 * @param {any} node a DOM node of the parsed, inert document
 * @param {Document} doc where to create the copies
 * @param {number} [depth]
 * @returns {Node[]}
 */
export function cleanNode(node, doc, depth = 0) {
  if (node.nodeType === 3) return [doc.createTextNode(node.nodeValue ?? "")];
  if (node.nodeType !== 1 || depth > 64) return [];
  const tag = String(node.tagName).toLowerCase();
  if (DROP.has(tag)) return [];
  const kids = Array.from(/** @type {any[]} */ (node.childNodes ?? [])).flatMap((c) => cleanNode(c, doc, depth + 1));
  if (!HTML_TAGS.has(tag)) return kids;
  const el = doc.createElement(tag);
  const allowed = [...ATTRS["*"], ...(ATTRS[tag] ?? [])];
  for (const attr of Array.from(/** @type {any[]} */ (node.attributes ?? []))) {
    const name = String(attr.name).toLowerCase();
    const value = String(attr.value);
    if (!allowed.includes(name)) continue;
    if (name === "href") {
      const href = safeHref(value);
      if (href === null) continue;
      el.setAttribute("href", href);
      el.setAttribute("rel", "noopener noreferrer");
      el.setAttribute("target", "_blank");
    } else if (name === "src") {
      if (DATA_IMAGE.test(value)) el.setAttribute("src", value);
    } else if (name === "style") {
      for (const [prop, v] of inlineStyles(value)) /** @type {HTMLElement} */ (el).style.setProperty(prop, v);
    } else if (name === "class") {
      // only our own table look applies; page classes cannot be borrowed
      const keep = value.split(/\s+/u).filter((c) => c === "dataframe");
      if (keep.length) el.setAttribute("class", "wsbridge-dataframe");
    } else {
      el.setAttribute(name, value);
    }
  }
  el.append(...kids);
  return [el];
}

/**
 * Sanitised DOM for untrusted HTML (see the module comment).
 * @param {string} html
 * @param {Document} [doc]
 * @returns {DocumentFragment}
 */
export function sanitizeHtml(html, doc = globalThis.document) {
  const parsed = new DOMParser().parseFromString(String(html), "text/html");
  const frag = doc.createDocumentFragment();
  for (const child of Array.from(parsed.body.childNodes)) frag.append(...cleanNode(child, doc));
  return frag;
}

const STYLE_ID = "wsbridge-output-style";
const CSS = `
.wsbridge-output { display: flex; flex-direction: column; gap: 0.25em; min-width: 0; }
.wsbridge-output-stream, .wsbridge-output-text, .wsbridge-output-error {
  margin: 0; white-space: pre-wrap; word-break: break-word; font-family: ui-monospace, monospace; font-size: 0.9em; }
.wsbridge-output-stderr, .wsbridge-output-error { background: #fdd; color: #600; padding: 0.25em 0.5em; }
.wsbridge-output-note { color: #666; font-style: italic; font-size: 0.85em; }
.wsbridge-output-html { overflow-x: auto; }
.wsbridge-output img { max-width: 100%; height: auto; }
table.wsbridge-dataframe { border-collapse: collapse; font-size: 0.9em; font-variant-numeric: tabular-nums; }
table.wsbridge-dataframe th, table.wsbridge-dataframe td { padding: 0.2em 0.6em; border-bottom: 1px solid #ddd; text-align: right; }
table.wsbridge-dataframe thead th { border-bottom: 1px solid #999; }
`;

function addStyle() {
  if (document.getElementById(STYLE_ID)) return;
  const style = h("style");
  style.id = STYLE_ID;
  style.textContent = CSS;
  document.head.append(style);
}

/**
 * A key for an image's bytes (FNV-1a over all of them), so a redraw reuses
 * the blob URL of an unchanged image instead of reloading it.
 * @param {string} mime
 * @param {ArrayBufferView} bytes
 */
export function imageKey(mime, bytes) {
  const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hash = 0x811c9dc5;
  for (let i = 0; i < u8.length; i++) hash = Math.imul(hash ^ u8[i], 0x01000193);
  return `${mime} ${u8.length} ${hash >>> 0}`;
}

/**
 * What a redraw reuses and collects: image blob URLs by key, and the views
 * of displayed widgets by model id (`was` before it, `now` after).
 * @typedef {object} Drawn
 * @property {Map<string, string>} urls
 * @property {Map<string, View>} views
 */

/**
 * One item as DOM.
 * @param {any} item
 * @param {Drawn} was
 * @param {Drawn} now
 * @param {(id: string) => View} child
 * @returns {HTMLElement}
 */
function drawItem(item, was, now, child) {
  const kind = item && typeof item === "object" ? str(item.kind) : "";
  if (kind === "widget" && typeof item.model === "string") {
    const view = now.views.get(item.model) ?? was.views.get(item.model) ?? child(item.model);
    now.views.set(item.model, view);
    return view.el;
  }
  if (kind === "stream" || kind === "text" || kind === "error") {
    const pre = h("pre", `wsbridge-output-${kind}`);
    if (kind === "stream" && item.name === "stderr") pre.classList.add("wsbridge-output-stderr");
    pre.textContent = str(item.text);
    return pre;
  }
  if (kind === "markdown") {
    const div = h("div", "wsbridge-output-markdown");
    div.append(renderMarkdown(str(item.text)));
    return div;
  }
  if (kind === "html") {
    const div = h("div", "wsbridge-output-html");
    div.append(sanitizeHtml(str(item.text)));
    return div;
  }
  if (kind === "image" && ArrayBuffer.isView(item.data) && /^image\/(png|jpeg|gif|svg\+xml)$/u.test(str(item.mime))) {
    const img = h("img");
    const bytes = /** @type {ArrayBufferView} */ (item.data);
    const key = imageKey(item.mime, bytes);
    const url = now.urls.get(key) ?? was.urls.get(key) ?? URL.createObjectURL(new Blob([/** @type {any} */ (bytes)], { type: item.mime }));
    now.urls.set(key, url);
    img.src = url;
    img.alt = "";
    if (Number.isInteger(item.width)) img.width = item.width;
    if (Number.isInteger(item.height)) img.height = item.height;
    return img;
  }
  const note = h("div", "wsbridge-output-note");
  note.textContent = kind === "note" ? str(item.text) : `[an output of kind "${kind}" cannot be shown]`;
  return note;
}

/**
 * Output: the items of `outputs`, redrawn once per frame when they change.
 * @param {ViewContext} ctx
 */
function output({ model, el, listen, child }) {
  addStyle();
  el.classList.add("wsbridge-output");
  el.setAttribute("role", "log");
  /** @returns {Drawn} */
  const fresh = () => ({ urls: new Map(), views: new Map() });
  let drawn = fresh();
  /** @param {Drawn} was @param {Drawn} now */
  const release = (was, now) => {
    for (const [key, url] of was.urls) if (now.urls.get(key) !== url) URL.revokeObjectURL(url);
    for (const [id, view] of was.views) if (now.views.get(id) !== view) view.destroy();
  };
  const draw = () => {
    const items = model.get("outputs");
    const now = fresh();
    el.replaceChildren(...(Array.isArray(items) ? items : []).map((item) => drawItem(item, drawn, now, child)));
    release(drawn, now);
    drawn = now;
  };
  const redraw = frameThrottle(draw);
  listen(model, "change:outputs", () => redraw.call());
  draw();
  return () => {
    redraw.cancel();
    release(drawn, fresh());
    drawn = fresh();
  };
}

/** The views of this module, by model type (registered by index.js). */
export const OUTPUT_VIEWS = Object.freeze({ Output: output });
