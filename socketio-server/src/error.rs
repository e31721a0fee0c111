//! Errors of the server API.

use socketio_proto::{EncodeError, PayloadError};

/// Why an emit failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
    /// The client does not read fast enough and its buffer is full
    /// ([`crate::SlowClientPolicy::Backpressure`]): use `emit_wait` to wait for room.
    #[error("the client's buffer is full")]
    Full,
    /// The event name is reserved (`connect`, `disconnect`, …).
    #[error("{0:?} is a reserved event name")]
    ReservedEventName(String),
    /// The arguments could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// Why an emit with acknowledgement gave no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// No acknowledgement before the timeout.
    #[error("operation has timed out")]
    Timeout,
    /// The socket disconnected before answering (the client crate's name for it too).
    #[error("socket has been disconnected")]
    Disconnected,
    /// The emit itself failed.
    #[error(transparent)]
    Emit(EmitError),
    /// The acknowledgement's arguments do not have the requested type.
    #[error(transparent)]
    Payload(PayloadError),
}

/// The error a namespace middleware returns to refuse a connection: the client receives
/// CONNECT_ERROR `{"message": …, "data": …}` (`connect_error` with `err.data`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct ConnectError {
    /// The message.
    pub message: String,
    /// Extra data for the client.
    pub data: Option<socketio_proto::Value>,
}

impl ConnectError {
    /// A refusal with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            data: None,
        }
    }

    /// Adds data for the client (`err.data`).
    pub fn with_data(mut self, data: socketio_proto::Value) -> Self {
        self.data = Some(data);
        self
    }
}
