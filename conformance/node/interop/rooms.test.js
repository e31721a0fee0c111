"use strict";
// Rooms and broadcasting, driven by a "controller" client: it asks the server (the
// `/rooms-*` namespaces of `conformance/src/interop_server.rs`) to broadcast with `to`,
// `except`, `volatile`, acknowledgements…, to fetch sockets, make them join/leave rooms or
// disconnect them. Every test has its own namespace, so namespace-wide operations see only
// its sockets. Every client records everything it receives; after a quiet period, each
// record must equal exactly what the room membership predicts (each expected message once,
// nothing else).

const { test } = require("node:test");
const assert = require("node:assert/strict");
const { TEST_TIMEOUT, ackAll, clients, connected, once, uniqueTag, withDeadline } = require("./common");

const opts = { timeout: TEST_TIMEOUT };

/** How long nothing more may arrive once the expected messages are in. */
const QUIET = 250;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh namespace for one test. */
function freshNamespace() {
  return `/rooms-${uniqueTag("t")}`;
}

/** The first (only) argument of an acknowledgement. */
async function call(socket, event, ...args) {
  const response = await ackAll(socket, event, ...args);
  return response[0];
}

/**
 * A client of namespace `nsp` that records every event it receives (`log`: `[event,
 * ...args]`) and what the test expects it to receive (`expected`), with its room model
 * (`rooms`, without its own id).
 */
class Member {
  constructor(c, nsp, name, transport = "websocket") {
    this.name = name;
    this.socket = c.connect(nsp, { transports: [transport] });
    this.log = [];
    this.expected = [];
    this.rooms = new Set();
    this.socket.onAny((event, ...args) => {
      if (typeof args[args.length - 1] === "function") args.pop();
      this.log.push([event, ...args]);
    });
  }

  get id() {
    return this.socket.id;
  }

  async connect() {
    await connected(this.socket);
  }

  /** Joins `rooms` with the `join` event; checks the acknowledged rooms. */
  async join(rooms) {
    const got = await call(this.socket, "join", rooms);
    for (const r of [].concat(rooms)) this.rooms.add(r);
    assert.deepEqual(got, this.serverRooms(), `${this.name}: rooms after join`);
  }

  /** The rooms the server should report: the model plus the socket's own id, sorted. */
  serverRooms() {
    return [this.id, ...this.rooms].sort();
  }

  inAny(rooms) {
    return rooms.some((r) => r === this.id || this.rooms.has(r));
  }
}

/** Connects `n` members (a few over polling when `polling` is set), in parallel. */
async function members(c, nsp, n, { polling = false } = {}) {
  const list = [...Array(n).keys()].map(
    (i) => new Member(c, nsp, `client${i}`, polling && i % 10 === 9 ? "polling" : "websocket"),
  );
  await Promise.all(list.map((m) => m.connect()));
  return list;
}

/**
 * Waits until every member has at least as many messages as expected, then `QUIET` ms
 * more, then compares each record with its expectation exactly (same messages, same
 * order: the test waits for each broadcast's acknowledgement before the next).
 */
async function settle(all) {
  await withDeadline(
    (async () => {
      while (all.some((m) => m.log.length < m.expected.length)) await sleep(10);
    })(),
    "every expected message",
  ).catch((err) => {
    const short = all
      .filter((m) => m.log.length < m.expected.length)
      .map((m) => `${m.name}: ${m.log.length}/${m.expected.length}`);
    throw new Error(`${err.message}; missing: ${short.join(", ")}`);
  });
  await sleep(QUIET);
  for (const m of all) {
    assert.deepEqual(m.log, m.expected, `${m.name} (rooms ${[...m.rooms].join(",")}): received exactly the expected messages`);
  }
}

/**
 * Sends an `emit` command from `from` and records the expectation: the members in `to`
 * (everyone when empty) minus those in `except`, minus `from` when `sender`. Checks the
 * server's delivery count.
 */
async function broadcast(from, all, spec, args) {
  const to = spec.to || [];
  const except = spec.except || [];
  const event = spec.event || "news";
  const recipients = all.filter(
    (m) =>
      (to.length === 0 || m.inAny(to)) &&
      !m.inAny(except) &&
      !(spec.sender && m === from),
  );
  for (const m of recipients) m.expected.push([event, ...args]);
  const report = await call(from.socket, "emit", { ...spec, event, args });
  assert.equal(
    report.delivered,
    recipients.length,
    `delivered count of ${JSON.stringify(spec)} (expected ${recipients.map((m) => m.name).join(",")})`,
  );
  assert.equal(report.dropped, 0);
  assert.equal(report.closed, 0);
  return recipients;
}

/** Waits until the server reports the disconnection of `member` to the watcher. */
function goneReport(watcher, member) {
  return withDeadline(
    new Promise((resolve) => {
      const check = () => {
        const found = watcher.log.find(([ev, g]) => ev === "gone" && g.id === member.id);
        if (found) resolve(found[1]);
        else setTimeout(check, 10);
      };
      check();
    }),
    `the server's disconnection report of ${member.name}`,
  );
}

test("50 clients in rooms: to, several rooms once, except, socket broadcasts leave out the sender, nothing unexpected", opts, async (t) => {
  const c = clients(t);
  const nsp = freshNamespace();
  const controller = new Member(c, nsp, "controller");
  await controller.connect();
  const list = await members(c, nsp, 50, { polling: true });
  const all = [controller, ...list];

  // Client i is in "a" if i % 2 == 0, "b" if i % 3 == 0, "c" if i % 5 == 0, and "all".
  await Promise.all(
    list.map((m, i) => {
      const rooms = ["all"];
      if (i % 2 === 0) rooms.push("a");
      if (i % 3 === 0) rooms.push("b");
      if (i % 5 === 0) rooms.push("c");
      // One room alone as a string, several as an array.
      return m.join(i === 1 ? "all" : rooms);
    }),
  );
  assert.deepEqual(await call(list[6].socket, "rooms"), list[6].serverRooms());
  assert.deepEqual(await call(controller.socket, "rooms"), [controller.id]);

  let seq = 0;
  const next = (label) => [(seq += 1), label];

  // From the namespace.
  await broadcast(controller, all, { to: ["a"] }, next("to a"));
  const ab = await broadcast(controller, all, { to: ["a", "b"] }, next("to a, b"));
  assert.equal(ab.length, 33, "25 in a + 17 in b - 9 in both: each once");
  await broadcast(controller, all, { to: ["a", "b", "c", "all"] }, next("to a, b, c, all"));
  await broadcast(controller, all, { to: ["a"], except: ["b"] }, next("to a except b"));
  await broadcast(controller, all, { to: ["b", "c"], except: ["a"] }, next("to b, c except a"));
  await broadcast(controller, all, { to: ["all"], except: ["a", "b", "c"] }, next("to all except a, b, c"));
  await broadcast(controller, all, { except: ["a"] }, next("everyone except a"));
  await broadcast(controller, all, {}, next("everyone"));
  await broadcast(controller, all, { to: [list[7].id] }, next("to client 7 by id"));
  await broadcast(controller, all, { to: [list[7].id, "c"] }, next("to client 7 and c"));
  await broadcast(controller, all, { to: ["c"], except: [list[10].id] }, next("to c except client 10"));
  await broadcast(controller, all, { to: ["nobody"] }, next("to an empty room"));
  await broadcast(controller, all, { to: ["b"], event: "binary" }, [Buffer.from([0, 1, 255]), { nested: Buffer.from("xyz") }]);

  // From a socket: the sender is left out.
  await broadcast(list[0], all, { sender: true, to: ["a"] }, next("client 0 to a"));
  await broadcast(list[6], all, { sender: true, to: ["a", "b"], except: ["c"] }, next("client 6 to a, b except c"));
  await broadcast(list[1], all, { sender: true }, next("client 1 to everyone"));
  await broadcast(list[3], all, { sender: true, to: [list[3].id] }, next("client 3 to itself"));
  await broadcast(list[3], all, { sender: true, to: [list[4].id, list[3].id] }, next("client 3 to 4 and itself"));

  await settle(all);
});

test("volatile broadcast and volatile emit reach connected, writable clients", opts, async (t) => {
  const c = clients(t);
  const nsp = freshNamespace();
  const controller = new Member(c, nsp, "controller");
  await controller.connect();
  const list = await members(c, nsp, 12);
  await Promise.all(list.slice(0, 10).map((m) => m.join("v")));
  const all = [controller, ...list];
  // Idle WebSocket clients are writable.
  await sleep(100);
  await broadcast(controller, all, { to: ["v"], volatile: true, event: "volatile-news" }, [1, "v"]);
  await broadcast(list[0], all, { sender: true, to: ["v"], volatile: true, event: "volatile-news" }, [2, "from client 0"]);
  const ok = await call(list[11].socket, "emit-volatile", { event: "volatile-self", args: ["to me"] });
  assert.equal(ok, true);
  list[11].expected.push(["volatile-self", "to me"]);
  await settle(all);
});

test("broadcast with acks: a fast, a slow and a silent client → timeout with the 2 answers", opts, async (t) => {
  const c = clients(t);
  const nsp = freshNamespace();
  const controller = new Member(c, nsp, "controller");
  await controller.connect();
  const [fast, slow, silent, outsider] = await members(c, nsp, 4);
  await Promise.all([fast.join("q"), slow.join("q"), silent.join("q"), outsider.join("other")]);
  const asked = new Map();
  const ask = (m, answer) =>
    m.socket.on("question", (...args) => {
      const cb = args.pop();
      assert.equal(typeof cb, "function", `${m.name} was asked for an ack`);
      asked.set(m.name, (asked.get(m.name) || 0) + 1);
      answer(cb, args);
    });
  ask(fast, (cb, args) => cb({ who: "fast", got: args }));
  ask(slow, (cb, args) => setTimeout(() => cb({ who: "slow", got: args, bin: Buffer.from([7, 8]) }), 250));
  ask(silent, () => {});
  ask(outsider, (cb) => cb({ who: "outsider" }));

  const report = await call(controller.socket, "emit-with-ack", {
    to: ["q"],
    event: "question",
    args: ["q1", 1],
    timeout: 700,
  });
  assert.equal(report.error, null);
  assert.equal(report.timedOut, true, "the silent client makes it time out");
  assert.ok(report.elapsedMs >= 700, `the server waited the timeout (${report.elapsedMs} ms)`);
  assert.ok(report.elapsedMs < 3000, `and not much longer (${report.elapsedMs} ms)`);
  const responses = report.responses.sort((x, y) => x.who.localeCompare(y.who));
  assert.equal(responses.length, 2, `the partial responses: ${JSON.stringify(responses)}`);
  assert.deepEqual(responses[0], { who: "fast", got: ["q1", 1] });
  assert.equal(responses[1].who, "slow");
  assert.deepEqual(responses[1].got, ["q1", 1]);
  assert.deepEqual([...responses[1].bin], [7, 8]);
  assert.deepEqual(
    Object.fromEntries(asked),
    { client0: 1, client1: 1, client2: 1 },
    "each member asked once, the outsider never",
  );

  // Everyone answers: no timeout, the answers as soon as the slow one is in.
  await slow.join("q2");
  await fast.join("q2");
  const complete = await call(controller.socket, "emit-with-ack", {
    to: ["q2"],
    event: "question",
    args: ["q2"],
    timeout: 3000,
  });
  assert.equal(complete.timedOut, false);
  assert.deepEqual(complete.responses.map((r) => r.who).sort(), ["fast", "slow"]);
  assert.ok(complete.elapsedMs >= 250 && complete.elapsedMs < 3000, `answered in ${complete.elapsedMs} ms`);

  // From a socket: the sender is not asked.
  const fromFast = await call(fast.socket, "emit-with-ack", {
    sender: true,
    to: ["q2"],
    event: "question",
    args: ["from fast"],
    timeout: 3000,
  });
  assert.equal(fromFast.timedOut, false);
  assert.deepEqual(fromFast.responses.map((r) => r.who), ["slow"]);

  // No recipient: an empty list at once.
  const empty = await call(controller.socket, "emit-with-ack", {
    to: ["nobody"],
    event: "question",
    timeout: 5000,
  });
  assert.deepEqual(empty, { timedOut: false, responses: [], elapsedMs: empty.elapsedMs, error: null });
  assert.ok(empty.elapsedMs < 500, `at once (${empty.elapsedMs} ms)`);
});

test("fetch sockets: with and without filters, exactly the members with their rooms", opts, async (t) => {
  const c = clients(t);
  const nsp = freshNamespace();
  const controller = new Member(c, nsp, "controller");
  await controller.connect();
  const list = await members(c, nsp, 8);
  await Promise.all(
    list.map((m, i) => m.join([i % 2 === 0 ? "even" : "odd", ...(i < 3 ? ["low"] : [])])),
  );
  const all = [controller, ...list];
  const expect = (pred) =>
    all
      .filter(pred)
      .map((m) => ({ id: m.id, rooms: m.serverRooms() }))
      .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));

  assert.deepEqual(await call(controller.socket, "fetch-sockets", { to: ["even"] }), expect((m) => m.rooms.has("even")));
  assert.deepEqual(
    await call(controller.socket, "fetch-sockets", { to: ["odd", "low"] }),
    expect((m) => m.rooms.has("odd") || m.rooms.has("low")),
  );
  assert.deepEqual(
    await call(controller.socket, "fetch-sockets", { to: ["even"], except: ["low"] }),
    expect((m) => m.rooms.has("even") && !m.rooms.has("low")),
  );
  assert.deepEqual(await call(controller.socket, "fetch-sockets", {}), expect(() => true), "the whole namespace");
  assert.deepEqual(await call(controller.socket, "fetch-sockets", { except: ["even", "odd"] }), expect((m) => m === controller));
  assert.deepEqual(await call(controller.socket, "fetch-sockets", { to: [list[5].id] }), expect((m) => m === list[5]));
  assert.deepEqual(await call(controller.socket, "fetch-sockets", { to: ["nobody"] }), []);
  assert.deepEqual(
    await call(list[0].socket, "fetch-sockets", { sender: true, to: ["low"] }),
    expect((m) => m.rooms.has("low") && m !== list[0]),
    "from a socket, the sender left out",
  );
});

test("sockets join / leave, then broadcasts to the new room; leave", opts, async (t) => {
  const c = clients(t);
  const nsp = freshNamespace();
  const controller = new Member(c, nsp, "controller");
  await controller.connect();
  const list = await members(c, nsp, 10);
  await Promise.all(list.map((m, i) => m.join(i < 4 ? "red" : "blue")));
  const all = [controller, ...list];

  await call(controller.socket, "sockets-join", { to: ["red"], rooms: ["green", "yellow"] });
  for (const m of list.slice(0, 4)) {
    m.rooms.add("green");
    m.rooms.add("yellow");
  }
  assert.deepEqual(await call(list[2].socket, "rooms"), list[2].serverRooms());
  await broadcast(controller, all, { to: ["green"] }, ["green 1"]);

  // A socket-level sockets_join: the sender itself does not join.
  await call(list[4].socket, "sockets-join", { sender: true, to: ["blue"], rooms: ["purple"] });
  for (const m of list.slice(5)) m.rooms.add("purple");
  assert.deepEqual(await call(list[4].socket, "rooms"), list[4].serverRooms());
  await broadcast(controller, all, { to: ["purple"] }, ["purple 1"]);

  // Everyone leaves "green"; "yellow" stays.
  await call(controller.socket, "sockets-leave", { rooms: ["green"] });
  for (const m of list) m.rooms.delete("green");
  await broadcast(controller, all, { to: ["green"] }, ["green 2"]);
  await broadcast(controller, all, { to: ["yellow"] }, ["yellow 1"]);

  // One socket leaves a room by itself.
  assert.deepEqual(await call(list[1].socket, "leave", "yellow"), [list[1].id, "red"].sort());
  list[1].rooms.delete("yellow");
  await broadcast(controller, all, { to: ["yellow"] }, ["yellow 2"]);
  await settle(all);
});

for (const close of [false, true]) {
  test(`disconnect sockets (close: ${close}): the targeted clients see "io server disconnect", the others stay`, opts, async (t) => {
    const c = clients(t);
    const nsp = freshNamespace();
    const controller = new Member(c, nsp, "controller");
    await controller.connect();
    await controller.join("watch");
    const list = await members(c, nsp, 10);
    await Promise.all(list.map((m, i) => m.join(["all", ...(i % 3 === 0 ? ["b"] : [])])));
    const targeted = list.filter((m) => m.rooms.has("b"));
    const kept = list.filter((m) => !m.rooms.has("b"));
    const reasons = targeted.map((m) => once(m.socket, "disconnect"));
    const ids = new Map(targeted.map((m) => [m, m.id]));

    await call(controller.socket, "disconnect-sockets", { to: ["b"], close });
    for (const [reason] of await Promise.all(reasons)) assert.equal(reason, "io server disconnect");
    for (const m of targeted) assert.equal(m.socket.active, false, `${m.name}: no reconnection`);
    if (close) {
      // The whole connection closes.
      await Promise.all(
        targeted.map((m) =>
          withDeadline(
            new Promise((resolve) => {
              if (m.socket.io.engine.readyState === "closed") resolve();
              else m.socket.io.engine.once("close", resolve);
            }),
            `the connection of ${m.name} to close`,
          ),
        ),
      );
    }
    for (const m of targeted) {
      const gone = await goneReport(controller, { id: ids.get(m), name: m.name });
      assert.equal(gone.reason, "server namespace disconnect");
      assert.deepEqual(gone.roomsWhileDisconnecting, [ids.get(m), "all", "b"].sort(), "rooms still there in disconnecting");
      assert.deepEqual(gone.roomsAfter, [], "every room left");
    }
    controller.log.length = 0;

    // Only the others are left, and a broadcast to "all" reaches exactly them.
    for (const m of kept) assert.ok(m.socket.connected, `${m.name} stays connected`);
    assert.deepEqual(
      (await call(controller.socket, "fetch-sockets", {})).map((s) => s.id).sort(),
      [controller.id, ...kept.map((m) => m.id)].sort(),
    );
    assert.deepEqual(await call(controller.socket, "fetch-sockets", { to: ["b"] }), []);
    for (const m of targeted) m.rooms.clear();
    await broadcast(controller, [controller, ...kept], { to: ["all"] }, ["after"]);
    const report = await call(controller.socket, "emit", { to: ["b"], event: "news", args: ["to b"] });
    assert.equal(report.delivered, 0);
    await settle([controller, ...list]);
  });
}

test("rooms are left on disconnect: a later broadcast to the room reaches nobody", opts, async (t) => {
  const c = clients(t);
  const nsp = freshNamespace();
  const controller = new Member(c, nsp, "controller");
  await controller.connect();
  await controller.join("watch");
  const [a, b, other] = await members(c, nsp, 3);
  const polled = new Member(c, nsp, "polled", "polling");
  await polled.connect();
  await Promise.all([a.join(["r", "s"]), b.join("r"), polled.join("r"), other.join("other")]);
  const ids = { a: a.id, b: b.id, polled: polled.id };

  // The client leaves the namespace.
  a.socket.disconnect();
  const goneA = await goneReport(controller, { id: ids.a, name: "a" });
  assert.equal(goneA.reason, "client namespace disconnect");
  assert.deepEqual(goneA.roomsWhileDisconnecting, [ids.a, "r", "s"].sort());
  assert.deepEqual(goneA.roomsAfter, []);

  // The connection closes (WebSocket, then polling).
  b.socket.io.engine.close();
  polled.socket.io.engine.close();
  for (const [m, id] of [[b, ids.b], [polled, ids.polled]]) {
    const gone = await goneReport(controller, { id, name: m.name });
    assert.equal(gone.reason, "transport close");
    assert.deepEqual(gone.roomsWhileDisconnecting, [id, "r"].sort());
    assert.deepEqual(gone.roomsAfter, []);
  }
  controller.log.length = 0;

  for (const room of ["r", "s", ids.a, ids.b]) {
    const report = await call(controller.socket, "emit", { to: [room], event: "news", args: [room] });
    assert.equal(report.delivered, 0, `nobody is left in ${room}`);
    assert.deepEqual(await call(controller.socket, "fetch-sockets", { to: [room] }), []);
  }
  assert.deepEqual(
    (await call(controller.socket, "fetch-sockets", {})).map((s) => s.id).sort(),
    [controller.id, other.id].sort(),
  );
  // Nobody received anything.
  await settle([controller, other, a, b, polled]);
});
