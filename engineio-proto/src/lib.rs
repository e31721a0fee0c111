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
//! The whole loop, input side included: each HTTP request is classified, routed to its
//! session (or opens one), checked, handed over; then the session's outputs are applied
//! and the driver sleeps until [`ServerSession::poll_timeout`]. Here requests are answered
//! in order, with a map of sessions and a virtual clock; a real driver answers
//! asynchronously (a `GET` may wait in its session until there is something to send).
//!
//! ```
//! use std::collections::HashMap;
//! use std::time::Instant;
//! use bytes::Bytes;
//! use engineio_proto::{
//!     classify, BadRequestReason, Event, HttpResponse, Method, PostAction, Rejection,
//!     RequestHead, RequestId, Route, ServerConfig, ServerSession, SessionRequest, Sid,
//!     SidGenerator, Transmit, TransportKind,
//! };
//!
//! struct Server {
//!     config: ServerConfig,
//!     ids: SidGenerator, // seeded from the OS in a real server
//!     sessions: HashMap<Sid, ServerSession>,
//!     next_request: u64,
//! }
//!
//! impl Server {
//!     /// One polling request in, its answer out.
//!     fn request(&mut self, method: Method, query: &str, body: &'static str, now: Instant) -> HttpResponse {
//!         self.next_request += 1;
//!         let req = RequestId(self.next_request);
//!         let session = match classify(&RequestHead::new(method, query, false), &self.config) {
//!             Err(rejection) => return HttpResponse::Reject(rejection),
//!             Ok(Route::Handshake { transport: TransportKind::Polling, .. }) => {
//!                 let session = ServerSession::new_polling(self.ids.generate(), self.config.clone(), req, now);
//!                 self.sessions.entry(session.sid().clone()).or_insert(session)
//!             }
//!             Ok(Route::Session { sid, request, eio4, .. }) => {
//!                 let Some(session) = self.sessions.get_mut(&sid) else {
//!                     return HttpResponse::Reject(Rejection::UnknownSid);
//!                 };
//!                 if let Err(rejection) = session.verify(request, eio4) {
//!                     return HttpResponse::Reject(rejection);
//!                 }
//!                 match request {
//!                     SessionRequest::Poll => session.handle_poll(req, now),
//!                     SessionRequest::Post => match session.handle_post(req, false, now) {
//!                         // Read at most `limit + 1` bytes of the body, then:
//!                         PostAction::ReadBody { limit: _ } => {
//!                             session.handle_post_body(req, Bytes::from_static(body.as_bytes()), now)
//!                         }
//!                         _ => {}
//!                     },
//!                     _ => session.handle_other_method(req),
//!                 }
//!                 session
//!             }
//!             Ok(_) => return HttpResponse::Reject(Rejection::UnknownTransport), // (WebSocket: not here)
//!         };
//!         // The application echoes every message.
//!         while let Some(event) = session.poll_event() {
//!             if let Event::Message(data) = event {
//!                 session.send(data).expect("open");
//!             }
//!         }
//!         let mut answer = HttpResponse::Status(500);
//!         while let Some(transmit) = session.poll_transmit() {
//!             match transmit {
//!                 Transmit::Http { req: r, response } if r == req => answer = response,
//!                 _ => {} // other requests, WebSocket writes: none in this script
//!             }
//!         }
//!         answer
//!     }
//! }
//!
//! let mut now = Instant::now(); // the driver's clock
//! let mut server = Server {
//!     config: ServerConfig::default(),
//!     ids: SidGenerator::from_seed([42; 32]),
//!     sessions: HashMap::new(),
//!     next_request: 0,
//! };
//! let HttpResponse::Payload(open) = server.request(Method::Get, "EIO=4&transport=polling", "", now) else { panic!() };
//! assert!(open.starts_with(b"0{\"sid\":"));
//! let sid = server.sessions.keys().next().unwrap().clone();
//! let query = format!("EIO=4&transport=polling&sid={sid}");
//! assert_eq!(server.request(Method::Post, &query, "4hello", now), HttpResponse::Ok);
//! assert_eq!(server.request(Method::Get, &query, "", now), HttpResponse::Payload(Bytes::from_static(b"4hello")));
//! let v3 = format!("EIO=3&transport=polling&sid={sid}");
//! assert_eq!(
//!     server.request(Method::Get, &v3, "", now),
//!     HttpResponse::Reject(Rejection::BadRequest(BadRequestReason::ProtocolMismatch))
//! );
//! // Sleep until the session's deadline, then hand it the clock: the server pings.
//! now = server.sessions[&sid].poll_timeout().unwrap();
//! server.sessions.get_mut(&sid).unwrap().handle_timeout(now);
//! assert_eq!(server.request(Method::Get, &query, "", now), HttpResponse::Payload(Bytes::from_static(b"2")));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Peer input never panics: no unwrap or expect outside tests (a proven invariant says why
// with an explicit `#[allow]` where it is used).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

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
