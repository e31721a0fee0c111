"use strict";
// One Socket.IO server of a test cluster: the official `socket.io` 4.8 server with the official
// Redis adapter (`@socket.io/redis-adapter` 8.3.0, classic `createAdapter` or
// `createShardedAdapter`, node-redis 5 clients). `scenarios.js` drives it through the control
// namespace "/ctl"; a Rust server implementing the same flags and the same "/ctl" protocol can
// take its place in the cluster.
//
//   node node-server.js [--port N] [--redis URL] [--key PREFIX] [--adapter classic|sharded]
//                       [--subscription-mode static|dynamic|dynamic-private]
//                       [--requests-timeout MS] [--name NAME] [--silent-sse]
//
//   --port               0 (default) = ephemeral; prints `listening <port>` once listening
//   --redis              default $REDIS_URL or redis://127.0.0.1:6379
//   --key                classic `key` / sharded `channelPrefix` (default "socket.io")
//   --adapter            classic (default) | sharded
//   --subscription-mode  sharded only (default dynamic)
//   --requests-timeout   classic `requestsTimeout` (default 1000 ms)
//   --name               returned by the `info` control event and by `sse-ack` (default node-<pid>)
//   --silent-sse         never call the callback of a server-side `sse-ack` event
//   --recovery MS        connection state recovery with this maxDisconnectionDuration (off)
//   --msgpack            the socket.io-msgpack-parser parser
//   --adapter streams    @socket.io/redis-streams-adapter 0.3.1, its streamName and
//                        channelPrefix the key, its sessionKeyPrefix "<key>:session:"
//
// Namespaces "/" and "/custom" (client-facing):
//   - on connection: joins `handshake.auth.rooms` (array, optional); `socket.data =
//     handshake.auth.data` when present;
//   - client events: `join` (rooms: array | string, ack) -> socket.join, ack();
//     `leave` (room, ack) -> socket.leave, ack(); `set-data` (value, ack) -> socket.data = value, ack();
//     `cut` -> the server closes the client's transport (socket.conn.close()).
// Server-side (inter-server) events on "/": `sse` (...args) logged as ["sse", ...args];
//   `sse-ack` (...args, cb) logged as ["sse-ack", ...args], then cb(NAME) unless --silent-sse.
// Namespace "/ctl": every event has ONE object argument and an ack; the ack gets one object, the
//   result fields below, or `{error: message}` on any failure (unknown event included). Common
//   request fields: nsp (default "/"), rooms (default []), except (default []), local (false);
//   `op` = io.of(nsp), then .to(rooms) if non-empty, .except(except) if non-empty, .local if local.
//   info               {}                                  -> {name, kind: "node"}
//   emit               {nsp,rooms,except,local,volatile,event,args}  -> {}   (op.emit(event, ...args))
//   emit-with-ack      {nsp,rooms,except,local,timeout=5000,event,args}
//                                                         -> {error: null | "operation has timed out", responses: [...]}
//   fetch              {nsp,rooms,except,local,timeout?}   -> {sockets: [{id, rooms, data, handshake}]}
//                      (timeout -> op.timeout(t).fetchSockets(): used by the sharded adapter,
//                      ignored by the classic one, whose requestsTimeout applies)
//   sockets-join       {nsp,rooms,except,local,join: room | rooms}   -> {}
//   sockets-leave      {nsp,rooms,except,local,leave: room | rooms}  -> {}
//   disconnect-sockets {nsp,rooms,except,local,close=false}          -> {}
//   remote             {nsp,id,op:"emit"|"join"|"leave"|"disconnect",event,args,rooms,close}
//                      -> {found: n}  (io.of(nsp).in(id).fetchSockets(), acts on the first one:
//                      emit(event, ...args) | join(rooms) | leave(rooms[0]) | disconnect(close))
//   server-side-emit   {event,args,ack=false}              -> {} | {error: null | text, responses}
//                      (socket.io 4.8 has no io.timeout().serverSideEmit: classic times out after
//                      requestsTimeout, sharded after 5000 ms; a `timeout` field is ignored)
//   server-count       {nsp}                               -> {count}
//   sse-log            {clear=false}                       -> {events: [["sse"|"sse-ack", ...args]]}
//   local-sockets      {nsp}                               -> {sockets: [{id, rooms, handshake, data}]}
//
// Events of one control socket are handled in arrival order (the handlers issue their operation
// synchronously), which "50 broadcasts arrive in order" and "sends a packet before all socket
// instances disconnect" rely on: they pipeline control events.
//
// SIGTERM / SIGINT: closes the server and the Redis clients, exits 0.

const http = require("http");
const { Server } = require("socket.io");
const { createClient } = require("redis");
const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
const { createAdapter: createStreamsAdapter } = require("@socket.io/redis-streams-adapter");

function parseArgs(argv) {
  const opts = {
    port: 0,
    redis: process.env.REDIS_URL || "redis://127.0.0.1:6379",
    key: "socket.io",
    adapter: "classic",
    subscriptionMode: "dynamic",
    requestsTimeout: 1000,
    name: `node-${process.pid}`,
    silentSse: false,
    recovery: 0,
    msgpack: false,
  };
  const valued = {
    "--port": (v) => (opts.port = Number(v)),
    "--redis": (v) => (opts.redis = v),
    "--key": (v) => (opts.key = v),
    "--adapter": (v) => (opts.adapter = v),
    "--subscription-mode": (v) => (opts.subscriptionMode = v),
    "--requests-timeout": (v) => (opts.requestsTimeout = Number(v)),
    "--name": (v) => (opts.name = v),
    "--recovery": (v) => (opts.recovery = Number(v)),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--silent-sse") opts.silentSse = true;
    else if (a === "--msgpack") opts.msgpack = true;
    else if (valued[a] && i + 1 < argv.length) valued[a](argv[++i]);
    else throw new Error(`unknown or incomplete argument: ${a}`);
  }
  if (!["classic", "sharded", "streams"].includes(opts.adapter)) throw new Error(`bad --adapter ${opts.adapter}`);
  if (!["static", "dynamic", "dynamic-private"].includes(opts.subscriptionMode)) {
    throw new Error(`bad --subscription-mode ${opts.subscriptionMode}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0) throw new Error(`bad --port`);
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const log = (...a) => console.error(`[${opts.name}]`, ...a);
process.on("unhandledRejection", (e) => log("unhandled rejection:", e && e.stack ? e.stack : e));
process.on("uncaughtException", (e) => log("uncaught exception:", e && e.stack ? e.stack : e));

/** Server-side events received from the other servers, in arrival order. */
let sseLog = [];

function asArray(v) {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** `io.of(nsp)` then `.to(rooms)`, `.except(except)`, `.local` as asked by a control request. */
function operator(io, o) {
  let op = io.of(o.nsp || "/");
  const rooms = asArray(o.rooms);
  const except = asArray(o.except);
  if (rooms.length) op = op.to(rooms);
  if (except.length) op = op.except(except);
  if (o.local) op = op.local;
  return op;
}

function socketDetails(s) {
  return { id: s.id, rooms: [...s.rooms], data: s.data ?? null, handshake: s.handshake };
}

/** Control events: (io, request object) -> result object (or a promise of it). */
const handlers = {
  info: () => ({ name: opts.name, kind: "node" }),

  emit: (io, o) => {
    let op = operator(io, o);
    if (o.volatile) op = op.volatile;
    op.emit(o.event, ...asArray(o.args));
    return {};
  },

  "emit-with-ack": (io, o) =>
    new Promise((resolve) => {
      operator(io, o)
        .timeout(o.timeout ?? 5000)
        .emit(o.event, ...asArray(o.args), (err, responses) =>
          resolve({ error: err ? err.message : null, responses }),
        );
    }),

  fetch: async (io, o) => {
    let op = operator(io, o);
    if (o.timeout !== undefined && o.timeout !== null) op = op.timeout(o.timeout);
    const sockets = await op.fetchSockets();
    return { sockets: sockets.map(socketDetails) };
  },

  "sockets-join": (io, o) => {
    operator(io, o).socketsJoin(o.join);
    return {};
  },

  "sockets-leave": (io, o) => {
    operator(io, o).socketsLeave(o.leave);
    return {};
  },

  "disconnect-sockets": (io, o) => {
    operator(io, o).disconnectSockets(!!o.close);
    return {};
  },

  // op "emit-with-ack" (`timeout`, default 5000): `{found, response}` or `{found, error}`.
  remote: async (io, o) => {
    const sockets = await io.of(o.nsp || "/").in(o.id).fetchSockets();
    const [s] = sockets;
    if (s) {
      switch (o.op) {
        case "emit":
          s.emit(o.event, ...asArray(o.args));
          break;
        case "join":
          s.join(o.rooms);
          break;
        case "leave":
          s.leave(asArray(o.rooms)[0]);
          break;
        case "disconnect":
          s.disconnect(!!o.close);
          break;
        case "emit-with-ack":
          try {
            const response = await s.timeout(o.timeout ?? 5000).emitWithAck(o.event, ...asArray(o.args));
            return { found: sockets.length, response };
          } catch (e) {
            return { found: sockets.length, error: e.message };
          }
        default:
          throw new Error(`unknown remote op ${o.op}`);
      }
    }
    return { found: sockets.length };
  },

  // socket.io 4.8 has no `io.timeout(t).serverSideEmit`: the adapter's own timeout applies
  // (classic: requestsTimeout; sharded/ClusterAdapter: fixed 5000 ms). `timeout` is ignored.
  "server-side-emit": (io, o) => {
    const args = asArray(o.args);
    if (!o.ack) {
      io.serverSideEmit(o.event, ...args);
      return {};
    }
    return new Promise((resolve) => {
      io.serverSideEmit(o.event, ...args, (err, responses) =>
        resolve({ error: err ? err.message : null, responses }),
      );
    });
  },

  "server-count": async (io, o) => ({ count: await io.of(o.nsp || "/").adapter.serverCount() }),

  "sse-log": (io, o) => {
    const events = sseLog;
    if (o.clear) sseLog = [];
    return { events };
  },

  "local-sockets": (io, o) => ({
    sockets: [...io.of(o.nsp || "/").sockets.values()].map((s) => ({
      id: s.id,
      rooms: [...s.rooms],
      handshake: s.handshake,
      data: s.data ?? null,
    })),
  }),
};

function serveClients(nsp) {
  nsp.on("connection", (socket) => {
    const auth = socket.handshake.auth || {};
    if (Array.isArray(auth.rooms) && auth.rooms.length) socket.join(auth.rooms);
    if (auth.data !== undefined) socket.data = auth.data;
    const ackOf = (args) => (typeof args[args.length - 1] === "function" ? args.pop() : () => {});
    socket.on("join", (...args) => {
      const ack = ackOf(args);
      socket.join(args[0]);
      ack();
    });
    socket.on("leave", (...args) => {
      const ack = ackOf(args);
      socket.leave(args[0]);
      ack();
    });
    socket.on("set-data", (...args) => {
      const ack = ackOf(args);
      socket.data = args[0];
      ack();
    });
    // The server closes the client's transport (a recoverable reason).
    socket.on("cut", () => socket.conn.close());
  });
}

function serveControl(io) {
  io.of("/ctl").on("connection", (socket) => {
    socket.onAny(async (event, ...args) => {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
      const request = args[0] && typeof args[0] === "object" ? args[0] : {};
      let result;
      try {
        const handler = handlers[event];
        if (!handler) throw new Error(`unknown control event ${event}`);
        result = await handler(io, request);
      } catch (e) {
        result = { error: e && e.message ? e.message : String(e) };
      }
      if (ack) ack(result);
    });
  });
}

async function main() {
  const pub = createClient({ url: opts.redis });
  const sub = pub.duplicate();
  pub.on("error", (e) => log("redis pub error:", e.message));
  sub.on("error", (e) => log("redis sub error:", e.message));
  await Promise.all([pub.connect(), sub.connect()]);

  // The streams adapter: its stream, channels and sessions all under the key.
  const adapter =
    opts.adapter === "streams"
      ? createStreamsAdapter(pub, {
          streamName: opts.key,
          channelPrefix: opts.key,
          sessionKeyPrefix: `${opts.key}:session:`,
        })
      : opts.adapter === "sharded"
        ? createShardedAdapter(pub, sub, { channelPrefix: opts.key, subscriptionMode: opts.subscriptionMode })
        : createAdapter(pub, sub, { key: opts.key, requestsTimeout: opts.requestsTimeout });

  const httpServer = http.createServer();
  const serverOpts = { adapter };
  if (opts.msgpack) serverOpts.parser = require("socket.io-msgpack-parser");
  if (opts.recovery > 0) {
    serverOpts.connectionStateRecovery = { maxDisconnectionDuration: opts.recovery, skipMiddlewares: true };
  }
  const io = new Server(httpServer, serverOpts);

  io.on("sse", (...args) => {
    sseLog.push(["sse", ...args]);
  });
  io.on("sse-ack", (...args) => {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
    sseLog.push(["sse-ack", ...args]);
    if (cb && !opts.silentSse) cb(opts.name);
  });

  serveClients(io.of("/"));
  serveClients(io.of("/custom"));
  serveControl(io);

  await new Promise((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(opts.port, "127.0.0.1", resolve);
  });
  process.stdout.write(`listening ${httpServer.address().port}\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 2000).unref();
    try {
      await new Promise((resolve) => io.close(() => resolve()));
    } catch (e) {
      log("close:", e.message);
    }
    await Promise.allSettled([pub.close(), sub.close()]);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e) => {
  log("fatal:", e && e.stack ? e.stack : e);
  process.exit(1);
});
