//! The default parser (`socket.io-parser` 4.2.7): text headers with JSON payloads, binary
//! attachments as separate Engine.IO binary messages.
//!
//! ```text
//! <type>[<attachments>-][<nsp>,][<ack id>][JSON(data)]     (+ one binary message per attachment)
//! ```
//! See <https://github.com/socketio/socket.io/blob/main/docs/socket.io-protocol/v5-current.md>.

use std::fmt::Write as _;

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::{DecodeError, EncodeError};
use crate::json;
use crate::message::EngineMessage;
use crate::packet::{AckId, Namespace, Packet, PacketKind};
use crate::payload::Payload;

/// A decoded text header: everything but the attachments of a binary packet.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) kind: PacketKind,
    pub(crate) attachments: usize,
    pub(crate) nsp: Namespace,
    pub(crate) id: Option<AckId>,
    pub(crate) payload: Option<ByteString>,
    /// Whether the placeholders must be renumbered once the attachments are in.
    pub(crate) renumber: bool,
}

impl Header {
    pub(crate) fn into_packet(self, attachments: Vec<Bytes>) -> Packet {
        let renumber = self.renumber;
        Packet {
            kind: self.kind,
            nsp: self.nsp,
            id: self.id,
            data: self.payload.map(|text| {
                let payload = Payload::from_wire_json(text, attachments);
                if renumber {
                    payload.renumbered()
                } else {
                    payload
                }
            }),
        }
    }
}

/// Decodes one text message: the header, and the payload validated by the rules of
/// `Decoder.isPayloadValid` (and the placeholders of a binary packet).
pub(crate) fn decode_header(
    text: &ByteString,
    max_attachments: usize,
) -> Result<Header, DecodeError> {
    let b = text.as_bytes();
    let Some(&t) = b.first() else {
        return Err(DecodeError::EmptyPacket);
    };
    let (kind, binary) = match t {
        b'0' => (PacketKind::Connect, false),
        b'1' => (PacketKind::Disconnect, false),
        b'2' => (PacketKind::Event, false),
        b'3' => (PacketKind::Ack, false),
        b'4' => (PacketKind::ConnectError, false),
        b'5' => (PacketKind::Event, true),
        b'6' => (PacketKind::Ack, true),
        _ => {
            let c = text.chars().next().unwrap_or('\u{fffd}');
            return Err(DecodeError::UnknownPacketType(c));
        }
    };
    let mut i = 1;

    // <attachments>-
    let mut attachments = 0;
    if binary {
        let dash = b[i..]
            .iter()
            .position(|&c| c == b'-')
            .ok_or(DecodeError::IllegalAttachments)?;
        let digits = &b[i..i + dash];
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(DecodeError::IllegalAttachments);
        }
        let too_many = DecodeError::TooManyAttachments {
            max: max_attachments,
        };
        let n = parse_u64(digits).ok_or_else(|| too_many.clone())?;
        if n == 0 {
            return Err(DecodeError::IllegalAttachments);
        }
        if n > max_attachments as u64 {
            return Err(too_many);
        }
        attachments = n as usize;
        i += dash + 1;
    }

    // <nsp>,  (the comma is optional at the end of the message)
    let nsp = if b.get(i) == Some(&b'/') {
        let end = b[i..]
            .iter()
            .position(|&c| c == b',')
            .map_or(b.len(), |p| i + p);
        let name = text.slice_ref(&text[i..end]);
        i = (end + 1).min(b.len());
        Namespace::from_wire(name)
    } else {
        Namespace::main()
    };

    // <ack id>
    let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let id = if digits > 0 {
        let n = parse_u64(&b[i..i + digits]).ok_or(DecodeError::AckIdOverflow)?;
        i += digits;
        Some(AckId::new(n))
    } else {
        None
    };
    if text[i..].chars().next().is_some_and(is_js_whitespace) {
        // The reference reads whitespace as ack id digits (`Number(" ") == " "`), JavaScript's
        // whitespace, not only ASCII; we refuse rather than differ.
        return Err(DecodeError::InvalidAckId);
    }

    // <JSON(data)>
    let mut renumber = false;
    let payload = if i < b.len() {
        let rest = &text[i..];
        json::check_shape(kind, json::shape(rest)?)?;
        if binary {
            renumber = !json::check_placeholders(rest, attachments)?;
        }
        Some(text.slice_ref(rest))
    } else {
        None
    };

    Ok(Header {
        kind,
        attachments,
        nsp,
        id,
        payload,
        renumber,
    })
}

/// JavaScript's white space and line terminators, which `Number()` trims.
fn is_js_whitespace(c: char) -> bool {
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

fn parse_u64(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Encodes `packet` as `socket.io-parser` 4.2.7 does: one text message, then one binary
/// message per attachment. EVENT and ACK packets with attachments are written as
/// BINARY_EVENT (5) and BINARY_ACK (6).
pub(crate) fn encode(packet: &Packet, out: &mut Vec<EngineMessage>) -> Result<(), EncodeError> {
    let (text, attachments): (Option<&str>, &[Bytes]) = match &packet.data {
        None => (None, &[]),
        Some(p) => match p.json_text() {
            Some(t) => (Some(t), p.attachments()),
            None => {
                return Err(EncodeError::FormatMismatch {
                    payload: p.format(),
                    parser: crate::ParserKind::Default,
                });
            }
        },
    };
    if packet.nsp.as_str().contains(',') {
        return Err(EncodeError::NamespaceNotFramable);
    }
    let binary = !attachments.is_empty();
    let code = match (packet.kind, binary) {
        (PacketKind::Event, true) => 5,
        (PacketKind::Ack, true) => 6,
        (kind, _) => kind.code(),
    };
    let nsp = packet.nsp.as_str();
    let mut s = String::with_capacity(8 + nsp.len() + 21 + text.map_or(0, str::len));
    s.push(char::from(b'0' + code));
    if code >= 5 {
        let _ = write!(s, "{}-", attachments.len());
    }
    if nsp != "/" && !nsp.is_empty() {
        s.push_str(nsp);
        s.push(',');
    }
    if let Some(id) = packet.id {
        let _ = write!(s, "{}", id.get());
    }
    if let Some(text) = text {
        s.push_str(text);
    }
    out.push(EngineMessage::Text(ByteString::from(s)));
    if code >= 5 {
        out.extend(attachments.iter().cloned().map(EngineMessage::Binary));
    }
    Ok(())
}
