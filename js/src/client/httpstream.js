// The streaming-HTTP fallback transport: a WebSocket-shaped object over fetch.
//
// Where a WebSocket cannot be opened (a proxy that refuses `Upgrade`), the
// hub sends the same frames in one long-lived `POST <url>stream` response
// and takes the client's by `POST <url>stream/<id>` (docs/protocol.md
// "Streaming HTTP"). Each frame is kind (1 byte) + length (4 bytes,
// big-endian) + payload; a binary frame arrives as an ArrayBuffer of its
// own, as a WebSocket's with `binaryType = "arraybuffer"`. `HttpStreamSocket`
// has the WebSocket members connection.js uses (`readyState`, `send`,
// `close`, `onopen`, `onmessage`, `onclose`), so the connection's life
// cycle, resume and failover are the same code for both. With
// connection.js, the only module that touches the network
// (js/test/layering.test.js). Python twin: wsbridge/wire/framing.py.

/** Frame kinds. */
export const KIND = Object.freeze({ TEXT: 1, BINARY: 2, OPEN: 3, CLOSE: 8, KEEPALIVE: 9 });
/** @type {Set<number>} */
const KINDS = new Set(Object.values(KIND));
const HEADER = 5;

/** A POST carries at most this many bytes of frames, unless one frame is larger. */
export const BATCH_BYTES = 64 * 1024;

/** A stream that breaks the framing. */
export class FramingError extends Error {}

/**
 * One frame's bytes.
 * @param {number} kind
 * @param {Uint8Array} payload
 * @returns {Uint8Array}
 */
export function encodeFrame(kind, payload) {
  const out = new Uint8Array(HEADER + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind);
  view.setUint32(1, payload.byteLength);
  out.set(payload, HEADER);
  return out;
}

/**
 * A message as a frame: a string is a text frame, anything else binary.
 * @param {string | ArrayBuffer | ArrayBufferView} data
 */
export function messageFrame(data) {
  if (typeof data === "string") return encodeFrame(KIND.TEXT, new TextEncoder().encode(data));
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return encodeFrame(KIND.BINARY, bytes);
}

/**
 * Bytes in, frames out, whatever the slicing of the stream.
 */
export class FrameParser {
  /** @param {number} [maxPayload] a larger declared frame is refused */
  constructor(maxPayload = 1 << 30) {
    this.maxPayload = maxPayload;
    /** @type {Uint8Array[]} */
    this._chunks = [];
    this._size = 0;
  }

  /** @returns {number} bytes of an incomplete frame held */
  get buffered() {
    return this._size;
  }

  /**
   * @param {Uint8Array} chunk
   * @returns {{kind: number, payload: Uint8Array}[]} each payload a copy of its own
   */
  push(chunk) {
    if (chunk.byteLength) {
      this._chunks.push(chunk);
      this._size += chunk.byteLength;
    }
    const out = [];
    while (this._size >= HEADER) {
      const head = this._peek(HEADER);
      const kind = head[0];
      const length = new DataView(head.buffer, head.byteOffset, HEADER).getUint32(1);
      if (!KINDS.has(kind)) throw new FramingError(`unknown frame kind ${kind}`);
      if (length > this.maxPayload) throw new FramingError(`a frame of ${length} bytes exceeds ${this.maxPayload}`);
      if (this._size < HEADER + length) break;
      this._take(HEADER);
      out.push({ kind, payload: this._take(length) });
    }
    return out;
  }

  /** The stream ended: throws if it ended inside a frame. */
  finish() {
    if (this._size) throw new FramingError(`the stream ended inside a frame (${this._size} bytes)`);
  }

  /** @param {number} n */
  _peek(n) {
    const first = this._chunks[0];
    if (first.byteLength >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of this._chunks) {
      const piece = c.subarray(0, n - at);
      out.set(piece, at);
      at += piece.byteLength;
      if (at === n) break;
    }
    return out;
  }

  /** The next `n` bytes, in a buffer of their own. @param {number} n */
  _take(n) {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this._chunks[0];
      const piece = c.subarray(0, n - at);
      out.set(piece, at);
      at += piece.byteLength;
      if (piece.byteLength === c.byteLength) this._chunks.shift();
      else this._chunks[0] = c.subarray(piece.byteLength);
    }
    this._size -= n;
    return out;
  }
}

/**
 * `(code, reason)` of a close frame's payload (RFC 6455 §5.5.1 layout).
 * @param {Uint8Array} payload
 */
export function parseClose(payload) {
  if (payload.byteLength < 2) return { code: 1005, reason: "" };
  const code = new DataView(payload.buffer, payload.byteOffset, 2).getUint16(0);
  return { code, reason: new TextDecoder().decode(payload.subarray(2)) };
}

/** @param {Uint8Array[]} parts */
function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * A WebSocket-shaped session over streaming HTTP. It is "open" at once (the
 * frames sent in `onopen`, the hello, travel in the opening request's body);
 * it closes with the code of the hub's close frame, or 1006 when the
 * response fails or ends without one (a refused request, a cut, a stream
 * silent for two keep-alive intervals).
 */
export class HttpStreamSocket {
  /**
   * @param {string} url the stream endpoint `http(s)://host/base/stream`
   * @param {{fetch?: typeof fetch, timers?: {setTimeout: typeof setTimeout, clearTimeout: typeof clearTimeout}}} [opts]
   */
  constructor(url, opts = {}) {
    this.url = url;
    this.binaryType = "arraybuffer";
    this.readyState = CONNECTING;
    /** the stream's id, from its open frame (input goes to `<url>/<id>`) */
    this.id = "";
    /** @type {((ev: any) => void) | null} */
    this.onopen = null;
    /** @type {((ev: {data: string | ArrayBuffer}) => void) | null} */
    this.onmessage = null;
    /** @type {((ev: {code: number, reason: string, wasClean: boolean}) => void) | null} */
    this.onclose = null;
    /** @type {((ev: any) => void) | null} */
    this.onerror = null;
    this._fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this._timers = opts.timers ?? { setTimeout: globalThis.setTimeout.bind(globalThis), clearTimeout: globalThis.clearTimeout.bind(globalThis) };
    this._abort = new AbortController();
    /** @type {Uint8Array[]} frames not sent yet */
    this._queue = [];
    this._posting = false;
    this._started = false;
    /** @type {{code: number, reason: string} | null} */
    this._closeFrame = null;
    this._heard = Date.now();
    /** @type {any} */
    this._watchdog = null;
    queueMicrotask(() => {
      if (this.readyState !== CONNECTING) return;
      this.readyState = OPEN;
      this.onopen?.({});
      this._start();
    });
  }

  /** @param {string | ArrayBuffer | ArrayBufferView} data */
  send(data) {
    if (this.readyState !== OPEN) throw new Error("the stream is not open");
    this._queue.push(messageFrame(data));
    if (this._started) this._pump();
  }

  /**
   * @param {number} [code]
   * @param {string} [reason]
   */
  close(code = 1000, reason = "") {
    if (this.readyState >= CLOSING) return;
    this.readyState = CLOSING;
    queueMicrotask(() => this._finish(code, reason));
  }

  async _start() {
    this._started = true;
    const body = concat(this._queue.splice(0));
    let response;
    try {
      response = await this._fetch(this.url, {
        method: "POST",
        body,
        headers: { "Content-Type": "application/octet-stream" },
        cache: "no-store",
        credentials: "same-origin",
        signal: this._abort.signal,
      });
    } catch (err) {
      this._finish(1006, `stream request failed: ${/** @type {Error} */ (err).message}`);
      return;
    }
    if (response.status !== 200 || !response.body) {
      this._finish(1006, `stream refused: HTTP ${response.status}`);
      return;
    }
    const reader = response.body.getReader();
    const parser = new FrameParser();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this._heard = Date.now();
        for (const frame of parser.push(value)) this._onFrame(frame.kind, frame.payload);
        if (this.readyState === CLOSED) return;
      }
      parser.finish();
    } catch (err) {
      if (this.readyState !== CLOSED) this._finish(1006, `stream lost: ${/** @type {Error} */ (err).message}`);
      return;
    }
    const end = this._closeFrame;
    this._finish(end ? end.code : 1006, end ? end.reason : "the stream ended");
  }

  /**
   * @param {number} kind
   * @param {Uint8Array} payload
   */
  _onFrame(kind, payload) {
    if (this.readyState === CLOSED) return;
    if (kind === KIND.TEXT) this.onmessage?.({ data: new TextDecoder().decode(payload) });
    else if (kind === KIND.BINARY) this.onmessage?.({ data: /** @type {ArrayBuffer} */ (payload.buffer) });
    else if (kind === KIND.OPEN) {
      const info = JSON.parse(new TextDecoder().decode(payload));
      this.id = String(info.stream);
      const every = Number(info.keepalive) || 0;
      if (every > 0) this._watch(every * 1000);
      this._pump();
    } else if (kind === KIND.CLOSE) this._closeFrame = parseClose(payload);
  }

  /**
   * Drop a stream silent for two keep-alive intervals (and a second).
   * @param {number} every ms
   */
  _watch(every) {
    const silent = 2 * every + 1000;
    const check = () => {
      if (this.readyState === CLOSED) return;
      if (Date.now() - this._heard > silent) {
        this._finish(1006, "the stream went silent");
        return;
      }
      this._watchdog = this._timers.setTimeout(check, every);
    };
    this._watchdog = this._timers.setTimeout(check, every);
  }

  /** POST what is queued, one request at a time, in order. */
  async _pump() {
    if (this._posting || !this.id || this.readyState !== OPEN) return;
    this._posting = true;
    try {
      while (this._queue.length && this.readyState === OPEN) {
        const batch = [this._queue.shift()];
        let size = batch[0]?.byteLength ?? 0;
        while (this._queue.length && size + this._queue[0].byteLength <= BATCH_BYTES) {
          const next = /** @type {Uint8Array} */ (this._queue.shift());
          size += next.byteLength;
          batch.push(next);
        }
        const response = await this._fetch(`${this.url}/${this.id}`, {
          method: "POST",
          body: concat(/** @type {Uint8Array[]} */ (batch)),
          headers: { "Content-Type": "application/octet-stream" },
          cache: "no-store",
          credentials: "same-origin",
        });
        // a refusal closes the stream too; its close frame says why
        if (response.status !== 204) console.warn(`wsbridge: input refused: HTTP ${response.status}`);
      }
    } catch (err) {
      console.warn("wsbridge: input not sent:", /** @type {Error} */ (err).message);
    } finally {
      this._posting = false;
    }
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  _finish(code, reason) {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    if (this._watchdog !== null) this._timers.clearTimeout(this._watchdog);
    this._abort.abort();
    this.onclose?.({ code, reason, wasClean: code !== 1006 });
  }
}
