//! The client side of one Engine.IO connection (the `Manager` of `socket.io-client`):
//! namespace connections with auth, events, acks with deadlines.
//!
//! Rules (PROTOCOL §2.6):
//! - [`ClientConnection::connect`] sends CONNECT with the auth object; the server answers
//!   CONNECT `{"sid":…}` ([`Event::Connected`]) or CONNECT_ERROR ([`Event::ConnectError`],
//!   after which the client does not retry on its own); a CONNECT without `sid` means a
//!   Socket.IO v2 server;
//! - events emitted while connecting are buffered and sent once connected; events received
//!   before the CONNECT reply (missed packets replayed by connection state recovery) are
//!   delivered after [`Event::Connected`];
//! - DISCONNECT from the server ends the socket ("io server disconnect");
//! - a packet that does not decode closes the connection ("parse error"), and the driver
//!   reconnects.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::decoder::{Decoder, DecoderConfig, ParserKind};
use crate::error::{DecodeError, EncodeError};
use crate::message::EngineMessage;
use crate::packet::{AckId, Namespace, Packet, PacketKind};
use crate::payload::Payload;
pub use crate::server::CommandError;
use crate::server::check_event_data;
use crate::small_map::SmallMap;
use crate::timer::PendingAcks;

/// The error a client reports for a CONNECT reply without `sid`.
pub const V2_SERVER_ERROR: &str = "It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but they are not compatible (more information here: https://socket.io/docs/v3/migrating-from-2-x-to-3-0/)";

/// Client connection settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The parser both ends use.
    pub parser: ParserKind,
    /// Decoder limits.
    pub decoder: DecoderConfig,
    /// The most packets buffered per namespace while connecting (sent or received).
    pub max_buffered: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            parser: ParserKind::Default,
            decoder: DecoderConfig::default(),
            max_buffered: 1024,
        }
    }
}

impl ClientConfig {
    /// Sets [`ClientConfig::parser`].
    pub fn parser(mut self, parser: ParserKind) -> Self {
        self.parser = parser;
        self
    }
}

/// What the application learns from the connection.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// With [`ClientConnection::observe`]: a packet decoded from the server, before the
    /// connection acts on it (socket.io-client's `packet` event of the Manager).
    Packet(Packet),
    /// The server accepted the namespace.
    Connected {
        /// The namespace.
        nsp: Namespace,
        /// The socket id the server gave.
        sid: String,
        /// The private session id, when the server has connection state recovery on.
        pid: Option<String>,
    },
    /// The server refused the namespace (`connect_error`).
    ConnectError {
        /// The namespace.
        nsp: Namespace,
        /// `data.message` (or the string payload of a v4 server).
        message: String,
        /// `data.data`, if any (binary kept, with the msgpack parser).
        data: Option<crate::Value>,
    },
    /// An event from the server.
    Event {
        /// The namespace.
        nsp: Namespace,
        /// `[name, ...args]`.
        data: Payload,
        /// Answer with [`ClientConnection::ack`] when present.
        ack: Option<AckId>,
    },
    /// The server answered one of our events.
    Ack {
        /// The namespace.
        nsp: Namespace,
        /// The id.
        id: AckId,
        /// `[...args]`.
        data: Option<Payload>,
    },
    /// No answer came before the deadline.
    AckTimeout {
        /// The namespace.
        nsp: Namespace,
        /// The id.
        id: AckId,
    },
    /// The server disconnected the socket ("io server disconnect"); no automatic
    /// reconnection.
    Disconnected {
        /// The namespace.
        nsp: Namespace,
    },
    /// A message did not decode ("parse error"): the driver closes the Engine.IO session and
    /// may reconnect.
    Closed(DecodeError),
}

#[derive(Debug)]
enum NsState {
    Connecting {
        outgoing: Vec<Packet>,
        incoming: Vec<Packet>,
    },
    Connected,
}

#[derive(Debug)]
struct Ns {
    state: NsState,
    next_ack: u64,
}

/// The Socket.IO client state machine for one Engine.IO connection; same drive contract as
/// [`crate::server::ServerConnection`].
#[derive(Debug)]
pub struct ClientConnection {
    config: ClientConfig,
    decoder: Decoder,
    namespaces: SmallMap<Namespace, Ns>,
    acks: PendingAcks,
    transmits: VecDeque<EngineMessage>,
    events: VecDeque<Event>,
    closed: bool,
    /// Reports every decoded packet ([`ClientConnection::observe`]).
    observe: bool,
}

impl ClientConnection {
    /// A client connection whose Engine.IO session is open.
    pub fn new(config: ClientConfig) -> Self {
        Self {
            decoder: Decoder::new(config.parser, config.decoder.clone()),
            config,
            namespaces: SmallMap::new(),
            acks: PendingAcks::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            closed: false,
            observe: false,
        }
    }

    /// Reports from now on every packet decoded from the server as [`Event::Packet`]
    /// (socket.io-client's `packet` event); off by default, at no cost.
    pub fn observe(&mut self, on: bool) {
        self.observe = on;
    }

    // ---- commands -----------------------------------------------------------------------

    /// Sends CONNECT for `nsp`, with an auth object if given.
    pub fn connect<T: Serialize + ?Sized>(
        &mut self,
        nsp: &Namespace,
        auth: Option<&T>,
    ) -> Result<(), CommandError> {
        self.check_open()?;
        let data = auth
            .map(|a| Payload::new(self.config.parser, a))
            .transpose()?;
        self.send(&Packet::connect(nsp.clone(), data))?;
        let next_ack = self.namespaces.get(nsp).map_or(0, |n| n.next_ack);
        self.namespaces.insert(
            nsp.clone(),
            Ns {
                state: NsState::Connecting {
                    outgoing: Vec::new(),
                    incoming: Vec::new(),
                },
                next_ack,
            },
        );
        Ok(())
    }

    /// Emits `[name, ...args]` on `nsp`. With `ack_timeout`, allocates an ack id from this
    /// socket's counter. While connecting, the packet is buffered and sent once connected.
    pub fn emit<T: Serialize + ?Sized>(
        &mut self,
        nsp: &Namespace,
        data: &T,
        ack_timeout: Option<Duration>,
        now: Instant,
    ) -> Result<Option<AckId>, CommandError> {
        self.check_open()?;
        let payload = Payload::new(self.config.parser, data)?;
        self.emit_payload(nsp, payload, ack_timeout.map(|t| Some(now + t)))
    }

    /// Emits an event whose `[name, ...args]` payload was built beforehand (for example by a
    /// driver that serializes in the application's task). `ack` is `None` for no
    /// acknowledgement, `Some(None)` for an ack id without deadline, and `Some(Some(at))` for
    /// an ack id that expires at `at` ([`Event::AckTimeout`]).
    pub fn emit_payload(
        &mut self,
        nsp: &Namespace,
        payload: Payload,
        ack: Option<Option<Instant>>,
    ) -> Result<Option<AckId>, CommandError> {
        self.check_open()?;
        check_event_data(&payload)?;
        let max = self.config.max_buffered;
        let Some(ns) = self.namespaces.get_mut(nsp) else {
            return Err(CommandError::NotConnected);
        };
        let id = ack.map(|_| {
            let id = AckId::new(ns.next_ack);
            ns.next_ack += 1;
            id
        });
        let packet = Packet::event(nsp.clone(), payload, id);
        match &mut ns.state {
            NsState::Connecting { outgoing, .. } => {
                if outgoing.len() >= max {
                    return Err(CommandError::NotConnected);
                }
                outgoing.push(packet);
            }
            NsState::Connected => self.send(&packet)?,
        }
        if let (Some(id), Some(deadline)) = (id, ack) {
            self.acks.insert(nsp.clone(), id, deadline);
        }
        Ok(id)
    }

    /// Answers an event the server sent with an ack id.
    pub fn ack<T: Serialize + ?Sized>(
        &mut self,
        nsp: &Namespace,
        id: AckId,
        data: &T,
    ) -> Result<(), CommandError> {
        self.check_open()?;
        let payload = Payload::new(self.config.parser, data)?;
        self.ack_payload(nsp, id, payload)
    }

    /// Answers an event the server sent with an ack id, with a `[...args]` payload built
    /// beforehand.
    pub fn ack_payload(
        &mut self,
        nsp: &Namespace,
        id: AckId,
        payload: Payload,
    ) -> Result<(), CommandError> {
        self.check_open()?;
        if !self.is_connected(nsp) {
            return Err(CommandError::NotConnected);
        }
        self.send(&Packet::ack(nsp.clone(), id, payload))?;
        Ok(())
    }

    /// Forgets the pending ack `id` of `nsp` (its emitter gave up): a late answer is then
    /// ignored, and its deadline, if any, no longer fires. Returns whether it was pending.
    pub fn cancel_ack(&mut self, nsp: &Namespace, id: AckId) -> bool {
        self.acks.remove(nsp, id)
    }

    /// Leaves `nsp`: sends DISCONNECT if connected ("io client disconnect").
    pub fn disconnect(&mut self, nsp: &Namespace) -> Result<(), CommandError> {
        self.check_open()?;
        match self.namespaces.remove(nsp) {
            Some(Ns {
                state: NsState::Connected,
                ..
            }) => {
                self.acks.remove_namespace(nsp);
                self.send(&Packet::disconnect(nsp.clone()))?;
                Ok(())
            }
            Some(_) => {
                self.acks.remove_namespace(nsp);
                Ok(())
            }
            None => Err(CommandError::NotConnected),
        }
    }

    // ---- input --------------------------------------------------------------------------

    /// Handles one Engine.IO message from the server.
    pub fn handle_message(&mut self, msg: EngineMessage, now: Instant) {
        let _ = now;
        if self.closed {
            return;
        }
        match self.decoder.decode(msg) {
            Ok(Some(p)) => {
                if self.observe {
                    self.events.push_back(Event::Packet(p.clone()));
                }
                self.handle_packet(p);
            }
            Ok(None) => {}
            Err(e) => {
                self.closed = true;
                self.namespaces.clear();
                self.acks = PendingAcks::default();
                self.events.push_back(Event::Closed(e));
            }
        }
    }

    fn handle_packet(&mut self, p: Packet) {
        let max = self.config.max_buffered;
        let Some(ns) = self.namespaces.get_mut(&p.nsp) else {
            // Packets for namespaces we never asked for are ignored, as by the Manager.
            return;
        };
        match (p.kind, &mut ns.state) {
            (PacketKind::Connect, NsState::Connecting { .. }) => {
                #[derive(Deserialize)]
                struct Reply {
                    sid: String,
                    pid: Option<String>,
                }
                let reply = p.data.as_ref().and_then(|d| d.deserialize::<Reply>().ok());
                let Some(reply) = reply else {
                    self.namespaces.remove(&p.nsp);
                    self.events.push_back(Event::ConnectError {
                        nsp: p.nsp,
                        message: V2_SERVER_ERROR.into(),
                        data: None,
                    });
                    return;
                };
                let NsState::Connecting { outgoing, incoming } =
                    std::mem::replace(&mut ns.state, NsState::Connected)
                else {
                    return;
                };
                self.events.push_back(Event::Connected {
                    nsp: p.nsp.clone(),
                    sid: reply.sid,
                    pid: reply.pid,
                });
                for packet in incoming {
                    self.handle_packet(packet);
                }
                for packet in outgoing {
                    // Encoding was checked when the packet was built.
                    let _ = self.send(&packet);
                }
            }
            (PacketKind::ConnectError, _) => {
                #[derive(Deserialize)]
                struct Error {
                    message: String,
                    data: Option<crate::Value>,
                }
                let data = p.data.as_ref();
                let (message, data) = match data.and_then(|d| d.deserialize::<Error>().ok()) {
                    Some(e) => (e.message, e.data),
                    None => (
                        data.and_then(|d| d.deserialize::<String>().ok())
                            .unwrap_or_default(),
                        None,
                    ),
                };
                self.namespaces.remove(&p.nsp);
                self.acks.remove_namespace(&p.nsp);
                self.events.push_back(Event::ConnectError {
                    nsp: p.nsp,
                    message,
                    data,
                });
            }
            (PacketKind::Disconnect, _) => {
                self.namespaces.remove(&p.nsp);
                self.acks.remove_namespace(&p.nsp);
                self.events.push_back(Event::Disconnected { nsp: p.nsp });
            }
            (PacketKind::Event | PacketKind::Ack, NsState::Connecting { incoming, .. }) => {
                if incoming.len() < max {
                    incoming.push(p);
                }
            }
            (PacketKind::Event, NsState::Connected) => {
                if let Some(data) = p.data {
                    self.events.push_back(Event::Event {
                        nsp: p.nsp,
                        data,
                        ack: p.id,
                    });
                }
            }
            (PacketKind::Ack, NsState::Connected) => {
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
            (PacketKind::Connect, NsState::Connected) => {}
        }
    }

    /// Handles the clock: expired acks.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((nsp, id)) = self.acks.pop_expired(now) {
            self.events.push_back(Event::AckTimeout { nsp, id });
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

    /// When to call [`ClientConnection::handle_timeout`] next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.acks.next_deadline()
    }

    // ---- getters ------------------------------------------------------------------------

    /// Whether the namespace is connected.
    pub fn is_connected(&self, nsp: &Namespace) -> bool {
        matches!(
            self.namespaces.get(nsp),
            Some(Ns {
                state: NsState::Connected,
                ..
            })
        )
    }

    /// Whether a decode error closed the connection.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    fn check_open(&self) -> Result<(), CommandError> {
        if self.closed {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // the origin of the virtual clock, read once
    fn epoch() -> Instant {
        Instant::now()
    }

    fn connected(now: Instant) -> ClientConnection {
        let mut conn = ClientConnection::new(ClientConfig::default());
        conn.connect::<()>(&Namespace::main(), None).unwrap();
        assert_eq!(conn.poll_transmit(), Some(EngineMessage::from("0")));
        conn.handle_message(EngineMessage::from(r#"0{"sid":"abc"}"#), now);
        assert!(matches!(conn.poll_event(), Some(Event::Connected { .. })));
        conn
    }

    #[test]
    fn emit_payload_allocates_an_ack_id_without_deadline() {
        let now = epoch();
        let mut conn = connected(now);
        let payload = Payload::json(&("hello", 1)).unwrap();
        let id = conn
            .emit_payload(&Namespace::main(), payload, Some(None))
            .unwrap();
        assert_eq!(id, Some(AckId::new(0)));
        assert_eq!(
            conn.poll_transmit(),
            Some(EngineMessage::from(r#"20["hello",1]"#))
        );
        assert_eq!(conn.poll_timeout(), None);
        conn.handle_message(EngineMessage::from(r#"30["ok"]"#), now);
        assert!(matches!(conn.poll_event(), Some(Event::Ack { .. })));
    }

    #[test]
    fn ack_payload_answers_the_server() {
        let now = epoch();
        let mut conn = connected(now);
        let payload = Payload::json(&("x",)).unwrap();
        conn.ack_payload(&Namespace::main(), AckId::new(7), payload)
            .unwrap();
        assert_eq!(
            conn.poll_transmit(),
            Some(EngineMessage::from(r#"37["x"]"#))
        );
    }
}
