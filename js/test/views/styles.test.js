// ipywidgets layout/style CSS, checked before it reaches an element
// (views/styles.js), and the inline styles HTML output keeps (views/output.js).
// The DOM side runs in Chromium (tests/browser/test_ipypickers_browser.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { safeCss, styleRules } from "../../src/views/styles.js";
import { inlineStyles } from "../../src/views/output.js";

test("plain CSS values pass", () => {
  for (const v of ["300px", "50%", "1px solid rgb(0, 0, 255)", "calc(100% - 2em)", "repeat(3, minmax(0, 1fr))", '"a b" "c d"', "Arial, sans-serif", "#ff0000", "bold"]) {
    assert.equal(safeCss(v), true, v);
  }
});

test("anything that could escape a declaration or load a resource is refused", () => {
  for (const v of ["url(http://x/)", "URL(x)", "image-set(x 1x)", "expression(alert(1))", "red; display: none", "red}", "{", "a\\75rl(x)", "red !important", "/* c */ red", "<b>", "@import", "", " ", "x".repeat(201), 12, null]) {
    assert.equal(safeCss(v), false, String(v));
  }
});

test("layout properties outside the allow-list are dropped", () => {
  const rules = styleRules({ width: "300px", position: "fixed", height: "1px;x:y", "background-image": "none" }, {});
  assert.deepEqual(rules, [["", "box-sizing", "border-box"], ["", "width", "300px"]]);
});

test("style keys go to their element; looks become colours", () => {
  const rules = styleRules({}, { button_color: "red", handle_color: "url(x)", button_style: "danger", bar_style: "nonsense", unknown: "red" });
  assert.deepEqual(rules, [
    ["button", "background-color", "red"],
    ["button", "background-color", "#d32f2f"],
    ["button", "color", "#fff"],
  ]);
});

test("inline styles of HTML output keep safe declarations only", () => {
  assert.deepEqual(inlineStyles("text-align: right; background: url(http://x/); color:red;position:fixed"), [
    ["text-align", "right"],
    ["color", "red"],
  ]);
});

test("an image's key follows its bytes", async () => {
  const { imageKey } = await import("../../src/views/output.js");
  const a = new Uint8Array([1, 2, 3, 4]);
  assert.equal(imageKey("image/png", a), imageKey("image/png", new Uint8Array([1, 2, 3, 4])));
  assert.notEqual(imageKey("image/png", a), imageKey("image/png", new Uint8Array([1, 2, 3, 5])));
  assert.notEqual(imageKey("image/png", a), imageKey("image/gif", a));
  assert.equal(imageKey("image/png", new Uint8Array(a.buffer, 1, 2)), imageKey("image/png", new Uint8Array([2, 3])));
});
