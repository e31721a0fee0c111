//! The client side of one Engine.IO session (PROTOCOL.md §1.3, §1.6–§1.8, §5.2).

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::config::Transports;
use crate::error::{DecodeError, HandshakeError};
use crate::frame::Frame;
use crate::open::OpenPacket;
use crate::packet::{Data, Packet, PacketType, WsMessage};
use crate::payload;
use crate::request::TransportKind;

/// Client options.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Transports the client may use; the session starts on polling when it is allowed,
    /// else on WebSocket.
    pub transports: Transports,
    /// Whether to upgrade from polling to WebSocket when the server offers it.
    pub upgrade: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            transports: Transports::BOTH,
            upgrade: true,
        }
    }
}

impl ClientConfig {
    /// Sets the allowed transports.
    pub fn transports(mut self, transports: Transports) -> Self {
        self.transports = transports;
        self
    }

    /// Sets whether the client upgrades to WebSocket.
    pub fn upgrade(mut self, upgrade: bool) -> Self {
        self.upgrade = upgrade;
        self
    }
}

/// Something the client driver must do on the wire.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientTransmit {
    /// Send a polling `GET` (with `sid` once [`ClientSession::sid`] is known). At most one is
    /// in flight; answer it with [`ClientSession::handle_poll_response`].
    Poll,
    /// Send a polling `POST` with this body (`Content-Type: text/plain;charset=UTF-8`). At
    /// most one is in flight; answer it with [`ClientSession::handle_post_response`].
    Post(Bytes),
    /// Open a WebSocket: the handshake (no sid yet) or the upgrade probe (with the sid).
    OpenWebSocket,
    /// Send a message on the WebSocket.
    WebSocket(WsMessage),
    /// Close the WebSocket.
    CloseWebSocket,
}

/// What the client session tells the application.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The handshake completed.
    Open(OpenPacket),
    /// A `message` packet from the server.
    Message(Data),
    /// The server answered the probe; polling is paused while the upgrade completes.
    Upgrading,
    /// The session now runs over WebSocket.
    Upgraded,
    /// The upgrade failed; the session goes on over polling.
    UpgradeFailed,
    /// The server pinged (answered already): engine.io-client's `ping` event.
    Ping,
    /// The session closed.
    Closed(ClientCloseReason),
}

/// Why a client session closed, with engine.io-client's reason strings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientCloseReason {
    /// `"transport close"`: the server closed (a `close` packet, or the WebSocket closed).
    TransportClose,
    /// `"transport error"`: a request failed, or the server sent something invalid.
    TransportError(ClientTransportError),
    /// `"ping timeout"`: no ping from the server within `pingInterval + pingTimeout`.
    PingTimeout,
    /// `"forced close"`: the application closed the session.
    ForcedClose,
}

impl ClientCloseReason {
    /// The reason string of engine.io-client's `close` event.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError(_) => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ForcedClose => "forced close",
        }
    }
}

/// The transport errors that close a client session.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientTransportError {
    /// A polling GET failed (network error or a status other than 200).
    #[error("xhr poll error")]
    PollError,
    /// A polling POST failed.
    #[error("xhr post error")]
    PostError,
    /// The WebSocket failed.
    #[error("websocket error")]
    WebSocketError,
    /// The server sent a packet that does not decode.
    #[error("parse error: {0}")]
    Decode(DecodeError),
    /// The handshake was invalid.
    #[error("invalid handshake: {0}")]
    Handshake(String),
}

impl From<HandshakeError> for ClientTransportError {
    fn from(e: HandshakeError) -> Self {
        Self::Handshake(e.to_string())
    }
}

/// Why [`ClientSession::send`] refused a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientSendError {
    /// The session is closed.
    #[error("session is closed")]
    Closed,
}

/// Protocol state of one Engine.IO session, client side.
///
/// Same drive contract as [`crate::ServerSession`]: feed `handle_*` with `now`, drain
/// [`poll_transmit`](Self::poll_transmit) and [`poll_event`](Self::poll_event) until
/// `None`, and call [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout).
///
/// ```
/// use std::time::Instant;
/// use bytes::Bytes;
/// use engineio_proto::{ClientConfig, ClientEvent, ClientSession, ClientTransmit};
///
/// let now = Instant::now();
/// let mut client = ClientSession::new(ClientConfig::default(), now);
/// assert_eq!(client.poll_transmit(), Some(ClientTransmit::Poll));
/// client.handle_poll_response(Bytes::from_static(
///     br#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
/// ), now);
/// assert!(matches!(client.poll_event(), Some(ClientEvent::Open(_))));
/// assert_eq!(client.sid(), Some("lv_VI97HAXpY6yYWAAAC"));
/// assert_eq!(client.poll_transmit(), Some(ClientTransmit::Poll)); // the next long-poll
/// ```
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    state: ClientState,
    handshake: Option<OpenPacket>,
    transport: ClientTransport,
    outbox: VecDeque<Frame>,
    transmits: VecDeque<ClientTransmit>,
    events: VecDeque<ClientEvent>,
    /// The server must ping before this instant (`pingInterval + pingTimeout`).
    ping_deadline: Option<Instant>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientState {
    Opening,
    Open,
    /// `close()` was called while a POST was in flight: the close packet leaves with the next.
    Closing,
    Closed,
}

#[derive(Clone, Copy, Debug)]
enum ClientTransport {
    Polling {
        get_in_flight: bool,
        post_in_flight: bool,
        probe: ProbeState,
    },
    WebSocket,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProbeState {
    None,
    /// The probe WebSocket is being opened.
    Connecting,
    /// `2probe` was sent.
    Probing,
    /// `3probe` was received: polling is paused until the GET and POST in flight finish.
    Pausing,
}

impl ClientSession {
    /// A new session: the first transmit opens it (a polling GET, or a WebSocket when
    /// polling is not allowed).
    pub fn new(config: ClientConfig, now: Instant) -> Self {
        let _ = now;
        let polling = config.transports.polling;
        let mut session = Self {
            config,
            state: ClientState::Opening,
            handshake: None,
            transport: if polling {
                ClientTransport::Polling {
                    get_in_flight: true,
                    post_in_flight: false,
                    probe: ProbeState::None,
                }
            } else {
                ClientTransport::WebSocket
            },
            outbox: VecDeque::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            ping_deadline: None,
        };
        session.transmits.push_back(if polling {
            ClientTransmit::Poll
        } else {
            ClientTransmit::OpenWebSocket
        });
        session
    }

    // ---- getters ----

    /// The session id, once the handshake completed.
    pub fn sid(&self) -> Option<&str> {
        self.handshake.as_ref().map(|h| h.sid.as_str())
    }

    /// The handshake, once received.
    pub fn handshake(&self) -> Option<&OpenPacket> {
        self.handshake.as_ref()
    }

    /// The transport in use.
    pub fn transport(&self) -> TransportKind {
        match self.transport {
            ClientTransport::Polling { .. } => TransportKind::Polling,
            ClientTransport::WebSocket => TransportKind::WebSocket,
        }
    }

    /// True once the session is open (handshake received) and not closed.
    pub fn is_open(&self) -> bool {
        self.state == ClientState::Open
    }

    /// True once the session is closed.
    pub fn is_closed(&self) -> bool {
        self.state == ClientState::Closed
    }

    /// Packets waiting for the transport.
    pub fn buffered_packets(&self) -> usize {
        self.outbox.len()
    }

    /// Whether the transport can take a packet now (engine.io-client's
    /// `transport.writable`): the session is open and, over polling, no POST is in flight.
    /// socket.io-client drops a volatile packet when this is false.
    pub fn is_writable(&self) -> bool {
        self.state == ClientState::Open
            && match self.transport {
                ClientTransport::Polling { post_in_flight, .. } => !post_in_flight,
                ClientTransport::WebSocket => true,
            }
    }

    // ---- commands ----

    /// Queues a `message` packet. Before the handshake it waits in the buffer.
    pub fn send(&mut self, data: Data) -> Result<(), ClientSendError> {
        match self.state {
            ClientState::Opening | ClientState::Open => {
                self.outbox.push_back(Frame::message(data));
                self.flush();
                Ok(())
            }
            ClientState::Closing | ClientState::Closed => Err(ClientSendError::Closed),
        }
    }

    /// Closes the session ("forced close"): buffered packets and a close packet are sent
    /// over polling, or the WebSocket is closed.
    pub fn close(&mut self, now: Instant) {
        let _ = now;
        match self.state {
            ClientState::Closing | ClientState::Closed => {}
            ClientState::Opening => self.finish(ClientCloseReason::ForcedClose),
            ClientState::Open => match &mut self.transport {
                ClientTransport::Polling { probe, .. } => {
                    if *probe != ProbeState::None {
                        *probe = ProbeState::None;
                        self.transmits.push_back(ClientTransmit::CloseWebSocket);
                    }
                    self.outbox
                        .push_back(Frame::from_packet(&Packet::empty(PacketType::Close)));
                    self.state = ClientState::Closing;
                    self.flush();
                }
                ClientTransport::WebSocket => {
                    self.flush();
                    self.finish(ClientCloseReason::ForcedClose);
                }
            },
        }
    }

    // ---- polling input ----

    /// The body of a 200 answer to the polling GET.
    pub fn handle_poll_response(&mut self, body: Bytes, now: Instant) {
        let ClientTransport::Polling { get_in_flight, .. } = &mut self.transport else {
            return;
        };
        *get_in_flight = false;
        if matches!(self.state, ClientState::Closed) {
            return;
        }
        for packet in payload::decode_bytes(body) {
            match packet {
                Ok(packet) => self.on_packet(packet, now),
                Err(e) => {
                    return self.fail(ClientTransportError::Decode(e));
                }
            }
            if self.state == ClientState::Closed {
                return;
            }
        }
        self.after_poll();
    }

    /// The polling GET failed (network error or non-200 status).
    pub fn handle_poll_error(&mut self, now: Instant) {
        let _ = now;
        if let ClientTransport::Polling { get_in_flight, .. } = &mut self.transport {
            *get_in_flight = false;
            self.fail(ClientTransportError::PollError);
        }
    }

    /// The answer to the polling POST: `ok` is true for a 200.
    pub fn handle_post_response(&mut self, ok: bool, now: Instant) {
        let _ = now;
        let ClientTransport::Polling { post_in_flight, .. } = &mut self.transport else {
            return;
        };
        *post_in_flight = false;
        if !ok {
            return self.fail(ClientTransportError::PostError);
        }
        self.flush();
        self.maybe_finish_upgrade();
    }

    // ---- WebSocket input ----

    /// The WebSocket opened (the handshake one, or the probe).
    pub fn handle_ws_open(&mut self, now: Instant) {
        let _ = now;
        if let ClientTransport::Polling { probe, .. } = &mut self.transport {
            if *probe == ProbeState::Connecting {
                *probe = ProbeState::Probing;
                self.transmits
                    .push_back(ClientTransmit::WebSocket(WsMessage::Text(
                        ByteString::from_static("2probe"),
                    )));
            }
        }
    }

    /// A message arrived on the WebSocket.
    pub fn handle_ws_message(&mut self, msg: WsMessage, now: Instant) {
        if self.state == ClientState::Closed {
            return;
        }
        let packet = Packet::decode_ws(msg);
        match &mut self.transport {
            ClientTransport::Polling { probe, .. } => {
                if *probe != ProbeState::Probing {
                    return;
                }
                match packet {
                    Ok(p) if p.packet_type == PacketType::Pong && p.is_probe() => {
                        *probe = ProbeState::Pausing;
                        self.events.push_back(ClientEvent::Upgrading);
                        self.maybe_finish_upgrade();
                    }
                    Ok(_) | Err(_) => self.fail_upgrade(),
                }
            }
            ClientTransport::WebSocket => match packet {
                Ok(packet) => self.on_packet(packet, now),
                Err(e) => self.fail(ClientTransportError::Decode(e)),
            },
        }
    }

    /// The WebSocket closed.
    pub fn handle_ws_closed(&mut self, now: Instant) {
        let _ = now;
        match self.transport {
            ClientTransport::Polling { probe, .. } if probe != ProbeState::None => {
                self.fail_upgrade();
            }
            ClientTransport::Polling { .. } => {}
            ClientTransport::WebSocket => {
                if self.state != ClientState::Closed {
                    self.close_now(ClientCloseReason::TransportClose, false);
                }
            }
        }
    }

    /// The WebSocket failed.
    pub fn handle_ws_error(&mut self, now: Instant) {
        let _ = now;
        match self.transport {
            ClientTransport::Polling { probe, .. } if probe != ProbeState::None => {
                self.fail_upgrade();
            }
            ClientTransport::Polling { .. } => {}
            ClientTransport::WebSocket => self.fail(ClientTransportError::WebSocketError),
        }
    }

    // ---- timers ----

    /// Closes with "ping timeout" when the server has not pinged in time.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.ping_deadline.is_some_and(|t| t <= now) && self.state != ClientState::Closed {
            self.ping_deadline = None;
            self.close_now(ClientCloseReason::PingTimeout, true);
        }
    }

    // ---- outputs ----

    /// The next thing to do on the wire.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<ClientTransmit> {
        self.transmits.pop_front()
    }

    /// The next event for the application.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.ping_deadline
    }

    // ---- internals ----

    fn on_packet(&mut self, packet: Packet, now: Instant) {
        if self.state == ClientState::Opening {
            return match OpenPacket::from_packet(&packet) {
                Ok(open) => self.on_open(open, now),
                Err(e) => self.fail(e.into()),
            };
        }
        match packet.packet_type {
            PacketType::Ping => {
                self.reset_ping_deadline(now);
                self.outbox.push_front(Frame::from_packet(&Packet::pong()));
                self.events.push_back(ClientEvent::Ping);
                self.flush();
            }
            PacketType::Message => self.events.push_back(ClientEvent::Message(packet.data)),
            PacketType::Close => self.close_now(ClientCloseReason::TransportClose, true),
            PacketType::Open | PacketType::Pong | PacketType::Upgrade | PacketType::Noop => {}
        }
    }

    fn on_open(&mut self, open: OpenPacket, now: Instant) {
        self.state = ClientState::Open;
        let offers_websocket = open.upgrades.iter().any(|u| u == "websocket");
        self.handshake = Some(open.clone());
        self.reset_ping_deadline(now);
        self.events.push_back(ClientEvent::Open(open));
        if let ClientTransport::Polling { probe, .. } = &mut self.transport {
            if offers_websocket && self.config.upgrade && self.config.transports.websocket {
                *probe = ProbeState::Connecting;
                self.transmits.push_back(ClientTransmit::OpenWebSocket);
            }
        }
        self.flush();
    }

    fn reset_ping_deadline(&mut self, now: Instant) {
        if let Some(h) = &self.handshake {
            self.ping_deadline = Some(now + h.ping_interval + h.ping_timeout);
        }
    }

    /// Issues the next long-poll unless paused for the upgrade or closed.
    fn after_poll(&mut self) {
        if let ClientTransport::Polling {
            get_in_flight,
            probe,
            ..
        } = &mut self.transport
        {
            let paused = *probe == ProbeState::Pausing;
            if !paused && !*get_in_flight && self.state == ClientState::Open {
                *get_in_flight = true;
                self.transmits.push_back(ClientTransmit::Poll);
            }
        }
        self.maybe_finish_upgrade();
    }

    /// Completes the upgrade once polling is paused: nothing in flight.
    fn maybe_finish_upgrade(&mut self) {
        let ClientTransport::Polling {
            get_in_flight: false,
            post_in_flight: false,
            probe: ProbeState::Pausing,
        } = self.transport
        else {
            return;
        };
        self.transport = ClientTransport::WebSocket;
        self.transmits
            .push_back(ClientTransmit::WebSocket(WsMessage::Text(
                ByteString::from_static("5"),
            )));
        self.events.push_back(ClientEvent::Upgraded);
        self.flush();
    }

    fn fail_upgrade(&mut self) {
        if let ClientTransport::Polling { probe, .. } = &mut self.transport {
            let was_paused = *probe == ProbeState::Pausing;
            *probe = ProbeState::None;
            self.transmits.push_back(ClientTransmit::CloseWebSocket);
            self.events.push_back(ClientEvent::UpgradeFailed);
            if was_paused {
                self.after_poll();
                self.flush();
            }
        }
    }

    /// Sends buffered packets if the transport can take them.
    fn flush(&mut self) {
        if self.outbox.is_empty()
            || matches!(self.state, ClientState::Opening | ClientState::Closed)
        {
            return;
        }
        match &mut self.transport {
            ClientTransport::WebSocket => {
                for frame in self.outbox.drain(..) {
                    self.transmits
                        .push_back(ClientTransmit::WebSocket(frame.into_ws_message(true)));
                }
            }
            ClientTransport::Polling {
                post_in_flight,
                probe,
                ..
            } => {
                if *post_in_flight || *probe == ProbeState::Pausing {
                    return;
                }
                *post_in_flight = true;
                let max = self
                    .handshake
                    .as_ref()
                    .map_or(usize::MAX, |h| h.max_payload as usize);
                let body = take_payload(&mut self.outbox, max);
                self.transmits.push_back(ClientTransmit::Post(body));
                if self.state == ClientState::Closing && self.outbox.is_empty() {
                    self.close_now(ClientCloseReason::ForcedClose, false);
                }
            }
        }
    }

    fn fail(&mut self, error: ClientTransportError) {
        if self.state != ClientState::Closed {
            self.close_now(ClientCloseReason::TransportError(error), true);
        }
    }

    fn finish(&mut self, reason: ClientCloseReason) {
        if self.state != ClientState::Closed {
            self.close_now(reason, true);
        }
    }

    fn close_now(&mut self, reason: ClientCloseReason, close_ws: bool) {
        self.state = ClientState::Closed;
        self.ping_deadline = None;
        self.outbox.clear();
        let has_ws = match self.transport {
            ClientTransport::Polling { probe, .. } => probe != ProbeState::None,
            ClientTransport::WebSocket => true,
        };
        if close_ws && has_ws {
            self.transmits.push_back(ClientTransmit::CloseWebSocket);
        }
        self.events.push_back(ClientEvent::Closed(reason));
    }
}

/// Takes packets from the front of `outbox` into one payload of at most `max` bytes (at
/// least one packet), as engine.io-client bounds its POSTs by the server's `maxPayload`.
fn take_payload(outbox: &mut VecDeque<Frame>, max: usize) -> Bytes {
    let mut count = 0;
    let mut len = 0;
    for frame in outbox.iter() {
        let next = len + usize::from(count > 0) + frame.polling_len();
        if count > 0 && next > max {
            break;
        }
        len = next;
        count += 1;
    }
    let mut out = BytesMut::with_capacity(len);
    for (i, frame) in outbox.drain(..count).enumerate() {
        if i > 0 {
            out.put_u8(payload::SEPARATOR);
        }
        frame.encode_polling(&mut out);
    }
    out.freeze()
}
