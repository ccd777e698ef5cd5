// A dashboard page inside an iframe (a notebook's output, wsbridge/_display.py)
// tells the embedding page how tall its content is, so that page can size
// the iframe to it: no inner scrollbar for a small dashboard, no 380 px box
// for a one-line one, and the frame follows content that grows (a Markdown
// model gaining lines, a table filling up).
//
// Message, page to parent: `{wsbridge: "size", height}` (CSS pixels, an
// integer). The embedding HTML listens for it from its own iframe only
// (`event.source === iframe.contentWindow`) and clamps it. Scripts may be
// stripped from notebook output by some front-ends; the iframe then keeps
// its default height and its `resize: vertical` handle.
//
// Pure helpers plus one function that touches the DOM through what it is
// given, so node tests run it with stand-ins.

/** The `wsbridge` value of a size message. */
export const SIZE = "size";

/**
 * @param {number} height
 * @returns {{wsbridge: string, height: number}}
 */
export function sizeMessage(height) {
  return { wsbridge: SIZE, height: Math.max(0, Math.ceil(height)) };
}

/** @param {unknown} origin */
function isOrigin(origin) {
  return typeof origin === "string" && /^https?:\/\/[^/?#]+$/.test(origin);
}

/**
 * The origin to post to: the embedding page's, when the browser says what
 * it is (`location.ancestorOrigins` in Chromium and Safari, else the origin
 * of `document.referrer`). Otherwise "*": the message holds nothing but a
 * height, so any page framing this one may learn it.
 * @param {ArrayLike<string> | undefined | null} ancestorOrigins
 * @param {string | undefined | null} referrer
 * @returns {string}
 */
export function parentOrigin(ancestorOrigins, referrer) {
  const first = ancestorOrigins && ancestorOrigins.length > 0 ? ancestorOrigins[0] : "";
  if (isOrigin(first)) return first;
  if (referrer) {
    try {
      const origin = new URL(referrer).origin;
      if (isOrigin(origin)) return origin;
    } catch {
      // not a URL: fall through
    }
  }
  return "*";
}

/**
 * The height a frame must have to show the whole body without scrolling:
 * the bottom of the body's margin box in document coordinates. Not
 * `documentElement.scrollHeight`, which never drops below the frame's own
 * height, so a frame could grow but never shrink.
 * @param {{bottom: number}} bodyRect `body.getBoundingClientRect()`
 * @param {number} scrollY
 * @param {number} marginBottom the body's computed bottom margin, in px
 * @returns {number}
 */
export function contentHeight(bodyRect, scrollY, marginBottom) {
  return Math.max(0, Math.ceil(bodyRect.bottom + scrollY + (marginBottom || 0)));
}

/**
 * Report this page's content height to its parent now and whenever the
 * body's size changes. Does nothing outside an iframe.
 * @param {{window?: any, ResizeObserver?: any}} [options] stand-ins (tests)
 * @returns {{destroy: () => void}}
 */
export function reportSize(options = {}) {
  const win = options.window ?? globalThis.window;
  if (!win || !win.parent || win.parent === win) return { destroy() {} };
  const doc = win.document;
  const Observer = options.ResizeObserver ?? win.ResizeObserver;
  if (!Observer || !doc?.body) return { destroy() {} };
  const origin = parentOrigin(win.location?.ancestorOrigins, doc.referrer);
  let last = -1;
  const send = () => {
    const body = doc.body;
    const margin = parseFloat(win.getComputedStyle(body).marginBottom);
    const height = contentHeight(body.getBoundingClientRect(), win.scrollY || 0, margin);
    if (height === last) return;
    last = height;
    win.parent.postMessage(sizeMessage(height), origin);
  };
  const observer = new Observer(send);
  observer.observe(doc.body);
  send();
  return { destroy: () => observer.disconnect() };
}
