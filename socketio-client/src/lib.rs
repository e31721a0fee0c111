//! A Socket.IO v5 client (Engine.IO v4) on tokio, for any Socket.IO 3/4 server: the Node
//! `socket.io` server or `socketio-server`.
//!
//! - Transports: HTTP long-polling, WebSocket, and the upgrade from one to the other
//!   ([`Options::transports`], [`Options::upgrade`]).
//! - A [`Manager`] per server multiplexes namespaces ([`Socket`]s) over one Engine.IO
//!   connection, like socket.io-client's Manager.
//! - [`Socket::emit`] with typed serde arguments (binary as `bytes::Bytes`, several
//!   attachments allowed), [`Socket::emit_with_ack`] returning the typed answer, handlers
//!   ([`Socket::on`], [`Socket::on_any`]) that can answer the server's acks
//!   ([`Message::ack`]), volatile emits, `connect` / `connect_error` / `disconnect` with the
//!   reference's reason strings ([`DisconnectReason`]).
//! - Reconnection after a transport loss with socket.io-client's exact backoff
//!   ([`Backoff`], [`ReconnectSchedule`]); emits made while disconnected are buffered
//!   (bounded) and sent in order after the reconnection; `retries` with `ackTimeout` for
//!   at-least-once delivery; connection state recovery (`pid`, `offset`,
//!   [`Socket::recovered`]).
//!
//! [`mapping`] lists every part of socket.io-client 4.8's API and where it is here.
//!
//! # Architecture
//!
//! All protocol decisions live in the Sans-IO client endpoint of `socketio-proto`
//! (`socketio_proto::endpoint::client::ClientEndpoint`): transports and the upgrade, the
//! reconnection schedule, the offline buffer, acks and their deadlines, retries, recovery.
//! One task per Manager owns it, performs the HTTP requests and WebSocket I/O it asks for,
//! and sleeps until its next deadline. Handles talk to it through a bounded channel (emits
//! wait when it is full). Each socket's handlers run in a task of their own, in arrival
//! order; the driver never waits for a handler, so a handler may emit, await an ack or
//! disconnect without deadlock.
//!
//! The driver logs with [`tracing`](https://docs.rs/tracing): a span per Manager (the URL)
//! and per connection (its sid and transport); the handshake, the upgrade, namespace
//! connections and refusals, disconnections with their reason and reconnection attempts at
//! `info`/`warn`; transport failures at `debug`. Nothing per packet above `trace`.
//!
//! # Example
//!
//! ```no_run
//! use socketio_client::ClientBuilder;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let socket = ClientBuilder::new("http://127.0.0.1:3000/")
//!     .auth(&serde_json::json!({ "token": "abc" }))
//!     .on("chat", |_socket, msg| async move {
//!         // One argument is read as a 1-tuple; a wrong type is an error, not a default.
//!         let Ok((text,)) = msg.args::<(String,)>() else { return };
//!         println!("chat: {text}");
//!         // Answer the server's emitWithAck, if it asked.
//!         let _ = msg.ack(&"got it").await;
//!     })
//!     .connect()
//!     .await?;
//! socket.emit("chat", &("hello", bytes::Bytes::from_static(b"\x01\x02"))).await?;
//! let (answer,): (u32,) = socket.emit_with_ack("add", &(1, 2)).await?;
//! assert_eq!(answer, 3);
//! socket.disconnect().await?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::wildcard_enum_match_arm)]

mod config;
#[doc = include_str!("../docs/mapping.md")]
pub mod mapping {}
mod driver;
mod error;
mod handle;
mod shared;
#[cfg(feature = "rustls")]
mod tls;
mod transport;

use std::borrow::Cow;
use std::future::Future;

pub use config::{Options, TransportOptions};
pub use engineio_proto::TransportKind;
pub use error::{AckError, ConnectError, ConnectErrorKind, EmitError};
pub use handle::{Manager, Message, Socket, Volatile, WeakManager, WeakSocket, WithTimeout};
pub use shared::ManagerEvent;
pub use socketio_proto::Spread;
pub use socketio_proto::endpoint::client::{
    Backoff, CloseReason, DisconnectReason, OpenError, RandomSource, ReconnectSchedule,
    TransportMode,
};
pub use socketio_proto::listeners::ListenerId;
pub use socketio_proto::{InvalidNamespace, Packet, PacketKind, ParserKind, Payload, PayloadError};
pub use socketio_proto::{Value, value};
#[cfg(feature = "rustls")]
pub use tls::InvalidCertificate;
pub use transport::InvalidUrl;

/// The rustls version this crate uses (feature `rustls`), for
/// [`Options::tls_config`].
#[cfg(feature = "rustls")]
pub use rustls;

/// Why [`ClientBuilder::connect`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not `http(s)://host[:port][/namespace][?query]`.
    #[error(transparent)]
    InvalidUrl(#[from] InvalidUrl),
    /// The namespace is not valid.
    #[error("invalid namespace")]
    InvalidNamespace,
    /// The value given to [`ClientBuilder::auth`] does not serialize to JSON.
    #[error("invalid auth: {0}")]
    InvalidAuth(serde_json::Error),
    /// The first connection failed (`connect_error`).
    #[error("connect_error: {0}")]
    Connect(#[from] ConnectError),
    /// The client was closed meanwhile.
    #[error("the client is closed")]
    Closed,
}

type Setup = Box<dyn FnOnce(&Socket) + Send>;

/// The one-call way to connect to one namespace: `io(url, options)`.
///
/// The URL's path is the namespace (`http://host:3000/admin` → `/admin`). Handlers
/// registered here are in place before the connection, so no early event is missed.
///
/// ```no_run
/// # async fn run() -> Result<(), socketio_client::ClientError> {
/// use socketio_client::{ClientBuilder, TransportMode};
///
/// let socket = ClientBuilder::new("http://127.0.0.1:3000/admin")
///     .options(|o| {
///         o.transports(TransportMode::WebSocket);
///     })
///     .on_any(|_socket, msg| async move { println!("{}", msg.event()) })
///     .connect()
///     .await?;
/// # let _ = socket;
/// # Ok(())
/// # }
/// ```
pub struct ClientBuilder {
    url: String,
    options: Options,
    setup: Vec<Setup>,
    invalid_auth: Option<serde_json::Error>,
    force_new: bool,
    multiplex: bool,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A client for `url`, with the default [`Options`].
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            options: Options::default(),
            setup: Vec::new(),
            invalid_auth: None,
            force_new: false,
            multiplex: true,
        }
    }

    /// A connection of its own (`forceNew`), not the one a client of the same server made
    /// (by default, clients of one server share a Manager, as `io()` does: several
    /// namespaces, one connection).
    pub fn force_new(mut self, force_new: bool) -> Self {
        self.force_new = force_new;
        self
    }

    /// `multiplex: false`: as [`ClientBuilder::force_new`].
    pub fn multiplex(mut self, multiplex: bool) -> Self {
        self.multiplex = multiplex;
        self
    }

    /// The socket, not connected (`autoConnect: false`): call [`Socket::connect`]. Its
    /// listeners are in place.
    pub fn build(self) -> Result<Socket, ClientError> {
        self.make().map(|(socket, _)| socket)
    }

    /// The socket with its listeners, and whether its Manager was shared.
    fn make(self) -> Result<(Socket, bool), ClientError> {
        if let Some(e) = self.invalid_auth {
            return Err(ClientError::InvalidAuth(e));
        }
        let (manager, nsp, shared) =
            Manager::lookup(&self.url, self.options, self.force_new, self.multiplex)?;
        let socket = manager
            .socket(&nsp)
            .map_err(|_| ClientError::InvalidNamespace)?;
        for f in self.setup {
            f(&socket);
        }
        Ok((socket, shared))
    }

    /// Changes the options.
    pub fn options(mut self, f: impl FnOnce(&mut Options)) -> Self {
        f(&mut self.options);
        self
    }

    /// The CONNECT payload (`auth`). If it does not serialize to JSON, [`Self::connect`]
    /// fails with [`ClientError::InvalidAuth`].
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use socketio_client::{ClientBuilder, ClientError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let auth = HashMap::from([((1, 2), 3)]); // JSON keys are strings
    /// let builder = ClientBuilder::new("http://127.0.0.1:1").auth(&auth);
    /// let err = builder.connect().await.unwrap_err();
    /// assert!(matches!(err, ClientError::InvalidAuth(_)));
    /// # }
    /// ```
    pub fn auth<T: serde::Serialize>(mut self, auth: &T) -> Self {
        match serde_json::to_value(auth) {
            Ok(value) => self.setup.push(Box::new(move |s| {
                // A `serde_json::Value` always serializes.
                s.set_auth(&value).unwrap_or_else(|_| unreachable!());
            })),
            Err(e) => self.invalid_auth = Some(e),
        }
        self
    }

    /// An async function making the CONNECT payload at each (re)connect.
    pub fn auth_fn<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = serde_json::Value> + Send + 'static,
    {
        self.setup.push(Box::new(move |s| s.set_auth_fn(f)));
        self
    }

    /// See [`Socket::on`].
    pub fn on<F, Fut>(mut self, event: impl Into<Cow<'static, str>>, handler: F) -> Self
    where
        F: Fn(Socket, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let event = event.into();
        self.setup.push(Box::new(move |s| {
            s.on(event, handler);
        }));
        self
    }

    /// See [`Socket::on_any`].
    pub fn on_any<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Socket, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.setup.push(Box::new(move |s| {
            s.on_any(handler);
        }));
        self
    }

    /// See [`Socket::on_disconnect`].
    pub fn on_disconnect<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.setup.push(Box::new(move |s| {
            s.on_disconnect(handler);
        }));
        self
    }

    /// See [`Socket::on_connect`].
    pub fn on_connect<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.setup.push(Box::new(move |s| {
            s.on_connect(handler);
        }));
        self
    }

    /// See [`Socket::on_connect_error`]: called at each failed attempt while
    /// [`ClientBuilder::connect`] waits, and later.
    pub fn on_connect_error<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Socket, ConnectError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.setup.push(Box::new(move |s| {
            s.on_connect_error(handler);
        }));
        self
    }

    /// Connects and waits for the namespace's `connect`, returning the socket. A server
    /// that cannot be reached (not up yet, restarting) is tried again with the reconnection
    /// backoff, as socket.io-client does (each failure is a `connect_error` for
    /// [`ClientBuilder::on_connect_error`] listeners); the error comes back when the server
    /// refuses the namespace (a middleware's CONNECT_ERROR), when reconnection is off, or
    /// when `reconnection_attempts` are used up. The client is then closed. Later losses
    /// reconnect on their own.
    pub async fn connect(self) -> Result<Socket, ClientError> {
        let (socket, shared) = self.make()?;
        let manager = socket.manager().clone();
        let reconnection = manager.reconnects();
        let mut outcome = socket.shared.state.outcome.subscribe();
        let mut events = manager.subscribe();
        socket.connect().await.map_err(|_| ClientError::Closed)?;
        let mut last_error = None;
        loop {
            // (Cloned out: the guard must not live across an await, the future is `Send`.)
            let current = outcome.borrow_and_update().clone();
            if let Some(result) = current {
                match result {
                    Ok(()) => return Ok(socket),
                    Err(e) if e.is_from_server() || !reconnection => {
                        // Refused: close the connection (already gone if the driver ended),
                        // or leave a shared one to its other sockets.
                        give_up(&socket, shared).await;
                        return Err(e.into());
                    }
                    // The Manager tries again.
                    Err(e) => last_error = Some(e),
                }
            }
            tokio::select! {
                changed = outcome.changed() => {
                    if changed.is_err() {
                        return Err(ClientError::Closed);
                    }
                }
                event = events.recv() => match event {
                    Ok(ManagerEvent::ReconnectFailed) => {
                        give_up(&socket, shared).await;
                        return Err(last_error.map_or(ClientError::Closed, Into::into));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        return Err(ClientError::Closed);
                    }
                    // Other events, or some missed (`Lagged`): the outcome tells.
                    _ => {}
                },
            }
        }
    }
}

/// Ends a socket whose first connection failed: its Manager with it, unless the Manager is
/// shared with other sockets.
async fn give_up(socket: &Socket, shared: bool) {
    // (Errors mean the driver ended already: nothing left to close.)
    if shared {
        socket.disconnect().await.ok();
    } else {
        socket.manager().close().await.ok();
    }
}
