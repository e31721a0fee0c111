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
//! - [`endpoint::server::ServerEndpoint`]: the Engine.IO session and the Socket.IO
//!   connection of one server connection composed into one machine, with one
//!   `poll_timeout`; the frames every emit, ack answer and broadcast sends are encoded by
//!   [`endpoint::server::event_frames`] and [`endpoint::server::ack_frames`], and
//!   [`endpoint::server::Admission`] is the one rule for volatile messages, buffer limits
//!   and slow clients. Its module docs show the whole drive loop of a server, from the
//!   request classification of `engineio_proto` to the HTTP answers.
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

pub mod args;
pub mod canonical;
pub mod client;
mod decoder;
mod default_parser;
pub mod endpoint;
mod error;
mod json;
mod message;
mod msgpack;
mod msgpack_de;
mod packet;
mod payload;
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
