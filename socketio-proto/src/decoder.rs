//! Parser selection, the stateful decoder, and the binary attachment assembler.

use bytes::Bytes;
use bytestring::ByteString;

use crate::default_parser::{self, Header};
use crate::error::{DecodeError, EncodeError};
use crate::message::EngineMessage;
use crate::msgpack;
use crate::packet::Packet;
use crate::payload::Payload;

/// Which Socket.IO parser a connection uses. Both ends must agree (the official client selects
/// it with its `parser` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ParserKind {
    /// `socket.io-parser`: text headers with JSON, binary data as attachments.
    #[default]
    Default,
    /// `socket.io-msgpack-parser`: each packet is one binary msgpack message, binary data
    /// inline.
    MsgPack,
}

impl ParserKind {
    /// Encodes `packet` into Engine.IO messages, appended to `out`.
    ///
    /// The default parser writes one text message and then one binary message per attachment;
    /// the msgpack parser writes one binary message.
    pub fn encode(self, packet: &Packet, out: &mut Vec<EngineMessage>) -> Result<(), EncodeError> {
        match self {
            Self::Default => default_parser::encode(packet, out),
            Self::MsgPack => msgpack::encode(packet, out),
        }
    }

    /// A decoder for this parser.
    pub fn decoder(self, config: DecoderConfig) -> Decoder {
        Decoder::new(self, config)
    }

    /// Serializes `value` into a payload for this parser (see [`Payload::new`]).
    pub fn payload<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Payload, EncodeError> {
        Payload::new(self, value)
    }
}

/// Decoder limits.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecoderConfig {
    /// The most attachments one binary packet may announce (`maxAttachments`, default 10,
    /// as in `socket.io-parser` ≥ 4.2.6).
    pub max_attachments: usize,
    /// The most bytes all attachments of one packet may hold together (default 10 MB: ten
    /// attachments of the default `maxHttpBufferSize`).
    pub max_attachment_bytes: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            max_attachments: 10,
            max_attachment_bytes: 10_000_000,
        }
    }
}

impl DecoderConfig {
    /// Sets [`DecoderConfig::max_attachments`].
    pub fn max_attachments(mut self, max: usize) -> Self {
        self.max_attachments = max;
        self
    }

    /// Sets [`DecoderConfig::max_attachment_bytes`].
    pub fn max_attachment_bytes(mut self, max: usize) -> Self {
        self.max_attachment_bytes = max;
        self
    }
}

/// Collects the binary messages that follow a BINARY_EVENT/BINARY_ACK header.
///
/// States: *idle* → (header announcing N attachments) → *assembling* → (N-th binary message)
/// → *idle*, yielding the packet. A text message while assembling is an error
/// ([`DecodeError::UnexpectedText`]), and so is a binary message while idle
/// ([`DecodeError::UnexpectedBinary`]). Memory is bounded by the announced count (itself at
/// most [`DecoderConfig::max_attachments`]) and [`DecoderConfig::max_attachment_bytes`].
#[derive(Debug, Default)]
pub struct BinaryAssembler {
    pending: Option<Pending>,
}

#[derive(Debug)]
struct Pending {
    header: Header,
    received: Vec<Bytes>,
    bytes: usize,
}

impl BinaryAssembler {
    /// Whether a binary packet is waiting for attachments.
    pub fn is_assembling(&self) -> bool {
        self.pending.is_some()
    }

    /// The bytes of the attachments received for the packet being assembled (0 when idle).
    pub fn bytes_held(&self) -> usize {
        self.pending.as_ref().map_or(0, |p| p.bytes)
    }

    /// Starts assembling the packet of `header`.
    fn start(&mut self, header: Header) {
        let received = Vec::with_capacity(header.attachments);
        self.pending = Some(Pending {
            header,
            received,
            bytes: 0,
        });
    }

    /// Takes one binary message; returns the packet when it was the last attachment.
    pub fn push(&mut self, data: Bytes, max_bytes: usize) -> Result<Option<Packet>, DecodeError> {
        let Some(p) = self.pending.as_mut() else {
            return Err(DecodeError::UnexpectedBinary);
        };
        p.bytes = p.bytes.saturating_add(data.len());
        if p.bytes > max_bytes {
            self.pending = None;
            return Err(DecodeError::AttachmentsTooLarge { max: max_bytes });
        }
        p.received.push(data);
        if p.received.len() < p.header.attachments {
            return Ok(None);
        }
        let Some(p) = self.pending.take() else {
            return Ok(None);
        };
        Ok(Some(p.header.into_packet(p.received)))
    }

    /// Drops any partial packet (`Decoder.destroy()` in the reference).
    pub fn reset(&mut self) {
        self.pending = None;
    }
}

/// Turns Engine.IO messages into packets, for one connection.
///
/// Feed every message in order to [`Decoder::decode`]; it returns a packet when one is
/// complete (a binary packet of the default parser completes with its last attachment). After
/// an error the decoder is reset; the reference closes the connection.
#[derive(Debug)]
pub struct Decoder {
    parser: ParserKind,
    config: DecoderConfig,
    assembler: BinaryAssembler,
}

impl Decoder {
    /// A decoder for `parser` with these limits.
    pub fn new(parser: ParserKind, config: DecoderConfig) -> Self {
        Self {
            parser,
            config,
            assembler: BinaryAssembler::default(),
        }
    }

    /// The parser.
    pub fn parser(&self) -> ParserKind {
        self.parser
    }

    /// Decodes one Engine.IO message.
    pub fn decode(&mut self, msg: EngineMessage) -> Result<Option<Packet>, DecodeError> {
        match msg {
            EngineMessage::Text(t) => self.decode_text(t),
            EngineMessage::Binary(b) => self.decode_binary(b),
        }
    }

    /// Decodes one text message.
    pub fn decode_text(&mut self, text: ByteString) -> Result<Option<Packet>, DecodeError> {
        if self.parser == ParserKind::MsgPack {
            return Err(DecodeError::TextWithMsgPack);
        }
        if self.assembler.is_assembling() {
            self.assembler.reset();
            return Err(DecodeError::UnexpectedText);
        }
        let header = default_parser::decode_header(&text, self.config.max_attachments)?;
        if header.attachments == 0 {
            return Ok(Some(header.into_packet(Vec::new())));
        }
        self.assembler.start(header);
        Ok(None)
    }

    /// Decodes one binary message.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        if self.parser == ParserKind::MsgPack {
            return msgpack::decode(data).map(Some);
        }
        let result = self.assembler.push(data, self.config.max_attachment_bytes);
        if result.is_err() {
            self.assembler.reset();
        }
        result
    }

    /// Whether a binary packet is waiting for attachments.
    pub fn is_assembling(&self) -> bool {
        self.assembler.is_assembling()
    }

    /// The bytes of the attachments held for a binary packet not complete yet: what a server
    /// counts against a budget shared by all its connections.
    pub fn attachment_bytes_held(&self) -> usize {
        self.assembler.bytes_held()
    }

    /// Drops any partial packet.
    pub fn reset(&mut self) {
        self.assembler.reset();
    }
}
