// The layering of js/src, read from the source text: each folder imports
// only from itself and the folders below it (wire < client < views < page <
// wsbridge.js), every import resolves to a file, and only two modules of
// client/ touch the network: connection.js (the WebSocket) and httpstream.js
// (its streaming-HTTP fallback, fetch). Type imports in JSDoc (`import("…")`) count as imports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/** Lower layers never import higher ones; wsbridge.js, the entry point, is on top. */
const RANK = { wire: 0, client: 1, views: 2, page: 3, "wsbridge.js": 4 };

/** Globals that reach the network: only these modules may use them. */
const NETWORK_MODULES = new Set(["client/connection.js", "client/httpstream.js"]);
const NETWORK = [/\bWebSocket\b/, /\bfetch\s*\(/, /\bglobalThis\.fetch\b/, /\bEventSource\b/, /\bXMLHttpRequest\b/, /\bsendBeacon\b/];

/** @param {string} dir */
function modules(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return modules(path);
    return e.name.endsWith(".js") ? [path] : [];
  });
}

/** @param {string} path a module under js/src */
function layer(path) {
  const top = relative(SRC, path).split(sep)[0];
  assert.ok(top in RANK, `${top}: a module outside the known layers`);
  return top;
}

/**
 * Relative specifiers a module depends on: static imports and re-exports,
 * dynamic imports of a literal, and JSDoc type imports.
 * @param {string} text
 */
function specifiers(text) {
  const found = [];
  const patterns = [
    /^\s*(?:import|export)\s+[\w$*{},\s]*?\s*from\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]);
  return found;
}

/** Characters after which a `/` starts a regular expression rather than a division. */
const BEFORE_REGEX = new Set([..."(,=:[!&|?{};+-*%<>~^"]);
const KEYWORDS_BEFORE_REGEX = /\b(?:return|typeof|case|of|in|do|else|void|yield|await|new|delete|throw)$/;

/**
 * The source with comments blanked out (strings and regular expressions
 * kept), so that prose mentioning WebSocket does not count as using it.
 * @param {string} text
 */
function stripComments(text) {
  let out = "";
  let i = 0;
  let last = ""; // the last significant code character
  const n = text.length;
  while (i < n) {
    const c = text[i];
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      while (i < n && text[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
      out += " ";
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      const start = i++;
      while (i < n && text[i] !== c) i += text[i] === "\\" ? 2 : 1;
      out += text.slice(start, ++i);
      last = c;
      continue;
    }
    if (c === "/" && (last === "" || BEFORE_REGEX.has(last) || KEYWORDS_BEFORE_REGEX.test(out.trimEnd()))) {
      const start = i++;
      let inClass = false;
      while (i < n && (text[i] !== "/" || inClass)) {
        if (text[i] === "\\") i++;
        else if (text[i] === "[") inClass = true;
        else if (text[i] === "]") inClass = false;
        i++;
      }
      out += text.slice(start, ++i);
      last = "/";
      continue;
    }
    out += c;
    if (!/\s/.test(c)) last = c;
    i++;
  }
  return out;
}

const ALL = modules(SRC);

test("the layers are the folders of js/src", () => {
  assert.ok(ALL.length > 20, "the modules are found");
  for (const path of ALL) layer(path);
});

test("every import resolves to a module of the same or a lower layer", () => {
  const problems = [];
  let edges = 0;
  for (const path of ALL) {
    const from = layer(path);
    for (const spec of specifiers(readFileSync(path, "utf8"))) {
      const name = relative(SRC, path);
      if (!spec.startsWith(".")) {
        problems.push(`${name} imports "${spec}": only relative imports (no dependencies, no build step)`);
        continue;
      }
      const target = resolve(dirname(path), spec);
      if (!existsSync(target)) {
        problems.push(`${name} imports "${spec}", which does not exist`);
        continue;
      }
      if (!target.startsWith(SRC)) {
        problems.push(`${name} imports "${spec}", outside js/src`);
        continue;
      }
      edges++;
      const to = layer(target);
      if (RANK[to] > RANK[from]) problems.push(`${name} (${from}) imports "${spec}" (${to}), a higher layer`);
    }
  }
  assert.ok(edges > 40, `the imports are found (${edges})`);
  assert.deepEqual(problems, []);
});

test("client/ and wire/ import nothing from views/ or page/", () => {
  // the same rule as above, said the way the architecture says it
  for (const path of ALL.filter((p) => ["client", "wire"].includes(layer(p)))) {
    for (const spec of specifiers(readFileSync(path, "utf8"))) {
      const to = layer(resolve(dirname(path), spec));
      assert.ok(!["views", "page", "wsbridge.js"].includes(to), `${relative(SRC, path)} imports "${spec}"`);
    }
  }
});

test("only client/connection.js and client/httpstream.js touch WebSocket, fetch or EventSource", () => {
  const users = new Set();
  for (const path of ALL) {
    const code = stripComments(readFileSync(path, "utf8"));
    for (const re of NETWORK) {
      if (!re.test(code)) continue;
      const name = relative(SRC, path).split(sep).join("/");
      users.add(name);
      assert.ok(NETWORK_MODULES.has(name), `${name} uses ${re.source}: only ${[...NETWORK_MODULES].join(" and ")} may`);
    }
  }
  assert.ok(users.has("client/connection.js"), "the scanner sees the connection's WebSocket");
  assert.ok(users.has("client/httpstream.js"), "the scanner sees the fallback's fetch");
});

test("stripComments keeps code, strings and regular expressions", () => {
  const code = stripComments(
    [
      'const url = "ws://h/ws"; // WebSocket here is prose',
      "/* fetch(x) in a block comment */ const re = /\\/\\/[^/]*/u;",
      "const t = `a // b`; x = a / b / c;",
    ].join("\n"),
  );
  assert.ok(code.includes('"ws://h/ws"') && !code.includes("WebSocket") && !code.includes("fetch"));
  assert.ok(code.includes("/\\/\\/[^/]*/u") && code.includes("`a // b`") && code.includes("a / b / c"));
});

test("every module opens with a comment saying what it is for", () => {
  for (const path of ALL) {
    const first = readFileSync(path, "utf8").split("\n", 1)[0];
    assert.match(first, /^\/\/ \S/, relative(SRC, path));
  }
});
