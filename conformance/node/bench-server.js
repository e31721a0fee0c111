#!/usr/bin/env node
// The Node socket.io 4.8.4 (pinned in package-lock.json) counterpart of
// socketio-server/examples/bench-server.rs, for `scripts/bench-compare` and `sio-load`:
// path `/socket.io/`, namespace `/`, default options, loopback only.
//
//   node bench-server.js [--port N]        (prints "listening on PORT")
//   node bench-server.js [--port N] --recovery   (connectionStateRecovery: {}, the defaults)
//   node bench-server.js --port N --redis URL [--adapter redis|redis-sharded|redis-streams] [--key PREFIX]
//       a node of a cluster: @socket.io/redis-adapter 8.3.0 (classic, or sharded with
//       subscriptionMode "dynamic") or @socket.io/redis-streams-adapter 0.3.1 (its streamName
//       and channelPrefix the key, sessionKeyPrefix "<key>:session:") on node-redis 5, as the
//       Rust bench-server's --redis
//
// Events on `/` (the same contract as the Rust bench server):
// - `echo`: emits `echo` back to the sender with the same arguments;
// - `echo_ack` (with an ack): acknowledges with the same arguments;
// - `join` (room name): joins that room (acknowledged when asked);
// - `broadcast` (data): emits `broadcast` with the data to every socket in room `bench`.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const USAGE = "usage: node bench-server.js [--port N] [--recovery] [--redis URL [--adapter redis|redis-sharded|redis-streams] [--key PREFIX]]";

function parseArgs(argv) {
  const opts = { port: Number(process.env.PORT || 3000), redis: null, adapter: "redis", key: "socket.io", recovery: false };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === "--recovery") {
      opts.recovery = true;
      i -= 1;
    } else if (flag === "--port" && value !== undefined && /^\d+$/.test(value) && Number(value) < 65536) {
      opts.port = Number(value);
    } else if (flag === "--redis" && value !== undefined) {
      opts.redis = value;
    } else if (flag === "--adapter" && ["redis", "redis-sharded", "redis-streams"].includes(value)) {
      opts.adapter = value;
    } else if (flag === "--key" && value !== undefined) {
      opts.key = value;
    } else {
      console.error(USAGE);
      process.exit(1);
    }
  }
  return opts;
}

/** The arguments of an event without its ack callback (if any) and the callback. */
function split(args) {
  if (args.length > 0 && typeof args[args.length - 1] === "function") {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, undefined];
}

const opts = parseArgs(process.argv.slice(2));
const port = opts.port;
const httpServer = http.createServer();
const io = new Server(httpServer, opts.recovery ? { connectionStateRecovery: {} } : {});

io.of("/").on("connection", (socket) => {
  socket.on("echo", (...all) => {
    const [args] = split(all);
    socket.emit("echo", ...args);
  });
  socket.on("echo_ack", (...all) => {
    const [args, ack] = split(all);
    if (ack) ack(...args);
  });
  socket.on("join", (...all) => {
    const [args, ack] = split(all);
    if (typeof args[0] === "string") socket.join(args[0]);
    if (ack) ack();
  });
  socket.on("broadcast", (...all) => {
    const [args] = split(all);
    // Encoded once by the adapter, the same frame written to every member of the room.
    io.to("bench").emit("broadcast", ...args);
  });
});

httpServer.on("error", (e) => {
  console.error(`bench-server.js: ${e.message}`);
  process.exit(1);
});
async function listen() {
  if (opts.redis) {
    const { createClient } = require("redis");
    const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
    const pub = createClient({ url: opts.redis });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    if (opts.adapter === "redis-streams") {
      const { createAdapter: createStreamsAdapter } = require("@socket.io/redis-streams-adapter");
      io.adapter(
        createStreamsAdapter(pub, {
          streamName: opts.key,
          channelPrefix: opts.key,
          sessionKeyPrefix: `${opts.key}:session:`,
        }),
      );
    } else {
      io.adapter(
        opts.adapter === "redis-sharded"
          ? createShardedAdapter(pub, sub, { channelPrefix: opts.key, subscriptionMode: "dynamic" })
          : createAdapter(pub, sub, { key: opts.key }),
      );
    }
  }
  httpServer.listen(port, "127.0.0.1", () => {
    console.log(`listening on ${httpServer.address().port}`);
  });
}

listen().catch((e) => {
  console.error(`bench-server.js: ${e.message}`);
  process.exit(1);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
