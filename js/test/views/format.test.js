// The Python-style number formatter of the Number indicator, and its colour
// thresholds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatNumber, parseSpec, roundScaled, thresholdColor } from "../../src/views/format.js";

test("formatNumber matches Python's str.format", () => {
  // expected values computed with CPython 3.11
  const cases = [
    ["{:.2f}", 1234.5, "1234.50"],
    ["{:,.2f}", 1234567.891, "1,234,567.89"],
    ["{:,.0f}", 999999.5, "1,000,000"],
    ["{:.0f}", 2.5, "2"], // ties to even, unlike toFixed
    ["{:.2f}", 0.125, "0.12"],
    ["{:.2f}", 2.675, "2.67"], // 2.675 is 2.67499999...
    ["{:.1%}", 0.1234, "12.3%"],
    ["{:%}", 0.5, "50.000000%"],
    ["{:e}", 1234.5, "1.234500e+03"],
    ["{:.2E}", -0.000123, "-1.23E-04"],
    ["{:g}", 1234.5, "1234.5"],
    ["{:g}", 1e16, "1e+16"],
    ["{:.3g}", 0.0001234, "0.000123"],
    ["{:.3g}", 0.00001234, "1.23e-05"],
    ["{:#.3g}", 1, "1.00"],
    ["{:.3}", 310.0, "3.1e+02"],
    ["{:.3}", 31.0, "31.0"],
    ["{}", 3, "3.0"],
    ["{}", 0.1, "0.1"],
    ["{}", 1e16, "1e+16"],
    ["{}", 1.5e-5, "1.5e-05"],
    ["{:,}", 1234567.25, "1,234,567.25"],
    ["{:_.1f}", 1234567, "1_234_567.0"],
    ["{:10.2f}|", 3.14159, "      3.14|"],
    ["{:<10.2f}|", 3.14159, "3.14      |"],
    ["{:^11.1f}|", -2, "   -2.0    |"],
    ["{:*>12,.2f}", 1234.5, "****1,234.50"],
    ["{:=+12.2f}", 1234.5, "+    1234.50"],
    ["{:+.1f}", 0, "+0.0"],
    ["{: .1f}", 1, " 1.0"],
    ["{:010,.2f}", 1234.5, "001,234.50"],
    ["{:011,.2f}", 1234.5, "0,001,234.50"],
    ["{:08.3f}", -3.14159, "-003.142"],
    ["{:z.1f}", -0.04, "0.0"],
    ["{:.1f}", -0.04, "-0.0"],
    ["{value:,.2f} €", 1234.5, "1,234.50 €"],
    ["{0:.1f} / {0:.0f}", 2.25, "2.2 / 2"],
    ["{{x}} = {:.1f}", 1, "{x} = 1.0"],
    ["{:.2f}", Infinity, "inf"],
    ["{:.2F}", -Infinity, "-INF"],
    ["{:.1%}", NaN, "nan%"],
    ["{:.20f}", 0.1, "0.10000000000000000555"],
  ];
  for (const [fmt, value, expected] of cases) assert.equal(formatNumber(fmt, value), expected, `${fmt} of ${value}`);
});

test("formatNumber: null shows a dash, unsupported templates the plain number", () => {
  assert.equal(formatNumber("{:.2f}", null), "\u2013");
  assert.equal(formatNumber("{:.2f}", undefined), "\u2013");
  for (const fmt of ["{:s}", "{x}", "{:.2f", "a } b", "{:{w}}", "{:x}", 7]) assert.equal(formatNumber(fmt, 1.5), "1.5", String(fmt));
  assert.equal(formatNumber("no field", 1.5), "no field");
  assert.equal(parseSpec("q"), null);
  assert.equal(parseSpec(".1000f"), null);
  assert.deepEqual(parseSpec("0>8,.3f"), {
    fill: "0",
    align: ">",
    sign: "-",
    z: false,
    alt: false,
    zero: false,
    width: 8,
    grouping: ",",
    precision: 3,
    type: "f",
  });
  assert.equal(roundScaled(0.5, 0), 0n);
  assert.equal(roundScaled(1.5, 0), 2n);
  assert.equal(roundScaled(5e-324, 324), 5n);
});

test("thresholdColor: the first threshold not exceeded, the last above all", () => {
  const colors = [
    [100, "red"],
    [0, "blue"],
    [50, "orange"],
  ];
  assert.equal(thresholdColor(-5, colors), "blue");
  assert.equal(thresholdColor(0, colors), "blue");
  assert.equal(thresholdColor(20, colors), "orange");
  assert.equal(thresholdColor(100, colors), "red");
  assert.equal(thresholdColor(1e9, colors), "red");
  assert.equal(thresholdColor(5, [], "gray"), "gray");
  assert.equal(thresholdColor(null, colors, "gray"), "gray");
  assert.equal(thresholdColor(5, [["x", "y"], [10, "ok"]]), "ok");
});
