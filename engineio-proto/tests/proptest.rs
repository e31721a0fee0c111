//! Property tests of the packet and payload codecs: everything we encode decodes back to
//! what was encoded, in the text form, in both WebSocket forms and in polling payloads, and
//! no input makes a decoder panic.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use engineio_proto::{Data, Packet, PacketType, payload};
use proptest::prelude::*;

fn packet_type() -> impl Strategy<Value = PacketType> {
    prop::sample::select(PacketType::ALL.to_vec())
}

fn binary() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..512).prop_map(Bytes::from)
}

/// Any packet that exists on the wire: text data on every type, binary data on messages
/// (a binary packet has no type character, so it is always a message).
fn packet_with_text(text: impl Strategy<Value = String>) -> impl Strategy<Value = Packet> {
    prop_oneof![
        3 => (packet_type(), text)
            .prop_map(|(t, s)| Packet::new(t, Data::Text(ByteString::from(s)))),
        1 => binary().prop_map(Packet::binary),
    ]
}

fn packet() -> impl Strategy<Value = Packet> {
    packet_with_text(any::<String>())
}

/// A packet whose text has no record separator, so it fits in a polling payload.
fn payload_packet() -> impl Strategy<Value = Packet> {
    packet_with_text("[^\u{1e}]*")
}

fn decode_payload(text: ByteString) -> Vec<Packet> {
    payload::decode(text)
        .collect::<Result<_, _>>()
        .expect("an encoded payload decodes")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_packet_decodes_back_from_its_text_encoding(packet in packet()) {
        let mut out = BytesMut::new();
        packet.encode_text(&mut out);
        let text = ByteString::try_from(out.freeze()).expect("the encoding is UTF-8");
        prop_assert_eq!(&text, &packet.to_text());
        prop_assert_eq!(Packet::decode_text(text), Ok(packet));
    }

    #[test]
    fn every_packet_decodes_back_from_its_websocket_message_with_or_without_binary_support(
        packet in packet(),
        supports_binary in any::<bool>(),
    ) {
        let msg = packet.to_ws_message(supports_binary);
        prop_assert_eq!(Packet::decode_ws(msg), Ok(packet));
    }

    #[test]
    fn every_payload_decodes_back_to_its_packets(
        packets in prop::collection::vec(payload_packet(), 1..12),
    ) {
        let mut out = BytesMut::new();
        payload::encode(&packets, &mut out);
        let body = out.freeze();
        let text = ByteString::try_from(body.clone()).expect("the encoding is UTF-8");
        prop_assert_eq!(decode_payload(text), packets.clone());
        let from_bytes: Result<Vec<_>, _> = payload::decode_bytes(body).collect();
        prop_assert_eq!(from_bytes, Ok(packets));
    }

    #[test]
    fn decoding_any_string_never_panics_and_stops_after_the_first_error(text in any::<String>()) {
        let _ = Packet::decode_text(ByteString::from(text.as_str()));
        let results: Vec<_> = payload::decode(ByteString::from(text)).collect();
        prop_assert!(!results.is_empty());
        let first_error = results.iter().position(Result::is_err);
        prop_assert!(first_error.is_none_or(|i| i == results.len() - 1));
    }

    #[test]
    fn decoding_any_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let bytes = Bytes::from(bytes);
        prop_assert_eq!(Packet::decode_binary(bytes.clone()), Packet::binary(bytes.clone()));
        let results: Vec<_> = payload::decode_bytes(bytes).collect();
        prop_assert!(!results.is_empty());
    }

    #[test]
    fn decoding_base64_like_text_never_panics(text in "b[A-Za-z0-9+/=_-]{0,40}") {
        if let Ok(packet) = Packet::decode_text(ByteString::from(text.as_str())) {
            // Whatever we accept re-encodes to canonical padded base64 of the same bytes.
            let again = Packet::decode_text(packet.to_text());
            prop_assert_eq!(again, Ok(packet));
        }
    }
}
