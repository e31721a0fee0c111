"use strict";
// Connection state recovery across nodes (streams adapter): for each server i of 3 and each
// transport, a client (official socket.io-client) connected to server i is cut by that server;
// while it is away, server i+1 broadcasts; the client then reconnects to server i+1 and must
// come back with the same id, `recovered`, its rooms and data, and the missed events once, in
// order, before `connect` (nothing for other rooms; no volatile event when ours restores).
//
//   node recovery-across.js --servers URL0,URL1,URL2 [--impls a,b,c] [--msgpack]
//
// The servers are node-server.js or sio-cluster-node with `--adapter streams --recovery MS`
// (see run-node-cluster.sh --recovery-across). Output: `ok` / `FAIL` per case; exit 1 if any
// failed.

const assert = require("node:assert/strict");
const { io } = require("socket.io-client");

function parseArgs(argv) {
  const cfg = { servers: [], impls: null, msgpack: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--servers") cfg.servers = argv[++i].split(",");
    else if (argv[i] === "--impls") cfg.impls = argv[++i].split(",");
    else if (argv[i] === "--msgpack") cfg.msgpack = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (cfg.servers.length !== 3) throw new Error("--servers needs 3 URLs");
  cfg.impls = cfg.impls || ["?", "?", "?"];
  return cfg;
}

const cfg = parseArgs(process.argv.slice(2));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MISSED = 5;
// The clients' parser: the servers' (--msgpack: socket.io-msgpack-parser).
const parser = cfg.msgpack ? { parser: require("socket.io-msgpack-parser") } : {};

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function control(url) {
  const socket = io(`${url}/ctl`, { transports: ["websocket"], forceNew: true, ...parser });
  const call = (event, request) =>
    withTimeout(socket.emitWithAck(event, request), 8000, `control ${event}`).then((r) => {
      if (r && r.error) throw new Error(`control ${event}: ${r.error}`);
      return r;
    });
  return { socket, call };
}

async function oneCase(from, to, transport) {
  const room = `r-${Math.random().toString(16).slice(2, 10)}`;
  const client = io(cfg.servers[from], {
    transports: [transport],
    forceNew: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 500,
    randomizationFactor: 0,
    auth: { rooms: [room] },
    ...parser,
  });
  const ctl = control(cfg.servers[to]);
  const events = [];
  let connects = 0;
  client.on("ev", (...args) => events.push({ arg: args[0], offset: args[args.length - 1], connects }));
  try {
    await withTimeout(new Promise((r) => client.once("connect", r)), 5000, "first connect");
    connects = 1;
    assert.equal(client.recovered, false, "a first connection is not recovered");
    await withTimeout(client.emitWithAck("set-data", { who: "R", n: 7 }), 5000, "set-data");
    if (!ctl.socket.connected) {
      await withTimeout(new Promise((r) => ctl.socket.once("connect", r)), 5000, "control connect");
    }
    // One event first, so that the client holds an offset.
    await ctl.call("emit", { rooms: [room], event: "ev", args: ["warm"] });
    await withTimeout(
      (async () => {
        while (!events.length) await sleep(10);
      })(),
      5000,
      "the first event",
    );
    assert.equal(typeof events[0].offset, "string", `the event carries an offset: ${JSON.stringify(events[0])}`);
    const id = client.id;
    // Next connection goes to the other server.
    client.io.uri = cfg.servers[to];
    const away = new Promise((r) => client.once("disconnect", r));
    client.emit("cut");
    await withTimeout(away, 5000, "the cut");
    for (let n = 1; n <= MISSED; n++) await ctl.call("emit", { rooms: [room], event: "ev", args: [n] });
    await ctl.call("emit", { rooms: [room], volatile: true, event: "ev", args: ["volatile"] });
    await ctl.call("emit", { rooms: [`${room}-other`], event: "ev", args: ["other room"] });
    await ctl.call("emit", { rooms: [room], except: [room], event: "ev", args: ["excepted"] });
    await withTimeout(new Promise((r) => client.once("connect", r)), 8000, "the reconnection");
    connects = 2;
    assert.equal(client.recovered, true, "the reconnection is recovered");
    assert.equal(client.id, id, "same id");
    const missed = events.filter((e) => e.connects === 1).map((e) => e.arg);
    // A Node node restoring replays volatile events too (its restoreSession checks only the
    // rooms, CLUSTER.md §5.5); ours does not (they never carry an offset live either).
    const expected = ["warm", 1, 2, 3, 4, 5];
    if (cfg.impls[to] === "node") expected.push("volatile");
    assert.deepEqual(missed, expected, "the missed events, once, in order, before connect");
    // Back in its room, with its data, on the other server.
    await ctl.call("emit", { rooms: [room], event: "ev", args: ["after"] });
    await withTimeout(
      (async () => {
        while (!events.some((e) => e.arg === "after")) await sleep(10);
      })(),
      5000,
      "an event to its room after the recovery",
    );
    const { sockets } = await ctl.call("fetch", { rooms: [room] });
    assert.equal(sockets.length, 1, `one socket in the room: ${JSON.stringify(sockets)}`);
    assert.equal(sockets[0].id, id, "the socket in the room is the recovered one");
    assert.deepEqual(sockets[0].data, { who: "R", n: 7 }, "its data");
    await sleep(150);
    const all = events.map((e) => e.arg);
    assert.deepEqual(all, [...expected, "after"], "nothing else, nothing twice");
  } finally {
    client.disconnect();
    ctl.socket.disconnect();
  }
}

async function main() {
  let failed = 0;
  let passed = 0;
  for (let from = 0; from < 3; from++) {
    const to = (from + 1) % 3;
    for (const transport of ["websocket", "polling"]) {
      const name = `${cfg.impls[from]}-${from} -> ${cfg.impls[to]}-${to} (${transport}): recovers with its id, rooms, data and missed events`;
      try {
        await withTimeout(oneCase(from, to, transport), 30000, name);
        passed++;
        console.log(`ok   ${name}`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${name}: ${e && e.message}`);
      }
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
