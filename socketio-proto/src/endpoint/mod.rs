//! Endpoints: the Sans-IO machines of one side composed, with every decision the reference
//! makes around them, so that a driver only does I/O, timers and callbacks: it feeds one
//! object, drains one set of outputs and sleeps until one deadline.
//!
//! - [`client`]: the whole client, socket.io-client's Manager and Sockets
//!   ([`client::ClientEndpoint`]).
//! - [`server`]: one server connection ([`server::ServerEndpoint`]), plus the frames every
//!   emit, ack answer and broadcast sends and the admission rule of a client's buffer. Its
//!   module docs show the whole drive loop of a server, from the request classification of
//!   `engineio_proto` to the HTTP answers.
//!
//! # Why here
//!
//! An endpoint composes an Engine.IO session (`engineio-proto`) with a Socket.IO connection
//! (this crate). Both are Sans-IO, so the composition is too, and it lives in the crate that
//! already depends on the lower layer: `socketio-proto` depends on `engineio-proto`, never the
//! reverse. The client endpoint is [`client`]; the server endpoint sits beside it.
//!
//! # The client endpoint
//!
//! [`ClientEndpoint`](client::ClientEndpoint) is socket.io-client's Manager and Sockets without I/O: one Engine.IO
//! connection at a time, the namespaces on it, and every decision of the reference (transport
//! choice, upgrade and `rememberUpgrade`, the open timeout, the reconnection schedule
//! ([`Backoff`](client::Backoff), [`ReconnectSchedule`](client::ReconnectSchedule)), the offline buffer and the volatile rules, ack
//! deadlines, the retry queue, recovery). The driver keeps: HTTP and WebSocket I/O (URLs,
//! headers, TLS), one timer, and calling the application.
//!
//! **Connections.** Each [`Transmit`](client::Transmit) names its [`ConnectionId`](client::ConnectionId); a `Poll` or `OpenWebSocket`
//! without `sid` opens a new Engine.IO connection. The driver hands every result back with the
//! same id. Results of a connection the endpoint gave up are ignored, so the driver may
//! simply drop the I/O of an older connection, or let it finish. One exception: after a
//! client-side close, the old connection may still send its close packet in a POST
//! (`Transmit` with the old id); answer it like any POST.
//!
//! **Acks.** [`ClientEndpoint::emit`](client::ClientEndpoint::emit) returns an [`AckHandle`](client::AckHandle) when an ack is asked for, with
//! [`AckMode::NoDeadline`](client::AckMode::NoDeadline) or [`AckMode::Deadline`](client::AckMode::Deadline); exactly one [`SocketEvent::Ack`](client::SocketEvent::Ack) with
//! that handle reports it answered, timed out or cancelled. The driver only maps handles to
//! the application's callbacks.
//!
//! **Auth.** A socket's auth is a value, or [`Auth::Deferred`](client::Auth::Deferred): the endpoint then asks with
//! [`Event::AuthNeeded`](client::Event::AuthNeeded) at each (re)connect, and the driver answers
//! [`ClientEndpoint::provide_auth`](client::ClientEndpoint::provide_auth) when the application's (async) function is done.
//!
//! # The drive loop
//!
//! ```
//! use std::collections::VecDeque;
//! use std::time::{Duration, Instant};
//!
//! use bytes::Bytes;
//! use engineio_proto::ClientTransmit;
//! use socketio_proto::args::EventData;
//! use socketio_proto::endpoint::client::{
//!     AckMode, Auth, ClientEndpoint, ClientEndpointConfig, EmitOptions, Event, SeededRandom,
//!     SocketEvent, TransportMode,
//! };
//! use socketio_proto::{Namespace, ParserKind, Payload};
//!
//! let mut now = Instant::now(); // the driver owns the clock
//! let config = ClientEndpointConfig::default().transports(TransportMode::Polling);
//! let mut client = ClientEndpoint::new(config, SeededRandom::new(42));
//!
//! // A command: `io("/")` with an auth object. Nothing is sent yet.
//! client.connect(&Namespace::main(), Auth::Value(serde_json::json!({"token": "t"})), now);
//!
//! // A scripted server: the bodies of its answers to our polling GETs.
//! let mut replies = VecDeque::from([
//!     r#"0{"sid":"eio","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
//!     "40{\"sid\":\"sio\"}\x1e42[\"hello\",\"world\"]",
//! ]);
//! let mut posted = Vec::new();
//! let mut greeting = None;
//! let mut ack = None;
//! for _ in 0..3 {
//!     // 1. Transport actions: start the I/O. (Here the server answers at once; a real
//!     //    driver calls the same `handle_*` when the request completes.)
//!     while let Some(t) = client.poll_transmit() {
//!         match t.action {
//!             ClientTransmit::Poll => match replies.pop_front() {
//!                 Some(body) => client.handle_poll_response(t.connection, Bytes::from(body), now),
//!                 None => {} // the server holds the long-poll
//!             },
//!             ClientTransmit::Post(body) => {
//!                 posted.push(body);
//!                 client.handle_post_response(t.connection, true, now);
//!             }
//!             other => unreachable!("polling only: {other:?}"),
//!         }
//!     }
//!     // 2. Events: to the Manager's and the sockets' listeners.
//!     while let Some(event) = client.poll_event() {
//!         match event {
//!             Event::Socket { nsp, event: SocketEvent::Event { data, .. } } => {
//!                 greeting = Some(data.deserialize::<(String, String)>().unwrap());
//!                 let thanks = EventData { name: "thanks", args: &() };
//!                 let thanks = Payload::new(ParserKind::Default, &thanks).unwrap();
//!                 let options = EmitOptions::with_ack(AckMode::Deadline(Duration::from_secs(5)));
//!                 ack = client.emit(&nsp, thanks, options, now).unwrap();
//!             }
//!             Event::Socket { event: SocketEvent::Ack { handle, outcome }, .. } => {
//!                 // Hand `outcome` to whoever waits for `handle`.
//!                 assert_eq!(Some(handle), ack);
//!                 println!("{outcome:?}");
//!             }
//!             _ => {} // open, connect, …
//!         }
//!     }
//!     // 3. Sleep until the next deadline (or an I/O completion, or a command).
//!     if let Some(deadline) = client.poll_timeout() {
//!         now = now.max(deadline.min(now + Duration::from_secs(5)));
//!         client.handle_timeout(now);
//!     }
//! }
//! assert_eq!(greeting, Some(("hello".into(), "world".into())));
//! assert_eq!(posted[0], Bytes::from(r#"40{"token":"t"}"#));
//! assert_eq!(posted[1], Bytes::from(r#"420["thanks"]"#));
//! assert!(client.is_connected(&Namespace::main()));
//! ```

pub mod client;
pub mod server;
