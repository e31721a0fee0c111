//! The canonical JSON form of Engine.IO packets, exactly as in `fixtures/engineio/`, and the
//! JSON-lines batch protocol of `node/diff-engineio.js`.
//!
//! | value | JSON |
//! |---|---|
//! | text | a string |
//! | binary | `{"binary_hex": "<lowercase hex>"}` |
//! | packet | `{"type": "message", "data": <text or binary>}`, `data` omitted for empty text |
//! | decode error | `{"error": "parser error"}` |
//!
//! Output goes through the `Json*` types, whose fields serialize in the fixtures' key order
//! (`type` before `data`), so a line printed here is byte for byte the line
//! `JSON.stringify` prints for the same value. Input is read from [`serde_json::Value`]s,
//! with [`FormatError`]s that say what is wrong and where.
//!
//! ```
//! use conformance::eio;
//! use engineio_proto::Packet;
//!
//! let json = eio::JsonPacket::from_packet(&Packet::message("hello"));
//! assert_eq!(serde_json::to_string(&json).unwrap(), r#"{"type":"message","data":"hello"}"#);
//! let value = serde_json::json!({"type": "message", "data": {"binary_hex": "0102"}});
//! assert_eq!(eio::packet_from_value(&value).unwrap(), Packet::binary(&[1u8, 2][..]));
//! ```

use std::io::{self, BufRead, BufReader, Read, Write};

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use engineio_proto::{Data, DecodeError, Packet, PacketType, WsMessage, payload};
use serde::Serialize;
use serde_json::Value;

use crate::{FormatError, hex};

/// The reference's error data, the only error the canonical form shows.
pub const PARSER_ERROR: &str = "parser error";

/// The `deviation` text of a decode case where the reference decodes base64 leniently and
/// our decoder rejects it (see the crate's `README.md`).
pub const B64_DEVIATION: &str = "invalid base64: the reference decodes leniently, we reject";

/// Text or binary, as a JSON string or `{"binary_hex": ...}`.
///
/// This is packet data, an encoded packet (a WebSocket text or binary message), and a
/// decoder input alike.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[allow(clippy::exhaustive_enums)] // the fixtures have these two forms, and only these
pub enum JsonData {
    /// Text: a JSON string.
    Text(String),
    /// Binary: `{"binary_hex": "0102"}`.
    Binary {
        /// The bytes in lowercase hex.
        binary_hex: String,
    },
}

impl JsonData {
    /// The canonical form of packet data.
    pub fn from_data(data: &Data) -> Self {
        match data {
            Data::Text(t) => Self::Text(t.to_string()),
            Data::Binary(b) => Self::binary(b),
        }
    }

    /// The canonical form of a WebSocket message (an encoded packet, or a decoder input).
    pub fn from_ws(msg: &WsMessage) -> Self {
        match msg {
            WsMessage::Text(t) => Self::Text(t.to_string()),
            WsMessage::Binary(b) => Self::binary(b),
        }
    }

    /// Binary data.
    pub fn binary(bytes: &[u8]) -> Self {
        Self::Binary {
            binary_hex: hex::encode(bytes),
        }
    }

    /// Reads a JSON string or `{"binary_hex": ...}`.
    pub fn from_value(value: &Value) -> Result<Self, FormatError> {
        match value {
            Value::String(s) => Ok(Self::Text(s.clone())),
            Value::Object(map) => match map.get("binary_hex") {
                Some(Value::String(h)) if map.len() == 1 => {
                    // Validate (and normalize to lowercase) now, not at first use.
                    Ok(Self::binary(&hex::decode(h)?))
                }
                _ => Err(FormatError::new(
                    r#"expected a string or {"binary_hex": "<hex>"}"#,
                )),
            },
            _ => Err(FormatError::new(
                r#"expected a string or {"binary_hex": "<hex>"}"#,
            )),
        }
    }

    /// As packet data.
    pub fn to_data(&self) -> Data {
        match self {
            Self::Text(t) => Data::Text(ByteString::from(t.as_str())),
            Self::Binary { .. } => Data::Binary(self.bytes()),
        }
    }

    /// As a WebSocket message (a text frame or a binary frame).
    pub fn to_ws(&self) -> WsMessage {
        match self {
            Self::Text(t) => WsMessage::Text(ByteString::from(t.as_str())),
            Self::Binary { .. } => WsMessage::Binary(self.bytes()),
        }
    }

    fn bytes(&self) -> Bytes {
        match self {
            Self::Text(t) => Bytes::copy_from_slice(t.as_bytes()),
            // Always built from bytes by `binary`, so always valid hex.
            Self::Binary { binary_hex } => {
                Bytes::from(hex::decode(binary_hex).expect("JsonData holds valid hex"))
            }
        }
    }

    /// As a [`serde_json::Value`].
    pub fn to_value(&self) -> Value {
        to_value(self)
    }
}

/// A packet: `{"type": "message", "data": "hello"}`; `data` is omitted for empty text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct JsonPacket {
    /// The reference's type name (`"open"`, `"message"`, …).
    #[serde(rename = "type")]
    pub packet_type: &'static str,
    /// The data, absent for empty text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<JsonData>,
}

impl JsonPacket {
    /// The canonical form of a packet.
    pub fn from_packet(packet: &Packet) -> Self {
        Self {
            packet_type: packet.packet_type.name(),
            data: (!packet.data.is_empty_text()).then(|| JsonData::from_data(&packet.data)),
        }
    }

    /// As a [`serde_json::Value`].
    pub fn to_value(&self) -> Value {
        to_value(self)
    }
}

/// One decoder result: a packet, or `{"error": "parser error"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[allow(clippy::exhaustive_enums)] // a decoder gives a packet or an error
pub enum JsonDecoded {
    /// A decoded packet.
    Packet(JsonPacket),
    /// A decode error, shown as the reference shows its error packet.
    Error {
        /// Always [`PARSER_ERROR`].
        error: &'static str,
    },
}

impl JsonDecoded {
    /// The canonical form of a decoder result. Every [`DecodeError`] is the reference's
    /// `parser error`.
    pub fn from_result(result: &Result<Packet, DecodeError>) -> Self {
        match result {
            Ok(packet) => Self::Packet(JsonPacket::from_packet(packet)),
            Err(_) => Self::Error {
                error: PARSER_ERROR,
            },
        }
    }

    /// As a [`serde_json::Value`].
    pub fn to_value(&self) -> Value {
        to_value(self)
    }
}

fn to_value(value: &impl Serialize) -> Value {
    // These types hold only strings and string-keyed objects.
    serde_json::to_value(value).expect("canonical JSON always serializes")
}

/// The canonical form of a packet, as a [`serde_json::Value`].
pub fn packet_to_value(packet: &Packet) -> Value {
    JsonPacket::from_packet(packet).to_value()
}

/// The canonical form of a decoder result, as a [`serde_json::Value`].
pub fn decoded_to_value(result: &Result<Packet, DecodeError>) -> Value {
    JsonDecoded::from_result(result).to_value()
}

/// Reads a packet: `{"type": "<name>", "data"?: <text or binary>}`.
///
/// Unlike the reference encoder, which takes anything, the type must be one of the seven
/// names and no other key is allowed. A missing `data` is empty text.
pub fn packet_from_value(value: &Value) -> Result<Packet, FormatError> {
    let Value::Object(map) = value else {
        return Err(FormatError::new("expected a packet object"));
    };
    if let Some(key) = map.keys().find(|k| *k != "type" && *k != "data") {
        return Err(FormatError::new(format!(
            "unexpected key {key:?} in a packet"
        )));
    }
    let packet_type = match map.get("type") {
        Some(Value::String(name)) => PacketType::from_name(name)
            .ok_or_else(|| FormatError::new(format!("unknown packet type {name:?}")))?,
        _ => return Err(FormatError::new(r#""type" must be a string"#)),
    };
    let data = match map.get("data") {
        Some(data) => JsonData::from_value(data)
            .map_err(|e| e.context("data"))?
            .to_data(),
        None => Data::default(),
    };
    Ok(Packet::new(packet_type, data))
}

/// Reads a JSON array of packets.
pub fn packets_from_value(value: &Value) -> Result<Vec<Packet>, FormatError> {
    let Value::Array(items) = value else {
        return Err(FormatError::new("expected an array of packets"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, p)| packet_from_value(p).map_err(|e| e.context(&format!("packets[{i}]"))))
        .collect()
}

/// Decodes one packet: a text input with [`Packet::decode_text`], a binary input with
/// [`Packet::decode_binary`].
pub fn decode_packet(input: WsMessage) -> Result<Packet, DecodeError> {
    Packet::decode_ws(input)
}

/// Decodes a polling payload, keeping every result up to and including the first error.
pub fn decode_payload(input: ByteString) -> Vec<Result<Packet, DecodeError>> {
    payload::decode(input).collect()
}

/// Decodes a polling payload given as bytes (a POST body, maybe not UTF-8).
pub fn decode_payload_bytes(input: Bytes) -> Vec<Result<Packet, DecodeError>> {
    payload::decode_bytes(input).collect()
}

/// Encodes one packet as the reference's `encodePacket(packet, supportsBinary)` does: binary
/// data as is when `supports_binary`, else as `b` + base64; text as `<type><data>`.
pub fn encode_packet(packet: &Packet, supports_binary: bool) -> JsonData {
    JsonData::from_ws(&packet.to_ws_message(supports_binary))
}

/// Encodes a polling payload (binary always as `b` + base64).
///
/// An empty list encodes as `""`. (The reference never calls back for `[]`, and
/// `diff-engineio.js` answers `null` there.)
pub fn encode_payload(packets: &[Packet]) -> String {
    let mut out = BytesMut::new();
    payload::encode(packets, &mut out);
    // The encoder writes ASCII type characters, ASCII base64 and UTF-8 text.
    String::from_utf8(out.to_vec()).expect("a payload encodes to UTF-8")
}

/// True for text that our decoder accepts after the `b` of a binary packet: the standard
/// base64 alphabet, with or without padding, of a length that is not 1 mod 4. This is the
/// regex of `diff-engineio.js`:
/// `^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$`.
pub fn is_strict_base64(text: &str) -> bool {
    let (body, pad) = match text.strip_suffix("==") {
        Some(body) => (body, 2),
        None => match text.strip_suffix('=') {
            Some(body) => (body, 1),
            None => (text, 0),
        },
    };
    let alphabet = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let tail = body.len() % 4;
    body.bytes().all(alphabet)
        && match pad {
            0 => tail != 1,
            1 => tail == 3,
            _ => tail == 2,
        }
}

/// True when the reference decodes this text packet leniently and we reject it: a `b`
/// followed by anything but [strict base64](is_strict_base64).
pub fn is_lenient_base64_packet(text: &str) -> bool {
    text.strip_prefix('b')
        .is_some_and(|rest| !is_strict_base64(rest))
}

/// The index of the first record of a polling payload that the reference decodes
/// leniently ([`is_lenient_base64_packet`]) before any record it fails on; `None` when the
/// reference and our decoder read the payload alike.
pub fn lenient_base64_record(payload: &str) -> Option<usize> {
    for (i, record) in payload.split('\u{1e}').enumerate() {
        if is_lenient_base64_packet(record) {
            return Some(i);
        }
        match record.as_bytes().first() {
            Some(b'0'..=b'6' | b'b') => {}
            // The reference stops at its first error: later records are not decoded.
            _ => return None,
        }
    }
    None
}

/// Checks a decode-packet case marked with a `deviation`: our decoder must reject it as
/// invalid base64. `Err` says what it did instead.
pub fn check_packet_deviation(input: &WsMessage) -> Result<(), String> {
    match input {
        WsMessage::Text(t) if is_lenient_base64_packet(t) => {}
        _ => return Err("marked as a deviation, but it is not lenient base64".to_owned()),
    }
    match decode_packet(input.clone()) {
        Err(DecodeError::InvalidBase64) => Ok(()),
        other => Err(format!("expected InvalidBase64, got {other:?}")),
    }
}

/// Checks a decode-payload case marked with a `deviation`: our decoder must give the
/// reference's packets up to the first leniently decoded record, then stop there with
/// [`DecodeError::InvalidBase64`]. `reference` is the reference's decoded array.
pub fn check_payload_deviation(input: &str, reference: &Value) -> Result<(), String> {
    let Some(at) = lenient_base64_record(input) else {
        return Err("marked as a deviation, but no record is lenient base64".to_owned());
    };
    let Some(reference) = reference.as_array() else {
        return Err("the reference's result is not an array".to_owned());
    };
    if reference.len() <= at {
        return Err(format!(
            "the reference stopped before record {at}, the lenient one"
        ));
    }
    let ours = decode_payload(ByteString::from(input));
    let before: Vec<Value> = ours.iter().take(at).map(decoded_to_value).collect();
    if before[..] != reference[..at] {
        return Err(format!(
            "records before {at}: expected {}, got {}",
            Value::Array(reference[..at].to_vec()),
            Value::Array(before)
        ));
    }
    match ours.get(at..) {
        Some([Err(DecodeError::InvalidBase64)]) => Ok(()),
        rest => Err(format!(
            "record {at} onwards: expected one InvalidBase64, got {rest:?}"
        )),
    }
}

/// Answers one request line of the batch protocol of `node/diff-engineio.js` with one
/// response line (no newline), in the same format, serialized as `JSON.stringify` does.
///
/// Requests: `{"op": "decode_packet", "input": <text or binary>}`,
/// `{"op": "decode_payload", "input": "<text>"}`,
/// `{"op": "encode_packet", "packet": <packet>, "supportsBinary": <bool>}`,
/// `{"op": "encode_payload", "packets": [<packet>, ...]}`. Answers: `{"decoded": ...}`,
/// `{"encoded": ...}`, or `{"helper_error": "<message>"}` for a malformed request.
///
/// Two differences with the Node helper, both on purpose: this never adds `deviation`
/// (that marks where the *reference* is lenient; we answer with our error), and
/// `encode_payload` of `[]` answers `""` where the reference never answers (`null`).
/// Helper error messages differ too.
///
/// ```
/// let answer = conformance::eio::batch_response(r#"{"op":"decode_packet","input":"4hi"}"#);
/// assert_eq!(answer, r#"{"decoded":{"type":"message","data":"hi"}}"#);
/// ```
pub fn batch_response(line: &str) -> String {
    let answer = serde_json::from_str::<Value>(line)
        .map_err(|e| FormatError::new(e.to_string()))
        .and_then(|request| run_request(&request));
    let json = match answer {
        Ok(Answer::Decoded(d)) => serde_json::to_string(&Decoded { decoded: d }),
        Ok(Answer::DecodedPayload(d)) => serde_json::to_string(&Decoded { decoded: d }),
        Ok(Answer::Encoded(e)) => serde_json::to_string(&Encoded { encoded: e }),
        Err(e) => serde_json::to_string(&HelperError {
            helper_error: e.message(),
        }),
    };
    // Strings and string-keyed objects always serialize.
    json.expect("canonical JSON always serializes")
}

/// Runs the batch protocol: answers every non-blank line of `input` with one line on
/// `output`, and returns the number of lines answered.
///
/// A trailing `\r` is dropped and blank lines are skipped, as in `diff-engineio.js`.
/// Output is flushed whenever all the input read so far has been answered, so this works
/// for one big batch and for a request/response dialogue over a pipe alike.
pub fn run_batch(input: impl Read, output: impl Write) -> io::Result<usize> {
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
            Ok(t) => Some(batch_response(t)),
            Err(_) => Some(
                serde_json::to_string(&HelperError {
                    helper_error: "request is not valid UTF-8",
                })
                .expect("a string serializes"),
            ),
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

enum Answer {
    Decoded(JsonDecoded),
    DecodedPayload(Vec<JsonDecoded>),
    Encoded(Option<JsonData>),
}

#[derive(Serialize)]
struct Decoded<T> {
    decoded: T,
}

#[derive(Serialize)]
struct Encoded {
    encoded: Option<JsonData>,
}

#[derive(Serialize)]
struct HelperError<'a> {
    helper_error: &'a str,
}

fn field<'a>(request: &'a Value, name: &str) -> Result<&'a Value, FormatError> {
    request
        .get(name)
        .ok_or_else(|| FormatError::new(format!("missing {name:?}")))
}

fn run_request(request: &Value) -> Result<Answer, FormatError> {
    if !request.is_object() {
        return Err(FormatError::new("request must be a JSON object"));
    }
    match request.get("op").and_then(Value::as_str) {
        Some("decode_packet") => {
            let input =
                JsonData::from_value(field(request, "input")?).map_err(|e| e.context("input"))?;
            let result = decode_packet(input.to_ws());
            Ok(Answer::Decoded(JsonDecoded::from_result(&result)))
        }
        Some("decode_payload") => {
            let Value::String(input) = field(request, "input")? else {
                return Err(FormatError::new("input: decode_payload takes a string"));
            };
            let results = decode_payload(ByteString::from(input.as_str()));
            Ok(Answer::DecodedPayload(
                results.iter().map(JsonDecoded::from_result).collect(),
            ))
        }
        Some("encode_packet") => {
            let Some(supports_binary) = field(request, "supportsBinary")?.as_bool() else {
                return Err(FormatError::new(r#""supportsBinary" must be a boolean"#));
            };
            let packet =
                packet_from_value(field(request, "packet")?).map_err(|e| e.context("packet"))?;
            Ok(Answer::Encoded(Some(encode_packet(
                &packet,
                supports_binary,
            ))))
        }
        Some("encode_payload") => {
            let packets = packets_from_value(field(request, "packets")?)?;
            Ok(Answer::Encoded(Some(JsonData::Text(encode_payload(
                &packets,
            )))))
        }
        _ => Err(FormatError::new(format!(
            "unknown op {}",
            request.get("op").unwrap_or(&Value::Null)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_data_is_omitted_and_binary_is_hex() {
        let empty = serde_json::to_string(&JsonPacket::from_packet(&Packet::ping())).unwrap();
        assert_eq!(empty, r#"{"type":"ping"}"#);
        let bin = JsonPacket::from_packet(&Packet::binary(&[1u8, 0xff][..]));
        assert_eq!(
            serde_json::to_string(&bin).unwrap(),
            r#"{"type":"message","data":{"binary_hex":"01ff"}}"#
        );
    }

    #[test]
    fn decode_errors_are_the_reference_parser_error() {
        let got = JsonDecoded::from_result(&Err(DecodeError::Empty));
        assert_eq!(
            serde_json::to_string(&got).unwrap(),
            r#"{"error":"parser error"}"#
        );
    }

    #[test]
    fn packets_read_back_from_their_canonical_form() {
        for packet in [
            Packet::message("héllo\u{1e}"),
            Packet::binary(&[0u8, 1, 2][..]),
            Packet::probe(PacketType::Pong),
            Packet::empty(PacketType::Noop),
        ] {
            assert_eq!(
                packet_from_value(&packet_to_value(&packet)).unwrap(),
                packet
            );
        }
    }

    #[test]
    fn malformed_packets_are_format_errors() {
        for bad in [
            r#"{"type":"error"}"#,
            r#"{"type":4}"#,
            r#"{"type":"message","data":null}"#,
            r#"{"type":"message","data":{"binary_hex":"0"}}"#,
            r#"{"type":"message","extra":1}"#,
            r#"["message"]"#,
        ] {
            let value: Value = serde_json::from_str(bad).unwrap();
            assert!(packet_from_value(&value).is_err(), "{bad}");
        }
    }

    #[test]
    fn strict_base64_is_the_regex_of_the_node_helper() {
        for ok in ["", "AQ", "AQ==", "AQI", "AQI=", "AQID", "AQIDBA==", "+/+/"] {
            assert!(is_strict_base64(ok), "{ok}");
        }
        for bad in [
            "A", "AQ=", "AQI==", "A===", "AQIDB", "=", "AQ-_", "AQ==AQ==", "é",
        ] {
            assert!(!is_strict_base64(bad), "{bad}");
        }
    }

    #[test]
    fn the_lenient_record_is_the_first_one_before_any_error() {
        assert_eq!(lenient_base64_record("4a\u{1e}b!!\u{1e}4"), Some(1));
        assert_eq!(lenient_base64_record("4a\u{1e}\u{1e}b!!"), None);
        assert_eq!(lenient_base64_record("bAQ\u{1e}x\u{1e}b!"), None);
        assert_eq!(lenient_base64_record("b-_"), Some(0));
    }

    #[test]
    fn batch_answers_each_op_in_the_helper_format() {
        let cases = [
            (
                r#"{"op":"decode_payload","input":"4a\u001e\u001e4b"}"#,
                r#"{"decoded":[{"type":"message","data":"a"},{"error":"parser error"}]}"#,
            ),
            (
                r#"{"op":"decode_packet","input":{"binary_hex":"0102"}}"#,
                r#"{"decoded":{"type":"message","data":{"binary_hex":"0102"}}}"#,
            ),
            (
                r#"{"op":"encode_packet","packet":{"type":"message","data":{"binary_hex":"01020304"}},"supportsBinary":false}"#,
                r#"{"encoded":"bAQIDBA=="}"#,
            ),
            (
                r#"{"op":"encode_packet","packet":{"type":"message","data":{"binary_hex":"01"}},"supportsBinary":true}"#,
                r#"{"encoded":{"binary_hex":"01"}}"#,
            ),
            (
                r#"{"op":"encode_payload","packets":[{"type":"ping","data":"probe"},{"type":"noop"}]}"#,
                r#"{"encoded":"2probe\u001e6"}"#,
            ),
        ];
        for (request, answer) in cases {
            assert_eq!(batch_response(request), answer, "{request}");
        }
    }

    #[test]
    fn batch_answers_malformed_requests_with_a_helper_error() {
        for request in ["{", "[]", r#"{"op":"nope"}"#, r#"{"op":"decode_payload"}"#] {
            let answer: Value = serde_json::from_str(&batch_response(request)).unwrap();
            assert!(answer["helper_error"].is_string(), "{request}: {answer}");
        }
    }

    #[test]
    fn batch_skips_blank_lines_and_answers_every_other_line() {
        let input = "{\"op\":\"decode_packet\",\"input\":\"2\"}\r\n\n  \n{\"op\":\"decode_packet\",\"input\":\"\"}";
        let mut out = Vec::new();
        assert_eq!(run_batch(input.as_bytes(), &mut out).unwrap(), 2);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"decoded\":{\"type\":\"ping\"}}\n{\"decoded\":{\"error\":\"parser error\"}}\n"
        );
    }
}
