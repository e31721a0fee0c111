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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use engineio_proto::{Frame, ServerConfig, Sid, SidGenerator};

pub use http::Cors;
pub(crate) use session::{Connection, Input, SessionCtl, now};
pub use socket::{EngineServer, EngineSocket, RemoteAddr};
pub(crate) use socket::{not_found, serve};

/// Decides whether a handshake request may open a session (the reference's
/// `allowRequest`): `Err(message)` refuses it with 403 `{"code":4,"message":…}` (message
/// `"Forbidden"` when `None`).
pub type AllowRequest =
    Arc<dyn Fn(&::http::request::Parts) -> Result<(), Option<String>> + Send + Sync>;

/// Engine.IO options: the protocol options of [`ServerConfig`] plus those of the HTTP
/// integration (`path`, `cors`, `allowRequest`, `cookie`).
#[derive(Clone)]
pub struct EngineConfig {
    pub(crate) protocol: ServerConfig,
    pub(crate) path: String,
    pub(crate) cors: Option<Cors>,
    pub(crate) allow_request: Option<AllowRequest>,
    pub(crate) cookie: Option<String>,
    /// The most bytes a session may hold for a client that does not read (default 16 MiB).
    pub(crate) max_buffered: usize,
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
            .field("cookie", &self.cookie)
            .finish()
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            protocol: ServerConfig::default(),
            path: "/engine.io/".to_owned(),
            cors: None,
            allow_request: None,
            cookie: None,
            max_buffered: 16 << 20,
            client_bundle: None,
        }
    }
}

impl EngineConfig {
    /// The protocol options (`pingInterval`, `pingTimeout`, `maxHttpBufferSize`, …).
    pub fn protocol(&mut self) -> &mut ServerConfig {
        &mut self.protocol
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
        self.allow_request = Some(Arc::new(check));
        self
    }

    /// Sends a cookie named `name` holding the session id with the handshake response
    /// (`cookie` option: `Path=/; HttpOnly; SameSite=Lax`).
    pub fn cookie(&mut self, name: &str) -> &mut Self {
        self.cookie = Some(name.to_owned());
        self
    }

    /// The most bytes a session may hold for a client that does not read fast enough
    /// (default 16 MiB): past it, volatile messages are dropped and the client is
    /// disconnected ("forced close") rather than let memory grow.
    pub fn max_buffered(&mut self, bytes: usize) -> &mut Self {
        self.max_buffered = bytes;
        self.protocol.max_buffered(bytes);
        self
    }

    /// Enables CORS (the reference's `cors` option): preflight requests are answered and
    /// every response carries the CORS headers.
    pub fn cors(&mut self, cors: Cors) -> &mut Self {
        self.cors = Some(cors);
        self
    }
}

/// Builds the layer above Engine.IO for a new session.
pub(crate) type ConnectionFactory =
    dyn Fn(NewSession<'_>) -> Box<dyn Connection> + Send + Sync + 'static;

/// What the layer above learns when a session opens.
pub(crate) struct NewSession<'a> {
    pub(crate) sid: Sid,
    pub(crate) remote: Option<std::net::SocketAddr>,
    pub(crate) handle: SessionHandle,
    pub(crate) request: &'a ::http::request::Parts,
}

impl Connection for Box<dyn Connection> {
    fn on_message(&mut self, ctl: &mut SessionCtl<'_>, data: engineio_proto::Data) {
        (**self).on_message(ctl, data);
    }
    fn on_close(&mut self, reason: engineio_proto::CloseReason) {
        (**self).on_close(reason);
    }
    fn poll_timeout(&self) -> Option<std::time::Instant> {
        (**self).poll_timeout()
    }
    fn handle_timeout(&mut self, ctl: &mut SessionCtl<'_>) {
        (**self).handle_timeout(ctl);
    }
    fn on_custom(&mut self, ctl: &mut SessionCtl<'_>, command: Box<dyn std::any::Any + Send>) {
        (**self).on_custom(ctl, command);
    }
    fn shrink_buffers(&mut self) {
        (**self).shrink_buffers();
    }
    fn poll_work(
        &mut self,
        ctl: &mut SessionCtl<'_>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        (**self).poll_work(ctl, cx)
    }
}

/// A handle to a session task, to send it packets or close it from any task.
#[derive(Clone, Debug)]
pub(crate) struct SessionHandle {
    tx: inbox::InboxSender,
    /// Bytes of frames sent to the task and not yet taken by it: with the session's own
    /// buffer, what a slow client makes the server hold.
    queued: Arc<AtomicUsize>,
}

/// What [`SessionHandle::send_frames`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Queued for the session.
    Queued,
    /// A volatile message dropped: the session is behind.
    Dropped,
    /// The session is gone, or was closed for not keeping up.
    Closed,
}

impl SessionHandle {
    pub(crate) fn send(&self, input: Input) -> bool {
        self.tx.send(input)
    }

    /// Queues frames encoded once and shared (a clone of `frames` is a reference count).
    /// A volatile message is dropped when the session is behind; a message that would put
    /// more than `limit` bytes in flight closes the session (a client that cannot keep up
    /// is disconnected rather than letting memory grow or dropping messages silently).
    pub(crate) fn send_frames(&self, frames: &Arc<[Frame]>, volatile: bool, limit: usize) -> Sent {
        let bytes: usize = frames.iter().map(Frame::len).sum();
        let queued = self.queued.load(Ordering::Relaxed);
        if volatile && queued > 0 {
            return Sent::Dropped;
        }
        if queued.saturating_add(bytes) > limit {
            self.send(Input::SlowClient);
            return Sent::Closed;
        }
        self.queued.fetch_add(bytes, Ordering::Relaxed);
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
        self.queued.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// State shared by the HTTP side and the session tasks.
pub(crate) struct EngineShared {
    pub(crate) config: EngineConfig,
    sessions: Mutex<HashMap<Sid, SessionHandle>>,
    ids: Mutex<SidGenerator>,
    next_request: AtomicU64,
    pub(crate) factory: Box<ConnectionFactory>,
}

impl EngineShared {
    pub(crate) fn new(config: EngineConfig, factory: Box<ConnectionFactory>) -> Self {
        let mut seed = [0u8; 32];
        // A server without OS randomness cannot issue unguessable session ids.
        getrandom::fill(&mut seed).expect("the operating system provides randomness");
        Self {
            config,
            sessions: Mutex::new(HashMap::new()),
            ids: Mutex::new(SidGenerator::from_seed(seed)),
            next_request: AtomicU64::new(1),
            factory,
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
            queued: Arc::new(AtomicUsize::new(0)),
        };
        (handle, rx)
    }
}
