//! Why things end, as typed values with socket.io-client's strings.

use std::fmt;

use engineio_proto::{ClientCloseReason, ClientTransportError};

/// Why a socket disconnected: the `disconnect` event's reason (PROTOCOL.md §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// `"io server disconnect"`: the server sent DISCONNECT. No automatic reconnection.
    IoServerDisconnect,
    /// `"io client disconnect"`: the application disconnected. No automatic reconnection.
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
    /// use socketio_proto::endpoint::client::DisconnectReason;
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

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the Engine.IO connection closed: the Manager's `close` event reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// `"forced close"`: the client closed it (the last socket left, or the Manager closed).
    ForcedClose,
    /// `"parse error"`: a Socket.IO packet did not decode.
    ParseError,
    /// `"ping timeout"`: the server stopped pinging.
    PingTimeout,
    /// `"transport close"`: the server closed it.
    TransportClose,
    /// `"transport error"`: a request or the WebSocket failed.
    TransportError,
}

impl CloseReason {
    /// The reason string of socket.io-client's Manager `close` event.
    ///
    /// ```
    /// use socketio_proto::endpoint::client::CloseReason;
    /// assert_eq!(CloseReason::ForcedClose.as_str(), "forced close");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ForcedClose => "forced close",
            Self::ParseError => "parse error",
            Self::PingTimeout => "ping timeout",
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
        }
    }

    /// The reason the sockets see when the connection closes for this reason.
    pub fn disconnect_reason(self) -> DisconnectReason {
        match self {
            Self::ForcedClose => DisconnectReason::IoClientDisconnect,
            Self::ParseError => DisconnectReason::ParseError,
            Self::PingTimeout => DisconnectReason::PingTimeout,
            Self::TransportClose => DisconnectReason::TransportClose,
            Self::TransportError => DisconnectReason::TransportError,
        }
    }

    /// The reason of an Engine.IO session that closed.
    pub(crate) fn of_engine(reason: &ClientCloseReason) -> Self {
        match reason {
            ClientCloseReason::PingTimeout => Self::PingTimeout,
            ClientCloseReason::TransportError(_) => Self::TransportError,
            ClientCloseReason::TransportClose => Self::TransportClose,
            ClientCloseReason::ForcedClose => Self::ForcedClose,
            // A wildcard is forced by `#[non_exhaustive]` on the other crate's enum: a reason
            // added there closes the connection as the server closing it would.
            _ => Self::TransportClose,
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an Engine.IO connection could not be opened: the Manager's `error` event, and the
/// `connect_error` of every active socket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// `"timeout"`: no handshake within the open timeout (the Manager's `timeout` option).
    #[error("timeout")]
    Timeout,
    /// The transport failed (`"xhr poll error"`, `"websocket error"`, …).
    #[error(transparent)]
    Transport(ClientTransportError),
    /// The session closed before its handshake (`"transport close"`).
    #[error("{0}")]
    Closed(CloseReason),
}

/// The `connect_error` event of a socket.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server refused the namespace (CONNECT_ERROR): the socket is inactive and does
    /// not reconnect.
    #[error("{message}")]
    Server {
        /// `err.message`.
        message: String,
        /// `err.data`, sent by a server middleware.
        data: Option<crate::Value>,
    },
    /// The connection could not be made; the Manager retries.
    #[error(transparent)]
    Open(OpenError),
}

impl ConnectError {
    /// `err.message`, as socket.io-client reports it.
    ///
    /// ```
    /// use socketio_proto::endpoint::client::{ConnectError, OpenError};
    /// assert_eq!(ConnectError::Open(OpenError::Timeout).message(), "timeout");
    /// ```
    pub fn message(&self) -> String {
        self.to_string()
    }
}

/// What became of an acknowledgement the application asked for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AckOutcome {
    /// The server answered, with these arguments.
    Answered(crate::Payload),
    /// No answer before the deadline (socket.io-client: "operation has timed out").
    TimedOut,
    /// The namespace disconnected, or the connection closed, before the answer (or a
    /// volatile emit was dropped): "socket has been disconnected".
    Cancelled,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disconnect_reasons_have_the_strings_of_socket_io_client() {
        let all = [
            (
                DisconnectReason::IoServerDisconnect,
                "io server disconnect",
                false,
            ),
            (
                DisconnectReason::IoClientDisconnect,
                "io client disconnect",
                false,
            ),
            (DisconnectReason::PingTimeout, "ping timeout", true),
            (DisconnectReason::TransportClose, "transport close", true),
            (DisconnectReason::TransportError, "transport error", true),
            (DisconnectReason::ParseError, "parse error", true),
        ];
        for (reason, text, reconnects) in all {
            assert_eq!(reason.to_string(), text);
            assert_eq!(reason.will_reconnect(), reconnects, "{text}");
        }
    }

    #[test]
    fn an_engine_close_maps_to_the_managers_reason_and_the_sockets_reason() {
        let cases = [
            (
                ClientCloseReason::PingTimeout,
                "ping timeout",
                "ping timeout",
            ),
            (
                ClientCloseReason::TransportClose,
                "transport close",
                "transport close",
            ),
            (
                ClientCloseReason::TransportError(ClientTransportError::PollError),
                "transport error",
                "transport error",
            ),
            (
                ClientCloseReason::ForcedClose,
                "forced close",
                "io client disconnect",
            ),
        ];
        for (engine, manager, socket) in cases {
            let reason = CloseReason::of_engine(&engine);
            assert_eq!(reason.as_str(), engine.as_str());
            assert_eq!(
                (reason.as_str(), reason.disconnect_reason().as_str()),
                (manager, socket)
            );
        }
        assert_eq!(
            CloseReason::ParseError.disconnect_reason(),
            DisconnectReason::ParseError
        );
    }

    #[test]
    fn open_errors_read_like_the_reference_messages() {
        let errors = [
            (OpenError::Timeout, "timeout"),
            (
                OpenError::Transport(ClientTransportError::PollError),
                "xhr poll error",
            ),
            (
                OpenError::Transport(ClientTransportError::PostError),
                "xhr post error",
            ),
            (
                OpenError::Transport(ClientTransportError::WebSocketError),
                "websocket error",
            ),
            (
                OpenError::Closed(CloseReason::TransportClose),
                "transport close",
            ),
        ];
        for (error, text) in errors {
            assert_eq!(ConnectError::Open(error).message(), text);
        }
        let server = ConnectError::Server {
            message: "not authorized".into(),
            data: None,
        };
        assert_eq!(server.message(), "not authorized");
    }
}
