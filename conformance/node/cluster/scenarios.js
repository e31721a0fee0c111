"use strict";
// Cluster scenario suite: 3 Socket.IO servers sharing one Redis (official Redis adapter on the
// Node side), each server a Node `node-server.js` or a Rust server implementing the same "/ctl"
// control protocol. Mirrors the official adapter suite (CLUSTER.md §12.2); every scenario runs
// once per ORIGIN server (the server whose control client issues the operation) with target
// clients on all three servers, so in a mixed cluster Node→Rust and Rust→Node are both covered.
//
//   node scenarios.js --servers http://127.0.0.1:P1,http://127.0.0.1:P2,http://127.0.0.1:P3
//                     [--pids pid1,pid2,pid3] [--adapter classic|sharded|streams] [--key PREFIX]
//                     [--redis URL] [--only SUBSTRING] [--emitter] [--list]
//
//   --pids      enables "silent node" (SIGSTOP/SIGCONT of server 2, the third) and "killed node"
//               (SIGKILL of server 2, runs last); origin server 0; without it they are skipped
//   --adapter   what the servers run (classic default); sharded and streams (ClusterAdapter)
//               change expected timeout texts
//   --key       the servers' key / channelPrefix (needed by --emitter; default "socket.io")
//   --emitter   adds the @socket.io/redis-emitter scenarios (classic adapter only)
//   --only      runs only the scenarios whose full name contains SUBSTRING
//   --list      prints the scenario names and exits
//
// To start 3 Node servers on ephemeral ports, run the suite against them and stop them, use
// `run-node-cluster.sh` (same directory; `--help`). Output: `ok   <name>` / `FAIL <name>:
// <reason>` / `skip <name>: <why>` per scenario, then a summary; exit code 1 if any failed.

const assert = require("node:assert/strict");
const { io } = require("socket.io-client");

// ---------------------------------------------------------------------------------------------
// options

function parseArgs(argv) {
  const cfg = {
    servers: [],
    pids: null,
    adapter: "classic",
    key: "socket.io",
    redis: process.env.REDIS_URL || "redis://127.0.0.1:6379",
    only: null,
    emitter: false,
    list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--servers") cfg.servers = next().split(",").filter(Boolean);
    else if (a === "--pids") cfg.pids = next().split(",").map(Number);
    else if (a === "--adapter") cfg.adapter = next();
    else if (a === "--key") cfg.key = next();
    else if (a === "--redis") cfg.redis = next();
    else if (a === "--only") cfg.only = next();
    else if (a === "--emitter") cfg.emitter = true;
    else if (a === "--list") cfg.list = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!cfg.list && cfg.servers.length !== 3) throw new Error("--servers needs exactly 3 URLs");
  if (cfg.pids && (cfg.pids.length !== 3 || cfg.pids.some((p) => !Number.isInteger(p) || p <= 0))) {
    throw new Error("--pids needs exactly 3 process ids");
  }
  if (!["classic", "sharded", "streams"].includes(cfg.adapter)) throw new Error(`bad --adapter ${cfg.adapter}`);
  return cfg;
}

const cfg = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------------------------------------
// timing (ms)

const DEADLINE = 10000; // per scenario (unless the scenario says otherwise)
const CTL_TIMEOUT = 8000; // a control ack must come within this
const CONNECT_TIMEOUT = 5000;
const WAIT = 3000; // for expected events / eventual states
const QUIET = 150; // after the expected events: wait this long for duplicates / strays
// After clients connect: lets the servers finish room subscriptions (sharded dynamic modes
// SSUBSCRIBE per room asynchronously, after the connection is accepted).
const SETTLE = cfg.adapter === "classic" ? 50 : 150;

// ---------------------------------------------------------------------------------------------
// small helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const range = (n) => Array.from({ length: n }, (_, k) => k);
const sorted = (a) => [...a].sort();
const show = (v) =>
  JSON.stringify(v, (_k, x) =>
    x && x.type === "Buffer" && Array.isArray(x.data) ? `<Buffer ${x.data.join(",")}>` : x,
  );

/** Retries `check` (truthy result or no throw = done) every 20 ms for up to `ms`. */
async function until(check, ms, what) {
  const end = Date.now() + ms;
  let last = null;
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== undefined && v !== null) return v;
      last = null;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      throw new Error(`${what}: not reached within ${ms} ms${last ? ` (last: ${last.message})` : ""}`);
    }
    await sleep(20);
  }
}

/** Buffer | ArrayBuffer | typed array -> Buffer (null otherwise). */
function bytes(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return null;
}

// ---------------------------------------------------------------------------------------------
// control clients

const ctls = [];
const names = [];
const dead = [false, false, false];
let finished = false;

function label(i) {
  return `server ${i} (${names[i] || cfg.servers[i]})`;
}

function connectSocket(url, opts, what) {
  const socket = io(url, {
    forceNew: true,
    reconnection: false,
    timeout: CONNECT_TIMEOUT,
    ...opts,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`${what}: no connection within ${CONNECT_TIMEOUT} ms`));
    }, CONNECT_TIMEOUT + 500);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("connect_error", (e) => {
      clearTimeout(timer);
      socket.close();
      reject(new Error(`${what}: connect_error ${e.message}`));
    });
  });
}

/**
 * Sends control event `event` with `obj` to server `i` and resolves with its ack object.
 * A result with a truthy `error` rejects unless `allowError` (emit-with-ack and
 * server-side-emit report their timeouts that way).
 */
function ctl(i, event, obj = {}, { allowError = false, timeout = CTL_TIMEOUT } = {}) {
  if (dead[i]) return Promise.reject(new Error(`${label(i)} was killed`));
  return new Promise((resolve, reject) => {
    ctls[i].timeout(timeout).emit(event, obj, (err, res) => {
      if (err) return reject(new Error(`${label(i)}: no ack to "${event}" within ${timeout} ms`));
      if (!res || typeof res !== "object") {
        return reject(new Error(`${label(i)}: "${event}" acked with ${show(res)}, not an object`));
      }
      if (res.error && !allowError) {
        return reject(new Error(`${label(i)}: "${event}" ${show(obj)} failed: ${res.error}`));
      }
      resolve(res);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// scenario context: clients + cleanup

let transportToggle = 0;

class Ctx {
  constructor(origin) {
    this.o = origin;
    this.sockets = [];
  }

  /** Server index `k` steps after the origin. */
  s(k) {
    return (this.o + k) % 3;
  }

  /**
   * A connected socket.io-client on server `i`. Transports alternate websocket / polling.
   * `rooms` / `data` go in `auth` (the server joins / sets them on connection); `answer`: the
   * client acks an "ask" event with this value (no handler if undefined).
   */
  async client(i, { nsp = "/", transport, rooms, data, answer } = {}) {
    const t = transport || (transportToggle++ % 2 === 0 ? "websocket" : "polling");
    const auth = {};
    if (rooms) auth.rooms = rooms;
    if (data !== undefined) auth.data = data;
    const what = `client ${this.sockets.length} (${nsp}, ${t}) on ${label(i)}`;
    const socket = io(cfg.servers[i] + nsp, {
      forceNew: true,
      reconnection: false,
      timeout: CONNECT_TIMEOUT,
      transports: [t],
      auth,
    });
    socket.label = what;
    socket.server = i;
    socket.log = [];
    this.sockets.push(socket);
    socket.onAny((ev, ...args) => socket.log.push([ev, ...args]));
    socket.on("disconnect", (reason) => socket.log.push(["disconnect", reason]));
    if (answer !== undefined) {
      socket.on("ask", (...args) => {
        const cb = args.pop();
        if (typeof cb === "function") cb(answer);
      });
    }
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: no connection within ${CONNECT_TIMEOUT} ms`)), CONNECT_TIMEOUT + 500);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once("connect_error", (e) => {
        clearTimeout(timer);
        reject(new Error(`${what}: connect_error ${e.message}`));
      });
    });
    socket.label = `${what} [${socket.id}]`;
    return socket;
  }

  /** Connects `specs` ([server, opts]) in parallel, then waits SETTLE. */
  async clients(specs) {
    const out = await Promise.all(specs.map(([i, opts]) => this.client(i, opts)));
    await sleep(SETTLE);
    return out;
  }

  /** Closes the clients, then waits until no live server holds a client socket any more. */
  async close() {
    for (const s of this.sockets) s.disconnect();
    this.sockets = [];
    const live = range(3).filter((i) => !dead[i]);
    await until(
      async () => {
        for (const i of live) {
          for (const nsp of ["/", "/custom"]) {
            const { sockets } = await ctl(i, "local-sockets", { nsp });
            if (sockets.length) throw new Error(`${label(i)} still has ${sockets.length} socket(s) on ${nsp}`);
          }
        }
        return true;
      },
      3000,
      "cleanup: servers drop the closed clients",
    );
  }
}

// ---------------------------------------------------------------------------------------------
// assertions on received events

/** Argument lists of every `event` received by `socket`, in order. */
function received(socket, event) {
  return socket.log.filter((e) => e[0] === event).map((e) => e.slice(1));
}

/**
 * Waits until every socket of `yes` received `event` at least `n` times, then QUIET ms more,
 * then asserts exactly `n` on each of `yes` and none on each of `no`.
 */
async function deliver({ event, yes = [], no = [], n = 1, ms = WAIT }) {
  await until(
    () => {
      const missing = yes.filter((s) => received(s, event).length < n);
      if (missing.length) {
        throw new Error(missing.map((s) => `${s.label} got ${received(s, event).length}/${n}`).join("; "));
      }
      return true;
    },
    ms,
    `"${event}" reaches the targeted clients`,
  );
  await sleep(QUIET);
  for (const s of yes) {
    const got = received(s, event).length;
    assert.equal(got, n, `${s.label} received "${event}" ${got} times, expected ${n}`);
  }
  for (const s of no) {
    const got = received(s, event);
    assert.equal(got.length, 0, `${s.label} received "${event}" ${show(got)} but is not targeted`);
  }
}

/** Waits for a "disconnect" on each socket of `yes` (QUIET more), none on `no`. */
function expectDisconnect(yes, no = []) {
  return deliver({ event: "disconnect", yes, no });
}

async function waitDisconnected(socket, ms = WAIT) {
  await until(() => received(socket, "disconnect").length > 0, ms, `${socket.label} is disconnected`);
  const [[reason]] = received(socket, "disconnect");
  return reason;
}

/** fetch result -> Map id -> sorted rooms. */
function roomMap(sockets) {
  return new Map(sockets.map((s) => [s.id, sorted(s.rooms)]));
}

/**
 * Eventually, `fetch` on server `i` returns exactly the sockets of `expected` (a Map
 * socket -> rooms), with those rooms (sets; the own id is added here).
 */
async function expectRooms(i, expected, what) {
  const want = new Map([...expected].map(([s, rooms]) => [s.id, sorted(new Set([s.id, ...rooms]))]));
  await until(
    async () => {
      const { sockets } = await ctl(i, "fetch", {});
      const got = roomMap(sockets);
      assert.deepEqual(sorted(got.keys()), sorted(want.keys()), `fetch ids`);
      for (const [id, rooms] of want) {
        assert.deepEqual(got.get(id), rooms, `rooms of ${id}: got ${show(got.get(id))}, want ${show(rooms)}`);
      }
      return true;
    },
    WAIT,
    `${what} (fetch on ${label(i)})`,
  );
}

async function clearSseLogs() {
  for (const i of range(3)) if (!dead[i]) await ctl(i, "sse-log", { clear: true });
}

/** Waits until server `i`'s sse log has `n` entries (QUIET more) and returns them. */
async function sseLog(i, n) {
  if (n > 0) {
    await until(async () => (await ctl(i, "sse-log", {})).events.length >= n, WAIT, `${label(i)} logs ${n} server-side event(s)`);
  }
  await sleep(QUIET);
  return (await ctl(i, "sse-log", {})).events;
}

function ackTimeoutText() {
  return "operation has timed out";
}

// ---------------------------------------------------------------------------------------------
// scenarios
//
// kind "origin": run once per origin server 0, 1, 2 (ctx.o);  "emitter": once (--emitter);
// "pids": once, origin 0, needs --pids.  `last` scenarios run at the very end.

const scenarios = [];
const scenario = (kind, name, run, extra = {}) => scenarios.push({ kind, name, run, ...extra });

scenario("origin", "server-count", async (ctx) => {
  for (const nsp of ["/", "/custom"]) {
    const { count } = await ctl(ctx.o, "server-count", { nsp });
    assert.equal(count, 3, `server-count of ${nsp} on ${label(ctx.o)} = ${count}, expected 3`);
  }
});

scenario("origin", "broadcast to all clients", async (ctx) => {
  const cs = await ctx.clients(range(3).map((k) => [ctx.s(k)]));
  await ctl(ctx.o, "emit", { event: "bc", args: [1, "2", Buffer.from([3, 4])] });
  await deliver({ event: "bc", yes: cs });
  for (const c of cs) {
    const [[a, b, bin]] = received(c, "bc");
    assert.equal(a, 1, `${c.label}: first arg ${show(a)}`);
    assert.equal(b, "2", `${c.label}: second arg ${show(b)}`);
    assert.ok(Buffer.isBuffer(bin), `${c.label}: third arg is not a Buffer: ${show(bin)}`);
    assert.deepEqual([...bin], [3, 4], `${c.label}: third arg bytes`);
  }
  await ctl(ctx.o, "emit", { volatile: true, event: "vol", args: [{ nested: ["x", 1.5, null, false] }] });
  await deliver({ event: "vol", yes: cs });
  for (const c of cs) {
    assert.deepEqual(received(c, "vol"), [[{ nested: ["x", 1.5, null, false] }]], `${c.label}: volatile broadcast args`);
  }
});

scenario("origin", "broadcast to all clients in namespace /custom", async (ctx) => {
  const specs = [];
  for (const k of range(3)) specs.push([ctx.s(k), { nsp: "/custom" }], [ctx.s(k), { nsp: "/" }]);
  const cs = await ctx.clients(specs);
  await ctl(ctx.o, "emit", { nsp: "/custom", event: "bc", args: ["custom"] });
  await deliver({ event: "bc", yes: cs.filter((_, j) => j % 2 === 0), no: cs.filter((_, j) => j % 2 === 1) });
});

scenario("origin", "broadcast to a room", async (ctx) => {
  const [m1, m2, n0, n1, n2] = await ctx.clients([
    [ctx.s(1), { rooms: ["room1"] }],
    [ctx.s(2), { rooms: ["room1", "other"] }],
    [ctx.s(0), { rooms: ["other"] }],
    [ctx.s(1)],
    [ctx.s(2), { rooms: ["room2"] }],
  ]);
  await ctl(ctx.o, "emit", { rooms: ["room1"], event: "bc", args: ["room"] });
  await deliver({ event: "bc", yes: [m1, m2], no: [n0, n1, n2] });
});

scenario("origin", "broadcast to all except a room", async (ctx) => {
  const [y0, y1, y2, x1, x2] = await ctx.clients([
    [ctx.s(0)],
    [ctx.s(1), { rooms: ["other"] }],
    [ctx.s(2)],
    [ctx.s(1), { rooms: ["room3"] }],
    [ctx.s(2), { rooms: ["room3", "other"] }],
  ]);
  await ctl(ctx.o, "emit", { except: ["room3"], event: "bc", args: ["except"] });
  await deliver({ event: "bc", yes: [y0, y1, y2], no: [x1, x2] });
});

scenario("origin", "to(room1).to(room2).except(room3): each client once", async (ctx) => {
  const cs = await ctx.clients([
    [ctx.s(0), { rooms: ["room1", "room2"] }], // yes
    [ctx.s(1), { rooms: ["room1"] }], // yes
    [ctx.s(2), { rooms: ["room2"] }], // yes
    [ctx.s(1), { rooms: ["room1", "room2"] }], // yes, once
    [ctx.s(2), { rooms: ["room1", "room2", "room3"] }], // no
    [ctx.s(1), { rooms: ["room1", "room3"] }], // no
    [ctx.s(0)], // no
  ]);
  await ctl(ctx.o, "emit", { rooms: ["room1", "room2"], except: ["room3"], event: "bc", args: ["once"] });
  await deliver({ event: "bc", yes: cs.slice(0, 4), no: cs.slice(4) });
});

scenario("origin", "broadcast local only", async (ctx) => {
  const cs = await ctx.clients([[ctx.s(0)], [ctx.s(1)], [ctx.s(2)], [ctx.s(0)]]);
  await ctl(ctx.o, "emit", { local: true, event: "bc", args: ["local"] });
  await deliver({ event: "bc", yes: [cs[0], cs[3]], no: [cs[1], cs[2]] });
});

scenario("origin", "broadcast to a single client by id", async (ctx) => {
  const [c0, t1, t2, o1] = await ctx.clients([[ctx.s(0)], [ctx.s(1)], [ctx.s(2)], [ctx.s(1)]]);
  await ctl(ctx.o, "emit", { rooms: [t1.id], event: "direct", args: [1] });
  await ctl(ctx.o, "emit", { rooms: [t2.id], event: "direct", args: [2] });
  await deliver({ event: "direct", yes: [t1, t2], no: [c0, o1] });
  assert.deepEqual(received(t1, "direct"), [[1]], `${t1.label} got the wrong message`);
  assert.deepEqual(received(t2, "direct"), [[2]], `${t2.label} got the wrong message`);
});

scenario("origin", "50 broadcasts arrive in order", async (ctx) => {
  const cs = await ctx.clients(range(3).map((k) => [ctx.s(k)]));
  // pipelined: the control client sends the 50 events back to back
  await Promise.all(range(50).map((k) => ctl(ctx.o, "emit", { event: "seq", args: [k] })));
  await deliver({ event: "seq", yes: cs, n: 50 });
  for (const c of cs) {
    assert.deepEqual(received(c, "seq").map((a) => a[0]), range(50), `${c.label}: order`);
  }
});

scenario("origin", "emit-with-ack to all clients", async (ctx) => {
  await ctx.clients(range(3).map((k) => [ctx.s(k), { answer: k + 1 }]));
  const t0 = Date.now();
  const res = await ctl(ctx.o, "emit-with-ack", { event: "ask", args: ["q"], timeout: 2000 }, { allowError: true });
  const elapsed = Date.now() - t0;
  assert.equal(res.error, null, `error ${show(res.error)} (responses ${show(res.responses)})`);
  assert.deepEqual(sorted(res.responses), [1, 2, 3], `responses ${show(res.responses)}`);
  assert.ok(elapsed < 1000, `completed after ${elapsed} ms, expected well before the 2000 ms timeout`);
});

scenario("origin", "emit-with-ack with binary answers", async (ctx) => {
  await ctx.clients(range(3).map((k) => [ctx.s(k), { answer: Buffer.from([k, 10 + k]) }]));
  const res = await ctl(ctx.o, "emit-with-ack", { event: "ask", timeout: 2000 }, { allowError: true });
  assert.equal(res.error, null, `error ${show(res.error)} (responses ${show(res.responses)})`);
  assert.ok(Array.isArray(res.responses) && res.responses.length === 3, `responses ${show(res.responses)}`);
  const got = res.responses.map((r) => {
    const b = bytes(r);
    assert.ok(b, `response ${show(r)} is not binary`);
    return [...b];
  });
  got.sort((a, b) => a[0] - b[0]);
  assert.deepEqual(got, [[0, 10], [1, 11], [2, 12]], `responses ${show(got)}`);
});

scenario("origin", "emit-with-ack with no matching client", async (ctx) => {
  await ctx.clients(range(3).map((k) => [ctx.s(k), { answer: k }]));
  const timeout = 3000;
  const t0 = Date.now();
  const res = await ctl(ctx.o, "emit-with-ack", { rooms: ["nobody-here"], event: "ask", timeout }, { allowError: true });
  const elapsed = Date.now() - t0;
  assert.deepEqual(res, { error: null, responses: [] }, `result ${show(res)}`);
  assert.ok(elapsed < timeout / 2, `completed after ${elapsed} ms, expected < ${timeout / 2} (timeout ${timeout})`);
});

scenario("origin", "emit-with-ack timeout (one client does not answer)", async (ctx) => {
  await ctx.clients([
    [ctx.s(0), { answer: 1 }],
    [ctx.s(1)], // never answers
    [ctx.s(2), { answer: 3 }],
  ]);
  const t0 = Date.now();
  const res = await ctl(ctx.o, "emit-with-ack", { event: "ask", timeout: 500 }, { allowError: true });
  const elapsed = Date.now() - t0;
  assert.equal(res.error, ackTimeoutText(), `error ${show(res.error)}`);
  assert.deepEqual(sorted(res.responses), [1, 3], `responses ${show(res.responses)}`);
  assert.ok(elapsed >= 450, `timed out after only ${elapsed} ms`);
});

scenario("origin", "sockets-join (all / in a room / by id)", async (ctx) => {
  const [a, b, c] = await ctx.clients([
    [ctx.s(0), { rooms: ["r1"] }],
    [ctx.s(1)],
    [ctx.s(2), { rooms: ["r1"] }],
  ]);
  const want = new Map([[a, ["r1"]], [b, []], [c, ["r1"]]]);
  await ctl(ctx.o, "sockets-join", { join: ["j-all"] });
  for (const s of [a, b, c]) want.get(s).push("j-all");
  await expectRooms(ctx.o, want, "all sockets join j-all");
  await ctl(ctx.o, "sockets-join", { rooms: ["r1"], join: ["j-r1", "j-r1b"] });
  for (const s of [a, c]) want.get(s).push("j-r1", "j-r1b");
  await expectRooms(ctx.o, want, "sockets of r1 join j-r1, j-r1b");
  await ctl(ctx.o, "sockets-join", { rooms: [b.id], join: "j-id" });
  want.get(b).push("j-id");
  await expectRooms(ctx.o, want, `socket ${b.id} joins j-id`);
});

scenario("origin", "sockets-leave (all / in a room / by id)", async (ctx) => {
  const [a, b, c] = await ctx.clients([
    [ctx.s(0), { rooms: ["common", "b", "r1"] }],
    [ctx.s(1), { rooms: ["common", "b"] }],
    [ctx.s(2), { rooms: ["common", "b", "r1", "keep"] }],
  ]);
  const want = new Map([[a, ["common", "b", "r1"]], [b, ["common", "b"]], [c, ["common", "b", "r1", "keep"]]]);
  const drop = (s, room) => want.set(s, want.get(s).filter((r) => r !== room));
  await ctl(ctx.o, "sockets-leave", { leave: "common" });
  for (const s of [a, b, c]) drop(s, "common");
  await expectRooms(ctx.o, want, "all sockets leave common");
  await ctl(ctx.o, "sockets-leave", { rooms: ["r1"], leave: "b" });
  for (const s of [a, c]) drop(s, "b");
  await expectRooms(ctx.o, want, "sockets of r1 leave b");
  await ctl(ctx.o, "sockets-leave", { rooms: [b.id], leave: ["b"] });
  drop(b, "b");
  await expectRooms(ctx.o, want, `socket ${b.id} leaves b`);
});

scenario("origin", "disconnect-sockets (in a room, then all)", async (ctx) => {
  const cs = await ctx.clients([
    [ctx.s(0)],
    [ctx.s(1), { rooms: ["dr"] }],
    [ctx.s(2)],
    [ctx.s(2), { rooms: ["dr"] }],
    [ctx.s(1)],
  ]);
  await ctl(ctx.o, "disconnect-sockets", { rooms: ["dr"] });
  await expectDisconnect([cs[1], cs[3]], [cs[0], cs[2], cs[4]]);
  await ctl(ctx.o, "disconnect-sockets", { close: true });
  await expectDisconnect([cs[0], cs[2], cs[4]]);
  for (const c of cs) {
    const [[reason]] = received(c, "disconnect");
    assert.equal(reason, "io server disconnect", `${c.label}: disconnect reason`);
  }
});

scenario("origin", "sends a packet before all socket instances disconnect", async (ctx) => {
  const cs = await ctx.clients(range(3).map((k) => [ctx.s(k)]));
  // pipelined, like `io.emit(...); io.disconnectSockets()`
  await Promise.all([
    ctl(ctx.o, "emit", { event: "before", args: ["bye"] }),
    ctl(ctx.o, "disconnect-sockets", {}),
  ]);
  await expectDisconnect(cs);
  for (const c of cs) {
    const evs = c.log.map((e) => e[0]);
    const iBefore = evs.indexOf("before");
    assert.ok(iBefore >= 0, `${c.label} never got "before" (log ${show(c.log)})`);
    assert.ok(iBefore < evs.indexOf("disconnect"), `${c.label}: "before" after the disconnect (log ${show(c.log)})`);
  }
});

const HANDSHAKE_KEYS = ["address", "auth", "headers", "issued", "query", "secure", "time", "url", "xdomain"];

function checkHandshakeShape(h, who) {
  assert.ok(h && typeof h === "object", `${who}: handshake ${show(h)}`);
  assert.deepEqual(sorted(Object.keys(h)), HANDSHAKE_KEYS, `${who}: handshake keys`);
  assert.equal(typeof h.time, "string", `${who}: handshake.time ${show(h.time)}`);
  assert.equal(typeof h.issued, "number", `${who}: handshake.issued ${show(h.issued)}`);
  assert.equal(typeof h.address, "string", `${who}: handshake.address`);
  assert.equal(typeof h.url, "string", `${who}: handshake.url`);
  assert.equal(typeof h.xdomain, "boolean", `${who}: handshake.xdomain`);
  assert.equal(typeof h.secure, "boolean", `${who}: handshake.secure`);
  for (const k of ["headers", "query", "auth"]) {
    assert.ok(h[k] && typeof h[k] === "object", `${who}: handshake.${k} ${show(h[k])}`);
  }
}

scenario("origin", "fetch sockets (all / single with handshake and data / local)", async (ctx) => {
  const obj = { a: 1, b: [true, null] };
  const [a, b, c] = await ctx.clients([[ctx.s(0)], [ctx.s(1)], [ctx.s(2), { data: obj }]]);
  await b.timeout(WAIT).emitWithAck("set-data", "test");

  const all = (await ctl(ctx.o, "fetch", {})).sockets;
  assert.deepEqual(sorted(all.map((s) => s.id)), sorted([a.id, b.id, c.id]), `fetch all ids ${show(all.map((s) => s.id))}`);
  for (const s of all) assert.deepEqual(s.rooms, [s.id], `rooms of ${s.id}`);

  for (const [target, owner, data] of [[b, ctx.s(1), "test"], [c, ctx.s(2), obj]]) {
    const res = (await ctl(ctx.o, "fetch", { rooms: [target.id] })).sockets;
    assert.equal(res.length, 1, `fetch rooms:[${target.id}] returned ${res.length} sockets`);
    const [s] = res;
    assert.equal(s.id, target.id, "fetched id");
    assert.deepEqual(s.rooms, [target.id], `rooms of ${target.label}`);
    assert.deepEqual(s.data, data, `data of ${target.label}`);
    const local = (await ctl(owner, "local-sockets", {})).sockets.find((l) => l.id === target.id);
    assert.ok(local, `${label(owner)} local-sockets lacks ${target.id}`);
    checkHandshakeShape(s.handshake, `fetch of ${target.label}`);
    for (const k of HANDSHAKE_KEYS) {
      assert.deepEqual(s.handshake[k], local.handshake[k], `handshake.${k} of ${target.label}: fetched vs owner's`);
    }
    assert.deepEqual(s.handshake, local.handshake, `handshake of ${target.label}`);
    assert.deepEqual(s.data, local.data, `data of ${target.label}: fetched vs owner's`);
  }
  assert.deepEqual(
    (await ctl(ctx.s(2), "local-sockets", {})).sockets.find((l) => l.id === c.id).handshake.auth,
    { data: obj },
    "handshake.auth of the client that sent auth.data",
  );

  const local = (await ctl(ctx.o, "fetch", { local: true })).sockets;
  assert.deepEqual(local.map((s) => s.id), [a.id], `fetch local returned ${show(local.map((s) => s.id))}`);
});

scenario("origin", "remote socket ops (emit / join / leave / disconnect)", async (ctx) => {
  const [c0, t] = await ctx.clients([[ctx.s(0)], [ctx.s(1)], [ctx.s(2)]]);
  const want = () => new Map([[c0, []], [t, [...rooms]], ...ctx.sockets.slice(2).map((s) => [s, []])]);
  let rooms = [];

  let r = await ctl(ctx.o, "remote", { id: t.id, op: "emit", event: "remote", args: [1, "x"] });
  assert.deepEqual(r, { found: 1 }, `remote emit result ${show(r)}`);
  await deliver({ event: "remote", yes: [t], no: [c0, ctx.sockets[2]] });
  assert.deepEqual(received(t, "remote"), [[1, "x"]], `${t.label}: remote emit args`);

  r = await ctl(ctx.o, "remote", { id: t.id, op: "join", rooms: ["rj1", "rj2"] });
  assert.deepEqual(r, { found: 1 }, `remote join result ${show(r)}`);
  rooms = ["rj1", "rj2"];
  await expectRooms(ctx.o, want(), "remote join rj1, rj2");

  r = await ctl(ctx.o, "remote", { id: t.id, op: "leave", rooms: ["rj1"] });
  assert.deepEqual(r, { found: 1 }, `remote leave result ${show(r)}`);
  rooms = ["rj2"];
  await expectRooms(ctx.o, want(), "remote leave rj1");

  r = await ctl(ctx.o, "remote", { id: t.id, op: "disconnect" });
  assert.deepEqual(r, { found: 1 }, `remote disconnect result ${show(r)}`);
  await expectDisconnect([t], [c0, ctx.sockets[2]]);
  assert.equal(received(t, "disconnect")[0][0], "io server disconnect", `${t.label}: disconnect reason`);

  r = await ctl(ctx.o, "remote", { id: t.id, op: "emit", event: "remote" });
  assert.deepEqual(r, { found: 0 }, `remote op on a gone socket: ${show(r)}`);
});

scenario("origin", "remote socket emitWithAck (a single answer, or a timeout)", async (ctx) => {
  const [, t, silent] = await ctx.clients([[ctx.s(0)], [ctx.s(1), { answer: 2 }], [ctx.s(2)]]);
  let r = await ctl(ctx.o, "remote", { id: t.id, op: "emit-with-ack", event: "ask", args: ["q"], timeout: 1000 });
  assert.deepEqual(r, { found: 1, response: 2 }, `remote emitWithAck result ${show(r)}`);
  r = await ctl(ctx.o, "remote", { id: silent.id, op: "emit-with-ack", event: "ask", args: ["q"], timeout: 300 }, { allowError: true });
  assert.equal(r.found, 1, `remote emitWithAck on a silent socket ${show(r)}`);
  assert.equal(r.error, "operation has timed out", `remote emitWithAck on a silent socket ${show(r)}`);
});

scenario("origin", "server-side-emit without ack", async (ctx) => {
  await clearSseLogs();
  await ctl(ctx.o, "server-side-emit", { event: "sse", args: [1, "two", { three: 3 }] });
  for (const k of [1, 2]) {
    const events = await sseLog(ctx.s(k), 1);
    assert.deepEqual(events, [["sse", 1, "two", { three: 3 }]], `${label(ctx.s(k))} logged ${show(events)}`);
  }
  const own = (await ctl(ctx.o, "sse-log", {})).events;
  assert.deepEqual(own, [], `the origin ${label(ctx.o)} logged its own event: ${show(own)}`);
});

scenario("origin", "server-side-emit with ack", async (ctx) => {
  await clearSseLogs();
  const res = await ctl(ctx.o, "server-side-emit", { event: "sse-ack", args: ["hi"], ack: true }, { allowError: true });
  assert.equal(res.error, null, `error ${show(res.error)} (responses ${show(res.responses)})`);
  assert.deepEqual(sorted(res.responses), sorted([names[ctx.s(1)], names[ctx.s(2)]]), `responses ${show(res.responses)}`);
  for (const k of [1, 2]) {
    const events = await sseLog(ctx.s(k), 1);
    assert.deepEqual(events, [["sse-ack", "hi"]], `${label(ctx.s(k))} logged ${show(events)}`);
  }
  assert.deepEqual((await ctl(ctx.o, "sse-log", {})).events, [], "the origin logged its own event");
});

// ---- --pids scenarios: origin 0, victim 2 ----------------------------------------------------

scenario(
  "pids",
  "silent node (server 2 SIGSTOPped)",
  async (ctx) => {
    await ctx.clients([[0, { answer: 1 }], [1, { answer: 2 }], [2, { answer: 3 }]]);
    process.kill(cfg.pids[2], "SIGSTOP");
    try {
      const [sse, fetch, ack] = await Promise.all([
        ctl(0, "server-side-emit", { event: "sse-ack", args: ["silent"], ack: true }, { allowError: true }),
        ctl(0, "fetch", { timeout: 1000 }, { allowError: true }),
        ctl(0, "emit-with-ack", { event: "ask", timeout: 1000 }, { allowError: true }),
      ]);
      assert.match(String(sse.error), /timeout/, `server-side-emit with ack: ${show(sse)}`);
      assert.ok(Array.isArray(sse.responses) && sse.responses.length <= 1, `server-side-emit responses ${show(sse.responses)}`);
      assert.deepEqual(sse.responses, [names[1]], `server-side-emit responses ${show(sse.responses)}`);
      assert.match(String(fetch.error), /timeout/, `fetch: ${show(fetch)}`);
      if (cfg.adapter === "classic") {
        assert.equal(fetch.error, "timeout reached while waiting for fetchSockets response", "classic fetch error");
      }
      assert.equal(ack.error, ackTimeoutText(), `emit-with-ack: ${show(ack)}`);
      assert.deepEqual(sorted(ack.responses), [1, 2], `emit-with-ack responses ${show(ack.responses)}`);
      ctx.note = `sse: ${show(sse.error)}; fetch: ${show(fetch.error)}`;
    } finally {
      process.kill(cfg.pids[2], "SIGCONT");
    }
    await until(() => ctl(2, "info", {}, { timeout: 1000 }), WAIT, `${label(2)} answers again after SIGCONT`);
  },
  { deadline: 15000 },
);

scenario(
  "pids",
  "killed node (server 2 SIGKILLed)",
  async (ctx) => {
    const [c0, c1, c2] = await ctx.clients([[0, { answer: 1 }], [1, { answer: 2 }], [2, { answer: 3 }]]);
    process.kill(cfg.pids[2], "SIGKILL");
    dead[2] = true;
    await sleep(500);
    await until(async () => (await ctl(0, "server-count", {})).count === 2, WAIT, `${label(0)} server-count drops to 2`);
    assert.equal((await ctl(1, "server-count", {})).count, 2, `${label(1)} server-count`);
    await ctl(0, "emit", { event: "bc", args: ["after-kill"] });
    await deliver({ event: "bc", yes: [c0, c1], no: [c2] });
    const sse = await ctl(0, "server-side-emit", { event: "sse-ack", args: ["k"], ack: true }, { allowError: true });
    assert.deepEqual(sse, { error: null, responses: [names[1]] }, `server-side-emit with ack: ${show(sse)}`);
    const all = (await ctl(0, "fetch", {})).sockets;
    assert.deepEqual(sorted(all.map((s) => s.id)), sorted([c0.id, c1.id]), `fetch all ${show(all.map((s) => s.id))}`);
    const ack = await ctl(0, "emit-with-ack", { event: "ask", timeout: 2000 }, { allowError: true });
    assert.deepEqual({ ...ack, responses: sorted(ack.responses) }, { error: null, responses: [1, 2] }, `emit-with-ack ${show(ack)}`);
  },
  { last: true },
);

// ---- --emitter scenarios (classic only) --------------------------------------------------------

let emitterClient = null;
async function emitter() {
  if (!emitterClient) {
    const { createClient } = require("redis");
    emitterClient = createClient({ url: cfg.redis });
    emitterClient.on("error", (e) => console.error("emitter redis error:", e.message));
    await emitterClient.connect();
  }
  const { Emitter } = require("@socket.io/redis-emitter");
  return new Emitter(emitterClient, { key: cfg.key });
}

scenario("emitter", "emitter: emit to all (with a Buffer)", async (ctx) => {
  const cs = await ctx.clients(range(3).map((i) => [i]));
  (await emitter()).emit("em", 1, "2", Buffer.from([3, 4]));
  await deliver({ event: "em", yes: cs });
  for (const c of cs) {
    const [[a, b, bin]] = received(c, "em");
    assert.deepEqual([a, b], [1, "2"], `${c.label}: args`);
    assert.ok(Buffer.isBuffer(bin) && bin.equals(Buffer.from([3, 4])), `${c.label}: binary arg ${show(bin)}`);
  }
});

scenario("emitter", "emitter: to a room", async (ctx) => {
  const cs = await ctx.clients([[0, { rooms: ["er"] }], [1], [2, { rooms: ["er"] }]]);
  (await emitter()).to("er").emit("em", "room");
  await deliver({ event: "em", yes: [cs[0], cs[2]], no: [cs[1]] });
});

scenario("emitter", "emitter: except a room", async (ctx) => {
  const cs = await ctx.clients([[0, { rooms: ["ex"] }], [1], [2], [2, { rooms: ["ex"] }]]);
  (await emitter()).except("ex").emit("em", "except");
  await deliver({ event: "em", yes: [cs[1], cs[2]], no: [cs[0], cs[3]] });
});

scenario("emitter", "emitter: of(/custom)", async (ctx) => {
  const cs = await ctx.clients([[0, { nsp: "/custom" }], [1, { nsp: "/custom" }], [2, { nsp: "/custom" }], [0], [1], [2]]);
  (await emitter()).of("/custom").emit("em", "custom");
  await deliver({ event: "em", yes: cs.slice(0, 3), no: cs.slice(3) });
});

scenario("emitter", "emitter: to a socket id", async (ctx) => {
  const cs = await ctx.clients([[0], [1], [2], [1]]);
  (await emitter()).to(cs[1].id).emit("em", "id");
  (await emitter()).to(cs[2].id).emit("em", "id2");
  await deliver({ event: "em", yes: [cs[1], cs[2]], no: [cs[0], cs[3]] });
  assert.deepEqual(received(cs[2], "em"), [["id2"]], "payload of the second target");
});

scenario("emitter", "emitter: socketsJoin / socketsLeave", async (ctx) => {
  const [a, b, c] = await ctx.clients([[0, { rooms: ["r1"] }], [1], [2, { rooms: ["r1"] }]]);
  const e = await emitter();
  e.socketsJoin("ej");
  const want = new Map([[a, ["r1", "ej"]], [b, ["ej"]], [c, ["r1", "ej"]]]);
  for (const i of range(3)) await expectRooms(i, want, "emitter socketsJoin(ej)");
  e.in("r1").socketsLeave("ej");
  want.set(a, ["r1"]).set(c, ["r1"]);
  await expectRooms(0, want, "emitter in(r1).socketsLeave(ej)");
  e.in(b.id).socketsJoin(["x", "y"]);
  want.set(b, ["ej", "x", "y"]);
  await expectRooms(1, want, "emitter in(id).socketsJoin([x, y])");
});

scenario("emitter", "emitter: disconnectSockets", async (ctx) => {
  const cs = await ctx.clients([[0, { rooms: ["ed"] }], [1], [2, { rooms: ["ed"] }]]);
  const e = await emitter();
  e.in("ed").disconnectSockets();
  await expectDisconnect([cs[0], cs[2]], [cs[1]]);
  e.disconnectSockets(true);
  await expectDisconnect([cs[1]]);
});

scenario("emitter", "emitter: serverSideEmit", async () => {
  await clearSseLogs();
  (await emitter()).serverSideEmit("sse", 1, "two", { three: 3 });
  for (const i of range(3)) {
    const events = await sseLog(i, 1);
    assert.deepEqual(events, [["sse", 1, "two", { three: 3 }]], `${label(i)} logged ${show(events)}`);
  }
});

// ---------------------------------------------------------------------------------------------
// runner

function plan() {
  const runs = [];
  const add = (s, origin, name) => runs.push({ s, origin, name });
  for (const s of scenarios.filter((x) => x.kind === "origin")) {
    for (const o of range(3)) add(s, o, `${s.name} [origin ${o}]`);
  }
  const other = scenarios.filter((x) => x.kind !== "origin" && (x.kind !== "emitter" || cfg.emitter));
  for (const s of other.filter((x) => !x.last)) add(s, 0, s.name);
  for (const s of other.filter((x) => x.last)) add(s, 0, s.name);
  return runs.filter((r) => !cfg.only || r.name.includes(cfg.only));
}

function skipReason(s) {
  if (s.kind === "pids" && !cfg.pids) return "needs --pids";
  if (s.kind === "emitter" && cfg.adapter !== "classic") return "the Redis emitter talks to the classic adapter only";
  if (dead.some(Boolean)) return "a server was killed";
  return null;
}

function withDeadline(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: scenario deadline of ${ms} ms exceeded`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function main() {
  const runs = plan();
  if (cfg.list) {
    for (const r of runs) console.log(r.name);
    return 0;
  }
  const started = Date.now();
  for (const i of range(3)) {
    ctls[i] = await connectSocket(`${cfg.servers[i]}/ctl`, { transports: ["websocket"] }, `control client of ${cfg.servers[i]}`);
    ctls[i].on("disconnect", (reason) => {
      if (!dead[i] && !finished) console.error(`control client of ${label(i)} disconnected: ${reason}`);
    });
  }
  for (const i of range(3)) {
    const info = await ctl(i, "info");
    names[i] = info.name;
    console.log(`server ${i}: ${cfg.servers[i]} name=${info.name} kind=${info.kind}`);
  }
  if (new Set(names).size !== 3) console.error(`warning: server names are not distinct: ${names.join(", ")}`);
  // readiness: all adapters subscribed (not a test, "server-count" tests it)
  await until(
    async () => {
      for (const i of range(3)) if ((await ctl(i, "server-count")).count !== 3) return false;
      return true;
    },
    5000,
    "all servers see 3 servers",
  ).catch((e) => console.error(`warning: ${e.message}`));
  console.log(`adapter=${cfg.adapter} key=${cfg.key}${cfg.pids ? ` pids=${cfg.pids.join(",")}` : ""}`);

  let passed = 0;
  const failed = [];
  let skipped = 0;
  for (const r of runs) {
    const why = skipReason(r.s);
    if (why) {
      skipped++;
      console.log(`skip ${r.name}: ${why}`);
      continue;
    }
    const ctx = new Ctx(r.origin);
    const t0 = Date.now();
    let error = null;
    try {
      await withDeadline(r.s.run(ctx), r.s.deadline || DEADLINE, r.name);
    } catch (e) {
      error = e;
    }
    try {
      await ctx.close();
    } catch (e) {
      if (!error) error = e;
    }
    const ms = Date.now() - t0;
    if (error) {
      failed.push(r.name);
      console.log(`FAIL ${r.name}: ${error.message.replace(/\n+/g, " | ")} (${ms} ms)`);
    } else {
      passed++;
      console.log(`ok   ${r.name} (${ms} ms)${ctx.note ? ` — ${ctx.note}` : ""}`);
    }
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`\n${passed} passed, ${failed.length} failed, ${skipped} skipped (${secs} s)`);
  for (const n of failed) console.log(`  failed: ${n}`);
  return failed.length ? 1 : 0;
}

main()
  .catch((e) => {
    console.error(`fatal: ${e.stack || e.message}`);
    return 2;
  })
  .then(async (code) => {
    finished = true;
    for (const c of ctls) if (c) c.close();
    if (emitterClient) await emitterClient.close().catch(() => {});
    process.exit(code);
  });
