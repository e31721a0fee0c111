//! The server endpoint of one connection: the Engine.IO session and the Socket.IO
//! connection composed, with the frames every emit, ack answer and broadcast sends and the
//! one admission rule of a client's buffer.
//!
//! A [`ServerEndpoint`] owns an [`engineio_proto::ServerSession`] and a
//! [`ServerConnection`]. Every Engine.IO input goes in through the endpoint, which pumps
//! between the two machines itself: the session's messages feed the Socket.IO machine, the
//! Socket.IO packets become Engine.IO frames, the end of the session disconnects every
//! socket with a typed [`DisconnectReason`], and a Socket.IO close closes the session. The
//! driver drains [`ServerEndpoint::poll_transmit`] (what goes on the wire),
//! [`ServerEndpoint::poll_event`] (what the application learns) and sleeps until the one
//! [`ServerEndpoint::poll_timeout`].
//!
//! Frames sent from outside the connection's task (an emit from any task, a broadcast)
//! are encoded once by [`event_frames`] / [`ack_frames`] in the emitting task and handed
//! to the endpoints with [`ServerEndpoint::send_frames`]; a broadcast shares the same
//! [`SharedFrames`] between all its recipients. Whether such frames may be queued for a
//! client that does not read is [`Admission::decide`].
//!
//! The [crate docs](crate#driving-a-server-endpoint) show the whole drive loop of a server on
//! it, from the request classification of `engineio_proto` to the HTTP answers.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use engineio_proto::{
    Frame, PostAction, Rejection, RequestId, ServerSession, SessionRequest, Transmit, WsId,
    WsMessage,
};
use serde::Serialize;

use crate::args::{AckData, EventData};
use crate::decoder::ParserKind;
use crate::error::EncodeError;
use crate::packet::{AckId, Namespace, Packet, reserved_event};
use crate::payload::Payload;
use crate::server::ServerConnection;
pub use crate::server::{
    AckDeadline, CloseReason, CommandError, DisconnectReason, Event, ServerConfig, SocketId,
    Violation,
};

/// Frames encoded once and shared: cloning is a reference count, never a copy of the
/// bytes. One Socket.IO packet is one frame, plus one per binary attachment.
pub type SharedFrames = Arc<[Frame]>;

/// Checks an event name the application emits: the reserved names (`connect`,
/// `disconnect`, …) are refused, as the reference does.
pub fn check_event_name(name: &str) -> Result<(), CommandError> {
    match reserved_event(name) {
        Some(reserved) => Err(CommandError::ReservedEventName(reserved)),
        None => Ok(()),
    }
}

/// The frames of an EVENT `[name, ...args]` without ack id, for `nsp`: what an emit or a
/// broadcast sends (encoded once, in the emitting task, then queued on any number of
/// endpoints with [`ServerEndpoint::send_frames`]).
pub fn event_frames<T: Serialize + ?Sized>(
    parser: ParserKind,
    nsp: &Namespace,
    name: &str,
    args: &T,
) -> Result<SharedFrames, CommandError> {
    check_event_name(name)?;
    let data = EventData { name, args };
    if parser == ParserKind::Default {
        return json_frames(nsp, None, &data);
    }
    let payload = Payload::new(parser, &data)?;
    Ok(encode(parser, &Packet::event(nsp.clone(), payload, None))?)
}

/// The frames of an EVENT without ack id for `nsp`, from a payload `[name, ...args]` already
/// serialized for `parser` (a broadcast received from another node of a cluster, converted
/// once and queued on every local recipient).
pub fn event_payload_frames(
    parser: ParserKind,
    nsp: &Namespace,
    payload: Payload,
) -> Result<SharedFrames, CommandError> {
    Ok(encode(parser, &Packet::event(nsp.clone(), payload, None))?)
}

/// The frames of the ACK answering the client's event `id` with `[...args]`.
pub fn ack_frames<T: Serialize + ?Sized>(
    parser: ParserKind,
    nsp: &Namespace,
    id: AckId,
    args: &T,
) -> Result<SharedFrames, CommandError> {
    if parser == ParserKind::Default {
        return json_frames(nsp, Some(id), &AckData(args));
    }
    let payload = Payload::new(parser, &AckData(args))?;
    Ok(encode(parser, &Packet::ack(nsp.clone(), id, payload))?)
}

/// The frames of an EVENT (`ack: None`) or an ACK for the default parser, the JSON written
/// once, straight after the packet's header and the Engine.IO type, into the buffer the
/// frame keeps (the general path writes the JSON, then the packet around it, then the frame
/// around that: three buffers, two copies). Written as the general path writes them; a
/// value with binary attachments takes the general path from its JSON (its header counts
/// the attachments).
fn json_frames<T: Serialize + ?Sized>(
    nsp: &Namespace,
    ack: Option<AckId>,
    value: &T,
) -> Result<SharedFrames, CommandError> {
    use std::fmt::Write as _;

    let mut text = String::with_capacity(256);
    text.push('4');
    text.push(if ack.is_some() { '3' } else { '2' });
    let name = nsp.as_str();
    if name != "/" && !name.is_empty() {
        text.push_str(name);
        text.push(',');
    }
    if let Some(id) = ack {
        // Infallible: writing to a String.
        let _ = write!(text, "{}", id.get());
    }
    let start = text.len();
    let mut attachments = Vec::new();
    crate::json::writer::write_json(value, &mut text, &mut attachments)
        .map_err(|e| EncodeError::Serialize(e.0))?;
    if name.contains(',') {
        return Err(EncodeError::NamespaceNotFramable.into());
    }
    if attachments.is_empty() {
        return Ok(Arc::new([Frame::Text(bytestring::ByteString::from(text))]));
    }
    let json = bytestring::ByteString::from(text.split_off(start));
    let payload = Payload::from_wire_json(json, attachments);
    let packet = match ack {
        Some(id) => Packet::ack(nsp.clone(), id, payload),
        None => Packet::event(nsp.clone(), payload, None),
    };
    Ok(encode(ParserKind::Default, &packet)?)
}

/// The bytes the frames hold (what counts against a client's buffer limit).
#[inline]
pub fn frames_len(frames: &[Frame]) -> usize {
    frames.iter().map(Frame::len).sum()
}

fn encode(parser: ParserKind, packet: &Packet) -> Result<SharedFrames, EncodeError> {
    let mut messages = Vec::with_capacity(1 + packet.attachments());
    parser.encode(packet, &mut messages)?;
    Ok(messages.into_iter().map(Frame::from).collect())
}

/// What to do when a client does not read fast enough and would make the server hold more
/// than its buffer limit. Volatile messages are dropped first in either case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowClientPolicy {
    /// Disconnect the client (the default): memory stays bounded, no message is lost
    /// silently, and a fast client never waits for a slow one.
    #[default]
    Disconnect,
    /// Keep the client: an emitter that can wait waits for room; one that cannot is told
    /// the buffer is full ([`Admission::Full`]).
    Backpressure,
}

/// Whether frames may be queued for a client, given what is already in flight to it: the
/// one rule for volatile messages, the buffer limit and the slow-client decision.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admission {
    /// Queue the frames.
    Queue,
    /// A volatile message while the client is behind: drop it.
    DropVolatile,
    /// The client is too slow ([`SlowClientPolicy::Disconnect`]): close its connection
    /// ([`ServerEndpoint::handle_slow_client`]).
    SlowClient,
    /// No room ([`SlowClientPolicy::Backpressure`]): wait for room, or report it full.
    Full,
}

impl Admission {
    /// Decides for `bytes` more with `in_flight` bytes already on their way to the client
    /// and not yet taken by its endpoint. A message larger than `limit` still goes when
    /// nothing is in flight: it could never go otherwise.
    ///
    /// ```
    /// use socketio_proto::endpoint::server::{Admission, SlowClientPolicy};
    ///
    /// let d = SlowClientPolicy::Disconnect;
    /// assert_eq!(Admission::decide(0, 10, true, 100, d), Admission::Queue);
    /// assert_eq!(Admission::decide(5, 10, true, 100, d), Admission::DropVolatile);
    /// assert_eq!(Admission::decide(0, 500, false, 100, d), Admission::Queue);
    /// assert_eq!(Admission::decide(95, 10, false, 100, d), Admission::SlowClient);
    /// let b = SlowClientPolicy::Backpressure;
    /// assert_eq!(Admission::decide(95, 10, false, 100, b), Admission::Full);
    /// ```
    #[inline]
    pub fn decide(
        in_flight: usize,
        bytes: usize,
        volatile: bool,
        limit: usize,
        policy: SlowClientPolicy,
    ) -> Self {
        if in_flight == 0 {
            return Self::Queue;
        }
        if volatile {
            return Self::DropVolatile;
        }
        if in_flight.saturating_add(bytes) <= limit {
            return Self::Queue;
        }
        match policy {
            SlowClientPolicy::Disconnect => Self::SlowClient,
            SlowClientPolicy::Backpressure => Self::Full,
        }
    }
}

/// What [`ServerEndpoint::send_frames`] did with frames.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// Queued (sent at once on WebSocket or a pending poll, else with the next poll).
    Queued,
    /// A volatile message dropped: the transport was not writable.
    Dropped,
    /// The connection is closed, or closed now because the client's buffer would pass
    /// `max_buffered` ("transport error").
    Closed,
}

/// One server connection: the Engine.IO session and the Socket.IO connection on it.
///
/// Its methods follow the crate's drive contract: `handle_*` for input from the network or
/// the clock (each Engine.IO input of [`ServerSession`] has its counterpart here), plain
/// commands ([`accept`](Self::accept), [`emit_with_ack`](Self::emit_with_ack),
/// [`send_frames`](Self::send_frames), …), and `poll_*` for outputs. After any input or
/// command, drain [`poll_transmit`](Self::poll_transmit) and
/// [`poll_event`](Self::poll_event) until `None`, then sleep until
/// [`poll_timeout`](Self::poll_timeout). The connection is over once
/// [`is_closed`](Self::is_closed) and the transmits are drained.
#[derive(Debug)]
pub struct ServerEndpoint {
    session: ServerSession,
    conn: ServerConnection,
}

impl ServerEndpoint {
    /// The endpoint of a session just opened (by [`ServerSession::new_polling`] or
    /// [`ServerSession::new_websocket`]; its open packet is among the first transmits).
    /// `rng_seed` seeds the socket ids (fresh randomness in production).
    pub fn new(
        session: ServerSession,
        config: impl Into<Arc<ServerConfig>>,
        rng_seed: [u8; 32],
        now: Instant,
    ) -> Self {
        Self {
            session,
            conn: ServerConnection::new(config, rng_seed, now),
        }
    }

    // ---- getters ----------------------------------------------------------------------

    /// The Engine.IO session.
    pub fn session(&self) -> &ServerSession {
        &self.session
    }

    /// The Socket.IO connection.
    pub fn connection(&self) -> &ServerConnection {
        &self.conn
    }

    /// The parser of the connection.
    pub fn parser(&self) -> ParserKind {
        self.conn.parser()
    }

    /// True once the Engine.IO session is closed (the driver may end the connection after
    /// draining the transmits).
    pub fn is_closed(&self) -> bool {
        self.session.is_closed()
    }

    /// The bytes of binary attachments held for a packet not complete yet
    /// ([`ServerConnection::attachment_bytes_held`]).
    pub fn attachment_bytes_held(&self) -> usize {
        self.conn.attachment_bytes_held()
    }

    /// Checks that a request routed to this connection may be served
    /// ([`ServerSession::verify`]: the session is live, `EIO=4`, the transport matches).
    pub fn verify(&self, request: SessionRequest, eio4: bool) -> Result<(), Rejection> {
        self.session.verify(request, eio4)
    }

    // ---- Engine.IO input --------------------------------------------------------------

    /// A polling `GET` ([`ServerSession::handle_poll`]).
    pub fn handle_poll(&mut self, req: RequestId, now: Instant) {
        self.session.handle_poll(req, now);
        self.pump(now);
    }

    /// The head of a polling `POST` ([`ServerSession::handle_post`]).
    pub fn handle_post(&mut self, req: RequestId, octet_stream: bool, now: Instant) -> PostAction {
        let action = self.session.handle_post(req, octet_stream, now);
        self.pump(now);
        action
    }

    /// The body of a polling `POST` ([`ServerSession::handle_post_body`]): its messages go
    /// to the Socket.IO machine.
    pub fn handle_post_body(&mut self, req: RequestId, body: Bytes, now: Instant) {
        self.session.handle_post_body(req, body, now);
        self.pump(now);
    }

    /// A polling request with another method ([`ServerSession::handle_other_method`]).
    pub fn handle_other_method(&mut self, req: RequestId) {
        self.session.handle_other_method(req);
    }

    /// The client went away during a request ([`ServerSession::handle_request_aborted`]).
    pub fn handle_request_aborted(&mut self, req: RequestId, now: Instant) {
        self.session.handle_request_aborted(req, now);
        self.pump(now);
    }

    /// A WebSocket opened with this session's sid ([`ServerSession::handle_ws_open`]).
    pub fn handle_ws_open(&mut self, ws: WsId, supports_binary: bool, now: Instant) {
        self.session.handle_ws_open(ws, supports_binary, now);
        self.pump(now);
    }

    /// A WebSocket message ([`ServerSession::handle_ws_message`]).
    pub fn handle_ws_message(&mut self, ws: WsId, msg: WsMessage, now: Instant) {
        self.session.handle_ws_message(ws, msg, now);
        self.pump(now);
    }

    /// The server holds more attachments in flight than it allows, this connection's
    /// included ([`ServerConnection::handle_attachments_over_budget`]): the connection
    /// closes.
    pub fn handle_attachments_over_budget(&mut self, max: usize, now: Instant) {
        self.conn.handle_attachments_over_budget(max);
        self.pump(now);
    }

    /// A WebSocket message over `maxPayload` ([`ServerSession::handle_ws_oversized`]).
    pub fn handle_ws_oversized(&mut self, ws: WsId, now: Instant) {
        self.session.handle_ws_oversized(ws, now);
        self.pump(now);
    }

    /// A WebSocket closed ([`ServerSession::handle_ws_closed`]).
    pub fn handle_ws_closed(&mut self, ws: WsId, now: Instant) {
        self.session.handle_ws_closed(ws, now);
        self.pump(now);
    }

    /// A WebSocket failed ([`ServerSession::handle_ws_error`]).
    pub fn handle_ws_error(&mut self, ws: WsId, now: Instant) {
        self.session.handle_ws_error(ws, now);
        self.pump(now);
    }

    /// The client is too slow ([`Admission::SlowClient`], or a write that does not drain):
    /// the connection closes ("transport error").
    pub fn handle_slow_client(&mut self, now: Instant) {
        self.session.handle_slow_client(now);
        self.pump(now);
    }

    /// Runs the timers of both machines due at `now` (ping, ping timeout, upgrade, close,
    /// connect timeout, ack deadlines). Early or repeated calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
        self.conn.handle_timeout(now);
        self.pump(now);
    }

    // ---- commands -----------------------------------------------------------------------

    /// Accepts an [`Event::ConnectRequest`] ([`ServerConnection::accept`]).
    pub fn accept(&mut self, nsp: &Namespace, now: Instant) -> Result<SocketId, CommandError> {
        let sid = self.conn.accept(nsp, now);
        self.pump(now);
        sid
    }

    /// A fresh socket id ([`ServerConnection::new_socket_id`]).
    pub fn new_socket_id(&mut self) -> SocketId {
        self.conn.new_socket_id()
    }

    /// Accepts an [`Event::ConnectRequest`] with an id [`ServerEndpoint::new_socket_id`]
    /// gave ([`ServerConnection::accept_as`]).
    pub fn accept_as(
        &mut self,
        nsp: &Namespace,
        sid: SocketId,
        now: Instant,
    ) -> Result<SocketId, CommandError> {
        let sid = self.conn.accept_as(nsp, sid, now);
        self.pump(now);
        sid
    }

    /// Accepts an [`Event::ConnectRequest`] that recovers a session: the missed events, then
    /// CONNECT with the session's ids ([`ServerConnection::accept_recovered`]).
    pub fn accept_recovered(
        &mut self,
        nsp: &Namespace,
        restored: &crate::recovery::RestoredSession,
        now: Instant,
    ) -> Result<SocketId, CommandError> {
        let sid = self.conn.accept_recovered(nsp, restored, now);
        self.pump(now);
        sid
    }

    /// Refuses an [`Event::ConnectRequest`] with CONNECT_ERROR `{message, data?}`
    /// ([`ServerConnection::reject`]).
    pub fn reject<T: Serialize + ?Sized>(
        &mut self,
        nsp: &Namespace,
        message: &str,
        data: Option<&T>,
        now: Instant,
    ) -> Result<(), CommandError> {
        let result = self.conn.reject(nsp, message, data);
        self.pump(now);
        result
    }

    /// Emits `data` (`[name, ...args]`) and waits for its ack: the answer comes as
    /// [`Event::Ack`], [`Event::AckTimeout`] at the deadline, or [`Event::AckCancelled`]
    /// when the socket disconnects first.
    pub fn emit_with_ack<T: Serialize + ?Sized>(
        &mut self,
        nsp: &Namespace,
        data: &T,
        deadline: AckDeadline,
        now: Instant,
    ) -> Result<AckId, CommandError> {
        let payload = Payload::new(self.conn.parser(), data)?;
        self.emit_payload_with_ack(nsp, payload, deadline, now)
    }

    /// [`ServerEndpoint::emit_with_ack`] with a payload built beforehand.
    pub fn emit_payload_with_ack(
        &mut self,
        nsp: &Namespace,
        payload: Payload,
        deadline: AckDeadline,
        now: Instant,
    ) -> Result<AckId, CommandError> {
        let id = self.conn.emit_with_ack(nsp, payload, deadline);
        self.pump(now);
        id
    }

    /// Forgets a pending ack whose emitter gave up ([`ServerConnection::cancel_ack`]):
    /// no event comes for it. Returns whether it was pending.
    pub fn cancel_ack(&mut self, nsp: &Namespace, id: AckId) -> bool {
        self.conn.cancel_ack(nsp, id)
    }

    /// Answers the client's event `id` with `[...args]` ([`ServerConnection::ack`]); `args`
    /// follows the convention of [`crate::args`]: one value, a tuple spread into several
    /// arguments, `()` for none.
    pub fn ack<T: Serialize + ?Sized>(
        &mut self,
        nsp: &Namespace,
        id: AckId,
        args: &T,
        now: Instant,
    ) -> Result<(), CommandError> {
        let result = self.conn.ack(nsp, id, &AckData(args));
        self.pump(now);
        result
    }

    /// Queues frames encoded beforehand ([`event_frames`], [`ack_frames`], a broadcast's
    /// shared frames). A volatile message is dropped unless the transport is writable now;
    /// frames that would make the session hold more than `max_buffered` close it.
    pub fn send_frames(&mut self, frames: &[Frame], volatile: bool, now: Instant) -> Delivery {
        if volatile && !self.session.is_writable() {
            return if self.session.is_closed() {
                Delivery::Closed
            } else {
                Delivery::Dropped
            };
        }
        let mut delivery = Delivery::Queued;
        for frame in frames {
            if self.session.send_frame(frame.clone()).is_err() {
                delivery = Delivery::Closed;
                break;
            }
        }
        self.pump(now);
        delivery
    }

    /// Makes the socket of `nsp` leave: DISCONNECT, "server namespace disconnect"
    /// ([`ServerConnection::disconnect`]).
    pub fn disconnect(&mut self, nsp: &Namespace, now: Instant) -> Result<(), CommandError> {
        let result = self.conn.disconnect(nsp);
        self.pump(now);
        result
    }

    /// Closes the connection: each socket gets a DISCONNECT, then the session closes
    /// ([`ServerConnection::close`], then [`ServerSession::close`]).
    pub fn close(&mut self, now: Instant) {
        self.conn.close();
        self.pump(now);
    }

    /// Closes the Engine.IO session only, as the reference's `socket.conn.close()`: no
    /// DISCONNECT is sent (the client sees its transport close and reconnects), and every
    /// socket disconnects with "forced close".
    pub fn close_session(&mut self, now: Instant) {
        self.session.close(now);
        self.pump(now);
    }

    /// The server shuts down: every socket disconnects with "server shutting down" and the
    /// session closes ("forced close").
    pub fn shutdown(&mut self, now: Instant) {
        self.conn.shutdown();
        self.pump(now);
    }

    /// Frees the memory of the internal queues when they are empty (before going idle).
    pub fn shrink_buffers(&mut self) {
        self.session.shrink_buffers();
        self.conn.shrink_buffers();
    }

    // ---- output -------------------------------------------------------------------------

    /// The next thing to put on the wire.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.session.poll_transmit()
    }

    /// The next event for the application.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.conn.poll_event()
    }

    /// Reports from now on the Engine.IO events of the session as [`Event::Engine`]: every
    /// packet received and created, heartbeat, flush, the upgrade's steps and the close
    /// ([`ServerSession::observe`]). Off by default, at no cost; `false` turns it off.
    pub fn observe_engine(&mut self, on: bool) {
        self.session.observe(on);
    }

    /// When to call [`ServerEndpoint::handle_timeout`] next: the earlier deadline of the
    /// two machines.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.session.poll_timeout(), self.conn.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ---- internals ----------------------------------------------------------------------

    /// Moves outputs between the two machines until both are quiet.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut progressed = false;
            while let Some(event) = self.session.poll_event() {
                progressed = true;
                match event {
                    engineio_proto::Event::Message(data) => {
                        self.conn.handle_message(data.into(), now);
                    }
                    engineio_proto::Event::Closed(reason) => {
                        self.conn.handle_engine_closed(reason, now);
                        // After the sockets' disconnection, as the reference's `close`
                        // listeners of `socket.conn` run after Socket.IO's own.
                        if self.session.is_observed() {
                            self.conn
                                .push_event(Event::Engine(engineio_proto::Event::Closed(reason)));
                        }
                    }
                    // The upgrade's steps, and what an observed session reports (a future
                    // Engine.IO event too): for the application's listeners, if any.
                    other => {
                        if self.session.is_observed() {
                            self.conn.push_event(Event::Engine(other));
                        }
                    }
                }
            }
            while let Some(msg) = self.conn.poll_transmit() {
                progressed = true;
                // A refusal means the session is closing or closed (its close reached, or
                // reaches now, the Socket.IO machine): the packet cannot go anywhere.
                if self.session.send_frame(Frame::from(msg)).is_err() {
                    continue;
                }
            }
            if self.conn.is_closed() && !self.session.is_closed() {
                // The Socket.IO machine closed (a protocol violation, the connect timeout,
                // `close`, `shutdown`): the session delivers what it holds, then closes.
                // (Repeated calls do nothing.)
                self.session.close(now);
            }
            if !progressed {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    /// The frames the general path writes: the JSON payload, the packet, the frame.
    fn general<T: Serialize + ?Sized>(
        nsp: &Namespace,
        ack: Option<AckId>,
        value: &T,
    ) -> Vec<Frame> {
        let payload = Payload::new(ParserKind::Default, value).unwrap();
        let packet = match ack {
            Some(id) => Packet::ack(nsp.clone(), id, payload),
            None => Packet::event(nsp.clone(), payload, None),
        };
        encode(ParserKind::Default, &packet).unwrap().to_vec()
    }

    /// Events and acks written in one buffer are byte for byte what the general path writes,
    /// in every namespace, with and without attachments.
    #[test]
    fn frames_written_in_one_buffer_are_the_general_paths() {
        let binary = Bytes::from_static(b"\x01\x02");
        for nsp in ["/", "/chat", "/a/b"] {
            let nsp = Namespace::new(nsp.to_owned()).unwrap();
            let text = EventData {
                name: "message",
                args: &("é\"\n", 1.5, [1, 2], ()),
            };
            let with_binary = EventData {
                name: "file",
                args: &("name", &binary, (&binary,)),
            };
            assert_eq!(
                json_frames(&nsp, None, &text).unwrap().to_vec(),
                general(&nsp, None, &text)
            );
            assert_eq!(
                json_frames(&nsp, None, &with_binary).unwrap().to_vec(),
                general(&nsp, None, &with_binary)
            );
            for id in [0, 7, u64::MAX] {
                let id = AckId::new(id);
                let args = AckData(&("ok", 3));
                assert_eq!(
                    json_frames(&nsp, Some(id), &args).unwrap().to_vec(),
                    general(&nsp, Some(id), &args)
                );
                let args = AckData(&(&binary,));
                assert_eq!(
                    json_frames(&nsp, Some(id), &args).unwrap().to_vec(),
                    general(&nsp, Some(id), &args)
                );
            }
        }
    }
}
