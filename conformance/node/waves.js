#!/usr/bin/env node
// One wave of connections: COUNT official socket.io-client 4.8.4 clients (half WebSocket,
// half long-polling, or --transport) connect to a server, each joins nothing and sends one
// event, then all close. Prints one JSON line: connected, failed, and the time taken.
// scripts/bench-waves runs several and watches the server's memory between them.
//
//   node waves.js --url http://127.0.0.1:3000 [--count 2000] [--transport mixed|websocket|polling]
"use strict";

const { io } = require("socket.io-client");

function parseArgs(argv) {
  const o = { url: null, count: 2000, transport: "mixed" };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === "--url") o.url = v;
    else if (k === "--count") o.count = Number(v);
    else if (k === "--transport") o.transport = v;
    else throw new Error(`bad argument ${k}`);
  }
  if (!o.url) throw new Error("--url is required");
  return o;
}

const o = parseArgs(process.argv.slice(2));

function open(i) {
  const transport = o.transport === "mixed" ? (i % 2 ? "polling" : "websocket") : o.transport;
  const socket = io(o.url, { forceNew: true, reconnection: false, transports: [transport], timeout: 20000 });
  return new Promise((resolve) => {
    socket.once("connect", () => {
      socket.emit("echo", i);
      resolve({ socket, ok: true });
    });
    socket.once("connect_error", () => resolve({ socket, ok: false }));
  });
}

(async () => {
  const started = Date.now();
  const results = [];
  // 200 handshakes at a time.
  for (let i = 0; i < o.count; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(o.count, i + 200); j++) batch.push(open(j));
    results.push(...(await Promise.all(batch)));
  }
  const connected = results.filter((r) => r.ok).length;
  for (const r of results) r.socket.close();
  console.log(JSON.stringify({ connected, failed: o.count - connected, seconds: (Date.now() - started) / 1000 }));
  // A polling client closes with a POST of the close packet: time for it to go, else the
  // server keeps the session until its ping timeout (45 s), which is not a leak.
  setTimeout(() => process.exit(connected === o.count ? 0 : 1), 2000);
})();
