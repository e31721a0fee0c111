//! The msgpack parser reads every value `notepack.io` (2.2, the version of
//! `socket.io-msgpack-parser` 3.0.2) writes, and hands it to serde types the way JavaScript
//! sees it. The byte strings below are what `notepack.encode` writes for the JavaScript
//! values in the comments.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Deserialize;
use socketio_proto::{DecoderConfig, EngineMessage, Packet, ParserKind, PayloadError, Value};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A msgpack packet `{type, data, nsp: "/"}` with `data` given as msgpack bytes.
fn packet(kind: u8, data: &str) -> Packet {
    let mut m = hex("83 a4 74797065");
    m.push(kind);
    m.extend(hex("a4 64617461"));
    m.extend(hex(data));
    m.extend(hex("a3 6e7370 a1 2f"));
    ParserKind::MsgPack
        .decoder(DecoderConfig::default())
        .decode(EngineMessage::Binary(Bytes::from(m)))
        .expect("valid packet")
        .expect("one packet")
}

#[test]
fn undefined_in_an_object_is_an_absent_key() {
    // ["x", {a: undefined, b: 1}]
    let p = packet(2, "92 a1 78 82 a1 61 d4 00 00 a1 62 01");
    let data = p.data.as_ref().unwrap();
    let (obj,): (serde_json::Value,) = data.event_args().unwrap();
    assert_eq!(obj, serde_json::json!({"b": 1}));
    let (obj,): (BTreeMap<String, u32>,) = data.event_args().unwrap();
    assert_eq!(obj.len(), 1);

    #[derive(Deserialize, Debug, PartialEq)]
    struct Ab {
        a: Option<u32>,
        b: u32,
    }
    let (ab,): (Ab,) = data.event_args().unwrap();
    assert_eq!(ab, Ab { a: None, b: 1 });
}

#[test]
fn undefined_in_an_array_is_null() {
    // ["x", [1, undefined, 3]]
    let p = packet(2, "92 a1 78 93 01 d4 00 00 03");
    let data = p.data.as_ref().unwrap();
    let (arr,): (serde_json::Value,) = data.event_args().unwrap();
    assert_eq!(arr, serde_json::json!([1, null, 3]));
    let (arr,): (Vec<Option<u32>>,) = data.event_args().unwrap();
    assert_eq!(arr, [Some(1), None, Some(3)]);
    let args: Vec<Value> = data.event_args().unwrap();
    assert_eq!(
        args,
        [Value::Array(vec![
            Value::Number(1.into()),
            Value::Null,
            Value::Number(3.into())
        ])]
    );
}

#[test]
fn undefined_as_an_argument_is_null_and_none() {
    // ["x", undefined, {a: undefined, b: 1}, [1, undefined, 3]] as the example
    let p = packet(
        2,
        "94 a1 78 d4 00 00 82 a1 61 d4 00 00 a1 62 01 93 01 d4 00 00 03",
    );
    let data = p.data.as_ref().unwrap();
    let (a, b, c): (Option<u32>, serde_json::Value, serde_json::Value) = data.event_args().unwrap();
    assert_eq!(a, None);
    assert_eq!(b, serde_json::json!({"b": 1}));
    assert_eq!(c, serde_json::json!([1, null, 3]));
    let all: Vec<Value> = data.event_args().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], Value::Null);
}

#[test]
fn undefined_nested_deeply_is_dropped_at_every_level() {
    // ["x", {o: {p: [undefined, {q: undefined}]}}]
    let p = packet(
        2,
        "92 a1 78 81 a1 6f 81 a1 70 92 d4 00 00 81 a1 71 d4 00 00",
    );
    let (v,): (serde_json::Value,) = p.data.as_ref().unwrap().event_args().unwrap();
    assert_eq!(v, serde_json::json!({"o": {"p": [null, {}]}}));
}

#[test]
fn the_node_servers_connect_reply_with_pid_undefined_reads_as_no_pid() {
    // {sid: "x", pid: undefined}, as socket.io 4.8 writes it without state recovery
    let p = packet(0, "82 a3 736964 a1 78 a3 706964 d4 00 00");
    #[derive(Deserialize)]
    struct Reply {
        sid: String,
        pid: Option<String>,
    }
    let reply: Reply = p.data.as_ref().unwrap().deserialize().unwrap();
    assert_eq!(reply.sid, "x");
    assert_eq!(reply.pid, None);
}

#[test]
fn ack_arguments_with_undefined_read_as_javascript_sees_them() {
    // ACK [undefined, {a: undefined}]
    let mut m = hex("84 a4 74797065 03 a4 64617461 92 d4 00 00 81 a1 61 d4 00 00 a2 6964 05");
    m.extend(hex("a3 6e7370 a1 2f"));
    let p = ParserKind::MsgPack
        .decoder(DecoderConfig::default())
        .decode(EngineMessage::Binary(Bytes::from(m)))
        .unwrap()
        .unwrap();
    let v: serde_json::Value = p.data.as_ref().unwrap().deserialize().unwrap();
    assert_eq!(v, serde_json::json!([null, {}]));
}

#[test]
fn a_date_reads_as_its_iso_string_or_its_milliseconds() {
    // ["x", new Date(1700000000123)]: notepack 2.2 writes d7 00 and the int64 milliseconds
    let p = packet(2, "92 a1 78 d7 00 00 00 01 8b cf e5 68 7b");
    let data = p.data.as_ref().unwrap();
    let (s,): (String,) = data.event_args().unwrap();
    assert_eq!(s, "2023-11-14T22:13:20.123Z");
    let (ms,): (i64,) = data.event_args().unwrap();
    assert_eq!(ms, 1_700_000_000_123);
    let (v,): (Value,) = data.event_args().unwrap();
    assert_eq!(v, Value::String("2023-11-14T22:13:20.123Z".into()));
}

#[test]
fn an_array_buffer_extension_reads_as_bytes() {
    // ["x", new Uint8Array([1, 2, 3])]: ext 8 of type 0
    let p = packet(2, "92 a1 78 c7 03 00 01 02 03");
    let data = p.data.as_ref().unwrap();
    let (b,): (Bytes,) = data.event_args().unwrap();
    assert_eq!(&b[..], [1, 2, 3]);
    let (v,): (Vec<u8>,) = data.event_args().unwrap();
    assert_eq!(v, [1, 2, 3]);
}

#[test]
fn another_extension_is_type_and_buffer_or_a_typed_error() {
    // ["x", fixext 2 of type 5]: JavaScript sees [5, <Buffer 01 02>]
    let p = packet(2, "92 a1 78 d5 05 01 02");
    let data = p.data.as_ref().unwrap();
    let (v,): (Value,) = data.event_args().unwrap();
    assert_eq!(
        v,
        Value::Array(vec![
            Value::Number(5.into()),
            Value::Binary(Bytes::from_static(&[1, 2]))
        ])
    );
    let (t, b): (i8, Bytes) = data.event_args::<((i8, Bytes),)>().unwrap().0;
    assert_eq!((t, &b[..]), (5, &[1u8, 2][..]));
    let err = data.event_args::<(String,)>().unwrap_err();
    assert!(
        matches!(err, PayloadError::UnsupportedExtension { ext_type: 5 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("extension type 5"));
    // An unknown field holding one is ignored, as any unknown field.
    #[derive(Deserialize)]
    struct Only {
        b: u32,
    }
    // ["x", {a: ext, b: 1}]
    let p = packet(2, "92 a1 78 82 a1 61 d5 05 01 02 a1 62 01");
    let (o,): (Only,) = p.data.as_ref().unwrap().event_args().unwrap();
    assert_eq!(o.b, 1);
}

#[test]
fn map_keys_that_are_not_strings_are_their_javascript_names() {
    // ["x", {1: "a", 1.5: "b", true: "c", null: "d"}]
    let p = packet(
        2,
        "92 a1 78 84 01 a1 61 cb 3ff8000000000000 a1 62 c3 a1 63 c0 a1 64",
    );
    let data = p.data.as_ref().unwrap();
    let (v,): (serde_json::Value,) = data.event_args().unwrap();
    assert_eq!(
        v,
        serde_json::json!({"1": "a", "1.5": "b", "true": "c", "null": "d"})
    );
    // A type with numeric keys reads numeric and numeric-string keys alike.
    // ["x", {1: "a", "2": "b"}]
    let p = packet(2, "92 a1 78 82 01 a1 61 a1 32 a1 62");
    let (m,): (BTreeMap<u32, String>,) = p.data.as_ref().unwrap().event_args().unwrap();
    assert_eq!(m, BTreeMap::from([(1, "a".into()), (2, "b".into())]));
}

#[test]
fn enums_read_as_in_json() {
    #[derive(Deserialize, Debug, PartialEq)]
    enum E {
        Unit,
        New(u32),
    }
    // ["x", "Unit", {New: 7}]
    let p = packet(2, "93 a1 78 a4 556e6974 81 a3 4e6577 07");
    let (a, b): (E, E) = p.data.as_ref().unwrap().event_args().unwrap();
    assert_eq!((a, b), (E::Unit, E::New(7)));
}

#[test]
fn values_round_trip_through_our_encoder() {
    let args = (
        "name",
        serde_json::json!({"a": [1, 2.5, null, true], "b": "é"}),
        Bytes::from_static(b"\x00\x01"),
    );
    let payload = socketio_proto::Payload::msgpack(&args).unwrap();
    let back: (String, serde_json::Value, Bytes) = payload.deserialize().unwrap();
    assert_eq!(back.0, args.0);
    assert_eq!(back.1, args.1);
    assert_eq!(back.2, args.2);
}

#[test]
fn a_tuple_shorter_than_the_array_is_an_error_as_with_json() {
    let p = packet(2, "93 a1 78 01 02");
    assert!(
        p.data
            .as_ref()
            .unwrap()
            .deserialize::<(String, u8)>()
            .is_err()
    );
    let (one,): (u8,) = p.data.as_ref().unwrap().event_args().unwrap();
    assert_eq!(one, 1, "event_args ignores extra arguments");
}
