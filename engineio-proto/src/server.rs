//! The server side of one Engine.IO session (PROTOCOL.md §1.3–§1.8).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::config::ServerConfig;
use crate::error::DecodeError;
use crate::frame::Frame;
use crate::open::OpenPacket;
use crate::packet::{Data, Packet, PacketType, WsMessage};
use crate::payload;
use crate::request::{BadRequestReason, Rejection, SessionRequest, TransportKind};
use crate::sid::Sid;

/// Opaque id of one HTTP request, chosen by the driver (unique among its live requests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Opaque id of one WebSocket connection, chosen by the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WsId(pub u64);

/// WebSocket close code for a message over `maxPayload` ("message too big").
pub const CLOSE_MESSAGE_TOO_BIG: u16 = 1009;

/// Something the driver must put on the wire.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transmit {
    /// Answer an HTTP request. Every request handed to the session gets exactly one answer,
    /// except a POST whose body is still being read when the session closes (its body, when
    /// it arrives, is answered [`Rejection::UnknownSid`]).
    Http {
        /// The request.
        req: RequestId,
        /// The answer.
        response: HttpResponse,
    },
    /// Send one message on a WebSocket.
    WebSocket {
        /// The WebSocket.
        ws: WsId,
        /// The message.
        msg: WsMessage,
    },
    /// Close a WebSocket (a refused second WebSocket, a failed upgrade, or the session's).
    CloseWebSocket {
        /// The WebSocket.
        ws: WsId,
        /// The close code, when the protocol requires one (1009 for a message too big).
        code: Option<u16>,
    },
}

/// The answer to an HTTP request of a session.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpResponse {
    /// 200, `Content-Type: text/plain; charset=UTF-8`, `cache-control: no-store`: a payload.
    Payload(Bytes),
    /// 200, `Content-Type: text/html`, body `ok`: a POST was accepted.
    Ok,
    /// This status with an empty body: 400 (overlap, invalid content, bad payload), 413
    /// (body over `maxPayload`), 500 (unsupported method).
    Status(u16),
    /// A JSON error ([`Rejection::to_json`]) with its status.
    Reject(Rejection),
}

/// What the session tells the application.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A `message` packet from the client.
    Message(Data),
    /// The client probed the WebSocket (`2probe`); the upgrade is under way.
    Upgrading,
    /// The session now runs over WebSocket; polling requests with its sid are rejected.
    Upgraded,
    /// The session is closed; the driver may forget it once the transmits are drained.
    Closed(CloseReason),
    /// With [`ServerSession::observe`]: a packet arrived on the session's transport, before
    /// the session acts on it (the reference's `packet` event of a socket).
    Packet(Packet),
    /// With [`ServerSession::observe`]: a packet was queued for the client (`packetCreate`).
    PacketCreate(Packet),
    /// With [`ServerSession::observe`]: the client answered a ping (`heartbeat`).
    Heartbeat,
    /// With [`ServerSession::observe`]: the queued packets were handed to the transport
    /// (`drain`).
    Drain,
}

/// Why a session closed, with the reference's reason strings ([`CloseReason::as_str`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// `"ping timeout"`: no pong within `pingTimeout`.
    PingTimeout,
    /// `"parse error"`: the client sent a packet that does not decode.
    ParseError(DecodeError),
    /// `"transport error"`: the transport failed or the client broke a transport rule.
    TransportError(TransportError),
    /// `"transport close"`: the client closed (a `close` packet, or the WebSocket closed).
    TransportClose,
    /// `"forced close"`: the server application closed the session.
    ForcedClose,
}

impl CloseReason {
    /// The reason string of the reference's `close` event.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::PingTimeout => "ping timeout",
            Self::ParseError(_) => "parse error",
            Self::TransportError(_) => "transport error",
            Self::TransportClose => "transport close",
            Self::ForcedClose => "forced close",
        }
    }
}

/// The transport errors that close a session, with the reference's descriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A second GET while one is pending.
    #[error("overlap from client")]
    PollOverlap,
    /// A second POST while one is being read.
    #[error("data request overlap from client")]
    PostOverlap,
    /// A POST with `Content-Type: application/octet-stream` (binary payloads are v3 only).
    #[error("invalid content")]
    InvalidContent,
    /// The client went away while its GET was pending.
    #[error("poll connection closed prematurely")]
    PollClosedPrematurely,
    /// The client went away while sending a POST body.
    #[error("data request connection closed prematurely")]
    PostClosedPrematurely,
    /// The WebSocket failed.
    #[error("websocket error")]
    WebSocketError,
    /// A WebSocket message over `maxPayload`.
    #[error("max payload size exceeded")]
    MessageTooLarge,
    /// The client sent a ping: in v4 only the server pings.
    #[error("invalid heartbeat direction")]
    InvalidHeartbeatDirection,
    /// The client does not read: its buffer would grow past `max_buffered`.
    #[error("write buffer full")]
    BufferFull,
}

/// What the driver does after [`ServerSession::handle_post`].
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PostAction {
    /// Read the body, at most `limit + 1` bytes (more is "too large" already), and pass it to
    /// [`ServerSession::handle_post_body`]; or call
    /// [`ServerSession::handle_request_aborted`] if the client goes away.
    ReadBody {
        /// `maxPayload`: a body longer than this is answered 413.
        limit: usize,
    },
    /// The request was answered already (see [`ServerSession::poll_transmit`]).
    Answered,
}

/// Why [`ServerSession::send`] refused a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The session is closing or closed.
    #[error("session is closed")]
    Closed,
}

/// Protocol state of one Engine.IO session, server side.
///
/// It has four kinds of methods:
/// - getters (`&self`): [`sid`](Self::sid), [`transport`](Self::transport),
///   [`is_closed`](Self::is_closed), [`is_writable`](Self::is_writable), …
/// - `handle_*`: input from the network or the clock, each taking `now`;
/// - commands from the application: [`send`](Self::send), [`close`](Self::close);
/// - `poll_*`: outputs. After any `handle_*` or command, drain [`poll_transmit`](Self::poll_transmit)
///   and [`poll_event`](Self::poll_event) until `None`, then sleep until
///   [`poll_timeout`](Self::poll_timeout) and call [`handle_timeout`](Self::handle_timeout).
///
/// ```
/// use std::time::{Duration, Instant};
/// use engineio_proto::{ServerConfig, ServerSession, SidGenerator, RequestId, Transmit, HttpResponse};
///
/// let now = Instant::now();
/// let sid = SidGenerator::from_seed([0; 32]).generate();
/// let mut session = ServerSession::new_polling(sid, ServerConfig::default(), RequestId(1), now);
/// // The handshake GET is answered with the open packet.
/// let Some(Transmit::Http { req, response: HttpResponse::Payload(body) }) = session.poll_transmit() else { panic!() };
/// assert_eq!(req, RequestId(1));
/// assert!(body.starts_with(b"0{\"sid\":"));
/// // Nothing else is due before the first ping.
/// assert_eq!(session.poll_timeout(), Some(now + Duration::from_secs(25)));
/// ```
#[derive(Debug)]
pub struct ServerSession {
    sid: Sid,
    /// (Shared: every session of a server has the same, and it is 104 bytes.)
    config: Arc<ServerConfig>,
    state: State,
    transport: Transport,
    /// The POST whose body is being read (polling only).
    post: Option<RequestId>,
    /// Packets waiting for a writable transport (the reference's `writeBuffer`).
    outbox: VecDeque<Frame>,
    outbox_bytes: usize,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    timers: Timers,
    /// The v4 leniency (engine.io ≥ 6.6.10): while a pong is awaited, the first other packet
    /// pushes the ping-timeout deadline back once.
    pong_deadline_refreshed: bool,
    /// Reports packets, heartbeats and flushes as events ([`ServerSession::observe`]).
    observe: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    /// `close()` was called on a polling session without a pending GET: the next GET
    /// delivers the close packet.
    Closing,
    Closed,
}

#[derive(Debug)]
enum Transport {
    Polling {
        /// The pending GET, if any: the transport is writable.
        get: Option<RequestId>,
        probe: Option<Probe>,
    },
    WebSocket {
        ws: WsId,
        supports_binary: bool,
    },
}

#[derive(Clone, Copy, Debug)]
struct Probe {
    ws: WsId,
    supports_binary: bool,
    /// `2probe` was received and answered.
    probed: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct Timers {
    ping: Option<Instant>,
    pong: Option<Instant>,
    upgrade: Option<Instant>,
    upgrade_noop: Option<Instant>,
    close: Option<Instant>,
}

impl Timers {
    fn next(&self) -> Option<Instant> {
        [
            self.ping,
            self.pong,
            self.upgrade,
            self.upgrade_noop,
            self.close,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

impl ServerSession {
    /// A new session opened by a polling handshake `GET`, which is answered with the open
    /// packet (`upgrades: ["websocket"]` unless upgrades are off). The configuration is
    /// taken as is or shared (an `Arc`, for a server's many sessions).
    pub fn new_polling(
        sid: Sid,
        config: impl Into<Arc<ServerConfig>>,
        handshake: RequestId,
        now: Instant,
    ) -> Self {
        let mut session = Self::new(
            sid,
            config.into(),
            Transport::Polling {
                get: Some(handshake),
                probe: None,
            },
            TransportKind::Polling,
            now,
        );
        session.flush();
        session
    }

    /// A new session opened by a WebSocket handshake: the open packet (`upgrades: []`) is the
    /// first message. `supports_binary` is false when the client sent `b64`.
    pub fn new_websocket(
        sid: Sid,
        config: impl Into<Arc<ServerConfig>>,
        ws: WsId,
        supports_binary: bool,
        now: Instant,
    ) -> Self {
        let mut session = Self::new(
            sid,
            config.into(),
            Transport::WebSocket {
                ws,
                supports_binary,
            },
            TransportKind::WebSocket,
            now,
        );
        session.flush();
        session
    }

    fn new(
        sid: Sid,
        config: Arc<ServerConfig>,
        transport: Transport,
        kind: TransportKind,
        now: Instant,
    ) -> Self {
        let open = OpenPacket::frame(
            &sid,
            config.upgrades_for(kind),
            config.ping_interval,
            config.ping_timeout,
            config.max_payload as u64,
        );
        let mut session = Self {
            sid,
            state: State::Open,
            transport,
            post: None,
            outbox: VecDeque::new(),
            outbox_bytes: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            timers: Timers {
                ping: Some(now + config.ping_interval),
                ..Timers::default()
            },
            pong_deadline_refreshed: false,
            observe: false,
            config,
        };
        session.push_frame(open);
        if let Some(initial) = session.config.initial_packet.clone() {
            session.push_frame(initial);
        }
        session
    }

    // ---- getters ----

    /// The session id.
    pub fn sid(&self) -> &Sid {
        &self.sid
    }

    /// The transport in use (polling until the upgrade completes).
    pub fn transport(&self) -> TransportKind {
        match self.transport {
            Transport::Polling { .. } => TransportKind::Polling,
            Transport::WebSocket { .. } => TransportKind::WebSocket,
        }
    }

    /// True once the session is closed (after [`Event::Closed`]).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// True when a message sent now goes out at once (WebSocket, or a pending GET): what
    /// `volatile` emits check.
    pub fn is_writable(&self) -> bool {
        self.state == State::Open
            && match self.transport {
                Transport::Polling { get, .. } => get.is_some(),
                Transport::WebSocket { .. } => true,
            }
    }

    /// Number of packets waiting for the transport.
    pub fn buffered_packets(&self) -> usize {
        self.outbox.len()
    }

    /// Bytes of data waiting for the transport.
    pub fn buffered_bytes(&self) -> usize {
        self.outbox_bytes
    }

    /// The `maxPayload` of this session.
    pub fn max_payload(&self) -> usize {
        self.config.max_payload
    }

    /// Checks that a request routed to this session may be served (PROTOCOL.md §1.9): the
    /// session is live, the `EIO` revision matches, and the transport matches (a WebSocket
    /// upgrade request is always allowed here; [`Self::handle_ws_open`] decides).
    pub fn verify(&self, request: SessionRequest, eio4: bool) -> Result<(), Rejection> {
        if self.state == State::Closed {
            return Err(Rejection::UnknownSid);
        }
        crate::request::check_session_revision(eio4)?;
        match (request, &self.transport) {
            (SessionRequest::WebSocket, _) | (_, Transport::Polling { .. }) => Ok(()),
            (_, Transport::WebSocket { .. }) => {
                Err(Rejection::BadRequest(BadRequestReason::TransportMismatch))
            }
        }
    }

    /// True while packets, heartbeats and flushes are reported ([`ServerSession::observe`]).
    pub fn is_observed(&self) -> bool {
        self.observe
    }

    // ---- commands ----

    /// Reports from now on every packet received ([`Event::Packet`]) and queued for the
    /// client ([`Event::PacketCreate`]), each answered ping ([`Event::Heartbeat`]) and each
    /// flush to the transport ([`Event::Drain`]): the reference's `packet`, `packetCreate`,
    /// `heartbeat` and `drain` events of a socket, for an application that listens to them.
    /// Off by default (nothing is copied nor queued then); `false` turns it off again.
    pub fn observe(&mut self, on: bool) {
        self.observe = on;
    }

    /// Queues a `message` packet; it leaves at once on WebSocket or with the next poll.
    pub fn send(&mut self, data: Data) -> Result<(), SendError> {
        self.send_frame(Frame::message(data))
    }

    /// Queues a packet encoded beforehand (a broadcast encodes once and sends the same
    /// [`Frame`] to every session).
    pub fn send_frame(&mut self, frame: Frame) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::Closed);
        }
        // One packet larger than the limit still goes alone: it could never go otherwise.
        if self.outbox_bytes > 0
            && self.outbox_bytes.saturating_add(frame.len()) > self.config.max_buffered
        {
            self.fail(CloseReason::TransportError(TransportError::BufferFull));
            return Err(SendError::Closed);
        }
        self.push_frame(frame);
        self.flush();
        Ok(())
    }

    /// Closes the session from the server ("forced close"): the buffered packets are
    /// delivered first, then the close packet (polling) or the WebSocket close.
    pub fn close(&mut self, now: Instant) {
        if self.state != State::Open {
            return;
        }
        match &mut self.transport {
            Transport::Polling { get, probe } => {
                if let Some(probe) = probe.take() {
                    self.transmits.push_back(Transmit::CloseWebSocket {
                        ws: probe.ws,
                        code: None,
                    });
                }
                if let Some(req) = get.take() {
                    self.respond_closing_poll(req, false, now);
                } else {
                    self.state = State::Closing;
                    self.timers = Timers {
                        close: Some(now + self.config.close_timeout),
                        ..Timers::default()
                    };
                }
            }
            Transport::WebSocket { .. } => {
                self.flush();
                self.finish(CloseReason::ForcedClose, None);
            }
        }
    }

    /// The driver saw the client fall behind on a transport it buffers itself (a
    /// WebSocket whose writes do not drain): the session closes ("transport error").
    pub fn handle_slow_client(&mut self, now: Instant) {
        let _ = now;
        self.fail(CloseReason::TransportError(TransportError::BufferFull));
    }

    // ---- polling input ----

    /// A polling `GET` for this session.
    pub fn handle_poll(&mut self, req: RequestId, now: Instant) {
        let _ = now;
        let get = match (&mut self.transport, self.state) {
            (_, State::Closed) => return self.reject(req, Rejection::UnknownSid),
            (Transport::WebSocket { .. }, _) => {
                return self.reject(
                    req,
                    Rejection::BadRequest(BadRequestReason::TransportMismatch),
                );
            }
            (Transport::Polling { get, .. }, _) => get,
        };
        if get.is_some() {
            // §1.4: the second GET gets 400, the pending one the close packet.
            self.respond(req, HttpResponse::Status(400));
            return self.fail(CloseReason::TransportError(TransportError::PollOverlap));
        }
        if self.state == State::Closing {
            return self.respond_closing_poll(req, true, now);
        }
        *get = Some(req);
        self.flush();
    }

    /// The head of a polling `POST` for this session; `octet_stream` is true for
    /// `Content-Type: application/octet-stream`, which v4 refuses.
    pub fn handle_post(&mut self, req: RequestId, octet_stream: bool, now: Instant) -> PostAction {
        let _ = now;
        match (&self.transport, self.state) {
            (_, State::Closed) => {
                self.reject(req, Rejection::UnknownSid);
                return PostAction::Answered;
            }
            (Transport::WebSocket { .. }, _) => {
                self.reject(
                    req,
                    Rejection::BadRequest(BadRequestReason::TransportMismatch),
                );
                return PostAction::Answered;
            }
            (Transport::Polling { .. }, _) => {}
        }
        if octet_stream {
            self.respond(req, HttpResponse::Status(400));
            self.fail(CloseReason::TransportError(TransportError::InvalidContent));
            return PostAction::Answered;
        }
        if self.post.is_some() {
            self.respond(req, HttpResponse::Status(400));
            self.fail(CloseReason::TransportError(TransportError::PostOverlap));
            return PostAction::Answered;
        }
        self.post = Some(req);
        PostAction::ReadBody {
            limit: self.config.max_payload,
        }
    }

    /// The body of the `POST` `req` (at most `limit + 1` bytes of it; see [`PostAction`]).
    ///
    /// A body over `maxPayload` is answered 413 and the session is kept. Otherwise the
    /// packets are processed in order; a bad record closes the session with "parse error"
    /// after the packets before it were processed, and the POST is answered 400.
    pub fn handle_post_body(&mut self, req: RequestId, body: Bytes, now: Instant) {
        if self.post != Some(req) || self.state == State::Closed {
            return self.reject(req, Rejection::UnknownSid);
        }
        self.post = None;
        if body.len() > self.config.max_payload {
            return self.respond(req, HttpResponse::Status(413));
        }
        for packet in payload::decode_bytes(body) {
            match packet {
                Ok(packet) if packet.packet_type == PacketType::Close => {
                    // §1.4: a pending GET gets a noop, then the session closes.
                    if let Transport::Polling { get, .. } = &mut self.transport {
                        if let Some(get) = get.take() {
                            self.respond(get, HttpResponse::Payload(Bytes::from_static(b"6")));
                        }
                    }
                    self.respond(req, HttpResponse::Ok);
                    return self.fail(CloseReason::TransportClose);
                }
                Ok(packet) => self.on_packet(packet, now),
                Err(e) => {
                    self.respond(req, HttpResponse::Status(400));
                    return self.fail(CloseReason::ParseError(e));
                }
            }
            if self.state == State::Closed {
                return self.respond(req, HttpResponse::Ok);
            }
        }
        self.respond(req, HttpResponse::Ok);
    }

    /// A polling request with a method other than GET or POST: 500, the session is kept.
    pub fn handle_other_method(&mut self, req: RequestId) {
        self.respond(req, HttpResponse::Status(500));
    }

    /// The client went away while its GET was pending or its POST body was being read: the
    /// session closes ("transport error").
    pub fn handle_request_aborted(&mut self, req: RequestId, now: Instant) {
        let _ = now;
        if let Transport::Polling { get, .. } = &mut self.transport {
            if *get == Some(req) {
                *get = None;
                return self.fail(CloseReason::TransportError(
                    TransportError::PollClosedPrematurely,
                ));
            }
        }
        if self.post == Some(req) {
            self.post = None;
            self.fail(CloseReason::TransportError(
                TransportError::PostClosedPrematurely,
            ));
        }
    }

    // ---- WebSocket input ----

    /// A WebSocket was opened with this session's sid: an upgrade from polling. Anything
    /// else (upgrades off, already upgrading or upgraded, closing) closes it at once.
    pub fn handle_ws_open(&mut self, ws: WsId, supports_binary: bool, now: Instant) {
        let can_upgrade = self.state == State::Open
            && self.config.allow_upgrades
            && self.config.transports.websocket;
        match &mut self.transport {
            Transport::Polling {
                probe: probe @ None,
                ..
            } if can_upgrade => {
                *probe = Some(Probe {
                    ws,
                    supports_binary,
                    probed: false,
                });
                self.timers.upgrade = Some(now + self.config.upgrade_timeout);
            }
            Transport::Polling { .. } | Transport::WebSocket { .. } => {
                self.transmits
                    .push_back(Transmit::CloseWebSocket { ws, code: None });
            }
        }
    }

    /// A message arrived on a WebSocket of this session.
    pub fn handle_ws_message(&mut self, ws: WsId, msg: WsMessage, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        if msg.len() > self.config.max_payload {
            return self.handle_ws_oversized(ws, now);
        }
        match &self.transport {
            Transport::WebSocket { ws: active, .. } if *active == ws => {
                match Packet::decode_ws(msg) {
                    // The reference ignores `1` over WebSocket and waits for the ping
                    // timeout; we close at once (PROTOCOL.md §1.5, §6).
                    Ok(p) if p.packet_type == PacketType::Close => {
                        self.finish(CloseReason::TransportClose, None);
                    }
                    Ok(packet) => self.on_packet(packet, now),
                    Err(e) => self.finish(CloseReason::ParseError(e), None),
                }
            }
            Transport::Polling {
                probe: Some(probe), ..
            } if probe.ws == ws => match Packet::decode_ws(msg) {
                Ok(p) if p.packet_type == PacketType::Ping && p.is_probe() => {
                    self.on_probe(now);
                }
                Ok(p) if p.packet_type == PacketType::Upgrade => self.complete_upgrade(),
                Ok(_) | Err(_) => self.abort_probe(None),
            },
            Transport::Polling { .. } | Transport::WebSocket { .. } => {}
        }
    }

    /// A message over `maxPayload` arrived on a WebSocket of this session (a WebSocket
    /// layer that enforces the limit itself reports it here instead of buffering it). The
    /// WebSocket is closed with 1009; if it was the session's, the session closes with
    /// "transport error", if it was a probe, only the upgrade fails.
    pub fn handle_ws_oversized(&mut self, ws: WsId, now: Instant) {
        let _ = now;
        match &self.transport {
            Transport::WebSocket { ws: active, .. } if *active == ws => self.finish(
                CloseReason::TransportError(TransportError::MessageTooLarge),
                Some(CLOSE_MESSAGE_TOO_BIG),
            ),
            Transport::Polling {
                probe: Some(probe), ..
            } if probe.ws == ws => self.abort_probe(Some(CLOSE_MESSAGE_TOO_BIG)),
            Transport::Polling { .. } | Transport::WebSocket { .. } => {}
        }
    }

    /// A WebSocket of this session closed. The session's own WebSocket closing closes the
    /// session ("transport close"); a probe closing only fails the upgrade.
    pub fn handle_ws_closed(&mut self, ws: WsId, now: Instant) {
        let _ = now;
        self.ws_gone(ws, CloseReason::TransportClose);
    }

    /// A WebSocket of this session failed ("transport error" if it was the session's).
    pub fn handle_ws_error(&mut self, ws: WsId, now: Instant) {
        let _ = now;
        self.ws_gone(
            ws,
            CloseReason::TransportError(TransportError::WebSocketError),
        );
    }

    // ---- timers ----

    /// Runs the timers due at `now`: ping, ping timeout, upgrade timeout, the noop that ends
    /// a pending poll during an upgrade, and the close timeout. Early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.close.is_some_and(|t| t <= now) {
            self.timers.close = None;
            self.finish(CloseReason::ForcedClose, None);
        }
        if self.timers.pong.is_some_and(|t| t <= now) {
            return self.fail(CloseReason::PingTimeout);
        }
        if self.timers.ping.is_some_and(|t| t <= now) {
            self.timers.ping = None;
            self.timers.pong = Some(now + self.config.ping_timeout);
            self.pong_deadline_refreshed = false;
            self.push_frame(Frame::from_packet(&Packet::ping()));
            self.flush();
        }
        if self.timers.upgrade.is_some_and(|t| t <= now) {
            self.abort_probe(None);
        }
        if self.timers.upgrade_noop.is_some_and(|t| t <= now) {
            // §1.6: every 100 ms during an upgrade, a pending GET is ended with a noop.
            self.timers.upgrade_noop = Some(now + self.config.upgrade_noop_interval);
            if let Transport::Polling { get, .. } = &mut self.transport {
                if let Some(req) = get.take() {
                    self.respond(req, HttpResponse::Payload(Bytes::from_static(b"6")));
                }
            }
        }
    }

    /// Frees the memory of the internal queues when they are empty (call it before the
    /// driver goes idle: an idle session then holds no buffer).
    pub fn shrink_buffers(&mut self) {
        shrink_if_empty(&mut self.outbox);
        shrink_if_empty(&mut self.transmits);
        shrink_if_empty(&mut self.events);
    }

    // ---- outputs ----

    /// The next thing to put on the wire.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the application.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // ---- internals ----

    fn on_packet(&mut self, packet: Packet, now: Instant) {
        if self.state != State::Open {
            return;
        }
        if self.observe {
            self.events.push_back(Event::Packet(packet.clone()));
        }
        if packet.packet_type != PacketType::Pong && !self.pong_deadline_refreshed {
            if let Some(deadline) = &mut self.timers.pong {
                *deadline = now + self.config.ping_timeout;
                self.pong_deadline_refreshed = true;
            }
        }
        match packet.packet_type {
            PacketType::Ping => self.fail(CloseReason::TransportError(
                TransportError::InvalidHeartbeatDirection,
            )),
            PacketType::Pong => {
                self.timers.pong = None;
                self.timers.ping = Some(now + self.config.ping_interval);
                if self.observe {
                    self.events.push_back(Event::Heartbeat);
                }
            }
            PacketType::Message => self.events.push_back(Event::Message(packet.data)),
            // `close` is handled by each transport; the others mean nothing from a client.
            PacketType::Open | PacketType::Close | PacketType::Upgrade | PacketType::Noop => {}
        }
    }

    fn on_probe(&mut self, now: Instant) {
        let Transport::Polling {
            probe: Some(probe), ..
        } = &mut self.transport
        else {
            return;
        };
        probe.probed = true;
        let ws = probe.ws;
        self.transmits.push_back(Transmit::WebSocket {
            ws,
            msg: WsMessage::Text(ByteString::from_static("3probe")),
        });
        self.events.push_back(Event::Upgrading);
        self.timers.upgrade_noop = Some(now + self.config.upgrade_noop_interval);
    }

    fn complete_upgrade(&mut self) {
        let Transport::Polling {
            get,
            probe: Some(probe),
        } = self.transport
        else {
            return;
        };
        self.timers.upgrade = None;
        self.timers.upgrade_noop = None;
        // §1.6: the polling transport is closed; a pending GET gets the close packet.
        if let Some(req) = get {
            self.respond(req, HttpResponse::Payload(Bytes::from_static(b"1")));
        }
        self.transport = Transport::WebSocket {
            ws: probe.ws,
            supports_binary: probe.supports_binary,
        };
        self.events.push_back(Event::Upgraded);
        self.flush();
        if self.state == State::Closing {
            self.finish(CloseReason::ForcedClose, None);
        }
    }

    fn abort_probe(&mut self, code: Option<u16>) {
        if let Transport::Polling { probe, .. } = &mut self.transport {
            if let Some(probe) = probe.take() {
                self.transmits
                    .push_back(Transmit::CloseWebSocket { ws: probe.ws, code });
            }
        }
        self.timers.upgrade = None;
        self.timers.upgrade_noop = None;
    }

    fn ws_gone(&mut self, ws: WsId, reason: CloseReason) {
        match &mut self.transport {
            Transport::WebSocket { ws: active, .. } if *active == ws => {
                if self.state != State::Closed {
                    self.close_now(reason, None, false);
                }
            }
            Transport::Polling { probe, .. } if probe.is_some_and(|p| p.ws == ws) => {
                *probe = None;
                self.timers.upgrade = None;
                self.timers.upgrade_noop = None;
            }
            Transport::Polling { .. } | Transport::WebSocket { .. } => {}
        }
    }

    /// Answers a GET on a closing session. Buffered packets go first, alone: the close
    /// packet follows on the next GET (`6\x1e1`), as the reference drains its buffer before
    /// closing the transport — a client handles a close packet before the messages decoded
    /// with it. With nothing buffered, a GET pending when `close()` was called gets `1`, a
    /// later GET `6\x1e1`.
    fn respond_closing_poll(&mut self, req: RequestId, later_get: bool, now: Instant) {
        if !self.outbox.is_empty() {
            let body = self.take_outbox_payload();
            self.respond(req, HttpResponse::Payload(body));
            if self.state == State::Open {
                self.state = State::Closing;
                self.timers = Timers {
                    close: Some(now + self.config.close_timeout),
                    ..Timers::default()
                };
            }
            return;
        }
        let body: &'static [u8] = if later_get { b"6\x1e1" } else { b"1" };
        self.respond(req, HttpResponse::Payload(Bytes::from_static(body)));
        self.finish(CloseReason::ForcedClose, None);
    }

    /// Closes at once on an error: a pending GET gets the close packet (§1.4), the buffer is
    /// dropped.
    fn fail(&mut self, reason: CloseReason) {
        if self.state != State::Closed {
            self.close_now(reason, None, true);
        }
    }

    /// Closes at once after a flush, sending a WebSocket close with `code`.
    fn finish(&mut self, reason: CloseReason, code: Option<u16>) {
        if self.state != State::Closed {
            self.close_now(reason, code, true);
        }
    }

    fn close_now(&mut self, reason: CloseReason, code: Option<u16>, close_ws: bool) {
        self.state = State::Closed;
        self.timers = Timers::default();
        self.outbox.clear();
        self.outbox_bytes = 0;
        match &mut self.transport {
            Transport::Polling { get, probe } => {
                if let Some(req) = get.take() {
                    self.transmits.push_back(Transmit::Http {
                        req,
                        response: HttpResponse::Payload(Bytes::from_static(b"1")),
                    });
                }
                if let Some(probe) = probe.take() {
                    self.transmits.push_back(Transmit::CloseWebSocket {
                        ws: probe.ws,
                        code: None,
                    });
                }
            }
            Transport::WebSocket { ws, .. } => {
                if close_ws {
                    self.transmits
                        .push_back(Transmit::CloseWebSocket { ws: *ws, code });
                }
            }
        }
        self.events.push_back(Event::Closed(reason));
    }

    fn push_frame(&mut self, frame: Frame) {
        if self.observe {
            let packet = match &frame {
                Frame::Binary(data) => Some(Packet::binary(data.clone())),
                Frame::Text(text) => Packet::decode_text(text.clone()).ok(),
            };
            // (Our own frames always decode.)
            if let Some(packet) = packet {
                self.events.push_back(Event::PacketCreate(packet));
            }
        }
        self.outbox_bytes += frame.len();
        self.outbox.push_back(frame);
    }

    /// Sends the buffered packets if the transport is writable.
    fn flush(&mut self) {
        if self.outbox.is_empty() || self.state == State::Closed {
            return;
        }
        match &mut self.transport {
            Transport::WebSocket {
                ws,
                supports_binary,
            } => {
                let (ws, supports_binary) = (*ws, *supports_binary);
                self.outbox_bytes = 0;
                for frame in self.outbox.drain(..) {
                    self.transmits.push_back(Transmit::WebSocket {
                        ws,
                        msg: frame.into_ws_message(supports_binary),
                    });
                }
            }
            Transport::Polling { get, .. } => {
                let Some(req) = get.take() else {
                    return;
                };
                let body = self.take_outbox_payload();
                self.respond(req, HttpResponse::Payload(body));
            }
        }
        if self.observe {
            self.events.push_back(Event::Drain);
        }
    }

    /// Encodes the whole buffer as one polling payload (no limit on S→C payloads, §1.4).
    fn take_outbox_payload(&mut self) -> Bytes {
        let len: usize = self.outbox.iter().map(Frame::polling_len).sum::<usize>()
            + self.outbox.len().saturating_sub(1);
        let mut out = BytesMut::with_capacity(len);
        for (i, frame) in self.outbox.drain(..).enumerate() {
            if i > 0 {
                out.put_u8(payload::SEPARATOR);
            }
            frame.encode_polling(&mut out);
        }
        self.outbox_bytes = 0;
        out.freeze()
    }

    fn respond(&mut self, req: RequestId, response: HttpResponse) {
        self.transmits.push_back(Transmit::Http { req, response });
    }

    fn reject(&mut self, req: RequestId, rejection: Rejection) {
        self.respond(req, HttpResponse::Reject(rejection));
    }
}

/// Releases an empty queue's allocation.
fn shrink_if_empty<T>(queue: &mut VecDeque<T>) {
    if queue.is_empty() && queue.capacity() > 0 {
        *queue = VecDeque::new();
    }
}
