//! The server: configuration, namespaces, and serving.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use socketio_proto::recovery::RecoveryConfig;
use socketio_proto::{Namespace, ParserKind};
use tokio::net::TcpListener;

use crate::adapter::parent::ParentAdapter;
use crate::adapter::{
    Adapter, AdapterError, BroadcastReport, InMemoryAdapter, RoomEvent, ServerSideEvent,
};
use crate::broadcast::{BroadcastOperator, IntoRooms, RemoteSocket};
use crate::client_bundle::ClientBundle;
use crate::conn::SioConnection;
use crate::engine::{Cors, EngineConfig, EngineShared, Launch, NewSession, SlowClientPolicy};
use crate::error::{ConnectError, EmitError};
use crate::socket::{BoxFuture, HandshakeBase, Socket};
use socketio_proto::Value;

/// A namespace connection handler.
pub(crate) type ConnectionHandler = Arc<dyn Fn(Socket) -> BoxFuture + Send + Sync>;
/// A namespace middleware.
pub(crate) type Middleware = Arc<
    dyn Fn(Socket) -> std::pin::Pin<Box<dyn Future<Output = Result<(), ConnectError>> + Send>>
        + Send
        + Sync,
>;

/// Decides which namespace names a dynamic namespace accepts, with the CONNECT's auth
/// object (`{}` when `of(name)` asks).
pub(crate) type NamespaceMatcher = Arc<dyn Fn(&str, &Value) -> bool + Send + Sync>;

/// Builds the adapter of a namespace.
pub type AdapterFactory = Arc<dyn Fn(&AdapterContext) -> Arc<dyn Adapter> + Send + Sync>;

/// What an adapter factory knows of the namespace it builds an adapter for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AdapterContext {
    /// The namespace name.
    pub nsp: String,
    /// The parser of the server (the format local packets are encoded in).
    pub parser: ParserKind,
    /// The most bytes a session may hold for a slow client.
    pub max_buffered: usize,
    /// What happens to a client that would make the server hold more.
    pub slow_client: SlowClientPolicy,
    /// Connection state recovery, when on: the adapter keeps sessions and packets.
    pub recovery: Option<RecoveryConfig>,
}

/// Server options, with the reference's names and defaults.
#[derive(Clone)]
pub struct Config {
    pub(crate) engine: EngineConfig,
    /// (Shared by the connections: each takes a reference, not a copy.)
    pub(crate) proto: Arc<socketio_proto::server::ServerConfig>,
    pub(crate) adapter: AdapterFactory,
    pub(crate) slow_client: SlowClientPolicy,
    /// Events of one socket received and not handled yet, past which its connection stops
    /// reading the client.
    pub(crate) max_pending_events: usize,
    /// The same, in bytes of payload.
    pub(crate) max_pending_bytes: usize,
    /// The most bytes of binary attachments all connections may hold together for packets
    /// not complete yet.
    pub(crate) max_attachments_in_flight: usize,
    /// Connection state recovery (off by default, as the reference).
    pub(crate) recovery: Option<RecoveryConfig>,
    /// `cleanupEmptyChildNamespaces` (off by default, as the reference).
    pub(crate) cleanup_empty_child_namespaces: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("engine", &self.engine)
            .field("proto", &self.proto)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        let mut engine = EngineConfig::default();
        engine.path("/socket.io/");
        Self {
            engine,
            proto: Arc::default(),
            max_pending_events: 1024,
            max_pending_bytes: 1 << 20,
            max_attachments_in_flight: 100_000_000,
            recovery: None,
            cleanup_empty_child_namespaces: false,
            adapter: Arc::new(|cx: &AdapterContext| {
                Arc::new(
                    InMemoryAdapter::new(cx.max_buffered, cx.slow_client)
                        .with_recovery(cx.recovery.clone()),
                )
            }),
            slow_client: SlowClientPolicy::Disconnect,
        }
    }
}

impl Config {
    /// `pingInterval` (default 25 s).
    pub fn ping_interval(&mut self, value: Duration) -> &mut Self {
        self.engine.protocol().ping_interval(value);
        self
    }

    /// `pingTimeout` (default 20 s).
    pub fn ping_timeout(&mut self, value: Duration) -> &mut Self {
        self.engine.protocol().ping_timeout(value);
        self
    }

    /// `upgradeTimeout` (default 10 s).
    pub fn upgrade_timeout(&mut self, value: Duration) -> &mut Self {
        self.engine.protocol().upgrade_timeout(value);
        self
    }

    /// `maxHttpBufferSize` (default 1e6 bytes), for polling bodies and WebSocket messages.
    pub fn max_http_buffer_size(&mut self, bytes: usize) -> &mut Self {
        self.engine.protocol().max_payload(bytes);
        self
    }

    /// `connectTimeout` (default 45 s): a connection that joins no namespace by then is
    /// closed.
    pub fn connect_timeout(&mut self, value: Duration) -> &mut Self {
        Arc::make_mut(&mut self.proto).connect_timeout = value;
        self
    }

    /// `transports` (default both).
    pub fn transports(&mut self, transports: engineio_proto::Transports) -> &mut Self {
        self.engine.protocol().transports(transports);
        self
    }

    /// `allowUpgrades` (default true).
    pub fn allow_upgrades(&mut self, value: bool) -> &mut Self {
        self.engine.protocol().allow_upgrades(value);
        self
    }

    /// `path` (default `/socket.io/`).
    pub fn path(&mut self, path: &str) -> &mut Self {
        self.engine.path(path);
        self
    }

    /// `cors`.
    pub fn cors(&mut self, cors: Cors) -> &mut Self {
        self.engine.cors(cors);
        self
    }

    /// `allowRequest`: checks every handshake request; `Err(message)` refuses it with 403
    /// `{"code":4,"message":…}` (`"Forbidden"` when `None`).
    pub fn allow_request<F>(&mut self, check: F) -> &mut Self
    where
        F: Fn(&http::request::Parts) -> Result<(), Option<String>> + Send + Sync + 'static,
    {
        self.engine.allow_request(check);
        self
    }

    /// `allowRequest` answering asynchronously (a token looked up in a database): the
    /// closure takes from the request what it needs, and returns the future of the decision
    /// (`Err(message)` refuses with 403 as [`Config::allow_request`]).
    ///
    /// ```
    /// use socketio_server::Config;
    ///
    /// # async fn token_is_valid(_token: Option<http::HeaderValue>) -> bool { true }
    /// let mut config = Config::default();
    /// config.allow_request_async(|parts| {
    ///     let token = parts.headers.get("x-token").cloned();
    ///     async move {
    ///         if token_is_valid(token).await {
    ///             Ok(())
    ///         } else {
    ///             Err(Some("invalid token".to_owned()))
    ///         }
    ///     }
    /// });
    /// ```
    pub fn allow_request_async<F, Fut>(&mut self, check: F) -> &mut Self
    where
        F: Fn(&http::request::Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Option<String>>> + Send + 'static,
    {
        self.engine.allow_request_async(check);
        self
    }

    /// `generateId`: chooses the Engine.IO id of every new connection (the session id the
    /// client sends back with each request and the `cookie` option holds), instead of the
    /// server's random 20 characters. The rules are [`EngineConfig::generate_id`]'s (an id
    /// of 1 to 128 URL-safe characters, not in use; else, or on `Err`, the handshake is
    /// refused with 400). As in the reference, socket ids stay the server's own.
    ///
    /// ```
    /// use socketio_server::Config;
    ///
    /// let mut config = Config::default();
    /// config.generate_id(|_parts| Ok::<_, std::convert::Infallible>(uuid()));
    /// # fn uuid() -> String { "0f8c2c9e-2a7b-4c1e-9d7e-3f1b2a6c5d4e".to_owned() }
    /// ```
    ///
    /// [`EngineConfig::generate_id`]: crate::engine::EngineConfig::generate_id
    pub fn generate_id<F, E>(&mut self, generate: F) -> &mut Self
    where
        F: Fn(&http::request::Parts) -> Result<String, E> + Send + Sync + 'static,
        E: std::fmt::Display,
    {
        self.engine.generate_id(generate);
        self
    }

    /// `generateId` answering asynchronously; see [`Config::generate_id`].
    pub fn generate_id_async<F, Fut, E>(&mut self, generate: F) -> &mut Self
    where
        F: Fn(&http::request::Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, E>> + Send + 'static,
        E: std::fmt::Display,
    {
        self.engine.generate_id_async(generate);
        self
    }

    /// Turns connection state recovery on (`connectionStateRecovery`; off by default): a
    /// client that lost its connection for a moment comes back with the same socket id,
    /// rooms and data, and receives the events it missed, in order, before `connect`
    /// (`socket.recovered()` is then true). Every event sent without ack and not volatile
    /// carries an offset as its last argument, as the reference. The in-memory adapter keeps
    /// the sessions and packets for `max_disconnection_duration`, within
    /// `max_stored_bytes`; the Redis adapters keep none (as Node's): a client recovers only
    /// on the node it left.
    ///
    /// ```
    /// use std::time::Duration;
    /// use socketio_server::{Config, RecoveryConfig};
    ///
    /// let mut config = Config::default();
    /// config.connection_state_recovery(
    ///     RecoveryConfig::default().max_disconnection_duration(Duration::from_secs(60)),
    /// );
    /// ```
    pub fn connection_state_recovery(&mut self, recovery: RecoveryConfig) -> &mut Self {
        Arc::make_mut(&mut self.proto).recovery = true;
        self.recovery = Some(recovery);
        self
    }

    /// `cleanupEmptyChildNamespaces` (default false): a child of a dynamic namespace is
    /// removed, its adapter closed, when its last socket on this node leaves; a client
    /// asking for it again makes a new one. For applications whose dynamic namespaces come
    /// and go (one per document, per game), so that they do not pile up.
    pub fn cleanup_empty_child_namespaces(&mut self, value: bool) -> &mut Self {
        self.cleanup_empty_child_namespaces = value;
        self
    }

    /// `cookie` with the `cookie` package's options: the session id in a cookie with
    /// `template`'s name and attributes.
    ///
    /// ```
    /// use socketio_server::Config;
    ///
    /// let mut config = Config::default();
    /// config.cookie_with(
    ///     cookie::Cookie::build(("io", ""))
    ///         .path("/")
    ///         .secure(true)
    ///         .http_only(true)
    ///         .same_site(cookie::SameSite::Strict)
    ///         .max_age(cookie::time::Duration::hours(1))
    ///         .build(),
    /// );
    /// ```
    pub fn cookie_with(&mut self, template: cookie::Cookie<'static>) -> &mut Self {
        self.engine.cookie_with(template);
        self
    }

    /// `cookie`: sends the session id in a cookie named `name` with the handshake.
    pub fn cookie(&mut self, name: &str) -> &mut Self {
        self.engine.cookie(name);
        self
    }

    /// The adapter of each namespace (default: [`InMemoryAdapter`]).
    pub fn adapter<F>(&mut self, factory: F) -> &mut Self
    where
        F: Fn(&AdapterContext) -> Arc<dyn Adapter> + Send + Sync + 'static,
    {
        self.adapter = Arc::new(factory);
        self
    }

    /// The most bytes held for a client that does not read fast enough (default 16 MiB):
    /// past it, volatile messages are dropped and the client is disconnected, so memory
    /// stays bounded and no message is silently lost.
    pub fn max_buffered(&mut self, bytes: usize) -> &mut Self {
        self.engine.max_buffered(bytes);
        self
    }

    /// `serveClient`: serves the official browser client from `bundle` under the path:
    /// `/socket.io/socket.io.js`, `socket.io.min.js`, `socket.io.esm.min.js`,
    /// `socket.io.msgpack.min.js` and their `.map` files, with an ETag, 304 on a match and
    /// gzip when accepted. Off by default: this crate does not ship the client (see
    /// [`ClientBundle`]).
    ///
    /// ```no_run
    /// use socketio_server::{ClientBundle, Config};
    ///
    /// # fn run() -> Result<(), socketio_server::ClientBundleError> {
    /// let mut config = Config::default();
    /// config.serve_client(ClientBundle::from_dir("node_modules/socket.io-client/dist")?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn serve_client(&mut self, bundle: ClientBundle) -> &mut Self {
        self.engine.client_bundle = Some(bundle);
        self
    }

    /// What happens to a client that does not read fast enough (default
    /// [`SlowClientPolicy::Disconnect`]); see [`Config::max_buffered`].
    pub fn slow_client(&mut self, policy: SlowClientPolicy) -> &mut Self {
        self.slow_client = policy;
        self
    }

    /// How long [`SocketIo::serve`] waits for a request's headers, on a new connection and
    /// between the requests of a kept-alive one: a peer that sends them slowly or not at all
    /// (slowloris, an idle TCP connection) is disconnected then. Default 60 s, as Node's
    /// `headersTimeout`; `None` waits forever. (In a tower stack, the server you mount the
    /// layer in decides.)
    pub fn header_read_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.engine.header_read_timeout(timeout);
        self
    }

    /// How long the body of a long-polling POST may take to arrive once its headers are
    /// read: a peer that sends it slowly or not at all gets 408 and its connection is closed.
    /// Default 60 s; `None` waits forever.
    pub fn body_read_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.engine.body_read_timeout(timeout);
        self
    }

    /// The most TCP connections [`SocketIo::serve`] keeps open, WebSockets included (Node's
    /// `server.maxConnections`): past it, a new connection is closed as soon as it is
    /// accepted, and the open ones are not disturbed. Default `None`: no cap.
    pub fn max_connections(&mut self, max: Option<usize>) -> &mut Self {
        self.engine.max_connections(max);
        self
    }

    /// The most bytes of a request's line and headers [`SocketIo::serve`] reads (Node's
    /// `maxHeaderSize`, default 16 KiB; at least 8 KiB): past it, 431 and the connection
    /// closes. At most 100 headers (431 past it; Node reads 2,000 and ignores the rest).
    pub fn max_header_size(&mut self, bytes: usize) -> &mut Self {
        self.engine.max_header_size(bytes);
        self
    }

    /// How far a client may run ahead of its handlers: past `events` events (or `bytes`
    /// bytes of their payloads) received on one socket and not handled yet, the connection
    /// stops reading from the client (its WebSocket is not read, its next POST waits), and
    /// reads again once the handlers caught up. Nothing is dropped: the client is slowed
    /// down, as the reference pauses its transport. Defaults: 1,024 events, 1 MiB.
    pub fn max_pending_events(&mut self, events: usize, bytes: usize) -> &mut Self {
        self.max_pending_events = events.max(1);
        self.max_pending_bytes = bytes.max(1);
        self
    }

    /// The most attachments one binary packet may announce (`maxAttachments`, default 10, as
    /// `socket.io-parser` 4.2.6) and the most bytes they may hold together (default 10 MB, ten
    /// times [`max_http_buffer_size`](Self::max_http_buffer_size)'s default; at most 4 GiB).
    /// A packet over either closes its connection, as the reference does.
    pub fn max_attachments(&mut self, count: usize, bytes: usize) -> &mut Self {
        let proto = Arc::make_mut(&mut self.proto);
        proto.decoder = proto
            .decoder
            .clone()
            .max_attachments(count)
            .max_attachment_bytes(bytes.min(u32::MAX as usize));
        self
    }

    /// The most bytes of binary attachments the whole server holds for packets whose
    /// attachments have not all arrived (default 100 MB). A client that sends the header of a
    /// binary packet and then its attachments slowly holds them meanwhile; without this
    /// bound, many such clients could hold [`max_attachments`](Self::max_attachments)' bytes
    /// each. A connection whose attachment takes the total past it is closed, as for a packet
    /// over the per-packet limit, and a warning is logged. The reference has no such bound.
    pub fn max_attachments_in_flight(&mut self, bytes: usize) -> &mut Self {
        self.max_attachments_in_flight = bytes;
        self
    }

    /// The most namespaces one connection may join, or ask to join, at once (default 64; the
    /// reference has no bound, and each costs memory). A CONNECT past it closes the
    /// connection. A CONNECT to a namespace that does not exist does not count: it gets its
    /// CONNECT_ERROR and is forgotten.
    pub fn max_namespaces(&mut self, max: usize) -> &mut Self {
        Arc::make_mut(&mut self.proto).max_namespaces = max;
        self
    }

    /// The parser: [`ParserKind::Default`] or [`ParserKind::MsgPack`] (for clients using
    /// `socket.io-msgpack-parser`).
    pub fn parser(&mut self, parser: ParserKind) -> &mut Self {
        Arc::make_mut(&mut self.proto).parser = parser;
        self
    }
}

pub(crate) struct IoInner {
    pub(crate) config: Config,
    namespaces: RwLock<HashMap<Namespace, Arc<NamespaceInner>>>,
    dynamic: RwLock<Vec<DynamicParent>>,
    /// Listeners of the namespaces created after the server started (`new_namespace`).
    new_namespace: RwLock<Vec<NewNamespaceListener>>,
    /// The bytes of attachments all connections hold for packets not complete yet (see
    /// [`Config::max_attachments_in_flight`]).
    pub(crate) attachments_in_flight: std::sync::atomic::AtomicUsize,
}

impl IoInner {
    /// The namespace a CONNECT with `auth` asks for: a static one, or a child of the first
    /// dynamic namespace whose matcher accepts the name (and the auth object).
    pub(crate) fn namespace_for(
        &self,
        nsp: &Namespace,
        auth: &Value,
    ) -> Option<Arc<NamespaceInner>> {
        if let Some(ns) = self
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(nsp)
        {
            return Some(ns.clone());
        }
        self.create_child(nsp, auth, |_| true)
    }

    /// Creates `nsp` as the child of the first dynamic namespace that accepts it (among
    /// those `which` picks); `None` when none does.
    fn create_child(
        &self,
        nsp: &Namespace,
        auth: &Value,
        which: impl Fn(&DynamicParent) -> bool,
    ) -> Option<Arc<NamespaceInner>> {
        let parent = {
            let dynamic = self.dynamic.read().unwrap_or_else(|e| e.into_inner());
            let parent = dynamic
                .iter()
                .find(|p| which(p) && (p.matches)(nsp.as_str(), auth))?;
            (parent.ns.handlers.clone(), parent.adapter.clone())
        };
        let (child, created) = {
            let mut namespaces = self.namespaces.write().unwrap_or_else(|e| e.into_inner());
            match namespaces.get(nsp) {
                // Created meanwhile, by another connection.
                Some(existing) => (existing.clone(), false),
                None => {
                    let child = Arc::new(NamespaceInner::with_handlers(
                        nsp.clone(),
                        parent.0,
                        &self.config,
                    ));
                    namespaces.insert(nsp.clone(), child.clone());
                    (child, true)
                }
            }
        };
        if created {
            parent.1.add_child(&child);
            self.announce(&child);
        }
        Some(child)
    }

    /// Calls the `new_namespace` listeners (outside every lock: they may call `of`).
    fn announce(&self, ns: &Arc<NamespaceInner>) {
        let listeners = self
            .new_namespace
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for listener in listeners {
            listener(NamespaceRef { inner: ns.clone() });
        }
    }

    /// With `cleanup_empty_child_namespaces`, forgets a child of a dynamic namespace whose
    /// last socket of this node left (`ns`): it is no longer a namespace of the server nor
    /// a child of its parent, and its adapter is closed. A later CONNECT creates it again.
    pub(crate) fn release_if_empty_child(&self, ns: &Arc<NamespaceInner>) {
        if !self.config.cleanup_empty_child_namespaces || !ns.adapter.sockets(&[]).is_empty() {
            return;
        }
        let parents: Vec<Arc<ParentAdapter>> = self
            .dynamic
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|p| p.adapter.clone())
            .collect();
        if !parents.iter().any(|p| p.remove_child(ns)) {
            return; // a namespace of its own, or released already
        }
        {
            let mut namespaces = self.namespaces.write().unwrap_or_else(|e| e.into_inner());
            if namespaces.get(&ns.name).is_some_and(|n| Arc::ptr_eq(n, ns)) {
                namespaces.remove(&ns.name);
            }
        }
        tracing::debug!(nsp = ns.name.as_str(), "empty child namespace closed");
        ns.adapter.close();
    }
}

/// A dynamic namespace: its matcher, and the parent namespace that holds its handlers.
pub(crate) struct DynamicParent {
    matches: NamespaceMatcher,
    /// Made from a regular expression: `of(name)` with a matching name creates a child
    /// too, as the reference's (a matcher function is asked on CONNECT only).
    regex: bool,
    ns: Arc<NamespaceInner>,
    adapter: Arc<ParentAdapter>,
}

/// A listener of `new_namespace`.
type NewNamespaceListener = Arc<dyn Fn(NamespaceRef) + Send + Sync>;

#[derive(Default)]
pub(crate) struct NsHandlers {
    on_connection: Vec<ConnectionHandler>,
    middlewares: Vec<Middleware>,
    server_side: Arc<ServerSideHandlers>,
}

/// Hands an event from another node to its listener (spawned, so that the adapter's task
/// never waits for application code); an event without listener is dropped, and its sender
/// gets no answer from this node, as in the reference.
fn dispatch_server_side(handlers: &ServerSideHandlers, event: ServerSideEvent) {
    let ServerSideEvent { mut data, reply } = event;
    let Some(Value::String(name)) = (!data.is_empty()).then(|| data.remove(0)) else {
        tracing::debug!("server-side event without a name dropped");
        return;
    };
    let handler = handlers
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&name)
        .cloned();
    let Some(handler) = handler else {
        tracing::debug!(event = %name, "server-side event without listener dropped");
        return;
    };
    let message = ServerSideMessage {
        event: name,
        args: data,
        reply,
    };
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(handler(message));
    }
}

/// An event another node of the cluster sent with `server_side_emit` (the reference's
/// `io.on(event, (...args) => {})` on the server side).
#[derive(Debug)]
pub struct ServerSideMessage {
    event: String,
    args: Vec<Value>,
    reply: Option<tokio::sync::oneshot::Sender<Value>>,
}

impl ServerSideMessage {
    /// The event name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The arguments, deserialized (a tuple for several, `Vec<Value>` for any).
    pub fn args<T: serde::de::DeserializeOwned>(&self) -> Result<T, socketio_proto::PayloadError> {
        crate::socket::value_into(&Value::Array(self.args.clone()))
    }

    /// True when the sender waits for an answer.
    pub fn wants_ack(&self) -> bool {
        self.reply.is_some()
    }

    /// Answers the sender (only the first answer of a node counts, as in the reference);
    /// does nothing when it did not ask.
    pub fn ack<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EmitError> {
        if let Some(reply) = self.reply.take() {
            let value = socketio_proto::Payload::json(value)?
                .deserialize::<Value>()
                .map_err(|e| {
                    EmitError::Encode(socketio_proto::EncodeError::Serialize(e.to_string()))
                })?;
            let _ = reply.send(value);
        }
        Ok(())
    }
}

pub(crate) struct NamespaceInner {
    pub(crate) name: Namespace,
    /// Shared with dynamic children.
    handlers: Arc<RwLock<NsHandlers>>,
    pub(crate) adapter: Arc<dyn Adapter>,
    pub(crate) parser: ParserKind,
    pub(crate) max_buffered: usize,
    pub(crate) slow_client: SlowClientPolicy,
    /// Connection state recovery, when on.
    pub(crate) recovery: Option<RecoveryConfig>,
}

/// The listeners of events other nodes send (`io.on(event)` on the server side).
type ServerSideHandlers = RwLock<HashMap<String, ServerSideHandler>>;
type ServerSideHandler = Arc<dyn Fn(ServerSideMessage) -> BoxFuture + Send + Sync>;

impl NamespaceInner {
    fn with_handlers(name: Namespace, handlers: Arc<RwLock<NsHandlers>>, config: &Config) -> Self {
        let max_buffered = config.engine.max_buffered;
        let adapter = (config.adapter)(&AdapterContext {
            nsp: name.as_str().to_owned(),
            parser: config.proto.parser,
            max_buffered,
            slow_client: config.slow_client,
            recovery: config.recovery.clone(),
        });
        let server_side = handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .server_side
            .clone();
        adapter.on_server_side_emit(Arc::new(move |event| {
            dispatch_server_side(&server_side, event)
        }));
        Self {
            adapter,
            name,
            handlers,
            parser: config.proto.parser,
            max_buffered,
            slow_client: config.slow_client,
            recovery: config.recovery.clone(),
        }
    }

    /// The parent of a dynamic namespace: its adapter reaches the children.
    fn parent(name: Namespace, adapter: Arc<ParentAdapter>, config: &Config) -> Self {
        Self {
            name,
            handlers: Arc::default(),
            adapter,
            parser: config.proto.parser,
            max_buffered: config.engine.max_buffered,
            slow_client: config.slow_client,
            recovery: config.recovery.clone(),
        }
    }

    /// A namespace no server knows (for a socket whose namespace is gone).
    pub(crate) fn detached(name: Namespace, parser: ParserKind) -> Self {
        Self {
            name,
            handlers: Arc::default(),
            adapter: Arc::new(InMemoryAdapter::new(
                usize::MAX,
                SlowClientPolicy::Disconnect,
            )),
            parser,
            max_buffered: usize::MAX,
            slow_client: SlowClientPolicy::Disconnect,
            recovery: None,
        }
    }

    /// The future of the connection listeners for a new socket, in the order they were added.
    pub(crate) fn on_connection(&self, socket: &Socket) -> Option<BoxFuture> {
        let handlers = self.handlers.read().unwrap_or_else(|e| e.into_inner());
        match handlers.on_connection.as_slice() {
            [] => None,
            // The usual case: the one listener, no list copied (called after the lock is
            // released: it may register listeners).
            [listener] => {
                let listener = listener.clone();
                drop(handlers);
                Some(listener(socket.clone()))
            }
            several => {
                let listeners = several.to_vec();
                drop(handlers);
                let socket = socket.clone();
                Some(Box::pin(async move {
                    for listener in listeners {
                        listener(socket.clone()).await;
                    }
                }))
            }
        }
    }

    pub(crate) fn middlewares(&self) -> Vec<Middleware> {
        self.handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .middlewares
            .clone()
    }

    pub(crate) fn add_socket(&self, socket: &Socket) {
        self.adapter.add_socket(socket);
    }

    /// Removes the socket from the namespace, leaving all its rooms.
    pub(crate) fn remove_socket(&self, socket: &Socket) {
        self.adapter.remove_socket(socket.id());
        socket
            .inner
            .left
            .store(true, std::sync::atomic::Ordering::Release);
    }
}

/// A namespace (`io.of("/chat")`): register its connection handler and middlewares.
#[derive(Clone)]
pub struct NamespaceRef {
    inner: Arc<NamespaceInner>,
}

impl std::fmt::Debug for NamespaceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceRef")
            .field("name", &self.inner.name.as_str())
            .finish_non_exhaustive()
    }
}

impl NamespaceRef {
    /// The namespace's name.
    pub fn name(&self) -> &str {
        self.inner.name.as_str()
    }

    /// Adds a connection listener (`nsp.on("connection")`), called with each new socket
    /// after the middlewares accepted it (the CONNECT reply is sent before it runs); several
    /// listeners run in the order they were added.
    pub fn on_connection<F, Fut>(&self, handler: F) -> &Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.inner
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .on_connection
            .push(Arc::new(move |s| Box::pin(handler(s))));
        self
    }

    /// Adds a middleware (`namespace.use`): run in order for every connection; an `Err`
    /// refuses it with CONNECT_ERROR `{message, data}`.
    pub fn use_middleware<F, Fut>(&self, middleware: F) -> &Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.inner
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .middlewares
            .push(Arc::new(move |s| Box::pin(middleware(s))));
        self
    }

    /// Calls `listener` on every room lifecycle event (`create-room`, `delete-room`,
    /// `join-room`, `leave-room`).
    pub fn on_room_event(&self, listener: impl Fn(RoomEvent) + Send + Sync + 'static) -> &Self {
        self.inner.adapter.on_room_event(Arc::new(listener));
        self
    }

    /// The adapter of this namespace.
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.inner.adapter
    }

    /// A broadcast to every socket of the namespace, to narrow with `to`, `except`, ….
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.inner.clone())
    }

    /// A broadcast to the sockets in `rooms`.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// Same as [`NamespaceRef::to`] (the reference's `in`).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// A broadcast to every socket but those in `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// Emits to every socket of the namespace (`nsp.emit`).
    pub fn emit<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<BroadcastReport, EmitError> {
        self.broadcast().emit(event, args)
    }

    /// Emits a `message` event to every socket of the namespace (`nsp.send`).
    pub fn send<T: serde::Serialize + ?Sized>(
        &self,
        args: &T,
    ) -> Result<BroadcastReport, EmitError> {
        self.emit("message", args)
    }

    /// A broadcast that stays on this node (`io.local`).
    pub fn local(&self) -> BroadcastOperator {
        self.broadcast().local()
    }

    /// A broadcast that may be dropped for sockets whose transport is not ready
    /// (`nsp.volatile`).
    pub fn volatile(&self) -> BroadcastOperator {
        self.broadcast().volatile()
    }

    /// A broadcast whose [`emit_with_ack`](BroadcastOperator::emit_with_ack) waits at most
    /// `timeout` (`nsp.timeout`).
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.broadcast().timeout(timeout)
    }

    /// A broadcast with a compression hint (`nsp.compress`).
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        self.broadcast().compress(compress)
    }

    /// Emits to every socket of the namespace, on every node, and collects their
    /// acknowledgements (`nsp.emitWithAck`; see [`BroadcastOperator::emit_with_ack`]).
    pub async fn emit_with_ack<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<Vec<crate::AckResponse>, crate::BroadcastAckError> {
        self.broadcast().emit_with_ack(event, args).await
    }

    /// Every socket of the namespace, on every node, joins `rooms` (`nsp.socketsJoin`).
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        self.broadcast().sockets_join(rooms);
    }

    /// Every socket of the namespace, on every node, leaves `rooms` (`nsp.socketsLeave`).
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        self.broadcast().sockets_leave(rooms);
    }

    /// Disconnects every socket of the namespace, on every node (their whole connection
    /// when `close`; `nsp.disconnectSockets`).
    pub fn disconnect_sockets(&self, close: bool) {
        self.broadcast().disconnect_sockets(close);
    }

    /// The sockets of this namespace on every node (`fetchSockets`).
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        self.broadcast().fetch_sockets().await
    }

    /// Sends `event` with `args` (a tuple spreads into several arguments) to the other nodes
    /// of a cluster (`serverSideEmit`), whose listeners registered with
    /// [`NamespaceRef::on_server_side`] get it. The in-memory adapter has no other node and
    /// says so.
    pub async fn server_side_emit<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), AdapterError> {
        let data = server_side_data(event, args)?;
        self.inner
            .adapter
            .server_side_emit(data, None)
            .await
            .map(drop)
    }

    /// Like [`NamespaceRef::server_side_emit`], and waits for one answer from each other
    /// node, at most `timeout`: after it, [`AdapterError::Timeout`] holds the answers that
    /// came (`serverSideEmitWithAck`).
    pub async fn server_side_emit_with_ack<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> Result<Vec<Value>, AdapterError> {
        let data = server_side_data(event, args)?;
        self.inner
            .adapter
            .server_side_emit(data, Some(timeout))
            .await
    }

    /// Listens to `event` sent by other nodes with `server_side_emit` (`io.on(event)` on the
    /// server side).
    ///
    /// ```no_run
    /// # fn f(io: socketio_server::SocketIo) {
    /// io.of("/").on_server_side("hello", |mut msg| async move {
    ///     let (n,): (u32,) = msg.args().unwrap_or((0,));
    ///     let _ = msg.ack(&(n + 1));
    /// });
    /// # }
    /// ```
    pub fn on_server_side<F, Fut>(&self, event: impl Into<String>, handler: F) -> &Self
    where
        F: Fn(ServerSideMessage) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handlers = self
            .inner
            .handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .server_side
            .clone();
        handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(event.into(), Arc::new(move |m| Box::pin(handler(m))));
        self
    }

    /// The number of nodes serving this namespace, this one included (`serverCount`).
    pub async fn server_count(&self) -> usize {
        self.inner.adapter.server_count().await
    }
}

/// `[event, ...args]` as values, for the other nodes.
fn server_side_data<T: serde::Serialize + ?Sized>(
    event: &str,
    args: &T,
) -> Result<Vec<Value>, AdapterError> {
    socketio_proto::Payload::json(&socketio_proto::args::EventData { name: event, args })
        .map_err(|e| AdapterError::Unavailable(e.to_string()))?
        .deserialize::<Vec<Value>>()
        .map_err(|e| AdapterError::Unavailable(e.to_string()))
}

/// A Socket.IO server.
///
/// ```no_run
/// use socketio_server::{Config, SocketIo};
///
/// # async fn run() -> std::io::Result<()> {
/// let io = SocketIo::new(Config::default());
/// io.of("/").on_connection(|socket| async move {
///     socket.on("ping", |socket, mut msg| async move {
///         let _ = msg.ack(&"pong");
///         let _ = socket.emit("pinged", &());
///     });
/// });
/// io.serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?).await
/// # }
/// ```
#[derive(Clone)]
pub struct SocketIo {
    pub(crate) inner: Arc<IoInner>,
    pub(crate) engine: Arc<EngineShared>,
}

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo").finish_non_exhaustive()
    }
}

impl SocketIo {
    /// A server with these options and no namespace yet (a client connecting to a
    /// namespace that does not exist gets `Invalid namespace`).
    pub fn new(config: Config) -> Self {
        let inner = Arc::new(IoInner {
            config,
            namespaces: RwLock::new(HashMap::new()),
            dynamic: RwLock::new(Vec::new()),
            new_namespace: RwLock::new(Vec::new()),
            attachments_in_flight: std::sync::atomic::AtomicUsize::new(0),
        });
        let io = inner.clone();
        let factory = move |new: NewSession<'_>, launch: Launch| {
            let mut base = HandshakeBase::from_request(new.request, new.remote);
            base.engine_id = Some(new.sid.clone());
            let base = Arc::new(base);
            let conn = SioConnection::new(io.clone(), new.handle, base);
            let seed = launch.shared.random_seed();
            launch.spawn(
                |session, now| SioConnection::endpoint(&io, session, seed, now),
                conn,
            );
        };
        let engine = Arc::new(EngineShared::new(
            inner.config.engine.clone(),
            Box::new(factory),
        ));
        Self { inner, engine }
    }

    /// The namespace `name` (created if needed; a name that matches the regular expression
    /// of a dynamic namespace ([`SocketIo::of_regex`]) makes a child of it, as the
    /// reference's `io.of("/dynamic-101")`).
    pub fn of(&self, name: &str) -> NamespaceRef {
        let nsp = Namespace::new(name.to_owned()).unwrap_or_else(|_| Namespace::main());
        if let Some(inner) = self
            .inner
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&nsp)
        {
            return NamespaceRef {
                inner: inner.clone(),
            };
        }
        if let Some(inner) = self
            .inner
            .create_child(&nsp, &Value::Object(Vec::new()), |p| p.regex)
        {
            return NamespaceRef { inner };
        }
        let (inner, created) = {
            let mut namespaces = self
                .inner
                .namespaces
                .write()
                .unwrap_or_else(|e| e.into_inner());
            match namespaces.get(&nsp) {
                Some(inner) => (inner.clone(), false),
                None => {
                    let inner = Arc::new(NamespaceInner::with_handlers(
                        nsp.clone(),
                        Arc::default(),
                        &self.inner.config,
                    ));
                    namespaces.insert(nsp.clone(), inner.clone());
                    (inner, true)
                }
            }
        };
        if created && nsp != Namespace::main() {
            self.inner.announce(&inner);
        }
        NamespaceRef { inner }
    }

    /// A dynamic namespace (`io.of(fn)`): every namespace a client asks for whose name
    /// `matches` accepts is created on demand as a child of the returned parent, and gets
    /// the parent's connection handler and middlewares (those added later too, unlike the
    /// reference, which copies them when a child is made). Emitting, broadcasting, joining
    /// and disconnecting on the parent reach the sockets of every child; `fetch_sockets`
    /// on it is refused, as the reference's. The parent's name is `/_0`, `/_1`, … (the
    /// reference's).
    ///
    /// ```no_run
    /// # fn f(io: socketio_server::SocketIo) {
    /// let workspaces = io.of_dynamic(|name| name.starts_with("/workspace-"));
    /// workspaces.on_connection(|socket| async move {
    ///     println!("{} joined {}", socket.id(), socket.ns());
    /// });
    /// // Every socket of every workspace.
    /// let _ = workspaces.emit("maintenance", &"in 5 minutes");
    /// # }
    /// ```
    pub fn of_dynamic<F>(&self, matches: F) -> NamespaceRef
    where
        F: Fn(&str) -> bool + Send + Sync + 'static,
    {
        self.add_dynamic(Arc::new(move |name: &str, _: &Value| matches(name)), false)
    }

    /// A dynamic namespace whose function sees the CONNECT's auth object too
    /// (`io.of((name, auth, next) => …)`), as [`SocketIo::of_dynamic`] otherwise. A
    /// CONNECT the function refuses gets "Invalid namespace", as there. As there too, the
    /// function is asked only while the namespace does not exist: once made, the child
    /// takes every CONNECT (to guard it, or to refuse with a reason of its own, use a
    /// middleware: [`NamespaceRef::use_middleware`]). Unlike there, the function answers
    /// at once (it cannot wait for I/O).
    ///
    /// ```no_run
    /// # fn f(io: socketio_server::SocketIo) {
    /// use socketio_server::Value;
    ///
    /// // Only members reach their team's namespace.
    /// let teams = io.of_dynamic_with_auth(|name, auth| {
    ///     let Some(team) = name.strip_prefix("/team-") else {
    ///         return false;
    ///     };
    ///     matches!(auth.get("teams"), Some(Value::Array(teams))
    ///         if teams.iter().any(|t| t.as_str() == Some(team)))
    /// });
    /// teams.on_connection(|socket| async move {
    ///     let _ = socket.emit("welcome", &socket.ns().to_owned());
    /// });
    /// # }
    /// ```
    pub fn of_dynamic_with_auth<F>(&self, matches: F) -> NamespaceRef
    where
        F: Fn(&str, &Value) -> bool + Send + Sync + 'static,
    {
        self.add_dynamic(Arc::new(matches), false)
    }

    /// A dynamic namespace of the names `pattern` matches (`io.of(/^\/dynamic-\d+$/)`): as
    /// [`SocketIo::of_dynamic`], and [`SocketIo::of`] with a matching name creates the child
    /// too (as the reference does for a regular expression, not for a function).
    ///
    /// ```no_run
    /// # fn f(io: socketio_server::SocketIo) {
    /// let pattern = regex::Regex::new(r"^/dynamic-\d+$").unwrap();
    /// let parent = io.of_regex(pattern);
    /// parent.on_connection(|socket| async move {
    ///     let _ = socket.emit("welcome", &socket.ns().to_owned());
    /// });
    /// // A child made now, before any client asked for it.
    /// let _ = io.of("/dynamic-101").emit("hello", &());
    /// # }
    /// ```
    pub fn of_regex(&self, pattern: regex::Regex) -> NamespaceRef {
        self.add_dynamic(
            Arc::new(move |name: &str, _: &Value| pattern.is_match(name)),
            true,
        )
    }

    fn add_dynamic(&self, matches: NamespaceMatcher, regex: bool) -> NamespaceRef {
        static PARENTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = PARENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = Namespace::new(format!("/_{n}")).unwrap_or_else(|_| Namespace::main());
        let adapter = Arc::new(ParentAdapter::default());
        let ns = Arc::new(NamespaceInner::parent(
            name,
            adapter.clone(),
            &self.inner.config,
        ));
        self.inner
            .dynamic
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(DynamicParent {
                matches,
                regex,
                ns: ns.clone(),
                adapter,
            });
        NamespaceRef { inner: ns }
    }

    /// Calls `listener` with each namespace created from now on: by [`SocketIo::of`] (the
    /// main namespace aside) and as a child of a dynamic namespace (`io.on("new_namespace")`).
    pub fn on_new_namespace<F>(&self, listener: F) -> &Self
    where
        F: Fn(NamespaceRef) + Send + Sync + 'static,
    {
        self.inner
            .new_namespace
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(listener));
        self
    }

    // ---- the main namespace's shortcuts (`io.to(..)` is `io.of("/").to(..)`) ----------

    /// Sets the connection handler of the main namespace (`io.on("connection")`).
    ///
    /// ```no_run
    /// # fn f(io: socketio_server::SocketIo) {
    /// io.on_connection(|socket| async move {
    ///     let _ = socket.emit("hello", &"world");
    /// });
    /// # }
    /// ```
    pub fn on_connection<F, Fut>(&self, handler: F) -> &Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.of("/").on_connection(handler);
        self
    }

    /// Adds a middleware to the main namespace (`io.use`).
    pub fn use_middleware<F, Fut>(&self, middleware: F) -> &Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.of("/").use_middleware(middleware);
        self
    }

    /// A broadcast to every socket of the main namespace.
    pub fn broadcast(&self) -> BroadcastOperator {
        self.of("/").broadcast()
    }

    /// A broadcast to the sockets of the main namespace in `rooms` (`io.to(room)`).
    ///
    /// ```no_run
    /// # fn f(io: socketio_server::SocketIo) {
    /// let _ = io.to("room1").except("room2").emit("news", &("hello", 1));
    /// # }
    /// ```
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.of("/").to(rooms)
    }

    /// Same as [`SocketIo::to`] (`io.in(room)`).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.of("/").to(rooms)
    }

    /// A broadcast to every socket of the main namespace but those in `rooms`
    /// (`io.except`).
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.of("/").except(rooms)
    }

    /// A broadcast of the main namespace that may be dropped for sockets whose transport is
    /// not ready (`io.volatile`).
    pub fn volatile(&self) -> BroadcastOperator {
        self.of("/").volatile()
    }

    /// A broadcast of the main namespace that stays on this node (`io.local`).
    pub fn local(&self) -> BroadcastOperator {
        self.of("/").local()
    }

    /// A broadcast of the main namespace whose acknowledgements are awaited at most
    /// `timeout` (`io.timeout`).
    ///
    /// ```no_run
    /// # async fn f(io: socketio_server::SocketIo) {
    /// use std::time::Duration;
    ///
    /// match io.timeout(Duration::from_secs(5)).emit_with_ack("ping", &()).await {
    ///     Ok(answers) => println!("{} answers", answers.len()),
    ///     Err(e) => println!("not all answered: {e}"),
    /// }
    /// # }
    /// ```
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.of("/").timeout(timeout)
    }

    /// A broadcast of the main namespace with a compression hint (`io.compress`).
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        self.of("/").compress(compress)
    }

    /// Emits to every socket of the main namespace and collects their acknowledgements
    /// (`io.emitWithAck`).
    pub async fn emit_with_ack<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<Vec<crate::AckResponse>, crate::BroadcastAckError> {
        self.of("/").emit_with_ack(event, args).await
    }

    /// The sockets of the main namespace on every node (`io.fetchSockets`).
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        self.of("/").fetch_sockets().await
    }

    /// Every socket of the main namespace joins `rooms` (`io.socketsJoin`).
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        self.of("/").sockets_join(rooms);
    }

    /// Every socket of the main namespace leaves `rooms` (`io.socketsLeave`).
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        self.of("/").sockets_leave(rooms);
    }

    /// Disconnects every socket of the main namespace (`io.disconnectSockets`).
    pub fn disconnect_sockets(&self, close: bool) {
        self.of("/").disconnect_sockets(close);
    }

    /// Sends `event` to the other nodes of a cluster (`io.serverSideEmit`; see
    /// [`NamespaceRef::server_side_emit`]).
    pub async fn server_side_emit<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), AdapterError> {
        self.of("/").server_side_emit(event, args).await
    }

    /// Sends `event` to the other nodes and waits for their answers
    /// (`io.serverSideEmitWithAck`; see [`NamespaceRef::server_side_emit_with_ack`]).
    pub async fn server_side_emit_with_ack<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> Result<Vec<Value>, AdapterError> {
        self.of("/")
            .server_side_emit_with_ack(event, args, timeout)
            .await
    }

    /// Listens to `event` from the other nodes (`io.on(event)` on the server side).
    pub fn on_server_side<F, Fut>(&self, event: impl Into<String>, handler: F) -> &Self
    where
        F: Fn(ServerSideMessage) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.of("/").on_server_side(event, handler);
        self
    }

    /// Emits to every socket of the main namespace (`io.emit`).
    pub fn emit<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<BroadcastReport, EmitError> {
        self.of("/").emit(event, args)
    }

    /// Emits a `message` event to every socket of the main namespace (`io.send`).
    pub fn send<T: serde::Serialize + ?Sized>(
        &self,
        args: &T,
    ) -> Result<BroadcastReport, EmitError> {
        self.of("/").send(args)
    }

    /// Calls `listener` with every request the server refuses
    /// (`io.engine.on("connection_error")`): an unknown session id, a bad handshake, a
    /// refusal of [`Config::allow_request`], an unsupported protocol version, … with the
    /// reference's code and message, and the request.
    ///
    /// ```no_run
    /// # fn f(io: socketio_server::SocketIo) {
    /// io.on_connection_error(|err| {
    ///     let request = &err.request;
    ///     eprintln!("refused {} {}: {} ({})", request.method, request.uri, err.message(), err.code());
    /// });
    /// # }
    /// ```
    pub fn on_connection_error<F>(&self, listener: F) -> &Self
    where
        F: Fn(&crate::engine::ConnectionError) + Send + Sync + 'static,
    {
        self.engine.on_connection_error(Arc::new(listener));
        self
    }

    /// Lets `listener` add or change headers of every handshake response, the polling
    /// handshake and the WebSocket one (`io.engine.on("initial_headers")`): a session
    /// cookie, for example. The cookie of [`Config::cookie`] is there already.
    ///
    /// ```no_run
    /// # fn f(io: socketio_server::SocketIo) {
    /// io.on_initial_headers(|headers, _request| {
    ///     headers.append(
    ///         http::header::SET_COOKIE,
    ///         http::HeaderValue::from_static("session=abc; Path=/; HttpOnly"),
    ///     );
    /// });
    /// # }
    /// ```
    pub fn on_initial_headers<F>(&self, listener: F) -> &Self
    where
        F: Fn(&mut http::HeaderMap, &crate::engine::RequestInfo) + Send + Sync + 'static,
    {
        self.engine.on_headers(true, Arc::new(listener));
        self
    }

    /// Lets `listener` add or change headers of every response of the server's path, the
    /// handshakes included (after the `initial_headers` listeners), refusals aside
    /// (`io.engine.on("headers")`).
    pub fn on_headers<F>(&self, listener: F) -> &Self
    where
        F: Fn(&mut http::HeaderMap, &crate::engine::RequestInfo) + Send + Sync + 'static,
    {
        self.engine.on_headers(false, Arc::new(listener));
        self
    }

    /// Number of open Engine.IO connections.
    pub fn connection_count(&self) -> usize {
        self.engine.len()
    }

    /// Closes the server, as the reference's `io.close()`: the [`serve`](Self::serve) loops
    /// running stop accepting and return (their listeners are dropped, so the port is free
    /// again), and every connection closes; every socket disconnects with `"server shutting
    /// down"`. (Under the tower layer, your server owns the listener: stop it yourself.)
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// use socketio_server::{Config, SocketIo};
    ///
    /// let io = SocketIo::new(Config::default());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// let server = tokio::spawn({
    ///     let io = io.clone();
    ///     async move { io.serve(listener).await }
    /// });
    /// // ... later:
    /// io.close();
    /// server.await.expect("the server task")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) {
        self.engine.stop_serving();
        self.engine.close_all_with(|| {
            crate::engine::Input::Custom(Box::new(crate::socket::Command::Shutdown))
        });
    }

    /// Accepts connections on `listener` and serves them (HTTP/1.1, with WebSocket). A
    /// failed accept (the process out of file descriptors, a connection reset before it was
    /// accepted) is logged and serving goes on; a peer that does not send its request
    /// headers within [`Config::header_read_timeout`] is disconnected.
    /// Returns after [`SocketIo::close`].
    pub async fn serve(&self, listener: TcpListener) -> std::io::Result<()> {
        let stopped = self.engine.stopped();
        crate::engine::serve(listener, self.engine.clone(), stopped).await
    }

    /// Serves until `shutdown` completes (or [`SocketIo::close`]), then closes every
    /// connection ("server shutting down") and returns.
    pub async fn serve_with_shutdown(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let stopped = self.engine.stopped();
        let either = async move {
            tokio::select! {
                () = shutdown => {}
                () = stopped => {}
            }
        };
        let result = crate::engine::serve(listener, self.engine.clone(), either).await;
        self.close();
        result
    }
}
