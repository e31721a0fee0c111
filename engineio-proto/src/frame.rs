//! Packets encoded once, ready for any transport.

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use base64::Engine as _;

use crate::packet::{BASE64, Data, Packet, WsMessage, base64_len};

/// A packet encoded once, to be queued on any number of sessions.
///
/// A text packet is its full text encoding (`4hello`), which is the WebSocket text frame and
/// the polling record alike. A binary message is its raw bytes, sent as a binary WebSocket
/// frame as is, or as `b`+base64 in a polling payload. Cloning a frame clones a reference
/// count, never the bytes: a broadcast encodes one frame and shares it.
///
/// ```
/// use engineio_proto::{Data, Frame};
///
/// let frame = Frame::message(Data::Text("hello".into()));
/// assert_eq!(frame.len(), 6);
/// let shared = frame.clone(); // no copy of the payload
/// assert_eq!(frame, shared);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::exhaustive_enums)] // text or binary, nothing else exists on the wire
pub enum Frame {
    /// The text encoding of a packet, type character included.
    Text(ByteString),
    /// The data of a binary message.
    Binary(Bytes),
}

impl Frame {
    /// Encodes a packet.
    pub fn from_packet(packet: &Packet) -> Self {
        match &packet.data {
            Data::Binary(b) => Self::Binary(b.clone()),
            Data::Text(_) => Self::Text(packet.to_text()),
        }
    }

    /// Encodes a `message` packet with this data.
    #[allow(
        clippy::expect_used,
        reason = "an invariant of our own encoding, said at the call; never peer input"
    )]
    pub fn message(data: Data) -> Self {
        match data {
            Data::Binary(b) => Self::Binary(b),
            Data::Text(t) => {
                let mut out = BytesMut::with_capacity(1 + t.len());
                out.put_u8(b'4');
                out.put_slice(t.as_bytes());
                // '4' followed by valid UTF-8.
                Self::Text(ByteString::try_from(out.freeze()).expect("valid UTF-8"))
            }
        }
    }

    /// Length of the encoded packet in bytes (raw length for binary).
    pub fn len(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) => b.len(),
        }
    }

    /// True for an empty binary frame (a text frame always has its type character).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Length of this frame inside a polling payload.
    pub fn polling_len(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) => 1 + base64_len(b.len()),
        }
    }

    /// Appends this frame as a polling record (`b`+base64 for binary).
    #[allow(
        clippy::expect_used,
        reason = "an invariant of our own encoding, said at the call; never peer input"
    )]
    pub fn encode_polling(&self, out: &mut BytesMut) {
        match self {
            Self::Text(t) => out.put_slice(t.as_bytes()),
            Self::Binary(b) => {
                out.put_u8(b'b');
                let start = out.len();
                out.resize(start + base64_len(b.len()), 0);
                // Sized exactly for the encoding just above.
                BASE64
                    .encode_slice(b, &mut out[start..])
                    .expect("buffer sized by base64_len");
            }
        }
    }

    /// This frame as a WebSocket message; binary becomes a `b`+base64 text frame when the
    /// client cannot receive binary (`b64=1`).
    #[allow(
        clippy::expect_used,
        reason = "an invariant of our own encoding, said at the call; never peer input"
    )]
    pub fn into_ws_message(self, supports_binary: bool) -> WsMessage {
        match self {
            Self::Text(t) => WsMessage::Text(t),
            Self::Binary(b) if supports_binary => WsMessage::Binary(b),
            Self::Binary(_) => {
                let mut out = BytesMut::with_capacity(self.polling_len());
                self.encode_polling(&mut out);
                // 'b' and base64 are ASCII.
                WsMessage::Text(ByteString::try_from(out.freeze()).expect("ASCII"))
            }
        }
    }
}
