// The connection to a hub: one document's replica kept live over WebSockets.
//
// The only module that touches a WebSocket (RFC 6455); its streaming-HTTP
// fallback is httpstream.js, a WebSocket-shaped object over fetch. It runs
// the connection life cycle of docs/protocol.md: hello -> welcome ->
// snapshot or replay -> live messages; automatic reconnection with
// exponential back-off and full jitter; resumption from the last applied
// (epoch, seq); a seq gap closes the socket and resumes; with several hub
// URLs, failover between them (endpoints.js); with `transport: "auto"`, the
// fallback after a round of WebSockets that never got through. Decoding is wire/codec.js, the replica
// state.js, the anywidget models model.js. No DOM here: wsbridge.js adds
// `render` (the views) to make the public `Client`.

import { Emitter } from "./events.js";
import { ProtocolError, ack, custom, decode, encode, event, hello, set } from "../wire/codec.js";
import { DocumentState } from "./state.js";
import { EchoGuard, Model } from "./model.js";
import { backoffStep, chooseTransport, nextEndpoint, resolveEndpoint, resolveEndpoints, streamEndpoint } from "./endpoints.js";
import { HttpStreamSocket } from "./httpstream.js";
import { Uploads } from "./files.js";

export { ProtocolError, resolveEndpoint, resolveEndpoints };

/**
 * Close codes after which reconnecting cannot help (docs/protocol.md "Close
 * codes"): 1002 wrong protocol version (RFC 6455 §7.4.1), 1008 policy (no
 * hello, bad token, unknown document, sustained flood). Every other code,
 * 1001 (hub stopping), 1006 (connection lost, RFC 6455 §7.1.5), 4001 (slow
 * consumer), 4008 (no hello in time), 1013 (too many clients), 1011...,
 * reconnects. With several hub URLs a fatal code ends
 * the client too, whichever hub sent it: hubs serving the same documents
 * share their token, version and documents, so the others would refuse the
 * same way.
 */
export const FATAL_CLOSE_CODES = Object.freeze(new Set([1002, 1008]));

/** Close code this client uses to drop a connection that skipped a seq (RFC 6455 §7.4.2: 4000-4999 are private). */
export const RESYNC_CLOSE_CODE = 4000;

const OPEN = 1; // WebSocket.OPEN

/**
 * @typedef {"connecting" | "connected" | "reconnecting" | "offline" | "stale" | "closed"} Status
 */

/**
 * Failed reconnection attempts in a row after which the hub counts as gone
 * (status "offline"): with the default back-off, about two seconds.
 */
export const OFFLINE_AFTER = 3;

/**
 * @typedef {object} ConnectOptions
 * @property {string} [doc] the document name (derived from a dashboard page URL)
 * @property {string} [token] sent in `hello` to every hub (default: each http(s) URL's own `token` query parameter)
 * @property {string | null} [key] a per-session document's key, sent in `hello` (its page carries it; docs/protocol.md "hello")
 * @property {Record<string, string> | null} [query] the page's address query, sent in `hello` (a per-session app's factory reads it)
 * @property {any} [WebSocket] the WebSocket constructor (default `globalThis.WebSocket`)
 * @property {"auto" | "websocket" | "http"} [transport] "auto" (default; a page's `?transport=` when not given): a WebSocket, and streaming HTTP after a round of hubs where none got through; or only that one (docs/protocol.md "Streaming HTTP")
 * @property {typeof fetch} [fetch] for the streaming-HTTP transport (default `globalThis.fetch`)
 * @property {{initial?: number, max?: number}} [backoff] reconnection delays in ms (default 250 / 10000)
 * @property {number | null} [ackInterval] ms between `ack`s of the applied seq; null or 0: never (default 1000)
 * @property {{setTimeout: typeof setTimeout, clearTimeout: typeof clearTimeout}} [timers] for tests
 * @property {() => number} [random] uniform in [0, 1), for the jitter (tests)
 */

/**
 * Exponential back-off with full jitter: uniform in [0, min(max, initial * 2^attempt)).
 * @param {number} attempt 0 for the first retry
 * @param {{initial: number, max: number}} backoff ms
 * @param {() => number} [random]
 */
export function backoffDelay(attempt, { initial, max }, random = Math.random) {
  return random() * Math.min(max, initial * 2 ** attempt);
}

/**
 * A live replica of one document. Create it with `connect` (wsbridge.js);
 * or `new Client(url, opts)`, attach status listeners or `renderStatus`,
 * then `client.start()` and `await client.ready`. `Client` is this class
 * with `render`; this one has no DOM.
 *
 * `url` may be a list of URLs of hubs serving the same document (hubs
 * sharing a backplane, or a hub's peers): the client connects to the first,
 * and after a failed or dropped connection tries the next one, round-robin
 * (endpoints.js). The replica, its epoch and seq are kept across hubs, so a
 * hub sharing the document's log (same epoch) replays exactly what was
 * missed and any other hub answers with a snapshot (docs/protocol.md).
 *
 * Events (`on`/`off`): `"status"` (status, reason), `"error"` (the hub's
 * error message object), `"snapshot"` (message), `"message"` (every decoded
 * hub message, after it was applied).
 */
export class Connection extends Emitter {
  /**
   * @param {string | URL | (string | URL)[]} url one URL, or hubs serving the same document
   * @param {ConnectOptions} [opts]
   */
  constructor(url, opts = {}) {
    super();
    const { endpoints, doc } = resolveEndpoints(url, opts);
    /** @type {import("./endpoints.js").Endpoint[]} */
    this._endpoints = endpoints;
    /** @type {readonly string[]} every WebSocket URL, in rotation order */
    this.endpoints = Object.freeze(endpoints.map((e) => e.endpoint));
    /** index in `endpoints` of the current (or next) connection */
    this._index = 0;
    /** @type {string} */
    this._docName = doc;
    /** @type {string | null} */
    this._key = opts.key ?? null;
    /** @type {Record<string, string> | null} */
    this._query = opts.query ?? null;
    this._WebSocket = opts.WebSocket ?? globalThis.WebSocket;
    // a WebSocket passed in (tests, Node) falls back only to a fetch passed in
    this._fetch = opts.fetch ?? (opts.WebSocket ? undefined : globalThis.fetch?.bind(globalThis));
    /** "auto", "websocket" or "http" */
    this.transportMode = chooseTransport(opts.transport);
    /** @type {"websocket" | "http"} what the current (or next) connection uses */
    this.transport = this.transportMode === "http" ? "http" : "websocket";
    /** failed connections in a row over `transport` (auto switches after a round of hubs) */
    this._failedHere = 0;
    /** a WebSocket connection synced once: after a drop, auto goes back to it */
    this._wsWorked = false;
    /** the current connection synced */
    this._synced = false;
    this._backoff = { initial: 250, max: 10000, ...(opts.backoff ?? {}) };
    this._ackInterval = opts.ackInterval === undefined ? 1000 : opts.ackInterval;
    this._timers = opts.timers ?? { setTimeout: globalThis.setTimeout.bind(globalThis), clearTimeout: globalThis.clearTimeout.bind(globalThis) };
    this._random = opts.random ?? Math.random;

    /** @type {Status} */
    this.status = "connecting";
    /** @type {string} why the status is what it is ("" when connected) */
    this.reason = "";
    this.guard = new EchoGuard();
    /** the document replica (state.js) */
    this.state = new DocumentState({ filterPatch: (msg) => this.guard.filter(msg) });
    /** @type {Map<string, Model>} */
    this._models = new Map();
    /** @type {Map<string, Record<string, any>>} sets made while not connected, sent after the next sync */
    this._unsent = new Map();
    this._req = 0;
    /** consecutive failed or dropped connections since the last sync */
    this._failures = 0;
    /** @type {any} */
    this._ws = null;
    /** @type {any} */
    this._retryTimer = null;
    /** @type {any} */
    this._ackTimer = null;
    this._ackedSeq = -1;
    this._started = false;
    this._everSynced = false;
    /** @type {Record<string, any> | null} */
    this._lastError = null;
    /** @type {Set<string>} */
    this._warned = new Set();

    /** @type {(c: Connection) => void} */
    let resolve = () => {};
    /** @type {(e: Error) => void} */
    let reject = () => {};
    /** resolves when the first state is applied; rejects on a fatal close before that */
    this.ready = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this._resolveReady = resolve;
    this._rejectReady = reject;
    this.ready.catch(() => {}); // connect() reports it; never an unhandled rejection

    this.state.on("welcome", (/** @type {any} */ msg) => this.guard.reset(msg.session));
    this.state.on("synced", () => this._onSynced());
    this.state.on("snapshot", (/** @type {any} */ msg) => this.emit("snapshot", msg));
    /** file uploads of this connection (files.js) */
    this._uploads = new Uploads({
      send: (msg) => this.status === "connected" && this._send(msg),
      on: (name, cb) => this.on(name, cb),
      limits: () => this.limits,
    });
  }

  // -- the document

  /** @returns {string} the WebSocket URL of the current (or next) connection */
  get endpoint() {
    return this._endpoints[this._index].endpoint;
  }

  /** @returns {number | null} the last seq applied */
  get seq() {
    return this.state.seq;
  }
  /** @returns {string | null} the epoch of the applied state */
  get epoch() {
    return this.state.epoch;
  }
  /** @returns {string | null} this connection's session id (from `welcome`) */
  get session() {
    return this.state.session;
  }
  /** @returns {string} the document name */
  get doc() {
    return this.state.doc ?? this._docName;
  }
  /** @returns {string} */
  get title() {
    return this.state.title;
  }
  /** @returns {string | null} the root model id (the layout to draw) */
  get root() {
    return this.state.root;
  }
  /** @returns {Record<string, any>} the hub's limits (from `welcome`) */
  get limits() {
    return this.state.limits;
  }

  /**
   * The anywidget-style model for `id` (the same object every time; it
   * follows the model across reconnections).
   * @param {string} id
   * @returns {Model}
   */
  model(id) {
    let m = this._models.get(id);
    if (!m) this._models.set(id, (m = new Model(id, this)));
    return m;
  }

  /** @returns {string[]} the ids of the document's models */
  models() {
    return [...this.state.models.keys()];
  }

  /**
   * A source: `.data` (column name -> typed array or array), `.length`,
   * `.on("change", cb)`. The same object every time, also before its data
   * arrives (then empty).
   * @param {string} id
   */
  source(id) {
    return this.state.source(id);
  }

  /** @returns {string[]} the ids of the document's sources */
  sources() {
    return [...this.state.sources.keys()];
  }

  // -- sending (the ModelHost interface of model.js, and events)

  /**
   * Send a `set` now, or when connected again.
   * @param {string} model
   * @param {Record<string, any>} state
   */
  sendSet(model, state) {
    if (this.status !== "connected") {
      this._unsent.set(model, Object.assign(this._unsent.get(model) ?? {}, state));
      return;
    }
    const req = ++this._req;
    const msg = set(model, state, req);
    this.guard.sent(model, Object.keys(state), req);
    this._send(msg);
  }

  /**
   * Send a `custom` message to a model on the Python side.
   * @param {string} model
   * @param {any} content
   * @param {(ArrayBuffer | ArrayBufferView)[]} [buffers]
   * @returns {boolean} false when not connected (the message is dropped)
   */
  sendCustom(model, content, buffers = []) {
    return this._sendIfConnected(custom(model, content, buffers));
  }

  /**
   * Fire a declared event of a model (a Button's "click").
   * @param {string} model
   * @param {string} name
   * @param {any} [data]
   * @returns {boolean} false when not connected (the event is dropped: a
   *   click must not fire minutes later)
   */
  event(model, name, data = null) {
    return this._sendIfConnected(event(model, name, data));
  }

  /**
   * Upload files to a model that takes them (a FileInput), in binary chunks;
   * resolves once Python has handled them, rejects with the reason to show
   * (docs/protocol.md "Files").
   * @param {string} model
   * @param {import("./files.js").UploadFile[]} files
   * @param {import("./files.js").Progress} [progress] `(received, total)` as the hub acknowledges bytes
   * @returns {Promise<void>}
   */
  upload(model, files, progress) {
    return this._uploads.upload(model, files, progress);
  }

  // -- life cycle

  /** Open the first connection (idempotent). @returns {Promise<Connection>} `ready` */
  start() {
    if (!this._started && this.status !== "closed") {
      this._started = true;
      this._open();
    }
    return this.ready;
  }

  /** Close for good: no more reconnections. */
  close() {
    if (this.status === "closed") return;
    this._stopTimers();
    const ws = this._ws;
    this._ws = null;
    if (ws) safeClose(ws, 1000, "client closed");
    this._setStatus("closed", "closed by the client");
    this._rejectReady(new Error("wsbridge: the client was closed before it connected"));
  }

  _open() {
    this._retryTimer = null;
    if (this.status === "closed") return;
    this._synced = false;
    const noWebSocket = typeof this._WebSocket !== "function";
    if (this.transport === "websocket" && noWebSocket && this.transportMode === "auto" && typeof this._fetch === "function") {
      this.transport = "http";
    }
    const http = this.transport === "http";
    const WS = http ? HttpStreamSocket : this._WebSocket;
    if (http ? typeof this._fetch !== "function" : typeof WS !== "function") {
      this._fail(http ? "no fetch implementation (pass opts.fetch)" : "no WebSocket implementation (pass opts.WebSocket)");
      return;
    }
    let ws;
    try {
      ws = http ? new HttpStreamSocket(streamEndpoint(this.endpoint), { fetch: this._fetch, timers: this._timers }) : new WS(this.endpoint);
    } catch (err) {
      // the constructor throws only for an unusable URL: retrying cannot help
      this._fail(`cannot open ${this.endpoint}: ${/** @type {Error} */ (err).message}`);
      return;
    }
    ws.binaryType = "arraybuffer"; // binary frames as ArrayBuffers, for zero-copy views
    this._ws = ws;
    ws.onopen = () => {
      if (ws !== this._ws) return;
      const { epoch, seq } = this.state;
      // the same resume point whichever hub this is: the replica is the client's, not the hub's
      const { token } = this._endpoints[this._index];
      const resume = { epoch: seq === null ? null : epoch, seq };
      this._send(hello({ doc: this._docName, token, key: this._key, query: this._query, ...resume }));
    };
    ws.onmessage = (/** @type {{data: any}} */ ev) => {
      if (ws === this._ws) this._onFrame(ev.data);
    };
    ws.onclose = (/** @type {{code: number, reason: string}} */ ev) => {
      if (ws === this._ws) this._onClose(ev.code, ev.reason);
    };
    ws.onerror = () => {}; // a close event always follows (WHATWG WebSocket "fail the connection")
  }

  /** @param {any} data */
  _onFrame(data) {
    let msg;
    try {
      msg = decode(data);
    } catch (err) {
      // A frame we cannot read: drop it. If it was a sequenced message, the
      // next one shows a gap and we resume from the hub's log.
      console.warn("wsbridge: dropped an unreadable frame from the hub:", /** @type {Error} */ (err).message);
      return;
    }
    if (msg.type === "error") this._onHubError(msg);
    const outcome = this.state.apply(msg);
    if (outcome === "gap") {
      this._resync();
      return;
    }
    this.emit("message", msg);
    if (outcome === "applied" && this.status === "connected") this._scheduleAck();
  }

  /** @param {Record<string, any>} msg */
  _onHubError(msg) {
    this._lastError = msg;
    const key = `${msg.code}\n${msg.message}`;
    if (!this._warned.has(key)) {
      this._warned.add(key);
      console.warn(`wsbridge: the hub reported ${msg.code}: ${msg.message}`);
    }
    this.emit("error", msg);
    // the document's producer (a kernel) went away: its last state stays on
    // screen, marked stale, until a new snapshot arrives (docs/protocol.md)
    if (msg.code === "producer_gone" && this.status === "connected") this._setStatus("stale", msg.message);
  }

  _onSynced() {
    this._failures = 0;
    this._synced = true;
    this._failedHere = 0;
    if (this.transport === "websocket") this._wsWorked = true;
    this._everSynced = true;
    this._lastError = null;
    this._setStatus("connected", "");
    const unsent = [...this._unsent];
    this._unsent.clear();
    for (const [model, state] of unsent) if (this.state.models.has(model)) this.sendSet(model, state);
    this._sendAck();
    this._resolveReady(this);
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  _onClose(code, reason) {
    this._ws = null;
    this._stopTimers();
    if (FATAL_CLOSE_CODES.has(code)) {
      const why = this._lastError ? `${this._lastError.code}: ${this._lastError.message}` : reason || `close code ${code}`;
      this._fail(why);
      return;
    }
    // this hub failed or dropped us (1001 stopping, 1006 lost, 4001, 1013
    // full...): the next attempt goes to the next hub
    this._index = nextEndpoint(this._index, this._endpoints.length);
    this._chooseTransport();
    this._reconnect(reason || `connection lost (code ${code})`);
  }

  /**
   * `transport: "auto"`: after a full round of hubs failed before syncing
   * over one transport, try the other (a proxy that refuses WebSockets, or
   * a network that drops them); after a synced stream dropped, go back to
   * a WebSocket if one worked before (the hub restarted, say).
   */
  _chooseTransport() {
    if (this.transportMode !== "auto") return;
    if (this._synced) {
      if (this.transport === "http" && this._wsWorked) this.transport = "websocket";
      return;
    }
    if (++this._failedHere < this._endpoints.length) return;
    this._failedHere = 0;
    const other = this.transport === "websocket" ? "http" : "websocket";
    if (other === "http" ? typeof this._fetch === "function" : typeof this._WebSocket === "function") this.transport = other;
  }

  /**
   * A seq gap: drop this connection and resume (docs/protocol.md). On the
   * same hub: it is alive and its log is the likeliest to replay the gap.
   */
  _resync() {
    const ws = this._ws;
    this._ws = null;
    this._stopTimers();
    if (ws) safeClose(ws, RESYNC_CLOSE_CODE, "seq gap");
    this._reconnect("missed messages; resynchronising");
  }

  /** @param {string} reason */
  _reconnect(reason) {
    if (this.status === "closed") return;
    // an embedded hub is the Python process itself: past a few failed
    // attempts nothing is listening; keep trying, but say so (and the page
    // disables its controls)
    if (this._failures >= OFFLINE_AFTER) this._setStatus("offline", reason);
    else this._setStatus("reconnecting", reason);
    const step = backoffStep(this._failures++, this._endpoints.length);
    const delay = backoffDelay(step, this._backoff, this._random);
    this._retryTimer = this._timers.setTimeout(() => this._open(), delay);
  }

  /** @param {string} reason */
  _fail(reason) {
    this._stopTimers();
    this._setStatus("closed", reason);
    const err = /** @type {Error & {client?: Connection}} */ (new Error(`wsbridge: ${reason}`));
    err.client = this;
    this._rejectReady(err);
  }

  /**
   * @param {Status} status
   * @param {string} reason
   */
  _setStatus(status, reason) {
    if (status === this.status && reason === this.reason) return;
    this.status = status;
    this.reason = reason;
    this.emit("status", status, reason);
  }

  _stopTimers() {
    if (this._retryTimer !== null) this._timers.clearTimeout(this._retryTimer);
    if (this._ackTimer !== null) this._timers.clearTimeout(this._ackTimer);
    this._retryTimer = null;
    this._ackTimer = null;
  }

  _scheduleAck() {
    if (!this._ackInterval || this._ackTimer !== null) return;
    this._ackTimer = this._timers.setTimeout(() => {
      this._ackTimer = null;
      this._sendAck();
    }, this._ackInterval);
  }

  _sendAck() {
    if (!this._ackInterval || this.state.seq === null || this.state.seq === this._ackedSeq) return;
    if (this._send(ack(this.state.seq))) this._ackedSeq = this.state.seq;
  }

  /** @param {Record<string, any>} msg */
  _sendIfConnected(msg) {
    if (this.status !== "connected") {
      console.warn(`wsbridge: not connected; ${msg.type} for ${msg.model} dropped`);
      return false;
    }
    return this._send(msg);
  }

  /**
   * @param {Record<string, any>} msg
   * @returns {boolean} whether the frame was handed to the socket
   */
  _send(msg) {
    const ws = this._ws;
    if (!ws || ws.readyState !== OPEN) return false;
    const frame = encode(msg);
    const max = this.state.limits?.max_message_size;
    const size = typeof frame === "string" ? frame.length : frame.byteLength;
    if (typeof max === "number" && size > max) {
      // the hub would close with 1009 (RFC 6455 §7.4.1); refuse it here instead
      console.warn(`wsbridge: a ${msg.type} of ${size} bytes exceeds the hub's max_message_size ${max}; not sent`);
      return false;
    }
    try {
      ws.send(frame);
      return true;
    } catch (err) {
      console.warn("wsbridge: send failed:", /** @type {Error} */ (err).message);
      return false;
    }
  }
}

/**
 * @param {any} ws
 * @param {number} code
 * @param {string} reason
 */
function safeClose(ws, code, reason) {
  try {
    ws.close(code, reason);
  } catch {
    // already closing or closed
  }
}
