//! Differential test against the reference `engine.io-parser`: thousands of random
//! operations (packets of every type, multi-byte text, binary of many sizes, payloads, and
//! garbage for the decoders) are answered by our batch protocol in-process and by
//! `node/diff-engineio.js` in one batch, and the answers must be byte-identical, except where
//! the reference marks its lenient base64 (there we must reject with `InvalidBase64`).
//!
//! Needs Node.js and `npm ci` in `conformance/node`; without them the test is skipped with
//! a message, unless `CI` is set, where it fails.

use std::time::Instant;

use base64::Engine as _;
use conformance::{eio, node};
use engineio_proto::{PacketType, WsMessage};
use serde_json::{Value, json};

const OPERATIONS: usize = 5000;
const SEED: u64 = 0x5eed_0e10_c0de;

#[test]
fn random_operations_agree_with_the_reference_parser() {
    if !node::ready("engineio differential test", &["engine.io-parser"]) {
        return;
    }
    let helper = node::dir().join("diff-engineio.js");

    let mut rng = Rng(SEED);
    let requests: Vec<String> = (0..OPERATIONS)
        .map(|_| random_request(&mut rng).to_string())
        .collect();

    let started = Instant::now();
    let ours: Vec<String> = requests.iter().map(|r| eio::batch_response(r)).collect();
    let theirs = node::run_batch(&helper, &[], &requests);
    assert_eq!(
        theirs.len(),
        requests.len(),
        "diff-engineio.js answered {} lines for {} requests",
        theirs.len(),
        requests.len()
    );

    let mut failures = Vec::new();
    let mut deviations = 0;
    for ((request, ours), theirs) in requests.iter().zip(&ours).zip(&theirs) {
        let reference: Value = serde_json::from_str(theirs).expect("the helper prints JSON");
        if let Some(message) = reference.get("helper_error") {
            failures.push(format!("{request}\n    helper error: {message}"));
        } else if reference.get("deviation").is_some() {
            deviations += 1;
            if let Err(why) = check_deviation(request, &reference) {
                failures.push(format!("{request}\n    deviation: {why}"));
            }
        } else if ours != theirs {
            failures.push(format!(
                "{request}\n    expected {theirs}\n    got      {ours}"
            ));
        }
    }
    eprintln!(
        "compared {} operations with engine.io-parser ({deviations} lenient-base64 deviations) in {:.2?}",
        requests.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} operations disagree with the reference:\n{}",
        failures.len(),
        requests.len(),
        failures.join("\n")
    );
    assert!(deviations > 0, "no lenient base64 was generated");
}

/// Checks a line the reference marks as lenient base64: our decoder must reject it.
fn check_deviation(request: &str, reference: &Value) -> Result<(), String> {
    let request: Value = serde_json::from_str(request).map_err(|e| e.to_string())?;
    let input = &request["input"];
    match request["op"].as_str() {
        Some("decode_packet") => {
            let input = eio::JsonData::from_value(input).map_err(|e| e.to_string())?;
            eio::check_packet_deviation(&input.to_ws())
        }
        Some("decode_payload") => {
            let input = input.as_str().ok_or("payload input is not a string")?;
            eio::check_payload_deviation(input, &reference["decoded"])
        }
        _ => Err("a deviation on an encode operation".to_owned()),
    }
}

/// splitmix64: small, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    fn percent(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A length, mostly short, sometimes long.
    fn len(&mut self) -> usize {
        match self.below(10) {
            0 => 0,
            1..=6 => self.below(16),
            7 | 8 => self.below(200),
            _ => self.below(3000),
        }
    }

    fn bytes(&mut self) -> Vec<u8> {
        let n = self.len();
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// Any Unicode scalar value, weighted towards ASCII and the characters that matter
    /// here (separators, escapes, type characters), with 2-, 3- and 4-byte UTF-8.
    fn char(&mut self) -> char {
        let code = match self.below(20) {
            0..=7 => 0x20 + self.below(0x5f) as u32,
            8 => *self.pick(&[0x1e, 0x0a, 0x0d, 0x00, 0x09, 0x22, 0x5c, 0x7f, 0x1f]),
            9 => *self.pick(&[0x30, 0x34, 0x36, 0x37, 0x62, 0x3d, 0x2b, 0x2f]),
            10..=12 => 0x80 + self.below(0x780) as u32,
            13..=16 => {
                // 3 bytes, skipping the surrogates D800–DFFF
                let c = 0x800 + self.below(0xf800 - 0x800) as u32;
                if c >= 0xd800 { c + 0x800 } else { c }
            }
            17 => *self.pick(&[0x2028, 0x2029, 0xfeff, 0xfffd, 0xffff, 0x20ac, 0xff14]),
            _ => 0x1_0000 + self.below(0x10_0000) as u32,
        };
        char::from_u32(code).expect("a scalar value")
    }

    fn text(&mut self) -> String {
        let n = self.len();
        (0..n).map(|_| self.char()).collect()
    }

    /// Text that looks like base64: mostly the alphabet, with padding, base64url and
    /// other characters in odd places.
    fn base64ish(&mut self) -> String {
        if self.percent(40) {
            // A real encoding, then maybe damaged.
            let bytes = self.bytes();
            let mut s = if self.percent(50) {
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            } else {
                base64::engine::general_purpose::STANDARD_NO_PAD.encode(&bytes)
            };
            if self.percent(50) && !s.is_empty() {
                let at = self.below(s.len() + 1);
                let damage = *self.pick(&["=", "==", "-", "_", " ", "!", "\u{1e}", "é", ""]);
                s.insert_str(at, damage);
            }
            if self.percent(20) {
                s.pop();
            }
            return s;
        }
        const CHARS: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/+/====-_ .\x1e";
        let n = self.below(24);
        (0..n)
            .map(|_| {
                if self.percent(3) {
                    self.char()
                } else {
                    char::from(*self.pick(CHARS))
                }
            })
            .collect()
    }

    fn packet(&mut self) -> Value {
        let packet_type = self.pick(&PacketType::ALL).name();
        let data = match self.below(10) {
            0 | 1 => None,
            2 => Some(json!("")),
            3 | 4 if packet_type == "message" => Some(json!({"binary_hex": hex(&self.bytes())})),
            5 if packet_type == "message" => Some(json!({"binary_hex": ""})),
            _ => Some(Value::String(self.text())),
        };
        match data {
            Some(data) => json!({"type": packet_type, "data": data}),
            None => json!({"type": packet_type}),
        }
    }

    fn packets(&mut self) -> Vec<Value> {
        let n = 1 + self.below(10);
        (0..n).map(|_| self.packet()).collect()
    }

    /// One record of a payload (or one text packet), often malformed.
    fn record(&mut self) -> String {
        match self.below(12) {
            0..=3 => encode_text(&self.packet()),
            4 | 5 => format!("b{}", self.base64ish()),
            6 => String::new(),
            7 => format!("{}{}", self.below(10), self.text()),
            8 => self.text(),
            9 => format!("{}{}", self.char(), self.text()),
            10 => (*self.pick(&[
                "b", "4", "2probe", "3probe", "5", "6", "0{}", "7", "9x", "B",
            ]))
            .to_owned(),
            _ => format!("{}\u{1e}", self.pick(&["4", "b", "", "6"])),
        }
    }

    fn payload(&mut self) -> String {
        let n = 1 + self.below(6);
        let mut s: String = (0..n)
            .map(|_| self.record())
            .collect::<Vec<_>>()
            .join("\u{1e}");
        if self.percent(10) {
            s.insert(0, '\u{1e}');
        }
        if self.percent(10) {
            s.push('\u{1e}');
        }
        if self.percent(10) && !s.is_empty() {
            let at = self.below(s.len());
            if s.is_char_boundary(at) {
                s.insert_str(at, "\u{1e}\u{1e}");
            }
        }
        s
    }
}

fn hex(bytes: &[u8]) -> String {
    conformance::hex::encode(bytes)
}

/// Our text encoding of a canonical packet (only valid packets are generated).
fn encode_text(packet: &Value) -> String {
    let packet = eio::packet_from_value(packet).expect("generated packets are valid");
    packet.to_text().to_string()
}

fn encode_payload(packets: &[Value]) -> String {
    let packets: Vec<_> = packets
        .iter()
        .map(|p| eio::packet_from_value(p).expect("generated packets are valid"))
        .collect();
    eio::encode_payload(&packets)
}

fn random_request(rng: &mut Rng) -> Value {
    match rng.below(20) {
        0..=3 => {
            json!({"op": "encode_packet", "packet": rng.packet(), "supportsBinary": rng.percent(50)})
        }
        4..=6 => json!({"op": "encode_payload", "packets": rng.packets()}),
        7 | 8 => json!({"op": "decode_packet", "input": encode_text(&rng.packet())}),
        9 => {
            let input = eio::JsonData::from_ws(&WsMessage::Binary(rng.bytes().into()));
            json!({"op": "decode_packet", "input": input.to_value()})
        }
        10..=12 => json!({"op": "decode_packet", "input": rng.record()}),
        13 | 14 => json!({"op": "decode_payload", "input": encode_payload(&rng.packets())}),
        _ => json!({"op": "decode_payload", "input": rng.payload()}),
    }
}
