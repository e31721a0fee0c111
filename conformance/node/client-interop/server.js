// Interop server for socketio-client's tests: the official socket.io 4.8 server on a
// loopback port. Usage: node server.js [port] [transports] [flags]   (port 0 = ephemeral;
// transports: "polling,websocket" by default; flags, comma-separated: "recovery" turns
// connectionStateRecovery on, "msgpack" selects socket.io-msgpack-parser).
// Prints "PORT <n>" once listening, then one JSON line per observation ({"ev": ...}) for the
// test to assert on.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 0);
const transports = (process.argv[3] || "polling,websocket").split(",");
const flags = (process.argv[4] || "").split(",");
const recovery = flags.includes("recovery");
const msgpack = flags.includes("msgpack");
// "cookie": the engine sets the `io` cookie, and every request of a session is logged with
// the Cookie header it came with.
const cookie = flags.includes("cookie");
const log = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const httpServer = http.createServer();
const io = new Server(httpServer, {
  transports,
  pingInterval: 300,
  pingTimeout: 200,
  ...(msgpack ? { parser: require("socket.io-msgpack-parser") } : {}),
  ...(recovery ? { connectionStateRecovery: { maxDisconnectionDuration: 30000 } } : {}),
  ...(cookie ? { cookie: { name: "io" } } : {}),
});

io.engine.on("connection", (raw) => log({ ev: "engine_connection", id: raw.id }));
if (cookie) {
  io.engine.on("headers", (headers, req) => {
    const query = new URL(req.url, "http://localhost").searchParams;
    if (query.get("sid")) {
      log({ ev: "session_request", transport: query.get("transport"), cookie: req.headers.cookie || null });
    }
  });
}

io.on("connection", (socket) => {
  log({ ev: "connection", nsp: "/", engine: socket.conn.id, id: socket.id, recovered: socket.recovered, auth: socket.handshake.auth, transport: socket.conn.transport.name, query: socket.handshake.query, header: socket.handshake.headers["x-test"] || null, wsProtocol: socket.conn.transport.name === "websocket" ? socket.conn.transport.socket.protocol : null });
  socket.join("room");
  if (!socket.recovered) socket.emit("auth", socket.handshake.auth);
  socket.on("echo", (...args) => socket.emit("echo-back", ...args));
  socket.on("message", (...args) => socket.send(...args));
  socket.on("add", (a, b, ack) => ack(a + b));
  // undefined as a Node application writes it: msgpack carries it (d4 00 00), JSON drops it
  // from objects and writes null in arrays.
  socket.on("undefined-please", (ack) => {
    socket.emit("undefined", { a: undefined, b: 1 }, [1, undefined, 3], undefined);
    ack(undefined, { a: undefined, b: 2 });
  });
  socket.on("ask-me", async () => {
    try {
      const answer = await socket.timeout(5000).emitWithAck("question", "what?");
      socket.emit("answer", answer);
    } catch (e) {
      socket.emit("answer", "timeout");
    }
  });
  socket.on("kick-me", () => socket.disconnect());
  socket.on("seq", (n) => log({ ev: "seq", n }));
  // A transport-level loss: the engine connection closes, the client reconnects. With
  // recovery on, `missed` events broadcast meanwhile are replayed on the reconnection.
  socket.on("drop-transport", (missed) => {
    socket.conn.close();
    if (missed) {
      setTimeout(() => {
        for (let i = 1; i <= missed; i++) io.to("room").emit("missed", i);
        log({ ev: "missed-sent", n: missed });
      }, 100);
    }
  });
  // Acks only the second try of each message: at-least-once delivery with retries.
  const tries = new Map();
  socket.on("retry-me", (n, ack) => {
    const t = (tries.get(n) || 0) + 1;
    tries.set(n, t);
    log({ ev: "retry-me", n, try: t });
    if (t >= 2) ack("ok " + n);
  });
  socket.on("never-acked", (n, ack) => log({ ev: "never-acked", n }));
  socket.conn.on("upgrade", (t) => log({ ev: "upgrade", transport: t.name }));
  socket.on("disconnect", (reason) => log({ ev: "disconnect", nsp: "/", reason }));
});

// A namespace whose middleware never answers: its sockets stay "connecting".
io.of("/slow").use(() => {});

// A namespace whose middleware refuses with data (binary inside with msgpack).
io.of("/private").use((socket, next) => {
  const err = new Error("not authorized");
  err.data = { content: "please retry", code: 7, ...(msgpack ? { blob: Buffer.from([1, 2]) } : {}) };
  next(err);
});

io.of("/admin").on("connection", (socket) => {
  log({ ev: "connection", nsp: "/admin", engine: socket.conn.id });
  socket.emit("welcome", "/admin");
  socket.on("add", (a, b, ack) => ack(a + b));
});

httpServer.listen(port, "127.0.0.1", () => {
  log({ ev: "listening" });
  process.stdout.write("PORT " + httpServer.address().port + "\n");
});
