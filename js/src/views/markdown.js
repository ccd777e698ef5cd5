// A small, safe Markdown renderer for the Markdown widget (display.js).
//
// `parseMarkdown(text)` turns a Markdown subset into a tree of plain
// objects: headings, paragraphs (hard breaks too), emphasis, strong,
// strikethrough, inline code, fenced code blocks, bullet and numbered lists
// (nested), block quotes, horizontal rules, links and autolinks. It never
// interprets HTML: `<script>`, `<img onerror=...>` and friends are text.
// `toDom(tree)` then builds the DOM with `createElement` from a fixed list
// of tags, `createTextNode` for every piece of text and `setAttribute` for a
// fixed list of attributes; `href` only when `safeHref` accepts it (http,
// https, mailto, or relative). There is no `innerHTML` anywhere, so no
// script, event-handler attribute or `javascript:` URL can come out of it.
// Pure apart from `toDom`'s document (tested in node with a stub).

/**
 * @typedef {{tag: string, attrs?: Record<string, string>, children: MdNode[]}} MdElement
 * @typedef {string | MdElement} MdNode
 */

/** The only tags `toDom` creates. */
export const TAGS = Object.freeze(
  new Set(["h1", "h2", "h3", "h4", "h5", "h6", "p", "em", "strong", "del", "code", "pre", "ul", "ol", "li", "a", "blockquote", "hr", "br"]),
);

/** The only attributes `toDom` sets (per tag). */
const ATTRS = Object.freeze(/** @type {Record<string, string[]>} */ ({ a: ["href", "title", "rel", "target"], ol: ["start"] }));

const MAX_DEPTH = 12; // nesting of quotes/lists and of inline emphasis
const MAX_LENGTH = 1_000_000; // longer text is shown verbatim

/**
 * The URL to put in an `href`, or null when it is not safe: only http(s),
 * mailto and relative URLs pass. Tabs and newlines are removed first (the
 * URL parser ignores them, so `java\tscript:` would otherwise run), and
 * leading/trailing spaces and control characters trimmed, exactly as the
 * browser will see it.
 * @param {unknown} url
 * @returns {string | null}
 */
export function safeHref(url) {
  if (typeof url !== "string") return null;
  // eslint-disable-next-line no-control-regex
  const cleaned = url.replace(/[\t\n\r]/gu, "").replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/gu, "");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/u.test(cleaned)) return null;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/u.exec(cleaned);
  if (scheme) return ["http", "https", "mailto"].includes(scheme[1].toLowerCase()) ? cleaned : null;
  // no scheme: relative ("page", "/x", "#top", "?q", "//host/x" is http(s))
  // but a "\" makes some browsers treat "/\host" as "//host"; that is still
  // http(s), so it is harmless.
  return cleaned;
}

// ---------------------------------------------------------------------------
// blocks

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/u;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/u;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/u;
const QUOTE = /^ {0,3}> ?(.*)$/u;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])([ \t]+|$)(.*)$/u;

/** @param {string} line */
const isBlank = (line) => /^[ \t]*$/u.test(line);

/** @param {string} line */
function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line);
}

/**
 * @param {string} tag
 * @param {MdNode[]} children
 * @param {Record<string, string>} [attrs]
 * @returns {MdElement}
 */
const el = (tag, children = [], attrs) => (attrs ? { tag, attrs, children } : { tag, children });

/**
 * Parse Markdown into a tree (see the module comment for the subset).
 * @param {unknown} text
 * @returns {MdNode[]}
 */
export function parseMarkdown(text) {
  const src = typeof text === "string" ? text : text === null || text === undefined ? "" : String(text);
  if (src.length > MAX_LENGTH) return [el("pre", [src])];
  return blocks(src.replace(/\r\n?/gu, "\n").split("\n"), 0);
}

/**
 * @param {string[]} lines
 * @param {number} depth
 * @returns {MdNode[]}
 */
function blocks(lines, depth) {
  /** @type {MdNode[]} */
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      i++;
      continue;
    }
    let m;
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      if (fence[0] === "`" && m[2].includes("`")) {
        // not a fence (CommonMark: a backtick fence's info string has no backtick)
      } else {
        const indent = line.length - line.trimStart().length;
        const body = [];
        i++;
        while (i < lines.length) {
          const close = lines[i].trim();
          if (close.length >= fence.length && close === fence[0].repeat(close.length)) {
            i++;
            break;
          }
          body.push(lines[i].replace(new RegExp(`^ {0,${indent}}`, "u"), ""));
          i++;
        }
        out.push(el("pre", [el("code", body.length ? [body.join("\n")] : [])]));
        continue;
      }
    }
    if ((m = HEADING.exec(line))) {
      out.push(el(`h${m[1].length}`, inline(m[2] ?? "", depth)));
      i++;
      continue;
    }
    if (RULE.test(line)) {
      out.push(el("hr"));
      i++;
      continue;
    }
    if (QUOTE.test(line) && depth < MAX_DEPTH) {
      const body = [];
      while (i < lines.length && !isBlank(lines[i])) {
        const q = QUOTE.exec(lines[i]);
        if (q) body.push(q[1]);
        else if (startsBlock(lines[i])) break;
        else body.push(lines[i]); // a lazy continuation line
        i++;
      }
      out.push(el("blockquote", blocks(body, depth + 1)));
      continue;
    }
    if (ITEM.test(line) && depth < MAX_DEPTH) {
      i = list(lines, i, depth, out);
      continue;
    }
    // a paragraph: up to a blank line or the start of another block
    const para = [line];
    i++;
    while (i < lines.length && !isBlank(lines[i]) && !startsBlock(lines[i])) para.push(lines[i++]);
    out.push(el("p", paragraph(para, depth)));
  }
  return out;
}

/**
 * A list starting at `lines[start]`; appends it to `out`, returns the next line.
 * @param {string[]} lines
 * @param {number} start
 * @param {number} depth
 * @param {MdNode[]} out
 */
function list(lines, start, depth, out) {
  const first = /** @type {RegExpExecArray} */ (ITEM.exec(lines[start]));
  const ordered = /\d/u.test(first[2]);
  const kind = ordered ? first[2].slice(-1) : first[2];
  /** @type {MdElement[]} */
  const items = [];
  let i = start;
  while (i < lines.length) {
    const m = ITEM.exec(lines[i]);
    if (!m || (ordered ? !/\d/u.test(m[2]) || m[2].slice(-1) !== kind : m[2] !== kind)) break;
    const spaces = m[3].length > 4 || m[4] === "" ? 1 : m[3].length;
    const width = m[1].length + m[2].length + spaces;
    const body = [m[3].length > 4 ? " ".repeat(m[3].length - 1) + m[4] : m[4]];
    i++;
    let blankBefore = false;
    let loose = false;
    while (i < lines.length) {
      const line = lines[i];
      if (isBlank(line)) {
        blankBefore = true;
        loose = true;
        body.push("");
        i++;
        continue;
      }
      const indent = line.length - line.trimStart().length;
      if (indent >= width) {
        body.push(line.slice(width));
      } else if (!blankBefore && !startsBlock(line)) {
        body.push(line.trimStart()); // a lazy continuation of the item's paragraph
      } else {
        break;
      }
      blankBefore = false;
      i++;
    }
    while (body.length && body[body.length - 1] === "") body.pop();
    loose = loose && body.includes("");
    const content = blocks(body, depth + 1);
    // a tight item (no blank line inside): its paragraphs show as inline content
    const children = loose
      ? content
      : content.flatMap((node) => (typeof node !== "string" && node.tag === "p" ? node.children : [node]));
    items.push(el("li", children));
    // a blank line then something that is not an item ends the list
    if (i < lines.length && !ITEM.test(lines[i])) break;
  }
  if (ordered) {
    const n = Number.parseInt(first[2], 10);
    out.push(n === 1 ? el("ol", items) : el("ol", items, { start: String(n) }));
  } else {
    out.push(el("ul", items));
  }
  return i;
}

/**
 * A paragraph's lines: hard breaks where a line ends with two spaces or "\".
 * @param {string[]} lines
 * @param {number} depth
 * @returns {MdNode[]}
 */
function paragraph(lines, depth) {
  /** @type {MdNode[]} */
  const out = [];
  lines.forEach((raw, k) => {
    const line = raw.trimStart();
    const last = k === lines.length - 1;
    const hard = !last && (/ {2,}$/u.test(line) || /(?<!\\)\\$/u.test(line));
    const text = hard ? line.replace(/(?: {2,}|\\)$/u, "") : last ? line.trimEnd() : line.replace(/ +$/u, "");
    out.push(...inline(text, depth));
    if (hard) out.push(el("br"));
    else if (!last) out.push("\n");
  });
  return merge(out);
}

// ---------------------------------------------------------------------------
// inline

const PUNCT = /[!-/:-@[-`{-~]/u;

/**
 * Adjacent strings joined.
 * @param {MdNode[]} nodes
 * @returns {MdNode[]}
 */
function merge(nodes) {
  /** @type {MdNode[]} */
  const out = [];
  for (const n of nodes) {
    if (n === "") continue;
    if (typeof n === "string" && typeof out[out.length - 1] === "string") out[out.length - 1] += n;
    else out.push(n);
  }
  return out;
}

/**
 * Positions of matching "[" / "]" (escaped ones skipped), in one pass.
 * @param {string} s
 * @returns {Map<number, number>}
 */
function bracketPairs(s) {
  const pairs = new Map();
  const stack = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") i++;
    else if (c === "[") stack.push(i);
    else if (c === "]" && stack.length) pairs.set(/** @type {number} */ (stack.pop()), i);
  }
  return pairs;
}

/**
 * Remove backslash escapes.
 * @param {string} s
 */
const unescape = (s) => s.replace(/\\([!-/:-@[-`{-~])/gu, "$1");

/**
 * The `(url "title")` part of a link at `s[i] === "("`.
 * @param {string} s
 * @param {number} i
 * @returns {{url: string, title: string | null, end: number} | null} end: index after ")"
 */
function linkTarget(s, i) {
  let j = i + 1;
  while (s[j] === " ") j++;
  let url = "";
  if (s[j] === "<") {
    const close = s.indexOf(">", j);
    if (close < 0 || s.slice(j, close).includes("\n")) return null;
    url = s.slice(j + 1, close);
    j = close + 1;
  } else {
    let depth = 0;
    const from = j;
    for (; j < s.length; j++) {
      const c = s[j];
      if (c === "\\") {
        j++;
        continue;
      }
      if (c === " " || c === "\n") break;
      if (c === "(") depth++;
      if (c === ")") {
        if (depth === 0) break;
        depth--;
      }
    }
    url = s.slice(from, j);
  }
  while (s[j] === " " || s[j] === "\n") j++;
  let title = null;
  const q = s[j];
  if (q === '"' || q === "'") {
    let close = j + 1;
    while (close < s.length && s[close] !== q) close += s[close] === "\\" ? 2 : 1;
    if (close >= s.length) return null;
    title = unescape(s.slice(j + 1, close));
    j = close + 1;
    while (s[j] === " ") j++;
  }
  if (s[j] !== ")") return null;
  return { url: unescape(url), title, end: j + 1 };
}

/**
 * A link element, or its text when the URL is not safe.
 * @param {MdNode[]} children
 * @param {string} url
 * @param {string | null} title
 * @returns {MdNode[]}
 */
function link(children, url, title) {
  const href = safeHref(url);
  if (href === null) return children; // the text stays, the dangerous link goes
  /** @type {Record<string, string>} */
  const attrs = { href, rel: "noopener noreferrer nofollow", target: "_blank" };
  if (title) attrs.title = title;
  return [el("a", children, attrs)];
}

/** @param {string | undefined} c */
const isSpace = (c) => c === undefined || /\s/u.test(c);
/** @param {string | undefined} c */
const isWord = (c) => c !== undefined && /[\p{L}\p{N}]/u.test(c);

/**
 * Inline Markdown of one paragraph or heading.
 * @param {string} s
 * @param {number} depth
 * @returns {MdNode[]}
 */
function inline(s, depth) {
  /** @type {MdNode[]} */
  const out = [];
  const brackets = bracketPairs(s);
  /** @type {Set<string>} delimiters with no closer left in `s` (keeps the scan linear) */
  const exhausted = new Set();
  let text = "";
  let i = 0;
  const flush = () => {
    if (text) out.push(text);
    text = "";
  };
  while (i < s.length) {
    const c = s[i];
    if (c === "\\" && i + 1 < s.length && PUNCT.test(s[i + 1])) {
      text += s[i + 1];
      i += 2;
      continue;
    }
    if (c === "`") {
      let n = 1;
      while (s[i + n] === "`") n++;
      const run = "`".repeat(n);
      let close = exhausted.has(run) ? -1 : s.indexOf(run, i + n);
      while (close >= 0 && s[close + n] === "`") {
        let k = close;
        while (s[k] === "`") k++;
        close = s.indexOf(run, k);
      }
      if (close < 0) {
        exhausted.add(run);
        text += run;
        i += n;
        continue;
      }
      let code = s.slice(i + n, close).replace(/\n/gu, " ");
      if (code.length > 2 && code.startsWith(" ") && code.endsWith(" ") && code.trim()) code = code.slice(1, -1);
      flush();
      out.push(el("code", [code]));
      i = close + n;
      continue;
    }
    if (c === "<") {
      const auto = /^<([a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^\s<>]*)>/u.exec(s.slice(i, i + 2048));
      if (auto) {
        flush();
        out.push(...link([auto[1]], auto[1], null));
        i += auto[0].length;
        continue;
      }
      text += c; // raw HTML is just text
      i++;
      continue;
    }
    if (c === "[" && brackets.has(i) && depth < MAX_DEPTH) {
      const close = /** @type {number} */ (brackets.get(i));
      const target = s[close + 1] === "(" ? linkTarget(s, close + 1) : null;
      if (target) {
        flush();
        out.push(...link(inline(s.slice(i + 1, close), depth + 1), target.url, target.title));
        i = target.end;
        continue;
      }
    }
    if ((c === "*" || c === "_" || c === "~") && depth < MAX_DEPTH) {
      let n = 1;
      while (s[i + n] === c) n++;
      const size = c === "~" ? (n === 2 ? 2 : 0) : Math.min(n, 3);
      const opensOk = size > 0 && !isSpace(s[i + n]) && !(c === "_" && isWord(s[i - 1]));
      const delim = c.repeat(size);
      if (opensOk && !exhausted.has(delim)) {
        const close = findCloser(s, i + n, c, size);
        if (close < 0) {
          exhausted.add(delim);
        } else {
          const inner = inline(s.slice(i + n, close), depth + 1);
          const node =
            c === "~"
              ? el("del", inner)
              : size === 1
                ? el("em", inner)
                : size === 2
                  ? el("strong", inner)
                  : el("em", [el("strong", inner)]);
          flush();
          if (n > size) text += c.repeat(n - size);
          flush();
          out.push(node);
          i = close + size;
          continue;
        }
      }
      text += c.repeat(n);
      i += n;
      continue;
    }
    text += c;
    i++;
  }
  flush();
  return merge(out);
}

/**
 * The index of a closing run of exactly `size` `c`s after `from`, not
 * preceded by a space (and for "_" not followed by a letter), or -1.
 * @param {string} s
 * @param {number} from
 * @param {string} c
 * @param {number} size
 */
function findCloser(s, from, c, size) {
  let j = from;
  while (j < s.length) {
    const k = s.indexOf(c, j);
    if (k < 0) return -1;
    if (s[k - 1] === "\\") {
      j = k + 1;
      continue;
    }
    let n = 1;
    while (s[k + n] === c) n++;
    if (n >= size && !isSpace(s[k - 1]) && !(c === "_" && isWord(s[k + n]))) {
      // for a run longer than needed, close with its last `size` characters
      return k + n - size;
    }
    j = k + n;
  }
  return -1;
}

// ---------------------------------------------------------------------------
// DOM

/**
 * Build DOM nodes from a parsed tree: only `TAGS`, only the listed
 * attributes, text through `createTextNode`.
 * @param {MdNode[]} nodes
 * @param {Document} [doc]
 * @returns {DocumentFragment}
 */
export function toDom(nodes, doc = globalThis.document) {
  const frag = doc.createDocumentFragment();
  /**
   * @param {Node} parent
   * @param {MdNode[]} list
   */
  const add = (parent, list) => {
    for (const node of list) {
      if (typeof node === "string") {
        parent.appendChild(doc.createTextNode(node));
        continue;
      }
      if (!TAGS.has(node.tag)) {
        add(parent, node.children); // cannot happen with parseMarkdown's trees
        continue;
      }
      const elem = doc.createElement(node.tag);
      const allowed = ATTRS[node.tag] ?? [];
      for (const [name, value] of Object.entries(node.attrs ?? {})) {
        if (!allowed.includes(name)) continue;
        if (name === "href") {
          const href = safeHref(value);
          if (href !== null) elem.setAttribute("href", href);
        } else {
          elem.setAttribute(name, String(value));
        }
      }
      add(elem, node.children);
      parent.appendChild(elem);
    }
  };
  add(frag, nodes);
  return frag;
}

/**
 * Markdown text to a sanitised DocumentFragment.
 * @param {unknown} text
 * @param {Document} [doc]
 */
export function renderMarkdown(text, doc = globalThis.document) {
  return toDom(parseMarkdown(text), doc);
}
