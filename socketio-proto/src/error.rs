//! Error types. Every peer-input error names the exact spec violation.

use crate::packet::PacketKind;

/// Why a message from the peer could not be decoded into a packet.
///
/// Each variant names the rule of the reference decoder (`socket.io-parser` 4.2.7 or
/// `socket.io-msgpack-parser` 3.0.2) that the input broke; [`DecodeError::reference_message`]
/// gives the exact error string the Node parser throws for the same input. The server closes
/// the whole Engine.IO connection on any of them ("forced close").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The text message is empty. The reference reads it as a CONNECT to `/` (`Number("")`
    /// is `0`); no real peer sends it, so we reject it.
    #[error("empty packet")]
    EmptyPacket,
    /// The first character is not a packet type digit `0`..`6`.
    #[error("unknown packet type {0:?}")]
    UnknownPacketType(char),
    /// The attachment count of a BINARY_EVENT/BINARY_ACK header is missing, not plain ASCII
    /// digits, not followed by `-`, or zero.
    #[error("illegal attachments")]
    IllegalAttachments,
    /// The header announces more attachments than the decoder accepts.
    #[error("too many attachments (limit {max})")]
    TooManyAttachments {
        /// The configured limit ([`crate::DecoderConfig::max_attachments`]).
        max: usize,
    },
    /// The ack id is followed by, or is, whitespace. The reference treats a space as a digit
    /// (`2 ["x"]` has id 0); we accept ASCII digits only.
    #[error("invalid ack id")]
    InvalidAckId,
    /// The ack id does not fit in a `u64`.
    #[error("ack id overflows u64")]
    AckIdOverflow,
    /// The payload is not valid JSON (or not valid msgpack for the msgpack parser).
    #[error("invalid payload: malformed {format}")]
    MalformedPayload {
        /// `"JSON"` or `"msgpack"`.
        format: &'static str,
    },
    /// The payload nests deeper than the decoder allows (128 levels).
    #[error("invalid payload: nested too deeply")]
    NestingTooDeep,
    /// The payload has the wrong shape for the packet type (for example a CONNECT payload that
    /// is not an object, or any DISCONNECT payload).
    #[error("invalid payload: {kind:?} payload must be {expected}")]
    InvalidPayload {
        /// The packet type.
        kind: PacketKind,
        /// What the rule requires.
        expected: &'static str,
    },
    /// The first element of an EVENT payload is neither a number nor a string.
    #[error("invalid payload: the event name must be a string or a number")]
    InvalidEventName,
    /// The event name is one the protocol reserves (`connect`, `disconnect`, ...).
    #[error("invalid payload: {0:?} is a reserved event name")]
    ReservedEventName(&'static str),
    /// A `{"_placeholder":true,"num":N}` object has a `num` that is not an integer in
    /// `0..attachments`.
    #[error("illegal attachments: placeholder num out of range or not a number")]
    IllegalPlaceholder,
    /// A text message arrived while the attachments of a binary packet were expected.
    #[error("got plaintext data when reconstructing a packet")]
    UnexpectedText,
    /// A binary message arrived while no binary packet was being assembled.
    #[error("got binary data when not reconstructing a packet")]
    UnexpectedBinary,
    /// The attachments of one packet exceed the configured total size.
    #[error("attachments exceed {max} bytes")]
    AttachmentsTooLarge {
        /// The configured limit ([`crate::DecoderConfig::max_attachment_bytes`]).
        max: usize,
    },
    /// msgpack: the message is not valid msgpack (truncated, unknown format byte, invalid
    /// UTF-8 in a string, or trailing bytes).
    #[error("invalid msgpack: {0}")]
    InvalidMsgPack(&'static str),
    /// msgpack: `type` is missing, not an integer, or not in `0..=4`.
    #[error("invalid packet type")]
    InvalidPacketType,
    /// msgpack: `nsp` is missing or not a string.
    #[error("invalid namespace")]
    InvalidNamespace,
    /// msgpack: `id` is present but not a non-negative integer that fits in a `u64`.
    #[error("invalid packet id")]
    InvalidPacketId,
    /// msgpack: a text message arrived; this parser only reads binary messages.
    #[error("the msgpack parser got a text message")]
    TextWithMsgPack,
}

impl DecodeError {
    /// The error message that the Node reference parser throws for the same input, for
    /// differential tests.
    ///
    /// Where we are stricter than the reference (documented on the variant), this is the
    /// nearest message of ours, since the reference accepts the input.
    pub fn reference_message(&self) -> &'static str {
        match self {
            Self::EmptyPacket => "empty packet",
            Self::UnknownPacketType(_) => "unknown packet type",
            Self::IllegalAttachments => "Illegal attachments",
            Self::TooManyAttachments { .. } => "too many attachments",
            Self::InvalidAckId | Self::AckIdOverflow => "invalid ack id",
            Self::MalformedPayload { .. }
            | Self::NestingTooDeep
            | Self::InvalidPayload { .. }
            | Self::InvalidEventName
            | Self::ReservedEventName(_) => "invalid payload",
            Self::IllegalPlaceholder => "illegal attachments",
            Self::UnexpectedText => "got plaintext data when reconstructing a packet",
            Self::UnexpectedBinary => "got binary data when not reconstructing a packet",
            Self::AttachmentsTooLarge { .. } => "attachments too large",
            Self::InvalidMsgPack(_) => "invalid msgpack",
            Self::InvalidPacketType => "invalid packet type",
            Self::InvalidNamespace => "invalid namespace",
            Self::InvalidPacketId => "invalid packet id",
            Self::TextWithMsgPack => "invalid msgpack",
        }
    }
}

/// Why a packet or a value could not be encoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The value's `Serialize` implementation failed (for example a map with non-string keys
    /// in JSON).
    #[error("cannot serialize the payload: {0}")]
    Serialize(String),
    /// The payload was built for the other parser.
    #[error("the payload was built for the {payload:?} parser, not the {parser:?} parser")]
    FormatMismatch {
        /// The parser the payload was built for.
        payload: crate::ParserKind,
        /// The parser asked to encode it.
        parser: crate::ParserKind,
    },
    /// The namespace contains a `,`, which the default parser cannot frame.
    #[error("the namespace contains a comma and cannot be framed")]
    NamespaceNotFramable,
    /// The event name is reserved by the protocol and would be rejected by every peer.
    #[error("{0:?} is a reserved event name")]
    ReservedEventName(&'static str),
    /// The value is not of the shape its packet type requires (e.g. event data that is not an
    /// array with a name first).
    #[error("invalid {kind:?} payload: {source}")]
    InvalidPayload {
        /// The packet type.
        kind: PacketKind,
        /// The rule it breaks.
        source: DecodeError,
    },
    /// The canonical JSON form given is not a packet.
    #[error("invalid canonical packet: {0}")]
    InvalidCanonical(&'static str),
}

/// Why a payload could not be deserialized into the type the application asked for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The packet carries no payload.
    #[error("the packet has no payload")]
    Missing,
    /// The payload does not match the requested type.
    #[error("cannot deserialize the payload: {0}")]
    Deserialize(String),
    /// A msgpack extension value (other than the ones `notepack.io` gives a meaning:
    /// `undefined`, `ArrayBuffer`, `Date`) where the type asked for a scalar. JavaScript sees
    /// it as the array `[type, Buffer]`, and so does a type that reads any value (a sequence
    /// or [`Value`](crate::Value)).
    #[error(
        "cannot deserialize the payload: msgpack extension type {ext_type} (JavaScript sees [{ext_type}, Buffer]) where a scalar was expected"
    )]
    UnsupportedExtension {
        /// The extension's type byte.
        ext_type: i8,
    },
}

impl serde::de::Error for PayloadError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self::Deserialize(msg.to_string())
    }
}
