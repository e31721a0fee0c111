"use strict";
// Acknowledgements both ways: the client's emitWithAck answered by the server, the server's
// emit with ack (and timeout) answered by the client, and a server ack timeout.

const { test } = require("node:test");
const assert = require("node:assert/strict");
const { TEST_TIMEOUT, ackAll, clients, connected, once, withDeadline, assertBinary } = require("./common");

const opts = { timeout: TEST_TIMEOUT };

for (const transport of ["polling", "websocket"]) {
  async function connect(t) {
    const c = clients(t);
    const socket = c.connect("/", { transports: [transport] });
    await connected(socket);
    return socket;
  }

  test(`client emitWithAck answered by the server, JSON (${transport})`, opts, async (t) => {
    const socket = await connect(t);
    const args = ["a", 1, { b: [true, null] }, "é😀"];
    assert.deepEqual(await ackAll(socket, "echo-ack", ...args), args);
    assert.deepEqual(await ackAll(socket, "echo-ack"), [], "an ack without arguments");
    // emitWithAck resolves with the first argument of the ack.
    assert.deepEqual(await socket.emitWithAck("echo-ack", { first: 1 }, "second"), { first: 1 });
    assert.equal(await socket.timeout(5000).emitWithAck("echo-ack", 7), 7);
    // The callback form.
    const viaCallback = await withDeadline(
      new Promise((resolve) => socket.emit("echo-ack", "cb", (...r) => resolve(r))),
      "the ack callback",
    );
    assert.deepEqual(viaCallback, ["cb"]);
  });

  test(`client emitWithAck answered by the server, Buffer (${transport})`, opts, async (t) => {
    const socket = await connect(t);
    const [bin, obj] = await ackAll(socket, "echo-ack", Buffer.from([1, 2, 3]), { x: Buffer.from("xyz"), y: 1 });
    assertBinary(bin, [1, 2, 3], "ack arg 0");
    assertBinary(obj.x, Buffer.from("xyz"), "ack arg 1 .x");
    assert.equal(obj.y, 1);
  });

  test(`many concurrent acks each get their own answer (${transport})`, opts, async (t) => {
    const socket = await connect(t);
    const n = 300;
    const answers = await Promise.all(
      [...Array(n).keys()].map((i) => ackAll(socket, "echo-ack", i, `v${i}`)),
    );
    answers.forEach((a, i) => assert.deepEqual(a, [i, `v${i}`]));
  });

  test(`server emit with ack and timeout, answered by the client (${transport})`, opts, async (t) => {
    const socket = await connect(t);
    const asked = [];
    socket.on("ask", (...args) => {
      const cb = args.pop();
      assert.equal(typeof cb, "function", "the server asked for an ack");
      asked.push(args);
      cb("answer", ...args, Buffer.from([0xde, 0xad]));
    });
    const result = once(socket, "ack-result");
    socket.emit("request-ack", "q", 2, { deep: [Buffer.from([5])] });
    const [status, ackArgs] = await result;
    assert.equal(status, "ok", `the server got the ack: ${JSON.stringify(ackArgs)}`);
    assert.equal(asked.length, 1);
    assert.equal(asked[0][0], "q");
    assert.equal(asked[0][1], 2);
    assertBinary(asked[0][2].deep[0], [5], "the server's emit .deep[0]");
    assert.equal(ackArgs.length, 5);
    assert.equal(ackArgs[0], "answer");
    assert.equal(ackArgs[1], "q");
    assert.equal(ackArgs[2], 2);
    assertBinary(ackArgs[3].deep[0], [5], "ack arg .deep[0] as the server got it");
    assertBinary(ackArgs[4], [0xde, 0xad], "ack arg 4 as the server got it");
  });

  test(`server emit with ack answered asynchronously by the client (${transport})`, opts, async (t) => {
    const socket = await connect(t);
    socket.on("ask", (...args) => {
      const cb = args.pop();
      setTimeout(() => cb({ later: args[0] }), 200);
    });
    const result = once(socket, "ack-result");
    socket.emit("request-ack", "slow");
    assert.deepEqual(await result, ["ok", [{ later: "slow" }]]);
  });

  test(`server ack timeout when the client does not answer (${transport})`, opts, async (t) => {
    const socket = await connect(t);
    let askedWithCallback = false;
    socket.on("ask-ignored", (...args) => {
      askedWithCallback = typeof args[args.length - 1] === "function";
      // Never answered.
    });
    const start = Date.now();
    const result = once(socket, "ack-result");
    socket.emit("request-ack-timeout", 300);
    const [status, message] = await result;
    const elapsed = Date.now() - start;
    assert.equal(askedWithCallback, true);
    assert.equal(status, "error");
    assert.equal(message, "operation has timed out");
    assert.ok(elapsed >= 250, `the server waited the timeout (${elapsed} ms)`);
    // The socket still works after the timeout.
    assert.deepEqual(await ackAll(socket, "echo-ack", "after"), ["after"]);
  });

  test(`a late ack after the server's timeout is ignored (${transport})`, opts, async (t) => {
    const socket = await connect(t);
    socket.on("ask-ignored", (...args) => {
      const cb = args.pop();
      setTimeout(() => cb("too late"), 400);
    });
    const result = once(socket, "ack-result");
    socket.emit("request-ack-timeout", 100);
    assert.deepEqual(await result, ["error", "operation has timed out"]);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(socket.connected, "a late ack does not break the connection");
    assert.deepEqual(await ackAll(socket, "echo-ack", "still"), ["still"]);
  });
}
