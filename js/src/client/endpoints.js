// Where the client connects: URL resolution and the rotation policy over
// several hubs. Pure functions only (no sockets, no timers), so they are
// unit-tested directly; connection.js applies them.

/**
 * @typedef {object} Endpoint
 * @property {string} endpoint the WebSocket URL `ws(s)://host/base/ws`
 * @property {string | null} token sent in `hello` to this endpoint
 */

/**
 * A URL's endpoint, and the document and token it names, if any.
 * @param {string | URL} url
 * @param {string | null} token the caller's, which wins over the URL's
 * @returns {{endpoint: string, doc: string | null, token: string | null}}
 */
function parseUrl(url, token) {
  const u = new URL(String(url), globalThis.location?.href);
  /** @type {string | null} */
  let doc = null;
  let endpoint;
  if (u.protocol === "ws:" || u.protocol === "wss:") {
    endpoint = u.href;
  } else if (u.protocol === "http:" || u.protocol === "https:") {
    const page = /^(.*\/)d\/([^/]+)\/?$/.exec(u.pathname);
    let base;
    if (page) {
      base = page[1];
      doc = decodeURIComponent(page[2]);
    } else {
      base = u.pathname.endsWith("/") ? u.pathname : `${u.pathname}/`;
    }
    endpoint = `${u.protocol === "https:" ? "wss:" : "ws:"}//${u.host}${base}ws`;
    token = token ?? u.searchParams.get("token");
  } else {
    throw new TypeError(`connect: ${u.protocol} URLs are not supported (use http(s) or ws(s))`);
  }
  return { endpoint, doc, token };
}

/** @param {string | null | undefined} name */
function requireName(name) {
  if (typeof name !== "string" || name === "") {
    throw new TypeError("connect: name the document with opts.doc (or pass a dashboard page URL .../d/<name>)");
  }
  return name;
}

/**
 * Where to connect, from what the caller has:
 * - a WebSocket endpoint `ws(s)://host/base/ws` (then `doc` is required);
 * - a hub base `http(s)://host/base/` (then `doc` is required); the endpoint
 *   is `<base>ws` (docs/protocol.md "Roles and transport");
 * - a dashboard page `http(s)://host/base/d/<name>`: base and document from it.
 * Relative URLs resolve against the page's location.
 * @param {string | URL} url
 * @param {{doc?: string | null, token?: string | null}} [opts]
 * @returns {{endpoint: string, doc: string, token: string | null}}
 */
export function resolveEndpoint(url, { doc = null, token = null } = {}) {
  const parsed = parseUrl(url, token);
  return { endpoint: parsed.endpoint, doc: requireName(doc ?? parsed.doc), token: parsed.token };
}

/**
 * Resolve one URL or a list of URLs of hubs serving the same document (the
 * scaled deployment of docs/deploy.md: hubs sharing a backplane, or peers).
 *
 * Each URL is resolved as by {@link resolveEndpoint}. The document is
 * `opts.doc`, else the one the dashboard page URLs name, which must agree:
 * one client is one document's replica, and resuming it on a hub under
 * another document's name would be meaningless. So
 * `["http://a/d/main", "http://b/"]` is document `main` on hubs a and b. A
 * duplicate endpoint is kept once (first position), so rotation never
 * retries the hub that just failed under another spelling of its URL.
 * Tokens stay per endpoint: `opts.token` applies to all, else each URL's
 * own `token` query parameter.
 * @param {string | URL | (string | URL)[]} urls
 * @param {{doc?: string | null, token?: string | null}} [opts]
 * @returns {{endpoints: Endpoint[], doc: string}}
 */
export function resolveEndpoints(urls, { doc = null, token = null } = {}) {
  const list = Array.isArray(urls) ? urls : [urls];
  if (list.length === 0) throw new TypeError("connect: the list of URLs is empty");
  const parsed = list.map((url) => parseUrl(url, token));
  let name = doc;
  if (name === null) {
    for (const p of parsed) {
      if (p.doc === null) continue;
      if (name === null) name = p.doc;
      else if (p.doc !== name) {
        throw new TypeError(`connect: every URL must name the same document (${JSON.stringify(name)} and ${JSON.stringify(p.doc)})`);
      }
    }
  }
  /** @type {Endpoint[]} */
  const endpoints = [];
  for (const p of parsed) {
    if (!endpoints.some((e) => e.endpoint === p.endpoint)) endpoints.push({ endpoint: p.endpoint, token: p.token });
  }
  return { endpoints, doc: requireName(name) };
}

/**
 * The next endpoint to try after a connection failed or dropped:
 * round-robin, so a dead hub is left at once and every hub is tried before
 * any is tried twice.
 * @param {number} index the endpoint that failed
 * @param {number} count how many endpoints there are
 * @returns {number}
 */
export function nextEndpoint(index, count) {
  return (index + 1) % count;
}

/**
 * Which back-off step the `failures`-th consecutive failure (0 for the first)
 * waits for, with `count` endpoints: the step grows once per *full cycle*
 * over the endpoints, not per attempt.
 *
 * Why per cycle: with hubs A and B, when A dies its clients should reach B
 * after one short, jittered delay (step 0: uniform in [0, initial)), not
 * after a delay that grew because A was tried first. Once every hub has
 * failed in a row, the whole set is probably down (or the network is), and
 * the delay doubles per round as for a single hub, so a client hammers no
 * hub harder than a single-URL client would. The jitter still applies to
 * every attempt, which spreads a dead hub's clients over the live ones'
 * first step instead of a thundering herd. With one endpoint this is the
 * plain per-attempt back-off.
 * @param {number} failures consecutive failures since the last sync
 * @param {number} count how many endpoints there are
 * @returns {number}
 */
export function backoffStep(failures, count) {
  return Math.floor(failures / Math.max(1, count));
}

/**
 * The streaming-HTTP endpoint of a WebSocket endpoint (docs/protocol.md
 * "Streaming HTTP"): `ws(s)://host/base/ws` -> `http(s)://host/base/stream`,
 * the query kept.
 * @param {string} endpoint
 * @returns {string}
 */
export function streamEndpoint(endpoint) {
  const u = new URL(endpoint);
  u.protocol = u.protocol === "wss:" ? "https:" : "http:";
  u.pathname = u.pathname.endsWith("/ws") ? `${u.pathname.slice(0, -2)}stream` : `${u.pathname.replace(/\/?$/, "/")}stream`;
  return u.href;
}

/** What carries a connection; "auto" tries a WebSocket first. */
export const TRANSPORTS = Object.freeze(["auto", "websocket", "http"]);

/**
 * The transport a client uses: the option (an unknown one throws), else a
 * page's `?transport=` when it names one (a dashboard URL forcing the
 * fallback), else "auto".
 * @param {string | undefined} option
 * @param {string} [search] `location.search`
 * @returns {string}
 */
export function chooseTransport(option, search = globalThis.location?.search ?? "") {
  if (option === undefined) {
    // the page's own query may mean something else to its author: only ours counts
    const fromPage = new URLSearchParams(search).get("transport");
    return fromPage !== null && TRANSPORTS.includes(fromPage) ? fromPage : "auto";
  }
  if (!TRANSPORTS.includes(option)) throw new TypeError(`connect: transport is one of ${TRANSPORTS.join(", ")}, not ${JSON.stringify(option)}`);
  return option;
}
