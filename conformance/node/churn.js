#!/usr/bin/env node
// Delivery under churn, with connection state recovery: CLIENTS official socket.io-client
// 4.8.4 clients join room `bench` of a bench server (the contract of
// socketio-server/examples/bench-server.rs and bench-server.js, run with --recovery); one
// more client (the driver) emits `broadcast` {seq} RATE times per second for SECONDS;
// meanwhile every client's transport is cut at random every MIN_CUT..MAX_CUT ms and comes
// back after 50..300 ms. Every client counts the seqs it received. Prints one JSON line:
// expected (clients × emitted), delivered (distinct), duplicates, recovered and fresh
// reconnections, and the server's RSS before and after when --pid is given. Exit status 1
// when anything was lost or duplicated.
//
//   node churn.js --url http://127.0.0.1:3000 [--clients 500] [--seconds 60] [--rate 20]
//                 [--min-cut 2000] [--max-cut 10000] [--transport websocket|polling|mixed]
//                 [--pid SERVER_PID]
//
// Across nodes: `--url URL1,URL2,...` (nodes of one cluster, with a recovering adapter such
// as the Redis streams one) spreads the clients over the nodes, and each cut client comes
// back on the next node; the driver broadcasts from the first. `--pid P1,P2,...`: the RSS
// reported is their sum.
"use strict";

const fs = require("node:fs");
const { io } = require("socket.io-client");

function parseArgs(argv) {
  const o = { url: null, clients: 500, seconds: 60, rate: 20, minCut: 2000, maxCut: 10000, transport: "mixed", pid: null };
  const keys = { "--url": "url", "--clients": "clients", "--seconds": "seconds", "--rate": "rate", "--min-cut": "minCut", "--max-cut": "maxCut", "--transport": "transport", "--pid": "pid" };
  for (let i = 0; i < argv.length; i += 2) {
    const key = keys[argv[i]];
    if (!key || argv[i + 1] === undefined) throw new Error(`bad argument ${argv[i]}`);
    o[key] = ["url", "transport", "pid"].includes(key) ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!o.url) throw new Error("--url is required");
  return o;
}

const o = parseArgs(process.argv.slice(2));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rand = (a, b) => a + Math.random() * (b - a);

function rssKib(pid) {
  if (!pid) return null;
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const m = status.match(/VmRSS:\s+(\d+)/);
  return m ? Number(m[1]) : null;
}

function rssOf(pids) {
  if (!pids) return null;
  return String(pids)
    .split(",")
    .map((p) => rssKib(Number(p)))
    .reduce((a, b) => a + (b || 0), 0);
}

function connected(socket) {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve();
    const timer = setTimeout(() => reject(new Error("no connection within 10 s")), 10000);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function main() {
  const rssBefore = rssOf(o.pid);
  const urls = o.url.split(",");
  const clients = [];
  for (let i = 0; i < o.clients; i++) {
    const transport = o.transport === "mixed" ? (i % 2 ? "polling" : "websocket") : o.transport;
    const socket = io(urls[i % urls.length], { forceNew: true, reconnection: false, transports: [transport], timeout: 10000 });
    const c = { socket, node: i % urls.length, got: new Set(), duplicates: 0, recovered: 0, fresh: 0, cuts: 0, stopped: false };
    socket.on("broadcast", (data) => {
      if (!data || typeof data.seq !== "number") return;
      if (c.got.has(data.seq)) c.duplicates++;
      else c.got.add(data.seq);
    });
    clients.push(c);
  }
  // Connect and join, a few at a time.
  for (let i = 0; i < clients.length; i += 50) {
    await Promise.all(
      clients.slice(i, i + 50).map(async (c) => {
        await connected(c.socket);
        await c.socket.timeout(10000).emitWithAck("join", "bench");
      }),
    );
  }
  const driver = io(urls[0], { forceNew: true, transports: ["websocket"] });
  await connected(driver);

  // Churn: cut, come back, and after a fresh session (not recovered) join again.
  const churn = async (c) => {
    while (!c.stopped) {
      await sleep(rand(o.minCut, o.maxCut));
      if (c.stopped || !c.socket.connected) continue;
      c.cuts++;
      c.socket.io.engine.close();
      // Across nodes: back on the next one.
      c.node = (c.node + 1) % urls.length;
      c.socket.io.uri = urls[c.node];
      await sleep(rand(50, 300));
      c.socket.connect();
      try {
        await connected(c.socket);
      } catch {
        continue;
      }
      if (c.socket.recovered) {
        c.recovered++;
      } else {
        c.fresh++;
        c.socket.emit("join", "bench");
      }
    }
  };
  const churning = clients.map(churn);

  let seq = 0;
  const end = Date.now() + o.seconds * 1000;
  const period = 1000 / o.rate;
  let next = Date.now();
  while (Date.now() < end) {
    driver.emit("broadcast", { seq: seq++ });
    next += period;
    await sleep(Math.max(0, next - Date.now()));
  }
  for (const c of clients) c.stopped = true;
  await Promise.race([Promise.all(churning), sleep(o.maxCut + 15000)]);
  // Everyone back, then the last broadcasts drain.
  await Promise.all(clients.map((c) => connected(c.socket).catch(() => {})));
  await sleep(2000);
  const rssAfter = rssOf(o.pid);

  const expected = clients.length * seq;
  const delivered = clients.reduce((n, c) => n + c.got.size, 0);
  const summary = {
    clients: clients.length,
    seconds: o.seconds,
    emitted: seq,
    expected,
    delivered,
    delivered_pct: Number(((delivered * 100) / expected).toFixed(3)),
    duplicates: clients.reduce((n, c) => n + c.duplicates, 0),
    cuts: clients.reduce((n, c) => n + c.cuts, 0),
    recovered: clients.reduce((n, c) => n + c.recovered, 0),
    fresh: clients.reduce((n, c) => n + c.fresh, 0),
    server_rss_kib_before: rssBefore,
    server_rss_kib_after: rssAfter,
  };
  console.log(JSON.stringify(summary));
  driver.close();
  for (const c of clients) c.socket.close();
  process.exit(summary.delivered === expected && summary.duplicates === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(`churn.js: ${e.stack || e}`);
  process.exit(2);
});
