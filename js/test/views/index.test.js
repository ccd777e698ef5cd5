// The bundled views are registered, and more can be.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BUNDLED_VIEWS, registerView, viewTypes } from "../../src/views/index.js";

test("the core types have views; more can be registered", () => {
  for (const t of ["Column", "Row", "Slider", "Label", "Button", "Sparkline"]) assert.ok(viewTypes().includes(t), t);
  registerView("Custom", { render() {} });
  assert.ok(viewTypes().includes("Custom"));
});

test("every widget of the set has a registered view", () => {
  const types = viewTypes();
  for (const t of Object.keys(BUNDLED_VIEWS)) assert.ok(types.includes(t), t);
  for (const t of ["RangeSlider", "Toggle", "Select", "MultiSelect", "TextInput", "NumberInput", "Markdown", "HTML", "Number", "Progress", "Grid", "Tabs", "Card"]) {
    assert.ok(types.includes(t), t);
  }
});
