//! The Engine.IO layer of the server: HTTP long-polling and WebSocket transports on hyper,
//! the session table, and one task per session driving [`engineio_proto::ServerSession`].
//!
//! Every protocol decision (status codes, close reasons, timers) is taken by
//! `engineio-proto`; this module moves bytes between hyper, tungstenite and the state
//! machine.

pub(crate) mod http;
mod inbox;
mod session;
mod socket;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use engineio_proto::{Frame, ServerConfig, Sid, SidGenerator};
use socketio_proto::endpoint::server::{Admission, frames_len};

/// The Engine.IO packets and close reasons [`Conn`](crate::Conn)'s listeners see.
pub use engineio_proto::{CloseReason, Data, Packet, PacketType, TransportError};
pub use http::Cors;

pub(crate) use session::{Connection, Input, Launch, now};
pub use socket::{EngineServer, EngineSocket, RemoteAddr, Secure};
pub(crate) use socket::{not_found, remote_addr, serve};

/// Logs why a session closed: at `warn` when the client broke the protocol (with what it did),
/// at `debug` otherwise.
pub(crate) fn log_close(reason: &CloseReason) {
    match reason {
        CloseReason::ParseError(e) => {
            tracing::warn!(error = %e, "session closed: the client sent a packet that does not decode");
        }
        CloseReason::TransportError(e) => {
            tracing::warn!(error = %e, "session closed: transport error");
        }
        CloseReason::PingTimeout | CloseReason::TransportClose | CloseReason::ForcedClose => {
            tracing::debug!(reason = reason.as_str(), "session closed");
        }
        // `CloseReason` is non-exhaustive (another crate): a future reason is logged as is.
        other => tracing::debug!(reason = other.as_str(), "session closed"),
    }
}

/// Decides whether a handshake request may open a session (the reference's
/// `allowRequest`): `Err(message)` refuses it with 403 `{"code":4,"message":…}` (message
/// `"Forbidden"` when `None`).
pub type AllowRequest = Arc<
    dyn Fn(
            &::http::request::Parts,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<(), Option<String>>> + Send>,
        > + Send
        + Sync,
>;

/// Chooses the session id of a handshake request (the reference's `generateId`): `Err`
/// refuses the request with 400 `{"code":3,"message":"Bad request"}`.
pub type GenerateId = Arc<
    dyn Fn(
            &::http::request::Parts,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send>>
        + Send
        + Sync,
>;

/// Engine.IO options: the protocol options of [`ServerConfig`] plus those of the HTTP
/// integration (`path`, `cors`, `allowRequest`, `cookie`).
#[derive(Clone)]
pub struct EngineConfig {
    /// (Shared by the sessions: each takes a reference, not a copy.)
    pub(crate) protocol: Arc<ServerConfig>,
    pub(crate) path: String,
    pub(crate) cors: Option<Cors>,
    pub(crate) allow_request: Option<AllowRequest>,
    pub(crate) generate_id: Option<GenerateId>,
    pub(crate) cookie: Option<cookie::Cookie<'static>>,
    /// The most bytes a session may hold for a client that does not read (default 16 MiB).
    pub(crate) max_buffered: usize,
    /// How long the standalone server waits for a request's headers, on a new connection
    /// and between the requests of a kept-alive one (`None`: forever).
    pub(crate) header_read_timeout: Option<std::time::Duration>,
    /// How long a polling POST's body may take to arrive (`None`: forever).
    pub(crate) body_read_timeout: Option<std::time::Duration>,
    /// The most TCP connections the standalone server keeps open (`None`: no cap).
    pub(crate) max_connections: Option<usize>,
    /// The most bytes of a request's line and headers the standalone server reads.
    pub(crate) max_header_size: usize,
    /// The browser client served under `path` (Socket.IO's `serveClient`).
    pub(crate) client_bundle: Option<crate::client_bundle::ClientBundle>,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("protocol", &self.protocol)
            .field("path", &self.path)
            .field("cors", &self.cors)
            .field("allow_request", &self.allow_request.is_some())
            .field("generate_id", &self.generate_id.is_some())
            .field("cookie", &self.cookie)
            .finish()
    }
}

/// Node's default `maxHeaderSize`.
const MAX_HEADER_SIZE: usize = 16 << 10;
/// The least hyper takes as its buffer's bound.
const MIN_HEADER_SIZE: usize = 8 << 10;

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            protocol: Arc::default(),
            path: "/engine.io/".to_owned(),
            cors: None,
            allow_request: None,
            generate_id: None,
            cookie: None,
            max_buffered: 16 << 20,
            header_read_timeout: Some(std::time::Duration::from_secs(60)),
            body_read_timeout: Some(std::time::Duration::from_secs(60)),
            max_connections: None,
            max_header_size: MAX_HEADER_SIZE,
            client_bundle: None,
        }
    }
}

impl EngineConfig {
    /// The protocol options (`pingInterval`, `pingTimeout`, `maxHttpBufferSize`, …).
    pub fn protocol(&mut self) -> &mut ServerConfig {
        Arc::make_mut(&mut self.protocol)
    }

    /// The path the server answers on (default `/engine.io/`, `/socket.io/` for
    /// Socket.IO). A trailing slash is added as the reference does.
    pub fn path(&mut self, path: &str) -> &mut Self {
        let trimmed = path.trim_end_matches('/');
        self.path = format!("{trimmed}/");
        self
    }

    /// Checks every handshake request before a session opens (`allowRequest`).
    pub fn allow_request<F>(&mut self, check: F) -> &mut Self
    where
        F: Fn(&::http::request::Parts) -> Result<(), Option<String>> + Send + Sync + 'static,
    {
        self.allow_request = Some(Arc::new(move |parts| {
            Box::pin(std::future::ready(check(parts)))
        }));
        self
    }

    /// Checks every handshake request before a session opens, asynchronously
    /// (`allowRequest` answering later): the closure takes from the request what it needs
    /// and returns the future of the decision.
    pub fn allow_request_async<F, Fut>(&mut self, check: F) -> &mut Self
    where
        F: Fn(&::http::request::Parts) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), Option<String>>> + Send + 'static,
    {
        self.allow_request = Some(Arc::new(move |parts| Box::pin(check(parts))));
        self
    }

    /// Chooses the id of every new session (`generateId`) instead of the server's random
    /// 20 characters: `Ok(id)` must be 1 to 128 characters among `A`–`Z`, `a`–`z`, `0`–`9`,
    /// `-`, `_`, `.`, `~` (see [`Sid::new`]) and not in use; anything else, and `Err`,
    /// refuses the handshake with 400 (`connection_error` with
    /// [`BadRequestReason::IdGenerationError`]). The id is what clients send back with each
    /// request, and what the `cookie` option holds: it must be as hard to guess as a
    /// password if sessions are not otherwise bound to their client.
    pub fn generate_id<F, E>(&mut self, generate: F) -> &mut Self
    where
        F: Fn(&::http::request::Parts) -> Result<String, E> + Send + Sync + 'static,
        E: std::fmt::Display,
    {
        self.generate_id = Some(Arc::new(move |parts| {
            Box::pin(std::future::ready(
                generate(parts).map_err(|e| e.to_string()),
            ))
        }));
        self
    }

    /// Chooses the id of every new session asynchronously (`generateId` returning a
    /// promise), with the rules of [`EngineConfig::generate_id`]: the closure takes from the
    /// request what it needs and returns the future of the id.
    pub fn generate_id_async<F, Fut, E>(&mut self, generate: F) -> &mut Self
    where
        F: Fn(&::http::request::Parts) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<String, E>> + Send + 'static,
        E: std::fmt::Display,
    {
        self.generate_id = Some(Arc::new(move |parts| {
            let id = generate(parts);
            Box::pin(async move { id.await.map_err(|e| e.to_string()) })
        }));
        self
    }

    /// Sends a cookie named `name` holding the session id with the handshake response
    /// (`cookie` option: `Path=/; HttpOnly; SameSite=Lax`, the reference's defaults).
    pub fn cookie(&mut self, name: &str) -> &mut Self {
        self.cookie = Some(
            cookie::Cookie::build((name.to_owned(), ""))
                .path("/")
                .http_only(true)
                .same_site(cookie::SameSite::Lax)
                .build(),
        );
        self
    }

    /// Sends the session id in a cookie with these attributes (the `cookie` option with the
    /// `cookie` package's options: path, domain, `httpOnly`, `sameSite`, `secure`, `maxAge`,
    /// …): `template`'s name and attributes, the session id as its value.
    pub fn cookie_with(&mut self, template: cookie::Cookie<'static>) -> &mut Self {
        self.cookie = Some(template);
        self
    }

    /// The most bytes a session may hold for a client that does not read fast enough
    /// (default 16 MiB): past it, volatile messages are dropped and the client is
    /// disconnected ("forced close") rather than let memory grow. On the bare Engine.IO
    /// server ([`EngineServer`]) it also bounds the messages received and not read yet by
    /// the application ([`EngineSocket::recv`]).
    pub fn max_buffered(&mut self, bytes: usize) -> &mut Self {
        self.max_buffered = bytes;
        Arc::make_mut(&mut self.protocol).max_buffered(bytes);
        self
    }

    /// How long the standalone server ([`EngineServer::serve`],
    /// [`SocketIo::serve`](crate::SocketIo::serve)) waits for the headers of a request: on a
    /// new connection, and between the requests of a kept-alive one. A peer that sends them
    /// slowly or not at all (slowloris, an idle TCP connection) is disconnected then.
    /// Default 60 s, as Node's `headersTimeout`; `None` waits forever. (In a tower stack,
    /// the server you mount it in decides.)
    pub fn header_read_timeout(&mut self, timeout: Option<std::time::Duration>) -> &mut Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long the body of a long-polling POST may take to arrive once its headers are
    /// read: a peer that sends it slowly or not at all gets 408 and its connection is
    /// closed (the session learns the request was aborted). Default 60 s; `None` waits
    /// forever.
    pub fn body_read_timeout(&mut self, timeout: Option<std::time::Duration>) -> &mut Self {
        self.body_read_timeout = timeout;
        self
    }

    /// The most TCP connections the standalone server keeps open, WebSockets included
    /// (Node's `server.maxConnections`): past it, a new connection is closed as soon as it is
    /// accepted, and the open ones are not disturbed. Default `None`: no cap (the process's
    /// open-files limit is then the cap, and reaching it does not stop the server).
    pub fn max_connections(&mut self, max: Option<usize>) -> &mut Self {
        self.max_connections = max;
        self
    }

    /// The most bytes of a request's line and headers the standalone server reads (Node's
    /// `maxHeaderSize`, default 16 KiB; at least 8 KiB): a request over it (a huge query
    /// string or header) gets 431 and its connection is closed, as in Node. A request may
    /// also have at most 100 headers (431 past it; Node reads 2,000 and ignores the rest).
    pub fn max_header_size(&mut self, bytes: usize) -> &mut Self {
        self.max_header_size = bytes.max(MIN_HEADER_SIZE);
        self
    }

    /// Enables CORS (the reference's `cors` option): preflight requests are answered and
    /// every response carries the CORS headers.
    pub fn cors(&mut self, cors: Cors) -> &mut Self {
        self.cors = Some(cors);
        self
    }
}

/// Starts a new session: builds its machine and the layer above, then
/// [`Launch::spawn`]s its task.
pub(crate) type ConnectionFactory = dyn Fn(NewSession<'_>, Launch) + Send + Sync + 'static;

/// What the layer above learns when a session opens.
pub(crate) struct NewSession<'a> {
    pub(crate) sid: Sid,
    pub(crate) remote: Option<std::net::SocketAddr>,
    pub(crate) handle: SessionHandle,
    pub(crate) request: &'a ::http::request::Parts,
}

/// A handle to a session task, to send it packets or close it from any task.
#[derive(Clone, Debug)]
pub(crate) struct SessionHandle {
    tx: inbox::InboxSender,
    flow: Arc<Flow>,
}

/// What a slow client makes the server hold, and who waits for room.
#[derive(Debug, Default)]
struct Flow {
    /// Bytes of frames sent to the task and not yet taken by it (the task stops taking
    /// them while a WebSocket write does not drain).
    queued: AtomicUsize,
    /// Woken when the task took frames: emitters waiting for room try again.
    room: tokio::sync::Notify,
    /// Set when the client is found too slow ([`SlowClientPolicy::Disconnect`]): a write
    /// blocked on that client gives up.
    slow: AtomicBool,
    slow_signal: tokio::sync::Notify,
    /// Set once the session is on WebSocket (opened so, or upgraded).
    websocket: AtomicBool,
    /// The application's listeners of the connection's Engine.IO events (`socket.conn`'s),
    /// by event name; none until the first is added.
    conn_listeners: Mutex<Option<Box<socketio_proto::listeners::EventListeners<ConnListener>>>>,
}

/// A listener of the Engine.IO events of a connection (filtered to its event by the
/// closure that wraps the application's).
pub(crate) type ConnListener = Arc<dyn Fn(&engineio_proto::Event) + Send + Sync>;

/// What to do when a client does not read fast enough (the proto layer's rule, under its
/// historical path here).
pub use socketio_proto::endpoint::server::SlowClientPolicy;

/// What [`SessionHandle::send_frames`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Queued for the session.
    Queued,
    /// A volatile message dropped: the session is behind.
    Dropped,
    /// Not queued: no room, under [`SlowClientPolicy::Backpressure`].
    Full,
    /// The session is gone, or was closed for not keeping up.
    Closed,
}

impl SessionHandle {
    pub(crate) fn send(&self, input: Input) -> bool {
        self.tx.send(input)
    }

    /// Runs `f` on the listeners of the connection's Engine.IO events (created empty on
    /// first use); the second value is true when there were none before.
    pub(crate) fn with_conn_listeners<T>(
        &self,
        f: impl FnOnce(&mut socketio_proto::listeners::EventListeners<ConnListener>) -> T,
    ) -> (T, bool) {
        let mut guard = self
            .flow
            .conn_listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let first = guard.is_none();
        (f(guard.get_or_insert_with(Box::default)), first)
    }

    /// The listeners of Engine.IO event `name` to call now (a `once` one is taken off).
    pub(crate) fn conn_listeners(&self, name: &str) -> Vec<ConnListener> {
        let mut guard = self
            .flow
            .conn_listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(listeners) => listeners.fire(name).collect(),
            None => Vec::new(),
        }
    }

    /// Queues frames encoded once and shared (a clone of `frames` is a reference count).
    /// Whether they may go is the proto layer's [`Admission`] rule, given the bytes in
    /// flight to this session: a volatile message is dropped when the session is behind; a
    /// message that would put more than `limit` bytes in flight closes the session under
    /// [`SlowClientPolicy::Disconnect`], or is refused under
    /// [`SlowClientPolicy::Backpressure`] (see [`SessionHandle::send_frames_wait`]).
    pub(crate) fn send_frames(
        &self,
        frames: &Arc<[Frame]>,
        volatile: bool,
        limit: usize,
        policy: SlowClientPolicy,
    ) -> Sent {
        let bytes = frames_len(frames);
        let queued = self.flow.queued.load(Ordering::Acquire);
        match Admission::decide(queued, bytes, volatile, limit, policy) {
            Admission::Queue => self.push(frames, volatile, bytes),
            Admission::DropVolatile => Sent::Dropped,
            Admission::SlowClient => {
                self.flow.slow.store(true, Ordering::Release);
                self.flow.slow_signal.notify_one();
                self.send(Input::SlowClient);
                Sent::Closed
            }
            Admission::Full => Sent::Full,
            // `Admission` is non-exhaustive (another crate): an outcome this driver does
            // not know queues nothing (debug builds, hence the tests, stop here).
            other => {
                debug_assert!(false, "admission not handled by the driver: {other:?}");
                Sent::Full
            }
        }
    }

    /// Like [`SessionHandle::send_frames`] under [`SlowClientPolicy::Backpressure`], but
    /// waits for room instead of refusing.
    pub(crate) async fn send_frames_wait(
        &self,
        frames: &Arc<[Frame]>,
        volatile: bool,
        limit: usize,
    ) -> Sent {
        let bytes = frames_len(frames);
        loop {
            let room = self.flow.room.notified();
            let queued = self.flow.queued.load(Ordering::Acquire);
            let policy = SlowClientPolicy::Backpressure;
            match Admission::decide(queued, bytes, volatile, limit, policy) {
                Admission::Queue => return self.push(frames, volatile, bytes),
                Admission::DropVolatile => return Sent::Dropped,
                // (`SlowClient` is not an outcome under backpressure.)
                Admission::Full | Admission::SlowClient => {}
                // `Admission` is non-exhaustive (another crate): an outcome this driver
                // does not know waits as for a full buffer (debug builds stop here).
                other => debug_assert!(false, "admission not handled by the driver: {other:?}"),
            }
            if self.tx.is_closed() {
                return Sent::Closed;
            }
            room.await;
        }
    }

    fn push(&self, frames: &Arc<[Frame]>, volatile: bool, bytes: usize) -> Sent {
        self.flow.queued.fetch_add(bytes, Ordering::AcqRel);
        let input = Input::Frames {
            frames: frames.clone(),
            volatile,
            bytes,
        };
        if self.send(input) {
            Sent::Queued
        } else {
            Sent::Closed
        }
    }

    /// Called by the task for each `Input::Frames` it takes.
    pub(crate) fn taken(&self, bytes: usize) {
        self.flow.queued.fetch_sub(bytes, Ordering::AcqRel);
        self.flow.room.notify_waiters();
    }

    /// Runs a write to the client unless the client is found too slow meanwhile (then
    /// `None`: the write is abandoned, the connection is to be dropped).
    /// The client was found too slow: its writes are to be abandoned.
    pub(crate) fn is_slow(&self) -> bool {
        self.flow.slow.load(Ordering::Acquire)
    }

    pub(crate) async fn unless_slow<T>(&self, write: impl Future<Output = T>) -> Option<T> {
        if self.is_slow() {
            return None;
        }
        tokio::select! {
            biased;
            result = write => Some(result),
            () = self.flow.slow_signal.notified() => None,
        }
    }

    /// The session is on WebSocket from now on.
    pub(crate) fn set_websocket(&self) {
        self.flow.websocket.store(true, Ordering::Release);
    }

    /// The session's transport: `"websocket"` (opened so or upgraded) or `"polling"`.
    pub(crate) fn transport_name(&self) -> &'static str {
        if self.flow.websocket.load(Ordering::Acquire) {
            "websocket"
        } else {
            "polling"
        }
    }

    /// Wakes every emitter waiting for room (the session is closing).
    pub(crate) fn release_waiters(&self) {
        self.flow.room.notify_waiters();
    }
}

/// State shared by the HTTP side and the session tasks.
pub(crate) struct EngineShared {
    pub(crate) config: EngineConfig,
    /// (Hashed with foldhash, not SipHash: a lookup per request. The keys are the server's
    /// random ids, so a peer cannot choose colliding ones.)
    sessions: Mutex<HashMap<Sid, SessionHandle, foldhash::fast::RandomState>>,
    ids: Mutex<SidGenerator>,
    next_request: AtomicU64,
    /// TCP connections of the standalone server open now.
    pub(crate) open_connections: Arc<AtomicUsize>,
    pub(crate) factory: Box<ConnectionFactory>,
    /// Bumped by [`EngineShared::stop_serving`]: the `serve` loops running then return.
    stops: tokio::sync::watch::Sender<u64>,
    /// The `connection_error`, `initial_headers` and `headers` listeners, and whether there
    /// is one (read per request: without, the request is not copied for them).
    connection_error: std::sync::RwLock<Vec<ConnectionErrorListener>>,
    initial_headers: std::sync::RwLock<Vec<HeadersListener>>,
    headers: std::sync::RwLock<Vec<HeadersListener>>,
    has_request_listeners: AtomicBool,
}

/// A listener of the headers of responses.
pub(crate) type HeadersListener = Arc<dyn Fn(&mut ::http::HeaderMap, &RequestInfo) + Send + Sync>;

/// The request an engine hook is about: what `req` is to the reference's listeners.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestInfo {
    /// The request's method.
    pub method: ::http::Method,
    /// The request's URI (its query has `EIO`, `transport`, `sid`).
    pub uri: ::http::Uri,
    /// The request's headers.
    pub headers: ::http::HeaderMap,
    /// The peer's address, when known.
    pub remote: Option<std::net::SocketAddr>,
}

impl RequestInfo {
    /// True for a handshake (no `sid` in the query): what `initial_headers` answers.
    pub fn is_handshake(&self) -> bool {
        !form_urlencoded::parse(self.uri.query().unwrap_or("").as_bytes())
            .any(|(key, _)| key == "sid")
    }
}

/// A listener of refused requests.
pub(crate) type ConnectionErrorListener = Arc<dyn Fn(&ConnectionError) + Send + Sync>;

/// A request the server refused (the reference's `connection_error` event of
/// `io.engine`): the reason, with the reference's code, message and context, and what the
/// request was.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionError {
    /// Why ([`Rejection::code`], [`Rejection::message`]; a [`BadRequestReason`] is the
    /// reference's `context.name`).
    pub rejection: Rejection,
    /// The request refused.
    pub request: RequestInfo,
}

impl ConnectionError {
    /// The reference's error code, 0–5.
    pub fn code(&self) -> u8 {
        self.rejection.code()
    }

    /// The reference's message (`"Session ID unknown"`, …).
    pub fn message(&self) -> &str {
        self.rejection.message()
    }
}

pub use engineio_proto::{BadRequestReason, Rejection};
/// tower-http's CORS types, for [`Cors::custom`] and [`Cors::map`].
pub use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders};

impl EngineShared {
    pub(crate) fn new(config: EngineConfig, factory: Box<ConnectionFactory>) -> Self {
        let mut seed = [0u8; 32];
        // A server without OS randomness cannot issue unguessable session ids.
        getrandom::fill(&mut seed).expect("the operating system provides randomness");
        Self {
            config,
            sessions: Mutex::new(HashMap::default()),
            ids: Mutex::new(SidGenerator::from_seed(seed)),
            next_request: AtomicU64::new(1),
            open_connections: Arc::default(),
            factory,
            stops: tokio::sync::watch::Sender::new(0),
            connection_error: std::sync::RwLock::default(),
            initial_headers: std::sync::RwLock::default(),
            headers: std::sync::RwLock::default(),
            has_request_listeners: AtomicBool::new(false),
        }
    }

    /// Adds a listener of refused requests.
    pub(crate) fn on_connection_error(&self, listener: ConnectionErrorListener) {
        self.connection_error
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(listener);
        self.has_request_listeners.store(true, Ordering::Release);
    }

    /// Adds a listener of the headers of handshake responses (`initial`) or of every
    /// response.
    pub(crate) fn on_headers(&self, initial: bool, listener: HeadersListener) {
        let list = if initial {
            &self.initial_headers
        } else {
            &self.headers
        };
        list.write()
            .unwrap_or_else(|e| e.into_inner())
            .push(listener);
        self.has_request_listeners.store(true, Ordering::Release);
    }

    /// True when a hook wants to see requests (each is then copied to tell them).
    pub(crate) fn wants_requests(&self) -> bool {
        self.has_request_listeners.load(Ordering::Acquire)
    }

    /// Lets the `initial_headers` (for a handshake) then `headers` listeners change the
    /// headers of a response.
    pub(crate) fn response_headers(&self, headers: &mut ::http::HeaderMap, request: &RequestInfo) {
        let mut listeners = Vec::new();
        if request.is_handshake() {
            listeners.extend(
                self.initial_headers
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .cloned(),
            );
        }
        listeners.extend(
            self.headers
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned(),
        );
        for listener in listeners {
            listener(headers, request);
        }
    }

    pub(crate) fn connection_error(&self, error: &ConnectionError) {
        let listeners = self
            .connection_error
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for listener in listeners {
            listener(error);
        }
    }

    /// Completes at the next [`EngineShared::stop_serving`] after this call (one that came
    /// before does not count: a server may serve again after a close).
    pub(crate) fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut stops = self.stops.subscribe();
        async move {
            // An error means the sender is gone: nothing can stop this loop any more.
            if stops.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Makes every `serve` loop running now return (its listener is dropped: the port is
    /// free again).
    pub(crate) fn stop_serving(&self) {
        self.stops.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A seed for a connection's own generator (its socket ids), from the server's.
    pub(crate) fn random_seed(&self) -> [u8; 32] {
        let mut seed = [0u8; 32];
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fill(&mut seed);
        seed
    }

    /// The id of a new session: the application's (`generateId`), checked, or the server's.
    pub(crate) async fn session_id(
        &self,
        parts: &::http::request::Parts,
    ) -> Result<Sid, Rejection> {
        let Some(generate) = &self.config.generate_id else {
            return Ok(self.generate_id());
        };
        let refused = Rejection::BadRequest(BadRequestReason::IdGenerationError);
        let chosen = generate(parts).await.map_err(|error| {
            tracing::debug!(%error, "the id generator failed");
            refused.clone()
        })?;
        match Sid::new(&chosen) {
            Some(sid) if self.lookup(&sid).is_none() => Ok(sid),
            Some(_) => {
                tracing::debug!(id = %chosen, "the id generator chose an id in use");
                Err(refused)
            }
            None => {
                tracing::debug!(id = %chosen, "the id generator chose an id that cannot be one");
                Err(refused)
            }
        }
    }

    pub(crate) fn generate_id(&self) -> Sid {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .generate()
    }

    pub(crate) fn request_id(&self) -> engineio_proto::RequestId {
        engineio_proto::RequestId(self.next_request.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn lookup(&self, sid: &Sid) -> Option<SessionHandle> {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(sid)
            .cloned()
    }

    pub(crate) fn insert(&self, sid: Sid, handle: SessionHandle) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sid, handle);
    }

    pub(crate) fn remove(&self, sid: &Sid) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(sid);
    }

    /// Number of live sessions.
    pub(crate) fn len(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Asks every session to close.
    pub(crate) fn close_all(&self) {
        self.close_all_with(|| Input::Close);
    }

    /// Sends every session the input made by `input`.
    pub(crate) fn close_all_with(&self, input: impl Fn() -> Input) {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        for handle in sessions.values() {
            handle.send(input());
        }
    }

    pub(crate) fn new_channel() -> (SessionHandle, inbox::InboxReceiver) {
        let (tx, rx) = inbox::inbox();
        let handle = SessionHandle {
            tx,
            flow: Arc::default(),
        };
        (handle, rx)
    }
}
