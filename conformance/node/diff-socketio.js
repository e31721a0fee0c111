#!/usr/bin/env node
// Differential helper: runs the official Socket.IO parsers (the versions pinned in
// package-lock.json: socket.io-parser, or socket.io-msgpack-parser with --msgpack) on
// requests read as JSON lines from stdin and prints one JSON line per request, in the
// canonical form of ../fixtures/socketio/ (see ../README.md, "sio-wire").
//
//   node diff-socketio.js [--msgpack]
//
// Requests (one JSON object per line; blank lines are ignored and produce no output):
//   {"op": "decode", "inputs": [<message>, ...], "max_attachments"?: n}
//   {"op": "encode", "packet": {"type": 0-4, "nsp": "/", "id"?: n, "data"?: ...}}
// where a message is a string (text) or {"binary_hex": "..."} (binary).
// Responses:
//   {"decoded": [<packet>, ...], "error"?: "<message of the first exception>"}
//   {"decoded": [<packets before input k>], "deviation": "<why>", "deviation_at": k}
//       input k is one that our decoder rejects by design while the reference reads it
//       (the deviations of ../README.md); what the reference does next is not compared
//   {"encoded": [<message>, ...]}
//   {"encode_error": "<message>"}      (the reference encoder threw)
//   {"helper_error": "<message>"}      (the request itself was malformed)
"use strict";

const sio = require("socket.io-parser");
const msgpackParser = require("socket.io-msgpack-parser");

const MSGPACK = process.argv.includes("--msgpack");

const DEVIATION = {
  EMPTY_MESSAGE: "empty message: the reference reads CONNECT /, we reject",
  WHITESPACE_TYPE: "whitespace read as type 0 by the reference, we reject",
  WHITESPACE_ACK_ID: "whitespace read as ack id digits by the reference, we reject",
  ACK_ID_OVERFLOW: "ack id beyond u64: the reference keeps an imprecise float, we reject",
  ATTACHMENT_COUNT: "attachment count not plain digits: the reference coerces it, we reject",
  JSON_NESTING: "JSON nested deeper than 127 levels: the reference has no bound, we reject",
  FRACTIONAL_PLACEHOLDER: "fractional placeholder num: the reference puts undefined, we reject",
  NEGATIVE_ID: "negative ack id: the reference accepts any integer, we reject",
  MSGPACK_ID_OVERFLOW: "ack id beyond u64: the reference accepts any integer, we reject",
  INVALID_UTF8: "invalid UTF-8: the reference replaces it, we reject",
  MSGPACK_NESTING: "nested deeper than 128 levels: the reference has no bound, we reject",
};
const U64_MAX = (1n << 64n) - 1n;
const JSON_MAX_DEPTH = 127; // socketio-proto's json::MAX_DEPTH
const MSGPACK_MAX_DEPTH = 128; // socketio-proto's msgpack::MAX_DEPTH
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

// ---------------------------------------------------------------------------------------
// canonical forms

function hex(b) {
  const u8 = b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return { binary_hex: Buffer.from(u8).toString("hex") };
}

// own data property, even for "__proto__" (which `o[k] = v` would turn into a prototype)
function put(o, k, v) {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

// the value as JSON.stringify shows the reference's packet; binary as {"binary_hex"}
function canon(v) {
  if (v === null || typeof v !== "object") return v;
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return hex(v);
  if (v instanceof Date) return { date_ms: v.getTime() };
  if (Array.isArray(v)) return v.map(canon);
  const o = {};
  for (const k of Object.keys(v)) put(o, k, canon(v[k]));
  return o;
}

function canonPacket(p) {
  return { type: p.type, nsp: p.nsp, id: p.id, data: canon(p.data) };
}

// the data as an application sees it through JSON: what JSON.stringify writes (undefined
// properties dropped, undefined array elements null, dates as ISO strings), binary values
// as {"binary_hex"}; undefined when there is no data
function jsonView(v) {
  if (v === undefined) return undefined;
  const text = JSON.stringify(v, function (k, x) {
    const raw = this[k];
    if (raw instanceof ArrayBuffer || ArrayBuffer.isView(raw)) return hex(raw);
    return x;
  });
  return text === undefined ? undefined : JSON.parse(text);
}

// a msgpack packet with data also carries its JSON view (socketio-proto's sio::packet_to_value)
function canonMsgpackPacket(p) {
  const c = canonPacket(p);
  if (p.data !== undefined) c.view = jsonView(p.data);
  return c;
}

function fromMessage(m, what) {
  if (typeof m === "string") return m;
  if (m !== null && typeof m === "object" && typeof m.binary_hex === "string" && Object.keys(m).length === 1) {
    if (!HEX.test(m.binary_hex)) throw new Error(`${what}: binary_hex is not an even-length hex string`);
    return Buffer.from(m.binary_hex, "hex");
  }
  throw new Error(`${what}: expected a string or {"binary_hex": ...}`);
}

function toMessage(x) {
  return typeof x === "string" ? x : hex(x);
}

// canonical data -> the value given to the encoder ({"binary_hex"} becomes a Buffer)
function fromCanon(v) {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(fromCanon);
  const keys = Object.keys(v);
  if (keys.length === 1 && keys[0] === "binary_hex" && typeof v.binary_hex === "string" && HEX.test(v.binary_hex)) {
    return Buffer.from(v.binary_hex, "hex");
  }
  const o = {};
  for (const k of keys) put(o, k, fromCanon(v[k]));
  return o;
}

// ---------------------------------------------------------------------------------------
// where our decoder is stricter by design (see socketio-proto's crate docs)

const isWs = (c) => c !== "" && /^\s$/.test(c);

// Reads a text header as socket.io-parser's decodeString does and returns the deviation our
// decoder must report for it before any payload is looked at, or null; and where the JSON
// starts.
function headerDeviation(str, maxAttachments) {
  if (str === "") return { deviation: DEVIATION.EMPTY_MESSAGE };
  const first = str.charAt(0);
  if (isWs(first)) return { deviation: DEVIATION.WHITESPACE_TYPE };
  const type = Number(first);
  if (!(type >= 0 && type <= 6)) return { deviation: null };
  let i = 0;
  if (type === 5 || type === 6) {
    const start = i + 1;
    while (str.charAt(++i) !== "-" && i != str.length) {}
    const buf = str.substring(start, i);
    // eslint-disable-next-line eqeqeq
    if (buf != Number(buf) || str.charAt(i) !== "-") return { deviation: null };
    const n = Number(buf);
    if (!Number.isInteger(n) || n < 1) return { deviation: null };
    if (!/^[0-9]+$/.test(buf)) return { deviation: DEVIATION.ATTACHMENT_COUNT };
    if (n > maxAttachments) return { deviation: null };
  }
  if ("/" === str.charAt(i + 1)) {
    while (++i) {
      const c = str.charAt(i);
      if ("," === c) break;
      if (i === str.length) break;
    }
  }
  const next = str.charAt(i + 1);
  // eslint-disable-next-line eqeqeq
  if ("" !== next && Number(next) == next) {
    const start = i + 1;
    while (++i) {
      const c = str.charAt(i);
      // eslint-disable-next-line eqeqeq
      if (null == c || Number(c) != c) {
        --i;
        break;
      }
      if (i === str.length) break;
    }
    const id = str.substring(start, i + 1);
    const digits = /^[0-9]*/.exec(id)[0];
    if (digits !== "" && BigInt(digits) > U64_MAX) return { deviation: DEVIATION.ACK_ID_OVERFLOW };
    if (/\s/.test(id)) return { deviation: DEVIATION.WHITESPACE_ACK_ID };
  }
  return { deviation: null, json: str.charAt(i + 1) ? str.substr(i + 1) : undefined, binary: type >= 5 };
}

function depthOf(v) {
  if (v === null || typeof v !== "object") return 0;
  let d = 0;
  for (const k of Object.keys(v)) d = Math.max(d, depthOf(v[k]));
  return d + 1;
}

// the placeholders that reconstructPacket visits: fractional ones (in range) and invalid ones
function placeholders(data, n, out) {
  if (!data) return out;
  if (data._placeholder === true) {
    const inRange = typeof data.num === "number" && data.num >= 0 && data.num < n;
    if (!inRange) out.invalid = true;
    else if (!Number.isInteger(data.num)) out.fractional = true;
  } else if (Array.isArray(data)) {
    for (const x of data) placeholders(x, n, out);
  } else if (typeof data === "object") {
    for (const k of Object.keys(data)) placeholders(data[k], n, out);
  }
  return out;
}

// for a text header the reference accepted: the deviation of its JSON payload, or null
function payloadDeviation(header, attachments) {
  if (header.json === undefined) return null;
  const data = JSON.parse(header.json);
  if (depthOf(data) > JSON_MAX_DEPTH) return DEVIATION.JSON_NESTING;
  if (header.binary) {
    const p = placeholders(data, attachments, {});
    if (p.fractional && !p.invalid) return DEVIATION.FRACTIONAL_PLACEHOLDER;
  }
  return null;
}

// Walks a msgpack message as our decoder validates it (the whole message, in order, before
// the checks of checkPacket) and returns the first problem: "utf8", "depth", "other" or null.
function msgpackProblem(buf) {
  let pos = 0;
  const need = (n) => {
    if (pos + n > buf.length) throw "other";
    const s = pos;
    pos += n;
    return s;
  };
  const u8 = () => buf[need(1)];
  const len = (n) => (n === 1 ? buf.readUInt8(need(1)) : n === 2 ? buf.readUInt16BE(need(2)) : buf.readUInt32BE(need(4)));
  const str = (n) => {
    const s = need(n);
    const bytes = buf.subarray(s, s + n);
    if (!Buffer.from(bytes.toString("utf8"), "utf8").equals(bytes)) throw "utf8";
  };
  // returns the number of items of a container head, or -1
  const head = () => {
    const p = u8();
    if (p <= 0x7f || p >= 0xe0) return -1;
    if (p <= 0x8f) return 2 * (p & 0x0f);
    if (p <= 0x9f) return p & 0x0f;
    if (p <= 0xbf) return str(p & 0x1f), -1;
    switch (p) {
      case 0xc0: case 0xc2: case 0xc3: return -1;
      case 0xc4: case 0xc5: case 0xc6: return need(len(1 << (p - 0xc4))), -1;
      case 0xc7: case 0xc8: case 0xc9: { const n = len(1 << (p - 0xc7)); need(1); need(n); return -1; }
      case 0xca: need(4); return -1;
      case 0xcb: need(8); return -1;
      case 0xcc: case 0xcd: case 0xce: case 0xcf: need(1 << (p - 0xcc)); return -1;
      case 0xd0: case 0xd1: case 0xd2: case 0xd3: need(1 << (p - 0xd0)); return -1;
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: need(1); need(1 << (p - 0xd4)); return -1;
      case 0xd9: case 0xda: case 0xdb: return str(len(1 << (p - 0xd9))), -1;
      case 0xdc: return len(2);
      case 0xdd: return len(4);
      case 0xde: return 2 * len(2);
      case 0xdf: return 2 * len(4);
      default: throw "other"; // 0xc1
    }
  };
  const skip = (depth) => {
    const items = head();
    if (items < 0) return;
    if (depth >= MSGPACK_MAX_DEPTH) throw "depth";
    for (let i = 0; i < items; i++) skip(depth + 1);
  };
  try {
    const top = buf.length > 0 ? buf[0] : -1;
    const isMap = (top >= 0x80 && top <= 0x8f) || top === 0xde || top === 0xdf;
    if (isMap) {
      const items = head();
      for (let i = 0; i < items; i++) skip(1);
    } else {
      skip(0);
    }
    return pos === buf.length ? null : "other";
  } catch (e) {
    if (e === "utf8" || e === "depth" || e === "other") return e;
    return "other"; // a RangeError of a length read
  }
}

// ---------------------------------------------------------------------------------------
// operations

function decodeDefault(inputs, maxAttachments) {
  const decoder = new sio.Decoder({ maxAttachments });
  const decoded = [];
  decoder.on("decoded", (p) => decoded.push(canonPacket(p)));
  for (let k = 0; k < inputs.length; k++) {
    const input = inputs[k];
    let header = null;
    if (typeof input === "string" && !decoder.reconstructor) {
      header = headerDeviation(input, maxAttachments);
      if (header.deviation) return { decoded, deviation: header.deviation, deviation_at: k };
    }
    const before = decoded.length;
    try {
      decoder.add(input);
    } catch (e) {
      return { decoded, error: e.message };
    }
    if (header) {
      const attachments = decoder.reconstructor ? decoder.reconstructor.reconPack.attachments : 0;
      const deviation = payloadDeviation(header, attachments);
      if (deviation) return { decoded: decoded.slice(0, before), deviation, deviation_at: k };
    }
  }
  return { decoded };
}

function decodeMsgpack(inputs) {
  const decoder = new msgpackParser.Decoder();
  const decoded = [];
  let last;
  decoder.on("decoded", (p) => (last = p));
  for (let k = 0; k < inputs.length; k++) {
    const input = inputs[k];
    if (typeof input !== "string") {
      const problem = msgpackProblem(input);
      if (problem === "utf8") return { decoded, deviation: DEVIATION.INVALID_UTF8, deviation_at: k };
      if (problem === "depth") return { decoded, deviation: DEVIATION.MSGPACK_NESTING, deviation_at: k };
    }
    last = undefined;
    try {
      decoder.add(input);
    } catch (e) {
      return { decoded, error: e.message };
    }
    if (typeof last.id === "number" && last.id < 0) return { decoded, deviation: DEVIATION.NEGATIVE_ID, deviation_at: k };
    if (typeof last.id === "number" && last.id > 2 ** 64) {
      return { decoded, deviation: DEVIATION.MSGPACK_ID_OVERFLOW, deviation_at: k };
    }
    decoded.push(canonMsgpackPacket(last));
  }
  return { decoded };
}

function decode(req) {
  if (!Array.isArray(req.inputs)) throw new Error('"inputs" must be an array');
  const inputs = req.inputs.map((m, i) => fromMessage(m, `inputs[${i}]`));
  let max = 10;
  if (req.max_attachments !== undefined) {
    if (!Number.isSafeInteger(req.max_attachments) || req.max_attachments < 0) {
      throw new Error('"max_attachments" must be a non-negative integer');
    }
    max = req.max_attachments;
  }
  return MSGPACK ? decodeMsgpack(inputs) : decodeDefault(inputs, max);
}

function encode(req) {
  const p = req.packet;
  if (p === null || typeof p !== "object" || Array.isArray(p)) throw new Error("packet: expected a packet object");
  for (const k of Object.keys(p)) {
    if (!["type", "nsp", "id", "data"].includes(k)) throw new Error(`packet: unexpected key ${JSON.stringify(k)} in a packet`);
  }
  if (!Number.isInteger(p.type) || p.type < 0 || p.type > 4) throw new Error('packet: "type" must be an integer from 0 to 4');
  if (typeof p.nsp !== "string") throw new Error('packet: "nsp" must be a string');
  if (p.id !== undefined && !(Number.isSafeInteger(p.id) && p.id >= 0)) {
    throw new Error('packet: "id" must be an integer from 0 to 2^53');
  }
  // the key order of the Node server (type, data, id, nsp), which our msgpack encoder uses
  const packet = { type: p.type };
  if (p.data !== undefined) packet.data = fromCanon(p.data);
  if (p.id !== undefined) packet.id = p.id;
  packet.nsp = p.nsp;
  let encoded;
  try {
    encoded = MSGPACK ? new msgpackParser.Encoder().encode(packet) : new sio.Encoder().encode(packet);
  } catch (e) {
    return { encode_error: String(e && e.message ? e.message : e) };
  }
  return { encoded: encoded.map(toMessage) };
}

function runOp(req) {
  if (req === null || typeof req !== "object" || Array.isArray(req)) throw new Error("request must be a JSON object");
  switch (req.op) {
    case "decode":
      return decode(req);
    case "encode":
      return encode(req);
    default:
      throw new Error(`unknown op ${JSON.stringify(req.op)}`);
  }
}

function handleLine(line) {
  try {
    return JSON.stringify(runOp(JSON.parse(line)));
  } catch (e) {
    return JSON.stringify({ helper_error: String(e && e.message ? e.message : e) });
  }
}

function main() {
  // Answers every complete line of each stdin chunk with one write, so it works both for
  // one big batch and for a request/response dialogue over a pipe.
  let pending = "";
  const flush = (text, final) => {
    const lines = text.split("\n");
    const rest = final ? "" : lines.pop();
    const out = [];
    for (let line of lines) {
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line.trim() === "") continue;
      out.push(handleLine(line) + "\n");
    }
    if (out.length) process.stdout.write(out.join(""));
    return rest;
  };
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => {
    pending = flush(pending + chunk, false);
  });
  process.stdin.on("end", () => {
    flush(pending, true);
  });
}

module.exports = { DEVIATION, runOp, canon, canonPacket, headerDeviation, msgpackProblem };

if (require.main === module) main();
