//! The msgpack parser, wire-compatible with `socket.io-msgpack-parser` 3.0.2 (which encodes
//! the packet object with `notepack.io`): one binary Engine.IO message per packet, a map with
//! the keys `type`, `data`, `id` and `nsp`, binary data inline as `bin`.
//!
//! Decoding validates the whole message without building a tree (bounded nesting, strict
//! UTF-8), then applies the checks of the reference's `checkPacket` in its order: type, nsp,
//! data, id.

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::{DecodeError, EncodeError};
use crate::message::EngineMessage;
use crate::packet::{AckId, Namespace, Packet, PacketKind};
use crate::payload::Payload;

/// The deepest nesting accepted, as for JSON.
pub(crate) const MAX_DEPTH: usize = 128;

/// The shape of a msgpack value, as `notepack.io` would decode it in JavaScript.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Nil,
    Bool(bool),
    /// An integer or a float (JavaScript has only numbers).
    Number(f64),
    /// An integer that fits exactly.
    Int(i128),
    Str,
    Bin,
    Array(u32),
    Map(u32),
    /// `fixext 1` of type 0: `undefined`.
    Undefined,
    /// `ext` of type 0: an `ArrayBuffer`.
    ArrayBuffer,
    /// `fixext 8` of type 0: a `Date` (milliseconds).
    Date(i64),
    /// Any other extension: `[type, Buffer]` in JavaScript.
    Ext(i8),
}

/// A cursor over one msgpack message.
pub(crate) struct Reader<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
}

const TRUNCATED: DecodeError = DecodeError::InvalidMsgPack("truncated");

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(TRUNCATED)?;
        let s = self.buf.get(self.pos..end).ok_or(TRUNCATED)?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.take(N)?;
        let mut a = [0; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn len_u8(&mut self) -> Result<usize, DecodeError> {
        Ok(usize::from(self.u8()?))
    }
    fn len_u16(&mut self) -> Result<usize, DecodeError> {
        Ok(usize::from(u16::from_be_bytes(self.be()?)))
    }
    fn len_u32(&mut self) -> Result<usize, DecodeError> {
        Ok(u32::from_be_bytes(self.be()?) as usize)
    }

    /// Reads the head of the next value. For strings, binaries and extensions the body is
    /// consumed and returned as a range of the buffer; for arrays and maps only the head is
    /// read.
    pub(crate) fn head(&mut self) -> Result<(Kind, std::ops::Range<usize>), DecodeError> {
        let p = self.u8()?;
        let body = |r: &mut Self, len: usize| -> Result<std::ops::Range<usize>, DecodeError> {
            let start = r.pos;
            r.take(len)?;
            Ok(start..r.pos)
        };
        let empty = self.pos..self.pos;
        Ok(match p {
            0x00..=0x7f => (Kind::Int(i128::from(p)), empty),
            0x80..=0x8f => (Kind::Map(u32::from(p & 0x0f)), empty),
            0x90..=0x9f => (Kind::Array(u32::from(p & 0x0f)), empty),
            0xa0..=0xbf => {
                let r = body(self, usize::from(p & 0x1f))?;
                self.check_utf8(&r)?;
                (Kind::Str, r)
            }
            0xc0 => (Kind::Nil, empty),
            0xc2 => (Kind::Bool(false), empty),
            0xc3 => (Kind::Bool(true), empty),
            0xc4..=0xc6 => {
                let len = match p {
                    0xc4 => self.len_u8()?,
                    0xc5 => self.len_u16()?,
                    _ => self.len_u32()?,
                };
                (Kind::Bin, body(self, len)?)
            }
            0xc7..=0xc9 => {
                let len = match p {
                    0xc7 => self.len_u8()?,
                    0xc8 => self.len_u16()?,
                    _ => self.len_u32()?,
                };
                let ty = self.u8()? as i8;
                let r = body(self, len)?;
                (
                    if ty == 0 {
                        Kind::ArrayBuffer
                    } else {
                        Kind::Ext(ty)
                    },
                    r,
                )
            }
            0xca => (
                Kind::Number(f64::from(f32::from_be_bytes(self.be()?))),
                empty,
            ),
            0xcb => (Kind::Number(f64::from_be_bytes(self.be()?)), empty),
            0xcc => (Kind::Int(i128::from(self.u8()?)), empty),
            0xcd => (Kind::Int(i128::from(u16::from_be_bytes(self.be()?))), empty),
            0xce => (Kind::Int(i128::from(u32::from_be_bytes(self.be()?))), empty),
            0xcf => (Kind::Int(i128::from(u64::from_be_bytes(self.be()?))), empty),
            0xd0 => (Kind::Int(i128::from(i8::from_be_bytes(self.be()?))), empty),
            0xd1 => (Kind::Int(i128::from(i16::from_be_bytes(self.be()?))), empty),
            0xd2 => (Kind::Int(i128::from(i32::from_be_bytes(self.be()?))), empty),
            0xd3 => (Kind::Int(i128::from(i64::from_be_bytes(self.be()?))), empty),
            0xd4..=0xd8 => {
                let ty = self.u8()? as i8;
                let len = 1usize << (p - 0xd4);
                let r = body(self, len)?;
                let kind = match (p, ty) {
                    (0xd4, 0) => Kind::Undefined,
                    (0xd7, 0) => {
                        let s = &self.buf[r.clone()];
                        let hi = i64::from(i32::from_be_bytes([s[0], s[1], s[2], s[3]]));
                        let lo = i64::from(u32::from_be_bytes([s[4], s[5], s[6], s[7]]));
                        Kind::Date(hi * (1 << 32) + lo)
                    }
                    _ => Kind::Ext(ty),
                };
                (kind, r)
            }
            0xd9..=0xdb => {
                let len = match p {
                    0xd9 => self.len_u8()?,
                    0xda => self.len_u16()?,
                    _ => self.len_u32()?,
                };
                let r = body(self, len)?;
                self.check_utf8(&r)?;
                (Kind::Str, r)
            }
            0xdc => (
                Kind::Array(u32::from(u16::from_be_bytes(self.be()?))),
                empty,
            ),
            0xdd => (Kind::Array(u32::from_be_bytes(self.be()?)), empty),
            0xde => (Kind::Map(u32::from(u16::from_be_bytes(self.be()?))), empty),
            0xdf => (Kind::Map(u32::from_be_bytes(self.be()?)), empty),
            0xe0..=0xff => (Kind::Int(i128::from(p as i8)), empty),
            0xc1 => return Err(DecodeError::InvalidMsgPack("unknown format byte 0xc1")),
        })
    }

    fn check_utf8(&self, r: &std::ops::Range<usize>) -> Result<(), DecodeError> {
        std::str::from_utf8(&self.buf[r.clone()])
            .map(|_| ())
            .map_err(|_| DecodeError::InvalidMsgPack("invalid UTF-8 in a string"))
    }

    /// Skips one whole value, checking it.
    pub(crate) fn skip(&mut self, depth: usize) -> Result<Kind, DecodeError> {
        let (kind, _) = self.head()?;
        let items = match kind {
            Kind::Array(n) => u64::from(n),
            Kind::Map(n) => 2 * u64::from(n),
            _ => return Ok(kind),
        };
        if depth >= MAX_DEPTH {
            return Err(DecodeError::NestingTooDeep);
        }
        // Each item takes at least one byte, so a lying length ends at the buffer's end.
        for _ in 0..items {
            self.skip(depth + 1)?;
        }
        Ok(kind)
    }
}

/// The JavaScript number a kind stands for, if it is one.
fn number(kind: Kind) -> Option<f64> {
    match kind {
        Kind::Int(i) => Some(i as f64),
        Kind::Number(n) => Some(n),
        _ => None,
    }
}

/// Decodes one binary message into a packet.
pub(crate) fn decode(data: Bytes) -> Result<Packet, DecodeError> {
    let mut r = Reader::new(&data);
    let (top, _) = r.head()?;
    let mut ty = None;
    let mut nsp = None;
    let mut payload = None;
    let mut id = None;
    if let Kind::Map(n) = top {
        for _ in 0..n {
            let key_start = r.pos;
            let key_kind = r.skip(1)?;
            let key: &[u8] = if key_kind == Kind::Str {
                let mut h = Reader::new(&data[key_start..]);
                let (_, body) = h.head()?;
                &data[key_start + body.start..key_start + body.end]
            } else {
                b""
            };
            let start = r.pos;
            let kind = r.skip(1)?;
            let span = start..r.pos;
            // Duplicate keys: the last one wins, as in JavaScript.
            match key {
                b"type" => ty = Some(kind),
                b"nsp" => nsp = Some((kind, span)),
                b"data" => payload = Some((kind, span)),
                b"id" => id = Some(kind),
                _ => {}
            }
        }
    } else {
        r.pos = 0;
        r.skip(0)?;
    }
    if r.pos != data.len() {
        return Err(DecodeError::InvalidMsgPack("trailing bytes"));
    }

    // checkPacket: type, then nsp, then data, then id.
    let kind = ty
        .and_then(number)
        .filter(|n| n.fract() == 0.0 && (0.0..=4.0).contains(n))
        .and_then(|n| PacketKind::from_code(n as u8))
        .ok_or(DecodeError::InvalidPacketType)?;
    let nsp = match nsp {
        Some((Kind::Str, span)) => {
            let mut head = Reader::new(&data[span.clone()]);
            let (_, body) = head.head()?;
            let raw = data.slice(span.start + body.start..span.start + body.end);
            let s = ByteString::try_from(raw).map_err(|_| DecodeError::InvalidNamespace)?;
            Namespace::from_wire(s)
        }
        _ => return Err(DecodeError::InvalidNamespace),
    };
    let payload = payload.filter(|(k, _)| *k != Kind::Undefined);
    let shape = payload.as_ref().map(|(k, _)| *k);
    let valid = match kind {
        PacketKind::Connect => matches!(shape, None | Some(Kind::Map(_))),
        PacketKind::Disconnect => shape.is_none(),
        PacketKind::ConnectError => matches!(shape, Some(Kind::Str | Kind::Map(_))),
        PacketKind::Event | PacketKind::Ack => matches!(shape, Some(Kind::Array(_) | Kind::Ext(_))),
    };
    if !valid {
        return Err(DecodeError::InvalidPayload {
            kind,
            expected: match kind {
                PacketKind::Connect => "absent or a map",
                PacketKind::Disconnect => "absent",
                PacketKind::ConnectError => "a string or a map",
                PacketKind::Event | PacketKind::Ack => "an array",
            },
        });
    }
    let id = match id {
        None | Some(Kind::Undefined) => None,
        Some(Kind::Int(i)) => Some(AckId::new(
            u64::try_from(i).map_err(|_| DecodeError::InvalidPacketId)?,
        )),
        Some(Kind::Number(n)) if n.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&n) => {
            Some(AckId::new(n as u64))
        }
        Some(_) => return Err(DecodeError::InvalidPacketId),
    };
    Ok(Packet {
        kind,
        nsp,
        id,
        data: payload.map(|(_, span)| Payload::from_wire_msgpack(data.slice(span))),
    })
}

/// Encodes `packet` as one binary message: a map with `type`, `data` (if any), `id` (if any)
/// and `nsp`, in that order (the order in which the Node server builds its packets).
pub(crate) fn encode(packet: &Packet, out: &mut Vec<EngineMessage>) -> Result<(), EncodeError> {
    let data = match &packet.data {
        None => None,
        Some(p) => Some(
            p.msgpack_bytes()
                .ok_or_else(|| EncodeError::FormatMismatch {
                    payload: p.format(),
                    parser: crate::ParserKind::MsgPack,
                })?,
        ),
    };
    let nsp = packet.nsp.as_str();
    let mut buf = Vec::with_capacity(24 + nsp.len() + data.map_or(0, |d| d.len()));
    let entries = 2 + u32::from(data.is_some()) + u32::from(packet.id.is_some());
    // Writing to a Vec cannot fail.
    let _ = rmp::encode::write_map_len(&mut buf, entries);
    let _ = rmp::encode::write_str(&mut buf, "type");
    let _ = rmp::encode::write_uint(&mut buf, u64::from(packet.kind.code()));
    if let Some(d) = data {
        let _ = rmp::encode::write_str(&mut buf, "data");
        buf.extend_from_slice(d);
    }
    if let Some(id) = packet.id {
        let _ = rmp::encode::write_str(&mut buf, "id");
        let _ = rmp::encode::write_uint(&mut buf, id.get());
    }
    let _ = rmp::encode::write_str(&mut buf, "nsp");
    let _ = rmp::encode::write_str(&mut buf, nsp);
    out.push(EngineMessage::Binary(Bytes::from(buf)));
    Ok(())
}
