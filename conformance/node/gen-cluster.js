// Generates conformance/fixtures/cluster/classic.json and sharded.json: every message that
// the official Redis adapters (@socket.io/redis-adapter 8.3.0, `createAdapter` and
// `createShardedAdapter`, node-redis 5) publish on a real Redis while two socket.io servers
// perform each cluster operation (classic: plus the messages of @socket.io/redis-emitter
// 5.1.0).
//
//   node gen-cluster.js [OUT_DIR]        (needs Redis; REDIS_URL, default redis://127.0.0.1:6379)
//
// Two servers A and B (namespace "/" and "/chat") share one Redis under a random key prefix;
// a raw subscriber records channel + bytes of every message, in arrival order, per
// operation (classic: PSUBSCRIBE `<prefix>*`; sharded: SSUBSCRIBE to the main, response and
// room channels of both servers). The random parts (adapter uids, request ids, socket ids, the
// prefix, the handshake's time/issued/host/websocket key) are then replaced by fixed tokens of
// the same length: each message is decoded with the adapter's own decoder (JSON.parse or
// notepack.io 3.0.1), the tokens substituted in the decoded value, and the value encoded again
// with the same encoder (JSON.stringify or notepack.encode) — after checking that encoding
// the untouched decoded value gives back the published bytes exactly. So each fixture is what
// Node publishes for those values, and the file is the same on every run.
"use strict";

process.env.TZ = "UTC";
const fs = require("fs");
const path = require("path");
const http = require("http");
const crypto = require("crypto");
const { Server } = require("socket.io");
const { io: ioc } = require("socket.io-client");
const { createClient } = require("redis");
const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
const { Emitter } = require("@socket.io/redis-emitter");
const notepack = require(
  require.resolve("notepack.io", { paths: [path.dirname(require.resolve("@socket.io/redis-adapter"))] }),
);

const outDir = process.argv[2] || path.join(__dirname, "..", "fixtures", "cluster");
const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SETTLE = 150;

let prefix = null;
const FIXED_PREFIX = "fixture";

// random string -> fixed token of the same length
const subst = new Map();
function token(real, fixed) {
  if (real.length !== fixed.length) throw new Error(`token ${fixed} for ${real}: length differs`);
  subst.set(real, fixed);
}

function isBinary(v) {
  return Buffer.isBuffer(v) || v instanceof Uint8Array || v instanceof ArrayBuffer;
}

// Deep substitution in a decoded value (strings equal to a random value, and handshake fields).
let requestCounter = 0;
function fix(v, key) {
  if (typeof v === "string") {
    if (subst.has(v)) return subst.get(v);
    if (key === "requestId") {
      const fixed = "REQ" + String(++requestCounter).padStart(v.length - 3, "0");
      token(v, fixed);
      return fixed;
    }
    if (key === "time") return "Thu Jan 01 2026 00:00:00 GMT+0000 (Coordinated Universal Time)";
    if (key === "host") return "127.0.0.1:3000";
    if (key === "sec-websocket-key") return "dGhlIHNhbXBsZSBub25jZQ==";
    return v;
  }
  if (typeof v === "number" && key === "issued") return 1767225600000;
  if (Array.isArray(v)) return v.map((x) => fix(x));
  if (v && typeof v === "object" && !isBinary(v)) {
    const out = {};
    for (const k of Object.keys(v)) out[k] = fix(v[k], k);
    return out;
  }
  return v;
}

function fixChannel(ch) {
  let out = ch.split(prefix).join(FIXED_PREFIX);
  for (const [real, fixed] of subst) out = out.split(real).join(fixed);
  return out;
}

function hex(buf) {
  return Buffer.from(buf).toString("hex");
}

// JSON.stringify view of a decoded value, with binary as {"binary_hex"}.
function view(v) {
  if (isBinary(v)) return { binary_hex: hex(v instanceof ArrayBuffer ? Buffer.from(v) : v) };
  if (Array.isArray(v)) return v.map(view);
  if (v && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v)) if (v[k] !== undefined) out[k] = view(v[k]);
    return out;
  }
  return v;
}

// ---------------------------------------------------------------------------------------

let cases = [];
let recording = null; // {op, messages: []}

function record(message, channel) {
  if (!recording) throw new Error(`message outside an operation on ${channel}`);
  recording.messages.push({ channel: channel.toString(), bytes: Buffer.from(message) });
}

function finish(op) {
  const msgs = recording.messages;
  recording = null;
  // Client acks reach the responding server in an order that is not fixed: the
  // BROADCAST_ACK responses (classic type 9, ClusterAdapter type 12) of one operation are put
  // in byte order among themselves.
  const out = [];
  for (const m of msgs) {
    const json = m.bytes[0] === 0x7b;
    const decoded = json ? JSON.parse(m.bytes.toString()) : notepack.decode(m.bytes);
    const again = json ? Buffer.from(JSON.stringify(decoded)) : notepack.encode(decoded);
    if (!again.equals(m.bytes)) throw new Error(`${op}: re-encoding is not the identity on ${m.channel}`);
    const fixed = fix(decoded);
    const bytes = json ? Buffer.from(JSON.stringify(fixed)) : notepack.encode(fixed);
    out.push({ json, bytes, channel: fixChannel(m.channel), fixed });
  }
  const acks = out.filter((m) => m.fixed.type === (currentKind === "sharded" ? 12 : 9));
  const sorted = [...acks].sort((x, y) => Buffer.compare(x.bytes, y.bytes));
  let i = 0;
  for (const m of out.map((m) => (acks.includes(m) ? sorted[acks.indexOf(m)] : m))) {
    const c = { name: `${op} #${i++}`, op, channel: m.channel };
    if (m.json) c.json = m.bytes.toString();
    else c.binary_hex = hex(m.bytes);
    c.value = view(m.fixed);
    cases.push(c);
  }
  if (msgs.length === 0) cases.push({ name: `${op} (nothing published)`, op, channel: null });
}

async function op(name, fn, settle = SETTLE) {
  recording = { op: name, messages: [] };
  await fn();
  await sleep(settle);
  finish(name);
}

let currentKind = null;

async function scenario(kind) {
  currentKind = kind;
  const sharded = kind === "sharded";
  prefix = "sio-fx-" + crypto.randomBytes(6).toString("hex");
  cases = [];
  subst.clear();
  requestCounter = 0;
  const raw = createClient({ url: REDIS_URL });
  await raw.connect();
  if (!sharded) await raw.pSubscribe(`${prefix}*`, (message, channel) => record(message, channel), true);

  const clients = [];
  const servers = [];
  for (const name of ["A", "B"]) {
    const pub = createClient({ url: REDIS_URL });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    clients.push(pub, sub);
    const httpServer = http.createServer();
    const adapter = sharded
      ? createShardedAdapter(pub, sub, { channelPrefix: prefix })
      : createAdapter(pub, sub, { key: prefix, requestsTimeout: 1000 });
    const io = new Server(httpServer, { adapter });
    await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
    io.of("/chat");
    servers.push({ name, io, httpServer, port: httpServer.address().port });
  }
  const [A, B] = servers;
  const uidToken = (s, n) => (sharded ? `${s.repeat(15)}${n}` : `uid${s.toUpperCase()}0${n}`);
  token(A.io.of("/").adapter.uid, uidToken("a", 0));
  token(B.io.of("/").adapter.uid, uidToken("b", 0));
  token(A.io.of("/chat").adapter.uid, uidToken("a", 1));
  token(B.io.of("/chat").adapter.uid, uidToken("b", 1));

  if (sharded) {
    const channels = [];
    for (const nsp of ["/", "/chat"]) {
      channels.push(`${prefix}#${nsp}#`);
      for (const s of servers) channels.push(`${prefix}#${nsp}#${s.io.of(nsp).adapter.uid}#`);
      for (const room of ["room1", "room2", "room3", "room4", "room5"]) channels.push(`${prefix}#${nsp}#${room}#`);
    }
    await raw.sSubscribe(channels, (message, channel) => record(message, channel), true);
    // The recorder is one more subscriber of the main channel, whose SHARDNUMSUB is the
    // adapters' server count: take it out, or every request would wait for its answer.
    for (const s of servers) {
      for (const nsp of ["/", "/chat"]) {
        const a = s.io.of(nsp).adapter;
        const count = a.serverCount.bind(a);
        a.serverCount = async () => (await count()) - 1;
      }
    }
  }

  // The channel names of each adapter instance, as the adapter computes them.
  for (const s of servers) {
    for (const nsp of ["/", "/chat"]) {
      const a = s.io.of(nsp).adapter;
      const c = { name: `channels of ${s.name} ${nsp}`, op: "channels", key: FIXED_PREFIX, nsp, uid: subst.get(a.uid) };
      if (sharded) {
        c.channel = fixChannel(a.channel);
        c.responseChannel = fixChannel(a.responseChannel);
      } else {
        c.channel = fixChannel(a.channel);
        c.requestChannel = fixChannel(a.requestChannel);
        c.responseChannel = fixChannel(a.responseChannel);
        c.specificResponseChannel = fixChannel(a.specificResponseChannel);
      }
      cases.push(c);
    }
  }

  // Server-side behaviour used by the operations.
  for (const s of servers) {
    s.io.on("connection", (socket) => {
      for (const r of socket.handshake.auth.rooms || []) socket.join(r);
      socket.data = { name: socket.handshake.auth.name };
    });
    s.io.on("ping", (...args) => {
      const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
      if (cb) cb({ from: s.name, got: args.length });
    });
  }

  // Clients: a1 on A (room1); b1 on B (room1, room2); b2 on B (room2).
  const sockets = {};
  async function connect(label, server, rooms) {
    const socket = ioc(`http://127.0.0.1:${server.port}`, {
      transports: ["websocket"],
      forceNew: true,
      auth: { name: label, rooms },
    });
    await new Promise((r) => socket.on("connect", r));
    token(socket.id, `sid-${label}`.padEnd(20, "_"));
    socket.on("hello", () => {});
    socket.on("ack-me", (...args) => {
      const cb = args.pop();
      cb(label === "b2" ? Buffer.from([0xb2]) : { label }, "ignored second argument");
    });
    sockets[label] = socket;
  }
  await op("connect clients", async () => {
    await connect("a1", A, ["room1"]);
    await connect("b1", B, ["room1", "room2"]);
    await connect("b2", B, ["room2"]);
  });

  const io = A.io;
  const bin = Buffer.from([1, 2, 3]);
  await op("emit to all", () => io.emit("hello", 1, "2", bin));
  await op("emit to one room", () => io.to("room1").emit("hello", "one room"));
  await op("emit to two rooms except one", () => io.to("room1").to("room2").except("room3").emit("hello", { a: [1.5, -1, null, true] }));
  await op("emit except a socket", () => io.except(sockets.b1.id).emit("hello"));
  await op("emit to a socket id", () => io.to(sockets.b2.id).emit("hello", 300, -200, 70000, 2 ** 40, -(2 ** 33)));
  await op("emit volatile compress false", () => io.volatile.compress(false).emit("hello", "v"));
  await op("emit local only", () => io.local.emit("hello", "local"));
  await op("emit from a socket broadcast", () => {
    const s = io.of("/").sockets.get(sockets.a1.id);
    s.broadcast.emit("hello", "from a1");
  });
  await op("emit in /chat", () => io.of("/chat").emit("hello", "chat"));
  await op("emit with ack to all", () => new Promise((r) => io.timeout(500).emit("ack-me", "q", () => r())), 300);
  await op("emit with ack to room2", () => new Promise((r) => io.to("room2").timeout(500).emit("ack-me", bin, () => r())), 300);
  await op("fetchSockets all", () => io.fetchSockets());
  await op("fetchSockets in room2 except b2", () => io.in("room2").except(sockets.b2.id).fetchSockets());
  await op("remote socket emit and emitWithAck", async () => {
    const [remote] = await io.in(sockets.b1.id).fetchSockets();
    remote.emit("hello", "to remote");
    await remote.timeout(500).emitWithAck("ack-me", 42);
  });
  if (!sharded) await op("allRooms", () => io.of("/").adapter.allRooms());
  await op("socketsJoin all", () => io.socketsJoin("room3"));
  await op("socketsJoin in room1", () => io.in("room1").socketsJoin(["room4", "room5"]));
  await op("socketsLeave except room2", () => io.except("room2").socketsLeave("room3"));
  await op("serverSideEmit", () => io.serverSideEmit("ping", 1, "two", [3]));
  await op("serverSideEmit with ack", () => new Promise((r) => io.serverSideEmit("ping", 7, () => r())));
  if (sharded) {
    await op("serverSideEmit with binary and ack", () => new Promise((r) => io.serverSideEmit("ping", bin, () => r())));
    await op("emit with ack and no client", () => new Promise((r) => io.to("nobody").timeout(300).emit("ack-me", () => r())), 400);
  }
  if (!sharded) {
    // The Redis emitter (@socket.io/redis-emitter 5.1.0) speaks the classic protocol.
    const emitter = new Emitter(clients[0], { key: prefix });
    await op("emitter emit to all", () => emitter.emit("hello", 1, bin));
    await op("emitter emit to a room except a socket, volatile", () => emitter.to("room2").except(sockets.b2.id).volatile.emit("hello", "e"));
    await op("emitter emit in /chat to two rooms", () => emitter.of("/chat").to("room1").to("room2").compress(false).emit("hello"));
    await op("emitter socketsJoin in room1", () => emitter.in("room1").socketsJoin("room6"));
    await op("emitter socketsLeave", () => emitter.socketsLeave(["room6"]));
    await op("emitter serverSideEmit", () => emitter.serverSideEmit("ping", "from emitter"));
    await op("emitter disconnectSockets in room6", () => emitter.in("room6").disconnectSockets());
  }
  await op("disconnectSockets in room5 with close", () => io.in("room5").disconnectSockets(true));
  await op("disconnectSockets all", () => io.disconnectSockets());

  for (const s of Object.values(sockets)) s.close();
  for (const s of servers) s.io.close();
  if (sharded) await raw.sUnsubscribe();
  else await raw.pUnsubscribe();
  await raw.quit();
  for (const c of clients) await c.quit().catch(() => {});

  fs.mkdirSync(outDir, { recursive: true });
  const names = new Set();
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`duplicate fixture name ${c.name}`);
    names.add(c.name);
  }
  const body = "[\n" + cases.map((c) => JSON.stringify(c)).join(",\n") + "\n]\n";
  fs.writeFileSync(path.join(outDir, `${kind}.json`), body);
  console.log(`${cases.length} cases written to ${path.join(outDir, `${kind}.json`)}`);
}

async function main() {
  await scenario("classic");
  await scenario("sharded");
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
