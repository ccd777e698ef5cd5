// The views of the input controls: Slider, Button and the widget set's
// RangeSlider, Toggle, Select, MultiSelect, TextInput, NumberInput.
//
// Native, accessible elements, two-way bound through the anywidget model
// API. Controls send only their value (the model's settable property):
// sliders at most once per animation frame while dragging, text fields when
// committed (Enter, leaving the field) unless `continuous`.

import { formatValue, frameThrottle } from "./util.js";
import { h, labelFor, newId, numText, setLabel, str } from "./dom.js";

/** @typedef {import("./registry.js").ViewContext} ViewContext */

/**
 * Slider: a <label>, an <input type=range> and an <output> readout. User
 * input sets the value locally at once and sends at most one `set` per
 * animation frame while dragging, and always the final value on `change`.
 * @param {ViewContext} ctx
 */
function slider({ model, el, listen }) {
  const id = newId("slider");
  const label = document.createElement("label");
  label.htmlFor = id;
  const input = document.createElement("input");
  input.type = "range";
  input.id = id;
  const output = document.createElement("output");
  output.htmlFor.add(id);
  output.setAttribute("aria-hidden", "true"); // the range already announces its value
  Object.assign(el.style, { display: "flex", alignItems: "center", gap: "0.5em" });
  Object.assign(output.style, { fontVariantNumeric: "tabular-nums", minWidth: "3em" });
  el.append(label, input, output);

  const num = (/** @type {string} */ name, /** @type {string} */ fallback) => {
    const v = model.get(name);
    return typeof v === "number" && Number.isFinite(v) ? String(v) : fallback;
  };
  const sync = () => {
    label.textContent = String(model.get("label") ?? "");
    // bounds and step before the value: the browser clamps the value to them
    input.min = num("min", "0");
    input.max = num("max", "100");
    const step = model.get("step");
    input.step = typeof step === "number" && step > 0 ? String(step) : "any";
    const value = num("value", input.min);
    if (input.value !== value) input.value = value;
    input.disabled = Boolean(model.get("disabled"));
    output.textContent = formatValue(model.get("value"), model.get("step"));
  };
  const send = frameThrottle(() => model.save_changes());
  input.addEventListener("input", () => {
    model.set("value", Number(input.value));
    send.call();
  });
  input.addEventListener("change", () => {
    send.cancel();
    model.set("value", Number(input.value));
    model.save_changes();
  });
  listen(model, "change", sync);
  sync();
  return () => send.cancel();
}

/**
 * Button: a <button> that fires the declared `click` event.
 * @param {ViewContext} ctx
 */
function button({ model, el, client, listen }) {
  el.style.display = "inline-flex";
  const btn = document.createElement("button");
  btn.type = "button";
  el.append(btn);
  const sync = () => {
    btn.textContent = String(model.get("label") ?? "");
    btn.disabled = Boolean(model.get("disabled"));
  };
  btn.addEventListener("click", () => {
    client.event(model.id, "click", null);
  });
  listen(model, "change", sync);
  sync();
}

/**
 * RangeSlider: two <input type=range> (minimum, maximum) in a labelled
 * group, and a readout. An end dragged past the other stops at it.
 * @param {ViewContext} ctx
 */
function rangeSlider({ model, el, listen }) {
  const labelId = newId("range-label");
  const label = h("span", "wsbridge-label");
  label.id = labelId;
  el.setAttribute("role", "group");
  el.setAttribute("aria-labelledby", labelId);
  const lo = h("input");
  const hi = h("input");
  lo.type = hi.type = "range";
  lo.setAttribute("aria-label", "minimum");
  hi.setAttribute("aria-label", "maximum");
  const inputs = h("div", "wsbridge-range-inputs");
  inputs.append(lo, hi);
  const output = h("output");
  output.setAttribute("aria-hidden", "true");
  el.append(label, inputs, output);

  const pair = () => {
    const v = model.get("value");
    return Array.isArray(v) && v.length === 2 ? [Number(v[0]), Number(v[1])] : [Number(lo.min), Number(hi.max)];
  };
  const sync = () => {
    setLabel(label, model.get("label"));
    const step = model.get("step");
    for (const input of [lo, hi]) {
      input.min = numText(model.get("min"), "0");
      input.max = numText(model.get("max"), "100");
      input.step = typeof step === "number" && step > 0 ? String(step) : "any";
      input.disabled = Boolean(model.get("disabled"));
    }
    const [a, b] = pair();
    if (lo.value !== String(a)) lo.value = String(a);
    if (hi.value !== String(b)) hi.value = String(b);
    output.textContent = `${formatValue(a, step)} \u2013 ${formatValue(b, step)}`;
  };
  const send = frameThrottle(() => model.save_changes());
  /** @param {HTMLInputElement} moved */
  const read = (moved) => {
    let a = Number(lo.value);
    let b = Number(hi.value);
    if (a > b) {
      if (moved === lo) a = b;
      else b = a;
      moved.value = String(moved === lo ? a : b);
    }
    model.set("value", [a, b]);
  };
  for (const input of [lo, hi]) {
    input.addEventListener("input", () => {
      read(input);
      send.call();
    });
    input.addEventListener("change", () => {
      send.cancel();
      read(input);
      model.save_changes();
    });
  }
  listen(model, "change", sync);
  sync();
  return () => send.cancel();
}

/**
 * Toggle: <label><input type=checkbox> text</label>.
 * @param {ViewContext} ctx
 */
function toggle({ model, el, listen }) {
  const label = h("label");
  const input = h("input");
  input.type = "checkbox";
  const text = h("span");
  label.append(input, text);
  el.append(label);
  const sync = () => {
    text.textContent = str(model.get("label"));
    input.checked = model.get("value") === true;
    input.disabled = Boolean(model.get("disabled"));
  };
  input.addEventListener("change", () => {
    model.set("value", input.checked);
    model.save_changes();
  });
  listen(model, "change", sync);
  sync();
}

/**
 * The options of a Select/MultiSelect as [label, value] pairs (the wire form).
 * @param {unknown} options
 * @returns {[string, any][]}
 */
export function optionPairs(options) {
  if (!Array.isArray(options)) return [];
  return options.map((o) => (Array.isArray(o) && o.length === 2 ? [str(o[0]), o[1]] : [str(o), o]));
}

/** @param {unknown} v a JSON value, compared as JSON */
const key = (v) => JSON.stringify(v ?? null);

/**
 * Select and MultiSelect: a native <select>, options indexed so any JSON
 * value can be an option's value.
 * @param {boolean} multiple
 * @returns {(ctx: ViewContext) => void}
 */
function choice(multiple) {
  return ({ model, el, listen }) => {
    const id = newId("select");
    const label = labelFor(id);
    const select = h("select");
    select.id = id;
    select.multiple = multiple;
    el.append(label, select);
    /** @type {[string, any][]} */
    let pairs = [];
    let shown = "";
    const sync = () => {
      setLabel(label, model.get("label"));
      select.disabled = Boolean(model.get("disabled"));
      if (multiple) select.size = Math.max(1, Number(model.get("size")) || 5);
      const next = optionPairs(model.get("options"));
      if (key(next) !== shown) {
        pairs = next;
        shown = key(next);
        select.replaceChildren(
          ...pairs.map(([text], i) => {
            const option = h("option");
            option.value = String(i);
            option.textContent = text;
            return option;
          }),
        );
      }
      const value = model.get("value");
      const chosen = new Set(multiple ? (Array.isArray(value) ? value.map(key) : []) : [key(value)]);
      pairs.forEach(([, v], i) => {
        /** @type {HTMLOptionElement} */ (select.options[i]).selected = chosen.has(key(v));
      });
      if (!multiple && !pairs.some(([, v]) => chosen.has(key(v)))) select.selectedIndex = -1;
    };
    select.addEventListener("change", () => {
      const picked = Array.from(select.selectedOptions, (o) => pairs[Number(o.value)]?.[1]);
      model.set("value", multiple ? picked : picked[0] ?? null);
      model.save_changes();
    });
    listen(model, "change", sync);
    sync();
  };
}

/**
 * TextInput: <input type=text>, or a <textarea> when `rows` > 1. Sends on
 * Enter (Ctrl/Cmd+Enter in a textarea, where Enter is a new line) and on
 * leaving the field (or per keystroke, at most once a frame, when
 * `continuous`); Escape reverts an uncommitted edit.
 * @param {ViewContext} ctx
 */
function textInput({ model, el, listen }) {
  const id = newId("text");
  const label = labelFor(id);
  const multiline = Number(model.get("rows")) > 1;
  const input = /** @type {HTMLInputElement} */ (h(multiline ? "textarea" : "input"));
  if (multiline) /** @type {any} */ (input).rows = Number(model.get("rows"));
  else input.type = "text";
  input.id = id;
  el.append(label, input);
  const sync = () => {
    setLabel(label, model.get("label"));
    input.placeholder = str(model.get("placeholder"));
    input.disabled = Boolean(model.get("disabled"));
    const max = model.get("max_length");
    if (typeof max === "number" && max >= 0) input.maxLength = max;
    else input.removeAttribute("maxlength");
  };
  const show = () => {
    const v = str(model.get("value"));
    if (input.value !== v) input.value = v;
  };
  const send = frameThrottle(() => model.save_changes());
  const commit = () => {
    send.cancel();
    if (input.value !== str(model.get("value"))) model.set("value", input.value);
    model.save_changes();
  };
  input.addEventListener("input", () => {
    if (model.get("continuous") !== true) return;
    model.set("value", input.value);
    send.call();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (!multiline || e.ctrlKey || e.metaKey)) commit();
    else if (e.key === "Escape") show();
  });
  input.addEventListener("blur", commit);
  listen(model, "change:value", show);
  listen(model, "change", sync);
  sync();
  show();
  return () => send.cancel();
}

/**
 * NumberInput: <input type=number>; sends a committed number (change event,
 * Enter); an empty or invalid entry reverts to the model's value.
 * @param {ViewContext} ctx
 */
function numberInput({ model, el, listen }) {
  const id = newId("number");
  const label = labelFor(id);
  const input = h("input");
  input.type = "number";
  input.id = id;
  el.append(label, input);
  const show = () => {
    const v = numText(model.get("value"), "");
    if (input.value !== v || input.validity.badInput) input.value = v;
  };
  const sync = () => {
    setLabel(label, model.get("label"));
    input.min = numText(model.get("min"), "");
    input.max = numText(model.get("max"), "");
    const step = model.get("step");
    input.step = typeof step === "number" && step > 0 ? String(step) : "any";
    input.disabled = Boolean(model.get("disabled"));
    show();
  };
  const commit = () => {
    const v = input.valueAsNumber;
    if (input.value === "" || !Number.isFinite(v)) {
      show();
      return;
    }
    if (v !== model.get("value")) model.set("value", v);
    model.save_changes();
  };
  input.addEventListener("change", commit);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") commit();
  });
  listen(model, "change", sync);
  sync();
}

/** The views of this module, by model type (registered by index.js). */
export const CONTROL_VIEWS = Object.freeze({
  Slider: slider,
  Button: button,
  RangeSlider: rangeSlider,
  Toggle: toggle,
  Select: choice(false),
  MultiSelect: choice(true),
  TextInput: textInput,
  NumberInput: numberInput,
});
