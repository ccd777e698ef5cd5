// The pure parts of connecting to several hubs (endpoints.js): URL list
// normalisation and the rotation / back-off policy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffStep, nextEndpoint, resolveEndpoint, resolveEndpoints } from "../../src/client/endpoints.js";
import * as client from "../../src/wsbridge.js";

test("wsbridge.js still exports resolveEndpoint, and resolveEndpoints", () => {
  assert.equal(client.resolveEndpoint, resolveEndpoint);
  assert.equal(client.resolveEndpoints, resolveEndpoints);
});

test("resolveEndpoints: one URL is a list of one", () => {
  assert.deepEqual(resolveEndpoints("http://h:1/base/d/main"), {
    endpoints: [{ endpoint: "ws://h:1/base/ws", token: null }],
    doc: "main",
  });
  assert.deepEqual(resolveEndpoints(new URL("ws://h/ws"), { doc: "d" }).endpoints, [{ endpoint: "ws://h/ws", token: null }]);
});

test("resolveEndpoints: hub bases, pages and endpoints mixed, in order", () => {
  const got = resolveEndpoints(["http://a:1/", "https://b/x/d/main", "ws://c:3/y/ws"], { doc: "main" });
  assert.equal(got.doc, "main");
  assert.deepEqual(got.endpoints.map((e) => e.endpoint), ["ws://a:1/ws", "wss://b/x/ws", "ws://c:3/y/ws"]);
});

test("resolveEndpoints: the document comes from any page URL and must agree", () => {
  assert.equal(resolveEndpoints(["http://a/d/main", "http://b/"]).doc, "main");
  assert.throws(() => resolveEndpoints(["http://a/d/main", "http://b/d/other"]), /same document/);
  assert.equal(resolveEndpoints(["http://b/", "http://a/d/main"]).doc, "main", "in any position");
  assert.throws(() => resolveEndpoints(["http://a/", "ws://b/ws"]), /name the document/);
  assert.equal(resolveEndpoints(["http://a/d/main", "http://b/d/other"], { doc: "x" }).doc, "x", "opts.doc names it for all");
});

test("resolveEndpoints: duplicates are kept once, first position", () => {
  const got = resolveEndpoints(["http://a:1/d/main", "http://b:2/", "ws://a:1/ws", "http://a:1/"], { doc: "main" });
  assert.deepEqual(got.endpoints.map((e) => e.endpoint), ["ws://a:1/ws", "ws://b:2/ws"]);
});

test("resolveEndpoints: tokens per URL unless opts.token", () => {
  const urls = ["http://a/d/main?token=ta", "http://b/?token=tb", "ws://c/ws"];
  assert.deepEqual(resolveEndpoints(urls).endpoints.map((e) => e.token), ["ta", "tb", null]);
  assert.deepEqual(resolveEndpoints(urls, { token: "t" }).endpoints.map((e) => e.token), ["t", "t", "t"]);
});

test("resolveEndpoints: an empty list or a bad URL is a TypeError", () => {
  assert.throws(() => resolveEndpoints([]), TypeError);
  assert.throws(() => resolveEndpoints(["http://a/d/main", "ftp://b/"]), TypeError);
});

test("nextEndpoint: round-robin", () => {
  assert.deepEqual([0, 1, 2].map((i) => nextEndpoint(i, 3)), [1, 2, 0]);
  assert.equal(nextEndpoint(0, 1), 0);
});

test("backoffStep: grows once per full cycle over the endpoints", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((f) => backoffStep(f, 3)), [0, 0, 0, 1, 1, 1, 2]);
  assert.deepEqual([0, 1, 2, 3].map((f) => backoffStep(f, 1)), [0, 1, 2, 3], "one URL: per attempt, as before");
  assert.equal(backoffStep(4, 0), 4);
});
