//! The default parser against the vectors of `socket.io-parser`'s own tests and the spec.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;
use socketio_proto::{
    AckId, DecodeError, DecoderConfig, EngineMessage, Namespace, Packet, PacketKind, ParserKind,
    Payload,
};

fn decode_all(inputs: Vec<EngineMessage>) -> Result<Vec<Packet>, DecodeError> {
    let mut d = ParserKind::Default.decoder(DecoderConfig::default());
    let mut out = Vec::new();
    for m in inputs {
        if let Some(p) = d.decode(m)? {
            out.push(p);
        }
    }
    Ok(out)
}

fn decode(s: &str) -> Result<Packet, DecodeError> {
    let mut d = ParserKind::Default.decoder(DecoderConfig::default());
    d.decode(EngineMessage::from(s.to_owned()))
        .map(|p| p.expect("a complete packet"))
}

fn encode(p: &Packet) -> Vec<EngineMessage> {
    let mut out = Vec::new();
    ParserKind::Default.encode(p, &mut out).unwrap();
    out
}

fn text(s: &str) -> EngineMessage {
    EngineMessage::from(s.to_owned())
}

fn bin(b: &[u8]) -> EngineMessage {
    EngineMessage::Binary(Bytes::copy_from_slice(b))
}

#[test]
fn encodes_connection_with_auth_on_a_custom_namespace() {
    let p = Packet::connect(
        Namespace::new("/woot").unwrap(),
        Some(Payload::json(&json!({"token": "123"})).unwrap()),
    );
    assert_eq!(encode(&p), [text(r#"0/woot,{"token":"123"}"#)]);
}

#[test]
fn never_writes_the_default_namespace() {
    assert_eq!(
        encode(&Packet::connect(Namespace::main(), None)),
        [text("0")]
    );
    assert_eq!(
        encode(&Packet::disconnect(Namespace::new("/woot").unwrap())),
        [text("1/woot,")]
    );
}

#[test]
fn encodes_an_event_with_ack_on_a_namespace() {
    let p = Packet::event(
        Namespace::new("/test").unwrap(),
        Payload::json(&("a", 1, json!({}))).unwrap(),
        Some(AckId::new(1)),
    );
    assert_eq!(encode(&p), [text(r#"2/test,1["a",1,{}]"#)]);
}

#[test]
fn encodes_binary_data_as_placeholders_and_attachments_in_traversal_order() {
    #[derive(Serialize)]
    struct Deep {
        a: &'static str,
        b: Bytes,
        c: Vec<Bytes>,
    }
    let data = (
        "a",
        Deep {
            a: "hi",
            b: Bytes::from_static(&[0, 0, 0]),
            c: vec![Bytes::from_static(&[1, 2])],
        },
    );
    let p = Packet::event(
        Namespace::new("/deep").unwrap(),
        Payload::json(&data).unwrap(),
        Some(AckId::new(999)),
    );
    assert_eq!(
        encode(&p),
        [
            text(
                r#"52-/deep,999["a",{"a":"hi","b":{"_placeholder":true,"num":0},"c":[{"_placeholder":true,"num":1}]}]"#
            ),
            bin(&[0, 0, 0]),
            bin(&[1, 2]),
        ]
    );
}

#[test]
fn encodes_a_binary_ack() {
    let p = Packet::ack(
        Namespace::main(),
        AckId::new(15),
        Payload::json(&("bar", Bytes::from_static(&[1, 2, 3, 4]))).unwrap(),
    );
    assert_eq!(
        encode(&p),
        [
            text(r#"61-15["bar",{"_placeholder":true,"num":0}]"#),
            bin(&[1, 2, 3, 4])
        ]
    );
}

#[test]
fn decodes_the_namespace_with_or_without_a_trailing_comma() {
    for s in ["0/admin", "0/admin,"] {
        let p = decode(s).unwrap();
        assert_eq!(p.kind, PacketKind::Connect);
        assert_eq!(p.nsp.as_str(), "/admin");
        assert!(p.data.is_none());
    }
    assert_eq!(decode(r#"2/a/b,["x"]"#).unwrap().nsp.as_str(), "/a/b");
    assert_eq!(decode(r#"2/x?y=1,["x"]"#).unwrap().nsp.as_str(), "/x?y=1");
    assert!(decode(r#"2/,["x"]"#).unwrap().nsp.is_main());
}

#[test]
fn decodes_ack_ids_for_every_packet_type() {
    assert_eq!(decode("4123").unwrap().id, Some(AckId::new(123)));
    let p = decode("3/admin,1").unwrap();
    assert_eq!((p.id, p.data.is_none()), (Some(AckId::new(1)), true));
    assert_eq!(
        decode(r#"2/admin,456["project:delete",123]"#).unwrap().id,
        Some(AckId::new(456))
    );
}

#[test]
fn rejects_ack_ids_that_overflow_u64() {
    assert_eq!(
        decode(r#"218446744073709551616["x"]"#),
        Err(DecodeError::AckIdOverflow)
    );
    assert_eq!(
        decode(r#"218446744073709551615["x"]"#).unwrap().id,
        Some(AckId::new(u64::MAX))
    );
}

#[test]
fn rejects_whitespace_where_the_reference_reads_an_ack_id() {
    assert_eq!(decode(r#"2 ["x"]"#), Err(DecodeError::InvalidAckId));
    assert_eq!(decode(r#"21 ["x"]"#), Err(DecodeError::InvalidAckId));
    // JavaScript's whitespace, not only ASCII: `Number("\u00a0") == "\u00a0"` too.
    for ws in ["\u{a0}", "\u{2028}", "\u{feff}", "\u{3000}", "\u{b}"] {
        assert_eq!(
            decode(&format!("2{ws}[\"x\"]")),
            Err(DecodeError::InvalidAckId)
        );
        assert_eq!(
            decode(&format!("2/a,1{ws}")),
            Err(DecodeError::InvalidAckId)
        );
    }
}

#[test]
fn accepts_an_event_without_payload_as_the_reference_does() {
    let p = decode("2").unwrap();
    assert_eq!((p.kind, p.data.is_none()), (PacketKind::Event, true));
}

#[test]
fn rejects_unknown_packet_types() {
    assert_eq!(decode("999"), Err(DecodeError::UnknownPacketType('9')));
    assert_eq!(decode("7"), Err(DecodeError::UnknownPacketType('7')));
    assert_eq!(decode("abc"), Err(DecodeError::UnknownPacketType('a')));
    assert_eq!(decode(""), Err(DecodeError::EmptyPacket));
}

#[test]
fn rejects_illegal_attachment_counts() {
    for s in [
        "5",
        "51",
        "5a-",
        "51.23-",
        "5-1",
        r#"50-["x"]"#,
        "51e1-[\"x\"]",
        "5+1-[\"x\"]",
    ] {
        assert_eq!(decode(s), Err(DecodeError::IllegalAttachments), "{s}");
    }
}

#[test]
fn rejects_more_attachments_than_the_limit() {
    assert_eq!(
        decode(r#"511-["x"]"#),
        Err(DecodeError::TooManyAttachments { max: 10 })
    );
    let mut d = ParserKind::Default.decoder(DecoderConfig::default().max_attachments(2));
    assert_eq!(
        d.decode(text(r#"53-["hello",{"_placeholder":true,"num":0}]"#)),
        Err(DecodeError::TooManyAttachments { max: 2 })
    );
    assert_eq!(
        decode("599999999999999999999999-[]"),
        Err(DecodeError::TooManyAttachments { max: 10 })
    );
}

#[test]
fn rejects_every_invalid_payload_of_the_reference() {
    for s in [
        r#"442["some","data""#,
        r#"0/admin,"invalid""#,
        "0[]",
        "1/admin,{}",
        r#"2/admin,"invalid"#,
        "2/admin,{}",
        r#"2[{"toString":"foo"}]"#,
        r#"2[true,"foo"]"#,
        r#"2[null,"bar"]"#,
        r#"2["connect"]"#,
        r#"2["disconnect","123"]"#,
        "2[]",
        "2{}",
        "2null",
        r#"0"abc""#,
        "0null",
        "3{}",
        "31{}",
        r#"3"x""#,
        "4[]",
        r#"2abc["message-with-ack",1,"2",{"3":[false]}]"#,
        r#"2["connect_error"]"#,
        r#"2["disconnecting"]"#,
        r#"2["newListener"]"#,
        r#"2["removeListener"]"#,
    ] {
        let e = decode(s).expect_err(s);
        assert_eq!(e.reference_message(), "invalid payload", "{s}: {e}");
    }
}

#[test]
fn names_the_reserved_event() {
    assert_eq!(
        decode(r#"2["disconnect"]"#),
        Err(DecodeError::ReservedEventName("disconnect"))
    );
    assert_eq!(
        decode(r#"2["conn\u0065ct"]"#),
        Err(DecodeError::ReservedEventName("connect"))
    );
}

#[test]
fn accepts_numeric_and_empty_event_names() {
    let p = decode(r#"2[1,"a"]"#).unwrap();
    assert_eq!(
        p.data.unwrap().event_name().unwrap(),
        socketio_proto::EventName::Number(1.0)
    );
    let p = decode(r#"2[""]"#).unwrap();
    assert_eq!(p.data.unwrap().event_name().unwrap().as_str(), Some(""));
}

#[test]
fn places_attachments_by_num_not_by_order_of_appearance() {
    let packets = decode_all(vec![
        text(r#"52-["baz",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#),
        bin(b"first"),
        bin(b"second"),
    ])
    .unwrap();
    let data = packets[0].data.as_ref().unwrap();
    let (a, b): (Bytes, Bytes) = data.event_args().unwrap();
    assert_eq!((&a[..], &b[..]), (&b"second"[..], &b"first"[..]));
    assert_eq!(
        data.to_canonical_json(),
        json!(["baz", {"binary_hex": "7365636f6e64"}, {"binary_hex": "6669727374"}])
    );
}

#[test]
fn hands_attachments_to_bytes_fields_of_user_types() {
    #[derive(Deserialize, PartialEq, Debug)]
    struct File {
        name: String,
        content: Bytes,
        chunks: Vec<Vec<u8>>,
    }
    let packets = decode_all(vec![
        text(
            r#"52-/f,7["upload",{"name":"a.txt","content":{"_placeholder":true,"num":0},"chunks":[{"_placeholder":true,"num":1}]}]"#,
        ),
        bin(b"hello"),
        bin(&[1, 2]),
    ])
    .unwrap();
    let p = &packets[0];
    assert_eq!((p.kind, p.id), (PacketKind::Event, Some(AckId::new(7))));
    let (file,): (File,) = p.data.as_ref().unwrap().event_args().unwrap();
    assert_eq!(
        file,
        File {
            name: "a.txt".into(),
            content: Bytes::from_static(b"hello"),
            chunks: vec![vec![1, 2]]
        }
    );
}

#[test]
fn rejects_placeholders_whose_num_is_out_of_range_or_not_a_number() {
    for header in [
        r#"51-["hello",{"_placeholder":true,"num":"splice"}]"#,
        r#"51-["hello",{"_placeholder":true,"num":1}]"#,
        r#"51-["hello",{"_placeholder":true,"num":-1}]"#,
        r#"51-["hello",{"_placeholder":true}]"#,
        r#"51-["hello",{"x":[{"_placeholder":true,"num":3}]}]"#,
    ] {
        assert_eq!(
            decode_all(vec![text(header), bin(b"world")]),
            Err(DecodeError::IllegalPlaceholder),
            "{header}"
        );
    }
}

#[test]
fn treats_objects_whose_placeholder_flag_is_not_true_as_plain_data() {
    let packets = decode_all(vec![
        text(r#"51-["hello",{"_placeholder":false,"num":9},{"_placeholder":true,"num":0}]"#),
        bin(b"w"),
    ])
    .unwrap();
    assert_eq!(
        packets[0].data.as_ref().unwrap().to_canonical_json(),
        json!(["hello", {"_placeholder": false, "num": 9}, {"binary_hex": "77"}])
    );
}

#[test]
fn rejects_plaintext_while_reconstructing_a_packet() {
    assert_eq!(
        decode_all(vec![
            text(r#"51-["hello",{"_placeholder":true,"num":0}]"#),
            text(r#"2["hello"]"#)
        ]),
        Err(DecodeError::UnexpectedText)
    );
}

#[test]
fn rejects_binary_data_when_not_reconstructing_a_packet() {
    assert_eq!(
        decode_all(vec![bin(b"world")]),
        Err(DecodeError::UnexpectedBinary)
    );
}

#[test]
fn resumes_decoding_after_a_reset() {
    let mut d = ParserKind::Default.decoder(DecoderConfig::default());
    assert_eq!(d.decode(text(r#"51-["hello"]"#)), Ok(None));
    assert!(d.is_assembling());
    d.reset();
    assert!(d.decode(text(r#"2["hello"]"#)).unwrap().is_some());
}

#[test]
fn bounds_the_total_size_of_attachments() {
    let mut d = ParserKind::Default.decoder(DecoderConfig::default().max_attachment_bytes(4));
    d.decode(text(
        r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    ))
    .unwrap();
    assert_eq!(d.decode(bin(b"abc")), Ok(None));
    assert_eq!(
        d.decode(bin(b"de")),
        Err(DecodeError::AttachmentsTooLarge { max: 4 })
    );
    assert!(!d.is_assembling());
}

#[test]
fn bounds_json_nesting() {
    let deep = format!("2[\"x\",{}{}]", "[".repeat(200), "]".repeat(200));
    assert_eq!(decode(&deep), Err(DecodeError::NestingTooDeep));
    let ok = format!("2[\"x\",{}{}]", "[".repeat(100), "]".repeat(100));
    assert!(decode(&ok).is_ok());
}

#[test]
fn keeps_the_payload_as_a_slice_of_the_message() {
    let msg = bytestring::ByteString::from(r#"2/admin,1["a",{"b":[1,2]}]"#.to_owned());
    let mut d = ParserKind::Default.decoder(DecoderConfig::default());
    let p = d.decode_text(msg.clone()).unwrap().unwrap();
    let payload = p.data.unwrap();
    let t = payload.json_text().unwrap();
    assert_eq!(&**t, r#"["a",{"b":[1,2]}]"#);
    assert_eq!(t.as_bytes().as_ptr(), msg.as_bytes()[9..].as_ptr());
}

#[test]
fn borrows_strings_from_plain_payloads() {
    let p = decode(r#"2["chat","no escapes here"]"#).unwrap();
    let data = p.data.unwrap();
    let (s,): (&str,) = data.event_args().unwrap();
    assert_eq!(s, "no escapes here");
}

#[test]
fn ignores_arguments_the_type_does_not_read() {
    let p = decode(r#"2["chat",1,2,3]"#).unwrap();
    let (a,): (u32,) = p.data.unwrap().event_args().unwrap();
    assert_eq!(a, 1);
}

#[test]
fn encodes_floats_and_strings_as_json_stringify_does() {
    let p = Packet::event(
        Namespace::main(),
        Payload::json(&("n", 1e21, 0.1, 1.0f64, -0.0f64, "\u{2028}é\u{1}")).unwrap(),
        None,
    );
    assert_eq!(
        encode(&p),
        [text("2[\"n\",1e+21,0.1,1,0,\"\u{2028}é\\u0001\"]")]
    );
}

#[test]
fn reencodes_a_decoded_packet_identically() {
    for s in [
        r#"2/admin,456["project:delete",123]"#,
        r#"3/admin,13["bar"]"#,
        "1/admin,",
        r#"4{"message":"Not authorized"}"#,
        "0",
    ] {
        assert_eq!(encode(&decode(s).unwrap()), [text(s)]);
    }
}

#[test]
#[allow(clippy::type_complexity)] // a table of (header, attachments, expected messages)
fn renumbers_attachments_from_zero_when_a_decoded_packet_is_encoded_again() {
    let cases: [(&str, &[&[u8]], Vec<EngineMessage>); 3] = [
        (
            r#"52-["x",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#,
            &[b"a", b"b"],
            vec![
                text(r#"52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#),
                bin(b"b"),
                bin(b"a"),
            ],
        ),
        (
            r#"52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#,
            &[b"a", b"b"],
            vec![
                text(r#"52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#),
                bin(b"a"),
                bin(b"a"),
            ],
        ),
        (
            r#"52-["x",{"_placeholder":true,"num":1}]"#,
            &[b"a", b"b"],
            vec![text(r#"51-["x",{"_placeholder":true,"num":0}]"#), bin(b"b")],
        ),
    ];
    for (header, bins, expected) in cases {
        let mut inputs = vec![text(header)];
        inputs.extend(bins.iter().map(|b| bin(b)));
        let packets = decode_all(inputs).unwrap();
        assert_eq!(encode(&packets[0]), expected, "{header}");
    }
}

#[test]
fn canonical_integers_beyond_2_pow_53_encode_as_the_node_encoders_write_them() {
    let v = json!({"type": 2, "nsp": "/", "data": ["n", 1152921504606846976.0_f64, 9007199254740991u64]});
    // JSON.stringify: the float's shortest digits, padded with zeros.
    let p = Packet::from_canonical_json(ParserKind::Default, &v).unwrap();
    assert_eq!(
        encode(&p),
        [text(r#"2["n",1152921504606847000,9007199254740991]"#)]
    );
    // `data: null` is no payload, as `null != obj.data` in socket.io-parser.
    let p = Packet::from_canonical_json(
        ParserKind::Default,
        &json!({"type": 1, "nsp": "/a", "data": null}),
    );
    assert_eq!(encode(&p.unwrap()), [text("1/a,")]);
    // notepack.io: an integer (uint 64).
    let p = Packet::from_canonical_json(ParserKind::MsgPack, &v).unwrap();
    let data = p.data.as_ref().unwrap().msgpack_bytes().unwrap();
    assert_eq!(
        &data[..],
        b"\x93\xa1n\xcf\x10\x00\x00\x00\x00\x00\x00\x00\xcf\x00\x1f\xff\xff\xff\xff\xff\xff"
    );
}
