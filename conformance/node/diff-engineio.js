#!/usr/bin/env node
// Differential helper: runs the official engine.io-parser (the version pinned in
// package-lock.json) on requests read as JSON lines from stdin and prints one JSON
// line per request, in the fixture formats of ../fixtures/engineio/ (see ../README.md).
//
// Requests (one JSON object per line; blank lines are ignored and produce no output):
//   {"op": "decode_packet",  "input": "<text>" | {"binary_hex": "..."}}
//   {"op": "decode_payload", "input": "<text>"}
//   {"op": "encode_packet",  "packet": {"type": "message", "data"?: "<text>" | {"binary_hex": "..."}}, "supportsBinary": true}
//   {"op": "encode_payload", "packets": [<packet>, ...]}
// Responses:
//   {"decoded": <packet-or-error>}                 (decode_packet)
//   {"decoded": [<packet-or-error>, ...]}          (decode_payload)
//   ... plus "deviation": "<reason>" when the fixture rule for lenient base64 applies
//   {"encoded": "<text>" | {"binary_hex": "..."}} (encode_packet)
//   {"encoded": "<text>"}                          (encode_payload; null if the reference
//                                                   never calls back, i.e. for [])
//   {"helper_error": "<message>"}                  (the request itself was malformed)
//
// This file is also a module: gen-engineio.js uses the same functions, so the helper and
// the committed fixtures can never disagree about the format.
"use strict";

const eio = require("engine.io-parser");

const B64_DEVIATION = "invalid base64: the reference decodes leniently, we reject";
// what our (strict) Rust decoder accepts after the "b" prefix
const STRICT_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
const SEPARATOR = "\x1e";
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

function isBinary(d) {
  return d instanceof ArrayBuffer || ArrayBuffer.isView(d);
}

// bytes of any binary value (respects the offset/length of typed-array views)
function bytesOf(d) {
  if (d instanceof ArrayBuffer) return Buffer.from(d);
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

function showData(d) {
  return isBinary(d) ? { binary_hex: bytesOf(d).toString("hex") } : d;
}

function fromData(d, what) {
  if (typeof d === "string") return d;
  if (d !== null && typeof d === "object" && typeof d.binary_hex === "string") {
    if (!HEX.test(d.binary_hex)) throw new Error(`${what}: binary_hex is not an even-length hex string`);
    return Buffer.from(d.binary_hex, "hex");
  }
  throw new Error(`${what}: expected a string or {"binary_hex": ...}`);
}

// fixture packet -> packet object given to the reference encoder
function toPacket(p, what) {
  if (p === null || typeof p !== "object" || Array.isArray(p)) throw new Error(`${what}: expected a packet object`);
  if (typeof p.type !== "string") throw new Error(`${what}: "type" must be a string`);
  const out = { type: p.type };
  if (Object.prototype.hasOwnProperty.call(p, "data")) out.data = fromData(p.data, `${what}.data`);
  return out;
}

// reference packet -> fixture value: {"type", "data"?} or {"error"}
function showDecoded(p) {
  if (p.type === "error") return { error: p.data };
  const out = { type: p.type };
  if (p.data !== undefined) out.data = showData(p.data);
  return out;
}

function badBase64(text) {
  return text.charAt(0) === "b" && !STRICT_B64.test(text.slice(1));
}

function decodePacket(input) {
  const raw = fromData(input, "input");
  const res = { decoded: showDecoded(eio.decodePacket(raw, "nodebuffer")) };
  if (typeof raw === "string" && badBase64(raw)) res.deviation = B64_DEVIATION;
  return res;
}

function decodePayload(input) {
  if (typeof input !== "string") throw new Error("input: decode_payload takes a string");
  const decoded = eio.decodePayload(input, "nodebuffer");
  const parts = input.split(SEPARATOR);
  // decodePayload stops after the first error, so decoded[i] comes from parts[i]
  const res = { decoded: decoded.map(showDecoded) };
  if (decoded.some((_, i) => badBase64(parts[i]))) res.deviation = B64_DEVIATION;
  return res;
}

function encodePacket(packet, supportsBinary) {
  if (typeof supportsBinary !== "boolean") throw new Error('"supportsBinary" must be a boolean');
  let encoded = null;
  eio.encodePacket(toPacket(packet, "packet"), supportsBinary, (e) => (encoded = showData(e)));
  return { encoded };
}

function encodePayload(packets) {
  if (!Array.isArray(packets)) throw new Error('"packets" must be an array');
  let encoded = null; // the reference never calls back for an empty array
  eio.encodePayload(packets.map((p, i) => toPacket(p, `packets[${i}]`)), (e) => (encoded = e));
  return { encoded };
}

function runOp(req) {
  if (req === null || typeof req !== "object") throw new Error("request must be a JSON object");
  switch (req.op) {
    case "decode_packet":
      return decodePacket(req.input);
    case "decode_payload":
      return decodePayload(req.input);
    case "encode_packet":
      return encodePacket(req.packet, req.supportsBinary);
    case "encode_payload":
      return encodePayload(req.packets);
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
  // Streams: answers every complete line of each stdin chunk with one write, so it works
  // both for one big batch and for a request/response dialogue over a pipe.
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

module.exports = {
  B64_DEVIATION,
  STRICT_B64,
  runOp,
  showData,
  showDecoded,
  decodePacket,
  decodePayload,
  encodePacket,
  encodePayload,
};

if (require.main === module) main();
