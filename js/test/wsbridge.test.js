// The public entry point: what pages and users import from static/wsbridge.js.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as wsbridge from "../src/wsbridge.js";
import { Connection } from "../src/client/connection.js";
import { registerView } from "../src/views/index.js";
import { renderStatus } from "../src/page/status.js";

test("wsbridge.js exports the client, its helpers and the view hooks", () => {
  for (const name of ["connect", "Client", "ProtocolError", "backoffDelay", "FATAL_CLOSE_CODES", "RESYNC_CLOSE_CODE", "resolveEndpoint", "resolveEndpoints", "renderStatus", "registerView"]) {
    assert.ok(name in wsbridge, name);
  }
  assert.equal(wsbridge.renderStatus, renderStatus);
  assert.equal(wsbridge.registerView, registerView);
});

test("Client is a Connection that draws its document with the views", () => {
  const client = new wsbridge.Client("ws://h/ws", { doc: "d" });
  assert.ok(client instanceof Connection);
  assert.equal(typeof client.render, "function");
  assert.equal(typeof Connection.prototype.render, "undefined");
  // no root yet: the views draw nothing, and follow the replica until destroyed
  const el = { children: /** @type {any[]} */ (["stale"]), replaceChildren(...c) { this.children = c; } };
  const view = client.render(/** @type {any} */ (el));
  assert.deepEqual(el.children, []);
  assert.ok(client.state.has("root"));
  view.destroy();
  assert.ok(!client.state.has("root"));
});
