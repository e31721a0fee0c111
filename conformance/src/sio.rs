//! The canonical JSON form of Socket.IO packets, exactly as in `fixtures/socketio/` and
//! `fixtures/socketio-msgpack/`, and the JSON-lines batch protocol of
//! `node/diff-socketio.js`, for both parsers.
//!
//! | value | JSON |
//! |---|---|
//! | Engine.IO message | a string (text), or `{"binary_hex": "<lowercase hex>"}` (binary) |
//! | packet | `{"type": 0..4, "nsp": "/", "id"?: 12, "data"?: …}`, binary values as `{"binary_hex"}` |
//! | decode result | `{"decoded": [<packet>, …], "error"?: "<the reference's message>"}` |
//! | encode result | `{"encoded": [<message>, …]}` |
//!
//! Values are JavaScript values: numbers are compared as JavaScript numbers
//! ([`socketio_proto::canonical::canonicalize`]), and object keys are in JavaScript's order
//! (array-index keys first, ascending, then the others in insertion order). Output lines are
//! written as `JSON.stringify` writes them ([`to_js_string`]), so for the same value a line
//! printed here is byte for byte the line the Node helper prints.
//!
//! ```
//! use conformance::sio;
//! use socketio_proto::ParserKind;
//!
//! let answer = sio::batch_response(ParserKind::Default, r#"{"op":"decode","inputs":["2/admin,7[\"hi\",1.0]"]}"#);
//! assert_eq!(answer, r#"{"decoded":[{"type":2,"nsp":"/admin","id":7,"data":["hi",1]}]}"#);
//! let answer = sio::batch_response(ParserKind::Default, r#"{"op":"encode","packet":{"type":2,"nsp":"/","data":["a",{"binary_hex":"01"}]}}"#);
//! assert_eq!(answer, r#"{"encoded":["51-[\"a\",{\"_placeholder\":true,\"num\":0}]",{"binary_hex":"01"}]}"#);
//! ```

use std::io::{self, BufRead, BufReader, Read, Write};

use bytes::Bytes;
use bytestring::ByteString;
use serde_json::{Map, Value};
use socketio_proto::canonical::canonical_number;
use socketio_proto::{
    DecodeError, DecoderConfig, EngineMessage, Packet, ParserKind, Payload, PayloadError,
};

use crate::eio::JsonData;
use crate::{FormatError, hex};

/// `deviation` reasons: inputs that the reference accepts (or reads differently) and that we
/// reject by design (the strictness list of `socketio-proto`'s crate docs). The texts are
/// those of the fixtures' `deviation` markers.
pub mod deviation {
    /// Default parser: `""` ([`DecodeError::EmptyPacket`](socketio_proto::DecodeError)).
    pub const EMPTY_MESSAGE: &str = "empty message: the reference reads CONNECT /, we reject";
    /// Default parser: a whitespace type character (`UnknownPacketType`).
    pub const WHITESPACE_TYPE: &str = "whitespace read as type 0 by the reference, we reject";
    /// Default parser: whitespace where an ack id is read (`InvalidAckId`).
    pub const WHITESPACE_ACK_ID: &str =
        "whitespace read as ack id digits by the reference, we reject";
    /// Default parser: an ack id beyond `u64` (`AckIdOverflow`).
    pub const ACK_ID_OVERFLOW: &str =
        "ack id beyond u64: the reference keeps an imprecise float, we reject";
    /// Default parser: `1e0`, `0x1`, `+1`, ` 1`, … as an attachment count
    /// (`IllegalAttachments`).
    pub const ATTACHMENT_COUNT: &str =
        "attachment count not plain digits: the reference coerces it, we reject";
    /// Default parser: JSON nested deeper than 127 levels (`NestingTooDeep`).
    pub const JSON_NESTING: &str =
        "JSON nested deeper than 127 levels: the reference has no bound, we reject";
    /// Default parser: a placeholder `num` in range but not an integer (`IllegalPlaceholder`).
    pub const FRACTIONAL_PLACEHOLDER: &str =
        "fractional placeholder num: the reference puts undefined, we reject";
    /// msgpack: a negative `id` (`InvalidPacketId`).
    pub const NEGATIVE_ID: &str = "negative ack id: the reference accepts any integer, we reject";
    /// msgpack: an integral `id` beyond `u64` (`InvalidPacketId`).
    pub const MSGPACK_ID_OVERFLOW: &str =
        "ack id beyond u64: the reference accepts any integer, we reject";
    /// msgpack: invalid UTF-8 in a string (`InvalidMsgPack`).
    pub const INVALID_UTF8: &str = "invalid UTF-8: the reference replaces it, we reject";
    /// msgpack: nesting deeper than 128 levels (`NestingTooDeep`).
    pub const MSGPACK_NESTING: &str =
        "nested deeper than 128 levels: the reference has no bound, we reject";
}

/// Whether `error` is the typed error we give by design for a `deviation` `reason`; `None`
/// for a reason this module does not know.
pub fn is_deviation_error(reason: &str, error: &DecodeError) -> Option<bool> {
    use deviation::*;
    Some(match reason {
        EMPTY_MESSAGE => matches!(error, DecodeError::EmptyPacket),
        WHITESPACE_TYPE => {
            matches!(error, DecodeError::UnknownPacketType(c) if is_js_whitespace(*c))
        }
        WHITESPACE_ACK_ID => matches!(error, DecodeError::InvalidAckId),
        ACK_ID_OVERFLOW => matches!(error, DecodeError::AckIdOverflow),
        ATTACHMENT_COUNT => matches!(error, DecodeError::IllegalAttachments),
        JSON_NESTING | MSGPACK_NESTING => matches!(error, DecodeError::NestingTooDeep),
        FRACTIONAL_PLACEHOLDER => matches!(error, DecodeError::IllegalPlaceholder),
        NEGATIVE_ID | MSGPACK_ID_OVERFLOW => matches!(error, DecodeError::InvalidPacketId),
        INVALID_UTF8 => {
            matches!(error, DecodeError::InvalidMsgPack(why) if why.contains("UTF-8"))
        }
        _ => return None,
    })
}

/// JavaScript's white space and line terminators (what `/\s/` and `Number(" ")` trim).
pub fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// The name of a parser in messages: `default` or `msgpack`.
pub fn parser_name(parser: ParserKind) -> &'static str {
    match parser {
        ParserKind::MsgPack => "msgpack",
        _ => "default",
    }
}

/// The canonical form of an Engine.IO message: a string, or `{"binary_hex"}`.
pub fn message_to_value(msg: &EngineMessage) -> Value {
    match msg {
        EngineMessage::Text(t) => Value::String(t.to_string()),
        EngineMessage::Binary(b) => JsonData::binary(b).to_value(),
    }
}

/// Reads a message: a JSON string, or `{"binary_hex": "<hex>"}`.
pub fn message_from_value(value: &Value) -> Result<EngineMessage, FormatError> {
    Ok(match value {
        Value::String(s) => EngineMessage::Text(ByteString::from(s.as_str())),
        _ => match JsonData::from_value(value)? {
            JsonData::Binary { binary_hex } => {
                EngineMessage::Binary(Bytes::from(hex::decode(&binary_hex)?))
            }
            JsonData::Text(t) => EngineMessage::Text(ByteString::from(t)),
        },
    })
}

/// Reads a JSON array of messages.
pub fn messages_from_value(value: &Value) -> Result<Vec<EngineMessage>, FormatError> {
    let Value::Array(items) = value else {
        return Err(FormatError::new("expected an array of messages"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, m)| message_from_value(m).map_err(|e| e.context(&format!("[{i}]"))))
        .collect()
}

/// The first error of a [`DecodeRun`]: which input it came at, and what it was.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeFailure {
    /// The index of the input message that failed.
    pub at: usize,
    /// The error.
    pub error: DecodeError,
}

/// What one decoder did with a sequence of messages.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DecodeRun {
    /// The packets emitted, in order.
    pub packets: Vec<Packet>,
    /// The first error; decoding stops there, as the reference throws.
    pub error: Option<DecodeFailure>,
}

impl DecodeRun {
    /// The canonical form: `{"decoded": [...], "error"?: "<the reference's message>"}`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "decoded".into(),
            Value::Array(self.packets.iter().map(packet_to_value).collect()),
        );
        if let Some(f) = &self.error {
            m.insert("error".into(), Value::String(reference_error(&f.error)));
        }
        Value::Object(m)
    }
}

/// Feeds `inputs` in order to one decoder for `parser`, stopping at the first error.
pub fn decode_messages(
    parser: ParserKind,
    config: DecoderConfig,
    inputs: impl IntoIterator<Item = EngineMessage>,
) -> DecodeRun {
    let mut decoder = parser.decoder(config);
    let mut packets = Vec::new();
    for (at, msg) in inputs.into_iter().enumerate() {
        match decoder.decode(msg) {
            Ok(Some(p)) => packets.push(p),
            Ok(None) => {}
            Err(error) => {
                return DecodeRun {
                    packets,
                    error: Some(DecodeFailure { at, error }),
                };
            }
        }
    }
    DecodeRun {
        packets,
        error: None,
    }
}

/// The message the reference parser throws for the input that gave `error`.
///
/// This is [`DecodeError::reference_message`], except for an unknown packet type, where the
/// reference appends `Number(firstCharacter)`: `unknown packet type 7`, or `… NaN`.
pub fn reference_error(error: &DecodeError) -> String {
    match error {
        DecodeError::UnknownPacketType(c @ '0'..='9') => format!("unknown packet type {c}"),
        DecodeError::UnknownPacketType(_) => "unknown packet type NaN".to_owned(),
        other => other.reference_message().to_owned(),
    }
}

/// The canonical form of a packet, with JavaScript's key order ([`js_normalize`]). A msgpack
/// packet with data also has `view`: its [`payload_view`] (`{"error": …}` if it has none).
pub fn packet_to_value(packet: &Packet) -> Value {
    let mut value = js_normalize(&packet.to_canonical_json());
    if let (Some(data), Value::Object(m)) = (&packet.data, &mut value) {
        if data.format() == ParserKind::MsgPack {
            let view = payload_view(data)
                .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }));
            m.insert("view".into(), view);
        }
    }
    value
}

/// The payload as an application reads it through serde: deserialized into
/// [`socketio_proto::Value`], then written as JSON with binary values as `{"binary_hex"}`
/// and numbers and keys in JavaScript's form ([`js_normalize`]). For the msgpack parser this
/// is what `JSON.stringify` shows of the reference's decoded data (the fixtures' `view`).
pub fn payload_view(payload: &Payload) -> Result<Value, PayloadError> {
    fn to_json(v: &socketio_proto::Value) -> Value {
        use socketio_proto::Value as V;
        match v {
            V::Null => Value::Null,
            V::Bool(b) => Value::Bool(*b),
            V::Number(n) => Value::Number(n.clone()),
            V::String(s) => Value::String(s.clone()),
            V::Binary(b) => {
                let mut m = Map::new();
                m.insert("binary_hex".into(), Value::String(hex::encode(b)));
                Value::Object(m)
            }
            V::Array(items) => Value::Array(items.iter().map(to_json).collect()),
            // A repeated key keeps its first place and its last value, as in JavaScript.
            V::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, x)| (k.clone(), to_json(x)))
                    .collect(),
            ),
        }
    }
    Ok(js_normalize(&to_json(
        &payload.deserialize::<socketio_proto::Value>()?,
    )))
}

/// Reads a canonical packet for `parser`: an object with `type` (0–4), `nsp` (a string),
/// and optionally `id` (a non-negative integer) and `data`. Numbers are read as JavaScript
/// numbers and keys are put in JavaScript's order first, as `JSON.parse` does on the Node
/// side.
pub fn packet_from_value(parser: ParserKind, value: &Value) -> Result<Packet, FormatError> {
    let Value::Object(map) = value else {
        return Err(FormatError::new("expected a packet object"));
    };
    if let Some(key) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "type" | "nsp" | "id" | "data"))
    {
        return Err(FormatError::new(format!(
            "unexpected key {key:?} in a packet"
        )));
    }
    let value = js_normalize(value);
    match value.get("type").and_then(Value::as_u64) {
        Some(0..=4) => {}
        _ => return Err(FormatError::new(r#""type" must be an integer from 0 to 4"#)),
    }
    if !value.get("nsp").is_some_and(Value::is_string) {
        return Err(FormatError::new(r#""nsp" must be a string"#));
    }
    match value.get("id") {
        None => {}
        Some(id) if id.as_u64().is_some() => {}
        Some(_) => {
            return Err(FormatError::new(
                r#""id" must be an integer from 0 to 2^53"#,
            ));
        }
    }
    Packet::from_canonical_json(parser, &value).map_err(|e| FormatError::new(e.to_string()))
}

/// Encodes a packet into its messages; `Err` is our encoder's refusal.
pub fn encode_packet(parser: ParserKind, packet: &Packet) -> Result<Vec<EngineMessage>, String> {
    let mut out = Vec::new();
    parser.encode(packet, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Normalizes a JSON value as JavaScript would hold it: every number canonical (see
/// [`canonical_number`]) and every object's keys in JavaScript's order (array-index keys
/// first, ascending; then the others in insertion order).
pub fn js_normalize(value: &Value) -> Value {
    match value {
        Value::Number(n) => canonical_number(n.as_f64().unwrap_or(f64::NAN)),
        Value::Array(a) => Value::Array(a.iter().map(js_normalize).collect()),
        Value::Object(o) => {
            let mut index: Vec<(u32, &String, &Value)> = o
                .iter()
                .filter_map(|(k, v)| array_index(k).map(|i| (i, k, v)))
                .collect();
            index.sort_by_key(|(i, _, _)| *i);
            let mut m = Map::new();
            for (_, k, v) in index {
                m.insert(k.clone(), js_normalize(v));
            }
            for (k, v) in o {
                if array_index(k).is_none() {
                    m.insert(k.clone(), js_normalize(v));
                }
            }
            Value::Object(m)
        }
        other => other.clone(),
    }
}

/// The value of an array-index key (`"0"`, `"17"`, up to 2^32 − 2, no leading zeros).
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) {
        return None;
    }
    if !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>().ok().filter(|&i| i != u32::MAX)
}

/// Writes `value` as `JSON.stringify` would (JavaScript number formatting and escapes); keys
/// are written in the order they have (see [`js_normalize`]).
pub fn to_js_string(value: &Value) -> String {
    match Payload::json(value) {
        Ok(p) => p.json_text().map(ToString::to_string).unwrap_or_default(),
        // A `Value` always serializes; fall back to serde_json's text all the same.
        Err(_) => value.to_string(),
    }
}

/// Answers one request line of the batch protocol of `node/diff-socketio.js` for `parser`
/// with one response line (no newline), written as `JSON.stringify` writes it.
///
/// Requests: `{"op": "decode", "inputs": [<message>, ...], "max_attachments"?: n}` (the
/// inputs are fed in order to one decoder; `max_attachments` applies to the default parser)
/// and `{"op": "encode", "packet": <packet>}`. Answers: `{"decoded": [<packet>, ...],
/// "error"?: "<message>"}`, `{"encoded": [<message>, ...]}`, `{"encode_error": "<why>"}` when
/// our encoder refuses the packet, or `{"helper_error": "<message>"}` for a malformed request.
///
/// Unlike the Node helper, this never adds `deviation` (that marks where the *reference* is
/// lenient; we answer with our error). Helper error messages differ too.
pub fn batch_response(parser: ParserKind, line: &str) -> String {
    let answer = serde_json::from_str::<Value>(line)
        .map_err(|e| FormatError::new(e.to_string()))
        .and_then(|request| run_request(parser, &request));
    let value = match answer {
        Ok(v) => v,
        Err(e) => single("helper_error", Value::String(e.message().to_owned())),
    };
    to_js_string(&value)
}

fn single(key: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.into(), value);
    Value::Object(m)
}

fn run_request(parser: ParserKind, request: &Value) -> Result<Value, FormatError> {
    if !request.is_object() {
        return Err(FormatError::new("request must be a JSON object"));
    }
    let field = |name: &str| {
        request
            .get(name)
            .ok_or_else(|| FormatError::new(format!("missing {name:?}")))
    };
    match request.get("op").and_then(Value::as_str) {
        Some("decode") => {
            let inputs = messages_from_value(field("inputs")?).map_err(|e| e.context("inputs"))?;
            let mut config = DecoderConfig::default();
            match request.get("max_attachments") {
                None => {}
                Some(v) => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
                    Some(n) => config = config.max_attachments(n),
                    None => {
                        return Err(FormatError::new(
                            r#""max_attachments" must be a non-negative integer"#,
                        ));
                    }
                },
            }
            Ok(decode_messages(parser, config, inputs).to_value())
        }
        Some("encode") => {
            let packet =
                packet_from_value(parser, field("packet")?).map_err(|e| e.context("packet"))?;
            Ok(match encode_packet(parser, &packet) {
                Ok(messages) => single(
                    "encoded",
                    Value::Array(messages.iter().map(message_to_value).collect()),
                ),
                Err(why) => single("encode_error", Value::String(why)),
            })
        }
        _ => Err(FormatError::new(format!(
            "unknown op {}",
            request.get("op").unwrap_or(&Value::Null)
        ))),
    }
}

/// Runs the batch protocol for `parser`: answers every non-blank line of `input` with one
/// line on `output`, and returns the number of lines answered.
///
/// A trailing `\r` is dropped and blank lines are skipped, as in `diff-socketio.js`. Output
/// is flushed whenever all the input read so far has been answered, so this works for one
/// big batch and for a request/response dialogue over a pipe alike.
pub fn run_batch(parser: ParserKind, input: impl Read, output: impl Write) -> io::Result<usize> {
    let mut input = BufReader::new(input);
    let mut output = io::BufWriter::new(output);
    let mut line = Vec::new();
    let mut answered = 0;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let response = match std::str::from_utf8(text) {
            Ok(t) if t.trim().is_empty() => None,
            Ok(t) => Some(batch_response(parser, t)),
            Err(_) => Some(to_js_string(&single(
                "helper_error",
                Value::String("request is not valid UTF-8".into()),
            ))),
        };
        if let Some(response) = response {
            output.write_all(response.as_bytes())?;
            output.write_all(b"\n")?;
            answered += 1;
        }
        if input.buffer().is_empty() {
            output.flush()?;
        }
    }
    output.flush()?;
    Ok(answered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_answers_packets_and_the_reference_error() {
        let cases = [
            (
                r#"{"op":"decode","inputs":["0","2[\"a\",{\"b\":1,\"2\":true}]","7"]}"#,
                r#"{"decoded":[{"type":0,"nsp":"/"},{"type":2,"nsp":"/","data":["a",{"2":true,"b":1}]}],"error":"unknown packet type 7"}"#,
            ),
            (
                r#"{"op":"decode","inputs":["51-[\"x\",{\"_placeholder\":true,\"num\":0}]",{"binary_hex":"0102"}]}"#,
                r#"{"decoded":[{"type":2,"nsp":"/","data":["x",{"binary_hex":"0102"}]}]}"#,
            ),
            (
                r#"{"op":"decode","inputs":["x"]}"#,
                r#"{"decoded":[],"error":"unknown packet type NaN"}"#,
            ),
            (
                r#"{"op":"decode","inputs":["2[\"x\",1e21,0.1,-0]"]}"#,
                r#"{"decoded":[{"type":2,"nsp":"/","data":["x",1e+21,0.1,0]}]}"#,
            ),
            (
                r#"{"op":"decode","inputs":["53-[\"x\"]"],"max_attachments":2}"#,
                r#"{"decoded":[],"error":"too many attachments"}"#,
            ),
        ];
        for (request, answer) in cases {
            assert_eq!(
                batch_response(ParserKind::Default, request),
                answer,
                "{request}"
            );
        }
    }

    #[test]
    fn msgpack_decodes_binary_messages() {
        // {"type":2,"data":["a"],"nsp":"/"}
        let request = r#"{"op":"decode","inputs":[{"binary_hex":"83a47479706502a46461746191a161a36e7370a12f"},"2"]}"#;
        assert_eq!(
            batch_response(ParserKind::MsgPack, request),
            r#"{"decoded":[{"type":2,"nsp":"/","data":["a"],"view":["a"]}],"error":"invalid msgpack"}"#
        );
    }

    #[test]
    fn encode_answers_the_messages_in_javascript_order_and_numbers() {
        let request = r#"{"op":"encode","packet":{"type":2,"nsp":"/x","id":3,"data":["e",{"b":1.0,"10":2,"9":1e21}]}}"#;
        assert_eq!(
            batch_response(ParserKind::Default, request),
            r#"{"encoded":["2/x,3[\"e\",{\"9\":1e+21,\"10\":2,\"b\":1}]"]}"#
        );
        let request = r#"{"op":"encode","packet":{"type":1,"nsp":"/"}}"#;
        assert_eq!(
            batch_response(ParserKind::MsgPack, request),
            r#"{"encoded":[{"binary_hex":"82a47479706501a36e7370a12f"}]}"#
        );
        let refused = r#"{"op":"encode","packet":{"type":1,"nsp":"/a,b"}}"#;
        let answer: Value =
            serde_json::from_str(&batch_response(ParserKind::Default, refused)).unwrap();
        assert!(answer["encode_error"].is_string(), "{answer}");
    }

    #[test]
    fn malformed_requests_are_helper_errors() {
        for request in [
            "{",
            "[]",
            r#"{"op":"nope"}"#,
            r#"{"op":"decode"}"#,
            r#"{"op":"decode","inputs":[1]}"#,
            r#"{"op":"decode","inputs":[{"binary_hex":"0"}]}"#,
            r#"{"op":"decode","inputs":[],"max_attachments":-1}"#,
            r#"{"op":"encode","packet":{"type":5,"nsp":"/"}}"#,
            r#"{"op":"encode","packet":{"type":2}}"#,
            r#"{"op":"encode","packet":{"type":2,"nsp":"/","id":-1}}"#,
            r#"{"op":"encode","packet":{"type":2,"nsp":"/","extra":1}}"#,
        ] {
            for parser in [ParserKind::Default, ParserKind::MsgPack] {
                let answer: Value = serde_json::from_str(&batch_response(parser, request)).unwrap();
                assert!(answer["helper_error"].is_string(), "{request}: {answer}");
            }
        }
    }

    #[test]
    fn deviation_reasons_map_to_typed_errors() {
        use deviation::*;
        let yes = [
            (EMPTY_MESSAGE, DecodeError::EmptyPacket),
            (WHITESPACE_TYPE, DecodeError::UnknownPacketType('\u{a0}')),
            (WHITESPACE_ACK_ID, DecodeError::InvalidAckId),
            (ACK_ID_OVERFLOW, DecodeError::AckIdOverflow),
            (ATTACHMENT_COUNT, DecodeError::IllegalAttachments),
            (JSON_NESTING, DecodeError::NestingTooDeep),
            (FRACTIONAL_PLACEHOLDER, DecodeError::IllegalPlaceholder),
            (NEGATIVE_ID, DecodeError::InvalidPacketId),
            (
                INVALID_UTF8,
                DecodeError::InvalidMsgPack("invalid UTF-8 in a string"),
            ),
        ];
        for (reason, error) in yes {
            assert_eq!(is_deviation_error(reason, &error), Some(true), "{reason}");
            assert_eq!(
                is_deviation_error(reason, &DecodeError::UnexpectedBinary),
                Some(false)
            );
        }
        assert_eq!(
            is_deviation_error(WHITESPACE_TYPE, &DecodeError::UnknownPacketType('x')),
            Some(false)
        );
        assert_eq!(is_deviation_error("?", &DecodeError::EmptyPacket), None);
    }

    #[test]
    fn batch_skips_blank_lines() {
        let input =
            "{\"op\":\"decode\",\"inputs\":[\"1\"]}\r\n\n \n{\"op\":\"decode\",\"inputs\":[\"\"]}";
        let mut out = Vec::new();
        assert_eq!(
            run_batch(ParserKind::Default, input.as_bytes(), &mut out).unwrap(),
            2
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"decoded\":[{\"type\":1,\"nsp\":\"/\"}]}\n{\"decoded\":[],\"error\":\"empty packet\"}\n"
        );
    }
}
