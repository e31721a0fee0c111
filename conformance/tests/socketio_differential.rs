//! Differential test against the reference Socket.IO parsers: thousands of random operations
//! per parser (packets of every type with namespaces, ack ids, nested JSON with unicode and
//! numbers, 0–10 binary attachments for the default parser and inline binary for msgpack;
//! and damaged or random input for the decoders) are answered by our batch protocol
//! in-process and by ONE `node/diff-socketio.js` process per parser, in one batch. The
//! answers must agree, except where the reference marks a `deviation` (an input we reject by
//! design): there our decoder must give the reference's packets up to that input, then fail
//! at it with the typed error of the deviation.
//!
//! Decoded values are compared as JavaScript values (numbers as JavaScript numbers, object
//! keys in any order), encoded messages byte for byte. A msgpack packet's data is also
//! compared as the application reads it through serde (`view`: `undefined` dropped from
//! objects and null in arrays, dates as ISO strings, extensions as `[type, bytes]`) with what
//! `JSON.stringify` shows of the reference's. Error messages must be the reference's
//! exactly, except for the msgpack parser where the reference's error does not come from
//! `checkPacket` (`notepack.io`'s own errors, or a text message given to it): there both only
//! have to fail.
//!
//! Needs Node.js and `npm ci` in `conformance/node`; without them the test is skipped with a
//! message, unless `CI` is set, where it fails.

use std::collections::BTreeMap;
use std::time::Instant;

use conformance::{node, sio};
use serde_json::{Map, Value, json};
use socketio_proto::canonical::canonicalize;
use socketio_proto::{DecoderConfig, ParserKind};

/// Operations per parser.
const OPERATIONS: usize = 3000;
const SEED: u64 = 0x50c3_e710_d1ff;

#[test]
fn default_parser_agrees_with_socket_io_parser() {
    run(ParserKind::Default);
}

#[test]
fn msgpack_parser_agrees_with_socket_io_msgpack_parser() {
    run(ParserKind::MsgPack);
}

fn run(parser: ParserKind) {
    let packages = [
        "socket.io-parser",
        "socket.io-msgpack-parser",
        "notepack.io",
    ];
    if !node::ready("socketio differential test", &packages) {
        return;
    }
    let helper = node::dir().join("diff-socketio.js");
    let started = Instant::now();
    let mut rng = Rng(SEED ^ u64::from(parser == ParserKind::MsgPack));
    let requests: Vec<String> = (0..OPERATIONS)
        .map(|_| {
            let request = match parser {
                ParserKind::MsgPack => msgpack_request(&mut rng),
                _ => default_request(&mut rng),
            };
            request.to_string()
        })
        .collect();
    let ours: Vec<String> = requests
        .iter()
        .map(|r| sio::batch_response(parser, r))
        .collect();
    let args: &[&str] = match parser {
        ParserKind::MsgPack => &["--msgpack"],
        _ => &[],
    };
    let theirs = node::run_batch(&helper, args, &requests);
    assert_eq!(
        theirs.len(),
        requests.len(),
        "diff-socketio.js answered {} lines for {} requests",
        theirs.len(),
        requests.len()
    );

    let mut stats = Stats::default();
    let mut failures = Vec::new();
    for ((request, ours), theirs) in requests.iter().zip(&ours).zip(&theirs) {
        if let Err(why) = compare(parser, request, ours, theirs, &mut stats) {
            failures.push(format!(
                "{}\n    {why}\n    {}",
                clip(request, 400),
                first_difference(theirs, ours)
            ));
        }
    }
    let name = sio::parser_name(parser);
    eprintln!(
        "socketio differential ({name} parser): compared {} operations ({} encode, {} decode: \
         {} with packets, {} errors) in {:.2?}; {} identical lines; {} deviations {:?}",
        requests.len(),
        stats.encode,
        stats.decode,
        stats.decoded_packets,
        stats.errors,
        started.elapsed(),
        stats.identical,
        stats.deviations.values().sum::<usize>(),
        stats.deviations
    );
    assert!(
        failures.is_empty(),
        "{} of {} operations disagree with the reference ({name} parser):\n{}",
        failures.len(),
        requests.len(),
        failures.join("\n")
    );
    assert!(stats.encode > OPERATIONS / 5, "too few encode operations");
    assert!(stats.errors > OPERATIONS / 10, "too few decode errors");
    assert!(
        stats.decoded_packets > OPERATIONS / 5,
        "too few decoded packets"
    );
    assert!(
        stats.deviations.len() >= 3,
        "too few kinds of deviations: {:?}",
        stats.deviations
    );
}

#[derive(Default)]
struct Stats {
    encode: usize,
    decode: usize,
    decoded_packets: usize,
    errors: usize,
    identical: usize,
    deviations: BTreeMap<String, usize>,
}

/// The errors the msgpack reference throws from `checkPacket`, which we must match exactly.
const CHECK_PACKET: [&str; 4] = [
    "invalid packet type",
    "invalid namespace",
    "invalid payload",
    "invalid packet id",
];

fn compare(
    parser: ParserKind,
    request: &str,
    ours: &str,
    theirs: &str,
    stats: &mut Stats,
) -> Result<(), String> {
    let request: Value = serde_json::from_str(request).map_err(|e| e.to_string())?;
    if theirs.starts_with(r#"{"helper_error""#) {
        return Err("the Node helper refused the request".into());
    }
    let encode = request["op"] == "encode";
    if ours == theirs {
        // Byte-identical. (The values are not always readable back: serde_json stops at 128
        // levels, and a payload of 127 levels is valid.)
        stats.identical += 1;
        if encode {
            stats.encode += 1;
        } else {
            stats.decode += 1;
            stats.decoded_packets += usize::from(!theirs.starts_with(r#"{"decoded":[]"#));
            stats.errors += usize::from(
                serde_json::from_str::<Value>(theirs).is_ok_and(|r| r.get("error").is_some()),
            );
        }
        return Ok(());
    }
    let reference: Value = serde_json::from_str(theirs).map_err(|e| e.to_string())?;
    let answer: Value = serde_json::from_str(ours).map_err(|e| e.to_string())?;
    if encode {
        stats.encode += 1;
        if answer.get("encoded").is_none() || answer != reference {
            return Err("encodings differ".into());
        }
        return Ok(());
    }
    stats.decode += 1;
    let inputs = sio::messages_from_value(&request["inputs"]).map_err(|e| e.to_string())?;
    if let Some(reason) = reference.get("deviation").and_then(Value::as_str) {
        // Our typed error, at the input the reference marks, after the same packets.
        let mut config = DecoderConfig::default();
        if let Some(max) = request.get("max_attachments").and_then(Value::as_u64) {
            config = config.max_attachments(max as usize);
        }
        let run = sio::decode_messages(parser, config, inputs);
        let at = reference["deviation_at"]
            .as_u64()
            .ok_or("no deviation_at")? as usize;
        let before: Vec<Value> = run.packets.iter().map(sio::packet_to_value).collect();
        if canonical(&Value::Array(before)) != canonical(&reference["decoded"]) {
            return Err(format!(
                "deviation ({reason}): the packets before it differ"
            ));
        }
        match &run.error {
            Some(f) if f.at == at && sio::is_deviation_error(reason, &f.error) == Some(true) => {
                *stats.deviations.entry(reason.to_owned()).or_default() += 1;
                return Ok(());
            }
            other => {
                return Err(format!(
                    "deviation ({reason}) at input {at}: expected its typed error, got {other:?}"
                ));
            }
        }
    }
    if canonical(&answer["decoded"]) != canonical(&reference["decoded"]) {
        return Err("decoded packets differ".into());
    }
    stats.decoded_packets +=
        usize::from(answer["decoded"].as_array().is_some_and(|a| !a.is_empty()));
    match (answer.get("error"), reference.get("error")) {
        (None, None) => Ok(()),
        (Some(ours), Some(theirs)) => {
            stats.errors += 1;
            if ours == theirs {
                return Ok(());
            }
            if parser == ParserKind::MsgPack {
                // One packet per message: the reference failed at the first input it did not
                // decode.
                let at = reference["decoded"].as_array().map_or(0, Vec::len);
                let binary = request["inputs"][at].is_object();
                let from_check = theirs.as_str().is_some_and(|t| CHECK_PACKET.contains(&t));
                if !(binary && from_check) {
                    return Ok(());
                }
            }
            Err("error messages differ".into())
        }
        _ => Err("one side failed, the other did not".into()),
    }
}

/// `text`, cut to about `max` bytes.
fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

/// Where two answer lines first differ, with some context.
fn first_difference(reference: &str, ours: &str) -> String {
    let at = reference
        .char_indices()
        .zip(ours.chars())
        .find(|((_, a), b)| a != b)
        .map_or_else(|| reference.len().min(ours.len()), |((i, _), _)| i);
    let mut start = at.saturating_sub(120);
    while !reference.is_char_boundary(start) || !ours.is_char_boundary(start) {
        start -= 1;
    }
    format!(
        "reference …{}\n    ours      …{}",
        clip(&reference[start..], 300),
        clip(&ours[start..], 300)
    )
}

fn canonical(v: &Value) -> Value {
    canonicalize(v)
}

// ---------------------------------------------------------------------------------------
// random values

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

    fn percent(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// Any Unicode scalar value, weighted towards ASCII and the characters that matter here.
    fn char(&mut self) -> char {
        let code = match self.below(20) {
            0..=8 => 0x20 + self.below(0x5f) as u32,
            9 => *self.pick(&[
                0x00, 0x0a, 0x0d, 0x09, 0x22, 0x5c, 0x7f, 0x1f, 0x2c, 0x2f, 0x2d,
            ]),
            10..=12 => 0x80 + self.below(0x780) as u32,
            13..=15 => {
                let c = 0x800 + self.below(0xf800 - 0x800) as u32;
                if c >= 0xd800 { c + 0x800 } else { c }
            }
            16 => *self.pick(&[0x2028, 0x2029, 0xfeff, 0xfffd, 0xffff, 0x20ac, 0xa0, 0x3000]),
            _ => 0x1_0000 + self.below(0x10_0000) as u32,
        };
        char::from_u32(code).expect("a scalar value")
    }

    fn text(&mut self, max: usize) -> String {
        let n = self.below(max + 1);
        (0..n).map(|_| self.char()).collect()
    }

    fn string(&mut self) -> String {
        if self.percent(50) {
            (*self.pick(&[
                "",
                "a",
                "hello",
                "message",
                "chat:msg",
                "é",
                "日本語",
                "😀",
                "\u{2028}",
                "quote\"",
                "back\\slash",
                "new\nline",
                "\u{0}",
                "comma,",
                "/slash",
                "42",
                "_placeholder",
                "connect",
                "binary_hex",
            ]))
            .to_owned()
        } else {
            self.text(12)
        }
    }

    /// A JavaScript number. With `msgpack`, none beyond ±9.2e18: `notepack.io` writes every
    /// double of 2^64 or more as an integer, wrapped (1e300 is uint64 0; see the README),
    /// and our encoder writes doubles from 9.2e18 on as floats.
    fn number(&mut self, msgpack: bool) -> f64 {
        let x = match self.below(8) {
            0..=2 => (self.below(2000) as f64) - 1000.0,
            3 => *self.pick(&[
                0.0,
                -0.0,
                127.0,
                128.0,
                255.0,
                256.0,
                65535.0,
                65536.0,
                -32.0,
                -33.0,
                -128.0,
                -129.0,
                2147483647.0,
                -2147483649.0,
                4294967296.0,
                9007199254740991.0,
                -9007199254740991.0,
                9007199254740992.0,
                1e21,
                1e-7,
                1.5,
                0.1,
                -0.25,
                123.456,
                1e300,
                5e-324,
                1.7976931348623157e308,
                1152921504606846976.0,
                1e18,
                12345678901234567890.0,
            ]),
            4 => (self.next() % (1 << 53)) as f64 * if self.percent(50) { 1.0 } else { -1.0 },
            5 => (self.below(100_000) as f64) / 100.0,
            _ => loop {
                let f = f64::from_bits(self.next());
                if f.is_finite() {
                    break f;
                }
            },
        };
        if msgpack && x.abs() >= 9.2e18 {
            return (x % 9.0e18).trunc();
        }
        x
    }

    /// An object key. `__proto__` only for JSON: `notepack.io` decodes it as a prototype,
    /// not as a key.
    fn key(&mut self, msgpack: bool) -> String {
        if self.percent(70) {
            let key = *self.pick(&[
                "a",
                "b",
                "message",
                "data",
                "sid",
                "token",
                "1",
                "10",
                "2",
                "0",
                "é",
                "日本",
                "",
                "num",
                "_placeholder",
                "__proto__",
                "toString",
                "01",
                "4294967295",
            ]);
            if msgpack && key == "__proto__" {
                "proto".to_owned()
            } else {
                key.to_owned()
            }
        } else {
            self.text(6)
        }
    }

    /// A JSON value, nested at most `depth` more levels.
    fn value(&mut self, depth: usize, msgpack: bool) -> Value {
        match self.below(if depth == 0 { 5 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(self.percent(50)),
            2 => js_number(self.number(msgpack)),
            3 | 4 => Value::String(self.string()),
            5 => {
                let n = self.below(5);
                Value::Array((0..n).map(|_| self.value(depth - 1, msgpack)).collect())
            }
            _ => {
                let n = self.below(5);
                let mut m = Map::new();
                for _ in 0..n {
                    m.insert(self.key(msgpack), self.value(depth - 1, msgpack));
                }
                Value::Object(m)
            }
        }
    }

    fn binary(&mut self) -> Value {
        let n = *self.pick(&[0, 1, 2, 5, 64, 300, 1024, 3000]);
        json!({"binary_hex": conformance::hex::encode(&self.bytes(n))})
    }

    /// Puts `count` binary values at random places of `args`.
    fn sprinkle_binary(&mut self, args: &mut Vec<Value>, count: usize, msgpack: bool) {
        for _ in 0..count {
            let bin = self.binary();
            match self.below(4) {
                0 | 1 => {
                    let at = self
                        .below(args.len() + 1)
                        .max(usize::from(!args.is_empty()));
                    args.insert(at.min(args.len()), bin);
                }
                2 => args.push(json!({"nested": [self.string(), bin]})),
                _ => args.push(json!({ self.key(msgpack): {"deep": bin} })),
            }
        }
    }

    fn namespace(&mut self) -> String {
        match self.below(10) {
            0..=4 => "/".to_owned(),
            5 => (*self.pick(&[
                "/admin",
                "/a/b",
                "/x?y=1",
                "/日本",
                "/with space",
                "/😀",
                "/-_.~",
            ]))
            .to_owned(),
            _ => format!("/{}", self.text(8).replace(',', "")),
        }
    }

    fn id(&mut self) -> u64 {
        match self.below(4) {
            0 => self.below(10) as u64,
            1 => self.below(100_000) as u64,
            2 => *self.pick(&[2147483647, 4294967296, 9007199254740991]),
            _ => self.next() % (1 << 53),
        }
    }

    /// A canonical packet; `binaries` binary values in EVENT/ACK arguments (any data for
    /// msgpack).
    fn packet(&mut self, msgpack: bool, binaries: usize) -> Value {
        let kind = self.below(5) as u64;
        let mut m = Map::new();
        m.insert("type".into(), Value::from(kind));
        m.insert("nsp".into(), Value::String(self.namespace()));
        let with_id = match kind {
            2 => self.percent(40),
            3 => self.percent(95),
            _ => self.percent(3),
        };
        if with_id {
            m.insert("id".into(), Value::from(self.id()));
        }
        let data = match kind {
            0 => self.percent(60).then(|| self.object(msgpack)),
            1 => self.percent(3).then(|| self.value(2, msgpack)),
            2 | 3 => {
                let mut args = Vec::new();
                if kind == 2 {
                    args.push(match self.below(10) {
                        0 => js_number(self.number(msgpack)),
                        _ => Value::String(self.string()),
                    });
                }
                for _ in 0..self.below(4) {
                    args.push(self.value(3, msgpack));
                }
                self.sprinkle_binary(&mut args, binaries, msgpack);
                Some(Value::Array(args))
            }
            _ => Some(match self.below(3) {
                0 => Value::String(self.string()),
                1 => json!({"message": self.string()}),
                _ => json!({"message": self.string(), "data": self.value(3, msgpack)}),
            }),
        };
        if let Some(mut data) = data {
            if msgpack && binaries > 0 && kind != 2 && kind != 3 {
                if let Value::Object(o) = &mut data {
                    o.insert("bin".into(), self.binary());
                }
            }
            m.insert("data".into(), data);
        }
        Value::Object(m)
    }

    fn object(&mut self, msgpack: bool) -> Value {
        let mut m = Map::new();
        for _ in 0..self.below(4) {
            m.insert(self.key(msgpack), self.value(2, msgpack));
        }
        Value::Object(m)
    }

    fn attachments(&mut self) -> usize {
        *self.pick(&[0, 0, 0, 0, 1, 1, 2, 3, 5, 10])
    }
}

/// A JavaScript number as canonical JSON.
fn js_number(x: f64) -> Value {
    socketio_proto::canonical::canonical_number(x)
}

/// Our encoding of a canonical packet (only valid packets are generated).
fn encode(parser: ParserKind, packet: &Value) -> Vec<Value> {
    let p = sio::packet_from_value(parser, packet).expect("a generated packet is valid");
    sio::encode_packet(parser, &p)
        .expect("a generated packet encodes")
        .iter()
        .map(sio::message_to_value)
        .collect()
}

// ---------------------------------------------------------------------------------------
// the default parser

fn default_request(rng: &mut Rng) -> Value {
    match rng.below(20) {
        0..=6 => {
            let binaries = rng.attachments();
            let mut packet = rng.packet(false, binaries);
            if binaries > 0 {
                // The reference's deconstructPacket copies objects by assignment, where a
                // "__proto__" key sets the prototype instead: the key disappears. A quirk of
                // JavaScript objects, not of the protocol.
                strip_proto(&mut packet);
            }
            json!({"op": "encode", "packet": packet})
        }
        7..=10 => json!({"op": "decode", "inputs": valid_default_inputs(rng)}),
        11..=18 => {
            let mut inputs = valid_default_inputs(rng);
            damage_default(rng, &mut inputs);
            let mut request = json!({"op": "decode", "inputs": inputs});
            if rng.percent(5) {
                request["max_attachments"] = Value::from(rng.below(4));
            }
            request
        }
        _ => {
            // several packets through one decoder
            let mut inputs = Vec::new();
            for _ in 0..2 + rng.below(3) {
                inputs.extend(valid_default_inputs(rng));
            }
            if rng.percent(30) {
                damage_default(rng, &mut inputs);
            }
            json!({"op": "decode", "inputs": inputs})
        }
    }
}

/// A valid message sequence for one packet: our encoding, or the same packet written in
/// another valid way (JSON whitespace, escapes and number forms, placeholders numbered in
/// another order, no trailing comma, leading zeros in the ack id).
fn valid_default_inputs(rng: &mut Rng) -> Vec<Value> {
    let binaries = rng.attachments();
    let packet = rng.packet(false, binaries);
    if rng.percent(40) {
        return encode(ParserKind::Default, &packet);
    }
    let kind = packet["type"].as_u64().unwrap_or(0);
    // Placeholders numbered in another order: attachments travel in `num` order.
    let count = packet.get("data").map_or(0, count_binaries);
    let mut order: Vec<usize> = (0..count).collect();
    if rng.percent(50) {
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
    }
    let mut attachments = Vec::new();
    let data = packet.get("data").map(|d| {
        let d = with_placeholders(rng, d, &order, &mut attachments);
        let mut text = String::new();
        write_json(rng, &d, &mut text);
        // Whitespace before the JSON would be read as an ack id (a deviation).
        text.trim_start_matches([' ', '\t', '\n', '\r']).to_owned()
    });
    let mut header = String::new();
    let binary = !attachments.is_empty();
    header.push(char::from(b'0' + kind as u8 + if binary { 3 } else { 0 }));
    if binary {
        header.push_str(&format!("{}-", attachments.len()));
    }
    let nsp = packet["nsp"].as_str().unwrap_or("/");
    let id = packet.get("id").and_then(Value::as_u64);
    if nsp != "/" {
        header.push_str(nsp);
        if id.is_some() || data.is_some() || rng.percent(50) {
            header.push(',');
        }
    }
    if let Some(id) = id {
        if rng.percent(10) {
            header.push_str("00");
        }
        header.push_str(&id.to_string());
    }
    if let Some(data) = data {
        header.push_str(&data);
    }
    let mut inputs = vec![Value::String(header)];
    let mut by_num = vec![Value::Null; attachments.len()];
    for (j, bin) in attachments.into_iter().enumerate() {
        by_num[order[j]] = bin;
    }
    inputs.extend(by_num);
    inputs
}

fn strip_proto(v: &mut Value) {
    match v {
        Value::Array(a) => a.iter_mut().for_each(strip_proto),
        Value::Object(o) => {
            o.shift_remove("__proto__");
            o.values_mut().for_each(strip_proto);
        }
        _ => {}
    }
}

fn count_binaries(v: &Value) -> usize {
    match v {
        Value::Object(o) if o.len() == 1 && o.contains_key("binary_hex") => 1,
        Value::Array(a) => a.iter().map(count_binaries).sum(),
        Value::Object(o) => o.values().map(count_binaries).sum(),
        _ => 0,
    }
}

/// Replaces the `j`-th `{"binary_hex"}` (in traversal order) by a placeholder numbered
/// `order[j]`, collecting the binaries in traversal order.
fn with_placeholders(rng: &mut Rng, v: &Value, order: &[usize], out: &mut Vec<Value>) -> Value {
    match v {
        Value::Object(o) if o.len() == 1 && o.contains_key("binary_hex") => {
            let num = order[out.len()];
            out.push(v.clone());
            if rng.percent(20) {
                json!({"num": num, "_placeholder": true})
            } else {
                json!({"_placeholder": true, "num": num})
            }
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| with_placeholders(rng, x, order, out))
                .collect(),
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), with_placeholders(rng, x, order, out)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Writes JSON with random (valid) whitespace, escapes and number forms.
fn write_json(rng: &mut Rng, v: &Value, out: &mut String) {
    let ws = |rng: &mut Rng, out: &mut String| {
        if rng.percent(8) {
            let pad: &str = rng.pick::<&str>(&[" ", "\t", "\n", "\r", "  "]);
            out.push_str(pad);
        }
    };
    ws(rng, out);
    match v {
        Value::Null | Value::Bool(_) => out.push_str(&v.to_string()),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            let text = match rng.below(6) {
                0 if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.1}"),
                1 => format!("{x:e}"),
                2 => format!("{x:E}").replace('E', "E+").replace("E+-", "E-"),
                3 => format!("{x}"),
                _ => n.to_string(),
            };
            out.push_str(&text);
        }
        Value::String(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c if (c as u32) < 0x20 || rng.percent(5) => {
                        let mut units = [0u16; 2];
                        for u in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{u:04x}"));
                        }
                    }
                    '/' if rng.percent(30) => out.push_str("\\/"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(rng, x, out);
            }
            ws(rng, out);
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, out);
                write_json(rng, &Value::String(k.clone()), out);
                ws(rng, out);
                out.push(':');
                write_json(rng, x, out);
            }
            ws(rng, out);
            out.push('}');
        }
    }
    ws(rng, out);
}

const WHITESPACE: [&str; 8] = [
    " ", "\t", "\n", "\u{a0}", "\u{2028}", "\u{feff}", "\u{3000}", "\u{b}",
];

/// Damages a valid sequence: bad types, namespaces, ack ids, JSON, attachment counts and
/// placeholders, messages out of place.
fn damage_default(rng: &mut Rng, inputs: &mut Vec<Value>) {
    let header = inputs[0].as_str().unwrap_or("").to_owned();
    let binary = header.starts_with('5') || header.starts_with('6');
    let json_at = header.find(['[', '{', '"']).unwrap_or(header.len());
    let mut chars: Vec<char> = header.chars().collect();
    let new_header = match rng.below(16) {
        // the type
        0 => {
            let c = rng.pick(&[
                "7", "8", "9", "a", "B", "-", "/", "\u{ff14}", "😀", "\u{0}", "", "10",
            ]);
            format!("{c}{}", header.get(1..).unwrap_or(""))
        }
        1 => format!("{}{}", rng.pick(&WHITESPACE), header.get(1..).unwrap_or("")),
        // the namespace
        2 => {
            let nsp = rng.pick(&["admin,", "/a,b,", "/", "//", "/,", "/日本,", ",", "/x"]);
            format!("{}{nsp}{}", &header[..1], header.get(1..).unwrap_or(""))
        }
        // the ack id
        3 => {
            let at = json_at.min(header.len());
            let junk = match rng.below(5) {
                0 => (*rng.pick(&WHITESPACE)).to_owned(),
                1 => format!("{}{}", rng.below(100), rng.pick(&WHITESPACE)),
                2 => rng
                    .pick(&[
                        "18446744073709551615",
                        "18446744073709551616",
                        "99999999999999999999999",
                        "0000000000000000000000001",
                    ])
                    .to_string(),
                3 => rng.pick(&["a", "x1", "-1", "1.5", "+1", "1e3"]).to_string(),
                _ => format!("{}{}", rng.pick(&WHITESPACE), rng.below(100)),
            };
            format!("{}{junk}{}", &header[..at], &header[at..])
        }
        // the JSON
        4 => format!(
            "{}{}",
            &header[..json_at],
            rng.pick(&[
                "{}",
                "[]",
                "null",
                "\"s\"",
                "[1]",
                "[true]",
                "[null]",
                "[[\"a\"]]",
                "[\"connect\"]",
                "[\"disconnect\",1]",
                "[\"newListener\"]",
                "[{}]",
                "1",
                "true",
                "[\"a\"",
                "[\"a\"]]",
                "[\"a\"][\"b\"]",
                "[\"a\",]",
                "[\"\\x\"]",
                "[\"\\ud83d\\ude00\"]",
                "[01]",
                "[.5]",
                "[1.]",
                "[-]",
                "[\"a\" \"b\"]",
                "{\"a\"}",
                "[\"a\",{\"_placeholder\":true,\"num\":0}]",
                "[\"a\"]\u{a0}",
                "[\"a\"]\n",
                " [\"a\"]",
            ])
        ),
        5 => {
            // nesting around the limit of 127 levels
            let depth = 118 + rng.below(16);
            format!(
                "{}[\"deep\",{}{}]",
                &header[..json_at],
                "[".repeat(depth - 1),
                "]".repeat(depth - 1)
            )
        }
        6 | 7 => {
            // a random edit anywhere
            if !chars.is_empty() {
                let at = rng.below(chars.len());
                match rng.below(3) {
                    0 => {
                        chars.remove(at);
                    }
                    1 => chars.insert(at, rng.char()),
                    _ => chars[at] = rng.char(),
                }
            }
            chars.iter().collect()
        }
        8 => {
            // truncated
            let keep = rng.below(chars.len() + 1);
            chars[..keep].iter().collect()
        }
        // the attachment count
        9 => {
            let count = rng.pick(&[
                "0",
                "",
                "a",
                "1e0",
                "0x1",
                " 1",
                "1 ",
                "1.0",
                "+1",
                "11",
                "01",
                "99999999999999999999",
                "Infinity",
                "\u{a0}1",
                "1e1",
                "0b1",
            ]);
            let rest = header
                .split_once('-')
                .map_or_else(|| header.get(1..).unwrap_or(""), |(_, r)| r);
            let ty = if binary {
                &header[..1]
            } else {
                *rng.pick(&["5", "6"])
            };
            format!("{ty}{count}-{rest}")
        }
        // placeholders
        10 if binary => {
            let bad = rng.pick(&[
                "{\"_placeholder\":true,\"num\":99}",
                "{\"_placeholder\":true,\"num\":-1}",
                "{\"_placeholder\":true,\"num\":\"0\"}",
                "{\"_placeholder\":true,\"num\":0.5}",
                "{\"_placeholder\":true,\"num\":1.5}",
                "{\"_placeholder\":true}",
                "{\"_placeholder\":false,\"num\":99}",
                "{\"_placeholder\":\"true\",\"num\":99}",
                "{\"_placeholder\":true,\"num\":0,\"_placeholder\":false}",
                "{\"_placeholder\":true,\"num\":{\"_placeholder\":true,\"num\":99}}",
                "{\"_placeholder\":true,\"num\":1e0}",
                "{\"_placeholder\":true,\"num\":null}",
            ]);
            match header.rfind(']') {
                Some(end) if header[..end].ends_with('[') => {
                    format!("{}{bad}{}", &header[..end], &header[end..])
                }
                Some(end) => format!("{},{bad}{}", &header[..end], &header[end..]),
                None => header.clone(),
            }
        }
        // messages out of place (the placeholders stay valid, so both wait alike)
        11 => {
            match rng.below(4) {
                0 if inputs.len() > 1 => {
                    inputs.pop();
                }
                1 => inputs.push(rng.binary()),
                2 => inputs.insert(inputs.len().min(1 + rng.below(2)), json!("2[\"text\"]")),
                _ => inputs.insert(0, rng.binary()),
            }
            return;
        }
        12 => format!("{}{}", rng.below(7), rng.text(20)),
        13 => rng.text(20),
        14 => String::new(),
        _ => {
            // a header with a count that does not match its placeholders
            let n = 1 + rng.below(4);
            let placeholders: Vec<String> = (0..n + rng.below(3))
                .map(|i| format!("{{\"_placeholder\":true,\"num\":{i}}}"))
                .collect();
            inputs.truncate(1);
            for _ in 0..n {
                inputs.push(rng.binary());
            }
            format!("5{n}-[\"x\",{}]", placeholders.join(","))
        }
    };
    inputs[0] = Value::String(new_header);
}

// ---------------------------------------------------------------------------------------
// the msgpack parser

fn msgpack_request(rng: &mut Rng) -> Value {
    match rng.below(20) {
        0..=6 => {
            let binaries = rng.attachments().min(3);
            json!({"op": "encode", "packet": rng.packet(true, binaries)})
        }
        7..=11 => json!({"op": "decode", "inputs": [valid_msgpack_input(rng)]}),
        12..=18 => {
            let mut input = valid_msgpack_input(rng);
            damage_msgpack(rng, &mut input);
            json!({"op": "decode", "inputs": [input]})
        }
        _ => {
            let n = 2 + rng.below(3);
            let mut inputs: Vec<Value> = (0..n).map(|_| valid_msgpack_input(rng)).collect();
            if rng.percent(40) {
                let at = rng.below(n);
                if rng.percent(30) {
                    inputs[at] = json!("2[\"text\"]");
                } else {
                    damage_msgpack(rng, &mut inputs[at]);
                }
            }
            json!({"op": "decode", "inputs": inputs})
        }
    }
}

/// A valid msgpack packet: our encoding, or the same packet written in another valid way
/// (keys in another order, extra and duplicate keys, wider integer and string formats,
/// floats for integers, `undefined`, extensions, dates).
fn valid_msgpack_input(rng: &mut Rng) -> Value {
    let binaries = rng.attachments().min(3);
    let packet = rng.packet(true, binaries);
    if rng.percent(35) {
        return encode(ParserKind::MsgPack, &packet).swap_remove(0);
    }
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let key = |k: &str| mp_encode(&Value::String(k.to_owned()), &mut Rng(0), false);
    let wide = rng.percent(50);
    for name in ["type", "data", "id", "nsp"] {
        let Some(v) = packet.get(name) else {
            if name == "data" && rng.percent(5) {
                entries.push((key("data"), vec![0xd4, 0, 0])); // undefined
            }
            continue;
        };
        let mut value = mp_encode(v, rng, wide);
        if name == "data" && rng.percent(10) {
            if let Value::Array(items) = v {
                // an extension, a date or an ArrayBuffer as an argument
                let mut w = Vec::new();
                mp_array_head(&mut w, items.len() + 1, false);
                for x in items {
                    w.extend(mp_encode(x, rng, wide));
                }
                let ext: &[u8] = rng.pick::<&[u8]>(&[
                    &[0xd5, 0x05, 0x01, 0x02][..],
                    &[0xd7, 0x00, 0, 0, 0x01, 0x8f, 0x0b, 0x5e, 0x4c, 0x00],
                    &[0xc7, 0x03, 0x00, 0xaa, 0xbb, 0xcc],
                    &[0xd4, 0x00, 0x00],
                    &[0xc7, 0x00, 0x07],
                ]);
                w.extend_from_slice(ext);
                value = w;
            }
        }
        if name == "type" && rng.percent(15) {
            value = f64_bytes(v.as_f64().unwrap_or(0.0));
        }
        entries.push((key(name), value));
    }
    if rng.percent(15) {
        entries.push((
            key("options"),
            mp_encode(&json!({"compress": true}), rng, false),
        ));
    }
    if rng.percent(8) {
        // a duplicate key, overridden by the real one after it
        entries.insert(0, (key("type"), vec![0x07]));
    }
    for i in (1..entries.len()).rev() {
        if rng.percent(30) {
            entries.swap(i, rng.below(i + 1));
        }
    }
    // "type" must stay after its decoy
    if let Some(pos) = entries
        .iter()
        .rposition(|(k, v)| *k == key("type") && *v != [0x07])
    {
        if let Some(decoy) = entries
            .iter()
            .position(|(k, v)| *k == key("type") && *v == [0x07])
        {
            if decoy > pos {
                entries.swap(decoy, pos);
            }
        }
    }
    let mut out = Vec::new();
    mp_map_head(&mut out, entries.len(), wide && rng.percent(30));
    for (k, v) in entries {
        out.extend(k);
        out.extend(v);
    }
    bin_value(&out)
}

fn damage_msgpack(rng: &mut Rng, input: &mut Value) {
    let hex = input["binary_hex"].as_str().unwrap_or("").to_owned();
    let mut bytes = conformance::hex::decode(&hex).unwrap_or_default();
    let key = |k: &str| mp_encode(&Value::String(k.to_owned()), &mut Rng(0), false);
    let packet = |rng: &mut Rng,
                  ty: Vec<u8>,
                  data: Option<Vec<u8>>,
                  id: Option<Vec<u8>>,
                  nsp: Option<Vec<u8>>| {
        let _ = rng;
        let mut entries = vec![(key("type"), ty)];
        if let Some(d) = data {
            entries.push((key("data"), d));
        }
        if let Some(i) = id {
            entries.push((key("id"), i));
        }
        if let Some(n) = nsp {
            entries.push((key("nsp"), n));
        }
        let mut out = Vec::new();
        mp_map_head(&mut out, entries.len(), false);
        for (k, v) in entries {
            out.extend(k);
            out.extend(v);
        }
        out
    };
    let slash = key("/");
    let args = mp_encode(&json!(["x", 1]), rng, false);
    bytes = match rng.below(14) {
        0 => {
            let ty = rng
                .pick(&[
                    &[0x05][..],
                    &[0xff],
                    &[0xa1, b'2'],
                    &[0xc0],
                    &[0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0],
                    &[0xc3],
                    &[0x91, 0x02],
                ])
                .to_vec();
            packet(rng, ty, Some(args), None, Some(slash))
        }
        1 => {
            let nsp = rng
                .pick(&[
                    None,
                    Some(vec![0x01]),
                    Some(vec![0xc0]),
                    Some(vec![0xc4, 0x01, b'/']),
                    Some(vec![0x90]),
                ])
                .clone();
            packet(rng, vec![0x02], Some(args), None, nsp)
        }
        2 => {
            let ty = rng.below(5) as u8;
            let data = rng
                .pick(&[
                    None,
                    Some(vec![0x80]),
                    Some(vec![0x90]),
                    Some(vec![0xa1, b'x']),
                    Some(vec![0xc0]),
                    Some(vec![0x01]),
                    Some(vec![0xd4, 0x00, 0x00]),
                    Some(vec![0xc4, 0x01, 0x01]),
                    Some(vec![0xd5, 0x03, 0x01, 0x02]),
                    Some(vec![0xd7, 0x00, 0, 0, 0, 0, 0, 0, 0, 1]),
                ])
                .clone();
            packet(rng, vec![ty], data, None, Some(slash))
        }
        3 => {
            let id = rng
                .pick(&[
                    vec![0xa1, b'1'],
                    vec![0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0],
                    vec![0xc0],
                    vec![0xff],
                    vec![0xd0, 0x80],
                    vec![0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0],
                    vec![0xcb, 0x44, 0x15, 0xaf, 0x1d, 0x78, 0xb5, 0x8c, 0x40], // 1e20
                    vec![0xcb, 0x43, 0xf0, 0, 0, 0, 0, 0, 0],                   // 2^64
                    vec![0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                    vec![0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0], // Infinity
                    vec![0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0],    // -0
                    vec![0xd4, 0x00, 0x00],
                ])
                .clone();
            packet(rng, vec![0x02], Some(args), Some(id), Some(slash))
        }
        4 | 5 => {
            if !bytes.is_empty() {
                let at = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes[at] = rng.next() as u8,
                    1 => bytes[at] ^= 1 << rng.below(8),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            bytes
        }
        6 => {
            let keep = rng.below(bytes.len() + 1);
            bytes.truncate(keep);
            bytes
        }
        7 => {
            bytes.push(*rng.pick(&[0x00, 0xc0, 0xc1]));
            bytes
        }
        8 => {
            // invalid UTF-8 in a string (the namespace, a key or an argument)
            let bad = rng
                .pick(&[
                    &[0xc3, 0x28][..],
                    &[0xff],
                    &[0xed, 0xa0, 0x80],
                    &[0xe2, 0x82],
                ])
                .to_vec();
            let mut s = vec![0xa0 | bad.len() as u8];
            s.extend(&bad);
            match rng.below(3) {
                0 => packet(rng, vec![0x02], Some(args), None, Some(s)),
                1 => {
                    let mut data = vec![0x92, 0xa1, b'x'];
                    data.extend(&s);
                    packet(rng, vec![0x02], Some(data), None, Some(slash))
                }
                _ => {
                    let mut out = packet(rng, vec![0x01], None, None, Some(slash));
                    out[0] += 1;
                    out.extend(&s);
                    out.push(0x01);
                    out
                }
            }
        }
        9 => {
            // nesting around the limit of 128 levels
            let depth = 122 + rng.below(12);
            let mut data = vec![0x92, 0xa1, b'x'];
            data.extend(std::iter::repeat_n(0x91, depth));
            data.push(0x90);
            packet(rng, vec![0x02], Some(data), None, Some(slash))
        }
        10 => {
            // not a map
            rng.pick(&[
                &[0x92, 0x02, 0xa1, b'/'][..],
                &[0xa1, b'x'],
                &[0xc0],
                &[0x02],
                &[0xc3],
                &[0x80],
                &[],
            ])
            .to_vec()
        }
        11 => {
            // a negative id
            let id = rng
                .pick(&[
                    &[0xff][..],
                    &[0xe0],
                    &[0xd0, 0x80],
                    &[0xd1, 0x80, 0x00],
                    &[0xcb, 0xbf, 0xf0, 0, 0, 0, 0, 0, 0],
                ])
                .to_vec();
            packet(rng, vec![0x03], Some(vec![0x90]), Some(id), Some(slash))
        }
        12 => {
            *input = Value::String(
                rng.pick(&["2[\"x\"]", "0", "", " ", "\u{80}", "\u{93}"])
                    .to_string(),
            );
            return;
        }
        _ => {
            let n = rng.below(12);
            rng.bytes(n)
        }
    };
    *input = bin_value(&bytes);
}

fn bin_value(bytes: &[u8]) -> Value {
    json!({"binary_hex": conformance::hex::encode(bytes)})
}

fn f64_bytes(x: f64) -> Vec<u8> {
    let mut out = vec![0xcb];
    out.extend(x.to_be_bytes());
    out
}

fn mp_array_head(out: &mut Vec<u8>, n: usize, wide: bool) {
    if n < 16 && !wide {
        out.push(0x90 | n as u8);
    } else if n < 65536 {
        out.push(0xdc);
        out.extend((n as u16).to_be_bytes());
    } else {
        out.push(0xdd);
        out.extend((n as u32).to_be_bytes());
    }
}

fn mp_map_head(out: &mut Vec<u8>, n: usize, wide: bool) {
    if n < 16 && !wide {
        out.push(0x80 | n as u8);
    } else if n < 65536 {
        out.push(0xde);
        out.extend((n as u16).to_be_bytes());
    } else {
        out.push(0xdf);
        out.extend((n as u32).to_be_bytes());
    }
}

/// msgpack of a canonical value; with `wide`, sometimes in a wider format than needed.
fn mp_encode(v: &Value, rng: &mut Rng, wide: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let wider = |rng: &mut Rng| wide && rng.percent(40);
    match v {
        Value::Null => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if x.fract() != 0.0 || wider(rng) && x.abs() < 9e15 && rng.percent(30) {
                out.extend(f64_bytes(x));
            } else if (0.0..128.0).contains(&x) && !wider(rng) {
                out.push(x as u8);
            } else if (0.0..4294967296.0).contains(&x) {
                if wider(rng) {
                    out.push(0xcf);
                    out.extend((x as u64).to_be_bytes());
                } else {
                    out.push(0xce);
                    out.extend((x as u32).to_be_bytes());
                }
            } else if (0.0..1.8e19).contains(&x) {
                out.push(0xcf);
                out.extend((x as u64).to_be_bytes());
            } else if (-2147483648.0..0.0).contains(&x) && !wider(rng) {
                out.push(0xd2);
                out.extend((x as i32).to_be_bytes());
            } else if (-9.2e18..0.0).contains(&x) {
                out.push(0xd3);
                out.extend((x as i64).to_be_bytes());
            } else {
                out.extend(f64_bytes(x));
            }
        }
        Value::String(s) => {
            let n = s.len();
            if n < 32 && !wider(rng) {
                out.push(0xa0 | n as u8);
            } else if n < 256 && rng.percent(50) {
                out.extend([0xd9, n as u8]);
            } else if n < 65536 && rng.percent(50) {
                out.push(0xda);
                out.extend((n as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend((n as u32).to_be_bytes());
            }
            out.extend(s.as_bytes());
        }
        Value::Array(a) => {
            // notepack.io writes `undefined` (d4 00 00) as it is, in arrays and objects
            let undefined_at = (wide && rng.percent(15)).then(|| rng.below(a.len() + 1));
            mp_array_head(
                &mut out,
                a.len() + usize::from(undefined_at.is_some()),
                wider(rng),
            );
            for (i, x) in a.iter().enumerate() {
                if undefined_at == Some(i) {
                    out.extend([0xd4, 0, 0]);
                }
                out.extend(mp_encode(x, rng, wide));
            }
            if undefined_at == Some(a.len()) {
                out.extend([0xd4, 0, 0]);
            }
        }
        Value::Object(o) => {
            if let (1, Some(h)) = (o.len(), o.get("binary_hex").and_then(Value::as_str)) {
                let b = conformance::hex::decode(h).unwrap_or_default();
                if b.len() < 256 && !wider(rng) {
                    out.extend([0xc4, b.len() as u8]);
                } else if b.len() < 65536 && rng.percent(50) {
                    out.push(0xc5);
                    out.extend((b.len() as u16).to_be_bytes());
                } else {
                    out.push(0xc6);
                    out.extend((b.len() as u32).to_be_bytes());
                }
                out.extend(b);
                return out;
            }
            // an extra property whose value is `undefined`, sometimes a repeated key
            let undefined_key = (wide && rng.percent(20)).then(|| match o.keys().next() {
                Some(k) if rng.percent(30) => k.clone(),
                _ => rng.key(true),
            });
            mp_map_head(
                &mut out,
                o.len() + usize::from(undefined_key.is_some()),
                wider(rng),
            );
            if let Some(k) = &undefined_key {
                out.extend(mp_encode(&Value::String(k.clone()), rng, wide));
                out.extend([0xd4, 0, 0]);
            }
            for (k, x) in o {
                out.extend(mp_encode(&Value::String(k.clone()), rng, wide));
                out.extend(mp_encode(x, rng, wide));
            }
        }
    }
    out
}
