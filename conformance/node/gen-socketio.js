#!/usr/bin/env node
// Generates the Socket.IO fixture corpus by running the official parsers (versions pinned in
// package-lock.json) over a fixed input set:
//   ../fixtures/socketio/{encode,decode}.json          socket.io-parser (default parser)
//   ../fixtures/socketio-msgpack/{encode,decode}.json  socket.io-msgpack-parser
//
//   node gen-socketio.js [OUTPUT_DIR]
//
// With OUTPUT_DIR, the two folders are written under it (OUTPUT_DIR/socketio and
// OUTPUT_DIR/socketio-msgpack), so CI can regenerate and `diff -r` against the committed
// fixtures. The output is deterministic: the only randomness is the seeded PRNG below.
// Format: see ../README.md ("Socket.IO fixtures").
"use strict";

const fs = require("fs");
const path = require("path");
const sio = require("socket.io-parser");
const msgpackParser = require("socket.io-msgpack-parser");
const notepack = require("notepack.io");

const root = process.argv[2] ? path.resolve(process.argv[2]) : path.join(__dirname, "../fixtures");

// ---------------------------------------------------------------------------------------
// deterministic helpers

function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(0x50c3e710);
const randInt = (n) => Math.floor(rand() * n);
const pick = (arr) => arr[randInt(arr.length)];

function randBytes(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = randInt(256);
  return b;
}

// whole code points only (never lone surrogates): JSON.stringify would escape them
const STRINGS = [
  "", "a", "hello", "message", "chat:msg", "é", "日本語", "😀", "𝄞", "\u2028", "\u2029", "\u00a0",
  "\ufeff", "quote\"", "back\\slash", "new\nline", "tab\t", "\u0000", "\u0001\u001f", "\u007f",
  "comma,", "/slash", "{brace}", "[bracket]", "42", " spaced ", "_placeholder",
];
const NUMBERS = [0, 1, -1, 42, 255, 256, 65535, 65536, -33, -129, 2147483647, 4294967296,
  9007199254740991, -9007199254740991, 1.5, -0.25, 0.1, 123.456, 1e-7, 1e21, 3.14159e100, -2.5e-300];
const KEYS = ["a", "b", "message", "data", "sid", "token", "1", "10", "2", "é", "日本", "", "num",
  "_placeholder", "toString", "__x"];
const NAMESPACES = ["/", "/", "/", "/admin", "/a/b", "/x?y=1", "/日本", "/with space", "/😀", "/-_.~"];
const EVENT_NAMES = ["message", "chat", "a", "", "日本", "😀", "connect ", "Connect", "disconnect-me",
  "message-with-ack", 0, 1, 42, -1, 1.5];
const IDS = [undefined, undefined, 0, 1, 12, 456, 999, 2147483647, 4294967296, 9007199254740991];

// notepack.io writes integral numbers beyond 2^63 as a wrapped uint64, so msgpack cases
// avoid them (see ../README.md)
let numberPool = NUMBERS;

function randValue(depth, withBinary) {
  const r = randInt(depth > 3 ? 5 : 8);
  switch (r) {
    case 0: return null;
    case 1: return rand() < 0.5;
    case 2: return pick(numberPool);
    case 3: case 4: return pick(STRINGS);
    case 5: {
      const n = randInt(4);
      const a = [];
      for (let i = 0; i < n; i++) a.push(randValue(depth + 1, withBinary));
      return a;
    }
    case 6: {
      const n = randInt(4);
      const o = {};
      for (let i = 0; i < n; i++) o[pick(KEYS)] = randValue(depth + 1, withBinary);
      return o;
    }
    default:
      return withBinary ? randBytes(pick([0, 1, 3, 16, 100, 1024, 3000])) : pick(STRINGS);
  }
}

// puts `count` binary values at random places of an argument list
function sprinkleBinary(args, count) {
  for (let i = 0; i < count; i++) {
    const bin = randBytes(pick([0, 1, 2, 5, 64, 1024, 2048]));
    const where = randInt(3);
    if (where === 0 || args.length === 0) args.push(bin);
    else if (where === 1) args.push({ nested: [pick(STRINGS), bin] });
    else args.push({ [pick(KEYS)]: { deep: bin } });
  }
  return args;
}

function randData(type, binaries) {
  switch (type) {
    case 0: {
      if (rand() < 0.3) return undefined;
      const o = {};
      for (let i = 0, n = randInt(4); i < n; i++) o[pick(KEYS)] = randValue(1, false);
      return o;
    }
    case 1: return undefined;
    case 2: {
      const args = [pick(EVENT_NAMES)];
      for (let i = 0, n = randInt(4); i < n; i++) args.push(randValue(1, false));
      return sprinkleBinary(args, binaries);
    }
    case 3: {
      const args = [];
      for (let i = 0, n = randInt(4); i < n; i++) args.push(randValue(1, false));
      return sprinkleBinary(args, binaries);
    }
    default:
      if (rand() < 0.3) return pick(STRINGS);
      return rand() < 0.5 ? { message: pick(STRINGS) } : { message: pick(STRINGS), data: randValue(1, false) };
  }
}

// ---------------------------------------------------------------------------------------
// canonical forms (see ../README.md)

function hex(b) {
  return { binary_hex: Buffer.from(b.buffer ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b)).toString("hex") };
}

function canon(v) {
  if (v === null || typeof v !== "object") return v;
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return hex(v);
  if (v instanceof Date) return { date_ms: v.getTime() };
  if (Array.isArray(v)) return v.map(canon);
  const o = {};
  for (const k of Object.keys(v)) o[k] = canon(v[k]);
  return o;
}

// the data as an application sees it through JSON: what JSON.stringify writes (undefined
// properties dropped, undefined array elements null, dates as ISO strings), binary values
// (Buffer, ArrayBuffer, typed arrays) as {"binary_hex"}; undefined when there is no data
function jsonView(v) {
  if (v === undefined) return undefined;
  const text = JSON.stringify(v, function (k, x) {
    const raw = this[k];
    if (Buffer.isBuffer(raw) || raw instanceof ArrayBuffer || ArrayBuffer.isView(raw)) return hex(raw);
    return x;
  });
  return text === undefined ? undefined : JSON.parse(text);
}

function canonPacket(p) {
  return { type: p.type, nsp: p.nsp, id: p.id, data: canon(p.data) };
}

function depthOf(v) {
  if (v === null || typeof v !== "object") return 0;
  let d = 0;
  for (const k of Object.keys(v)) d = Math.max(d, depthOf(v[k]));
  return d + 1;
}

// serde_json (and most JSON readers) refuse more than 128 levels, so a decoded value nested
// more than 120 levels deep is elided; such inputs are deviations, where we reject anyway
function elide(decoded) {
  return depthOf(decoded) > 120 ? "elided: nested deeper than 120 levels" : decoded;
}

function wire(x) {
  return typeof x === "string" ? x : hex(x);
}

function unwire(x) {
  return typeof x === "string" ? x : Buffer.from(x.binary_hex, "hex");
}

// ---------------------------------------------------------------------------------------
// default parser

const sioEncode = [];
const sioDecode = [];
const seen = new Set();
const once = (k) => (seen.has(k) ? false : (seen.add(k), true));

function sioDecodeCase(name, inputs, opts, deviation) {
  const key = "sd:" + JSON.stringify([inputs, opts || null]);
  if (!once(key)) return;
  const decoder = new sio.Decoder(opts);
  const decoded = [];
  let error;
  decoder.on("decoded", (p) => decoded.push(canonPacket(p)));
  try {
    for (const i of inputs) decoder.add(unwire(i));
  } catch (e) {
    error = e.message;
  }
  const c = { name, inputs };
  if (opts && opts.maxAttachments !== undefined) c.max_attachments = opts.maxAttachments;
  c.decoded = elide(decoded);
  if (error !== undefined) c.error = error;
  if (deviation) c.deviation = deviation;
  sioDecode.push(c);
}

function sioEncodeCase(name, packet) {
  const encoded = new sio.Encoder().encode(packet).map(wire);
  if (!once("se:" + JSON.stringify([canonPacket(packet), encoded]))) return;
  sioEncode.push({ name, packet: canonPacket(packet), encoded });
  // every encoding is also a decode case: decoding gives back the packet
  sioDecodeCase(name + " (decoded)", encoded);
}

const B = (...x) => Buffer.from(x);

// the encode vectors of socket.io-parser's tests, the spec and vectors.json
const encodeVectors = [
  ["CONNECT /", { type: 0, nsp: "/" }],
  ["CONNECT /admin", { type: 0, nsp: "/admin" }],
  ["CONNECT with auth", { type: 0, nsp: "/", data: { token: "123" } }],
  ["encodes connection", { type: 0, nsp: "/woot", data: { token: "123" } }],
  ["CONNECT reply on /admin", { type: 0, nsp: "/admin", data: { sid: "oSO0OpakMV_3jnilAAAA" } }],
  ["CONNECT reply with pid", { type: 0, nsp: "/", data: { sid: "wZX3oN0bSVIhsaknAAAI", pid: "pid123" } }],
  ["DISCONNECT /", { type: 1, nsp: "/" }],
  ["encodes disconnection", { type: 1, nsp: "/woot" }],
  ["EVENT foo", { type: 2, nsp: "/", data: ["foo"] }],
  ["EVENT hey Jude", { type: 2, nsp: "/", data: ["hey", "Jude"] }],
  ["EVENT on /admin", { type: 2, nsp: "/admin", data: ["bar"] }],
  ["encodes an event", { type: 2, data: ["a", 1, {}], nsp: "/" }],
  ["encodes an event (with an integer as event name)", { type: 2, data: [1, "a", {}], nsp: "/" }],
  ["encodes an event (with ack)", { type: 2, data: ["a", 1, {}], id: 1, nsp: "/test" }],
  ["EVENT id 12", { type: 2, nsp: "/", data: ["foo"], id: 12 }],
  ["suite plain-text message", { type: 2, nsp: "/", data: ["message", 1, "2", { 3: [true] }] }],
  ["EVENT unicode", { type: 2, nsp: "/", data: ["unicode", "€ é 日本", "\u2028"] }],
  ["EVENT nulls", { type: 2, nsp: "/", data: ["nulls", null, { a: null }] }],
  ["EVENT undefined argument", { type: 2, nsp: "/", data: ["u", undefined, { a: undefined, b: 1 }] }],
  ["EVENT integer-like keys first", { type: 2, nsp: "/", data: ["k", { b: 1, 2: "two", a: 3, 1: "one" }] }],
  ["encodes an ack", { type: 3, data: ["a", 1, {}], id: 123, nsp: "/" }],
  ["ACK empty", { type: 3, nsp: "/", data: [], id: 12 }],
  ["ACK on /admin", { type: 3, nsp: "/admin", data: ["bar"], id: 13 }],
  ["suite ack reply", { type: 3, nsp: "/", data: [1, "2", { 3: [false] }], id: 456 }],
  ["encodes an connect error", { type: 4, data: "Unauthorized", nsp: "/" }],
  ["encodes an connect error (with object)", { type: 4, data: { message: "Unauthorized" }, nsp: "/" }],
  ["CONNECT_ERROR invalid namespace", { type: 4, nsp: "/random", data: { message: "Invalid namespace" } }],
  ["CONNECT_ERROR with data", { type: 4, nsp: "/mw", data: { message: "not authorized", data: { content: "please retry" } } }],
  ["BINARY_EVENT baz", { type: 2, nsp: "/", data: ["baz", B(1, 2, 3, 4)] }],
  ["BINARY_EVENT on /admin", { type: 2, nsp: "/admin", data: ["baz", B(1, 2), B(3, 4)] }],
  ["encodes a Buffer", { type: 2, data: ["a", Buffer.from("abc", "utf8")], id: 23, nsp: "/cool" }],
  ["encodes a nested Buffer", { type: 2, data: ["a", { b: ["c", Buffer.from("abc", "utf8")] }], id: 23, nsp: "/cool" }],
  ["encodes a binary ack with Buffer", { type: 3, data: ["a", Buffer.from("xxx", "utf8"), {}], id: 127, nsp: "/back" }],
  ["BINARY_ACK id 15", { type: 3, nsp: "/", data: ["bar", B(1, 2, 3, 4)], id: 15 }],
  ["encodes an ArrayBuffer", { type: 2, data: ["a", new ArrayBuffer(2)], id: 0, nsp: "/" }],
  ["encodes ArrayBuffers deep in JSON", { type: 2, data: ["a", { a: "hi", b: { why: new ArrayBuffer(3) }, c: { a: "bye", b: { a: new ArrayBuffer(6) } } }], id: 999, nsp: "/deep" }],
  ["encodes deep binary JSON with null values", { type: 2, data: ["a", { a: "b", c: 4, e: { g: null }, h: new ArrayBuffer(9) }], id: 600, nsp: "/" }],
  ["encodes a TypedArray", { type: 2, data: ["a", new Uint8Array([0, 1, 2, 3, 4])], id: 0, nsp: "/" }],
  ["suite binary message", { type: 2, nsp: "/", data: ["message", B(1, 2, 3), B(4, 5, 6)] }],
  ["suite binary ack", { type: 3, nsp: "/", data: [B(1, 2, 3), B(4, 5, 6)], id: 789 }],
  ["server binary emit", { type: 2, nsp: "/", data: ["bin", B(1, 2, 3), { nested: [B(4, 5)] }] }],
  ["binary ack from server", { type: 3, nsp: "/", data: [B(9)], id: 7 }],
  ["ten attachments", { type: 2, nsp: "/", data: ["ten", B(0), B(1), B(2), B(3), B(4), B(5), B(6), B(7), B(8), B(9)] }],
  ["empty attachment", { type: 2, nsp: "/", data: ["empty", Buffer.alloc(0)] }],
  ["same buffer twice", (() => { const b = B(7, 7); return { type: 2, nsp: "/", data: ["twice", b, b] }; })()],
];
for (const [name, p] of encodeVectors) sioEncodeCase(name, p);

// generated packets: every type, namespaces, ack ids, nested JSON, unicode, 0-10 attachments
for (let i = 0; i < 160; i++) {
  const type = i % 5;
  const binaries = type === 2 || type === 3 ? pick([0, 0, 0, 1, 1, 2, 3, 5, 10]) : 0;
  const p = { type, nsp: pick(NAMESPACES) };
  const data = randData(type, binaries);
  if (data !== undefined) p.data = data;
  const id = type === 2 || type === 3 ? pick(IDS) : undefined;
  if (type === 3 && id === undefined) p.id = 1;
  else if (id !== undefined) p.id = id;
  sioEncodeCase(`generated #${i} type ${type}, ${binaries} attachments`, p);
}

// decode vectors: valid inputs, quirks, and everything the reference rejects
const decodeVectors = [
  ["CONNECT /", ["0"]],
  ["CONNECT /admin with comma", ["0/admin,"]],
  ["CONNECT /admin without comma", ["0/admin"]],
  ["CONNECT auth", ['0{"token":"123"}']],
  ["CONNECT custom auth", ['0/custom,{"token":"abc"}']],
  ["DISCONNECT", ["1"]],
  ["DISCONNECT /admin,", ["1/admin,"]],
  ["DISCONNECT /custom without comma", ["1/custom"]],
  ["EVENT foo", ['2["foo"]']],
  ["EVENT /admin", ['2/admin,["bar"]']],
  ["EVENT id 12", ['212["foo"]']],
  ["EVENT v4 example", ['2/admin,456["project:delete",123]']],
  ["ACK /admin 13", ['3/admin,13["bar"]']],
  ["ACK empty /admin", ["3/admin,456[]"]],
  ["CONNECT_ERROR object", ['4{"message":"Not authorized"}']],
  ["CONNECT_ERROR string", ['4/admin,"Not authorized"']],
  ["EVENT numeric name", ['2[1,"a"]']],
  ["EVENT without payload", ["2"]],
  ["EVENT empty name", ['2[""]']],
  ["namespace with slashes", ['2/a/b,["x"]']],
  ["namespace slash only", ['2/,["x"]']],
  ["namespace with query", ['2/x?y=1,["x"]']],
  ["namespace unicode", ['2/日本,["x"]']],
  ["ACK without data", ["3/admin,1"]],
  ["CONNECT_ERROR with id", ["4123"]],
  ["CONNECT_ERROR with id and object", ["41{}"]],
  ["ack id leading zeros", ['2007["x"]']],
  ["ack id u64 max", ['218446744073709551615["x"]']],
  ["escaped event name", ['2["\\u0063hat"]']],
  ["whitespace around JSON", ['2["x"] ']],
  ["JSON whitespace inside", ['2[ "x" , 1 ]']],
  ["numbers in JSON forms", ['2["n",1.0,1e2,-0,1E-7,0.5]']],
  ["placeholder-like object in a text packet stays data", ['2["x",{"_placeholder":true,"num":0}]']],
  ["deep nesting 100", ['2["x",' + "[".repeat(100) + "]".repeat(100) + "]"]],
  // errors
  ["EVENT connect reserved", ['2["connect"]']],
  ["EVENT disconnect reserved", ['2["disconnect","123"]']],
  ["EVENT connect_error reserved", ['2["connect_error"]']],
  ["EVENT disconnecting reserved", ['2["disconnecting"]']],
  ["EVENT newListener reserved", ['2["newListener"]']],
  ["EVENT removeListener reserved", ['2["removeListener"]']],
  ["EVENT escaped reserved name", ['2["conn\\u0065ct"]']],
  ["EVENT empty array", ["2[]"]],
  ["EVENT object", ["2{}"]],
  ["EVENT null", ["2null"]],
  ["EVENT object name", ['2[{"toString":"foo"}]']],
  ["EVENT boolean name", ['2[true,"foo"]']],
  ["EVENT null name", ['2[null,"bar"]']],
  ["EVENT array name", ['2[["a"],"bar"]']],
  ["EVENT invalid JSON", ['442["some","data"']],
  ["CONNECT string", ['0/admin,"invalid"']],
  ["CONNECT array", ["0[]"]],
  ["CONNECT null", ["0null"]],
  ["CONNECT string main", ['0"abc"']],
  ["DISCONNECT object", ["1/admin,{}"]],
  ["DISCONNECT object main", ["1{}"]],
  ["EVENT unterminated string", ['2/admin,"invalid']],
  ["EVENT object on /admin", ["2/admin,{}"]],
  ["ACK object", ["3{}"]],
  ["ACK object with id", ["31{}"]],
  ["ACK string", ['3"x"']],
  ["CONNECT_ERROR array", ["4[]"]],
  ["CONNECT_ERROR number", ["41"]],
  ["invalid ack id (suite)", ['2abc["message-with-ack",1,"2",{"3":[false]}]']],
  ["trailing garbage", ['2["x"]]']],
  ["two JSON values", ['2["x"]["y"]']],
  ["binary no dash", ["5"]],
  ["binary count no dash", ["51"]],
  ["binary letter count", ["5a-"]],
  ["binary fractional count", ["51.23-"]],
  ["binary empty count", ["5-1"]],
  ["binary zero attachments", ['50-["x"]']],
  ["binary zero attachments ack", ["60-[]"]],
  ["too many attachments", ['511-["x"]']],
  ["huge attachment count", ['5999999999999999999999-["x"]']],
  ["unknown type 9", ["999"]],
  ["unknown type 7", ["7"]],
  ["unknown type letter", ["abc"]],
  ["unknown type brace", ['{"a":1}']],
  ["unknown type unicode", ["日本"]],
  ["ack id overflows u64", ['218446744073709551616["x"]'], null, "ack id beyond u64: the reference keeps an imprecise float, we reject"],
  // quirks of the reference that we reject
  ["empty message", [""], null, "empty message: the reference reads CONNECT /, we reject"],
  ["space as ack id", ['2 ["x"]'], null, "whitespace read as ack id digits by the reference, we reject"],
  ["digit then space as ack id", ['21 ["x"]'], null, "whitespace read as ack id digits by the reference, we reject"],
  ["tab as ack id", ['2\t["x"]'], null, "whitespace read as ack id digits by the reference, we reject"],
  ["space as type", [" "], null, "whitespace read as type 0 by the reference, we reject"],
  ["space type with namespace", [' /admin,{"a":1}'], null, "whitespace read as type 0 by the reference, we reject"],
  ["exponent attachment count", ['51e0-["x",{"_placeholder":true,"num":0}]', { binary_hex: "01" }], null, "attachment count not plain digits: the reference coerces it, we reject"],
  ["hex attachment count", ['50x1-["x",{"_placeholder":true,"num":0}]', { binary_hex: "01" }], null, "attachment count not plain digits: the reference coerces it, we reject"],
  ["plus attachment count", ['5+1-["x",{"_placeholder":true,"num":0}]', { binary_hex: "01" }], null, "attachment count not plain digits: the reference coerces it, we reject"],
  ["deep nesting 200", ['2["x",' + "[".repeat(200) + "]".repeat(200) + "]"], null, "JSON nested deeper than 127 levels: the reference has no bound, we reject"],
  ["fractional placeholder num", ['51-["x",{"_placeholder":true,"num":0.5}]', { binary_hex: "01" }], null, "fractional placeholder num: the reference puts undefined, we reject"],
  // binary sequences
  ["binary hello world", ['51-["hello",{"_placeholder":true,"num":0}]', { binary_hex: "776f726c64" }]],
  ["binary two attachments /admin", ['52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', { binary_hex: "0102" }, { binary_hex: "0304" }]],
  ["binary ack 15", ['61-15["bar",{"_placeholder":true,"num":0}]', { binary_hex: "01020304" }]],
  ["binary three attachments", ['53-["hello",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]', { binary_hex: "61" }, { binary_hex: "62" }, { binary_hex: "63" }]],
  ["attachments placed by num", ['52-["x",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]', { binary_hex: "aa" }, { binary_hex: "bb" }]],
  ["attachment used twice", ['52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]', { binary_hex: "aa" }, { binary_hex: "bb" }]],
  ["attachment unused", ['52-["x",{"_placeholder":true,"num":1}]', { binary_hex: "aa" }, { binary_hex: "bb" }]],
  ["placeholder keys reversed", ['51-["x",{"num":0,"_placeholder":true}]', { binary_hex: "cc" }]],
  ["placeholder with extra key", ['51-["x",{"_placeholder":true,"num":0,"extra":1}]', { binary_hex: "cc" }]],
  ["placeholder flag false is data", ['51-["x",{"_placeholder":false,"num":5},{"_placeholder":true,"num":0}]', { binary_hex: "cc" }]],
  ["placeholder flag string is data", ['51-["x",{"_placeholder":"true","num":5},{"_placeholder":true,"num":0}]', { binary_hex: "cc" }]],
  ["placeholder num float form", ['51-["x",{"_placeholder":true,"num":0.0}]', { binary_hex: "cc" }]],
  ["binary without payload", ["51-", { binary_hex: "01" }]],
  ["binary with namespace and id", ['51-/chat,99["f",{"_placeholder":true,"num":0}]', { binary_hex: "" }]],
  ["binary 10 attachments", ["510-[\"t\"" + Array.from({ length: 10 }, (_, i) => `,{"_placeholder":true,"num":${i}}`).join("") + "]", ...Array.from({ length: 10 }, (_, i) => ({ binary_hex: Buffer.from([i]).toString("hex") }))]],
  ["placeholder num string", ['51-["hello",{"_placeholder":true,"num":"splice"}]', { binary_hex: "776f726c64" }]],
  ["placeholder num out of range", ['51-["hello",{"_placeholder":true,"num":1}]', { binary_hex: "776f726c64" }]],
  ["placeholder num negative", ['51-["hello",{"_placeholder":true,"num":-1}]', { binary_hex: "776f726c64" }]],
  ["placeholder without num", ['51-["hello",{"_placeholder":true}]', { binary_hex: "776f726c64" }]],
  ["placeholder nested out of range", ['51-["hello",{"a":[{"_placeholder":true,"num":4}]}]', { binary_hex: "776f726c64" }]],
  ["plaintext while reconstructing", ['51-["hello",{"_placeholder":true,"num":0}]', '2["hello"]']],
  ["binary while not reconstructing", [{ binary_hex: "776f726c64" }]],
  ["binary after a complete packet", ['2["a"]', { binary_hex: "01" }]],
  ["two binary packets in a row", ['51-["a",{"_placeholder":true,"num":0}]', { binary_hex: "01" }, '61-3[{"_placeholder":true,"num":0}]', { binary_hex: "02" }]],
  ["binary event invalid payload", ['51-{"a":1}']],
  ["binary event reserved name", ['51-["connect",{"_placeholder":true,"num":0}]']],
  ["binary ack object", ["61-{}"]],
  ["suite binary message", ['52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', { binary_hex: "010203" }, { binary_hex: "040506" }]],
  ["suite binary ack", ['52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', { binary_hex: "010203" }, { binary_hex: "040506" }]],
  ["several packets in a row", ["0", '2["a"]', '3/x,1[]', "1"]],
];
for (const [name, inputs, opts, deviation] of decodeVectors) sioDecodeCase(name, inputs, opts, deviation);
sioDecodeCase("too many attachments with maxAttachments 2", ['53-["hello",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]'], { maxAttachments: 2 });
sioDecodeCase("maxAttachments 2 allows 2", ['52-["hello",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', { binary_hex: "01" }, { binary_hex: "02" }], { maxAttachments: 2 });

// ---------------------------------------------------------------------------------------
// msgpack parser

const mpEncode = [];
const mpDecode = [];

function mpDecodeCase(name, bytes, deviation) {
  const input = hex(bytes);
  if (!once("md:" + input.binary_hex)) return;
  const decoder = new msgpackParser.Decoder();
  let decoded = null;
  let view;
  let error;
  decoder.on("decoded", (p) => {
    decoded = canonPacket(p);
    view = jsonView(p.data);
  });
  try {
    decoder.add(Buffer.from(bytes));
  } catch (e) {
    error = e.message;
  }
  const c = { name, input, decoded: elide(decoded) };
  if (view !== undefined && depthOf(view) <= 120) c.view = view;
  if (error !== undefined) c.error = error;
  if (deviation) c.deviation = deviation;
  mpDecode.push(c);
}

// builds the packet object in the key order of the Node server: type, data, id, nsp
function mpPacket(p) {
  const o = { type: p.type };
  if (p.data !== undefined) o.data = p.data;
  if (p.id !== undefined) o.id = p.id;
  o.nsp = p.nsp;
  return o;
}

function mpEncodeCase(name, p) {
  const packet = mpPacket(p);
  const encoded = new msgpackParser.Encoder().encode(packet).map(wire);
  if (!once("me:" + JSON.stringify(encoded))) return;
  mpEncode.push({ name, packet: canonPacket(packet), encoded });
  mpDecodeCase(name + " (decoded)", unwire(encoded[0]));
}

const mpEncodeVectors = [
  ["CONNECT /", { type: 0, nsp: "/" }],
  ["CONNECT auth", { type: 0, nsp: "/", data: { token: "123" } }],
  ["CONNECT reply", { type: 0, nsp: "/admin", data: { sid: "oSO0OpakMV_3jnilAAAA" } }],
  ["DISCONNECT /admin", { type: 1, nsp: "/admin" }],
  ["EVENT hey Jude", { type: 2, nsp: "/", data: ["hey", "Jude"] }],
  ["EVENT with ack", { type: 2, nsp: "/test", data: ["a", 1, {}], id: 1 }],
  ["EVENT binary", { type: 2, nsp: "/", data: ["baz", B(1, 2, 3, 4)] }],
  ["EVENT large binary", { type: 2, nsp: "/", data: ["big", randBytes(300), randBytes(70000)] }],
  ["EVENT long string", { type: 2, nsp: "/", data: ["s", "x".repeat(40), "y".repeat(300), "z".repeat(70000)] }],
  ["EVENT long array and map", { type: 2, nsp: "/", data: ["a", Array.from({ length: 20 }, (_, i) => i), Object.fromEntries(Array.from({ length: 20 }, (_, i) => ["k" + i, i]))] }],
  ["EVENT integers of every width", { type: 2, nsp: "/", data: ["ints", 0, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 9007199254740991, -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -9007199254740991] }],
  ["EVENT floats", { type: 2, nsp: "/", data: ["floats", 1.5, -0.25, 0.1, 1e-7, -2.5e-300] }],
  ["ACK", { type: 3, nsp: "/", data: [1, "2", { 3: [false] }], id: 456 }],
  ["ACK big id", { type: 3, nsp: "/", data: [], id: 4294967296 }],
  ["CONNECT_ERROR string", { type: 4, nsp: "/", data: "Unauthorized" }],
  ["CONNECT_ERROR object", { type: 4, nsp: "/mw", data: { message: "not authorized", data: { content: "please retry" } } }],
  ["EVENT unicode", { type: 2, nsp: "/日本", data: ["unicode", "€ é 日本", "😀", "\u2028"] }],
];
for (const [name, p] of mpEncodeVectors) mpEncodeCase(name, p);

numberPool = NUMBERS.filter((n) => !(Number.isInteger(n) && Math.abs(n) >= 2 ** 63));
for (let i = 0; i < 130; i++) {
  const type = i % 5;
  const binaries = type === 2 || type === 3 ? pick([0, 0, 1, 2, 3]) : 0;
  const p = { type, nsp: pick(NAMESPACES) };
  const data = randData(type, binaries);
  if (data !== undefined) p.data = data;
  const id = type === 2 || type === 3 ? pick(IDS) : undefined;
  if (type === 3 && id === undefined) p.id = 1;
  else if (id !== undefined) p.id = id;
  mpEncodeCase(`generated #${i} type ${type}, ${binaries} binaries`, p);
}

const enc = (v) => notepack.encode(v);
const mpDecodeVectors = [
  ["keys in another order", enc({ nsp: "/", id: 3, data: ["x"], type: 2 })],
  ["extra keys are ignored (client options)", enc({ type: 2, data: ["x"], options: { compress: true }, nsp: "/" })],
  ["type as a float", Buffer.from("82a474797065cb4000000000000000a36e7370a12f", "hex")],
  ["undefined data is absent", enc({ type: 1, data: undefined, nsp: "/" })],
  ["undefined id is absent", enc({ type: 2, data: ["x"], id: undefined, nsp: "/" })],
  ["namespace without slash", enc({ type: 2, data: ["x"], nsp: "admin" })],
  ["namespace with comma", enc({ type: 2, data: ["x"], nsp: "/a,b" })],
  ["EVENT with reserved name is accepted", enc({ type: 2, data: ["connect"], nsp: "/" })],
  ["EVENT empty array is accepted", enc({ type: 2, data: [], nsp: "/" })],
  ["EVENT ArrayBuffer extension", enc({ type: 2, data: ["ab", new Uint8Array([1, 2, 3])], nsp: "/" })],
  ["EVENT other extension", Buffer.concat([Buffer.from("83a474797065 02 a464617461 92 a178 d5 05 0102 a36e7370 a12f".replace(/ /g, ""), "hex")])],
  ["duplicate key last wins", Buffer.from("84a474797065 00 a474797065 02 a464617461 91 a178 a36e7370 a12f".replace(/ /g, ""), "hex")],
  ["id as a float", Buffer.from("84a474797065 02 a464617461 91 a178 a26964 cb4008000000000000 a36e7370 a12f".replace(/ /g, ""), "hex")],
  ["float32 values", Buffer.from("83a474797065 02 a464617461 92 a178 ca3fc00000 a36e7370 a12f".replace(/ /g, ""), "hex")],
  // undefined (d4 00 00) in every position, as the Node server writes it, and the other
  // extension values
  ["CONNECT reply with pid undefined", enc({ type: 0, data: { sid: "oSO0OpakMV_3jnilAAAA", pid: undefined }, nsp: "/" })],
  ["CONNECT auth with an undefined property", enc({ type: 0, data: { token: "abc", u: undefined }, nsp: "/" })],
  ["CONNECT data undefined is absent", enc({ type: 0, data: undefined, nsp: "/admin" })],
  ["EVENT undefined argument", enc({ type: 2, data: ["x", undefined], nsp: "/" })],
  ["EVENT undefined object value", enc({ type: 2, data: ["x", { a: undefined, b: 1 }], nsp: "/" })],
  ["EVENT undefined array element", enc({ type: 2, data: ["x", [1, undefined, 3]], nsp: "/" })],
  ["EVENT undefined nested", enc({ type: 2, data: ["x", { o: { p: [undefined, { q: undefined, r: [undefined] }] } }], nsp: "/" })],
  ["EVENT only undefined properties", enc({ type: 2, data: ["x", { a: undefined }], nsp: "/" })],
  ["EVENT undefined with ack", enc({ type: 2, data: ["x", undefined, { a: undefined }], id: 7, nsp: "/" })],
  ["ACK undefined arguments", enc({ type: 3, data: [undefined, { a: undefined, b: [undefined] }], id: 3, nsp: "/" })],
  ["CONNECT_ERROR data with undefined", enc({ type: 4, data: { message: "no", data: undefined }, nsp: "/" })],
  ["EVENT Date", enc({ type: 2, data: ["d", new Date(1700000000123), { at: new Date(0) }, [new Date(-1)]], nsp: "/" })],
  ["EVENT Date before 1970 and far", enc({ type: 2, data: ["d", new Date(-62198755200000), new Date(8.64e15)], nsp: "/" })],
  ["EVENT invalid Date (beyond the range)", Buffer.from("83a474797065 02 a464617461 92 a178 d700 7fffffff ffffffff a36e7370 a12f".replace(/ /g, ""), "hex")],
  ["EVENT ArrayBuffer and typed arrays", enc({ type: 2, data: ["ab", new Uint8Array([1, 2, 3]).buffer, new Uint16Array([1]), { b: new Uint8Array(0).buffer }], nsp: "/" })],
  ["EVENT extension types 1, 2, 4, 8, 16 bytes", Buffer.from("83a474797065 02 a464617461 96 a178 d4 01 aa d5 02 0102 d6 7f 01020304 d7 05 0102030405060708 d8 f0 000102030405060708090a0b0c0d0e0f a36e7370 a12f".replace(/ /g, ""), "hex")],
  ["EVENT timestamp extension -1", Buffer.from("83a474797065 02 a464617461 92 a178 d6 ff 6553f100 a36e7370 a12f".replace(/ /g, ""), "hex")],
  ["EVENT extension in an object", Buffer.from("83a474797065 02 a464617461 92 a178 82 a161 c7 02 05 0102 a162 01 a36e7370 a12f".replace(/ /g, ""), "hex")],
  ["EVENT non-string map keys", Buffer.from("83a474797065 02 a464617461 92 a178 85 01 a161 cb3ff8000000000000 a162 c3 a163 c0 a164 d40000 a165 a36e7370 a12f".replace(/ /g, ""), "hex")],
  // errors
  ["type 5 is invalid", enc({ type: 5, data: ["x"], nsp: "/" })],
  ["type -1 is invalid", enc({ type: -1, data: ["x"], nsp: "/" })],
  ["type string is invalid", enc({ type: "2", data: ["x"], nsp: "/" })],
  ["type fractional is invalid", enc({ type: 2.5, data: ["x"], nsp: "/" })],
  ["missing type", enc({ data: ["x"], nsp: "/" })],
  ["missing nsp", enc({ type: 2, data: ["x"] })],
  ["nsp not a string", enc({ type: 2, data: ["x"], nsp: 1 })],
  ["CONNECT array", enc({ type: 0, data: [], nsp: "/" })],
  ["CONNECT string", enc({ type: 0, data: "x", nsp: "/" })],
  ["CONNECT null", enc({ type: 0, data: null, nsp: "/" })],
  ["DISCONNECT with data", enc({ type: 1, data: {}, nsp: "/" })],
  ["EVENT without data", enc({ type: 2, nsp: "/" })],
  ["EVENT object", enc({ type: 2, data: {}, nsp: "/" })],
  ["ACK string", enc({ type: 3, data: "x", id: 1, nsp: "/" })],
  ["CONNECT_ERROR array", enc({ type: 4, data: [], nsp: "/" })],
  ["CONNECT_ERROR without data", enc({ type: 4, nsp: "/" })],
  ["id string", enc({ type: 2, data: ["x"], id: "1", nsp: "/" })],
  ["id fractional", enc({ type: 2, data: ["x"], id: 1.5, nsp: "/" })],
  ["id null", enc({ type: 2, data: ["x"], id: null, nsp: "/" })],
  ["not a map", enc(["x"])],
  ["a string", enc("2[\"x\"]")],
  ["nil", enc(null)],
  ["trailing bytes", Buffer.concat([enc({ type: 1, nsp: "/" }), Buffer.from([0])])],
  ["truncated", enc({ type: 2, data: ["hello"], nsp: "/" }).subarray(0, 12)],
  ["unknown format byte", Buffer.from([0xc1])],
  ["empty message", Buffer.alloc(0)],
  ["id negative", enc({ type: 2, data: ["x"], id: -1, nsp: "/" }), "negative ack id: the reference accepts any integer, we reject"],
  ["invalid UTF-8 in a string", Buffer.from("83a474797065 02 a464617461 91 a2c328 a36e7370 a12f".replace(/ /g, ""), "hex"), "invalid UTF-8: the reference replaces it, we reject"],
  ["deep nesting 200", Buffer.concat([Buffer.from("83a474797065 02 a464617461 92 a178".replace(/ /g, ""), "hex"), Buffer.alloc(199, 0x91), Buffer.from([0x90]), Buffer.from("a36e7370a12f", "hex")]), "nested deeper than 128 levels: the reference has no bound, we reject"],
];
for (const [name, bytes, deviation] of mpDecodeVectors) mpDecodeCase(name, bytes, deviation);

// ---------------------------------------------------------------------------------------
// output: one case per line, so diffs stay readable

function write(dir, file, cases) {
  fs.mkdirSync(dir, { recursive: true });
  const names = new Set();
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`duplicate fixture name ${c.name} in ${file}`);
    names.add(c.name);
  }
  const body = "[\n" + cases.map((c) => JSON.stringify(c)).join(",\n") + "\n]\n";
  fs.writeFileSync(path.join(dir, file), body);
}

write(path.join(root, "socketio"), "encode.json", sioEncode);
write(path.join(root, "socketio"), "decode.json", sioDecode);
write(path.join(root, "socketio-msgpack"), "encode.json", mpEncode);
write(path.join(root, "socketio-msgpack"), "decode.json", mpDecode);
console.log(
  `socketio: ${sioEncode.length} encode, ${sioDecode.length} decode; ` +
    `socketio-msgpack: ${mpEncode.length} encode, ${mpDecode.length} decode`,
);
