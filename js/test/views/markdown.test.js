// The Markdown renderer, sanitising by construction. The DOM views run in
// Chromium (tests/test_widgets_browser.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMarkdown, renderMarkdown, safeHref, TAGS, toDom } from "../../src/views/markdown.js";

/** Every element of a parsed tree, depth first. */
function* elements(nodes) {
  for (const n of nodes) {
    if (typeof n === "string") continue;
    yield n;
    yield* elements(n.children);
  }
}

/** The text of a parsed tree. */
const text = (nodes) => nodes.map((n) => (typeof n === "string" ? n : text(n.children))).join("");

/** A tiny document that records what is created (no innerHTML on it at all). */
function stubDocument() {
  const log = { tags: [], attrs: [] };
  class Node {
    constructor(tag) {
      this.tag = tag;
      this.children = [];
      this.attributes = {};
    }
    appendChild(c) {
      this.children.push(c);
      return c;
    }
    setAttribute(name, value) {
      log.attrs.push([this.tag, name, value]);
      this.attributes[name] = value;
    }
    get textContent() {
      return this.children.map((c) => (typeof c.text === "string" ? c.text : c.textContent)).join("");
    }
  }
  return {
    log,
    createDocumentFragment: () => new Node("#fragment"),
    createElement: (tag) => {
      log.tags.push(tag);
      return new Node(tag);
    },
    createTextNode: (t) => ({ text: t }),
  };
}

const ATTACKS = [
  "<script>window.pwned = 1</script>",
  "<img src=x onerror=window.pwned=1>",
  '<a href="javascript:alert(1)">x</a>',
  "<svg onload=alert(1)>",
  "<iframe src=javascript:alert(1)></iframe>",
  "[click](javascript:alert(1))",
  "[click](JavaScript:alert(1))",
  "[click](  javascript:alert(1))",
  "[click](java\tscript:alert(1))",
  "[click](<javascript:alert(1)>)",
  "[click](javascript&#58;alert(1))",
  "[click](vbscript:msgbox(1))",
  "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  "<javascript:alert(1)>",
  "**<img src=x onerror=alert(1)>**",
  "# <script>alert(1)</script>",
  "- <b onmouseover=alert(1)>x</b>",
  "> <style>body{display:none}</style>",
  "```\n<script>alert(1)</script>\n```",
  "`<script>`",
  '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")',
];

test("markdown: the supported subset", () => {
  const tree = parseMarkdown(
    "# Title\n\nSome *em*, **strong**, ~~gone~~ and `co*de*`.\nline  \nbreak\n\n- a\n- b\n  1. c\n\n> quoted\n\n---\n\n```py\nx = 1 < 2\n```\n\n[ok](https://example.org \"T\") <https://a.example/b> [rel](/p?q=1#h) [m](mailto:a@b.c)",
  );
  assert.deepEqual(tree[0], { tag: "h1", children: ["Title"] });
  assert.deepEqual(tree[1], {
    tag: "p",
    children: [
      "Some ",
      { tag: "em", children: ["em"] },
      ", ",
      { tag: "strong", children: ["strong"] },
      ", ",
      { tag: "del", children: ["gone"] },
      " and ",
      { tag: "code", children: ["co*de*"] },
      ".\nline",
      { tag: "br", children: [] },
      "break",
    ],
  });
  assert.deepEqual(tree[2], {
    tag: "ul",
    children: [
      { tag: "li", children: ["a"] },
      { tag: "li", children: ["b", { tag: "ol", children: [{ tag: "li", children: ["c"] }] }] },
    ],
  });
  assert.deepEqual(tree[3], { tag: "blockquote", children: [{ tag: "p", children: ["quoted"] }] });
  assert.deepEqual(tree[4], { tag: "hr", children: [] });
  assert.deepEqual(tree[5], { tag: "pre", children: [{ tag: "code", children: ["x = 1 < 2"] }] });
  const links = [...elements([tree[6]])].filter((e) => e.tag === "a");
  assert.deepEqual(
    links.map((a) => [a.attrs.href, text(a.children)]),
    [
      ["https://example.org", "ok"],
      ["https://a.example/b", "https://a.example/b"],
      ["/p?q=1#h", "rel"],
      ["mailto:a@b.c", "m"],
    ],
  );
  assert.equal(links[0].attrs.title, "T");
  assert.equal(links[0].attrs.rel, "noopener noreferrer nofollow");
  assert.deepEqual(parseMarkdown("3. x\n4. y")[0].attrs, { start: "3" });
  assert.deepEqual(parseMarkdown("snake_case_name and 2*3*4")[0].children[0], "snake_case_name and 2");
  assert.deepEqual(parseMarkdown(null), []);
  assert.deepEqual(parseMarkdown("\\*not em\\*"), [{ tag: "p", children: ["*not em*"] }]);
});

test("markdown: HTML, scripts, handlers and javascript: links are inert", () => {
  for (const attack of ATTACKS) {
    const tree = parseMarkdown(attack);
    for (const e of elements(tree)) {
      assert.ok(TAGS.has(e.tag), `${attack}: tag ${e.tag}`);
      for (const [name, value] of Object.entries(e.attrs ?? {})) {
        assert.ok(["href", "title", "rel", "target", "start"].includes(name), `${attack}: attribute ${name}`);
        if (name === "href") assert.notEqual(safeHref(value), null, `${attack}: ${value}`);
        if (name === "href") assert.doesNotMatch(value.replace(/[\t\n\r ]/g, ""), /^(javascript|vbscript|data):/i);
      }
    }
    const doc = stubDocument();
    toDom(tree, doc);
    for (const tag of doc.log.tags) assert.ok(TAGS.has(tag), `${attack}: created ${tag}`);
    for (const [, name] of doc.log.attrs) assert.ok(!/^on/i.test(name), `${attack}: ${name}`);
  }
  // raw HTML comes out as the very text that was written
  assert.equal(text(parseMarkdown(ATTACKS[0])), "<script>window.pwned = 1</script>");
  assert.equal(text(parseMarkdown(ATTACKS[1])), "<img src=x onerror=window.pwned=1>");
  // a refused link keeps its text, without the element
  assert.deepEqual(parseMarkdown("[click](javascript:alert(1))"), [{ tag: "p", children: ["click"] }]);
  // the title cannot break out of its attribute: it is one attribute value
  const titled = [...elements(parseMarkdown(ATTACKS[ATTACKS.length - 1]))].find((e) => e.tag === "a");
  assert.deepEqual(Object.keys(titled.attrs).sort(), ["href", "rel", "target", "title"]);
});

test("safeHref: http(s), mailto and relative only, as the browser will parse them", () => {
  for (const ok of ["https://x.org/a?b#c", "http://x", "mailto:a@b", "/rel", "rel/x", "#top", "?q=1", "//host/p", "HTTPS://X"]) {
    assert.equal(safeHref(ok), ok, ok);
  }
  assert.equal(safeHref("  https://x  "), "https://x");
  assert.equal(safeHref("ht\ntps://x"), "https://x");
  for (const bad of ["javascript:alert(1)", " JAVASCRIPT:x", "java\tscript:x", "jav\nascript:x", "\u0001javascript:x", "vbscript:x", "data:text/html,x", "file:///etc/passwd", "a\u0000b", 3, null]) {
    assert.equal(safeHref(bad), null, String(bad));
  }
});

test("toDom builds elements and text nodes only from the tree", () => {
  const doc = stubDocument();
  const frag = renderMarkdown("**a** [b](https://b.example) <i>c</i>", doc);
  assert.deepEqual(doc.log.tags, ["p", "strong", "a"]);
  assert.equal(frag.textContent, "a b <i>c</i>");
  // a forged tree cannot smuggle tags or attributes through toDom
  const doc2 = stubDocument();
  toDom([{ tag: "script", children: ["x"] }, { tag: "a", attrs: { href: "javascript:x", onclick: "x" }, children: [] }], doc2);
  assert.deepEqual(doc2.log.tags, ["a"]);
  assert.deepEqual(doc2.log.attrs, []);
});

test("markdown: pathological input stays linear", () => {
  const big = "*".repeat(40000) + "_a".repeat(20000) + "[".repeat(40000) + "`".repeat(2000) + "> ".repeat(2000);
  const t0 = Date.now();
  parseMarkdown(big);
  parseMarkdown("- ".repeat(5000) + "\n" + "> ".repeat(5000));
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
});
