"use strict";
// Connection state recovery: the official socket.io-client 4.8.4 against our server with
// recovery on (`conformance/src/recovery_server.rs`, window 1000 ms), over WebSocket and
// long-polling. The client's transport is cut (`engine.close()`: "transport close" on both
// sides), the server emits while it is away, then the client connects again with its
// `{pid, offset}`.
//
//   SIO_URL=http://127.0.0.1:PORT [SIO_PARSER=msgpack] node --test recovery/*.test.js

const { test } = require("node:test");
const assert = require("node:assert/strict");
const { io } = require("socket.io-client");

const URL = process.env.SIO_URL;
if (!URL) throw new Error("SIO_URL is not set");
const parser = process.env.SIO_PARSER === "msgpack" ? require("socket.io-msgpack-parser") : undefined;
const WINDOW = 1000;
const STEP = 5000;

function client(nsp, opts) {
  return io(URL + nsp, {
    forceNew: true,
    reconnection: false,
    timeout: STEP,
    ...(parser ? { parser } : {}),
    ...opts,
  });
}

function once(socket, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${STEP} ms`)), STEP);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

async function connected(socket) {
  if (!socket.connected) await once(socket, "connect");
  return socket;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(check, what) {
  const end = Date.now() + STEP;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A client of `/` that logs every event, and the control client. */
async function setup(t, transport, nsp = "/") {
  const ctl = await connected(client("/ctl", { transports: ["websocket"] }));
  const c = client(nsp, { transports: [transport], auth: { rooms: ["room1"], data: { a: 1, b: [true, null] } } });
  t.after(() => {
    ctl.close();
    c.close();
  });
  const log = [];
  c.onAny((event, ...args) => log.push([event, ...args]));
  await connected(c);
  return { ctl, c, log };
}

/** Cuts the client's transport and waits for its `disconnect` (the client says "forced
 * close"; the server sees "transport close", a recoverable reason). */
async function cut(c) {
  const gone = once(c, "disconnect");
  c.io.engine.close();
  const [reason] = await gone;
  assert.equal(reason, "forced close");
}

for (const transport of ["websocket", "polling"]) {
  test(`${transport}: a client cut for a moment comes back with its id, rooms and data, and every missed event once, in order, before connect`, { timeout: 20000 }, async (t) => {
    const { ctl, c, log } = await setup(t, transport);
    const id = c.id;
    await ctl.emitWithAck("emit", { rooms: [id], event: "first", n: 1 });
    await until(() => log.length === 1, "the first event");
    const firstOffset = log[0].at(-1);
    assert.equal(typeof firstOffset, "string", `the event carries its offset: ${JSON.stringify(log[0])}`);

    await cut(c);
    // While it is away: to the socket, to its room, elsewhere, volatile, with an ack, to all.
    await ctl.emitWithAck("emit", { rooms: [id], event: "missed", n: 5 });
    await ctl.emitWithAck("emit", { rooms: ["room1"], event: "room", n: 3 });
    await ctl.emitWithAck("emit", { rooms: ["other-room"], event: "elsewhere", n: 2 });
    await ctl.emitWithAck("emit", { except: ["room1"], event: "excluded", n: 2 });
    await ctl.emitWithAck("emit", { rooms: [id], event: "volatile", n: 2, volatile: true });
    await ctl.emitWithAck("emit-with-ack", { rooms: [id], event: "with-ack" });
    await ctl.emitWithAck("emit", { nsp: "/other", event: "other-namespace", n: 1 });
    await ctl.emitWithAck("emit", { event: "all", n: 1 });

    let seenAtConnect = null;
    c.once("connect", () => (seenAtConnect = log.length));
    c.connect();
    await once(c, "connect");
    assert.equal(c.id, id, "same id");
    assert.equal(c.recovered, true, "recovered");
    await sleep(200); // anything extra (a duplicate) would show by now
    const missed = log.slice(1);
    assert.deepEqual(
      missed.map(([event, k]) => [event, k]),
      [
        ["missed", 0], ["missed", 1], ["missed", 2], ["missed", 3], ["missed", 4],
        ["room", 0], ["room", 1], ["room", 2],
        ["all", 0],
      ],
    );
    assert.equal(seenAtConnect, 1 + missed.length, "the missed events come before connect");
    const offsets = new Set([firstOffset, ...missed.map((e) => e.at(-1))]);
    assert.equal(offsets.size, 1 + missed.length, "every event has its own offset");
    for (const e of missed) assert.equal(typeof e.at(-1), "string");

    const state = await c.timeout(STEP).emitWithAck("state");
    assert.equal(state.id, id);
    assert.equal(state.recovered, true);
    assert.deepEqual(state.rooms, [id, "room1"].sort());
    assert.deepEqual(state.data, { a: 1, b: [true, null] });

    // After the recovery, events flow on with offsets, once.
    await ctl.emitWithAck("emit", { rooms: [id], event: "after", n: 1 });
    await until(() => log.length === 1 + missed.length + 1, "the event after the recovery");
    assert.equal(log.at(-1)[0], "after");
  });

  test(`${transport}: a client that comes back after the window gets a new session`, { timeout: 20000 }, async (t) => {
    const { ctl, c, log } = await setup(t, transport);
    const id = c.id;
    await ctl.emitWithAck("emit", { rooms: [id], event: "first", n: 1 });
    await until(() => log.length === 1, "the first event");
    await cut(c);
    await ctl.emitWithAck("emit", { rooms: [id], event: "missed", n: 2 });
    await sleep(WINDOW + 300);
    c.connect();
    await once(c, "connect");
    assert.notEqual(c.id, id, "a new id");
    assert.equal(c.recovered, false);
    await sleep(100);
    assert.deepEqual(log.map(([event]) => event), ["first"], "nothing replayed");
  });
}

test("a forged pid or offset, or a pid of another namespace, gets a fresh session and never another client's state", { timeout: 20000 }, async (t) => {
  const { ctl, c, log } = await setup(t, "websocket");
  const id = c.id;
  await ctl.emitWithAck("emit", { rooms: [id], event: "first", n: 1 });
  await until(() => log.length === 1, "the first event");
  await cut(c);
  const pid = c._pid;
  const offset = log[0].at(-1);
  assert.equal(typeof pid, "string");

  const attempts = [
    { nsp: "/", auth: { pid: "forged-pid", offset } },
    { nsp: "/", auth: { pid, offset: "forged-offset" } },
    { nsp: "/", auth: { pid, offset: "9999999999999" } },
    { nsp: "/", auth: { pid, offset: 12 } },
    { nsp: "/", auth: { pid: { $ne: null }, offset } },
    { nsp: "/other", auth: { pid, offset } },
  ];
  for (const { nsp, auth } of attempts) {
    const thief = client(nsp, { transports: ["websocket"], auth });
    t.after(() => thief.close());
    await connected(thief);
    assert.notEqual(thief.id, id, `${JSON.stringify(auth)} on ${nsp}: not the other client's id`);
    assert.equal(thief.recovered, false, `${JSON.stringify(auth)} on ${nsp}: not recovered`);
    const state = await thief.timeout(STEP).emitWithAck("state");
    assert.deepEqual(state.data, null, "not the other client's data");
    assert.ok(!state.rooms.includes("room1"), "not the other client's rooms");
    thief.close();
  }
  // None of them took the session away from its client.
  c.connect();
  await once(c, "connect");
  assert.equal(c.id, id);
  assert.equal(c.recovered, true);
});
