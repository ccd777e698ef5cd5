// The picture views (wsbridge/widgets/media.py): `Image` (live frames on a
// canvas) and `Matplotlib` (a figure's PNG/SVG in an <img>, sized by its
// container).
//
// Pixels arrive as a Uint8Array view of the WebSocket frame (a binary
// buffer of the `patch`). Raw RGBA goes to the canvas through an ImageData
// over that same memory (no copy); PNG/JPEG bytes through
// `createImageBitmap(new Blob([bytes]))`. A view draws at most once per
// animation frame and always the newest frame: frames that arrive in
// between are skipped, never queued. `data-wsbridge-frames` counts the
// frames drawn (tests and the image benchmark read it).

import { defaultScheduler, frameThrottle } from "./util.js";
import { h, setLabel } from "./dom.js";

/** @typedef {import("./registry.js").ViewContext} ViewContext */

/**
 * Bounds on the size a Matplotlib view asks for (media.py MAX_CSS_SIDE,
 * MAX_DPR, MAX_RENDER_PIXELS): Python refuses anything beyond them.
 */
export const MAX_CSS_SIDE = 4096;
export const MAX_DPR = 4;
export const MAX_RENDER_PIXELS = 4096 * 4096;
/** ms without a resize before a Matplotlib view reports its new size */
export const RESIZE_DEBOUNCE_MS = 150;

/**
 * The `(width, height, dpr)` a Matplotlib view reports for a box
 * `width` CSS px wide: the height from `height` (CSS px) or the figure's
 * aspect ratio, everything within Python's bounds (a dpr that would pass
 * MAX_RENDER_PIXELS is lowered). Null when there is nothing to draw into.
 * @param {number} width
 * @param {number | null} height
 * @param {number} aspect height / width of the figure
 * @param {number} dpr
 * @returns {[number, number, number] | null}
 */
export function viewSize(width, height, aspect, dpr) {
  const w = Math.min(MAX_CSS_SIDE, Math.round(width));
  if (!(w >= 1)) return null;
  const ratio = Number.isFinite(aspect) && aspect > 0 ? aspect : 0.75;
  const hh = Math.min(MAX_CSS_SIDE, Math.max(1, Math.round(height !== null && height > 0 ? height : w * ratio)));
  let d = Number.isFinite(dpr) && dpr > 0 ? Math.min(MAX_DPR, Math.max(0.25, dpr)) : 1;
  if (w * d * hh * d > MAX_RENDER_PIXELS) d = Math.max(0.25, Math.floor(Math.sqrt(MAX_RENDER_PIXELS / (w * hh)) * 100) / 100);
  return [w, hh, d];
}

/**
 * A frame as the model holds it: `{data, mime, width, height}`, or null.
 * @param {any} frame
 * @returns {{data: Uint8Array<ArrayBuffer>, mime: string, width: number, height: number} | null}
 */
export function frameOf(frame) {
  if (!frame || typeof frame !== "object" || !(frame.data instanceof Uint8Array)) return null;
  const mime = typeof frame.mime === "string" ? frame.mime : "";
  const width = Number(frame.width) | 0;
  const height = Number(frame.height) | 0;
  if (mime === "raw" && (width < 1 || height < 1 || frame.data.length !== width * height * 4)) return null;
  return { data: /** @type {Uint8Array<ArrayBuffer>} */ (frame.data), mime, width, height };
}

/**
 * Image: a <canvas> showing the newest frame.
 * @param {ViewContext} ctx
 */
function imageView({ model, el, listen }) {
  const label = h("div", "wsbridge-label");
  const canvas = document.createElement("canvas");
  canvas.setAttribute("role", "img");
  canvas.className = "wsbridge-image-canvas";
  el.append(label, canvas);
  const g = canvas.getContext("2d");
  let drawn = 0;
  let decoding = false; // an encoded frame is being decoded
  let again = false; // a newer frame arrived meanwhile
  let destroyed = false;

  const style = () => {
    setLabel(label, model.get("label"));
    canvas.setAttribute("aria-label", String(model.get("label") || "image"));
    const fit = String(model.get("fit") ?? "contain");
    canvas.style.objectFit = fit;
    const w = model.get("width");
    const hh = model.get("height");
    canvas.style.width = typeof w === "number" ? `${w}px` : "";
    canvas.style.height = typeof hh === "number" ? `${hh}px` : "";
    canvas.style.imageRendering = model.get("smooth") === false ? "pixelated" : "";
  };

  /** @param {number} width @param {number} height */
  const sizeTo = (width, height) => {
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
  };

  const done = () => {
    drawn++;
    el.dataset.wsbridgeFrames = String(drawn);
  };

  const draw = () => {
    const f = frameOf(model.get("frame"));
    if (!g) return;
    if (f === null) {
      g.clearRect(0, 0, canvas.width, canvas.height);
      return;
    }
    if (f.mime === "raw") {
      sizeTo(f.width, f.height);
      // a view of the frame's own bytes: ImageData copies nothing
      const pixels = new Uint8ClampedArray(f.data.buffer, f.data.byteOffset, f.data.length);
      g.putImageData(new ImageData(pixels, f.width, f.height), 0, 0);
      done();
      return;
    }
    if (decoding) {
      again = true; // draw whatever is newest once this decode ends
      return;
    }
    decoding = true;
    createImageBitmap(new Blob([f.data], { type: f.mime }))
      .then((bitmap) => {
        if (!destroyed) {
          sizeTo(bitmap.width, bitmap.height);
          g.clearRect(0, 0, bitmap.width, bitmap.height);
          g.drawImage(bitmap, 0, 0);
          done();
        }
        bitmap.close();
      })
      .catch((err) => {
        el.dataset.wsbridgeError = `could not decode the ${f.mime} frame: ${err?.message ?? err}`;
      })
      .finally(() => {
        decoding = false;
        if (again && !destroyed) {
          again = false;
          redraw.call();
        }
      });
  };
  const redraw = frameThrottle(draw, defaultScheduler());
  listen(model, "change:frame", () => redraw.call());
  for (const name of ["label", "fit", "width", "height", "smooth"]) listen(model, `change:${name}`, style);
  style();
  draw();
  return () => {
    destroyed = true;
    redraw.cancel();
  };
}

/**
 * Matplotlib: the figure's picture in an <img> (PNG or SVG from a blob:
 * URL: an SVG shown by <img> runs no script), redrawn by Python at the
 * size this view reports. `data-wsbridge-rendered` is the picture's
 * `<width>x<height>` in device pixels once loaded.
 * @param {ViewContext} ctx
 */
function matplotlibView({ model, el, listen }) {
  const label = h("div", "wsbridge-label");
  const img = document.createElement("img");
  img.className = "wsbridge-matplotlib-img";
  img.alt = "";
  el.append(label, img);
  /** @type {string | null} */
  let url = null;
  /** @type {any} */
  let timer = null;
  let drawn = 0;

  const show = () => {
    setLabel(label, model.get("label"));
    img.alt = String(model.get("label") || "matplotlib figure");
    const f = frameOf(model.get("image"));
    if (f === null) return;
    const next = URL.createObjectURL(new Blob([f.data], { type: f.mime }));
    img.onload = () => {
      drawn++;
      el.dataset.wsbridgeFrames = String(drawn);
      el.dataset.wsbridgeRendered = `${img.naturalWidth}x${img.naturalHeight}`;
    };
    img.src = next;
    // its CSS size is the size it was drawn for (never its device pixels, which
    // would make a flex row that sizes it by its content grow at every render)
    img.style.width = `${f.width}px`;
    img.style.aspectRatio = `${f.width} / ${f.height}`;
    if (url) URL.revokeObjectURL(url);
    url = next;
  };

  const report = () => {
    timer = null;
    const hh = model.get("height");
    const size = viewSize(
      el.clientWidth,
      typeof hh === "number" ? hh : null,
      Number(model.get("aspect")),
      /** @type {any} */ (globalThis).devicePixelRatio || 1,
    );
    if (size === null) return;
    const now = model.get("view_size");
    if (Array.isArray(now) && now[0] === size[0] && now[1] === size[1] && now[2] === size[2]) return;
    model.set("view_size", size);
    model.save_changes();
  };
  const schedule = () => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(report, RESIZE_DEBOUNCE_MS);
  };

  listen(model, "change:image", show);
  listen(model, "change:label", show);
  listen(model, "change:height", schedule);
  listen(model, "change:aspect", schedule);
  /** @type {any} */
  let observer = null;
  const RO = /** @type {any} */ (globalThis).ResizeObserver;
  if (typeof RO === "function") {
    observer = new RO(schedule);
    observer.observe(el);
  }
  show();
  schedule();
  return () => {
    if (timer !== null) clearTimeout(timer);
    observer?.disconnect();
    if (url) URL.revokeObjectURL(url);
  };
}

/** Views of this module, registered by index.js. */
export const MEDIA_VIEWS = { Image: imageView, Matplotlib: matplotlibView };
