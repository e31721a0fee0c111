//! Engine.IO packets: one packet as a text string, a WebSocket message or a polling record.
//!
//! PROTOCOL.md §1.2. A packet is a type character `0`–`6` followed by optional text data.
//! A binary `message` has no type character: it travels as a raw WebSocket binary message,
//! or as `b` + standard base64 inside a polling payload (and in a WebSocket text frame
//! when the peer asked for `b64=1`).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::error::DecodeError;

/// Standard base64 with padding on encode, padding optional on decode and non-zero trailing
/// bits tolerated, as the Node decoder does for every well-formed input.
pub(crate) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The seven Engine.IO packet types, with their wire characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::exhaustive_enums)] // complete by definition: the protocol has seven types
pub enum PacketType {
    /// `0`: server → client handshake, JSON data.
    Open,
    /// `1`: close the transport (polling) or the session.
    Close,
    /// `2`: heartbeat from the server; `2probe` from the client during an upgrade.
    Ping,
    /// `3`: heartbeat reply from the client; `3probe` from the server during an upgrade.
    Pong,
    /// `4`: application data.
    Message,
    /// `5`: client → server, completes the upgrade to WebSocket.
    Upgrade,
    /// `6`: server → client, ends a pending poll during an upgrade or a close.
    Noop,
}

impl PacketType {
    /// Every type, in wire order.
    pub const ALL: [Self; 7] = [
        Self::Open,
        Self::Close,
        Self::Ping,
        Self::Pong,
        Self::Message,
        Self::Upgrade,
        Self::Noop,
    ];

    /// The wire character of this type (`b'0'`..=`b'6'`).
    pub const fn as_char(self) -> u8 {
        match self {
            Self::Open => b'0',
            Self::Close => b'1',
            Self::Ping => b'2',
            Self::Pong => b'3',
            Self::Message => b'4',
            Self::Upgrade => b'5',
            Self::Noop => b'6',
        }
    }

    /// The type for a wire character, if it is one of `0`–`6`.
    pub const fn from_char(c: u8) -> Option<Self> {
        Some(match c {
            b'0' => Self::Open,
            b'1' => Self::Close,
            b'2' => Self::Ping,
            b'3' => Self::Pong,
            b'4' => Self::Message,
            b'5' => Self::Upgrade,
            b'6' => Self::Noop,
            _ => return None,
        })
    }

    /// The name the reference parser uses (`"open"`, `"close"`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Close => "close",
            Self::Ping => "ping",
            Self::Pong => "pong",
            Self::Message => "message",
            Self::Upgrade => "upgrade",
            Self::Noop => "noop",
        }
    }

    /// The type for a reference name (`"message"` → [`PacketType::Message`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// The data carried by a packet.
///
/// Text data that is empty is the same as no data: the reference decodes `4` as a message
/// without data and encodes a message with `""` as `4`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::exhaustive_enums)] // text or binary, nothing else exists on the wire
pub enum Data {
    /// UTF-8 text, possibly empty.
    Text(ByteString),
    /// Raw bytes (only `message` packets carry binary on the wire).
    Binary(Bytes),
}

impl Data {
    /// True for empty text (no data on the wire). Empty binary is still binary data.
    pub fn is_empty_text(&self) -> bool {
        matches!(self, Self::Text(t) if t.is_empty())
    }

    /// The length in bytes of the data.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) => b.len(),
        }
    }

    /// True when the data has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Data {
    fn default() -> Self {
        Self::Text(ByteString::new())
    }
}

/// One Engine.IO packet.
///
/// Build packets with the constructors ([`Packet::message`], [`Packet::binary`],
/// [`Packet::ping`], …) and decode them with [`Packet::decode_text`],
/// [`Packet::decode_binary`] or [`Packet::decode_ws`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Packet {
    /// The packet type.
    pub packet_type: PacketType,
    /// The data after the type character (or the binary message).
    pub data: Data,
}

/// One WebSocket message as the Engine.IO transport sends or receives it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::exhaustive_enums)] // text or binary frames, nothing else carries data
pub enum WsMessage {
    /// A text frame.
    Text(ByteString),
    /// A binary frame.
    Binary(Bytes),
}

impl WsMessage {
    /// The length of the message in bytes, as a WebSocket limit measures it.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) => b.len(),
        }
    }

    /// True when the message has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Packet {
    /// A packet of the given type with text data (`""` for none).
    pub fn new(packet_type: PacketType, data: Data) -> Self {
        Self { packet_type, data }
    }

    /// A packet of the given type without data.
    pub fn empty(packet_type: PacketType) -> Self {
        Self::new(packet_type, Data::default())
    }

    /// A text `message` packet (`4<text>`).
    pub fn message(text: impl Into<ByteString>) -> Self {
        Self::new(PacketType::Message, Data::Text(text.into()))
    }

    /// A binary `message` packet.
    pub fn binary(bytes: impl Into<Bytes>) -> Self {
        Self::new(PacketType::Message, Data::Binary(bytes.into()))
    }

    /// A `ping` packet (`2`).
    pub fn ping() -> Self {
        Self::empty(PacketType::Ping)
    }

    /// A `pong` packet (`3`).
    pub fn pong() -> Self {
        Self::empty(PacketType::Pong)
    }

    /// The upgrade probe: `2probe` from the client, or `3probe` (with [`PacketType::Pong`])
    /// from the server.
    pub fn probe(packet_type: PacketType) -> Self {
        Self::new(packet_type, Data::Text(ByteString::from_static("probe")))
    }

    /// True for `2probe` / `3probe` (a ping or pong whose data is `probe`).
    pub fn is_probe(&self) -> bool {
        matches!(self.data, Data::Text(ref t) if t == "probe")
    }

    /// The packet's text data, if it is text.
    pub fn text(&self) -> Option<&str> {
        match &self.data {
            Data::Text(t) => Some(t),
            Data::Binary(_) => None,
        }
    }

    /// Decodes one packet from text: a polling record or a WebSocket text frame.
    ///
    /// `b<base64>` is a binary message; otherwise the first character must be `0`–`6` and
    /// the rest is the data. The data is a slice of `text`, not a copy (binary is decoded
    /// into a new buffer of at most ¾ of the input).
    pub fn decode_text(text: ByteString) -> Result<Self, DecodeError> {
        let Some(&first) = text.as_bytes().first() else {
            return Err(DecodeError::Empty);
        };
        if first == b'b' {
            let b64 = &text.as_bytes()[1..];
            // Padding is optional, but when present it must be complete (`AQ==`): the
            // engine's indifferent mode would also take a partial `AQ=`.
            if b64.ends_with(b"=") && b64.len() % 4 != 0 {
                return Err(DecodeError::InvalidBase64);
            }
            let bytes = BASE64.decode(b64).map_err(|_| DecodeError::InvalidBase64)?;
            return Ok(Self::binary(bytes));
        }
        let Some(packet_type) = PacketType::from_char(first) else {
            return Err(DecodeError::UnknownType(first));
        };
        // The type character is ASCII, so index 1 is a char boundary.
        let data = text.slice_ref(&text[1..]);
        Ok(Self::new(packet_type, Data::Text(data)))
    }

    /// Decodes one raw binary WebSocket message: always a binary `message`.
    pub fn decode_binary(bytes: Bytes) -> Self {
        Self::binary(bytes)
    }

    /// Decodes one WebSocket message (text frame or binary frame).
    pub fn decode_ws(msg: WsMessage) -> Result<Self, DecodeError> {
        match msg {
            WsMessage::Text(t) => Self::decode_text(t),
            WsMessage::Binary(b) => Ok(Self::decode_binary(b)),
        }
    }

    /// The length in bytes of this packet's text encoding (with `b`+base64 for binary).
    pub fn encoded_len(&self) -> usize {
        match &self.data {
            Data::Text(t) => 1 + t.len(),
            Data::Binary(b) => 1 + base64_len(b.len()),
        }
    }

    /// Appends the text encoding of this packet to `out`: `<type><data>`, or `b<base64>` for
    /// a binary message (the polling form).
    #[allow(
        clippy::expect_used,
        reason = "an invariant of our own encoding, said at the call; never peer input"
    )]
    pub fn encode_text(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        match &self.data {
            Data::Text(t) => {
                out.put_u8(self.packet_type.as_char());
                out.put_slice(t.as_bytes());
            }
            Data::Binary(b) => {
                out.put_u8(b'b');
                let start = out.len();
                out.resize(start + base64_len(b.len()), 0);
                // The buffer was sized exactly for the encoding just above.
                let written = BASE64
                    .encode_slice(b, &mut out[start..])
                    .expect("buffer sized by base64_len");
                debug_assert_eq!(written, out.len() - start);
            }
        }
    }

    /// The text encoding of this packet as a string.
    #[allow(
        clippy::expect_used,
        reason = "an invariant of our own encoding, said at the call; never peer input"
    )]
    pub fn to_text(&self) -> ByteString {
        let mut out = BytesMut::new();
        self.encode_text(&mut out);
        // Only ASCII type chars, ASCII base64 and valid UTF-8 data were written.
        ByteString::try_from(out.freeze()).expect("encoding writes valid UTF-8")
    }

    /// Encodes this packet as one WebSocket message.
    ///
    /// A binary message becomes a binary frame of the raw bytes (no copy), unless
    /// `supports_binary` is false (`b64=1`), in which case it is a `b<base64>` text frame.
    pub fn to_ws_message(&self, supports_binary: bool) -> WsMessage {
        match &self.data {
            Data::Binary(b) if supports_binary => WsMessage::Binary(b.clone()),
            Data::Binary(_) | Data::Text(_) => WsMessage::Text(self.to_text()),
        }
    }
}

/// Length of the padded standard base64 encoding of `n` bytes.
pub(crate) const fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(s: &'static str) -> Result<Packet, DecodeError> {
        Packet::decode_text(ByteString::from_static(s))
    }

    #[test]
    fn decodes_a_message_with_text_data() {
        assert_eq!(decode("4hello").unwrap(), Packet::message("hello"));
    }

    #[test]
    fn decodes_a_message_without_data_as_empty_text() {
        let p = decode("4").unwrap();
        assert_eq!(p.packet_type, PacketType::Message);
        assert!(p.data.is_empty_text());
    }

    #[test]
    fn decodes_b_and_base64_as_a_binary_message() {
        assert_eq!(
            decode("bAQIDBA==").unwrap(),
            Packet::binary(&[1u8, 2, 3, 4][..])
        );
        assert_eq!(decode("b").unwrap(), Packet::binary(Bytes::new()));
        assert_eq!(
            decode("bAQIDBA").unwrap(),
            Packet::binary(&[1u8, 2, 3, 4][..])
        );
    }

    #[test]
    fn rejects_an_empty_packet() {
        assert_eq!(decode(""), Err(DecodeError::Empty));
    }

    #[test]
    fn rejects_a_type_character_outside_0_to_6() {
        assert_eq!(decode("a123"), Err(DecodeError::UnknownType(b'a')));
        assert_eq!(decode("7"), Err(DecodeError::UnknownType(b'7')));
        assert_eq!(decode("9x"), Err(DecodeError::UnknownType(b'9')));
    }

    #[test]
    fn rejects_invalid_base64() {
        assert_eq!(decode("b!!!!"), Err(DecodeError::InvalidBase64));
        assert_eq!(decode("bA"), Err(DecodeError::InvalidBase64));
        assert_eq!(decode("bAQ="), Err(DecodeError::InvalidBase64));
        assert_eq!(decode("bAQIDBA="), Err(DecodeError::InvalidBase64));
    }

    #[test]
    fn data_is_a_slice_of_the_input() {
        let input = ByteString::from(String::from("4some data"));
        let p = Packet::decode_text(input.clone()).unwrap();
        let Data::Text(t) = p.data else { panic!() };
        assert_eq!(t.as_ptr(), input[1..].as_ptr());
    }

    #[test]
    fn encodes_binary_as_base64_in_text_and_raw_over_websocket() {
        let p = Packet::binary(&[1u8, 2, 3, 4][..]);
        assert_eq!(&*p.to_text(), "bAQIDBA==");
        assert_eq!(
            p.to_ws_message(true),
            WsMessage::Binary(Bytes::from_static(&[1, 2, 3, 4]))
        );
        assert_eq!(
            p.to_ws_message(false),
            WsMessage::Text(ByteString::from_static("bAQIDBA=="))
        );
        assert_eq!(p.encoded_len(), 9);
    }

    #[test]
    fn encodes_every_type_with_its_character() {
        for t in PacketType::ALL {
            let s = Packet::empty(t).to_text();
            assert_eq!(&s.as_bytes()[..], &[t.as_char()]);
            assert_eq!(PacketType::from_name(t.name()), Some(t));
        }
        assert_eq!(&*Packet::probe(PacketType::Ping).to_text(), "2probe");
    }
}
