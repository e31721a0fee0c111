//! `sio-wire`: decode and encode wire formats from the command line, one line at a time,
//! in the canonical JSON form of the conformance fixtures. See `USAGE` below, or run
//! `sio-wire --help`.
//!
//! Every command reads stdin line by line and prints exactly one JSON line per input line
//! (blank lines of JSON input are skipped). Bad input never aborts a run: it gets an
//! `{"input_error": "..."}` line (`{"helper_error": ...}` in batch mode, as in the Node
//! helper), and the next line is read.

use std::env;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::ExitCode;

use base64::Engine as _;
use bytes::Bytes;
use bytestring::ByteString;
use conformance::eio::{self, JsonData, JsonDecoded};
use conformance::sio;
use serde::Serialize;
use serde_json::Value;
use socketio_proto::{DecoderConfig, EngineMessage, ParserKind};

const USAGE: &str = "\
sio-wire: Engine.IO and Socket.IO wire formats <-> canonical JSON, one line at a time

USAGE:
    sio-wire eio decode-packet  [--json | --binary]
    sio-wire eio decode-payload [--json | --binary]
    sio-wire eio encode-packet  [--no-binary]
    sio-wire eio encode-payload
    sio-wire eio batch
    sio-wire sio decode [--msgpack] [--json | --binary]
    sio-wire sio encode [--msgpack]
    sio-wire sio batch  [--msgpack]
    sio-wire --help

Each command reads stdin line by line and prints one JSON line per input line.

DECODE (decode-packet prints one packet per line, decode-payload one array per line):
    (default)   each line is the text itself: a packet (`4hello`) or a polling payload
                (records joined by \\x1e); a trailing \\r is dropped
    --binary    each line is standard base64 of the raw bytes: a binary WebSocket message
                for decode-packet, a POST body (maybe not UTF-8) for decode-payload
    --json      each line is a JSON string (so \\n, \\r and \\x1e can be written) or
                {\"binary_hex\": \"0102\"} for bytes; blank lines are skipped

ENCODE (each line is a canonical packet, or an array of packets for encode-payload):
    packet      {\"type\": \"message\", \"data\": \"hello\"}, data omitted for none,
                binary data as {\"binary_hex\": \"0102\"}
    output      a JSON string, or {\"binary_hex\": ...} for a binary WebSocket message
    --no-binary the peer does not support binary (b64=1): binary as b + base64 text

Decoded packets print as {\"type\": \"message\", \"data\": ...}, decode errors as
{\"error\": \"parser error\"}, and unreadable input lines as {\"input_error\": \"...\"}.

BATCH:
    sio-wire eio batch speaks the JSON-lines protocol of conformance/node/diff-engineio.js
    ({\"op\": \"decode_packet\" | \"decode_payload\" | \"encode_packet\" | \"encode_payload\", ...}),
    so both can be fed the same file and their outputs compared line by line.

SOCKET.IO (sio; the default parser, socket.io-parser, or --msgpack, socket.io-msgpack-parser):
    decode      each line is one text message as is (`2/admin,1[\"hi\"]`); with --binary,
                base64 of one binary message (a msgpack packet); with --json, a JSON string,
                {\"binary_hex\": ...}, or an array of them fed in order to one decoder (a
                binary packet and its attachments). Prints {\"decoded\": [<packet>, ...]}, plus
                \"error\": \"<the reference's message>\" when decoding failed (it stops there)
    encode      each line is a canonical packet; prints the array of messages
    packet      {\"type\": 0-4, \"nsp\": \"/admin\", \"id\"?: 12, \"data\"?: [\"event\", ...]}, binary
                values as {\"binary_hex\": \"0102\"} (attachments, or msgpack bin); numbers are
                JavaScript numbers; a decoded BINARY_EVENT/BINARY_ACK shows as type 2/3
    messages    a JSON string (text) or {\"binary_hex\": ...} (binary)
    batch       the JSON-lines protocol of conformance/node/diff-socketio.js
                ({\"op\": \"decode\", \"inputs\": [...]} | {\"op\": \"encode\", \"packet\": {...}}),
                run with the same --msgpack flag on both sides

Unreadable input lines print {\"input_error\": \"...\"}; a packet our encoder refuses prints
{\"encode_error\": \"...\"}. Output is written as JSON.stringify writes it.
";

fn main() -> ExitCode {
    let args: Result<Vec<String>, OsString> =
        env::args_os().skip(1).map(OsString::into_string).collect();
    let Ok(args) = args else {
        return usage_error("arguments must be valid UTF-8");
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => usage_error("missing a protocol family (eio or sio)"),
        ["-h" | "--help" | "help", ..] => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        ["eio", rest @ ..] => match EioCommand::parse(rest) {
            Ok(Some(command)) => finish(command.run(io::stdin().lock(), io::stdout().lock())),
            Ok(None) => {
                print!("{USAGE}");
                ExitCode::SUCCESS
            }
            Err(message) => usage_error(&message),
        },
        ["sio", rest @ ..] => match SioCommand::parse(rest) {
            Ok(Some(command)) => finish(command.run(io::stdin().lock(), io::stdout().lock())),
            Ok(None) => {
                print!("{USAGE}");
                ExitCode::SUCCESS
            }
            Err(message) => usage_error(&message),
        },
        [family, ..] => usage_error(&format!("unknown protocol family {family:?}")),
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("sio-wire: {message}\n\n{USAGE}");
    ExitCode::from(2)
}

fn finish(result: io::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`sio-wire ... | head`): not an error of ours.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sio-wire: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What one `sio-wire eio` line operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EioOp {
    DecodePacket,
    DecodePayload,
    EncodePacket,
    EncodePayload,
}

/// How decode input lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InputForm {
    /// The text itself.
    Raw,
    /// Standard base64 of the bytes.
    Base64,
    /// A JSON string or `{"binary_hex"}`.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EioCommand {
    Lines {
        op: EioOp,
        form: InputForm,
        supports_binary: bool,
    },
    Batch,
}

impl EioCommand {
    /// Parses the arguments after `eio`; `Ok(None)` asks for the usage text.
    fn parse(args: &[&str]) -> Result<Option<Self>, String> {
        let Some((&name, flags)) = args.split_first() else {
            return Err("missing a command after eio".to_owned());
        };
        if flags
            .iter()
            .chain([&name])
            .any(|a| matches!(*a, "-h" | "--help"))
        {
            return Ok(None);
        }
        let op = match name {
            "decode-packet" => EioOp::DecodePacket,
            "decode-payload" => EioOp::DecodePayload,
            "encode-packet" => EioOp::EncodePacket,
            "encode-payload" => EioOp::EncodePayload,
            "batch" => {
                return match flags {
                    [] => Ok(Some(Self::Batch)),
                    [flag, ..] => Err(format!("batch takes no option, got {flag:?}")),
                };
            }
            other => return Err(format!("unknown eio command {other:?}")),
        };
        let decode = matches!(op, EioOp::DecodePacket | EioOp::DecodePayload);
        let mut form = if decode {
            InputForm::Raw
        } else {
            InputForm::Json
        };
        let mut supports_binary = true;
        for &flag in flags {
            match flag {
                // Encode input is always JSON, so --json is accepted there and changes nothing.
                "--json" if form != InputForm::Base64 => form = InputForm::Json,
                "--binary" if decode && form != InputForm::Json => form = InputForm::Base64,
                "--no-binary" if op == EioOp::EncodePacket => supports_binary = false,
                "--json" | "--binary" => {
                    return Err(format!(
                        "{flag} is not allowed here (use --json or --binary, for decoding)"
                    ));
                }
                _ => return Err(format!("unknown option {flag:?} for {name}")),
            }
        }
        Ok(Some(Self::Lines {
            op,
            form,
            supports_binary,
        }))
    }

    fn run(self, input: impl Read, mut output: impl Write) -> io::Result<()> {
        let (op, form, supports_binary) = match self {
            Self::Batch => return eio::run_batch(input, output).map(drop),
            Self::Lines {
                op,
                form,
                supports_binary,
            } => (op, form, supports_binary),
        };
        let mut input = BufReader::new(input);
        let mut line = Vec::new();
        loop {
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if let Some(answer) = answer_line(op, form, supports_binary, text) {
                output.write_all(answer.as_bytes())?;
                output.write_all(b"\n")?;
            }
            if input.buffer().is_empty() {
                output.flush()?;
            }
        }
        output.flush()
    }
}

#[derive(Serialize)]
struct InputError {
    input_error: String,
}

fn to_json(value: &impl Serialize) -> String {
    // Only strings, arrays and string-keyed objects are serialized here.
    serde_json::to_string(value).expect("canonical JSON always serializes")
}

/// The output line for one input line (without its newline), or `None` for a blank line of
/// JSON input.
fn answer_line(op: EioOp, form: InputForm, supports_binary: bool, line: &[u8]) -> Option<String> {
    let answer = match op {
        EioOp::DecodePacket | EioOp::DecodePayload => match read_input(op, form, line) {
            Ok(None) => return None,
            Ok(Some(input)) => Ok(decode(op, input)),
            Err(e) => Err(e),
        },
        EioOp::EncodePacket | EioOp::EncodePayload => match read_json(line) {
            Ok(None) => return None,
            Ok(Some(value)) => encode(op, supports_binary, &value),
            Err(e) => Err(e),
        },
    };
    Some(answer.unwrap_or_else(|input_error| to_json(&InputError { input_error })))
}

/// Decoder input: text, or bytes.
enum Input {
    Text(ByteString),
    Bytes(Bytes),
}

fn read_input(op: EioOp, form: InputForm, line: &[u8]) -> Result<Option<Input>, String> {
    match form {
        InputForm::Raw => match std::str::from_utf8(line) {
            Ok(text) => Ok(Some(Input::Text(ByteString::from(text)))),
            // A payload body can be any bytes; the payload decoder reads bad UTF-8 as U+FFFD,
            // as Node reads a body.
            Err(_) if op == EioOp::DecodePayload => {
                Ok(Some(Input::Bytes(Bytes::copy_from_slice(line))))
            }
            // A text frame is UTF-8 by definition; raw bytes are a binary message.
            Err(_) => {
                Err("line is not valid UTF-8 (write a binary message with --binary)".to_owned())
            }
        },
        InputForm::Base64 => {
            let line =
                std::str::from_utf8(line).map_err(|_| "base64 line is not ASCII".to_owned())?;
            let engine = base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
            );
            let bytes = engine
                .decode(line.trim())
                .map_err(|e| format!("invalid base64: {e}"))?;
            Ok(Some(Input::Bytes(Bytes::from(bytes))))
        }
        InputForm::Json => {
            let Some(value) = read_json(line)? else {
                return Ok(None);
            };
            Ok(Some(
                match JsonData::from_value(&value).map_err(|e| e.to_string())? {
                    JsonData::Text(text) => Input::Text(ByteString::from(text)),
                    data @ JsonData::Binary { .. } => match data.to_ws() {
                        engineio_proto::WsMessage::Binary(bytes) => Input::Bytes(bytes),
                        engineio_proto::WsMessage::Text(text) => Input::Text(text),
                    },
                },
            ))
        }
    }
}

fn read_json(line: &[u8]) -> Result<Option<Value>, String> {
    let line = std::str::from_utf8(line).map_err(|_| "line is not valid UTF-8".to_owned())?;
    if line.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(line)
        .map(Some)
        .map_err(|e| format!("invalid JSON: {e}"))
}

fn decode(op: EioOp, input: Input) -> String {
    if op == EioOp::DecodePayload {
        let results = match input {
            Input::Text(text) => eio::decode_payload(text),
            Input::Bytes(bytes) => eio::decode_payload_bytes(bytes),
        };
        let json: Vec<JsonDecoded> = results.iter().map(JsonDecoded::from_result).collect();
        return to_json(&json);
    }
    let msg = match input {
        Input::Text(text) => engineio_proto::WsMessage::Text(text),
        Input::Bytes(bytes) => engineio_proto::WsMessage::Binary(bytes),
    };
    to_json(&JsonDecoded::from_result(&eio::decode_packet(msg)))
}

fn encode(op: EioOp, supports_binary: bool, value: &Value) -> Result<String, String> {
    let encoded = match op {
        EioOp::EncodePayload => {
            let packets = eio::packets_from_value(value).map_err(|e| e.to_string())?;
            JsonData::Text(eio::encode_payload(&packets))
        }
        _ => {
            let packet = eio::packet_from_value(value).map_err(|e| e.to_string())?;
            eio::encode_packet(&packet, supports_binary)
        }
    };
    Ok(to_json(&encoded))
}

/// What one `sio-wire sio` command does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SioOp {
    /// Decode lines (in the given form).
    Decode(InputForm),
    Encode,
    Batch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SioCommand {
    op: SioOp,
    parser: ParserKind,
}

impl SioCommand {
    /// Parses the arguments after `sio`; `Ok(None)` asks for the usage text.
    fn parse(args: &[&str]) -> Result<Option<Self>, String> {
        let Some((&name, flags)) = args.split_first() else {
            return Err("missing a command after sio (decode, encode or batch)".to_owned());
        };
        if flags
            .iter()
            .chain([&name])
            .any(|a| matches!(*a, "-h" | "--help"))
        {
            return Ok(None);
        }
        let mut op = match name {
            "decode" => SioOp::Decode(InputForm::Raw),
            "encode" => SioOp::Encode,
            "batch" => SioOp::Batch,
            other => return Err(format!("unknown sio command {other:?}")),
        };
        let mut parser = ParserKind::Default;
        for &flag in flags {
            op = match (flag, op) {
                ("--msgpack", op) => {
                    parser = ParserKind::MsgPack;
                    op
                }
                ("--json", SioOp::Decode(InputForm::Raw | InputForm::Json)) => {
                    SioOp::Decode(InputForm::Json)
                }
                ("--binary", SioOp::Decode(InputForm::Raw | InputForm::Base64)) => {
                    SioOp::Decode(InputForm::Base64)
                }
                ("--json" | "--binary", _) => {
                    return Err(format!(
                        "{flag} is not allowed here (use --json or --binary, for decoding)"
                    ));
                }
                _ => return Err(format!("unknown option {flag:?} for sio {name}")),
            };
        }
        Ok(Some(Self { op, parser }))
    }

    fn run(self, input: impl Read, mut output: impl Write) -> io::Result<()> {
        if self.op == SioOp::Batch {
            return sio::run_batch(self.parser, input, output).map(drop);
        }
        let mut input = BufReader::new(input);
        let mut line = Vec::new();
        loop {
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if let Some(answer) = self.answer_line(text) {
                output.write_all(answer.as_bytes())?;
                output.write_all(b"\n")?;
            }
            if input.buffer().is_empty() {
                output.flush()?;
            }
        }
        output.flush()
    }

    /// The output line for one input line, or `None` for a blank line of JSON input.
    fn answer_line(self, line: &[u8]) -> Option<String> {
        let answer = match self.op {
            SioOp::Decode(form) => match read_sio_messages(form, line) {
                Ok(None) => return None,
                Ok(Some(messages)) => Ok(sio::to_js_string(
                    &sio::decode_messages(self.parser, DecoderConfig::default(), messages)
                        .to_value(),
                )),
                Err(e) => Err(e),
            },
            SioOp::Encode => match read_json(line) {
                Ok(None) => return None,
                Ok(Some(value)) => sio::packet_from_value(self.parser, &value)
                    .map_err(|e| e.to_string())
                    .map(|packet| match sio::encode_packet(self.parser, &packet) {
                        Ok(messages) => sio::to_js_string(&Value::Array(
                            messages.iter().map(sio::message_to_value).collect(),
                        )),
                        Err(why) => sio::to_js_string(&serde_json::json!({ "encode_error": why })),
                    }),
                Err(e) => Err(e),
            },
            SioOp::Batch => return None,
        };
        Some(answer.unwrap_or_else(|input_error| to_json(&InputError { input_error })))
    }
}

/// The messages of one `sio decode` input line.
fn read_sio_messages(form: InputForm, line: &[u8]) -> Result<Option<Vec<EngineMessage>>, String> {
    match form {
        InputForm::Raw => match std::str::from_utf8(line) {
            Ok(text) => Ok(Some(vec![EngineMessage::Text(ByteString::from(text))])),
            Err(_) => {
                Err("line is not valid UTF-8 (write a binary message with --binary)".to_owned())
            }
        },
        InputForm::Base64 => match read_input(EioOp::DecodePacket, form, line)? {
            Some(Input::Bytes(bytes)) => Ok(Some(vec![EngineMessage::Binary(bytes)])),
            Some(Input::Text(text)) => Ok(Some(vec![EngineMessage::Text(text)])),
            None => Ok(None),
        },
        InputForm::Json => {
            let Some(value) = read_json(line)? else {
                return Ok(None);
            };
            let messages = match &value {
                Value::Array(_) => sio::messages_from_value(&value),
                _ => sio::message_from_value(&value).map(|m| vec![m]),
            };
            messages.map(Some).map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], input: &str) -> String {
        let command = EioCommand::parse(args).unwrap().unwrap();
        let mut out = Vec::new();
        command.run(input.as_bytes(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn decode_packet_prints_one_canonical_line_per_input_line() {
        assert_eq!(
            run(&["decode-packet"], "4hello\n2probe\r\n\nbAQIDBA==\n"),
            concat!(
                r#"{"type":"message","data":"hello"}"#,
                "\n",
                r#"{"type":"ping","data":"probe"}"#,
                "\n",
                r#"{"error":"parser error"}"#,
                "\n",
                r#"{"type":"message","data":{"binary_hex":"01020304"}}"#,
                "\n",
            )
        );
    }

    #[test]
    fn a_line_that_is_not_utf8_is_an_input_error_for_a_packet_and_reads_with_u_fffd_in_a_payload() {
        let line = b"4\xff\n";
        let mut out = Vec::new();
        let packet = EioCommand::parse(&["decode-packet"]).unwrap().unwrap();
        packet.run(&line[..], &mut out).unwrap();
        let payload = EioCommand::parse(&["decode-payload"]).unwrap().unwrap();
        payload.run(&line[..], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                r#"{"input_error":"line is not valid UTF-8 (write a binary message with --binary)"}"#,
                "\n",
                "[{\"type\":\"message\",\"data\":\"\u{fffd}\"}]",
                "\n",
            )
        );
    }

    #[test]
    fn decode_packet_with_binary_reads_base64_of_a_raw_message() {
        assert_eq!(
            run(&["decode-packet", "--binary"], "NGhp\n!!\n"),
            "{\"type\":\"message\",\"data\":{\"binary_hex\":\"346869\"}}\n{\"input_error\":\"invalid base64: Invalid symbol 33, offset 0.\"}\n"
        );
    }

    #[test]
    fn decode_payload_with_json_takes_separators_and_bodies() {
        assert_eq!(
            run(
                &["decode-payload", "--json"],
                "\"4a\\u001e2\"\n\n{\"binary_hex\":\"34ff\"}\n\"\"\n"
            ),
            concat!(
                r#"[{"type":"message","data":"a"},{"type":"ping"}]"#,
                "\n",
                // 0x34 0xff: the byte that is not UTF-8 reads as U+FFFD.
                "[{\"type\":\"message\",\"data\":\"\u{fffd}\"}]",
                "\n",
                r#"[{"error":"parser error"}]"#,
                "\n",
            )
        );
    }

    #[test]
    fn encode_packet_sends_binary_as_is_unless_told_otherwise() {
        let line = "{\"type\":\"message\",\"data\":{\"binary_hex\":\"01020304\"}}\n";
        assert_eq!(
            run(&["encode-packet"], line),
            "{\"binary_hex\":\"01020304\"}\n"
        );
        assert_eq!(
            run(&["encode-packet", "--no-binary"], line),
            "\"bAQIDBA==\"\n"
        );
        assert_eq!(run(&["encode-packet"], "{\"type\":\"pong\"}\n"), "\"3\"\n");
    }

    #[test]
    fn encode_payload_joins_records_with_the_separator() {
        assert_eq!(
            run(
                &["encode-payload"],
                "[{\"type\":\"message\",\"data\":\"a\"},{\"type\":\"noop\"}]\n[{\"type\":7}]\n"
            ),
            "\"4a\\u001e6\"\n{\"input_error\":\"packets[0]: \\\"type\\\" must be a string\"}\n"
        );
    }

    #[test]
    fn batch_speaks_the_node_helper_protocol() {
        assert_eq!(
            run(&["batch"], "{\"op\":\"decode_packet\",\"input\":\"6\"}\n"),
            "{\"decoded\":{\"type\":\"noop\"}}\n"
        );
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for args in [
            &[][..],
            &["nope"],
            &["decode-packet", "--no-binary"],
            &["encode-packet", "--binary"],
            &["decode-packet", "--json", "--binary"],
            &["batch", "--json"],
        ] {
            assert!(EioCommand::parse(args).is_err(), "{args:?}");
        }
        assert_eq!(EioCommand::parse(&["batch", "--help"]), Ok(None));
    }

    fn run_sio(args: &[&str], input: &[u8]) -> String {
        let command = SioCommand::parse(args).unwrap().unwrap();
        let mut out = Vec::new();
        command.run(input, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn sio_decode_reads_text_lines_base64_and_json_sequences() {
        assert_eq!(
            run_sio(&["sio", "decode"][1..], b"2/admin,1[\"hi\"]\n9\n\xff\n"),
            concat!(
                r#"{"decoded":[{"type":2,"nsp":"/admin","id":1,"data":["hi"]}]}"#,
                "\n",
                r#"{"decoded":[],"error":"unknown packet type 9"}"#,
                "\n",
                r#"{"input_error":"line is not valid UTF-8 (write a binary message with --binary)"}"#,
                "\n",
            )
        );
        let json = "[\"51-[\\\"a\\\",{\\\"_placeholder\\\":true,\\\"num\\\":0}]\",{\"binary_hex\":\"ff\"}]\n\n\"1\"\n7\n";
        assert_eq!(
            run_sio(&["decode", "--json"], json.as_bytes()),
            concat!(
                r#"{"decoded":[{"type":2,"nsp":"/","data":["a",{"binary_hex":"ff"}]}]}"#,
                "\n",
                r#"{"decoded":[{"type":1,"nsp":"/"}]}"#,
                "\n",
                r#"{"input_error":"expected a string or {\"binary_hex\": \"<hex>\"}"}"#,
                "\n",
            )
        );
        // {"type":1,"nsp":"/"} in msgpack, as base64
        assert_eq!(
            run_sio(
                &["decode", "--msgpack", "--binary"],
                b"gqR0eXBlAaNuc3ChLw==\n"
            ),
            "{\"decoded\":[{\"type\":1,\"nsp\":\"/\"}]}\n"
        );
    }

    #[test]
    fn sio_encode_prints_the_messages() {
        let line = b"{\"type\":3,\"nsp\":\"/\",\"id\":4,\"data\":[{\"binary_hex\":\"0102\"}]}\n{\"type\":9}\n";
        assert_eq!(
            run_sio(&["encode"], line),
            concat!(
                r#"["61-4[{\"_placeholder\":true,\"num\":0}]",{"binary_hex":"0102"}]"#,
                "\n",
                r#"{"input_error":"\"type\" must be an integer from 0 to 4"}"#,
                "\n",
            )
        );
        assert_eq!(
            run_sio(&["encode", "--msgpack"], b"{\"type\":1,\"nsp\":\"/\"}\n"),
            "[{\"binary_hex\":\"82a47479706501a36e7370a12f\"}]\n"
        );
    }

    #[test]
    fn sio_batch_speaks_the_node_helper_protocol() {
        assert_eq!(
            run_sio(&["batch"], b"{\"op\":\"decode\",\"inputs\":[\"0\"]}\n"),
            "{\"decoded\":[{\"type\":0,\"nsp\":\"/\"}]}\n"
        );
    }

    #[test]
    fn sio_bad_arguments_are_usage_errors() {
        for args in [
            &[][..],
            &["nope"],
            &["encode", "--json"],
            &["decode", "--json", "--binary"],
            &["batch", "--binary"],
            &["decode", "--no-binary"],
        ] {
            assert!(SioCommand::parse(args).is_err(), "{args:?}");
        }
        assert_eq!(SioCommand::parse(&["decode", "--help"]), Ok(None));
        assert_eq!(
            SioCommand::parse(&["batch", "--msgpack"]),
            Ok(Some(SioCommand {
                op: SioOp::Batch,
                parser: ParserKind::MsgPack
            }))
        );
    }
}
