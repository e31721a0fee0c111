"use strict";
// Disconnect reasons seen on both sides. The server reports the reasons of sockets whose
// auth has a `tag` to the `/observer` namespace (another connection).

const { test } = require("node:test");
const assert = require("node:assert/strict");
const { TEST_TIMEOUT, ackAll, clients, connected, once, uniqueTag } = require("./common");

const opts = { timeout: TEST_TIMEOUT };

for (const transport of ["polling", "websocket"]) {
  test(`client socket.disconnect(): "io client disconnect" / "client namespace disconnect" (${transport})`, opts, async (t) => {
    const c = clients(t);
    const observer = await c.observer();
    const tag = uniqueTag("client-disconnect");
    const socket = c.connect("/", { transports: [transport], auth: { tag } });
    await connected(socket);
    const clientReason = once(socket, "disconnect");
    socket.disconnect();
    assert.equal((await clientReason)[0], "io client disconnect");
    const report = await observer.reason(tag);
    assert.equal(report.reason, "client namespace disconnect");
  });

  test(`server socket.disconnect(): "io server disconnect" / "server namespace disconnect" (${transport})`, opts, async (t) => {
    const c = clients(t);
    const observer = await c.observer();
    const tag = uniqueTag("server-disconnect");
    const socket = c.connect("/", { transports: [transport], auth: { tag } });
    await connected(socket);
    const clientReason = once(socket, "disconnect");
    socket.emit("disconnect-me");
    assert.equal((await clientReason)[0], "io server disconnect");
    assert.equal(socket.active, false, "no reconnection after a server disconnect");
    const report = await observer.reason(tag);
    assert.equal(report.reason, "server namespace disconnect");
  });

  test(`the client closes the connection: "transport close" on the server (${transport})`, opts, async (t) => {
    const c = clients(t);
    const observer = await c.observer();
    const tag = uniqueTag("transport-close");
    const socket = c.connect("/", { transports: [transport], auth: { tag } });
    await connected(socket);
    const clientReason = once(socket, "disconnect");
    socket.io.engine.close();
    await clientReason;
    const report = await observer.reason(tag);
    assert.equal(report.reason, "transport close");
  });
}

test("multiplexed: each namespace reports its own reason, the connection stays", opts, async (t) => {
  const c = clients(t);
  const observer = await c.observer();
  const tag = uniqueTag("mux");
  const manager = c.manager({ transports: ["websocket"] });
  const root = manager.socket("/", { auth: { tag } });
  const custom = manager.socket("/custom", { auth: { tag } });
  await Promise.all([connected(root), connected(custom)]);

  // The server disconnects /custom: only /custom goes.
  const customReason = once(custom, "disconnect");
  custom.emit("disconnect-me");
  assert.equal((await customReason)[0], "io server disconnect");
  assert.equal((await observer.reason(tag, "/custom")).reason, "server namespace disconnect");
  assert.ok(root.connected);
  assert.deepEqual(await ackAll(root, "echo-ack", "root alive"), ["root alive"]);

  // Closing the connection disconnects / with "transport close".
  manager.engine.close();
  assert.equal((await observer.reason(tag, "/")).reason, "transport close");
});

// The reference's `socket.disconnect(true)` (socket.io 4.8 `Client._disconnect`) calls
// `disconnect()` on every socket of the connection, each sending DISCONNECT with the reason
// "server namespace disconnect", then closes the Engine.IO connection once the buffered
// packets are flushed: over polling the close packet comes in a later response (`6\x1e1`).
for (const transport of ["polling", "websocket"]) {
  test(`server closes the whole connection: every namespace sees "io server disconnect" (${transport})`, opts, async (t) => {
    const c = clients(t);
    const observer = await c.observer();
    const tag = uniqueTag("close");
    const manager = c.manager({ transports: [transport] });
    const root = manager.socket("/", { auth: { tag } });
    const custom = manager.socket("/custom", { auth: { tag } });
    await Promise.all([connected(root), connected(custom)]);
    const reasons = [once(root, "disconnect"), once(custom, "disconnect")];
    const managerClosed = once(manager, "close");
    custom.emit("close-me");
    const [[rootReason], [customReason]] = await Promise.all(reasons);
    assert.equal(rootReason, "io server disconnect");
    assert.equal(customReason, "io server disconnect");
    await managerClosed;
    assert.equal((await observer.reason(tag, "/")).reason, "server namespace disconnect");
    assert.equal((await observer.reason(tag, "/custom")).reason, "server namespace disconnect");
  });
}
