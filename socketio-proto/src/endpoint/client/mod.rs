//! The client endpoint: one Engine.IO session at a time, the Socket.IO connection on it, and
//! every decision socket.io-client's Manager and Socket make (PROTOCOL.md §2.5, §2.6, §5.2).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use bytestring::ByteString;
use engineio_proto::{
    ClientCloseReason, ClientConfig as EngineConfig, ClientEvent, ClientSession, ClientTransmit,
    ClientTransportError, TransportKind, Transports, WsMessage,
};

mod backoff;
mod config;
mod reason;

use crate::args::AckData;
use crate::client::{ClientConfig, ClientConnection, CommandError, Event as SioEvent};
use crate::decoder::ParserKind;
use crate::packet::{AckId, Namespace};
use crate::payload::Payload;
use crate::server::check_event_data;
pub use backoff::{Backoff, RandomSource, ReconnectSchedule, SeededRandom};
pub use config::{ClientEndpointConfig, TransportMode};
pub use reason::{AckOutcome, CloseReason, ConnectError, DisconnectReason, OpenError};

/// One Engine.IO connection of the endpoint: every [`Transmit`] names the connection it
/// belongs to, and every transport result is handed back with it, so that the results of a
/// connection the endpoint already gave up are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId(pub u64);

/// The handle of an acknowledgement the application asked for: its outcome comes back as
/// [`SocketEvent::Ack`] with the same handle, exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AckHandle(pub u64);

/// A request for the CONNECT payload of a socket whose auth is [`Auth::Deferred`]; answer it
/// with [`ClientEndpoint::provide_auth`]. An answer to an older request is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuthRequest(pub u64);

/// The CONNECT payload of a socket (`socket.auth`).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub enum Auth {
    /// No payload.
    #[default]
    None,
    /// This object, at every (re)connect.
    Value(serde_json::Value),
    /// Computed by the application at every (re)connect (socket.io-client's auth function):
    /// the endpoint asks with [`Event::AuthNeeded`].
    Deferred,
}

/// Whether an emit asks for an acknowledgement, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AckMode {
    /// No acknowledgement.
    #[default]
    None,
    /// An acknowledgement without a deadline: only an answer or a disconnection ends it.
    NoDeadline,
    /// An acknowledgement that times out this long after the emit, wherever the packet is
    /// (offline buffer, retry queue or in flight).
    Deadline(Duration),
}

/// The options of [`ClientEndpoint::emit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct EmitOptions {
    /// `socket.volatile`: dropped unless the socket is connected and the transport writable;
    /// never buffered, never retried.
    pub volatile: bool,
    /// The acknowledgement asked for.
    pub ack: AckMode,
}

impl EmitOptions {
    /// A volatile emit without ack.
    pub fn volatile() -> Self {
        Self {
            volatile: true,
            ack: AckMode::None,
        }
    }

    /// An emit with this acknowledgement.
    pub fn with_ack(ack: AckMode) -> Self {
        Self {
            volatile: false,
            ack,
        }
    }
}

/// Why [`ClientEndpoint::emit`] refused an emit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The socket is not connected and its offline buffer (or the retry queue) is full.
    #[error("the offline buffer is full")]
    BufferFull,
    /// The payload is not an event (`[name, ...args]`), or its name is reserved.
    #[error(transparent)]
    Invalid(#[from] CommandError),
}

/// A transport action for the driver, on the Engine.IO connection `connection`.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transmit {
    /// The connection the action belongs to. A [`ClientTransmit::Poll`] or
    /// [`ClientTransmit::OpenWebSocket`] without `sid` opens a new connection.
    pub connection: ConnectionId,
    /// The session id to put in the URL (`sid=`), once the handshake is done.
    pub sid: Option<ByteString>,
    /// What to do.
    pub action: ClientTransmit,
}

/// What the Manager learns (socket.io-client's Manager events).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ManagerEvent {
    /// `close`: the open connection closed.
    Close(CloseReason),
    /// `error`: a connection failed to open.
    Error(OpenError),
    /// `open`: the Engine.IO connection opened.
    Open,
    /// `reconnect`: attempt `n` succeeded.
    Reconnect(u32),
    /// `reconnect_attempt`: attempt `n` begins.
    ReconnectAttempt(u32),
    /// `reconnect_error`: an attempt failed.
    ReconnectError(OpenError),
    /// `reconnect_failed`: the reconnection attempts are used up.
    ReconnectFailed,
    /// The connection moved from polling to WebSocket.
    Upgrade,
    /// `ping`: the server pinged (the pong is sent already).
    Ping,
    /// The server broke the protocol: a packet or a handshake that does not decode (the
    /// detail, for the logs). The connection closes for it: `close` or `error` follows.
    ProtocolViolation(String),
    /// `packet`: a packet decoded from the server, before the sockets see it; only with
    /// [`ClientEndpoint::observe_packets`].
    Packet(crate::Packet),
}

/// What one socket (namespace) learns, in order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SocketEvent {
    /// The outcome of the acknowledgement `handle`.
    Ack {
        /// The handle [`ClientEndpoint::emit`] returned.
        handle: AckHandle,
        /// Answered, timed out or cancelled.
        outcome: AckOutcome,
    },
    /// `connect`: the namespace is joined. Events replayed with the CONNECT reply (session
    /// recovery) come before it.
    Connect {
        /// `socket.id`.
        sid: String,
        /// The private session id, when the server has connection state recovery on.
        pid: Option<String>,
        /// `socket.recovered`: the server restored the previous session.
        recovered: bool,
    },
    /// `connect_error`.
    ConnectError(ConnectError),
    /// `disconnect`.
    Disconnect(DisconnectReason),
    /// An event from the server; acknowledge it with [`ClientEndpoint::ack`] when `ack` is
    /// set.
    Event {
        /// `[name, ...args]`.
        data: Payload,
        /// The ack id the server waits for.
        ack: Option<AckId>,
    },
}

/// An output of the endpoint.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The socket of `nsp` needs its auth payload (it is (re)connecting and its auth is
    /// [`Auth::Deferred`]): compute it and call [`ClientEndpoint::provide_auth`].
    AuthNeeded {
        /// The namespace.
        nsp: Namespace,
        /// The request to answer.
        request: AuthRequest,
    },
    /// For the Manager.
    Manager(ManagerEvent),
    /// For the socket of `nsp`.
    Socket {
        /// The namespace.
        nsp: Namespace,
        /// What happened.
        event: SocketEvent,
    },
}

// ---- internal state -------------------------------------------------------------------

/// The Engine.IO connection in use.
#[derive(Debug)]
struct Engine {
    id: ConnectionId,
    session: ClientSession,
    conn: Option<ClientConnection>,
    sid: Option<ByteString>,
    opened: bool,
    open_deadline: Option<Instant>,
    post_in_flight: bool,
}

/// A connection closed by the client that still has its close packet to deliver after a
/// POST in flight (what the old driver did in a task of its own).
#[derive(Debug)]
struct Closing {
    id: ConnectionId,
    session: ClientSession,
    sid: Option<ByteString>,
    post_in_flight: bool,
    deadline: Instant,
}

/// How long a closed connection may take to deliver its close packet.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug)]
enum PendingAck {
    User(AckHandle),
    Queue,
}

#[derive(Debug)]
struct Buffered {
    payload: Payload,
    handle: Option<AckHandle>,
}

#[derive(Debug)]
struct Queued {
    payload: Payload,
    tries: u32,
    pending: bool,
    handle: Option<AckHandle>,
}

/// Where a user's acknowledgement waits.
#[derive(Debug, Clone, Copy)]
enum AckPlace {
    Buffered,
    Queued,
    InFlight(AckId),
}

#[derive(Debug)]
struct TrackedAck {
    nsp: Namespace,
    deadline: Option<Instant>,
    place: AckPlace,
}

#[derive(Debug, Default)]
struct Sock {
    active: bool,
    auth: Auth,
    auth_request: Option<AuthRequest>,
    connect_sent: bool,
    connected: bool,
    sid: Option<String>,
    recovered: bool,
    buffer: VecDeque<Buffered>,
    pending: BTreeMap<AckId, PendingAck>,
    queue: VecDeque<Queued>,
    pid: Option<String>,
    offset: Option<String>,
}

/// A Sans-IO Socket.IO client: one Engine.IO connection at a time (the Manager) and the
/// namespaces multiplexed on it (the Sockets), with every protocol decision of
/// socket.io-client: transport choice, upgrade and `rememberUpgrade`, the open timeout, the
/// reconnection schedule, the offline buffer and the volatile rules, ack deadlines, the
/// retry queue, and the recovery fields (`pid`, `offset`).
///
/// Drive it like the other machines (see the [module docs](super) for the whole loop):
/// - commands: [`connect`](Self::connect), [`disconnect`](Self::disconnect),
///   [`emit`](Self::emit), [`ack`](Self::ack), [`close`](Self::close),
///   [`provide_auth`](Self::provide_auth), [`set_auth`](Self::set_auth);
/// - transport results, each with the [`ConnectionId`] of the [`Transmit`] it answers:
///   `handle_poll_response`, `handle_poll_error`, `handle_post_response`,
///   `handle_ws_open`, `handle_ws_message`, `handle_ws_closed`, `handle_ws_error`; and
///   [`handle_timeout`](Self::handle_timeout);
/// - outputs: [`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event),
///   [`poll_timeout`](Self::poll_timeout), drained after every input.
///
/// Randomness (the reconnection jitter) is injected as a [`RandomSource`]; time only comes
/// in as `now`, which must not go backwards.
pub struct ClientEndpoint {
    config: ClientEndpointConfig,
    random: Box<dyn RandomSource>,
    schedule: ReconnectSchedule,
    engine: Option<Engine>,
    closing: Option<Closing>,
    next_connection: u64,
    sockets: BTreeMap<Namespace, Sock>,
    reconnecting: bool,
    reconnect_at: Option<Instant>,
    skip_reconnect: bool,
    ws_ok: bool,
    /// Namespaces connected whose `connect` waits for the events replayed with the CONNECT
    /// reply: socket.io-client emits its receive buffer before `connect`.
    pending_connects: Vec<(Namespace, String, Option<String>, bool)>,
    next_handle: u64,
    next_auth: u64,
    acks: BTreeMap<AckHandle, TrackedAck>,
    deadlines: BTreeSet<(Instant, AckHandle)>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    /// Reports the packets of every connection ([`ClientEndpoint::observe_packets`]).
    observe_packets: bool,
}

impl fmt::Debug for ClientEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientEndpoint")
            .field("config", &self.config)
            .field("engine", &self.engine)
            .field("sockets", &self.sockets)
            .field("reconnecting", &self.reconnecting)
            .field("reconnect_at", &self.reconnect_at)
            .finish_non_exhaustive()
    }
}

impl ClientEndpoint {
    /// An idle endpoint: nothing is sent until a socket connects.
    pub fn new(config: ClientEndpointConfig, random: impl RandomSource + 'static) -> Self {
        let schedule = ReconnectSchedule::new(
            Backoff::new(
                config.reconnection_delay,
                config.reconnection_delay_max,
                config.randomization_factor,
            ),
            config.reconnection_attempts,
        );
        Self {
            config,
            random: Box::new(random),
            schedule,
            engine: None,
            closing: None,
            next_connection: 0,
            sockets: BTreeMap::new(),
            reconnecting: false,
            reconnect_at: None,
            skip_reconnect: false,
            ws_ok: false,
            pending_connects: Vec::new(),
            next_handle: 0,
            next_auth: 0,
            acks: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            observe_packets: false,
        }
    }

    // ---- commands -----------------------------------------------------------------------

    /// Reports from now on every packet decoded from the server, on this connection and
    /// the next ones, as [`ManagerEvent::Packet`] (socket.io-client's `packet` event of
    /// the Manager); off by default, at no cost. `false` turns it off.
    pub fn observe_packets(&mut self, on: bool) {
        self.observe_packets = on;
        if let Some(c) = self.engine.as_mut().and_then(|e| e.conn.as_mut()) {
            c.observe(on);
        }
    }

    /// Changes the options at run time (the Manager's setters `reconnection(v)`,
    /// `reconnectionAttempts(v)`, `reconnectionDelay(v)`, `reconnectionDelayMax(v)`,
    /// `randomizationFactor(v)`, `timeout(v)`): the reconnection schedule takes the new
    /// values at its next delay, the attempts made so far kept; `timeout` applies from the
    /// next connection attempt. Turning `reconnection` off cancels a reconnection waiting
    /// for its delay, as the reference's `skipReconnect`.
    pub fn reconfigure(&mut self, change: impl FnOnce(&mut ClientEndpointConfig)) {
        change(&mut self.config);
        let config = &self.config;
        self.schedule.reconfigure(
            Backoff::new(
                config.reconnection_delay,
                config.reconnection_delay_max,
                config.randomization_factor,
            ),
            config.reconnection_attempts,
        );
        if !config.reconnection {
            self.skip_reconnect = true;
        }
    }

    /// `socket.connect()`: the socket of `nsp` becomes active and joins its namespace with
    /// `auth`, opening the connection if needed; it rejoins after every reconnection.
    pub fn connect(&mut self, nsp: &Namespace, auth: Auth, now: Instant) {
        let sock = self.sockets.entry(nsp.clone()).or_default();
        sock.active = true;
        sock.auth = auth;
        if !(sock.connected || sock.connect_sent) {
            match &self.engine {
                Some(e) if e.conn.is_some() => self.connect_socket(nsp),
                Some(_) => {}
                None if self.reconnecting => {}
                None => self.open_engine(now),
            }
        }
        self.drive(now);
    }

    /// `socket.auth = auth`: the CONNECT payload of `nsp` from its next (re)connect on.
    /// Nothing else changes, nothing is sent.
    pub fn set_auth(&mut self, nsp: &Namespace, auth: Auth) {
        self.sockets.entry(nsp.clone()).or_default().auth = auth;
    }

    /// Answers an [`Event::AuthNeeded`]: sends CONNECT with `auth` (and the recovery fields).
    pub fn provide_auth(
        &mut self,
        nsp: &Namespace,
        request: AuthRequest,
        auth: serde_json::Value,
        now: Instant,
    ) {
        let Some(sock) = self.sockets.get_mut(nsp) else {
            return;
        };
        if sock.auth_request == Some(request) && sock.connect_sent && !sock.connected {
            sock.auth_request = None;
            self.send_connect(nsp, Some(auth));
        }
        self.drive(now);
    }

    /// `socket.disconnect()`: leaves `nsp` (DISCONNECT if joined, `disconnect` "io client
    /// disconnect" if it was connected); the connection closes when no socket is active.
    pub fn disconnect(&mut self, nsp: &Namespace, now: Instant) {
        self.leave(nsp);
        self.maybe_close_engine(now);
        self.drive(now);
    }

    /// `manager.close()`: every socket leaves, and the connection closes.
    pub fn close(&mut self, now: Instant) {
        for sock in self.sockets.values_mut() {
            sock.active = false;
        }
        let all: Vec<Namespace> = self.sockets.keys().cloned().collect();
        for nsp in &all {
            self.leave(nsp);
        }
        self.maybe_close_engine(now);
        self.drive(now);
    }

    /// `socket.emit(...)`: sends `payload` (`[name, ...args]`) on `nsp`, or buffers it while
    /// the socket is not connected, or queues it with
    /// [`retries`](ClientEndpointConfig::retries).
    ///
    /// Returns the ack handle when `options.ack` asks for one; its outcome comes as
    /// [`SocketEvent::Ack`]. A volatile emit is dropped (its ack, if any, cancelled) unless
    /// the socket is connected and the transport writable.
    pub fn emit(
        &mut self,
        nsp: &Namespace,
        payload: Payload,
        options: EmitOptions,
        now: Instant,
    ) -> Result<Option<AckHandle>, EmitError> {
        check_event_data(&payload)?;
        let max = self.config.max_buffered;
        let retries = self.config.retries > 0;
        let writable = self
            .engine
            .as_ref()
            .is_some_and(|e| e.session.is_writable());
        let sock = self.sockets.entry(nsp.clone()).or_default();
        let full = if retries && !options.volatile {
            sock.queue.len() >= max
        } else {
            !sock.connected && !options.volatile && sock.buffer.len() >= max
        };
        if full {
            return Err(EmitError::BufferFull);
        }
        let handle = match options.ack {
            AckMode::None => None,
            AckMode::NoDeadline => Some(self.track(nsp, None)),
            AckMode::Deadline(t) => Some(self.track(nsp, Some(now + t))),
        };
        let connected = self.sockets.get(nsp).is_some_and(|s| s.connected);
        if retries && !options.volatile {
            if let Some(sock) = self.sockets.get_mut(nsp) {
                sock.queue.push_back(Queued {
                    payload,
                    tries: 0,
                    pending: false,
                    handle,
                });
            }
            self.set_place(handle, AckPlace::Queued);
            self.drain_queue(nsp, false, now);
        } else if options.volatile && !(connected && writable) {
            // Dropped, as socket.io-client drops a volatile packet while disconnected or
            // while the transport is not writable (a polling POST in flight).
            if let Some(h) = handle {
                self.finish_ack(h, AckOutcome::Cancelled);
            }
        } else if connected {
            self.send_event(nsp, payload, handle);
        } else {
            if let Some(sock) = self.sockets.get_mut(nsp) {
                sock.buffer.push_back(Buffered { payload, handle });
            }
            self.set_place(handle, AckPlace::Buffered);
        }
        self.drive(now);
        Ok(handle)
    }

    /// Answers the server's event `id` on `nsp` with `payload` (the ack arguments).
    /// Ignored when the socket is no longer connected.
    pub fn ack(&mut self, nsp: &Namespace, id: AckId, payload: Payload, now: Instant) {
        if let Some(conn) = self.conn_mut() {
            // Not connected any more: the server forgot the ack id too.
            let _ = conn.ack_payload(nsp, id, payload);
        }
        self.drive(now);
    }

    // ---- transport results ----------------------------------------------------------------

    /// The body of a 200 answer to the polling GET of `connection`.
    pub fn handle_poll_response(&mut self, connection: ConnectionId, body: Bytes, now: Instant) {
        if let Some(e) = self.engine_for(connection) {
            e.session.handle_poll_response(body, now);
        }
        self.drive(now);
    }

    /// The polling GET of `connection` failed (network error or a status other than 200).
    pub fn handle_poll_error(&mut self, connection: ConnectionId, now: Instant) {
        if let Some(e) = self.engine_for(connection) {
            e.session.handle_poll_error(now);
        }
        self.drive(now);
    }

    /// The answer to the polling POST of `connection`: `ok` is true for a 200.
    pub fn handle_post_response(&mut self, connection: ConnectionId, ok: bool, now: Instant) {
        if let Some(e) = self.engine_for(connection) {
            e.post_in_flight = false;
            e.session.handle_post_response(ok, now);
        } else if let Some(c) = self.closing.as_mut().filter(|c| c.id == connection) {
            c.post_in_flight = false;
            c.session.handle_post_response(ok, now);
        }
        self.drive(now);
    }

    /// The WebSocket of `connection` opened (the handshake one, or the upgrade probe).
    pub fn handle_ws_open(&mut self, connection: ConnectionId, now: Instant) {
        if let Some(e) = self.engine_for(connection) {
            e.session.handle_ws_open(now);
        }
        self.drive(now);
    }

    /// A message arrived on the WebSocket of `connection`.
    pub fn handle_ws_message(&mut self, connection: ConnectionId, msg: WsMessage, now: Instant) {
        if let Some(e) = self.engine_for(connection) {
            e.session.handle_ws_message(msg, now);
        }
        self.drive(now);
    }

    /// The WebSocket of `connection` closed.
    pub fn handle_ws_closed(&mut self, connection: ConnectionId, now: Instant) {
        if let Some(e) = self.engine_for(connection) {
            e.session.handle_ws_closed(now);
        }
        self.drive(now);
    }

    /// The WebSocket of `connection` failed (or could not be opened).
    pub fn handle_ws_error(&mut self, connection: ConnectionId, now: Instant) {
        if let Some(e) = self.engine_for(connection) {
            e.session.handle_ws_error(now);
        }
        self.drive(now);
    }

    /// The clock reached [`poll_timeout`](Self::poll_timeout) (spurious calls are harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closing.as_ref().is_some_and(|c| c.deadline <= now) {
            self.closing = None;
        }
        while let Some(&(deadline, handle)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.finish_ack(handle, AckOutcome::TimedOut);
        }
        if let Some(e) = &mut self.engine {
            if !e.opened && e.open_deadline.is_some_and(|d| d <= now) {
                self.engine = None;
                self.on_open_error(OpenError::Timeout, now);
            } else {
                e.session.handle_timeout(now);
                if let Some(c) = &mut e.conn {
                    c.handle_timeout(now);
                }
            }
        }
        if self.reconnect_at.is_some_and(|d| d <= now) {
            self.reconnect_at = None;
            if !self.skip_reconnect {
                let attempt = self.schedule.attempts();
                self.manager_event(ManagerEvent::ReconnectAttempt(attempt));
                self.open_engine(now);
            }
        }
        self.drive(now);
    }

    // ---- outputs ------------------------------------------------------------------------

    /// The next transport action. Results of a connection the endpoint no longer uses are
    /// ignored, so the driver may drop or finish its I/O as it likes.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event, for the Manager or a socket, in the order socket.io-client emits them.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next: the earliest of the
    /// session's heartbeat, the open timeout, the reconnection delay, ack deadlines and the
    /// retry queue's deadlines.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let engine = self.engine.as_ref().map(|e| {
            let conn = e.conn.as_ref().and_then(ClientConnection::poll_timeout);
            [e.session.poll_timeout(), e.open_deadline, conn]
        });
        [
            self.reconnect_at,
            self.closing.as_ref().map(|c| c.deadline),
            self.deadlines.first().map(|(d, _)| *d),
        ]
        .into_iter()
        .chain(engine.into_iter().flatten())
        .flatten()
        .min()
    }

    // ---- getters --------------------------------------------------------------------------

    /// The options.
    pub fn config(&self) -> &ClientEndpointConfig {
        &self.config
    }

    /// The Engine.IO connection in use, if any.
    pub fn connection(&self) -> Option<ConnectionId> {
        self.engine.as_ref().map(|e| e.id)
    }

    /// Whether the results of `connection` still matter: it is the connection in use, or the
    /// one the client closed while its close packet waits for a POST in flight. The driver
    /// may drop the I/O of any other connection.
    pub fn is_live(&self, connection: ConnectionId) -> bool {
        self.connection() == Some(connection)
            || self.closing.as_ref().is_some_and(|c| c.id == connection)
    }

    /// The transport of the connection in use.
    pub fn transport(&self) -> Option<TransportKind> {
        self.engine.as_ref().map(|e| e.session.transport())
    }

    /// The Engine.IO session id of the connection in use, once its handshake is done
    /// (`socket.io.engine.id`).
    pub fn session_id(&self) -> Option<&str> {
        self.engine.as_ref().and_then(|e| e.session.sid())
    }

    /// `socket.connected`.
    pub fn is_connected(&self, nsp: &Namespace) -> bool {
        self.sockets.get(nsp).is_some_and(|s| s.connected)
    }

    /// `socket.active`: the socket will (re)connect on its own.
    pub fn is_active(&self, nsp: &Namespace) -> bool {
        self.sockets.get(nsp).is_some_and(|s| s.active)
    }

    /// `socket.id`, while connected.
    pub fn socket_id(&self, nsp: &Namespace) -> Option<&str> {
        self.sockets.get(nsp).and_then(|s| s.sid.as_deref())
    }

    /// `socket.recovered`: the last connection restored the previous session.
    pub fn is_recovered(&self, nsp: &Namespace) -> bool {
        self.sockets.get(nsp).is_some_and(|s| s.recovered)
    }

    /// Emits waiting in the offline buffer of `nsp`.
    pub fn buffered(&self, nsp: &Namespace) -> usize {
        self.sockets.get(nsp).map_or(0, |s| s.buffer.len())
    }

    /// Whether the Manager is waiting for a reconnection attempt or in one.
    pub fn is_reconnecting(&self) -> bool {
        self.reconnecting
    }

    // ---- the drain loop -------------------------------------------------------------------

    /// Drains both machines: transmits out, events to the queue, until quiet. Socket.IO
    /// events go first, then the `connect`s they held back, then Engine.IO events (the order
    /// of the old driver, which socket.io-client's synchronous emitters imply).
    fn drive(&mut self, now: Instant) {
        loop {
            self.pump_closing();
            let Some(engine) = self.engine.as_mut() else {
                self.flush_connects();
                return;
            };
            if let Some(conn) = &mut engine.conn {
                while let Some(msg) = conn.poll_transmit() {
                    // A closing session refuses: the message would not reach the server.
                    let _ = engine.session.send(msg.into());
                }
            }
            if engine.sid.is_none() {
                // Known as soon as the handshake is parsed: the upgrade probe needs it.
                engine.sid = engine.session.sid().map(ByteString::from);
            }
            while let Some(action) = engine.session.poll_transmit() {
                if matches!(action, ClientTransmit::Post(_)) {
                    engine.post_in_flight = true;
                }
                self.transmits.push_back(Transmit {
                    connection: engine.id,
                    sid: engine.sid.clone(),
                    action,
                });
            }
            if let Some(ev) = engine.conn.as_mut().and_then(ClientConnection::poll_event) {
                self.on_socketio_event(ev, now);
                continue;
            }
            if !self.pending_connects.is_empty() {
                self.flush_connects();
                continue;
            }
            if let Some(ev) = engine.session.poll_event() {
                self.on_engine_event(ev, now);
                continue;
            }
            return;
        }
    }

    /// Moves the closing connection's last transmits out; forgets it once it is done.
    fn pump_closing(&mut self) {
        let Some(c) = &mut self.closing else {
            return;
        };
        while let Some(action) = c.session.poll_transmit() {
            if matches!(action, ClientTransmit::Post(_)) {
                c.post_in_flight = true;
            }
            self.transmits.push_back(Transmit {
                connection: c.id,
                sid: c.sid.clone(),
                action,
            });
        }
        while c.session.poll_event().is_some() {}
        if !c.post_in_flight {
            self.closing = None;
        }
    }

    fn flush_connects(&mut self) {
        for (nsp, sid, pid, recovered) in std::mem::take(&mut self.pending_connects) {
            self.socket_event(
                &nsp,
                SocketEvent::Connect {
                    sid,
                    pid,
                    recovered,
                },
            );
        }
    }

    fn on_engine_event(&mut self, ev: ClientEvent, now: Instant) {
        match ev {
            ClientEvent::Open(_) => {
                let parser = self.config.parser;
                if let Some(e) = &mut self.engine {
                    e.opened = true;
                    e.open_deadline = None;
                    let mut conn = ClientConnection::new(ClientConfig::default().parser(parser));
                    conn.observe(self.observe_packets);
                    e.conn = Some(conn);
                    if e.session.transport() == TransportKind::WebSocket {
                        self.ws_ok = true;
                    }
                }
                self.manager_event(ManagerEvent::Open);
                if self.reconnecting {
                    let attempt = self.schedule.attempts();
                    self.reconnecting = false;
                    self.schedule.reset();
                    self.manager_event(ManagerEvent::Reconnect(attempt));
                }
                for nsp in self.active_namespaces() {
                    if self.sockets.get(&nsp).is_some_and(|s| !s.connect_sent) {
                        self.connect_socket(&nsp);
                    }
                }
            }
            ClientEvent::Message(data) => {
                if let Some(conn) = self.conn_mut() {
                    conn.handle_message(data.into(), now);
                }
            }
            ClientEvent::Upgraded => {
                self.ws_ok = true;
                self.manager_event(ManagerEvent::Upgrade);
            }
            ClientEvent::Ping => self.manager_event(ManagerEvent::Ping),
            ClientEvent::Closed(reason) => {
                // Requests in flight finish on their own; their results are now stale.
                let Some(engine) = self.engine.take() else {
                    return;
                };
                if let ClientCloseReason::TransportError(
                    e @ (ClientTransportError::Decode(_) | ClientTransportError::Handshake(_)),
                ) = &reason
                {
                    self.manager_event(ManagerEvent::ProtocolViolation(e.to_string()));
                }
                if !engine.opened {
                    let error = match reason {
                        ClientCloseReason::TransportError(e) => OpenError::Transport(e),
                        other => OpenError::Closed(CloseReason::of_engine(&other)),
                    };
                    self.on_open_error(error, now);
                } else {
                    if matches!(reason, ClientCloseReason::TransportError(_)) {
                        // engine.io-client forgets a prior WebSocket success on an error.
                        self.ws_ok = false;
                    }
                    let reason = CloseReason::of_engine(&reason);
                    self.on_connection_lost(reason.disconnect_reason(), reason, now);
                }
            }
            ClientEvent::Upgrading | ClientEvent::UpgradeFailed => {}
            // A wildcard is forced by `#[non_exhaustive]` on the other crate's enum; the
            // endpoint has no decision to make on an engine event it does not know.
            _ => {}
        }
    }

    fn on_socketio_event(&mut self, ev: SioEvent, now: Instant) {
        if !matches!(
            ev,
            SioEvent::Event { .. } | SioEvent::Ack { .. } | SioEvent::Packet(_)
        ) {
            self.flush_connects();
        }
        match ev {
            SioEvent::Packet(packet) => self.manager_event(ManagerEvent::Packet(packet)),
            SioEvent::Connected { nsp, sid, pid } => {
                let sock = self.sockets.entry(nsp.clone()).or_default();
                let recovered = pid.is_some() && sock.pid == pid;
                sock.pid.clone_from(&pid);
                sock.connected = true;
                sock.connect_sent = false;
                sock.sid = Some(sid.clone());
                sock.recovered = recovered;
                let buffered: Vec<Buffered> = sock.buffer.drain(..).collect();
                for b in buffered {
                    self.send_event(&nsp, b.payload, b.handle);
                }
                self.drain_queue(&nsp, true, now);
                // `connect` follows the events replayed with the reply (see `drive`).
                self.pending_connects.push((nsp, sid, pid, recovered));
            }
            SioEvent::ConnectError { nsp, message, data } => {
                self.socket_down(&nsp);
                if let Some(sock) = self.sockets.get_mut(&nsp) {
                    sock.active = false;
                }
                let error = ConnectError::Server { message, data };
                self.socket_event(&nsp, SocketEvent::ConnectError(error));
                self.maybe_close_engine(now);
            }
            SioEvent::Event { nsp, data, ack } => {
                if let Some(sock) = self.sockets.get_mut(&nsp) {
                    if sock.pid.is_some() {
                        if let Some(offset) = last_string_arg(&data) {
                            sock.offset = Some(offset);
                        }
                    }
                }
                self.socket_event(&nsp, SocketEvent::Event { data, ack });
            }
            SioEvent::Ack { nsp, id, data } => {
                let data = data.unwrap_or_else(|| empty_args(self.config.parser));
                self.on_ack(&nsp, id, AckOutcome::Answered(data), now);
            }
            SioEvent::AckTimeout { nsp, id } => self.on_ack(&nsp, id, AckOutcome::TimedOut, now),
            SioEvent::Disconnected { nsp } => {
                self.socket_down(&nsp);
                if let Some(sock) = self.sockets.get_mut(&nsp) {
                    sock.active = false;
                }
                let reason = DisconnectReason::IoServerDisconnect;
                self.socket_event(&nsp, SocketEvent::Disconnect(reason));
                self.maybe_close_engine(now);
            }
            SioEvent::Closed(e) => {
                self.manager_event(ManagerEvent::ProtocolViolation(e.to_string()));
                self.close_engine(now);
                self.on_connection_lost(DisconnectReason::ParseError, CloseReason::ParseError, now);
            }
        }
    }

    fn on_ack(&mut self, nsp: &Namespace, id: AckId, outcome: AckOutcome, now: Instant) {
        let Some(pending) = self
            .sockets
            .get_mut(nsp)
            .and_then(|s| s.pending.remove(&id))
        else {
            return;
        };
        match pending {
            PendingAck::User(handle) => self.finish_ack(handle, outcome),
            PendingAck::Queue => self.on_queue_answer(nsp, outcome, now),
        }
    }

    // ---- the Manager ------------------------------------------------------------------------

    fn open_engine(&mut self, now: Instant) {
        if self.engine.is_some() {
            return;
        }
        self.skip_reconnect = false;
        let transports = match self.config.transports {
            TransportMode::Both if self.config.remember_upgrade && self.ws_ok => {
                Transports::WEBSOCKET
            }
            TransportMode::Both => Transports::BOTH,
            TransportMode::Polling => Transports::POLLING,
            TransportMode::WebSocket => Transports::WEBSOCKET,
        };
        let config = EngineConfig::default()
            .transports(transports)
            .upgrade(self.config.upgrade);
        self.next_connection += 1;
        self.engine = Some(Engine {
            id: ConnectionId(self.next_connection),
            session: ClientSession::new(config, now),
            conn: None,
            sid: None,
            opened: false,
            open_deadline: self.config.timeout.map(|t| now + t),
            post_in_flight: false,
        });
    }

    /// Closes the connection in use ("forced close"); its close packet may still have to
    /// follow a POST in flight.
    fn close_engine(&mut self, now: Instant) -> Option<bool> {
        let mut engine = self.engine.take()?;
        engine.session.close(now);
        let opened = engine.opened;
        self.closing = Some(Closing {
            id: engine.id,
            session: engine.session,
            sid: engine.sid,
            post_in_flight: engine.post_in_flight,
            deadline: now + CLOSE_GRACE,
        });
        Some(opened)
    }

    /// `Manager._destroy`: closes the connection when no socket is active any more.
    fn maybe_close_engine(&mut self, now: Instant) {
        if self.sockets.values().any(|s| s.active) {
            return;
        }
        self.skip_reconnect = true;
        self.reconnecting = false;
        self.reconnect_at = None;
        self.schedule.reset();
        if self.close_engine(now) == Some(true) {
            let reason = CloseReason::ForcedClose;
            self.on_connection_lost(reason.disconnect_reason(), reason, now);
        }
    }

    fn on_open_error(&mut self, error: OpenError, now: Instant) {
        self.ws_ok = false;
        self.manager_event(ManagerEvent::Error(error.clone()));
        for nsp in self.active_namespaces() {
            let event = SocketEvent::ConnectError(ConnectError::Open(error.clone()));
            self.socket_event(&nsp, event);
        }
        if self.reconnecting {
            self.reconnecting = false;
            self.reconnect(now);
            self.manager_event(ManagerEvent::ReconnectError(error));
        } else if self.config.reconnection && self.schedule.attempts() == 0 {
            self.reconnect(now);
        }
    }

    /// The open connection is gone: every socket goes down, the active ones get
    /// `disconnect`, then the Manager `close`, then the reconnection starts.
    fn on_connection_lost(&mut self, reason: DisconnectReason, close: CloseReason, now: Instant) {
        self.flush_connects();
        let all: Vec<Namespace> = self.sockets.keys().cloned().collect();
        for nsp in &all {
            self.socket_down(nsp);
        }
        for nsp in self.active_namespaces() {
            self.socket_event(&nsp, SocketEvent::Disconnect(reason));
        }
        self.manager_event(ManagerEvent::Close(close));
        self.schedule.reset();
        if self.config.reconnection && !self.skip_reconnect && !self.active_namespaces().is_empty()
        {
            self.reconnect(now);
        }
    }

    /// `Manager.reconnect`: schedules the next attempt, or gives up.
    fn reconnect(&mut self, now: Instant) {
        if self.reconnecting || self.skip_reconnect {
            return;
        }
        match self.schedule.next_delay(&mut *self.random) {
            None => {
                self.reconnecting = false;
                self.manager_event(ManagerEvent::ReconnectFailed);
            }
            Some(delay) => {
                self.reconnecting = true;
                self.reconnect_at = Some(now + delay);
            }
        }
    }

    // ---- the Sockets ------------------------------------------------------------------------

    fn connect_socket(&mut self, nsp: &Namespace) {
        let Some(sock) = self.sockets.get_mut(nsp) else {
            return;
        };
        sock.connect_sent = true;
        match sock.auth.clone() {
            Auth::None => self.send_connect(nsp, None),
            Auth::Value(v) => self.send_connect(nsp, Some(v)),
            Auth::Deferred => {
                self.next_auth += 1;
                let request = AuthRequest(self.next_auth);
                sock.auth_request = Some(request);
                self.events.push_back(Event::AuthNeeded {
                    nsp: nsp.clone(),
                    request,
                });
            }
        }
    }

    /// CONNECT with `{pid, offset, ...auth}` when recovering a session, else the auth.
    fn send_connect(&mut self, nsp: &Namespace, auth: Option<serde_json::Value>) {
        let Some(sock) = self.sockets.get(nsp) else {
            return;
        };
        let auth = match &sock.pid {
            Some(pid) => {
                let mut map = serde_json::Map::new();
                map.insert("pid".into(), pid.clone().into());
                if let Some(offset) = &sock.offset {
                    map.insert("offset".into(), offset.clone().into());
                }
                if let Some(serde_json::Value::Object(extra)) = auth {
                    map.extend(extra);
                }
                Some(serde_json::Value::Object(map))
            }
            None => auth,
        };
        if let Some(conn) = self.conn_mut() {
            // The auth object serializes (it is JSON); a closed connection reconnects anyway.
            let _ = conn.connect(nsp, auth.as_ref());
        }
    }

    fn send_event(&mut self, nsp: &Namespace, payload: Payload, handle: Option<AckHandle>) {
        let sent = self
            .conn_mut()
            .map(|conn| conn.emit_payload(nsp, payload, handle.map(|_| None)));
        if let Some(h) = handle {
            match sent {
                Some(Ok(Some(id))) => {
                    if let Some(sock) = self.sockets.get_mut(nsp) {
                        sock.pending.insert(id, PendingAck::User(h));
                    }
                    self.set_place(Some(h), AckPlace::InFlight(id));
                }
                Some(Ok(None) | Err(_)) | None => self.finish_ack(h, AckOutcome::Cancelled),
            }
        }
    }

    /// `_drainQueue`: sends the head of the retry queue when nothing is in flight.
    fn drain_queue(&mut self, nsp: &Namespace, force: bool, now: Instant) {
        let deadline = self.config.ack_timeout.map(|t| now + t);
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        let (Some(conn), Some(sock)) = (engine.conn.as_mut(), self.sockets.get_mut(nsp)) else {
            return;
        };
        if !sock.connected {
            return;
        }
        let Some(head) = sock.queue.front_mut() else {
            return;
        };
        if head.pending && !force {
            return;
        }
        head.pending = true;
        head.tries += 1;
        if let Ok(Some(id)) = conn.emit_payload(nsp, head.payload.clone(), Some(deadline)) {
            let stale: Vec<AckId> = sock
                .pending
                .iter()
                .filter(|(_, p)| matches!(p, PendingAck::Queue))
                .map(|(id, _)| *id)
                .collect();
            for old in stale {
                sock.pending.remove(&old);
                conn.cancel_ack(nsp, old);
            }
            sock.pending.insert(id, PendingAck::Queue);
        }
    }

    fn on_queue_answer(&mut self, nsp: &Namespace, outcome: AckOutcome, now: Instant) {
        let retries = self.config.retries;
        let Some(sock) = self.sockets.get_mut(nsp) else {
            return;
        };
        let Some(head) = sock.queue.front_mut() else {
            return;
        };
        let done = match outcome {
            AckOutcome::Answered(_) => true,
            AckOutcome::TimedOut | AckOutcome::Cancelled => head.tries > retries,
        };
        if done {
            if let Some(h) = sock.queue.pop_front().and_then(|q| q.handle) {
                self.finish_ack(h, outcome);
            }
        } else {
            head.pending = false;
        }
        self.drain_queue(nsp, false, now);
    }

    /// The socket leaves its namespace (client side): DISCONNECT if joined.
    fn leave(&mut self, nsp: &Namespace) {
        let Some(sock) = self.sockets.get_mut(nsp) else {
            return;
        };
        sock.active = false;
        let joined = sock.connected || sock.connect_sent;
        let was_connected = sock.connected;
        if joined {
            if let Some(conn) = self.conn_mut() {
                // Already gone on the connection's side: nothing to tell the server.
                let _ = conn.disconnect(nsp);
            }
        }
        self.socket_down(nsp);
        if was_connected {
            let reason = DisconnectReason::IoClientDisconnect;
            self.socket_event(nsp, SocketEvent::Disconnect(reason));
        }
    }

    /// The namespace is no longer connected: its acks in flight are cancelled (in id
    /// order), the retry head is sent again at the next connect.
    fn socket_down(&mut self, nsp: &Namespace) {
        let Some(sock) = self.sockets.get_mut(nsp) else {
            return;
        };
        sock.connected = false;
        sock.connect_sent = false;
        sock.sid = None;
        if let Some(head) = sock.queue.front_mut() {
            head.pending = false;
        }
        let pending = std::mem::take(&mut sock.pending);
        for (id, p) in pending {
            if let Some(conn) = self.conn_mut() {
                conn.cancel_ack(nsp, id);
            }
            if let PendingAck::User(h) = p {
                self.finish_ack(h, AckOutcome::Cancelled);
            }
        }
    }

    // ---- ack bookkeeping --------------------------------------------------------------------

    fn track(&mut self, nsp: &Namespace, deadline: Option<Instant>) -> AckHandle {
        self.next_handle += 1;
        let handle = AckHandle(self.next_handle);
        if let Some(d) = deadline {
            self.deadlines.insert((d, handle));
        }
        self.acks.insert(
            handle,
            TrackedAck {
                nsp: nsp.clone(),
                deadline,
                place: AckPlace::Buffered,
            },
        );
        handle
    }

    fn set_place(&mut self, handle: Option<AckHandle>, place: AckPlace) {
        if let Some(t) = handle.and_then(|h| self.acks.get_mut(&h)) {
            t.place = place;
        }
    }

    /// Reports the outcome of `handle` once, and removes it from wherever it waits.
    fn finish_ack(&mut self, handle: AckHandle, outcome: AckOutcome) {
        let Some(tracked) = self.acks.remove(&handle) else {
            return;
        };
        if let Some(d) = tracked.deadline {
            self.deadlines.remove(&(d, handle));
        }
        let nsp = tracked.nsp;
        match tracked.place {
            AckPlace::Buffered => {
                // socket.io-client drops a packet whose ack timed out from its sendBuffer.
                if let Some(sock) = self.sockets.get_mut(&nsp) {
                    sock.buffer.retain(|b| b.handle != Some(handle));
                }
            }
            AckPlace::Queued => {
                // The queue still delivers it (at least once); only the answer is gone.
                if let Some(sock) = self.sockets.get_mut(&nsp) {
                    for q in sock.queue.iter_mut().filter(|q| q.handle == Some(handle)) {
                        q.handle = None;
                    }
                }
            }
            AckPlace::InFlight(id) => {
                if let Some(sock) = self.sockets.get_mut(&nsp) {
                    sock.pending.remove(&id);
                }
                if let Some(conn) = self.conn_mut() {
                    conn.cancel_ack(&nsp, id);
                }
            }
        }
        self.socket_event(&nsp, SocketEvent::Ack { handle, outcome });
    }

    // ---- helpers ----------------------------------------------------------------------------

    fn engine_for(&mut self, connection: ConnectionId) -> Option<&mut Engine> {
        self.engine.as_mut().filter(|e| e.id == connection)
    }

    fn conn_mut(&mut self) -> Option<&mut ClientConnection> {
        self.engine.as_mut().and_then(|e| e.conn.as_mut())
    }

    fn active_namespaces(&self) -> Vec<Namespace> {
        self.sockets
            .iter()
            .filter(|(_, s)| s.active)
            .map(|(nsp, _)| nsp.clone())
            .collect()
    }

    fn manager_event(&mut self, event: ManagerEvent) {
        self.events.push_back(Event::Manager(event));
    }

    fn socket_event(&mut self, nsp: &Namespace, event: SocketEvent) {
        self.events.push_back(Event::Socket {
            nsp: nsp.clone(),
            event,
        });
    }
}

/// The recovery offset: the last argument of an event, when it is a string.
fn last_string_arg(data: &Payload) -> Option<String> {
    let args = data.deserialize::<Vec<serde_json::Value>>().ok()?;
    match args.into_iter().last() {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(_) | None => None,
    }
}

/// The arguments of an ACK that carried none: `[]`.
fn empty_args(parser: ParserKind) -> Payload {
    // `[]` always serializes.
    Payload::new(parser, &AckData(&())).unwrap_or_else(|_| unreachable!())
}
