#!/usr/bin/env node
// The Node socket.io 4.8.4 (pinned in package-lock.json) counterpart of
// socketio-server/examples/bench-server.rs, for `scripts/bench-compare` and `sio-load`:
// path `/socket.io/`, namespace `/`, default options, loopback only.
//
//   node bench-server.js [--port N]        (prints "listening on PORT")
//
// Events on `/` (the same contract as the Rust bench server):
// - `echo`: emits `echo` back to the sender with the same arguments;
// - `echo_ack` (with an ack): acknowledges with the same arguments;
// - `join` (room name): joins that room (acknowledged when asked);
// - `broadcast` (data): emits `broadcast` with the data to every socket in room `bench`.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const USAGE = "usage: node bench-server.js [--port N]";

function parseArgs(argv) {
  let port = 3000;
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (argv[i] === "--port" && value !== undefined && /^\d+$/.test(value) && Number(value) < 65536) {
      port = Number(value);
    } else {
      console.error(USAGE);
      process.exit(1);
    }
  }
  return port;
}

/** The arguments of an event without its ack callback (if any) and the callback. */
function split(args) {
  if (args.length > 0 && typeof args[args.length - 1] === "function") {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, undefined];
}

const port = parseArgs(process.argv.slice(2));
const httpServer = http.createServer();
const io = new Server(httpServer);

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
httpServer.listen(port, "127.0.0.1", () => {
  console.log(`listening on ${httpServer.address().port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
