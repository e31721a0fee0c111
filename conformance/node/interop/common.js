"use strict";
// Shared helpers of the interop tests: the official socket.io-client against our server
// (`sio-interop-server`, see `conformance/src/interop_server.rs`).
//
// Environment:
//   SIO_URL     the server, e.g. http://127.0.0.1:3000 (required)
//   SIO_PARSER  "msgpack" to use socket.io-msgpack-parser (the server must run with
//               --msgpack), anything else or unset for the default parser

const assert = require("node:assert/strict");
const { io, Manager } = require("socket.io-client");

const URL = process.env.SIO_URL;
if (!URL) {
  throw new Error("SIO_URL is not set (e.g. SIO_URL=http://127.0.0.1:3000)");
}
const PARSER = process.env.SIO_PARSER === "msgpack" ? "msgpack" : "default";
const parser = PARSER === "msgpack" ? require("socket.io-msgpack-parser") : undefined;

/** Per-step deadline (ms): long enough for a loaded machine, short enough not to hang. */
const STEP = 5000;
/** Per-test timeout (ms), for `test(name, { timeout: TEST_TIMEOUT }, fn)`. */
const TEST_TIMEOUT = 15000;

function baseOptions(extra) {
  return {
    reconnection: false,
    timeout: STEP,
    ...(parser ? { parser } : {}),
    ...extra,
  };
}

/**
 * A test's clients: `connect()` and `manager()` remember what they create and `close()`
 * closes all of it (register it with `t.after`).
 */
class Clients {
  constructor() {
    this.managers = new Set();
  }

  /** `io(SIO_URL + nsp, opts)` on a new Manager (never the cached one). */
  connect(nsp = "/", opts = {}) {
    const socket = io(URL + nsp, baseOptions({ forceNew: true, ...opts }));
    this.managers.add(socket.io);
    return socket;
  }

  /** A new Manager, for several namespaces on one connection. */
  manager(opts = {}) {
    const manager = new Manager(URL, baseOptions(opts));
    this.managers.add(manager);
    return manager;
  }

  /** `/observer`, connected: receives the disconnect reasons of tagged sockets. */
  async observer() {
    const socket = this.connect("/observer", { transports: ["websocket"] });
    const reasons = [];
    const waiters = [];
    socket.on("disconnect-reason", (report) => {
      reasons.push(report);
      for (const w of waiters.splice(0)) w();
    });
    await connected(socket);
    return {
      socket,
      /** The report `{tag, nsp, reason}` for this tag (and namespace), when it comes. */
      reason(tag, nsp = "/") {
        return withDeadline(
          new Promise((resolve) => {
            const check = () => {
              const found = reasons.find((r) => r.tag === tag && r.nsp === nsp);
              if (found) resolve(found);
              else waiters.push(check);
            };
            check();
          }),
          `the server's disconnect reason for ${tag} on ${nsp}`,
        );
      },
    };
  }

  close() {
    for (const manager of this.managers) {
      for (const socket of Object.values(manager.nsps)) socket.disconnect();
      manager._close();
    }
    this.managers.clear();
  }
}

/** New clients for test `t`, closed when it ends. */
function clients(t) {
  const c = new Clients();
  t.after(() => c.close());
  return c;
}

/** Rejects with a clear message if `promise` does not settle within `ms`. */
function withDeadline(promise, what, ms = STEP) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The arguments of the next `event` on `emitter`. */
function once(emitter, event, ms = STEP) {
  return withDeadline(
    new Promise((resolve) => emitter.once(event, (...args) => resolve(args))),
    `"${event}"`,
    ms,
  );
}

/** Resolves when `socket` is connected; rejects on `connect_error`. */
function connected(socket, ms = STEP) {
  if (socket.connected) return Promise.resolve();
  return withDeadline(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", (err) =>
        reject(new Error(`connect_error: ${err.message} ${JSON.stringify(err.data)}`)),
      );
    }),
    `the connection of ${socket.nsp}`,
    ms,
  );
}

/**
 * Emits `event` with `args` and resolves with *all* the arguments of the acknowledgement
 * (`emitWithAck` resolves with the first one only); rejects after `ms`.
 */
function ackAll(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(STEP).emit(event, ...args, (err, ...response) => {
      if (err) reject(new Error(`no ack for "${event}": ${err.message}`));
      else resolve(response);
    });
  });
}

/** A unique tag for the disconnect reports of one socket. */
let tagCounter = 0;
function uniqueTag(name) {
  tagCounter += 1;
  return `${name}-${process.pid}-${tagCounter}-${Math.random().toString(36).slice(2)}`;
}

/** Asserts `value` is binary (a Buffer, as the Node client gives) equal to `bytes`. */
function assertBinary(value, bytes, what = "value") {
  assert.ok(Buffer.isBuffer(value), `${what} should be a Buffer, got ${Object.prototype.toString.call(value)}: ${JSON.stringify(value)}`);
  assert.deepEqual([...value], [...bytes], `${what}: bytes`);
}

module.exports = {
  URL,
  PARSER,
  STEP,
  TEST_TIMEOUT,
  clients,
  connected,
  once,
  ackAll,
  withDeadline,
  uniqueTag,
  assertBinary,
};
