"use strict";
// Many messages, in order, both ways, on each transport.

const { test } = require("node:test");
const assert = require("node:assert/strict");
const { TEST_TIMEOUT, clients, connected, withDeadline } = require("./common");

const opts = { timeout: TEST_TIMEOUT };
const N = 1000;

function collect(socket, event, n) {
  const got = [];
  return withDeadline(
    new Promise((resolve) => {
      socket.on(event, (...args) => {
        got.push(args.length === 1 ? args[0] : args);
        if (got.length === n) resolve(got);
      });
    }),
    `${n} "${event}" events`,
    10000,
  );
}

for (const transport of ["polling", "websocket"]) {
  test(`${N} events echoed in order (${transport})`, opts, async (t) => {
    const c = clients(t);
    const socket = c.connect("/", { transports: [transport] });
    await connected(socket);
    const all = collect(socket, "echo-back", N);
    for (let i = 0; i < N; i++) socket.emit("echo", i);
    const got = await all;
    assert.deepEqual(got, [...Array(N).keys()]);
  });

  test(`${N} events emitted by the server arrive in order (${transport})`, opts, async (t) => {
    const c = clients(t);
    const socket = c.connect("/", { transports: [transport] });
    await connected(socket);
    const all = collect(socket, "burst-item", N);
    socket.emit("burst", N);
    const got = await all;
    assert.deepEqual(got, [...Array(N).keys()]);
  });
}
