//! Property tests: every valid packet survives encode → decode with both parsers, binary
//! data included; arbitrary input never panics a decoder.

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use socketio_proto::canonical::canonicalize;
use socketio_proto::{DecoderConfig, EngineMessage, Packet, ParserKind};

fn leaf(binary: bool) -> BoxedStrategy<Value> {
    let mut options: Vec<BoxedStrategy<Value>> = vec![
        Just(Value::Null).boxed(),
        any::<bool>().prop_map(Value::Bool).boxed(),
        (-9_007_199_254_740_991i64..=9_007_199_254_740_991)
            .prop_map(Value::from)
            .boxed(),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f))
            .boxed(),
        "\\PC{0,12}".prop_map(Value::String).boxed(),
    ];
    if binary {
        options.push(
            proptest::collection::vec(any::<u8>(), 0..64)
                .prop_map(|b| {
                    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                    json!({ "binary_hex": hex })
                })
                .boxed(),
        );
    }
    proptest::strategy::Union::new(options).boxed()
}

fn value(binary: bool) -> BoxedStrategy<Value> {
    leaf(binary)
        .prop_recursive(4, 32, 5, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec(("[a-z_0-9]{0,6}", inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
            ]
        })
        .boxed()
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_owned()), "/[a-zA-Z0-9/?=_é-]{1,10}"]
}

fn event_name() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-zA-Z:_ -]{0,12}"
            .prop_filter("not reserved", |s| !socketio_proto::RESERVED_EVENTS
                .contains(&s.as_str()))
            .prop_map(Value::String),
        (0u32..1000).prop_map(Value::from),
    ]
}

/// A valid packet in canonical form, for `parser`.
fn packet(parser: ParserKind) -> impl Strategy<Value = Value> {
    let binary = matches!(parser, ParserKind::Default | ParserKind::MsgPack);
    let object = proptest::collection::vec(("[a-z]{0,5}", value(false)), 0..4)
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()))
        .boxed();
    let args = proptest::collection::vec(value(binary), 0..4).boxed();
    let id = proptest::option::of(any::<u64>());
    prop_oneof![
        (namespace(), proptest::option::of(object.clone())).prop_map(|(nsp, data)| with(
            json!({"type": 0, "nsp": nsp}),
            None,
            data
        )),
        namespace().prop_map(|nsp| json!({"type": 1, "nsp": nsp})),
        (namespace(), event_name(), args.clone(), id).prop_map(|(nsp, name, args, id)| {
            let mut data = vec![name];
            data.extend(args);
            with(json!({"type": 2, "nsp": nsp}), id, Some(Value::Array(data)))
        }),
        (namespace(), args, any::<u64>()).prop_map(|(nsp, args, id)| with(
            json!({"type": 3, "nsp": nsp}),
            Some(id),
            Some(Value::Array(args))
        )),
        (
            namespace(),
            prop_oneof!["\\PC{0,10}".prop_map(Value::String), object]
        )
            .prop_map(|(nsp, data)| with(json!({"type": 4, "nsp": nsp}), None, Some(data))),
    ]
}

fn with(mut p: Value, id: Option<u64>, data: Option<Value>) -> Value {
    let o = p.as_object_mut().expect("object");
    if let Some(id) = id {
        o.insert("id".into(), Value::from(id));
    }
    if let Some(d) = data {
        o.insert("data".into(), d);
    }
    p
}

fn roundtrip(parser: ParserKind, canonical: &Value) -> Value {
    let packet = Packet::from_canonical_json(parser, canonical).expect("canonical packet");
    let mut out = Vec::new();
    parser.encode(&packet, &mut out).expect("encode");
    let mut d = parser.decoder(DecoderConfig::default().max_attachments(usize::MAX));
    let mut decoded = None;
    for m in out {
        decoded = d.decode(m).expect("decode");
    }
    decoded.expect("complete packet").to_canonical_json()
}

proptest! {
    #[test]
    fn every_packet_survives_the_default_parser(p in packet(ParserKind::Default)) {
        prop_assert_eq!(roundtrip(ParserKind::Default, &p), canonicalize(&p));
    }

    #[test]
    fn every_packet_survives_the_msgpack_parser(p in packet(ParserKind::MsgPack)) {
        prop_assert_eq!(roundtrip(ParserKind::MsgPack, &p), canonicalize(&p));
    }

    #[test]
    fn decoding_any_text_never_panics(s in "\\PC{0,40}", prefix in "[0-6]{0,2}[0-9-/,]{0,4}") {
        let mut d = ParserKind::Default.decoder(DecoderConfig::default());
        let _ = d.decode(EngineMessage::from(format!("{prefix}{s}")));
    }

    #[test]
    fn decoding_any_bytes_never_panics(b in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut d = ParserKind::MsgPack.decoder(DecoderConfig::default());
        let _ = d.decode(EngineMessage::Binary(Bytes::from(b.clone())));
        let mut d = ParserKind::Default.decoder(DecoderConfig::default());
        let _ = d.decode(EngineMessage::from(r#"51-["a",{"_placeholder":true,"num":0}]"#));
        let _ = d.decode(EngineMessage::Binary(Bytes::from(b)));
    }
}
