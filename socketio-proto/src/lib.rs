//! Sans-IO Socket.IO v5: packets, the two parsers, the attachment assembler and the
//! per-connection state machines, with no runtime, no I/O and no clock.
//!
//! # The model
//!
//! Socket.IO rides on Engine.IO *messages*. This crate never sees a socket or an HTTP
//! request: it consumes [`EngineMessage`]s (text or binary) and produces them.
//!
//! ```text
//!  Engine.IO session ──EngineMessage──▶ Decoder ──Packet──▶ ServerConnection ──Event──▶ app
//!                    ◀─EngineMessage── ParserKind::encode ◀──Packet── (emit/ack/…)  ◀──── app
//! ```
//!
//! - [`Packet`]: CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR with a [`Namespace`], an
//!   optional [`AckId`] and an optional lazy [`Payload`].
//! - [`ParserKind`]: the default parser (`socket.io-parser` 4.2.7, byte-identical encoding)
//!   or the msgpack parser (`socket.io-msgpack-parser`).
//! - [`Decoder`]: turns messages into packets; binary packets go through the
//!   [`BinaryAssembler`], with limits ([`DecoderConfig`]).
//! - [`Payload`]: the JSON text (or msgpack bytes) as a slice of the received message;
//!   validated on decode, deserialized into any serde type on demand, binary attachments
//!   handed over as `Bytes`.
//! - [`server::ServerConnection`] and [`client::ClientConnection`]: the state machines of one
//!   Engine.IO connection (namespaces, acks with deadlines, connect timeout).
//! - [`endpoint::client::ClientEndpoint`]: the whole client (socket.io-client's Manager and Sockets)
//!   composed with the Engine.IO client session of `engineio-proto`: reconnection, upgrade,
//!   offline buffer, ack outcomes, retries, recovery.
//! - [`endpoint::server::ServerEndpoint`]: the Engine.IO session and the Socket.IO
//!   connection of one server connection composed into one machine, with one
//!   `poll_timeout`; the frames every emit, ack answer and broadcast sends are encoded by
//!   [`endpoint::server::event_frames`] and [`endpoint::server::ack_frames`], and
//!   [`endpoint::server::Admission`] is the one rule for volatile messages, buffer limits
//!   and slow clients. Its module docs show the whole drive loop of a server, from the
//!   request classification of `engineio_proto` to the HTTP answers.
//! - [`cluster`]: the wire messages of the official multi-node adapters (the classic and the
//!   sharded Redis adapter, the Redis emitter), typed, with Node's exact encodings.
//!
//! # The drive contract
//!
//! The machines follow quinn-proto's four kinds of methods:
//! - `handle_*(…, now)`: input from the peer or the clock;
//! - commands (`emit`, `ack`, `disconnect`, …): plain `&mut self` methods;
//! - `poll_*`: outputs. After any input or command, drain `poll_transmit` (messages for the
//!   Engine.IO session), then `poll_event` (for the application) until `None`, then ask
//!   `poll_timeout` when to call `handle_timeout` next;
//! - getters (`is_*`, …).
//!
//! Time only comes in as `now: Instant`; the crate never reads a clock, so tests run on a
//! virtual clock.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use socketio_proto::server::{Event, ServerConfig, ServerConnection};
//! use socketio_proto::{EngineMessage, Namespace};
//!
//! let start = Instant::now(); // the driver owns the clock
//! let mut conn = ServerConnection::new(ServerConfig::default(), [7; 32], start);
//!
//! // The Engine.IO session delivered a message from the client: CONNECT to `/`.
//! conn.handle_message(EngineMessage::from("0"), start);
//! loop {
//!     while let Some(msg) = conn.poll_transmit() {
//!         // hand `msg` to the Engine.IO session (here: the CONNECT request is pending)
//!         let _ = msg;
//!     }
//!     let Some(event) = conn.poll_event() else { break };
//!     match event {
//!         Event::ConnectRequest { nsp, .. } => {
//!             conn.accept(&nsp, start).unwrap();
//!         }
//!         Event::Connected { nsp, .. } => {
//!             conn.emit(&nsp, &("hello", "world"), None, start).unwrap();
//!         }
//!         _ => {}
//!     }
//! }
//! assert!(conn.is_connected(&Namespace::main()));
//! // Sleep until the next deadline, then:
//! if let Some(deadline) = conn.poll_timeout() {
//!     conn.handle_timeout(deadline.max(start + Duration::from_millis(1)));
//! }
//! ```
//!
//! # Driving a server endpoint
//!
//! A server drives one [`endpoint::server::ServerEndpoint`] per connection: it owns the
//! Engine.IO session and the Socket.IO connection and pumps between them. The whole loop,
//! input side included: the request classification of `engineio_proto`, then the endpoint,
//! then its outputs and its one deadline (a driver does this with real HTTP requests,
//! WebSockets and a timer):
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use engineio_proto::{
//!     classify, HttpResponse, Method, PostAction, RequestHead, RequestId, Route,
//!     ServerConfig as EngineConfig, ServerSession, SessionRequest, SidGenerator, Transmit,
//!     TransportKind,
//! };
//! use socketio_proto::endpoint::server::{AckDeadline, Event, ServerEndpoint};
//! use socketio_proto::server::ServerConfig;
//!
//! let engine_config = EngineConfig::default();
//! let mut ids = SidGenerator::from_seed([1; 32]); // OS randomness in a real server
//! let mut now = Instant::now(); // the driver's clock
//!
//! // The body of each HTTP answer, as the driver would write it.
//! fn answer(endpoint: &mut ServerEndpoint) -> Vec<(RequestId, HttpResponse)> {
//!     let mut out = Vec::new();
//!     while let Some(t) = endpoint.poll_transmit() {
//!         match t {
//!             Transmit::Http { req, response } => out.push((req, response)),
//!             Transmit::WebSocket { .. } | Transmit::CloseWebSocket { .. } => {}
//!             _ => {} // engineio_proto::Transmit is non-exhaustive
//!         }
//!     }
//!     out
//! }
//!
//! // 1. The handshake: `GET /socket.io/?EIO=4&transport=polling`.
//! let head = RequestHead::new(Method::Get, "EIO=4&transport=polling", false);
//! let Ok(Route::Handshake { transport: TransportKind::Polling, .. }) = classify(&head, &engine_config)
//! else { panic!("a handshake") };
//! let session = ServerSession::new_polling(ids.generate(), engine_config.clone(), RequestId(1), now);
//! let sid = session.sid().clone();
//! let mut endpoint = ServerEndpoint::new(session, ServerConfig::default(), [7; 32], now);
//! let answers = answer(&mut endpoint);
//! assert!(matches!(&answers[..], [(RequestId(1), HttpResponse::Payload(open))] if open.starts_with(b"0{")));
//!
//! // 2. `POST ?EIO=4&transport=polling&sid=…` with body `40`: CONNECT to `/`.
//! let query = format!("EIO=4&transport=polling&sid={sid}");
//! let head = RequestHead::new(Method::Post, &query, false);
//! let Ok(Route::Session { request, eio4, .. }) = classify(&head, &engine_config) else { panic!() };
//! assert_eq!(request, SessionRequest::Post);
//! endpoint.verify(request, eio4).expect("served by this session");
//! let PostAction::ReadBody { limit } = endpoint.handle_post(RequestId(2), false, now) else { panic!() };
//! assert!(limit > 2);
//! endpoint.handle_post_body(RequestId(2), Bytes::from_static(b"40"), now);
//! assert_eq!(answer(&mut endpoint), [(RequestId(2), HttpResponse::Ok)]);
//!
//! // 3. The application decides on the CONNECT and emits with an ack.
//! while let Some(event) = endpoint.poll_event() {
//!     match event {
//!         Event::ConnectRequest { nsp, .. } => {
//!             endpoint.accept(&nsp, now).unwrap();
//!         }
//!         Event::Connected { nsp, .. } => {
//!             let id = endpoint.emit_with_ack(&nsp, &("hello", 1), AckDeadline::None, now).unwrap();
//!             assert_eq!(id.get(), 0);
//!         }
//!         _ => {}
//!     }
//! }
//!
//! // 4. The next `GET` takes both packets.
//! endpoint.handle_poll(RequestId(3), now);
//! let answers = answer(&mut endpoint);
//! let [(RequestId(3), HttpResponse::Payload(body))] = &answers[..] else { panic!() };
//! let body = std::str::from_utf8(body).unwrap();
//! assert!(body.starts_with("40{\"sid\":\"") && body.ends_with("\x1e420[\"hello\",1]"));
//!
//! // 5. Sleep until the one deadline (the first ping here), then hand the clock over.
//! let deadline = endpoint.poll_timeout().unwrap();
//! assert_eq!(deadline, now + Duration::from_secs(25));
//! now = deadline;
//! endpoint.handle_timeout(now);
//! endpoint.handle_poll(RequestId(4), now);
//! assert_eq!(answer(&mut endpoint), [(RequestId(4), HttpResponse::Payload(Bytes::from_static(b"2")))]);
//! ```
//!
//! # Codec only
//!
//! ```
//! use socketio_proto::{DecoderConfig, EngineMessage, ParserKind};
//!
//! let mut decoder = ParserKind::Default.decoder(DecoderConfig::default());
//! let packet = decoder.decode(EngineMessage::from(r#"2/admin,12["chat","hi"]"#)).unwrap().unwrap();
//! let data = packet.data.as_ref().unwrap();
//! assert_eq!(data.event_name().unwrap().as_str(), Some("chat"));
//! let (text,): (&str,) = data.event_args().unwrap();
//! assert_eq!(text, "hi");
//!
//! let mut out = Vec::new();
//! ParserKind::Default.encode(&packet, &mut out).unwrap();
//! assert_eq!(out, [EngineMessage::from(r#"2/admin,12["chat","hi"]"#)]);
//! ```
//!
//! # Where we are stricter than the reference
//!
//! Each of these is an error here, while `socket.io-parser` 4.2.7 accepts it (no real peer
//! sends them): an empty message (read as CONNECT `/`), whitespace where an ack id may start
//! (read as digits), attachment counts that are not plain digits (`1e1`, `0x2`, `+1`), ack ids
//! beyond `u64`, JSON nested deeper than 128 levels, and fractional placeholder `num`s. The
//! msgpack parser rejects invalid UTF-8 (Node replaces it) and negative ids.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Peer input never panics: no unwrap or expect outside tests (a proven invariant says why
// with an explicit `#[allow]` where it is used).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod args;
pub mod canonical;
pub mod client;
pub mod cluster;
mod decoder;
mod default_parser;
pub mod endpoint;
mod error;
mod json;
pub mod listeners;
mod message;
mod msgpack;
mod msgpack_de;
mod packet;
mod payload;
pub mod recovery;
pub mod server;
mod small_map;
mod timer;
mod value;

pub use args::Spread;
pub use decoder::{BinaryAssembler, Decoder, DecoderConfig, ParserKind};
pub use error::{DecodeError, EncodeError, PayloadError};
pub use message::EngineMessage;
pub use packet::{AckId, InvalidNamespace, Namespace, Packet, PacketKind, RESERVED_EVENTS};
pub use payload::{EventName, Payload};
pub use value::Value;
