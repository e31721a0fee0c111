//! The Manager: one Engine.IO connection, its driver task, and the namespaces on it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use engineio_proto::{
    ClientCloseReason, ClientConfig as EngineConfig, ClientEvent, ClientSession, ClientTransmit,
    Data, Transports, WsMessage,
};
use futures_util::StreamExt;
use socketio_proto::client::{ClientConfig, ClientConnection, Event};
use socketio_proto::{AckId, EngineMessage, InvalidNamespace, Namespace, ParserKind, Payload};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsFrame;

use crate::backoff::{Backoff, ReconnectSchedule};
use crate::config::{Options, TransportMode};
use crate::error::{AckError, ConnectError, DisconnectReason, EmitError};
use crate::socket::{Auth, Socket, SocketEvent, SocketShared, lock};
use crate::transport::{
    BoxFuture, Endpoint, Http, InvalidUrl, Tls, WsReader, WsStream, open_ws, parse_url, split_ws,
};
use socketio_proto::args::AckData;

/// Commands from the handles to the driver (a bounded channel).
pub(crate) enum Command {
    Connect {
        nsp: Namespace,
    },
    Disconnect {
        nsp: Namespace,
    },
    Emit {
        nsp: Namespace,
        payload: Payload,
        volatile: bool,
        ack: Option<AckRequest>,
    },
    Ack {
        nsp: Namespace,
        id: AckId,
        payload: Payload,
    },
    AuthReady {
        nsp: Namespace,
        generation: (u64, u64),
        auth: serde_json::Value,
    },
    Close,
}

pub(crate) type AckSender = oneshot::Sender<Result<Payload, AckError>>;

pub(crate) struct AckRequest {
    pub(crate) tx: AckSender,
    pub(crate) deadline: Option<std::time::Instant>,
}

/// What happens to the Manager's connection (socket.io-client's Manager events).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManagerEvent {
    /// The Engine.IO connection opened (`open`).
    Open,
    /// The Engine.IO connection failed to open (`error`), with the message.
    Error(String),
    /// The Engine.IO connection closed (`close`), with the engine reason.
    Close(String),
    /// The connection moved from polling to WebSocket.
    Upgrade,
    /// Attempt `n` begins (`reconnect_attempt`).
    ReconnectAttempt(u32),
    /// Attempt `n` succeeded (`reconnect`).
    Reconnect(u32),
    /// An attempt failed (`reconnect_error`).
    ReconnectError(String),
    /// `reconnectionAttempts` are used up (`reconnect_failed`).
    ReconnectFailed,
}

pub(crate) struct ManagerInner {
    options: Options,
    namespace: String,
    sockets: Mutex<HashMap<Namespace, Arc<SocketShared>>>,
    events: broadcast::Sender<ManagerEvent>,
}

/// One Engine.IO connection to a server, shared by several namespaces (the `Manager` of
/// socket.io-client): reconnection with backoff, the upgrade to WebSocket, and the
/// namespaces multiplexed on it.
///
/// Cheap to clone. The connection is driven by one task; when every `Manager` and
/// [`Socket`] handle is dropped, it closes the connection and ends.
///
/// ```no_run
/// use socketio_client::{Manager, ManagerEvent, Options};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::new("http://127.0.0.1:3000", Options::default())?;
/// let mut events = manager.subscribe();
/// let main = manager.socket("/")?;
/// let admin = manager.socket("/admin")?; // same Engine.IO connection
/// main.connect().await?;
/// admin.connect().await?;
/// while let Ok(event) = events.recv().await {
///     if let ManagerEvent::ReconnectAttempt(n) = event {
///         println!("reconnecting, attempt {n}");
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Manager {
    inner: Arc<ManagerInner>,
    tx: mpsc::Sender<Command>,
}

pub(crate) struct WeakManager {
    inner: Weak<ManagerInner>,
    tx: mpsc::WeakSender<Command>,
}

impl WeakManager {
    pub(crate) fn upgrade(&self) -> Option<Manager> {
        Some(Manager {
            inner: self.inner.upgrade()?,
            tx: self.tx.upgrade()?,
        })
    }
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Manager {
    /// A Manager for the server at `url` (`http`, `https`, `ws` or `wss`; the URL's path is
    /// the default namespace of [`Manager::default_socket`], its query is added to the
    /// options' query). Nothing is sent until a socket connects. Must be called within a
    /// tokio runtime.
    pub fn new(url: &str, mut options: Options) -> Result<Self, InvalidUrl> {
        let parsed = parse_url(url)?;
        if options.query.is_empty() {
            options.query = parsed.query;
        }
        let tls = Tls {
            #[cfg(feature = "rustls")]
            config: parsed.secure.then(|| {
                crate::tls::client_config(options.tls_config.as_ref(), &options.extra_roots)
            }),
        };
        let http = Http::new(options.max_response_bytes, &tls);
        let endpoint = Endpoint::new(
            parsed.secure,
            parsed.authority,
            options.path.clone(),
            options.query.clone(),
            options.headers.clone(),
            tls,
        );
        let (tx, rx) = mpsc::channel(1024);
        let (events, _) = broadcast::channel(256);
        let inner = Arc::new(ManagerInner {
            options: options.clone(),
            namespace: parsed.namespace,
            sockets: Mutex::default(),
            events,
        });
        let schedule = ReconnectSchedule::new(
            Backoff::new(
                options.reconnection_delay,
                options.reconnection_delay_max,
                options.randomization_factor,
            ),
            options.reconnection_attempts,
        );
        let driver = Driver {
            inner: inner.clone(),
            http,
            opts: options,
            endpoint,
            rx,
            self_tx: tx.downgrade(),
            engine: None,
            engine_gen: 0,
            sockets: BTreeMap::new(),
            schedule,
            reconnecting: false,
            reconnect_at: None,
            skip_reconnect: false,
            ws_ok: false,
            pending_connects: Vec::new(),
        };
        tokio::spawn(driver.run());
        Ok(Self { inner, tx })
    }

    /// The socket of namespace `nsp` (the same socket for the same name), not connected yet:
    /// register its handlers, then call [`Socket::connect`].
    pub fn socket(&self, nsp: &str) -> Result<Socket, InvalidNamespace> {
        let nsp = Namespace::new(ByteString::from(nsp.to_owned()))?;
        let shared = lock(&self.inner.sockets)
            .entry(nsp.clone())
            .or_insert_with(|| SocketShared::spawn(nsp, self))
            .clone();
        Ok(Socket {
            shared,
            manager: self.clone(),
        })
    }

    /// The socket of the namespace in the Manager's URL (`/` when the URL has no path).
    pub fn default_socket(&self) -> Result<Socket, InvalidNamespace> {
        let nsp = self.inner.namespace.clone();
        self.socket(&nsp)
    }

    /// The Manager's events (open, close, reconnection attempts, …). Events are dropped for a
    /// receiver that lags more than 256 behind.
    pub fn subscribe(&self) -> broadcast::Receiver<ManagerEvent> {
        self.inner.events.subscribe()
    }

    /// Disconnects every socket ("io client disconnect") and closes the connection.
    pub async fn close(&self) -> Result<(), EmitError> {
        for s in lock(&self.inner.sockets).values() {
            s.active.store(false, Ordering::SeqCst);
        }
        self.send(Command::Close).await
    }

    pub(crate) async fn send(&self, cmd: Command) -> Result<(), EmitError> {
        self.tx.send(cmd).await.map_err(|_| EmitError::Closed)
    }

    pub(crate) fn downgrade(&self) -> WeakManager {
        WeakManager {
            inner: Arc::downgrade(&self.inner),
            tx: self.tx.downgrade(),
        }
    }

    pub(crate) fn parser(&self) -> ParserKind {
        self.inner.options.parser
    }

    pub(crate) fn max_buffered(&self) -> usize {
        self.inner.options.max_buffered
    }

    /// The deadline the handle applies itself; with retries the driver owns the deadline.
    pub(crate) fn ack_timeout(&self) -> Option<Duration> {
        if self.inner.options.retries > 0 {
            None
        } else {
            self.inner.options.ack_timeout
        }
    }
}

// ---- the driver -------------------------------------------------------------------------

struct Engine {
    session: ClientSession,
    conn: Option<ClientConnection>,
    opened: bool,
    open_deadline: Option<Instant>,
    get: Option<BoxFuture<Result<Bytes, ()>>>,
    post: Option<BoxFuture<bool>>,
    ws_opening: Option<BoxFuture<Result<WsStream, ()>>>,
    ws_tx: Option<mpsc::UnboundedSender<WsFrame>>,
    ws_rx: Option<WsReader>,
}

enum PendingAck {
    User(AckSender),
    Queue,
}

struct Queued {
    payload: Payload,
    tries: u32,
    pending: bool,
    ack: Option<AckSender>,
}

#[derive(Default)]
struct Sock {
    connect_sent: bool,
    connected: bool,
    buffer: VecDeque<(Payload, Option<AckRequest>)>,
    pending: HashMap<AckId, PendingAck>,
    queue: VecDeque<Queued>,
    pid: Option<String>,
    offset: Option<String>,
    auth_gen: u64,
}

enum Wake {
    Command(Option<Command>),
    Get(Result<Bytes, ()>),
    Post(bool),
    WsOpen(Result<Box<WsStream>, ()>),
    Ws(Option<Result<WsFrame, tokio_tungstenite::tungstenite::Error>>),
    Timer,
}

struct Driver {
    inner: Arc<ManagerInner>,
    opts: Options,
    endpoint: Endpoint,
    http: Http,
    rx: mpsc::Receiver<Command>,
    self_tx: mpsc::WeakSender<Command>,
    engine: Option<Engine>,
    engine_gen: u64,
    sockets: BTreeMap<Namespace, Sock>,
    schedule: ReconnectSchedule,
    reconnecting: bool,
    reconnect_at: Option<Instant>,
    skip_reconnect: bool,
    ws_ok: bool,
    /// Namespaces connected whose `connect` waits for the events replayed with the CONNECT
    /// reply: socket.io-client emits its receive buffer before `connect`.
    pending_connects: Vec<Namespace>,
}

fn now_std() -> std::time::Instant {
    Instant::now().into_std()
}

async fn opt<F: Future + Unpin>(f: Option<&mut F>) -> F::Output {
    match f {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

fn to_engine_message(data: Data) -> EngineMessage {
    match data {
        Data::Text(t) => EngineMessage::Text(t),
        Data::Binary(b) => EngineMessage::Binary(b),
    }
}

fn to_data(msg: EngineMessage) -> Data {
    match msg {
        EngineMessage::Text(t) => Data::Text(t),
        EngineMessage::Binary(b) => Data::Binary(b),
    }
}

fn engine_reason(reason: &ClientCloseReason) -> DisconnectReason {
    match reason {
        ClientCloseReason::PingTimeout => DisconnectReason::PingTimeout,
        ClientCloseReason::TransportError(_) => DisconnectReason::TransportError,
        _ => DisconnectReason::TransportClose,
    }
}

impl Driver {
    async fn run(mut self) {
        loop {
            self.drive();
            match self.wait().await {
                Wake::Command(Some(cmd)) => self.on_command(cmd),
                Wake::Command(None) => return self.shutdown().await,
                Wake::Get(r) => self.with_engine(|e, now| {
                    e.get = None;
                    match r {
                        Ok(body) => e.session.handle_poll_response(body, now),
                        Err(()) => e.session.handle_poll_error(now),
                    }
                }),
                Wake::Post(ok) => self.with_engine(|e, now| {
                    e.post = None;
                    e.session.handle_post_response(ok, now);
                }),
                Wake::WsOpen(r) => self.with_engine(|e, now| {
                    e.ws_opening = None;
                    match r {
                        Ok(ws) => {
                            let (tx, rx) = split_ws(*ws);
                            e.ws_tx = Some(tx);
                            e.ws_rx = Some(rx);
                            e.session.handle_ws_open(now);
                        }
                        Err(()) => e.session.handle_ws_error(now),
                    }
                }),
                Wake::Ws(frame) => self.with_engine(|e, now| match frame {
                    Some(Ok(WsFrame::Text(t))) => {
                        // tungstenite validated the UTF-8.
                        if let Ok(t) = ByteString::try_from(Bytes::from(t)) {
                            e.session.handle_ws_message(WsMessage::Text(t), now);
                        }
                    }
                    Some(Ok(WsFrame::Binary(b))) => {
                        e.session.handle_ws_message(WsMessage::Binary(b), now);
                    }
                    Some(Ok(WsFrame::Ping(_) | WsFrame::Pong(_) | WsFrame::Frame(_))) => {}
                    Some(Ok(WsFrame::Close(_))) | None => {
                        e.ws_rx = None;
                        e.ws_tx = None;
                        e.session.handle_ws_closed(now);
                    }
                    Some(Err(_)) => {
                        e.ws_rx = None;
                        e.ws_tx = None;
                        e.session.handle_ws_error(now);
                    }
                }),
                Wake::Timer => self.on_timer(),
            }
        }
    }

    fn with_engine(&mut self, f: impl FnOnce(&mut Engine, std::time::Instant)) {
        if let Some(e) = &mut self.engine {
            f(e, now_std());
        }
    }

    async fn wait(&mut self) -> Wake {
        let mut deadline = self.reconnect_at;
        if let Some(e) = &self.engine {
            deadline = min_opt(deadline, e.open_deadline);
            deadline = min_opt(deadline, e.session.poll_timeout().map(Instant::from_std));
            if let Some(c) = &e.conn {
                deadline = min_opt(deadline, c.poll_timeout().map(Instant::from_std));
            }
        }
        let sleep = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let (get, post, ws_opening, ws_rx) = match self.engine.as_mut() {
            Some(e) => (
                e.get.as_mut(),
                e.post.as_mut(),
                e.ws_opening.as_mut(),
                e.ws_rx.as_mut(),
            ),
            None => (None, None, None, None),
        };
        let ws_next = async move {
            match ws_rx {
                Some(rx) => rx.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = opt(get) => Wake::Get(r),
            r = opt(post) => Wake::Post(r),
            r = opt(ws_opening) => Wake::WsOpen(r.map(Box::new)),
            m = ws_next => Wake::Ws(m),
            c = self.rx.recv() => Wake::Command(c),
            () = sleep => Wake::Timer,
        }
    }

    /// Drains both machines: transmits to the wire, events to the sockets, until quiet.
    fn drive(&mut self) {
        loop {
            let Some(engine) = self.engine.as_mut() else {
                self.flush_connects();
                return;
            };
            pump(engine, &self.http, &self.endpoint);
            if let Some(ev) = engine.conn.as_mut().and_then(ClientConnection::poll_event) {
                self.on_socketio_event(ev);
                continue;
            }
            if !self.pending_connects.is_empty() {
                // The events that came with a CONNECT reply are delivered: now `connect`.
                self.flush_connects();
                continue;
            }
            if let Some(ev) = engine.session.poll_event() {
                self.on_engine_event(ev);
                continue;
            }
            return;
        }
    }

    /// Fires the `connect` events held back by [`Event::Connected`].
    fn flush_connects(&mut self) {
        for nsp in std::mem::take(&mut self.pending_connects) {
            self.notify(&nsp, SocketEvent::Connect);
        }
    }

    fn emit_manager(&self, event: ManagerEvent) {
        let _ = self.inner.events.send(event);
    }

    fn shared(&self, nsp: &Namespace) -> Option<Arc<SocketShared>> {
        lock(&self.inner.sockets).get(nsp).cloned()
    }

    fn notify(&self, nsp: &Namespace, event: SocketEvent) {
        if let Some(s) = self.shared(nsp) {
            if let SocketEvent::ConnectError(e) = &event {
                s.outcome.send_replace(Some(Err(e.clone())));
            }
            if let SocketEvent::Connect = &event {
                s.outcome.send_replace(Some(Ok(())));
            }
            let _ = s.events.send(event);
        }
    }

    fn active_namespaces(&self) -> Vec<Namespace> {
        lock(&self.inner.sockets)
            .values()
            .filter(|s| s.active.load(Ordering::SeqCst))
            .map(|s| s.nsp.clone())
            .collect()
    }

    // ---- commands ---------------------------------------------------------------------

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Connect { nsp } => {
                // In command order: a `disconnect` just before may have cleared it.
                if let Some(s) = self.shared(&nsp) {
                    s.active.store(true, Ordering::SeqCst);
                }
                let sock = self.sockets.entry(nsp.clone()).or_default();
                if sock.connected || sock.connect_sent {
                    return;
                }
                match &self.engine {
                    Some(e) if e.conn.is_some() => self.connect_socket(&nsp),
                    Some(_) => {}
                    None if self.reconnecting => {}
                    None => self.open_engine(),
                }
            }
            Command::Disconnect { nsp } => {
                self.leave(&nsp, true);
                self.maybe_close_engine();
            }
            Command::Close => {
                let all: Vec<Namespace> = self.sockets.keys().cloned().collect();
                for nsp in all {
                    self.leave(&nsp, true);
                }
                self.maybe_close_engine();
            }
            Command::Emit {
                nsp,
                payload,
                volatile,
                ack,
            } => self.on_emit(nsp, payload, volatile, ack),
            Command::Ack { nsp, id, payload } => {
                if let Some(conn) = self.engine.as_mut().and_then(|e| e.conn.as_mut()) {
                    let _ = conn.ack_payload(&nsp, id, payload);
                }
            }
            Command::AuthReady {
                nsp,
                generation,
                auth,
            } => {
                let Some(sock) = self.sockets.get(&nsp) else {
                    return;
                };
                if generation == (self.engine_gen, sock.auth_gen)
                    && sock.connect_sent
                    && !sock.connected
                {
                    self.send_connect(&nsp, Some(auth));
                }
            }
        }
    }

    fn on_emit(
        &mut self,
        nsp: Namespace,
        payload: Payload,
        volatile: bool,
        ack: Option<AckRequest>,
    ) {
        let sock = self.sockets.entry(nsp.clone()).or_default();
        if self.opts.retries > 0 && !volatile {
            sock.queue.push_back(Queued {
                payload,
                tries: 0,
                pending: false,
                ack: ack.map(|a| a.tx),
            });
            self.drain_queue(&nsp, false);
            return;
        }
        let writable = self
            .engine
            .as_ref()
            .is_some_and(|e| e.session.is_writable());
        if volatile && !(sock.connected && writable) {
            // Dropped, as socket.io-client drops a volatile packet while disconnected or while
            // the transport is not writable (a polling POST in flight).
        } else if sock.connected {
            self.send_event(&nsp, payload, ack);
        } else if sock.buffer.len() < self.opts.max_buffered {
            sock.buffer.push_back((payload, ack));
            let n = sock.buffer.len();
            if let Some(s) = self.shared(&nsp) {
                s.buffered.store(n, Ordering::SeqCst);
            }
        } else if let Some(a) = ack {
            let _ = a.tx.send(Err(AckError::Emit(EmitError::BufferFull)));
        }
    }

    fn send_event(&mut self, nsp: &Namespace, payload: Payload, ack: Option<AckRequest>) {
        let (Some(conn), Some(sock)) = (
            self.engine.as_mut().and_then(|e| e.conn.as_mut()),
            self.sockets.get_mut(nsp),
        ) else {
            return;
        };
        match ack {
            None => {
                let _ = conn.emit_payload(nsp, payload, None);
            }
            Some(a) => {
                if a.tx.is_closed() {
                    // The emitter gave up (timeout): the reference drops the packet too.
                    return;
                }
                match conn.emit_payload(nsp, payload, Some(a.deadline)) {
                    Ok(Some(id)) => {
                        sock.pending.insert(id, PendingAck::User(a.tx));
                    }
                    Ok(None) | Err(_) => {
                        let _ = a.tx.send(Err(AckError::Disconnected));
                    }
                }
            }
        }
    }

    /// `_drainQueue`: sends the head of the retry queue when nothing is in flight.
    fn drain_queue(&mut self, nsp: &Namespace, force: bool) {
        let deadline = self.opts.ack_timeout.map(|t| now_std() + t);
        let (Some(conn), Some(sock)) = (
            self.engine.as_mut().and_then(|e| e.conn.as_mut()),
            self.sockets.get_mut(nsp),
        ) else {
            return;
        };
        if !sock.connected {
            return;
        }
        let Some(head) = sock.queue.front_mut() else {
            return;
        };
        if head.pending && !force {
            return;
        }
        head.pending = true;
        head.tries += 1;
        if let Ok(Some(id)) = conn.emit_payload(nsp, head.payload.clone(), Some(deadline)) {
            sock.pending.retain(|_, p| !matches!(p, PendingAck::Queue));
            sock.pending.insert(id, PendingAck::Queue);
        }
    }

    fn on_queue_answer(&mut self, nsp: &Namespace, answer: Result<Payload, AckError>) {
        let retries = self.opts.retries;
        let Some(sock) = self.sockets.get_mut(nsp) else {
            return;
        };
        let Some(head) = sock.queue.front_mut() else {
            return;
        };
        match answer {
            Ok(data) => {
                if let Some(tx) = sock.queue.pop_front().and_then(|q| q.ack) {
                    let _ = tx.send(Ok(data));
                }
            }
            Err(e) => {
                if head.tries > retries {
                    if let Some(tx) = sock.queue.pop_front().and_then(|q| q.ack) {
                        let _ = tx.send(Err(e));
                    }
                } else {
                    head.pending = false;
                }
            }
        }
        self.drain_queue(nsp, false);
    }

    /// The socket leaves its namespace (client side): DISCONNECT if connected.
    fn leave(&mut self, nsp: &Namespace, client: bool) {
        let Some(sock) = self.sockets.get_mut(nsp) else {
            return;
        };
        if client && (sock.connected || sock.connect_sent) {
            if let Some(conn) = self.engine.as_mut().and_then(|e| e.conn.as_mut()) {
                let _ = conn.disconnect(nsp);
            }
        }
        let was_connected = sock.connected;
        self.socket_down(nsp);
        if let Some(s) = self.shared(nsp) {
            s.active.store(false, Ordering::SeqCst);
        }
        if was_connected && client {
            self.notify(
                nsp,
                SocketEvent::Disconnect(DisconnectReason::IoClientDisconnect),
            );
        }
    }

    /// The namespace is no longer connected: acks fail, the retry head is sent again later.
    fn socket_down(&mut self, nsp: &Namespace) {
        let Some(sock) = self.sockets.get_mut(nsp) else {
            return;
        };
        sock.connected = false;
        sock.connect_sent = false;
        for (_, p) in sock.pending.drain() {
            if let PendingAck::User(tx) = p {
                let _ = tx.send(Err(AckError::Disconnected));
            }
        }
        if let Some(head) = sock.queue.front_mut() {
            head.pending = false;
        }
        if let Some(s) = self.shared(nsp) {
            s.connected.store(false, Ordering::SeqCst);
            lock(&s.info).id = None;
        }
    }

    /// `Manager._destroy`: closes the connection when no socket is active any more.
    fn maybe_close_engine(&mut self) {
        if !self.active_namespaces().is_empty() {
            return;
        }
        self.skip_reconnect = true;
        self.reconnecting = false;
        self.reconnect_at = None;
        self.schedule.reset();
        let Some(mut engine) = self.engine.take() else {
            return;
        };
        // The Manager is closed at once, as socket.io-client's `_close`: a `connect` right
        // after opens a new connection. The old one finishes its close (the close packet,
        // after a POST in flight) in a task of its own.
        engine.session.close(now_std());
        let opened = engine.opened;
        let (http, endpoint) = (self.http.clone(), self.endpoint.clone());
        tokio::spawn(tokio::time::timeout(Duration::from_secs(5), async move {
            loop {
                pump(&mut engine, &http, &endpoint);
                let Some(post) = engine.post.take() else {
                    return;
                };
                let ok = post.await;
                engine.session.handle_post_response(ok, now_std());
            }
        }));
        if opened {
            self.on_connection_lost(DisconnectReason::IoClientDisconnect, "forced close");
        }
    }

    // ---- connection -------------------------------------------------------------------

    fn open_engine(&mut self) {
        if self.engine.is_some() {
            return;
        }
        self.skip_reconnect = false;
        let transports = match self.opts.transports {
            TransportMode::Both if self.opts.remember_upgrade && self.ws_ok => {
                Transports::WEBSOCKET
            }
            TransportMode::Both => Transports::BOTH,
            TransportMode::Polling => Transports::POLLING,
            TransportMode::WebSocket => Transports::WEBSOCKET,
        };
        let config = EngineConfig::default()
            .transports(transports)
            .upgrade(self.opts.upgrade);
        self.engine_gen += 1;
        self.engine = Some(Engine {
            session: ClientSession::new(config, now_std()),
            conn: None,
            opened: false,
            open_deadline: self.opts.timeout.map(|t| Instant::now() + t),
            get: None,
            post: None,
            ws_opening: None,
            ws_tx: None,
            ws_rx: None,
        });
    }

    fn connect_socket(&mut self, nsp: &Namespace) {
        let Some(shared) = self.shared(nsp) else {
            return;
        };
        let auth = lock(&shared.auth).clone();
        let sock = self.sockets.entry(nsp.clone()).or_default();
        sock.connect_sent = true;
        match auth {
            Auth::None => self.send_connect(nsp, None),
            Auth::Value(v) => self.send_connect(nsp, Some(v)),
            Auth::Fn(f) => {
                // Evaluated in a task of its own: the function may use the client.
                sock.auth_gen += 1;
                let generation = (self.engine_gen, sock.auth_gen);
                let tx = self.self_tx.clone();
                let nsp = nsp.clone();
                tokio::spawn(async move {
                    let auth = f().await;
                    if let Some(tx) = tx.upgrade() {
                        let _ = tx
                            .send(Command::AuthReady {
                                nsp,
                                generation,
                                auth,
                            })
                            .await;
                    }
                });
            }
        }
    }

    /// CONNECT with `{pid, offset, ...auth}` when recovering a session, else the auth.
    fn send_connect(&mut self, nsp: &Namespace, auth: Option<serde_json::Value>) {
        let Some(sock) = self.sockets.get(nsp) else {
            return;
        };
        let auth = match &sock.pid {
            Some(pid) => {
                let mut map = serde_json::Map::new();
                map.insert("pid".into(), pid.clone().into());
                if let Some(offset) = &sock.offset {
                    map.insert("offset".into(), offset.clone().into());
                }
                if let Some(serde_json::Value::Object(extra)) = auth {
                    map.extend(extra);
                }
                Some(serde_json::Value::Object(map))
            }
            None => auth,
        };
        if let Some(conn) = self.engine.as_mut().and_then(|e| e.conn.as_mut()) {
            let _ = conn.connect(nsp, auth.as_ref());
        }
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        if let Some(e) = &mut self.engine {
            if !e.opened && e.open_deadline.is_some_and(|d| d <= now) {
                self.drop_engine();
                self.on_open_error("timeout".into());
            } else {
                e.session.handle_timeout(now.into_std());
                if let Some(c) = &mut e.conn {
                    c.handle_timeout(now.into_std());
                }
            }
        }
        if self.reconnect_at.is_some_and(|d| d <= now) {
            self.reconnect_at = None;
            if !self.skip_reconnect {
                self.emit_manager(ManagerEvent::ReconnectAttempt(self.schedule.attempts()));
                self.open_engine();
            }
        }
    }

    /// `Manager.reconnect`: schedules the next attempt, or gives up.
    fn reconnect(&mut self) {
        if self.reconnecting || self.skip_reconnect {
            return;
        }
        let delay = {
            let mut random = lock(&self.opts.random);
            self.schedule.next_delay(&mut *random)
        };
        match delay {
            None => {
                self.reconnecting = false;
                self.emit_manager(ManagerEvent::ReconnectFailed);
            }
            Some(d) => {
                self.reconnecting = true;
                self.reconnect_at = Some(Instant::now() + d);
            }
        }
    }

    /// Drops the engine; an in-flight POST (which may carry the close packet) finishes on
    /// its own, the WebSocket writer closes the socket.
    fn drop_engine(&mut self) -> Option<Engine> {
        let mut engine = self.engine.take()?;
        if let Some(post) = engine.post.take() {
            tokio::spawn(tokio::time::timeout(Duration::from_secs(5), post));
        }
        Some(engine)
    }

    fn on_open_error(&mut self, message: String) {
        // engine.io-client forgets a prior WebSocket success on any transport error.
        self.ws_ok = false;
        self.emit_manager(ManagerEvent::Error(message.clone()));
        for nsp in self.active_namespaces() {
            self.notify(
                &nsp,
                SocketEvent::ConnectError(ConnectError {
                    message: message.clone(),
                    data: None,
                    from_server: false,
                }),
            );
        }
        if self.reconnecting {
            self.reconnecting = false;
            self.reconnect();
            self.emit_manager(ManagerEvent::ReconnectError(message));
        } else if self.opts.reconnection && self.schedule.attempts() == 0 {
            self.reconnect();
        }
    }

    /// The open connection is gone: sockets disconnect with `reason`, then reconnect.
    /// Like socket.io-client, every socket subscribed to the Manager (active) gets
    /// `disconnect`, connected or still connecting.
    fn on_connection_lost(&mut self, reason: DisconnectReason, engine_reason: &str) {
        self.flush_connects();
        let all: Vec<Namespace> = self.sockets.keys().cloned().collect();
        for nsp in all {
            self.socket_down(&nsp);
        }
        for nsp in self.active_namespaces() {
            self.notify(&nsp, SocketEvent::Disconnect(reason));
        }
        self.emit_manager(ManagerEvent::Close(engine_reason.to_owned()));
        self.schedule.reset();
        if self.opts.reconnection && !self.skip_reconnect && !self.active_namespaces().is_empty() {
            self.reconnect();
        }
    }

    fn on_engine_event(&mut self, ev: ClientEvent) {
        match ev {
            ClientEvent::Open(_) => {
                let parser = self.opts.parser;
                if let Some(e) = &mut self.engine {
                    e.opened = true;
                    e.open_deadline = None;
                    e.conn = Some(ClientConnection::new(
                        ClientConfig::default().parser(parser),
                    ));
                    if e.session.transport() == engineio_proto::TransportKind::WebSocket {
                        self.ws_ok = true;
                    }
                }
                self.emit_manager(ManagerEvent::Open);
                if self.reconnecting {
                    let attempt = self.schedule.attempts();
                    self.reconnecting = false;
                    self.schedule.reset();
                    self.emit_manager(ManagerEvent::Reconnect(attempt));
                }
                for nsp in self.active_namespaces() {
                    let sock = self.sockets.entry(nsp.clone()).or_default();
                    if !sock.connect_sent {
                        self.connect_socket(&nsp);
                    }
                }
            }
            ClientEvent::Message(data) => {
                if let Some(e) = &mut self.engine {
                    if let Some(c) = &mut e.conn {
                        c.handle_message(to_engine_message(data), now_std());
                    }
                }
            }
            ClientEvent::Upgraded => {
                self.ws_ok = true;
                self.emit_manager(ManagerEvent::Upgrade);
            }
            ClientEvent::Closed(reason) => {
                let Some(engine) = self.drop_engine() else {
                    return;
                };
                if !engine.opened {
                    let message = match &reason {
                        ClientCloseReason::TransportError(e) => e.to_string(),
                        r => r.as_str().to_owned(),
                    };
                    self.on_open_error(message);
                } else {
                    if matches!(reason, ClientCloseReason::TransportError(_)) {
                        self.ws_ok = false;
                    }
                    self.on_connection_lost(engine_reason(&reason), reason.as_str());
                }
            }
            _ => {}
        }
    }

    fn on_socketio_event(&mut self, ev: Event) {
        if !matches!(ev, Event::Event { .. } | Event::Ack { .. }) {
            self.flush_connects();
        }
        match ev {
            Event::Connected { nsp, sid, pid } => {
                let sock = self.sockets.entry(nsp.clone()).or_default();
                let recovered = pid.is_some() && sock.pid == pid;
                sock.pid = pid;
                sock.connected = true;
                sock.connect_sent = false;
                let buffered: Vec<_> = sock.buffer.drain(..).collect();
                if let Some(s) = self.shared(&nsp) {
                    s.connected.store(true, Ordering::SeqCst);
                    s.buffered.store(0, Ordering::SeqCst);
                    let mut info = lock(&s.info);
                    info.id = Some(sid);
                    info.recovered = recovered;
                }
                for (payload, ack) in buffered {
                    self.send_event(&nsp, payload, ack);
                }
                self.drain_queue(&nsp, true);
                // `connect` follows the events replayed with the reply (see `drive`).
                self.pending_connects.push(nsp);
            }
            Event::ConnectError { nsp, message, data } => {
                self.socket_down(&nsp);
                if let Some(s) = self.shared(&nsp) {
                    s.active.store(false, Ordering::SeqCst);
                }
                self.notify(
                    &nsp,
                    SocketEvent::ConnectError(ConnectError {
                        message,
                        data,
                        from_server: true,
                    }),
                );
                self.maybe_close_engine();
            }
            Event::Event { nsp, data, ack } => {
                if let Some(sock) = self.sockets.get_mut(&nsp) {
                    if sock.pid.is_some() {
                        if let Ok(args) = data.deserialize::<Vec<serde_json::Value>>() {
                            if let Some(serde_json::Value::String(s)) = args.last() {
                                sock.offset = Some(s.clone());
                            }
                        }
                    }
                }
                self.notify(&nsp, SocketEvent::Event(data, ack));
            }
            Event::Ack { nsp, id, data } => {
                let data = data.unwrap_or_else(|| empty_args(self.opts.parser));
                match self
                    .sockets
                    .get_mut(&nsp)
                    .and_then(|s| s.pending.remove(&id))
                {
                    Some(PendingAck::User(tx)) => {
                        let _ = tx.send(Ok(data));
                    }
                    Some(PendingAck::Queue) => self.on_queue_answer(&nsp, Ok(data)),
                    None => {}
                }
            }
            Event::AckTimeout { nsp, id } => {
                match self
                    .sockets
                    .get_mut(&nsp)
                    .and_then(|s| s.pending.remove(&id))
                {
                    Some(PendingAck::User(tx)) => {
                        let _ = tx.send(Err(AckError::Timeout));
                    }
                    Some(PendingAck::Queue) => self.on_queue_answer(&nsp, Err(AckError::Timeout)),
                    None => {}
                }
            }
            Event::Disconnected { nsp } => {
                self.socket_down(&nsp);
                if let Some(s) = self.shared(&nsp) {
                    s.active.store(false, Ordering::SeqCst);
                }
                self.notify(
                    &nsp,
                    SocketEvent::Disconnect(DisconnectReason::IoServerDisconnect),
                );
                self.maybe_close_engine();
            }
            Event::Closed(_) => {
                if let Some(mut engine) = self.drop_engine() {
                    engine.session.close(now_std());
                    pump(&mut engine, &self.http, &self.endpoint);
                    if let Some(post) = engine.post.take() {
                        tokio::spawn(tokio::time::timeout(Duration::from_secs(5), post));
                    }
                }
                self.on_connection_lost(DisconnectReason::ParseError, "parse error");
            }
            _ => {}
        }
    }

    async fn shutdown(mut self) {
        let all: Vec<Namespace> = self.sockets.keys().cloned().collect();
        for nsp in all {
            self.leave(&nsp, true);
        }
        for s in lock(&self.inner.sockets).values() {
            s.active.store(false, Ordering::SeqCst);
        }
        self.maybe_close_engine();
        self.drive();
        lock(&self.inner.sockets).clear();
    }
}

fn empty_args(parser: ParserKind) -> Payload {
    // `[]` always serializes.
    Payload::new(parser, &AckData(&())).unwrap_or_else(|_| unreachable!())
}

/// Starts the I/O the Engine.IO session asks for.
fn pump(engine: &mut Engine, http: &Http, endpoint: &Endpoint) {
    if let Some(conn) = &mut engine.conn {
        while let Some(msg) = conn.poll_transmit() {
            let _ = engine.session.send(to_data(msg));
        }
    }
    while let Some(t) = engine.session.poll_transmit() {
        let sid = engine.session.sid().map(str::to_owned);
        match t {
            ClientTransmit::Poll => {
                engine.get =
                    Some(http.get(endpoint.polling_uri(sid.as_deref()), endpoint.headers()));
            }
            ClientTransmit::Post(body) => {
                engine.post = Some(http.post(
                    endpoint.polling_uri(sid.as_deref()),
                    endpoint.headers(),
                    body,
                ));
            }
            ClientTransmit::OpenWebSocket => {
                engine.ws_opening = Some(open_ws(
                    endpoint.ws_uri(sid.as_deref()),
                    endpoint.headers().clone(),
                    endpoint.tls(),
                ));
            }
            ClientTransmit::WebSocket(msg) => {
                if let Some(tx) = &engine.ws_tx {
                    let frame = match msg {
                        WsMessage::Text(t) => match t.into_bytes().try_into() {
                            Ok(t) => WsFrame::Text(t),
                            Err(_) => continue,
                        },
                        WsMessage::Binary(b) => WsFrame::Binary(b),
                    };
                    let _ = tx.send(frame);
                }
            }
            ClientTransmit::CloseWebSocket => {
                engine.ws_tx = None;
                engine.ws_rx = None;
                engine.ws_opening = None;
            }
            _ => {}
        }
    }
}

/// The outcome of the first connection, for [`crate::ClientBuilder::connect`].
pub(crate) type Outcome = watch::Sender<Option<Result<(), ConnectError>>>;
