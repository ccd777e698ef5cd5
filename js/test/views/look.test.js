// The pure parts of the default look: Table number formats, the Progress
// readout, Grid columns, the RangeSlider's thumb choice, a Plot's dark
// overrides, per-viewer state and the theme of a document.
import { test } from "node:test";
import assert from "node:assert/strict";
import { columnFormatter, decimalsCap, decimalsOf, floatStyle, formatFloatIn, measure } from "../../src/views/numbers.js";
import { percentText } from "../../src/views/display.js";
import { gridColumns } from "../../src/views/layout.js";
import { percentOf, pickThumb } from "../../src/views/controls.js";
import { DARK_SURFACE, themeFigure } from "../../src/views/plot.js";
import { viewerState } from "../../src/views/viewstate.js";
import { followTheme, themeMode } from "../../src/views/theme.js";
import { Emitter } from "../../src/client/events.js";

test("a float column shows the decimals its values need, about 4 significant digits at most", () => {
  assert.equal(decimalsOf(0.5), 1);
  assert.equal(decimalsOf(0.1 + 0.2), 1); // float noise is not a digit
  assert.equal(decimalsOf(3), 0);
  assert.equal(decimalsOf(1 / 3), 6);
  assert.equal(decimalsCap(0.0518394914994), 5);
  assert.equal(decimalsCap(1234.5), 2); // never fewer than 2: cents stay
  const fmt = (/** @type {number[]} */ values) => {
    const f = columnFormatter(Float64Array.from(values));
    assert.ok(f);
    return values.map((v) => f.format(v));
  };
  assert.deepEqual(fmt([0.0518394914994, 0.0123]), ["0.05184", "0.01230"]);
  assert.deepEqual(fmt([0, 0.5, 49999.5]), ["0.0", "0.5", "49,999.5"]);
  assert.deepEqual(fmt([1, 2, 300]), ["1", "2", "300"]);
  assert.deepEqual(fmt([1234.5678, -0.001]), ["1,234.57", "0.00"]); // no "-0.00"
  assert.deepEqual(fmt([0.00001234, 0.00002]), ["1.234e-5", "2.000e-5"]);
  assert.equal(fmt([NaN, 1.5])[0], null); // table.js's own text ("NaN")
  assert.deepEqual(floatStyle({ maxAbs: 2e15, decimals: 0 }), { kind: "scientific", digits: 3 });
  assert.equal(formatFloatIn(-12.345, { kind: "fixed", decimals: 2 }), "-12.35");
});

test("integer columns keep every digit; formats win; other columns are not numbers", () => {
  const ints = columnFormatter(Int32Array.from([2024, -7]));
  assert.equal(ints?.format(2024), "2024");
  const big = columnFormatter(BigInt64Array.from([2n ** 62n]));
  assert.equal(big?.format(2n ** 62n), "4611686018427387904");
  const pct = columnFormatter(Float64Array.from([0.256]), { template: "{:.1%}" });
  assert.equal(pct?.format(0.256), "25.6%");
  assert.equal(columnFormatter(["a", "b"]), null);
});

test("a long column is measured on the rows drawn, and remembers", () => {
  const values = new Float64Array(100_000).map((_, i) => i / 4);
  const first = columnFormatter(values, { start: 0, end: 10 });
  assert.ok(first?.seen);
  assert.equal(first.format(1.25), "1.25");
  const later = columnFormatter(values, { start: 99_990, end: 100_000, seen: first.seen });
  assert.equal(later?.format(24_999.75), "24,999.75");
  assert.deepEqual(measure([1, 2.5], 0, 2, { maxAbs: 10, decimals: 0 }), { maxAbs: 10, decimals: 1 });
});

test("the Progress readout says the share of max, never a rounded 100% before the end", () => {
  assert.equal(percentText(62, 100), "62%");
  assert.equal(percentText(0.62, 100), "0.6%"); // Progress(0.62): 0.62 of 100
  assert.equal(percentText(0.62, 1), "62%");
  assert.equal(percentText(99.96, 100), "99.9%");
  assert.equal(percentText(100, 100), "100%");
  assert.equal(percentText(0, 100), "0%");
  assert.equal(percentText(0.01, 100), "<0.1%");
  assert.equal(percentText(150, 100), "100%");
  assert.equal(percentText(null, 100), null);
});

test("grid columns: equal, or relative widths", () => {
  assert.deepEqual(gridColumns(3, []), { count: 3, template: "repeat(3, minmax(0, 1fr))" });
  assert.deepEqual(gridColumns(2, [3, 1]), { count: 2, template: "minmax(0, 3fr) minmax(0, 1fr)" });
  assert.deepEqual(gridColumns("x", [0, -1]), { count: 1, template: "repeat(1, minmax(0, 1fr))" });
});

test("a press on a RangeSlider takes the thumb it is beyond, else the nearer", () => {
  assert.equal(pickThumb(10, 20, 80), "lo");
  assert.equal(pickThumb(90, 20, 80), "hi");
  assert.equal(pickThumb(30, 20, 80), "lo");
  assert.equal(pickThumb(70, 20, 80), "hi");
  assert.equal(pickThumb(50, 50, 50), null); // the drag's direction decides
  assert.equal(percentOf(25, 0, 50), 50);
  assert.equal(percentOf(5, 5, 5), 0);
});

test("a Plot's dark overrides apply to its figure, the surface from the page", () => {
  const doc = {
    roots: [{ type: "object", name: "Figure", id: "p1", attributes: { title: { type: "object", name: "Title", id: "p2", attributes: { text: "t" } } } }],
  };
  const n = themeFigure(doc, { p1: { background_fill_color: DARK_SURFACE, outline_line_alpha: 0.1 }, p2: { text_color: "#eee" } }, "#222");
  assert.equal(n, 2);
  const fig = doc.roots[0];
  assert.equal(fig.attributes.background_fill_color, "#222");
  assert.equal(fig.attributes.outline_line_alpha, 0.1);
  assert.equal(fig.attributes.title.attributes.text_color, "#eee");
  assert.equal(themeFigure(doc, /** @type {any} */ (null)), 0);
});

test("a viewer's choice holds until Python moves the model", () => {
  let selected = 0;
  const model = { id: "m1", get: () => selected };
  const mine = viewerState({ doc: "d" }, model, "selected");
  assert.equal(mine.get(), undefined);
  mine.set(2);
  assert.equal(mine.get(), 2);
  assert.equal(viewerState({ doc: "d" }, model, "selected").get(), 2); // a rebuilt view
  assert.equal(viewerState({ doc: "other" }, model, "selected").get(), undefined);
  selected = 1; // Python set it: every viewer follows
  assert.equal(mine.get(), undefined);
});

test("followTheme applies the document's Theme model to an element, and follows it", () => {
  assert.equal(themeMode("dark"), "dark");
  assert.equal(themeMode("neon"), "auto");
  const state = new Emitter();
  const theme = Object.assign(new Emitter(), { type: "Theme", props: { mode: "dark", accent: "#7c3aed" } });
  theme.get = (/** @type {string} */ k) => /** @type {any} */ (theme.props)[k];
  const models = new Map([["t", theme]]);
  const client = { state, models: () => [...models.keys()], model: (/** @type {string} */ id) => models.get(id) ?? { type: undefined } };
  /** @type {Map<string, string>} */
  const props = new Map();
  const el = {
    dataset: /** @type {Record<string, string>} */ ({}),
    style: { setProperty: (/** @type {string} */ k, /** @type {string} */ v) => props.set(k, v), removeProperty: (/** @type {string} */ k) => props.delete(k) },
  };
  const follow = followTheme(/** @type {any} */ (client), /** @type {any} */ (el));
  assert.equal(el.dataset.wsbridgeTheme, "dark");
  assert.equal(props.get("--wsbridge-accent"), "#7c3aed");
  theme.props = { mode: "light", accent: "" };
  theme.emit("change");
  assert.equal(el.dataset.wsbridgeTheme, "light");
  assert.equal(props.has("--wsbridge-accent"), false);
  models.clear(); // a replaced dashboard without a theme: the system's again
  state.emit("snapshot");
  assert.equal("wsbridgeTheme" in el.dataset, false);
  follow.destroy();
});
