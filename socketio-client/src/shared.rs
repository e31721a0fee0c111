//! What the handles share with the driver task: the commands they send it, and the state of
//! each socket that the driver keeps up to date. It imports neither the handles nor the
//! driver, so that both build on it without a cycle.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use socketio_proto::endpoint::client::{self as endpoint, AckMode, AuthRequest, DisconnectReason};
use socketio_proto::endpoint::client::{CloseReason, OpenError};
use socketio_proto::{AckId, Namespace, Payload};
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::{AckError, ConnectError, EmitError};

/// Commands from the handles to the driver (a bounded channel).
pub(crate) enum Command {
    /// `socket.connect()`; the driver keeps the socket's state from then on.
    Connect(Arc<SocketState>),
    /// `socket.disconnect()`; answered once the DISCONNECT is handed to the connection.
    Disconnect(Namespace, oneshot::Sender<()>),
    Emit {
        nsp: Namespace,
        payload: Payload,
        volatile: bool,
        reply: Reply,
    },
    Ack {
        nsp: Namespace,
        id: AckId,
        payload: Payload,
    },
    /// The application's auth function answered the endpoint's request.
    AuthReady {
        nsp: Namespace,
        request: AuthRequest,
        auth: serde_json::Value,
    },
    /// `manager.close()`; answered once the connection is closed.
    Close(oneshot::Sender<()>),
    /// A Manager setter at run time (`reconnection(v)`, `timeout(v)`, …).
    Reconfigure(Box<dyn FnOnce(&mut endpoint::ClientEndpointConfig) + Send>),
    /// The application listens to the Manager's `packet` event: the endpoint reports
    /// packets from now on.
    ObservePackets,
}

/// A listener of the Manager's `packet` event.
pub(crate) type PacketListener = Arc<dyn Fn(&socketio_proto::Packet) + Send + Sync>;

/// Where the driver reports what became of an emit.
pub(crate) enum Reply {
    /// Taken (sent, buffered or dropped as volatile), or refused.
    Sent(oneshot::Sender<Result<(), EmitError>>),
    /// An ack asked for: its answer, or why none comes.
    Ack(AckMode, oneshot::Sender<Result<Payload, AckError>>),
}

pub(crate) type AuthFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = serde_json::Value> + Send>> + Send + Sync>;

/// The CONNECT payload: a value, or an async function evaluated at each (re)connect.
#[derive(Clone, Default)]
pub(crate) enum Auth {
    #[default]
    None,
    Value(serde_json::Value),
    Fn(AuthFn),
}

impl Auth {
    /// The endpoint's view: a function is asked for at each connect ([`endpoint::Auth::Deferred`]).
    pub(crate) fn to_endpoint(&self) -> endpoint::Auth {
        match self {
            Self::None => endpoint::Auth::None,
            Self::Value(v) => endpoint::Auth::Value(v.clone()),
            Self::Fn(_) => endpoint::Auth::Deferred,
        }
    }
}

/// What the driver hands to a socket's handlers, in order.
#[derive(Debug)]
pub(crate) enum SocketEvent {
    Connect,
    ConnectError(ConnectError),
    Disconnect(DisconnectReason),
    Event(Payload, Option<AckId>),
}

/// `socket.id` and `socket.recovered`, written by the driver.
#[derive(Default)]
pub(crate) struct Info {
    pub(crate) id: Option<String>,
    pub(crate) recovered: bool,
}

/// The state of one socket that its handles read and the driver writes.
pub(crate) struct SocketState {
    pub(crate) nsp: Namespace,
    pub(crate) auth: Mutex<Auth>,
    pub(crate) info: Mutex<Info>,
    pub(crate) connected: AtomicBool,
    pub(crate) active: AtomicBool,
    /// To the task that runs the socket's handlers.
    pub(crate) events: mpsc::UnboundedSender<SocketEvent>,
    /// The outcome of the first connection, for [`crate::ClientBuilder::connect`].
    pub(crate) outcome: watch::Sender<Option<Result<(), ConnectError>>>,
}

pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; recover anyway.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The Engine.IO connection in use, as the driver last saw it (`socket.io.engine`).
#[derive(Default)]
pub(crate) struct EngineInfo {
    /// `engine.id`.
    pub(crate) id: Option<String>,
    /// `engine.transport.name`.
    pub(crate) transport: Option<&'static str>,
    /// The listeners of the Manager's `packet` event (kept across connections).
    pub(crate) packet_listeners: socketio_proto::listeners::AnyListeners<PacketListener>,
}

/// What happens to the Manager's connection (socket.io-client's Manager events).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManagerEvent {
    /// The Engine.IO connection opened (`open`).
    Open,
    /// The Engine.IO connection failed to open (`error`): why (its `Display` is
    /// socket.io-client's message, `"xhr poll error"`, `"websocket error"`, `"timeout"`, …).
    Error(OpenError),
    /// The Engine.IO connection closed (`close`): the engine reason
    /// ([`CloseReason::as_str`] is socket.io-client's string, `"transport close"`, …).
    Close(CloseReason),
    /// The connection moved from polling to WebSocket.
    Upgrade,
    /// Attempt `n` begins (`reconnect_attempt`).
    ReconnectAttempt(u32),
    /// Attempt `n` succeeded (`reconnect`).
    Reconnect(u32),
    /// An attempt failed (`reconnect_error`), and why.
    ReconnectError(OpenError),
    /// `reconnectionAttempts` are used up (`reconnect_failed`).
    ReconnectFailed,
    /// The server pinged (`ping`); the pong is sent already.
    Ping,
}
