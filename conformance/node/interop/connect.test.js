"use strict";
// Connecting with auth on each transport, and the polling → websocket upgrade.

const { test } = require("node:test");
const assert = require("node:assert/strict");
const { PARSER, TEST_TIMEOUT, clients, connected, once, withDeadline } = require("./common");

const opts = { timeout: TEST_TIMEOUT };

async function connectWithAuth(t, transports) {
  const c = clients(t);
  const auth = { token: "abc", n: 42, nested: { list: [1, "two", null], ok: true }, parser: PARSER };
  const socket = c.connect("/", { auth, query: { q: "1" }, ...(transports ? { transports } : {}) });
  const welcome = once(socket, "welcome");
  await connected(socket);
  const [w] = await welcome;
  assert.deepEqual(w.auth, auth, "the server sees the auth object as sent");
  assert.equal(w.nsp, "/");
  assert.equal(w.id, socket.id, "the server's socket id is the one in the CONNECT reply");
  assert.notEqual(socket.id, socket.io.engine.id, "the Socket.IO id differs from the Engine.IO id");
  assert.equal(w.query.q, "1", "the query reaches the handshake");
  assert.equal(w.query.EIO, "4");
  // An event round trip on this transport.
  const back = once(socket, "echo-back");
  socket.emit("echo", "hello", 1);
  assert.deepEqual(await back, ["hello", 1]);
  return socket;
}

test("connect with auth, polling only", opts, async (t) => {
  const socket = await connectWithAuth(t, ["polling"]);
  assert.equal(socket.io.engine.transport.name, "polling");
  // No upgrade happens with polling only, even after a few round trips.
  for (let i = 0; i < 5; i++) {
    const back = once(socket, "echo-back");
    socket.emit("echo", i);
    assert.deepEqual(await back, [i]);
  }
  assert.equal(socket.io.engine.transport.name, "polling");
});

test("connect with auth, websocket only", opts, async (t) => {
  const socket = await connectWithAuth(t, ["websocket"]);
  assert.equal(socket.io.engine.transport.name, "websocket");
});

test("connect with auth, default transports: polling then upgrade to websocket", opts, async (t) => {
  const c = clients(t);
  const auth = { token: "upgrade-me" };
  const socket = c.connect("/", { auth });
  const welcome = once(socket, "welcome");
  // The engine exists synchronously: catch its upgrade from the start.
  const engine = socket.io.engine;
  assert.equal(engine.transport.name, "polling", "the default starts on polling");
  const upgraded = once(engine, "upgrade");
  await connected(socket);
  assert.deepEqual((await welcome)[0].auth, auth);
  const [transport] = await upgraded;
  assert.equal(transport.name, "websocket");
  assert.equal(socket.io.engine.transport.name, "websocket");
  assert.equal(socket.io.engine.id, engine.id, "same Engine.IO session after the upgrade");
  // Events flow on the upgraded transport.
  const back = once(socket, "echo-back");
  socket.emit("echo", "after upgrade", { n: 1 });
  assert.deepEqual(await back, ["after upgrade", { n: 1 }]);
});

test("events sent during the upgrade arrive in order", opts, async (t) => {
  const c = clients(t);
  const socket = c.connect("/");
  const engine = socket.io.engine;
  const upgraded = once(engine, "upgrade");
  const n = 200;
  const got = [];
  const all = withDeadline(
    new Promise((resolve) => {
      socket.on("echo-back", (i) => {
        got.push(i);
        if (got.length === n) resolve();
      });
    }),
    `${n} echoes`,
  );
  await connected(socket);
  // Emit in bursts while the upgrade runs (polling → probe → upgrade).
  for (let i = 0; i < n; i++) {
    socket.emit("echo", i);
    if (i % 20 === 19) await new Promise((r) => setImmediate(r));
  }
  await all;
  await upgraded;
  assert.deepEqual(got, [...Array(n).keys()]);
});

test("heartbeats keep polling and websocket sessions alive", opts, async (t) => {
  const c = clients(t);
  const sockets = [c.connect("/", { transports: ["polling"] }), c.connect("/", { transports: ["websocket"] })];
  await Promise.all(sockets.map((s) => connected(s)));
  // pingInterval is 1000 ms: wait for two pings on each.
  await Promise.all(
    sockets.map(async (s) => {
      await once(s.io, "ping");
      await once(s.io, "ping");
    }),
  );
  for (const s of sockets) {
    assert.ok(s.connected);
    const back = once(s, "echo-back");
    s.emit("echo", "still here");
    assert.deepEqual(await back, ["still here"]);
  }
});

test(`the client encodes with the ${PARSER} parser`, opts, async (t) => {
  const c = clients(t);
  const socket = c.connect("/");
  const expected = require(PARSER === "msgpack" ? "socket.io-msgpack-parser" : "socket.io-parser");
  assert.ok(socket.io.encoder instanceof expected.Encoder, `the Manager's encoder is ${PARSER}'s`);
  await connected(socket);
});
