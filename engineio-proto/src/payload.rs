//! Polling payloads: packets joined by the record separator `\x1e` (PROTOCOL.md §1.2).
//!
//! Binary messages are always `b` + base64 inside a payload. The decoder splits on `\x1e`
//! and decodes each record; it stops at the first bad record but keeps the packets decoded
//! before it, as the reference does (`4a\x1e\x1e4b` → `[message "a", error]`).

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::error::DecodeError;
use crate::packet::Packet;

/// The record separator between packets of a polling payload.
pub const SEPARATOR: u8 = 0x1e;

/// Appends the payload encoding of `packets` to `out`.
///
/// # Example
/// ```
/// use bytes::BytesMut;
/// use engineio_proto::{Packet, payload};
///
/// let mut out = BytesMut::new();
/// payload::encode([&Packet::message("hello"), &Packet::binary(&[1u8, 2, 3, 4][..])], &mut out);
/// assert_eq!(&out[..], b"4hello\x1ebAQIDBA==");
/// ```
pub fn encode<'a>(packets: impl IntoIterator<Item = &'a Packet>, out: &mut BytesMut) {
    for (i, packet) in packets.into_iter().enumerate() {
        if i > 0 {
            out.put_u8(SEPARATOR);
        }
        packet.encode_text(out);
    }
}

/// Decodes a payload received as text.
///
/// The returned iterator yields each packet in order, and at most one error, after which
/// it ends. An empty payload yields one [`DecodeError::Empty`].
pub fn decode(payload: ByteString) -> Decoder {
    Decoder {
        state: DecoderState::Records(payload),
    }
}

/// Decodes a payload received as bytes (a polling body): the body is read as UTF-8 once,
/// then decoded as by [`decode`]. Bytes that are not UTF-8 read as U+FFFD, as the reference
/// reads a body (Node's `Buffer` to string; a browser's `responseText`): the packets around
/// them, and the packet holding them, go on.
pub fn decode_bytes(body: Bytes) -> Decoder {
    let text = match std::str::from_utf8(&body) {
        // Valid: the body's bytes are shared, not copied.
        Ok(_) => ByteString::try_from(body).unwrap_or_default(),
        // Rare: the copy is only made for a body that is not UTF-8.
        Err(_) => ByteString::from(String::from_utf8_lossy(&body).into_owned()),
    };
    Decoder {
        state: DecoderState::Records(text),
    }
}

/// Iterator over the packets of a payload; see [`decode`].
#[derive(Debug)]
#[must_use = "a decoder does nothing unless iterated"]
pub struct Decoder {
    state: DecoderState,
}

#[derive(Debug)]
enum DecoderState {
    /// The records not yet decoded.
    Records(ByteString),
    Done,
}

impl Iterator for Decoder {
    type Item = Result<Packet, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = match std::mem::replace(&mut self.state, DecoderState::Done) {
            DecoderState::Records(rest) => rest,
            DecoderState::Done => return None,
        };
        let record = match rest.as_bytes().iter().position(|&b| b == SEPARATOR) {
            Some(i) => {
                // The separator is ASCII, so i and i + 1 are char boundaries.
                self.state = DecoderState::Records(rest.slice_ref(&rest[i + 1..]));
                rest.slice_ref(&rest[..i])
            }
            None => rest,
        };
        let result = Packet::decode_text(record);
        if result.is_err() {
            self.state = DecoderState::Done;
        }
        Some(result)
    }
}

impl std::iter::FusedIterator for Decoder {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PacketType;

    fn decode_all(s: &'static str) -> Vec<Result<Packet, DecodeError>> {
        decode(ByteString::from_static(s)).collect()
    }

    #[test]
    fn decodes_packets_joined_by_the_record_separator() {
        assert_eq!(
            decode_all("4hello\x1e2\x1e4world"),
            vec![
                Ok(Packet::message("hello")),
                Ok(Packet::ping()),
                Ok(Packet::message("world"))
            ]
        );
    }

    #[test]
    fn stops_at_the_first_bad_record_keeping_the_packets_before_it() {
        assert_eq!(
            decode_all("4a\x1e\x1e4b"),
            vec![Ok(Packet::message("a")), Err(DecodeError::Empty)]
        );
        assert_eq!(
            decode_all("4a\x1ex\x1e4b"),
            vec![
                Ok(Packet::message("a")),
                Err(DecodeError::UnknownType(b'x'))
            ]
        );
    }

    #[test]
    fn an_empty_payload_is_an_error() {
        assert_eq!(decode_all(""), vec![Err(DecodeError::Empty)]);
        assert_eq!(decode_all("\x1e"), vec![Err(DecodeError::Empty)]);
    }

    #[test]
    fn bytes_of_a_body_that_are_not_utf8_read_as_replacement_characters() {
        let got: Vec<_> = decode_bytes(Bytes::from_static(b"4a\xff\xfeb\x1e4c")).collect();
        assert_eq!(
            got,
            vec![
                Ok(Packet::message("a\u{fffd}\u{fffd}b")),
                Ok(Packet::message("c"))
            ]
        );
        let got: Vec<_> = decode_bytes(Bytes::from_static(b"6\x1e1")).collect();
        assert_eq!(
            got,
            vec![
                Ok(Packet::empty(PacketType::Noop)),
                Ok(Packet::empty(PacketType::Close))
            ]
        );
    }

    #[test]
    fn encodes_all_packet_types() {
        let packets = [
            Packet::empty(PacketType::Open),
            Packet::empty(PacketType::Close),
            Packet::probe(PacketType::Ping),
            Packet::probe(PacketType::Pong),
            Packet::message("test"),
        ];
        let mut out = BytesMut::new();
        encode(&packets, &mut out);
        assert_eq!(&out[..], b"0\x1e1\x1e2probe\x1e3probe\x1e4test");
    }
}
