#!/usr/bin/env node
// Soak: mixed traffic from official socket.io-client 4.8.4 clients against a bench server
// (the contract of socketio-server/examples/bench-server.rs) for SECONDS. CLIENTS clients,
// WebSocket and long-polling mixed, each doing at random every 50..500 ms: an event with an
// ack whose answer must equal what was sent (text, numbers, nested objects, binary), an
// echoed event, a join of room `bench`, a broadcast to it, or a close followed by a new
// client (churn). Every 10 s a JSON line: counters and the server's RSS (--pid). At the end
// one JSON line with the totals, the RSS sampled a quarter of the way in (the baseline, once
// the allocator's pools are sized) and at the end, under the same load.
//
// Exit status 1 when an answer differed from what was sent, an ack of a connected client
// timed out, the server went away, or the RSS at the end is more than --tolerance percent
// (default 10) above the baseline.
//
//   node soak.js --url http://127.0.0.1:3000 [--clients 200] [--seconds 3600] [--pid PID]
//                [--tolerance 10]
"use strict";

const fs = require("node:fs");
const { io } = require("socket.io-client");

function parseArgs(argv) {
  const o = { url: null, clients: 200, seconds: 3600, pid: null, tolerance: 10 };
  const keys = { "--url": "url", "--clients": "clients", "--seconds": "seconds", "--pid": "pid", "--tolerance": "tolerance" };
  for (let i = 0; i < argv.length; i += 2) {
    const key = keys[argv[i]];
    if (!key || argv[i + 1] === undefined) throw new Error(`bad argument ${argv[i]}`);
    o[key] = key === "url" ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!o.url) throw new Error("--url is required");
  return o;
}

const o = parseArgs(process.argv.slice(2));
const rand = (a, b) => a + Math.floor(Math.random() * (b - a));

function rssKib() {
  if (!o.pid) return null;
  try {
    const status = fs.readFileSync(`/proc/${o.pid}/status`, "utf8");
    return Number(/VmRSS:\s*(\d+)/.exec(status)[1]);
  } catch {
    return -1; // the server is gone
  }
}

const totals = {
  acks_ok: 0, acks_mismatched: 0, acks_timed_out: 0, acks_abandoned: 0,
  echoes_sent: 0, echoes_received: 0, joins: 0, broadcasts_sent: 0, broadcasts_received: 0,
  connects: 0, connect_errors: 0, closes: 0, disconnects_by_server: 0,
};

/// A payload of one of the shapes applications send.
function payload(i) {
  switch (i % 5) {
    case 0: return `text ${i} ✓ é 😀`;
    case 1: return i * 1.5;
    case 2: return { id: i, tags: ["a", "b"], nested: { deep: [1, { x: null }] }, ok: true };
    case 3: return Buffer.from(Array.from({ length: 64 + (i % 512) }, (_, k) => (k + i) & 0xff));
    default: return [i, String(i), { n: i }];
  }
}

function same(a, b) {
  if (Buffer.isBuffer(a)) return Buffer.isBuffer(b) && a.equals(b);
  return JSON.stringify(a) === JSON.stringify(b);
}

let seq = 0;
let stopping = false;

/// One client slot: a client that acts at random until the end, replaced when it closes.
function slot(k) {
  const transport = k % 2 ? "polling" : "websocket";
  const socket = io(o.url, { forceNew: true, reconnection: false, transports: [transport], timeout: 20000 });
  let timer = null;
  socket.on("connect", () => {
    totals.connects++;
    timer = setTimeout(act, rand(50, 500));
  });
  socket.on("connect_error", () => {
    totals.connect_errors++;
    if (!stopping) setTimeout(() => slot(k), 1000);
  });
  socket.on("echo", () => totals.echoes_received++);
  socket.on("broadcast", () => totals.broadcasts_received++);
  socket.on("disconnect", (reason) => {
    clearTimeout(timer);
    if (reason !== "io client disconnect") {
      totals.disconnects_by_server++;
      if (!stopping) setTimeout(() => slot(k), 100);
    }
  });
  function act() {
    if (stopping || !socket.connected) return;
    const roll = Math.random();
    const i = seq++;
    if (roll < 0.45) {
      const sent = payload(i);
      socket.timeout(10000).emit("echo_ack", sent, (err, answer) => {
        if (err) {
          // A client closed meanwhile abandons its acks; a connected one must be answered.
          if (socket.connected) totals.acks_timed_out++;
          else totals.acks_abandoned++;
        } else if (same(sent, answer)) {
          totals.acks_ok++;
        } else {
          totals.acks_mismatched++;
          console.error(`mismatch: sent ${JSON.stringify(sent)}, got ${JSON.stringify(answer)}`);
        }
      });
    } else if (roll < 0.7) {
      socket.emit("echo", payload(i));
      totals.echoes_sent++;
    } else if (roll < 0.8) {
      socket.emit("join", "bench", () => totals.joins++);
    } else if (roll < 0.85) {
      socket.emit("broadcast", { seq: i });
      totals.broadcasts_sent++;
    } else if (roll < 0.87) {
      totals.closes++;
      socket.close();
      setTimeout(() => slot(k), rand(10, 200));
      return;
    }
    timer = setTimeout(act, rand(50, 500));
  }
  return socket;
}

(async () => {
  const started = Date.now();
  for (let k = 0; k < o.clients; k++) {
    slot(k);
    if (k % 100 === 99) await new Promise((r) => setTimeout(r, 200));
  }
  let baseline = null;
  let serverGone = false;
  const tick = setInterval(() => {
    const elapsed = (Date.now() - started) / 1000;
    const rss = rssKib();
    if (rss === -1) serverGone = true;
    if (baseline === null && elapsed >= o.seconds / 4) baseline = rss;
    console.log(JSON.stringify({ t: Math.round(elapsed), rss_kib: rss, ...totals }));
  }, 10000);
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  clearInterval(tick);
  const end = rssKib();
  if (end === -1) serverGone = true;
  if (baseline === null) baseline = end;
  stopping = true;
  // Let the acks in flight come back before the verdict.
  await new Promise((r) => setTimeout(r, 2000));
  const growth = baseline > 0 ? ((end - baseline) * 100) / baseline : 0;
  const failures = [];
  if (serverGone) failures.push("the server went away");
  if (totals.acks_mismatched) failures.push(`${totals.acks_mismatched} answers differed from what was sent`);
  if (totals.acks_timed_out) failures.push(`${totals.acks_timed_out} acks of connected clients timed out`);
  if (totals.acks_ok === 0) failures.push("no ack was answered");
  if (o.pid && growth > o.tolerance) failures.push(`RSS grew ${growth.toFixed(1)}% (tolerance ${o.tolerance}%)`);
  console.log(JSON.stringify({
    seconds: o.seconds, clients: o.clients, ...totals,
    server_rss_kib_baseline: baseline, server_rss_kib_end: end, rss_growth_pct: Number(growth.toFixed(1)),
    failures,
  }));
  process.exit(failures.length ? 1 : 0);
})();
