//! Errors, one enum per layer, each variant naming the spec violation.

/// Why a packet or a payload record could not be decoded (PROTOCOL.md §1.2).
///
/// The reference turns all of these into its `{type: "error", data: "parser error"}` packet,
/// which closes the session with reason `"parse error"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The packet (or a record of a payload) is empty.
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type `0`–`6` nor `b`.
    #[error("unknown packet type {:?}", char::from(*.0))]
    UnknownType(u8),
    /// A `b`-prefixed packet whose data is not valid base64.
    #[error("invalid base64 in binary packet")]
    InvalidBase64,
}

/// Why an open (handshake) packet could not be used by a client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The first packet received was not an `open` packet.
    #[error("expected an open packet")]
    NotOpen,
    /// The open packet's data is not the expected JSON object.
    #[error("invalid open packet: {0}")]
    InvalidJson(#[from] serde_json::Error),
}
