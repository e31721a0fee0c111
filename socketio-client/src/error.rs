//! Errors and reasons, with socket.io-client's strings.

use socketio_proto::{EncodeError, PayloadError};

/// Why a socket disconnected: the `disconnect` event's reason (PROTOCOL.md §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// `"io server disconnect"`: the server sent DISCONNECT. No automatic reconnection.
    IoServerDisconnect,
    /// `"io client disconnect"`: [`crate::Socket::disconnect`]. No automatic reconnection.
    IoClientDisconnect,
    /// `"ping timeout"`: the server stopped pinging. The client reconnects.
    PingTimeout,
    /// `"transport close"`: the connection was closed. The client reconnects.
    TransportClose,
    /// `"transport error"`: the connection failed. The client reconnects.
    TransportError,
    /// `"parse error"`: the server sent something that does not decode. The client
    /// reconnects.
    ParseError,
}

impl DisconnectReason {
    /// The reason string of socket.io-client.
    ///
    /// ```
    /// use socketio_client::DisconnectReason;
    /// assert_eq!(DisconnectReason::IoServerDisconnect.as_str(), "io server disconnect");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IoServerDisconnect => "io server disconnect",
            Self::IoClientDisconnect => "io client disconnect",
            Self::PingTimeout => "ping timeout",
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::ParseError => "parse error",
        }
    }

    /// Whether the client reconnects on its own after this reason.
    pub fn will_reconnect(self) -> bool {
        !matches!(self, Self::IoServerDisconnect | Self::IoClientDisconnect)
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `connect_error` event: the server refused the namespace (CONNECT_ERROR, with
/// `message` and `data`), or the connection could not be made (`"xhr poll error"`,
/// `"websocket error"`, `"timeout"`, …).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct ConnectError {
    /// `err.message`.
    pub message: String,
    /// `err.data`, sent by a server middleware.
    pub data: Option<serde_json::Value>,
    /// True for a CONNECT_ERROR from the server (the socket is then inactive and does not
    /// reconnect); false for a connection failure (the Manager retries).
    pub from_server: bool,
}

/// Why an emit was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The event name is reserved (`connect`, `disconnect`, …).
    #[error("\"{0}\" is a reserved event name")]
    ReservedEventName(String),
    /// The arguments could not be serialized.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The socket is disconnected and its buffer of pending emits is full.
    #[error("the offline buffer is full")]
    BufferFull,
    /// The manager is closed.
    #[error("the manager is closed")]
    Closed,
}

/// Why an acknowledgement did not come.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// The emit failed.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// No answer before the deadline (socket.io-client: "operation has timed out").
    #[error("operation has timed out")]
    Timeout,
    /// The socket disconnected before the answer ("socket has been disconnected").
    #[error("socket has been disconnected")]
    Disconnected,
    /// The answer did not deserialize into the requested type.
    #[error(transparent)]
    Payload(#[from] PayloadError),
}
