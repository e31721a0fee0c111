//! A Socket.IO v5 / Engine.IO v4 server on tokio and hyper.
//!
//! The protocol decisions live in the Sans-IO crates `engineio-proto` and `socketio-proto`;
//! this crate drives them: one task per connection owns both state machines and runs the
//! application's handlers, HTTP long-polling and WebSocket go through hyper, and a tower
//! `Service` mounts the server in axum or any tower stack.
//!
//! ```no_run
//! use socketio_server::{Config, SocketIo, Spread, Value};
//!
//! # async fn run() -> std::io::Result<()> {
//! let io = SocketIo::new(Config::default());
//! io.of("/").on_connection(|socket| async move {
//!     socket.on("message", |socket, msg| async move {
//!         let Ok(args) = msg.args::<Vec<Value>>() else { return };
//!         let _ = socket.emit("message-back", &Spread(&args));
//!     });
//! });
//! io.serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?).await
//! # }
//! ```
//!
//! - [`engine`]: the Engine.IO layer alone (raw messages), like Node's `engine.io`.
//! - [`mapping`]: every part of socket.io 4.8's server API, and where it is here.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Every variant of the proto crates' enums is handled by name: a new one cannot vanish in a
// `_` arm.
#![warn(clippy::wildcard_enum_match_arm)]

pub mod adapter;
mod broadcast;
mod client_bundle;
mod conn;
pub mod engine;
mod error;
mod io;
#[doc = include_str!("../docs/mapping.md")]
pub mod mapping {}
mod service;
mod socket;

pub use broadcast::{BroadcastAckError, BroadcastOperator, IntoRooms, RemoteSocket, RemoteTimeout};
pub use client_bundle::{ClientBundle, ClientBundleError};
/// The cookie crate, for [`Config::cookie_with`].
pub use cookie;
pub use engine::{Cors, SlowClientPolicy};
pub use error::{AckError, ConnectError, EmitError};
pub use io::{AdapterContext, AdapterFactory, Config, NamespaceRef, ServerSideMessage, SocketIo};
pub use service::{NotFound, SocketIoLayer, SocketIoService};
pub use socket::{
    AckResponse, AckSender, Conn, Handshake, Message, MiddlewareError, Socket, SocketError,
    TimeoutSocket,
};
pub use socketio_proto::ParserKind;
pub use socketio_proto::Spread;
pub use socketio_proto::listeners::ListenerId;
pub use socketio_proto::recovery::RecoveryConfig;
pub use socketio_proto::{Value, value};
