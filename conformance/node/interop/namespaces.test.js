"use strict";
// Namespaces: multiplexing on one connection, middleware rejection, unknown namespaces.

const { test } = require("node:test");
const assert = require("node:assert/strict");
const { TEST_TIMEOUT, ackAll, clients, connected, once } = require("./common");

const opts = { timeout: TEST_TIMEOUT };

for (const transports of [["polling"], ["websocket"], undefined]) {
  const label = transports ? transports.join("+") : "default transports";
  test(`/ and /custom multiplexed on one Manager connection (${label})`, opts, async (t) => {
    const c = clients(t);
    const tag = `mux-${process.pid}-${Math.random()}`;
    const manager = c.manager({ query: { conn: tag }, ...(transports ? { transports } : {}) });
    const root = manager.socket("/", { auth: { which: "root" } });
    const custom = manager.socket("/custom", { auth: { which: "custom" } });
    const welcomes = [once(root, "welcome"), once(custom, "welcome")];
    await Promise.all([connected(root), connected(custom)]);
    const [[wr], [wc]] = await Promise.all(welcomes);

    assert.equal(root.io, custom.io, "one Manager");
    assert.equal(Object.keys(manager.nsps).length, 2);
    const engineId = manager.engine.id;
    assert.ok(engineId, "an Engine.IO session id");
    assert.equal(root.io.engine.id, engineId);
    assert.equal(custom.io.engine.id, engineId, "one Engine.IO id for both namespaces");
    // The server saw both namespaces with their own auth, on the same handshake.
    assert.equal(wr.nsp, "/");
    assert.equal(wc.nsp, "/custom");
    assert.deepEqual(wr.auth, { which: "root" });
    assert.deepEqual(wc.auth, { which: "custom" });
    assert.equal(wr.query.conn, tag);
    assert.equal(wc.query.conn, tag);
    assert.equal(wr.id, root.id);
    assert.equal(wc.id, custom.id);
    assert.notEqual(root.id, custom.id, "one socket id per namespace");

    // Events are routed to their namespace.
    const backRoot = once(root, "echo-back");
    const backCustom = once(custom, "echo-back");
    let crossed = false;
    custom.once("echo-back", (v) => { if (v === "to root") crossed = true; });
    root.emit("echo", "to root");
    assert.deepEqual(await backRoot, ["to root"]);
    custom.emit("echo", "to custom");
    assert.deepEqual(await backCustom, ["to custom"]);
    assert.equal(crossed, false, "an event of / is not seen on /custom");
    const ack = await ackAll(custom, "echo-ack", "custom ack", Buffer.from([9, 8]));
    assert.equal(ack[0], "custom ack");
    assert.deepEqual([...ack[1]], [9, 8]);

    // Leaving /custom keeps / on the same connection.
    custom.disconnect();
    const back = once(root, "echo-back");
    root.emit("echo", "still multiplexed");
    assert.deepEqual(await back, ["still multiplexed"]);
    assert.equal(manager.engine.id, engineId, "the connection survives a namespace leaving");

    // And /custom can join again on that connection.
    custom.auth = { which: "again" };
    const w2 = once(custom, "welcome");
    custom.connect();
    await connected(custom);
    const [again] = await w2;
    assert.deepEqual(again.auth, { which: "again" });
    assert.equal(again.id, custom.id);
    assert.notEqual(custom.id, wc.id, "a new socket id for the new connection to /custom");
    assert.equal(custom.io.engine.id, engineId);
  });
}

test("a namespace middleware refusal is a connect_error with message and data", opts, async (t) => {
  const c = clients(t);
  const socket = c.connect("/private", { auth: { token: "wrong" } });
  let connectedEvent = false;
  socket.on("connect", () => { connectedEvent = true; });
  const [err] = await once(socket, "connect_error");
  assert.ok(err instanceof Error);
  assert.equal(err.message, "not authorized");
  assert.deepEqual(err.data, { reason: "bad token", code: 4001 });
  assert.equal(socket.connected, false);
  assert.equal(socket.active, false, "a CONNECT_ERROR does not reconnect");
  assert.equal(connectedEvent, false);
});

test("a refusal without data gives err.data undefined", opts, async (t) => {
  const c = clients(t);
  const socket = c.connect("/private", { auth: { token: "plain" } });
  const [err] = await once(socket, "connect_error");
  assert.equal(err.message, "plain refusal");
  assert.equal(err.data, undefined);
});

test("the middleware accepts the right token", opts, async (t) => {
  const c = clients(t);
  const socket = c.connect("/private", { auth: { token: "letmein" } });
  const welcome = once(socket, "welcome");
  await connected(socket);
  const [w] = await welcome;
  assert.equal(w.nsp, "/private");
  assert.deepEqual(w.auth, { token: "letmein" });
  assert.deepEqual(await ackAll(socket, "echo-ack", "in"), ["in"]);
});

test("a refused namespace leaves the other namespaces of the connection alone", opts, async (t) => {
  const c = clients(t);
  const manager = c.manager({ transports: ["websocket"] });
  const root = manager.socket("/");
  await connected(root);
  const refused = manager.socket("/private", { auth: { token: "nope" } });
  const [err] = await once(refused, "connect_error");
  assert.equal(err.message, "not authorized");
  const unknown = manager.socket("/does-not-exist");
  const [err2] = await once(unknown, "connect_error");
  assert.equal(err2.message, "Invalid namespace");
  assert.ok(root.connected);
  assert.deepEqual(await ackAll(root, "echo-ack", "alive"), ["alive"]);
});
