// The browser client's public entry point: `const c = await connect(url)`.
//
// Pages and users import this module (`<url>static/wsbridge.js`); the code
// lives in folders by job: wire/ (the protocol codec), client/ (the
// connection and the replica, the only network code), views/ (the DOM
// views), page/ (the dashboard page). Here the client meets the views:
// `Client` is a `Connection` that can also draw its document.

import {
  Connection,
  FATAL_CLOSE_CODES,
  RESYNC_CLOSE_CODE,
  ProtocolError,
  backoffDelay,
  resolveEndpoint,
  resolveEndpoints,
} from "./client/connection.js";
import { registerView, render } from "./views/index.js";
import { followTheme } from "./views/theme.js";
import { renderStatus } from "./page/status.js";

export {
  FATAL_CLOSE_CODES,
  RESYNC_CLOSE_CODE,
  ProtocolError,
  backoffDelay,
  followTheme,
  registerView,
  renderStatus,
  resolveEndpoint,
  resolveEndpoints,
};

/** @typedef {import("./client/connection.js").ConnectOptions} ConnectOptions */
/** @typedef {import("./client/connection.js").Status} Status */

/**
 * A live replica of one document (see `Connection`) that can draw itself.
 * Create it with {@link connect}; or `new Client(url, opts)`, attach status
 * listeners or `renderStatus`, then `client.start()` and `await client.ready`.
 */
export class Client extends Connection {
  /**
   * Draw the document into `el` (the views) and keep it live.
   * @param {Element} el
   */
  render(el) {
    return render(el, this);
  }
}

/**
 * Connect to a document and resolve when its first state is applied
 * (snapshot, or replay after welcome). Rejects when the hub refuses for good
 * (close 1008 or 1002: unknown document, bad token, wrong version); the
 * error's `client` property is the closed client. Connection losses before
 * and after that are retried forever with back-off; with a list of URLs,
 * each retry goes to the next one (round-robin).
 * @param {string | URL | (string | URL)[]} url a `ws(s)://…/ws` endpoint, an `http(s)://…/` hub base, or a dashboard page `http(s)://…/d/<name>`; or a list of them, all naming the same document (hubs serving it)
 * @param {ConnectOptions} [opts]
 * @returns {Promise<Client>}
 */
export async function connect(url, opts = {}) {
  const client = new Client(url, opts);
  return /** @type {Promise<Client>} */ (client.start());
}
