//! Errors, with socket.io-client's strings.

use socketio_proto::endpoint::client as endpoint;
use socketio_proto::endpoint::client::OpenError;
use socketio_proto::{EncodeError, PayloadError, Value};

/// The `connect_error` event: the server refused the namespace (CONNECT_ERROR, with
/// `message` and `data`, the shape of the server crate's `ConnectError`), or the connection
/// could not be made (`"xhr poll error"`, `"websocket error"`, `"timeout"`, …).
///
/// ```
/// use socketio_client::{ConnectError, ConnectErrorKind, OpenError};
///
/// fn retry_later(e: &ConnectError) -> bool {
///     match &e.kind {
///         // A middleware said no: asking again will not help.
///         ConnectErrorKind::Refused => false,
///         ConnectErrorKind::Open(OpenError::Timeout) => true,
///         _ => true,
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct ConnectError {
    /// `err.message`.
    pub message: String,
    /// `err.data`, sent by a server middleware.
    pub data: Option<Value>,
    /// Who said no: the server, or the connection.
    pub kind: ConnectErrorKind,
}

/// Where a [`ConnectError`] comes from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConnectErrorKind {
    /// The server refused the namespace (a CONNECT_ERROR, from a middleware or for an
    /// unknown namespace): the socket is inactive and does not reconnect.
    Refused,
    /// The connection could not be made, for this reason; the Manager retries.
    Open(OpenError),
}

impl ConnectError {
    /// True when the server refused the namespace ([`ConnectErrorKind::Refused`]).
    pub fn is_from_server(&self) -> bool {
        self.kind == ConnectErrorKind::Refused
    }

    pub(crate) fn of_endpoint(e: endpoint::ConnectError) -> Self {
        match e {
            endpoint::ConnectError::Server { message, data } => Self {
                message,
                data,
                kind: ConnectErrorKind::Refused,
            },
            endpoint::ConnectError::Open(e) => Self {
                message: e.to_string(),
                data: None,
                kind: ConnectErrorKind::Open(e),
            },
            // A wildcard is forced by `#[non_exhaustive]` on the endpoint's enum: a cause
            // added there is reported with its message, as a refusal (it does not retry).
            other => Self {
                message: other.message(),
                data: None,
                kind: ConnectErrorKind::Refused,
            },
        }
    }
}

/// Why an emit was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The event name is reserved (`connect`, `disconnect`, …).
    #[error("\"{0}\" is a reserved event name")]
    ReservedEventName(String),
    /// The event is not `[name, ...args]` (never for an emit made with [`crate::Socket`]).
    #[error(transparent)]
    Invalid(socketio_proto::server::CommandError),
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

impl EmitError {
    pub(crate) fn of_endpoint(e: endpoint::EmitError) -> Self {
        use socketio_proto::server::CommandError;
        match e {
            endpoint::EmitError::BufferFull => Self::BufferFull,
            endpoint::EmitError::Invalid(CommandError::ReservedEventName(name)) => {
                Self::ReservedEventName(name.to_owned())
            }
            endpoint::EmitError::Invalid(e) => Self::Invalid(e),
            // A wildcard is forced by `#[non_exhaustive]` on the endpoint's enum: a refusal
            // added there is reported as a closed manager would be, the emit not sent.
            _ => Self::Closed,
        }
    }
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
