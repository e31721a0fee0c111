//! The Engine.IO messages that carry Socket.IO packets.

use bytes::Bytes;
use bytestring::ByteString;

/// One Engine.IO `message` packet's data: what this crate consumes and produces.
///
/// It maps one to one onto the Engine.IO layer's message type: a text message (a WebSocket
/// text frame, or a `4…` polling packet) or a binary message (a WebSocket binary frame, or a
/// `b…` base64 polling packet, already decoded). Text is valid UTF-8 by construction.
#[allow(clippy::exhaustive_enums)] // Engine.IO v4 has exactly these two kinds of message
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EngineMessage {
    /// A text message.
    Text(ByteString),
    /// A binary message.
    Binary(Bytes),
}

impl EngineMessage {
    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            Self::Binary(_) => None,
        }
    }

    /// The bytes, if this is a binary message.
    pub fn as_binary(&self) -> Option<&Bytes> {
        match self {
            Self::Text(_) => None,
            Self::Binary(b) => Some(b),
        }
    }

    /// The size in bytes of the data.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) => b.len(),
        }
    }

    /// Whether the data is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<&'static str> for EngineMessage {
    fn from(s: &'static str) -> Self {
        Self::Text(ByteString::from_static(s))
    }
}

impl From<String> for EngineMessage {
    fn from(s: String) -> Self {
        Self::Text(ByteString::from(s))
    }
}

impl From<Bytes> for EngineMessage {
    fn from(b: Bytes) -> Self {
        Self::Binary(b)
    }
}

/// The Engine.IO session hands over its `message` packets as [`engineio_proto::Data`]: the
/// same text-or-binary pair.
impl From<engineio_proto::Data> for EngineMessage {
    fn from(data: engineio_proto::Data) -> Self {
        match data {
            engineio_proto::Data::Text(t) => Self::Text(t),
            engineio_proto::Data::Binary(b) => Self::Binary(b),
        }
    }
}

/// What [`engineio_proto::ClientSession::send`] and [`engineio_proto::ServerSession::send`]
/// take.
impl From<EngineMessage> for engineio_proto::Data {
    fn from(msg: EngineMessage) -> Self {
        match msg {
            EngineMessage::Text(t) => Self::Text(t),
            EngineMessage::Binary(b) => Self::Binary(b),
        }
    }
}

/// The `message` packet that carries this message, ready for any Engine.IO transport (a
/// text message is copied once, behind the `4` type character; binary is shared).
impl From<EngineMessage> for engineio_proto::Frame {
    fn from(msg: EngineMessage) -> Self {
        match msg {
            EngineMessage::Text(t) => Self::message(engineio_proto::Data::Text(t)),
            EngineMessage::Binary(b) => Self::Binary(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_to_and_from_engine_io_data_without_copying() {
        let bin = Bytes::from_static(b"\x01\x02");
        let data: engineio_proto::Data = EngineMessage::Binary(bin.clone()).into();
        assert_eq!(data, engineio_proto::Data::Binary(bin.clone()));
        assert_eq!(EngineMessage::from(data), EngineMessage::Binary(bin));
        let text: engineio_proto::Data = EngineMessage::from("42[\"a\"]").into();
        assert_eq!(EngineMessage::from(text), EngineMessage::from("42[\"a\"]"));
    }
}
