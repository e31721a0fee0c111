#!/usr/bin/env node
// Generates the Engine.IO fixture corpus (../fixtures/engineio/*.json) by running the
// official engine.io-parser (version pinned in package-lock.json) over a fixed input set.
//
//   node gen-engineio.js [OUTPUT_DIR]
//
// The output is deterministic: the only randomness is a seeded PRNG defined below, and
// the same inputs must give byte-identical files on every run (CI regenerates into a
// temporary directory and runs `diff -r` against the committed fixtures).
// Format: see ../README.md.
"use strict";

const fs = require("fs");
const path = require("path");
const { runOp } = require("./diff-engineio.js");

const outDir = process.argv[2] ? path.resolve(process.argv[2]) : path.join(__dirname, "../fixtures/engineio");

// ---------------------------------------------------------------------------------------
// deterministic helpers

// mulberry32: tiny 32-bit PRNG with a fixed seed, so "random" cases never change
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
const rand = prng(0x5eed1e10);
const randInt = (n) => Math.floor(rand() * n); // 0 <= x < n
const pick = (arr) => arr[randInt(arr.length)];

function randBytes(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = randInt(256);
  return b;
}

// text pieces: ASCII, multi-byte UTF-8 (2, 3 and 4 bytes), separators, NUL and controls;
// always whole code points, never lone surrogates
const TEXT_PIECES = [
  "a", "Z", "0", "4", "b", " ", "{", "}", "[", "]", '"', "\\", ",", ":", "/", "=", "+", "-", "_", "?", "~",
  "hello", "probe", "42", "é", "ß", "€", "日本", "語", "😀", "𝄞", "\u2028", "\u2029", "\u00a0", "\ufeff", "\ufffd",
  "\u0000", "\t", "\n", "\r", "\u0001", "\u001f", "\u007f", "\u0080", "\u009f",
];
function randText(maxPieces, allowSeparator) {
  const n = randInt(maxPieces + 1);
  let s = "";
  for (let i = 0; i < n; i++) s += pick(TEXT_PIECES);
  if (allowSeparator && rand() < 0.3) s += "\x1e";
  return s;
}

// pattern text of exactly n UTF-16 code units (ASCII, so also n UTF-8 bytes)
function asciiPattern(n) {
  const unit = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.~!*'();@&=+$,/?#[]";
  return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
}
// pattern bytes: 00 01 .. ff 00 01 ..
function bytePattern(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i & 0xff;
  return b;
}

const bin = (buf) => ({ binary_hex: Buffer.from(buf).toString("hex") });
const b64 = (buf) => Buffer.from(buf).toString("base64");
const b64unpadded = (buf) => b64(buf).replace(/=+$/, "");
const TYPES = ["open", "close", "ping", "pong", "message", "upgrade", "noop"];
const SEP = "\x1e";

// short, printable description of a string for case names
function describe(s, max = 40) {
  let d = JSON.stringify(s);
  if (d.length > max) d = d.slice(0, max - 3) + '..."' + ` (${s.length} chars)`;
  return d;
}

// ---------------------------------------------------------------------------------------
// the four fixture lists

const files = { decode_packet: [], decode_payload: [], encode_packet: [], encode_payload: [] };
const names = { decode_packet: new Set(), decode_payload: new Set(), encode_packet: new Set(), encode_payload: new Set() };

function uniqueName(file, name) {
  if (names[file].has(name)) throw new Error(`duplicate case name in ${file}: ${name}`);
  names[file].add(name);
  return name;
}
// inputs already present (case names aside), to skip accidental duplicates silently
const seen = new Set();
function once(key) {
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
}

function decodePacketCase(name, input) {
  if (!once("dp:" + JSON.stringify(input))) return;
  const r = runOp({ op: "decode_packet", input });
  const c = { name: uniqueName("decode_packet", name), input, decoded: r.decoded };
  if (r.deviation) c.deviation = r.deviation;
  files.decode_packet.push(c);
}
function decodePayloadCase(name, input) {
  if (!once("dl:" + input)) return;
  const r = runOp({ op: "decode_payload", input });
  const c = { name: uniqueName("decode_payload", name), input, decoded: r.decoded };
  if (r.deviation) c.deviation = r.deviation;
  files.decode_payload.push(c);
}
function encodePacketCase(name, packet, supportsBinary) {
  if (!once("ep:" + JSON.stringify([packet, supportsBinary]))) return;
  const r = runOp({ op: "encode_packet", packet, supportsBinary });
  if (typeof r.encoded !== "string" && !(r.encoded && r.encoded.binary_hex !== undefined)) throw new Error(`no encoding for ${name}`);
  files.encode_packet.push({ name: uniqueName("encode_packet", name), packet, supportsBinary, encoded: r.encoded });
}
function encodePayloadCase(name, packets) {
  if (!once("el:" + JSON.stringify(packets))) return;
  const r = runOp({ op: "encode_payload", packets });
  if (typeof r.encoded !== "string") throw new Error(`no encoding for ${name}`);
  files.encode_payload.push({ name: uniqueName("encode_payload", name), packets, encoded: r.encoded });
}
const pkt = (type, data) => (data === undefined ? { type } : { type, data });

// ---------------------------------------------------------------------------------------
// 1. reference vectors: the shared reference's vectors.json (engineio.*) and PROTOCOL.md §4.1

const HANDSHAKE = '{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}';
{
  const vecPackets = [
    pkt("open", HANDSHAKE), pkt("close"), pkt("ping"), pkt("pong"), pkt("ping", "probe"), pkt("pong", "probe"),
    pkt("message", "hello"), pkt("message", ""), pkt("message", "€"), pkt("upgrade"), pkt("noop"),
    pkt("message", bin([1, 2, 3, 4])),
  ];
  for (const p of vecPackets)
    for (const sb of [true, false])
      encodePacketCase(`vector: ${p.type} ${p.data === undefined ? "(no data)" : describe(p.data)} supportsBinary=${sb}`, p, sb);
  // PROTOCOL §4.1 single packet
  encodePacketCase('spec 4.1: message "test"', pkt("message", "test"), false);
  encodePacketCase("spec 4.1: Buffer 01020304 supportsBinary=true is sent as is", pkt("message", bin([1, 2, 3, 4])), true);
  encodePacketCase("spec 4.1: Buffer 01020304 supportsBinary=false is base64", pkt("message", bin([1, 2, 3, 4])), false);
  // Int16Array [257,258,259,260] (little endian) and the sliced view new Int8Array(buf([1,2,3,4]),1,2)
  const i16 = new Int16Array([257, 258, 259, 260]);
  const i16bytes = bin(Buffer.from(i16.buffer, i16.byteOffset, i16.byteLength));
  encodePacketCase("spec 4.1: Int16Array [257,258,259,260] bytes, supportsBinary=true", pkt("message", i16bytes), true);
  encodePacketCase("spec 4.1: Int16Array [257,258,259,260] bytes, supportsBinary=false", pkt("message", i16bytes), false);
  const view = new Int8Array(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2);
  const viewBytes = bin(Buffer.from(view.buffer, view.byteOffset, view.byteLength));
  encodePacketCase("spec 4.1: sliced Int8Array view (bytes 02 03), supportsBinary=true", pkt("message", viewBytes), true);
  encodePacketCase("spec 4.1: sliced Int8Array view (bytes 02 03), supportsBinary=false", pkt("message", viewBytes), false);

  const vecPayloads = [
    [pkt("message", "hello"), pkt("ping"), pkt("message", "world")],
    [pkt("message", "hello"), pkt("message", bin([1, 2, 3, 4]))],
    [pkt("open"), pkt("close"), pkt("ping", "probe"), pkt("pong", "probe"), pkt("message", "test")],
    [pkt("noop"), pkt("close")],
    [pkt("message", "40"), pkt("message", '42["hello","world"]')],
    [pkt("message", '451-["bin",{"_placeholder":true,"num":0}]'), pkt("message", bin([1, 2, 3]))],
    [pkt("message", "test"), pkt("message", bin([1, 2, 3, 4]))],
  ];
  const vecPayloadNames = [
    "vector: hello, ping, world",
    "vector: hello + binary 01020304",
    "vector / spec 4.1: all packet types",
    "vector: noop, close",
    "vector: socket.io CONNECT and EVENT in messages",
    "vector: socket.io binary EVENT + attachment",
    "spec 4.1: string + Buffer payload",
  ];
  vecPayloads.forEach((ps, i) => encodePayloadCase(vecPayloadNames[i], ps));

  for (const s of ["4hello", "2probe", "3", "6", "5", "1", "0{}", "bAQIDBA==", "b", "", "a123", "7", "9x", "4", "4test"])
    decodePacketCase(`vector: ${describe(s)}`, s);
  decodePacketCase("spec 4.1: raw binary 01020304 is a binary message", bin([1, 2, 3, 4]));

  for (const s of [
    "4hello\x1e2\x1e4world", "4hello\x1ebAQIDBA==", "", "{", "{}", '["a123", "a456"]', "4a\x1e\x1e4b", "4a\x1ex\x1e4b", "\x1e", "6\x1e1",
    "0\x1e1\x1e2probe\x1e3probe\x1e4test", "4test\x1ebAQIDBA==", "440\x1e442[\"hello\",\"world\"]",
    '4451-["bin",{"_placeholder":true,"num":0}]\x1ebAQID',
  ])
    decodePayloadCase(`vector: ${describe(s, 60)}`, s);
}

// ---------------------------------------------------------------------------------------
// 2. decode_packet

// every type with and without data, and with a range of data
const DATA_SAMPLES = [
  ["ascii", "hello"],
  ["probe", "probe"],
  ["single space", " "],
  ["digits", "0123456789"],
  ["json object", '{"a":1}'],
  ["socket.io event", '2["hello","world"]'],
  ["e acute", "é"],
  ["euro", "€"],
  ["japanese", "日本"],
  ["emoji", "😀"],
  ["U+2028 U+2029", "\u2028\u2029"],
  ["NUL", "\u0000"],
  ["control chars", "\u0001\u0002\t\n\r\u001b\u001f\u007f"],
  ["record separator inside a single packet", "a\x1eb"],
  ["BOM and U+FFFD", "\ufeff\ufffd"],
  ["type char again", "4"],
  ["b inside", "bAQID"],
];
TYPES.forEach((t, i) => {
  decodePacketCase(`type ${i} (${t}) without data`, String(i));
  for (const [label, d] of DATA_SAMPLES) decodePacketCase(`type ${i} (${t}) with ${label}`, String(i) + d);
});
decodePacketCase("probe: 2probe", "2probe");
decodePacketCase("probe: 3probe", "3probe");
decodePacketCase("upgrade with data", "5probe");

// open packets with JSON data
const OPEN_SAMPLES = [
  ["handshake", HANDSHAKE],
  ["handshake without websocket", '{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'],
  ["empty object", "{}"],
  ["pretty json", '{\n  "sid": "x",\n  "upgrades": ["websocket"]\n}'],
  ["json array", "[1,2,3]"],
  ["not json", "{not json"],
  ["json with unicode", '{"sid":"é€日本😀"}'],
];
for (const [label, d] of OPEN_SAMPLES) decodePacketCase(`open with ${label}`, "0" + d);

// invalid type characters
for (let c = 0x20; c <= 0x7e; c++) {
  const ch = String.fromCharCode(c);
  if ((ch >= "0" && ch <= "6") || ch === "b") continue;
  decodePacketCase(`invalid type char ${JSON.stringify(ch)} alone`, ch);
}
for (const s of ["7", "7hello", "8", "9", "9x", "Bhello", "Message", "message", "ahello", "xyz", "-1", " 4hello", "+4", "\\4", "%34"])
  decodePacketCase(`invalid type: ${describe(s)}`, s);
const ODD_FIRST = [
  ["NUL", "\u0000"], ["tab", "\t"], ["LF", "\n"], ["CR", "\r"], ["record separator", "\x1e"], ["DEL", "\u007f"],
  ["e acute", "é"], ["euro", "€"], ["emoji", "😀"], ["U+2028", "\u2028"], ["fullwidth 4", "\uff14"],
  ["arabic-indic 4", "\u0664"], ["superscript 4", "\u2074"], ["BOM", "\ufeff"],
];
for (const [label, ch] of ODD_FIRST) {
  decodePacketCase(`invalid first char ${label}`, ch);
  decodePacketCase(`invalid first char ${label} then message`, ch + "4hello");
}

// large text
// (64 KiB text is in encode_packet; only this one 1 MiB case, to keep the corpus small)
decodePacketCase("message with 1 MiB ASCII text", "4" + asciiPattern(1048576));
decodePacketCase("message with 2000 euro signs (6000 UTF-8 bytes)", "4" + "€".repeat(2000));
decodePacketCase("message with 1000 emoji", "4" + "😀".repeat(1000));

// binary, raw (WebSocket binary frame) and as b + base64
const BIN_SIZES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 100, 125, 126, 127, 128, 255, 256, 1000, 1023, 1024, 4096, 65536];
for (const n of BIN_SIZES) {
  const bytes = n === 256 ? bytePattern(256) : randBytes(n);
  decodePacketCase(`raw binary ${n} bytes`, bin(bytes));
  decodePacketCase(`b + base64 ${n} bytes`, "b" + b64(bytes));
  if (b64(bytes) !== b64unpadded(bytes) && n < 65536) decodePacketCase(`b + base64 ${n} bytes (unpadded)`, "b" + b64unpadded(bytes));
}
// raw binary that looks like text is still a binary message
for (const s of ["4hello", "bAQID", "0{}", "2probe", "\x1e", "é"]) decodePacketCase(`raw binary that looks like text ${describe(s)}`, bin(Buffer.from(s, "utf8")));
decodePacketCase("raw binary all 256 byte values reversed", bin(Buffer.from(bytePattern(256)).reverse()));
// base64 edge cases our strict decoder also accepts
decodePacketCase("b + base64 with non-zero trailing bits (2 chars)", "bAR");
decodePacketCase("b + base64 with non-zero trailing bits (2 chars + ==)", "bAR==");
decodePacketCase("b + base64 with non-zero trailing bits (3 chars)", "bAQJ");
decodePacketCase("b + base64 with non-zero trailing bits (3 chars + =)", "bAQJ=");
decodePacketCase("b + base64 using + and /", "b+/+/");
decodePacketCase("b + base64 all 64 alphabet chars", "bABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

// deviation: lenient base64 in the reference, an error for us
const BAD_B64 = [
  ["length 1 mod 4", "bA"],
  ["length 5", "bAQIDB"],
  ["single = after 2 chars", "bAQIDBA="],
  ["triple padding", "bAQIDBA==="],
  ["only padding", "b===="],
  ["= at the start", "b=AQI"],
  ["data after padding", "bAQ==AQ"],
  ["base64url alphabet - and _", "bAQ-_w"],
  ["base64url _ only", "bAQ_"],
  ["invalid chars in the middle", "bAQID!!BA=="],
  ["space inside", "bAQ ID"],
  ["newline inside", "bAQID\nBA=="],
  ["percent signs", "b%%%%"],
  ["non-ASCII char inside", "béAQID"],
  ["U+2028 inside", "bA\u2028QID"],
  ["emoji first", "b😀AQID"],
  ["emoji last", "bAQID😀"],
  ["CJK char first", "b日AQID"],
  ["= in the middle of a group", "bAQ=ID"],
  ["trailing whitespace", "bAQIDBA== "],
  ["padding mid-group", "bA=QI"],
];
for (const [label, s] of BAD_B64) decodePacketCase(`lenient base64: ${label}`, s);

// random text packets
for (let i = 0; i < 40; i++) {
  const t = randInt(7);
  decodePacketCase(`random text packet #${i}`, String(t) + randText(12, true));
}

// ---------------------------------------------------------------------------------------
// 3. decode_payload

// single packets
for (let i = 0; i <= 6; i++) {
  decodePayloadCase(`single type ${i} without data`, String(i));
  decodePayloadCase(`single type ${i} with data`, String(i) + "hello");
}
for (const s of ["2probe", "3probe", "4é€日本😀", "4\u2028", "4\u0000", "b", "bAQIDBA==", "bAQIDBA", "0" + HANDSHAKE, "4" + asciiPattern(16384)])
  decodePayloadCase(`single ${describe(s)}`, s);
// separators
for (const [label, s] of [
  ["empty", ""],
  ["separator only", "\x1e"],
  ["two separators", "\x1e\x1e"],
  ["leading separator", "\x1e4a"],
  ["trailing separator", "4a\x1e"],
  ["trailing double separator", "4a\x1e\x1e"],
  ["double separator in the middle", "4a\x1e\x1e4b"],
  ["double separator then more", "4a\x1e\x1e4b\x1e4c"],
  ["empty message packets", "4\x1e4\x1e4"],
  ["empty binary packets", "b\x1eb\x1eb"],
])
  decodePayloadCase(`separators: ${label}`, s);
// error position
for (const bad of ["x", "7", "", "a123", "é"]) {
  decodePayloadCase(`error first (${describe(bad)})`, [bad, "4a", "4b", "4c"].join(SEP));
  decodePayloadCase(`error middle (${describe(bad)})`, ["4a", bad, "4b", "4c"].join(SEP));
  decodePayloadCase(`error last (${describe(bad)})`, ["4a", "4b", "4c", bad].join(SEP));
}
decodePayloadCase("error then lenient base64 is not a deviation (never decoded)", ["4a", "x", "bA!!"].join(SEP));
decodePayloadCase("not a payload: JSON array", "[1,2]");
decodePayloadCase("v3 length-prefixed payload is not v4", "6:4hello2:4€");
// binary in payloads
for (const n of [0, 1, 2, 3, 4, 5, 255, 256, 1000]) {
  const bytes = randBytes(n);
  decodePayloadCase(`binary ${n} bytes between text`, ["4a", "b" + b64(bytes), "4b"].join(SEP));
  if (b64(bytes) !== b64unpadded(bytes)) decodePayloadCase(`binary ${n} bytes unpadded between text`, ["4a", "b" + b64unpadded(bytes), "4b"].join(SEP));
}
// lenient base64 inside payloads (deviation)
decodePayloadCase("lenient base64 first", ["bAQ-_w", "4a"].join(SEP));
decodePayloadCase("lenient base64 middle", ["4a", "bAQIDBA=", "4b"].join(SEP));
decodePayloadCase("lenient base64 last", ["4a", "4b", "bA"].join(SEP));
decodePayloadCase("lenient base64 before an error", ["bAQ ID", "x", "4b"].join(SEP));

// random payloads of 1..20 packets mixing text and binary
function randomPacketText() {
  const r = rand();
  if (r < 0.35) {
    const bytes = randBytes(randInt(40));
    return "b" + (rand() < 0.8 ? b64(bytes) : b64unpadded(bytes));
  }
  if (r < 0.45) return pick(["2", "3", "2probe", "3probe", "6", "1", "5"]);
  return String(randInt(7)) + randText(8, false);
}
for (let n = 1; n <= 20; n++) {
  for (let v = 0; v < 3; v++) {
    const parts = [];
    for (let i = 0; i < n; i++) parts.push(randomPacketText());
    if (v === 1) parts[randInt(n)] = pick(["", "x", "7", "9x", "a123", "é", "B", "{"]); // one error somewhere
    if (v === 2 && rand() < 0.5) parts.push(""); // trailing separator
    decodePayloadCase(`random payload of ${n} packets #${v}`, parts.join(SEP));
  }
}

// ---------------------------------------------------------------------------------------
// 4. encode_packet

TYPES.forEach((t) => {
  for (const sb of [true, false]) {
    encodePacketCase(`${t} without data supportsBinary=${sb}`, pkt(t), sb);
    encodePacketCase(`${t} with empty data supportsBinary=${sb}`, pkt(t, ""), sb);
    encodePacketCase(`${t} with "hello" supportsBinary=${sb}`, pkt(t, "hello"), sb);
  }
  for (const [label, d] of DATA_SAMPLES) encodePacketCase(`${t} with ${label}`, pkt(t, d), false);
});
for (const [label, d] of OPEN_SAMPLES) encodePacketCase(`open with ${label}`, pkt("open", d), true);
encodePacketCase("message with 64 KiB ASCII text", pkt("message", asciiPattern(65536)), true);
encodePacketCase("message with 1000 emoji", pkt("message", "😀".repeat(1000)), false);
for (const n of [0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 17, 100, 255, 256, 1000, 16384]) {
  const bytes = n === 256 ? bytePattern(256) : randBytes(n);
  // the 16 KiB case only once (as base64), to keep the files small
  if (n !== 16384) encodePacketCase(`message binary ${n} bytes supportsBinary=true`, pkt("message", bin(bytes)), true);
  encodePacketCase(`message binary ${n} bytes supportsBinary=false`, pkt("message", bin(bytes)), false);
}
for (let i = 0; i < 20; i++) encodePacketCase(`random text packet #${i}`, pkt(pick(TYPES), randText(12, true)), rand() < 0.5);

// ---------------------------------------------------------------------------------------
// 5. encode_payload

TYPES.forEach((t) => {
  encodePayloadCase(`single ${t} without data`, [pkt(t)]);
  encodePayloadCase(`single ${t} with data`, [pkt(t, "hello")]);
});
encodePayloadCase("single message with empty data (encodes as 4)", [pkt("message", "")]);
encodePayloadCase("three empty messages", [pkt("message", ""), pkt("message", ""), pkt("message", "")]);
encodePayloadCase("probe packets", [pkt("ping", "probe"), pkt("pong", "probe")]);
encodePayloadCase("open with handshake then message", [pkt("open", HANDSHAKE), pkt("message", "40")]);
encodePayloadCase("unicode messages", [pkt("message", "é"), pkt("message", "€"), pkt("message", "日本"), pkt("message", "😀"), pkt("message", "\u2028\u0000")]);
encodePayloadCase("message containing the separator (not escaped)", [pkt("message", "a\x1eb"), pkt("message", "c")]);
encodePayloadCase("16 KiB text message", [pkt("message", asciiPattern(16384))]);
for (const n of [0, 1, 2, 3, 4, 5, 255, 256, 1000]) {
  const bytes = n === 256 ? bytePattern(256) : randBytes(n);
  encodePayloadCase(`binary ${n} bytes alone`, [pkt("message", bin(bytes))]);
  encodePayloadCase(`binary ${n} bytes between text`, [pkt("message", "a"), pkt("message", bin(bytes)), pkt("message", "b")]);
}
function randomPacket() {
  const r = rand();
  if (r < 0.35) return pkt("message", bin(randBytes(randInt(40))));
  if (r < 0.45) return pkt(pick(TYPES));
  return pkt(pick(TYPES), randText(8, false));
}
for (let n = 1; n <= 20; n++)
  for (let v = 0; v < 2; v++) {
    const ps = [];
    for (let i = 0; i < n; i++) ps.push(randomPacket());
    encodePayloadCase(`random payload of ${n} packets #${v}`, ps);
  }

// ---------------------------------------------------------------------------------------
// output

fs.mkdirSync(outDir, { recursive: true });
let total = 0;
for (const [file, arr] of Object.entries(files)) {
  fs.writeFileSync(path.join(outDir, `${file}.json`), JSON.stringify(arr, null, 1) + "\n");
  total += arr.length;
  const dev = arr.filter((c) => c.deviation).length;
  process.stderr.write(`${file}.json: ${arr.length} cases${dev ? ` (${dev} with deviation)` : ""}\n`);
}
process.stderr.write(`total: ${total} cases in ${outDir}\n`);
