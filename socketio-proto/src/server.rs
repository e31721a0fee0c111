//! The server side of one Engine.IO connection: namespace connections, events, acks with
//! deadlines and the connect timeout.
//!
//! Rules (`socket.io/lib/client.ts`, `namespace.ts`, `socket.ts`; PROTOCOL §2.4):
//! - a CONNECT asks the application ([`Event::ConnectRequest`]); it answers with
//!   [`ServerConnection::accept`] (CONNECT `{"sid":…}` with a fresh random socket id, never the
//!   Engine.IO sid) or [`ServerConnection::reject`] (CONNECT_ERROR `{message, data?}`; the
//!   connection stays open, as for an unknown namespace);
//! - a DISCONNECT leaves the namespace; nothing is sent back and the connection stays;
//! - a packet that does not decode closes the connection ("forced close"); a packet for a
//!   namespace that is not connected, a duplicate CONNECT or a CONNECT_ERROR from the client
//!   closes it too ("forced server close");
//! - if no namespace is connected `connect_timeout` after the connection opened, it is closed.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytestring::ByteString;
use serde::Serialize;

use crate::decoder::{Decoder, DecoderConfig, ParserKind};
use crate::error::{DecodeError, EncodeError};
use crate::message::EngineMessage;
use crate::packet::{AckId, Namespace, Packet, PacketKind, reserved_event};
use crate::payload::Payload;
use crate::small_map::SmallMap;
use crate::timer::{PendingAcks, Rng};

/// Server connection settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The parser both ends use.
    pub parser: ParserKind,
    /// Decoder limits.
    pub decoder: DecoderConfig,
    /// Close the connection if no namespace is joined by then (`connectTimeout`, 45 s).
    pub connect_timeout: Duration,
    /// The most namespaces one connection may join or ask to join at once (the reference has
    /// no bound; each one costs memory).
    pub max_namespaces: usize,
    /// Connection state recovery is on: every CONNECT reply carries a private session id
    /// (`pid`) besides the socket id (see [`crate::recovery`]).
    pub recovery: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            parser: ParserKind::Default,
            decoder: DecoderConfig::default(),
            connect_timeout: Duration::from_millis(45_000),
            max_namespaces: 64,
            recovery: false,
        }
    }
}

impl ServerConfig {
    /// Sets [`ServerConfig::parser`].
    pub fn parser(mut self, parser: ParserKind) -> Self {
        self.parser = parser;
        self
    }

    /// Sets [`ServerConfig::connect_timeout`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`ServerConfig::decoder`].
    pub fn decoder(mut self, decoder: DecoderConfig) -> Self {
        self.decoder = decoder;
        self
    }

    /// Sets [`ServerConfig::max_namespaces`].
    pub fn max_namespaces(mut self, max: usize) -> Self {
        self.max_namespaces = max;
        self
    }

    /// Sets [`ServerConfig::recovery`].
    pub fn recovery(mut self, on: bool) -> Self {
        self.recovery = on;
        self
    }
}

/// The id of a socket: one client's connection to one namespace. Random, and different from
/// the Engine.IO session id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(ByteString);

impl From<&str> for SocketId {
    /// The id of a session being recovered (connection state recovery).
    fn from(id: &str) -> Self {
        Self(ByteString::from(id))
    }
}

impl SocketId {
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the application learns from the connection.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The client asks to join `nsp`. Answer with [`ServerConnection::accept`] or
    /// [`ServerConnection::reject`] (e.g. `"Invalid namespace"` when no such namespace
    /// exists).
    ConnectRequest {
        /// The namespace.
        nsp: Namespace,
        /// The auth object, if the client sent one.
        auth: Option<Payload>,
    },
    /// The namespace is joined and the CONNECT reply is queued.
    Connected {
        /// The namespace.
        nsp: Namespace,
        /// The new socket's id.
        sid: SocketId,
        /// Its private session id, with connection state recovery.
        pid: Option<String>,
        /// True when the socket is a recovered session (same id, missed events replayed).
        recovered: bool,
    },
    /// An event from the client.
    Event {
        /// The namespace.
        nsp: Namespace,
        /// `[name, ...args]`.
        data: Payload,
        /// Answer with [`ServerConnection::ack`] when present.
        ack: Option<AckId>,
    },
    /// The client answered one of our events.
    Ack {
        /// The namespace.
        nsp: Namespace,
        /// The id the event was sent with.
        id: AckId,
        /// `[...args]`.
        data: Option<Payload>,
    },
    /// No answer came before the deadline; the ack is forgotten.
    AckTimeout {
        /// The namespace.
        nsp: Namespace,
        /// The id.
        id: AckId,
    },
    /// The ack will never be answered: its socket left the namespace or the connection
    /// closed (it comes before that [`Event::Disconnected`]). The ack is forgotten.
    AckCancelled {
        /// The namespace.
        nsp: Namespace,
        /// The id.
        id: AckId,
    },
    /// The socket of `nsp` is gone.
    Disconnected {
        /// The namespace.
        nsp: Namespace,
        /// Why.
        reason: DisconnectReason,
    },
    /// The whole connection is closed: the driver closes the Engine.IO session.
    Closed(CloseReason),
    /// An Engine.IO event of the connection's session (a packet received or created, a
    /// heartbeat, a flush, the upgrade's steps, its close), for the application's listeners
    /// of the connection (the reference's `socket.conn` events). Only a
    /// [`ServerEndpoint`](crate::endpoint::server::ServerEndpoint) told to
    /// [`observe_engine`](crate::endpoint::server::ServerEndpoint::observe_engine) reports
    /// them; a bare [`ServerConnection`] never does.
    Engine(engineio_proto::Event),
}

/// Why a socket left its namespace; [`DisconnectReason::as_str`] gives the reference's
/// string.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client sent DISCONNECT.
    ClientNamespaceDisconnect,
    /// The application called [`ServerConnection::disconnect`].
    ServerNamespaceDisconnect,
    /// The connection closed on a packet that did not decode.
    ForcedClose,
    /// The connection closed on a protocol violation or [`ServerConnection::close`].
    ForcedServerClose,
    /// The Engine.IO session closed (its reason gives the string: `"transport close"`,
    /// `"ping timeout"`, …).
    Transport(engineio_proto::CloseReason),
    /// The server shuts down ([`ServerConnection::shutdown`]).
    ServerShuttingDown,
}

impl DisconnectReason {
    /// The reason string of the Node server.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ClientNamespaceDisconnect => "client namespace disconnect",
            Self::ServerNamespaceDisconnect => "server namespace disconnect",
            Self::ForcedClose => "forced close",
            Self::ForcedServerClose => "forced server close",
            Self::Transport(r) => r.as_str(),
            Self::ServerShuttingDown => "server shutting down",
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the whole connection closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// A packet did not decode ("forced close").
    Decode(DecodeError),
    /// A packet broke the exchange rules ("forced server close").
    Violation(Violation),
    /// No namespace was joined within `connect_timeout`.
    ConnectTimeout,
    /// The application called [`ServerConnection::close`].
    ServerClose,
    /// The application called [`ServerConnection::shutdown`].
    ServerShutdown,
    /// The Engine.IO session closed.
    Transport(engineio_proto::CloseReason),
}

/// When an ack we wait for expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::exhaustive_enums)] // a deadline or none: there is no third case
pub enum AckDeadline {
    /// No deadline: the ack waits until it is answered or its socket disconnects
    /// ([`Event::AckCancelled`]), as in the reference.
    None,
    /// [`Event::AckTimeout`] at this instant if no answer came.
    At(Instant),
}

impl AckDeadline {
    /// `now + timeout`, or no deadline.
    pub fn after(now: Instant, timeout: Option<Duration>) -> Self {
        timeout.map_or(Self::None, |t| Self::At(now + t))
    }

    fn instant(self) -> Option<Instant> {
        match self {
            Self::None => None,
            Self::At(at) => Some(at),
        }
    }
}

/// A packet that breaks the exchange rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// A packet other than CONNECT for a namespace that is not joined.
    #[error("{0:?} packet for a namespace that is not joined")]
    NotConnected(PacketKind),
    /// A CONNECT for a namespace already joined or being joined.
    #[error("duplicate CONNECT")]
    DuplicateConnect,
    /// A CONNECT_ERROR sent by the client.
    #[error("CONNECT_ERROR from the client")]
    ClientConnectError,
    /// More namespaces than [`ServerConfig::max_namespaces`].
    #[error("too many namespaces")]
    TooManyNamespaces,
}

/// Why a command was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The namespace is not joined (or, for accept/reject, not asked for).
    #[error("the namespace is not connected")]
    NotConnected,
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
    /// The event name is reserved.
    #[error("{0:?} is a reserved event name")]
    ReservedEventName(&'static str),
    /// The data is not `[name, ...args]` with a string or number name.
    #[error("event data must be an array with the event name first")]
    InvalidEventData,
    /// The data could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

#[derive(Debug)]
enum NsState {
    Pending,
    Connected { next_ack: u64 },
}

/// The Socket.IO server state machine for one Engine.IO connection.
///
/// Drive it as described in the crate docs: feed [`ServerConnection::handle_message`] with
/// every Engine.IO message, call commands, then drain [`ServerConnection::poll_transmit`]
/// and [`ServerConnection::poll_event`] until `None`, and call
/// [`ServerConnection::handle_timeout`] at [`ServerConnection::poll_timeout`].
#[derive(Debug)]
pub struct ServerConnection {
    /// (Shared: every connection of a server has the same.)
    config: Arc<ServerConfig>,
    decoder: Decoder,
    rng: Rng,
    namespaces: SmallMap<Namespace, NsState>,
    acks: PendingAcks,
    connect_deadline: Option<Instant>,
    transmits: VecDeque<EngineMessage>,
    events: VecDeque<Event>,
    closed: Option<CloseReason>,
}

impl ServerConnection {
    /// A connection opened at `now`. `rng_seed` seeds the socket ids (use fresh randomness in
    /// production; a constant in tests). The configuration is taken as is or shared (an
    /// `Arc`, for a server's many connections).
    pub fn new(config: impl Into<Arc<ServerConfig>>, rng_seed: [u8; 32], now: Instant) -> Self {
        let config = config.into();
        Self {
            decoder: Decoder::new(config.parser, config.decoder.clone()),
            connect_deadline: Some(now + config.connect_timeout),
            config,
            rng: Rng::new(rng_seed),
            namespaces: SmallMap::new(),
            acks: PendingAcks::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            closed: None,
        }
    }

    /// Queues an event of the layer below (the endpoint's Engine.IO events).
    pub(crate) fn push_event(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// The bytes of binary attachments held for a packet whose attachments have not all
    /// arrived ([`Decoder::attachment_bytes_held`]).
    pub fn attachment_bytes_held(&self) -> usize {
        self.decoder.attachment_bytes_held()
    }

    // ---- input ------------------------------------------------------------------------

    /// The attachments this connection holds took the server past `max` bytes of
    /// attachments in flight, all connections together: the connection is closed as if
    /// its packet had been over [`DecoderConfig::max_attachment_bytes`]
    /// ([`DecodeError::AttachmentsTooLarge`]), which frees them.
    pub fn handle_attachments_over_budget(&mut self, max: usize) {
        if self.closed.is_none() {
            self.close_with(
                CloseReason::Decode(DecodeError::AttachmentsTooLarge { max }),
                DisconnectReason::ForcedClose,
            );
        }
    }

    /// Handles one Engine.IO message from the client.
    pub fn handle_message(&mut self, msg: EngineMessage, now: Instant) {
        let _ = now;
        if self.closed.is_some() {
            return;
        }
        match self.decoder.decode(msg) {
            Ok(Some(packet)) => self.handle_packet(packet),
            Ok(None) => {}
            Err(e) => self.close_with(CloseReason::Decode(e), DisconnectReason::ForcedClose),
        }
    }

    fn handle_packet(&mut self, p: Packet) {
        let state = self.namespaces.get_mut(&p.nsp);
        match (p.kind, state) {
            (PacketKind::Connect, None) => {
                if self.namespaces.len() >= self.config.max_namespaces {
                    return self.violation(Violation::TooManyNamespaces);
                }
                self.namespaces.insert(p.nsp.clone(), NsState::Pending);
                self.events.push_back(Event::ConnectRequest {
                    nsp: p.nsp,
                    auth: p.data,
                });
            }
            (PacketKind::Connect, Some(_)) => self.violation(Violation::DuplicateConnect),
            (PacketKind::ConnectError, _) => self.violation(Violation::ClientConnectError),
            (kind, None | Some(NsState::Pending)) => self.violation(Violation::NotConnected(kind)),
            (PacketKind::Disconnect, Some(NsState::Connected { .. })) => {
                self.leave(&p.nsp, DisconnectReason::ClientNamespaceDisconnect);
            }
            (PacketKind::Event, Some(NsState::Connected { .. })) => {
                // The reference emits an `undefined` event for a payload-less EVENT; no
                // handler can match it, so it is dropped here.
                if let Some(data) = p.data {
                    self.events.push_back(Event::Event {
                        nsp: p.nsp,
                        data,
                        ack: p.id,
                    });
                }
            }
            (PacketKind::Ack, Some(NsState::Connected { .. })) => {
                // An unknown ack id is ignored, as in the reference.
                if let Some(id) = p.id {
                    if self.acks.remove(&p.nsp, id) {
                        self.events.push_back(Event::Ack {
                            nsp: p.nsp,
                            id,
                            data: p.data,
                        });
                    }
                }
            }
        }
    }

    /// Handles the end of the Engine.IO session: every socket disconnects with its
    /// reason ([`DisconnectReason::Transport`]).
    pub fn handle_engine_closed(&mut self, reason: engineio_proto::CloseReason, now: Instant) {
        let _ = now;
        if self.closed.is_none() {
            self.close_with(
                CloseReason::Transport(reason),
                DisconnectReason::Transport(reason),
            );
        }
    }

    /// Handles the clock: the connect timeout and expired acks. Early or repeated calls are
    /// harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed.is_some() {
            return;
        }
        if self.connect_deadline.is_some_and(|d| d <= now) {
            self.connect_deadline = None;
            let joined = self
                .namespaces
                .values()
                .any(|s| matches!(s, NsState::Connected { .. }));
            if !joined {
                return self.close_with(
                    CloseReason::ConnectTimeout,
                    DisconnectReason::ForcedServerClose,
                );
            }
        }
        while let Some((nsp, id)) = self.acks.pop_expired(now) {
            self.events.push_back(Event::AckTimeout { nsp, id });
        }
    }

    // ---- commands -----------------------------------------------------------------------

    /// Accepts a [`Event::ConnectRequest`]: sends CONNECT `{"sid":…}` (with recovery on,
    /// `{"sid":…,"pid":…}`, a fresh private session id) and joins the namespace.
    pub fn accept(&mut self, nsp: &Namespace, now: Instant) -> Result<SocketId, CommandError> {
        let sid = self.new_socket_id();
        self.accept_as(nsp, sid, now)
    }

    /// A fresh socket id, for a socket that needs one before it is accepted (the reference
    /// gives the socket its id before the namespace's middlewares run): accept it with
    /// [`ServerConnection::accept_as`].
    pub fn new_socket_id(&mut self) -> SocketId {
        SocketId(ByteString::from(self.rng.socket_id()))
    }

    /// Accepts a [`Event::ConnectRequest`] as [`ServerConnection::accept`] does, with the id
    /// [`ServerConnection::new_socket_id`] gave.
    pub fn accept_as(
        &mut self,
        nsp: &Namespace,
        sid: SocketId,
        now: Instant,
    ) -> Result<SocketId, CommandError> {
        let pid = self.config.recovery.then(|| self.rng.socket_id());
        self.connect(nsp, sid, pid, &[], false, now)
    }

    /// Accepts a [`Event::ConnectRequest`] that recovers a session
    /// ([`crate::recovery::SessionStore::restore`]): sends the events the client missed
    /// (`[event, ...args, offset]` each), then CONNECT `{"sid":…,"pid":…}` with the
    /// session's ids, and joins the namespace ([`Event::Connected`] with `recovered`).
    pub fn accept_recovered(
        &mut self,
        nsp: &Namespace,
        restored: &crate::recovery::RestoredSession,
        now: Instant,
    ) -> Result<SocketId, CommandError> {
        let sid = SocketId(ByteString::from(restored.session.sid.as_str()));
        let pid = Some(restored.session.pid.clone());
        self.connect(nsp, sid, pid, &restored.missed, true, now)
    }

    fn connect(
        &mut self,
        nsp: &Namespace,
        sid: SocketId,
        pid: Option<String>,
        missed: &[Payload],
        recovered: bool,
        now: Instant,
    ) -> Result<SocketId, CommandError> {
        let _ = now;
        self.check_open()?;
        match self.namespaces.get_mut(nsp) {
            Some(state @ NsState::Pending) => *state = NsState::Connected { next_ack: 0 },
            _ => return Err(CommandError::NotConnected),
        }
        for data in missed {
            self.send(&Packet::event(nsp.clone(), data.clone(), None))?;
        }
        #[derive(Serialize)]
        struct Reply<'a> {
            sid: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            pid: Option<&'a str>,
        }
        let reply = Reply {
            sid: sid.as_str(),
            pid: pid.as_deref(),
        };
        let data = Payload::new(self.config.parser, &reply)?;
        self.send(&Packet::connect(nsp.clone(), Some(data)))?;
        self.events.push_back(Event::Connected {
            nsp: nsp.clone(),
            sid: sid.clone(),
            pid,
            recovered,
        });
        Ok(sid)
    }

    /// Refuses a [`Event::ConnectRequest`]: sends CONNECT_ERROR `{"message":…,"data"?:…}`.
    /// The connection stays open.
    pub fn reject<T: Serialize + ?Sized>(
        &mut self,
        nsp: &Namespace,
        message: &str,
        data: Option<&T>,
    ) -> Result<(), CommandError> {
        self.check_open()?;
        if !matches!(self.namespaces.get(nsp), Some(NsState::Pending)) {
            return Err(CommandError::NotConnected);
        }
        self.namespaces.remove(nsp);
        #[derive(Serialize)]
        struct Error<'a, T: ?Sized> {
            message: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            data: Option<&'a T>,
        }
        let payload = Payload::new(self.config.parser, &Error { message, data })?;
        self.send(&Packet::connect_error(nsp.clone(), payload))?;
        Ok(())
    }

    /// Emits an event: `data` serializes to `[name, ...args]` (a tuple such as
    /// `("chat", "hi")`). With `ack_timeout`, an ack id is allocated from this namespace's
    /// counter (0, 1, 2, …) and returned; the answer comes as [`Event::Ack`], or
    /// [`Event::AckTimeout`] after the timeout.
    pub fn emit<T: Serialize + ?Sized>(
        &mut self,
        nsp: &Namespace,
        data: &T,
        ack_timeout: Option<Duration>,
        now: Instant,
    ) -> Result<Option<AckId>, CommandError> {
        let payload = Payload::new(self.config.parser, data)?;
        self.emit_payload(nsp, payload, ack_timeout.map(|t| now + t))
    }

    /// Emits an event built beforehand (for example once for many connections). With
    /// `ack_deadline`, an ack id is allocated as in [`ServerConnection::emit`].
    pub fn emit_payload(
        &mut self,
        nsp: &Namespace,
        data: Payload,
        ack_deadline: Option<Instant>,
    ) -> Result<Option<AckId>, CommandError> {
        match ack_deadline {
            Some(at) => self.emit_with_ack(nsp, data, AckDeadline::At(at)).map(Some),
            None => self.emit_inner(nsp, data, None).map(|_| None),
        }
    }

    /// Emits an event built beforehand and waits for its ack: an id is allocated from this
    /// namespace's counter (0, 1, 2, …) and returned; the answer comes as [`Event::Ack`],
    /// or [`Event::AckTimeout`] at the deadline, or [`Event::AckCancelled`] if the socket
    /// disconnects first.
    pub fn emit_with_ack(
        &mut self,
        nsp: &Namespace,
        data: Payload,
        deadline: AckDeadline,
    ) -> Result<AckId, CommandError> {
        self.emit_inner(nsp, data, Some(deadline))?
            .ok_or(CommandError::NotConnected)
    }

    fn emit_inner(
        &mut self,
        nsp: &Namespace,
        data: Payload,
        ack: Option<AckDeadline>,
    ) -> Result<Option<AckId>, CommandError> {
        self.check_open()?;
        check_event_data(&data)?;
        let Some(NsState::Connected { next_ack }) = self.namespaces.get_mut(nsp) else {
            return Err(CommandError::NotConnected);
        };
        let id = ack.map(|_| {
            let id = AckId::new(*next_ack);
            *next_ack += 1;
            id
        });
        self.send(&Packet::event(nsp.clone(), data, id))?;
        if let (Some(id), Some(deadline)) = (id, ack) {
            self.acks.insert(nsp.clone(), id, deadline.instant());
        }
        Ok(id)
    }

    /// Answers an event the client sent with an ack id: `data` serializes to `[...args]`.
    pub fn ack<T: Serialize + ?Sized>(
        &mut self,
        nsp: &Namespace,
        id: AckId,
        data: &T,
    ) -> Result<(), CommandError> {
        self.check_open()?;
        if !matches!(self.namespaces.get(nsp), Some(NsState::Connected { .. })) {
            return Err(CommandError::NotConnected);
        }
        let payload = Payload::new(self.config.parser, data)?;
        self.send(&Packet::ack(nsp.clone(), id, payload))?;
        Ok(())
    }

    /// Forgets the pending ack `id` of `nsp` (its emitter gave up): a late answer is then
    /// ignored, and its deadline, if any, no longer fires. Returns whether it was pending.
    pub fn cancel_ack(&mut self, nsp: &Namespace, id: AckId) -> bool {
        self.acks.remove(nsp, id)
    }

    /// Makes the socket of `nsp` leave: sends DISCONNECT (`socket.disconnect()`).
    pub fn disconnect(&mut self, nsp: &Namespace) -> Result<(), CommandError> {
        self.check_open()?;
        if !matches!(self.namespaces.get(nsp), Some(NsState::Connected { .. })) {
            return Err(CommandError::NotConnected);
        }
        self.send(&Packet::disconnect(nsp.clone()))?;
        self.leave(nsp, DisconnectReason::ServerNamespaceDisconnect);
        Ok(())
    }

    /// Closes the whole connection (`socket.disconnect(true)`). As the reference's
    /// `Client._disconnect`, each joined namespace first gets a DISCONNECT (its socket leaves
    /// with "server namespace disconnect"; a client sees "io server disconnect" and does not
    /// reconnect), then the connection closes.
    pub fn close(&mut self) {
        if self.closed.is_some() {
            return;
        }
        let joined: Vec<Namespace> = self
            .namespaces
            .iter()
            .filter(|(_, s)| matches!(s, NsState::Connected { .. }))
            .map(|(n, _)| n.clone())
            .collect();
        for nsp in joined {
            // Cannot fail: the connection is open and `nsp` is joined.
            if self.disconnect(&nsp).is_err() {
                debug_assert!(false, "disconnect of a joined namespace failed");
            }
        }
        self.close_with(
            CloseReason::ServerClose,
            DisconnectReason::ForcedServerClose,
        );
    }

    /// Closes the whole connection because the server shuts down: every socket disconnects
    /// with "server shutting down" and nothing is sent (the Engine.IO session's close tells
    /// the client).
    pub fn shutdown(&mut self) {
        if self.closed.is_none() {
            self.close_with(
                CloseReason::ServerShutdown,
                DisconnectReason::ServerShuttingDown,
            );
        }
    }

    /// Frees the memory of the internal queues when they are empty (call it before the
    /// driver goes idle: an idle connection then holds no buffer).
    pub fn shrink_buffers(&mut self) {
        if self.transmits.is_empty() && self.transmits.capacity() > 0 {
            self.transmits = VecDeque::new();
        }
        if self.events.is_empty() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
    }

    // ---- output -------------------------------------------------------------------------

    /// The next message for the Engine.IO session.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<EngineMessage> {
        self.transmits.pop_front()
    }

    /// The next event for the application.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`ServerConnection::handle_timeout`] next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed.is_some() {
            return None;
        }
        match (self.connect_deadline, self.acks.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ---- getters ------------------------------------------------------------------------

    /// Whether the namespace is joined.
    pub fn is_connected(&self, nsp: &Namespace) -> bool {
        matches!(self.namespaces.get(nsp), Some(NsState::Connected { .. }))
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// How many acks are awaited.
    pub fn pending_acks(&self) -> usize {
        self.acks.len()
    }

    /// The parser.
    pub fn parser(&self) -> ParserKind {
        self.config.parser
    }

    // ---- internals ----------------------------------------------------------------------

    fn check_open(&self) -> Result<(), CommandError> {
        if self.closed.is_some() {
            Err(CommandError::Closed)
        } else {
            Ok(())
        }
    }

    fn send(&mut self, packet: &Packet) -> Result<(), EncodeError> {
        let mut out = Vec::with_capacity(1);
        self.config.parser.encode(packet, &mut out)?;
        self.transmits.extend(out);
        Ok(())
    }

    fn leave(&mut self, nsp: &Namespace, reason: DisconnectReason) {
        self.namespaces.remove(nsp);
        for id in self.acks.remove_namespace(nsp) {
            self.events.push_back(Event::AckCancelled {
                nsp: nsp.clone(),
                id,
            });
        }
        self.events.push_back(Event::Disconnected {
            nsp: nsp.clone(),
            reason,
        });
    }

    fn violation(&mut self, v: Violation) {
        self.close_with(
            CloseReason::Violation(v),
            DisconnectReason::ForcedServerClose,
        );
    }

    fn close_with(&mut self, reason: CloseReason, socket_reason: DisconnectReason) {
        let joined: Vec<Namespace> = self
            .namespaces
            .iter()
            .filter(|(_, s)| matches!(s, NsState::Connected { .. }))
            .map(|(n, _)| n.clone())
            .collect();
        for nsp in joined {
            self.leave(&nsp, socket_reason.clone());
        }
        self.namespaces.clear();
        self.acks = PendingAcks::default();
        self.decoder.reset();
        self.connect_deadline = None;
        self.closed = Some(reason.clone());
        self.events.push_back(Event::Closed(reason));
    }
}

/// Checks that event data is `[name, ...args]` with a string or number name that is not
/// reserved.
pub(crate) fn check_event_data(data: &Payload) -> Result<(), CommandError> {
    let name = data
        .event_name()
        .map_err(|_| CommandError::InvalidEventData)?;
    if let Some(r) = name.as_str().and_then(reserved_event) {
        return Err(CommandError::ReservedEventName(r));
    }
    Ok(())
}
