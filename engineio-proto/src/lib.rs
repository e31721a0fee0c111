//! Sans-IO Engine.IO v4: packets, polling payloads, and the session state machines of both
//! sides, with no runtime, no sockets and no clock.
//!
//! - [`Packet`], [`payload`]: encode and decode one packet (`4hello`, `b`+base64, raw
//!   binary WebSocket messages) and polling payloads joined by `\x1e`.
//! - [`OpenPacket`]: the handshake.
//! - [`classify`]: which session a request belongs to, or the reference's error (codes 0–5).
//! - [`ServerSession`]: one session, server side: polling GET/POST rules, the upgrade to
//!   WebSocket, the heartbeat, close.
//! - [`ClientSession`]: one session, client side: handshake, pong, ping timeout, upgrade.
//!
//! The state machines follow quinn-proto's shape: inputs are `handle_*(…, now: Instant)`,
//! commands are plain methods (`send`, `close`), and outputs are drained with
//! `poll_transmit`, `poll_event` and `poll_timeout` until `None`. Time only enters as
//! `now`, and randomness through [`SidGenerator`]'s seed, so every test runs on a virtual
//! clock.
//!
//! # Driving a server session
//!
//! ```no_run
//! use std::time::Instant;
//! use engineio_proto::{Event, ServerConfig, ServerSession, SidGenerator, RequestId, Transmit};
//!
//! let mut ids = SidGenerator::from_seed([42; 32]); // seed from the OS in a real server
//! let mut session = ServerSession::new_polling(ids.generate(), ServerConfig::default(), RequestId(0), Instant::now());
//! loop {
//!     while let Some(transmit) = session.poll_transmit() {
//!         match transmit {
//!             Transmit::Http { req, response } => { /* answer the HTTP request `req` */ }
//!             Transmit::WebSocket { ws, msg } => { /* write `msg` on `ws` */ }
//!             Transmit::CloseWebSocket { ws, code } => { /* close `ws` */ }
//!             _ => {}
//!         }
//!     }
//!     while let Some(event) = session.poll_event() {
//!         match event {
//!             Event::Message(data) => session.send(data).unwrap(), // echo
//!             Event::Closed(reason) => return,
//!             _ => {}
//!         }
//!     }
//!     // Sleep until `session.poll_timeout()` or the next request, then call
//!     // `handle_timeout(now)`, `handle_poll(req, now)`, `handle_ws_message(ws, msg, now)`…
//!     session.handle_timeout(Instant::now());
//! }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod config;
mod error;
mod frame;
mod open;
mod packet;
pub mod payload;
mod request;
mod server;
mod sid;

pub use client::{
    ClientCloseReason, ClientConfig, ClientEvent, ClientSendError, ClientSession, ClientTransmit,
    ClientTransportError,
};
pub use config::{ServerConfig, Transports};
pub use error::{DecodeError, HandshakeError};
pub use frame::Frame;
pub use open::OpenPacket;
pub use packet::{Data, Packet, PacketType, WsMessage};
pub use request::{
    BadRequestReason, Method, Rejection, RequestHead, Route, SessionRequest, TransportKind,
    check_session_revision, classify,
};
pub use server::{
    CLOSE_MESSAGE_TOO_BIG, CloseReason, Event, HttpResponse, PostAction, RequestId, SendError,
    ServerSession, Transmit, TransportError, WsId,
};
pub use sid::{Sid, SidGenerator};
