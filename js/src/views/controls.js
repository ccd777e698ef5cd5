// The views of the input controls: Slider, Button and the widget set's
// RangeSlider, Toggle, Select, MultiSelect, TextInput, NumberInput.
//
// Native, accessible elements, two-way bound through the anywidget model
// API, each a field: its label above the control (dom.js `fieldLayout`),
// so the controls of a column line up. Controls send only their value (the model's settable property):
// sliders at most once per animation frame while dragging, text fields when
// committed (Enter, leaving the field) unless `continuous`.

import { formatValue, frameThrottle } from "./util.js";
import { fieldHead, fieldLayout, h, labelFor, newId, numText, setLabel, str } from "./dom.js";

/** @typedef {import("./registry.js").ViewContext} ViewContext */

/**
 * Where `value` sits between `min` and `max`, in percent (0 outside a valid range).
 * @param {number} value
 * @param {number} min
 * @param {number} max
 */
export function percentOf(value, min, max) {
  if (!(max > min) || !Number.isFinite(value)) return 0;
  return Math.min(100, Math.max(0, (100 * (value - min)) / (max - min)));
}

/**
 * Slider: a head (its <label> and an <output> readout) above an
 * <input type=range> whose filled part shows the value
 * (`--wsbridge-fill`, 0 to 1, for wsbridge.css). User input sets the value locally at
 * once and sends at most one `set` per animation frame while dragging,
 * and always the final value on `change`.
 * @param {ViewContext} ctx
 */
function slider({ model, el, listen }) {
  const id = newId("slider");
  const label = labelFor(id);
  const input = h("input");
  input.type = "range";
  input.id = id;
  const output = h("output");
  output.htmlFor.add(id);
  output.setAttribute("aria-hidden", "true"); // the range already announces its value
  fieldLayout(el);
  el.append(fieldHead(label, output), input);

  const num = (/** @type {string} */ name, /** @type {string} */ fallback) => {
    const v = model.get(name);
    return typeof v === "number" && Number.isFinite(v) ? String(v) : fallback;
  };
  const fill = () => {
    const pct = percentOf(Number(input.value), Number(input.min), Number(input.max));
    input.style.setProperty("--wsbridge-fill", String(pct / 100));
  };
  const sync = () => {
    setLabel(label, model.get("label"), el);
    // bounds and step before the value: the browser clamps the value to them
    input.min = num("min", "0");
    input.max = num("max", "100");
    const step = model.get("step");
    input.step = typeof step === "number" && step > 0 ? String(step) : "any";
    const value = num("value", input.min);
    if (input.value !== value) input.value = value;
    input.disabled = Boolean(model.get("disabled"));
    output.textContent = formatValue(model.get("value"), model.get("step"));
    fill();
  };
  const send = frameThrottle(() => model.save_changes());
  input.addEventListener("input", () => {
    model.set("value", Number(input.value));
    fill();
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

/** Half the width of a range thumb in px (wsbridge.css draws them 16 px wide). */
const THUMB_RADIUS = 8;

/** What a RangeSlider needs from CSS in any page: see-through tracks, and
 * inputs that leave the pointer to the view (added once per document). */
const RANGE_CSS = `.wsbridge-range input[type=range]{-webkit-appearance:none;appearance:none;background:transparent;pointer-events:none}
.wsbridge-range input[type=range]::-webkit-slider-runnable-track{background:transparent}
.wsbridge-range input[type=range]::-moz-range-track{background:transparent}`;

function ensureRangeStyle() {
  if (document.querySelector("style[data-wsbridge-range]")) return;
  const style = document.createElement("style");
  style.dataset.wsbridgeRange = "";
  style.textContent = RANGE_CSS;
  document.head.append(style);
}

/**
 * Which thumb a press at `v` takes: the one it is outside of, else the
 * nearer; null when both thumbs sit at one value and the press is there
 * (the direction of the drag decides, see `rangeSlider`).
 * @param {number} v
 * @param {number} lo
 * @param {number} hi
 * @returns {"lo" | "hi" | null}
 */
export function pickThumb(v, lo, hi) {
  if (v < lo) return "lo";
  if (v > hi) return "hi";
  if (lo === hi) return null;
  return v - lo <= hi - v ? "lo" : "hi";
}

/**
 * RangeSlider: one track, two thumbs. A head (label, "lo – hi" readout)
 * above one rail whose filled part is the interval, under two native
 * <input type=range> (minimum, maximum) laid on top of each other: each
 * thumb is a real range input, so the keyboard (arrows, Page Up/Down,
 * Home/End) and screen readers work as for any slider. The pointer is the
 * view's: a press on the track takes the nearer thumb (or, both at one
 * value, the one the drag heads for) and drags it. An end moved past the
 * other stops at it.
 * @param {ViewContext} ctx
 */
function rangeSlider({ model, el, listen }) {
  ensureRangeStyle();
  fieldLayout(el);
  const labelId = newId("range-label");
  const label = h("span", "wsbridge-field-label");
  label.id = labelId;
  el.setAttribute("role", "group");
  el.setAttribute("aria-labelledby", labelId);
  const output = h("output");
  output.setAttribute("aria-hidden", "true");

  const track = h("div", "wsbridge-range");
  Object.assign(track.style, { position: "relative", height: "20px", touchAction: "pan-y", cursor: "pointer" });
  const rail = h("div", "wsbridge-range-rail");
  Object.assign(rail.style, {
    position: "absolute",
    left: "0",
    right: "0",
    top: "8px",
    height: "4px",
    borderRadius: "2px",
    background: "var(--wsbridge-track, #d0d4da)",
  });
  const fill = h("div", "wsbridge-range-fill");
  Object.assign(fill.style, { position: "absolute", top: "0", bottom: "0", borderRadius: "2px", background: "var(--wsbridge-accent, #2563eb)" });
  rail.append(fill);
  const lo = h("input");
  const hi = h("input");
  for (const input of [lo, hi]) {
    input.type = "range";
    Object.assign(input.style, { position: "absolute", left: "0", top: "0", width: "100%", height: "20px", margin: "0" });
  }
  track.append(rail, lo, hi);
  el.append(fieldHead(label, output), track);

  const bounds = () => {
    const min = Number(lo.min);
    const max = Number(lo.max);
    return [min, max > min ? max : min + 1];
  };
  const pair = () => {
    const v = model.get("value");
    return Array.isArray(v) && v.length === 2 ? [Number(v[0]), Number(v[1])] : [Number(lo.min), Number(hi.max)];
  };
  const paint = (/** @type {number} */ a, /** @type {number} */ b) => {
    const [min, max] = bounds();
    // at the thumbs' centres, which run from THUMB_RADIUS to the width less it
    const at = (/** @type {number} */ pct) => `calc(${THUMB_RADIUS}px + (100% - ${2 * THUMB_RADIUS}px) * ${pct / 100})`;
    fill.style.left = at(percentOf(a, min, max));
    fill.style.right = at(100 - percentOf(b, min, max));
    // the thumb at the far end of its range goes on top, so it can come back
    lo.style.zIndex = a >= max ? "2" : "1";
    hi.style.zIndex = "1";
  };
  const sync = () => {
    const text = str(model.get("label"));
    setLabel(label, text, el);
    lo.setAttribute("aria-label", text ? `${text}, minimum` : "minimum");
    hi.setAttribute("aria-label", text ? `${text}, maximum` : "maximum");
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
    paint(Number(lo.value), Number(hi.value));
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
    paint(a, b);
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

  // the pointer: press, drag, release anywhere on the track
  /** @type {{input: HTMLInputElement | null, pointer: number} | null} */
  let drag = null;
  /** @param {number} clientX */
  const valueAt = (clientX) => {
    const rect = track.getBoundingClientRect();
    const span = Math.max(1, rect.width - 2 * THUMB_RADIUS);
    const frac = Math.min(1, Math.max(0, (clientX - rect.left - THUMB_RADIUS) / span));
    const [min, max] = bounds();
    return min + frac * (max - min);
  };
  /**
   * @param {HTMLInputElement} input
   * @param {number} v
   */
  const moveTo = (input, v) => {
    const before = input.value;
    input.value = String(v); // the browser snaps it to the step and bounds
    if (input.value === before) return;
    read(input);
    send.call();
  };
  track.addEventListener("pointerdown", (e) => {
    if (lo.disabled || e.button !== 0) return;
    e.preventDefault();
    const v = valueAt(e.clientX);
    const [a, b] = [Number(lo.value), Number(hi.value)];
    const which = pickThumb(v, a, b);
    const input = which === "lo" ? lo : which === "hi" ? hi : null;
    drag = { input, pointer: e.pointerId };
    track.setPointerCapture?.(e.pointerId);
    (input ?? hi).focus();
    if (input) moveTo(input, v);
  });
  track.addEventListener("pointermove", (e) => {
    if (!drag || e.pointerId !== drag.pointer) return;
    const v = valueAt(e.clientX);
    if (!drag.input) {
      const which = pickThumb(v, Number(lo.value), Number(hi.value));
      if (!which) return;
      drag.input = which === "lo" ? lo : hi;
      drag.input.focus();
    }
    moveTo(drag.input, v);
  });
  const release = (/** @type {PointerEvent} */ e) => {
    if (!drag || e.pointerId !== drag.pointer) return;
    const input = drag.input;
    drag = null;
    if (!input) return;
    send.cancel();
    read(input);
    model.save_changes();
  };
  track.addEventListener("pointerup", release);
  track.addEventListener("pointercancel", release);

  listen(model, "change", sync);
  sync();
  return () => send.cancel();
}

/**
 * Toggle: <label><input type=checkbox role=switch> text</label>, drawn as a
 * switch by wsbridge.css.
 * @param {ViewContext} ctx
 */
function toggle({ model, el, listen }) {
  const label = h("label");
  const input = h("input");
  input.type = "checkbox";
  input.setAttribute("role", "switch");
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
    fieldLayout(el);
    el.append(label, select);
    /** @type {[string, any][]} */
    let pairs = [];
    let shown = "";
    const sync = () => {
      setLabel(label, model.get("label"), el);
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
  fieldLayout(el);
  el.append(label, input);
  const sync = () => {
    setLabel(label, model.get("label"), el);
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
  fieldLayout(el);
  el.append(label, input);
  const show = () => {
    const v = numText(model.get("value"), "");
    if (input.value !== v || input.validity.badInput) input.value = v;
  };
  const sync = () => {
    setLabel(label, model.get("label"), el);
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
