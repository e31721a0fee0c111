// Generates conformance/fixtures/cluster/streams.json: the stream entries and the recovery
// session values that the official Redis Streams adapter (@socket.io/redis-streams-adapter
// 0.3.1, node-redis 5) writes on a real Redis while two socket.io servers with connection
// state recovery perform the durable cluster operations.
//
//   node gen-streams.js [OUT_DIR]        (needs Redis; REDIS_URL, default redis://127.0.0.1:6379)
//
// The stream, channel prefix and session key prefix are random per run and not recorded. The
// random parts are replaced by fixed tokens of the same length: the adapters' uids (the
// `uid` field), and in the session values the socket id and pid — the value is decoded with
// @msgpack/msgpack (the adapter's codec), the tokens substituted, and encoded again, after
// checking that encoding the untouched decoded value gives back the stored bytes exactly.
"use strict";

process.env.TZ = "UTC";
const fs = require("fs");
const path = require("path");
const http = require("http");
const crypto = require("crypto");
const { Server } = require("socket.io");
const { io: ioc } = require("socket.io-client");
const { createClient } = require("redis");
const { createAdapter } = require("@socket.io/redis-streams-adapter");
const msgpack = require(
  require.resolve("@msgpack/msgpack", { paths: [path.dirname(require.resolve("@socket.io/redis-streams-adapter"))] }),
);

const outDir = process.argv[2] || path.join(__dirname, "..", "fixtures", "cluster");
const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rand = () => crypto.randomBytes(6).toString("hex");

async function server(redis, opts) {
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    adapter: createAdapter(redis, opts),
    connectionStateRecovery: { maxDisconnectionDuration: 60000 },
  });
  io.of("/chat");
  await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
  return { io, port: httpServer.address().port, httpServer };
}

async function main() {
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  const opts = {
    streamName: `fixture-stream-${rand()}`,
    channelPrefix: `fixture-${rand()}`,
    sessionKeyPrefix: `fixture-session-${rand()}:`,
  };
  const a = await server(redis, opts);
  const b = await server(redis, opts);
  await sleep(300);
  const uids = new Map([
    [a.io.of("/").adapter.uid, "0123456789abcdef"],
    [b.io.of("/").adapter.uid, "fedcba9876543210"],
    [a.io.of("/chat").adapter.uid, "00112233445566aa"],
  ]);

  const ops = [
    ["emit to all", () => a.io.emit("hello", 1, "two")],
    ["to a room except a room, volatile", () => a.io.to("room1").except("room2").volatile.emit("v", { a: [1, null] })],
    ["binary", () => a.io.emit("bin", Buffer.from([1, 2, 3]), "x")],
    ["compress false to two rooms", () => a.io.to(["room1", "room3"]).compress(false).emit("c")],
    ["in /chat", () => a.io.of("/chat").emit("chat", "x")],
    ["socketsJoin", () => a.io.socketsJoin("room3")],
    ["socketsLeave in a room", () => a.io.in("room3").socketsLeave("room3")],
    ["disconnectSockets close", () => a.io.in("nobody").disconnectSockets(true)],
    ["from B", () => b.io.to("room9").emit("from-b", true)],
  ];
  const entries = [];
  let last = "-";
  for (const [name, op] of ops) {
    op();
    await sleep(150);
    const got = await redis.xRange(opts.streamName, last === "-" ? "-" : `(${last}`, "+");
    let k = 0;
    for (const { id, message } of got) {
      last = id;
      const fields = Object.entries(message).map(([key, value]) => [key, key === "uid" ? uids.get(value) || value : value]);
      for (const [key, value] of Object.entries(message)) {
        if (key === "uid" && !uids.has(value)) throw new Error(`unknown uid ${value}`);
      }
      entries.push({ name: `${name} #${k++}`, fields });
    }
  }

  // A session: a client of A receives an event, its transport is cut, A persists it.
  const client = ioc(`http://127.0.0.1:${a.port}`, { transports: ["websocket"], reconnection: false, auth: { token: "t" } });
  await new Promise((r) => client.on("connect", r));
  const [serverSocket] = await a.io.fetchSockets();
  const local = a.io.of("/").sockets.get(serverSocket.id);
  local.join("room1");
  local.data = { user: "ann", n: 1 };
  await sleep(100);
  client.io.engine.close();
  await sleep(300);
  const sessions = [];
  for (const key of await redis.keys(`${opts.sessionKeyPrefix}*`)) {
    const stored = await redis.get(key);
    const raw = Buffer.from(stored, "base64");
    const decoded = msgpack.decode(raw);
    const again = Buffer.from(msgpack.encode(decoded));
    if (!again.equals(raw)) throw new Error("re-encoding the session does not give back its bytes");
    const sid = "S".repeat(decoded.sid.length);
    const pid = "P".repeat(decoded.pid.length);
    const fixed = {
      ...decoded,
      sid,
      pid,
      rooms: decoded.rooms.map((r) => (r === decoded.sid ? sid : r)),
    };
    sessions.push({
      name: "a socket in room1 with data, cut",
      value: Buffer.from(msgpack.encode(fixed)).toString("base64"),
      session: fixed,
    });
  }
  if (sessions.length !== 1) throw new Error(`expected one session, found ${sessions.length}`);

  client.close();
  await redis.del(opts.streamName);
  for (const key of await redis.keys(`${opts.sessionKeyPrefix}*`)) await redis.del(key);
  a.io.close();
  b.io.close();
  await redis.quit();
  fs.mkdirSync(outDir, { recursive: true });
  const lines = (items) => items.map((x) => JSON.stringify(x)).join(",\n");
  fs.writeFileSync(
    path.join(outDir, "streams.json"),
    `{"entries":[\n${lines(entries)}\n],\n"sessions":[\n${lines(sessions)}\n]}\n`,
  );
  console.log(`streams.json: ${entries.length} entries, ${sessions.length} session`);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
