//! The application's handles: the [`Manager`], its [`Socket`]s, the [`Message`]s their
//! handlers get, and the task that runs those handlers. Each command goes to the driver
//! (`crate::driver`) over a channel; the handles only read the state it writes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytestring::ByteString;
use futures_util::FutureExt;
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};
use socketio_proto::args::{AckData, EventData};
use socketio_proto::endpoint::client::{AckMode, DisconnectReason};
use socketio_proto::listeners::{AnyListeners, EventListeners, ListenerId};
use socketio_proto::{
    AckId, EventName, InvalidNamespace, Namespace, Payload, PayloadError, RESERVED_EVENTS,
};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::config::Options;
use crate::error::{AckError, ConnectError, EmitError};
use crate::shared::{
    Auth, Command, EngineInfo, ManagerEvent, Reply, SocketEvent, SocketState, lock,
};
use crate::transport::{InvalidUrl, parse_url};

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;
type EventHandler = Arc<dyn Fn(Socket, Message) -> BoxFut + Send + Sync>;
type ConnectHandler = Arc<dyn Fn(Socket) -> BoxFut + Send + Sync>;
type ConnectErrorHandler = Arc<dyn Fn(Socket, ConnectError) -> BoxFut + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(Socket, DisconnectReason) -> BoxFut + Send + Sync>;
type OutgoingListener = Arc<dyn Fn(&Socket, &str, &Payload) + Send + Sync>;

/// The listeners of a socket, with the semantics of socket.io-client's (an `EventEmitter`).
#[derive(Default)]
struct Handlers {
    events: EventListeners<EventHandler>,
    any: AnyListeners<EventHandler>,
    outgoing: AnyListeners<OutgoingListener>,
    connect: AnyListeners<ConnectHandler>,
    connect_error: AnyListeners<ConnectErrorHandler>,
    disconnect: AnyListeners<DisconnectHandler>,
}

impl Handlers {
    /// The ids of the listeners of one of the socket's own events (`connect`,
    /// `connect_error`, `disconnect`), which `off` and `listeners` reach by that name.
    fn own_ids(&self, event: &str) -> Vec<ListenerId> {
        match event {
            "connect" => self.connect.ids(),
            "connect_error" => self.connect_error.ids(),
            "disconnect" => self.disconnect.ids(),
            _ => Vec::new(),
        }
    }

    fn off_own(&mut self, event: &str, id: ListenerId) -> bool {
        match event {
            "connect" => self.connect.off(id),
            "connect_error" => self.connect_error.off(id),
            "disconnect" => self.disconnect.off(id),
            _ => false,
        }
    }

    fn remove_own(&mut self, event: Option<&str>) {
        let all = event.is_none();
        let event = event.unwrap_or_default();
        if all || event == "connect" {
            self.connect.clear();
        }
        if all || event == "connect_error" {
            self.connect_error.clear();
        }
        if all || event == "disconnect" {
            self.disconnect.clear();
        }
    }
}

fn event_handler<F, Fut>(handler: F) -> EventHandler
where
    F: Fn(Socket, Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |s, m| Box::pin(handler(s, m)))
}

/// One socket: the state the driver writes, and the handlers.
pub(crate) struct SocketShared {
    pub(crate) state: Arc<SocketState>,
    handlers: Mutex<Handlers>,
}

struct ManagerInner {
    options: Options,
    namespace: String,
    sockets: Mutex<HashMap<Namespace, Arc<SocketShared>>>,
    events: broadcast::Sender<ManagerEvent>,
    engine: Arc<Mutex<EngineInfo>>,
}

/// One Engine.IO connection to a server, shared by several namespaces (the `Manager` of
/// socket.io-client): reconnection with backoff, the upgrade to WebSocket, and the
/// namespaces multiplexed on it.
///
/// Cheap to clone. The connection is driven by one task; when every `Manager` and
/// [`Socket`] handle is dropped, it closes the connection and ends. A handle captured by a
/// listener of its own socket counts as a handle (as in JavaScript, where a listener keeps
/// its socket alive): a listener gets its socket as an argument, and one that needs another
/// handle captures a weak one ([`Socket::downgrade`], [`Manager::downgrade`]), which keeps
/// nothing alive. A client whose listeners hold strong handles ends with
/// [`Manager::close`] (and [`Socket::remove_all_listeners`] drops what they hold).
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

/// A [`Manager`] that does not keep its connection open: what a listener captures to
/// reach its Manager without keeping it alive ([`Manager::downgrade`]).
#[derive(Clone)]
pub struct WeakManager {
    inner: Weak<ManagerInner>,
    tx: mpsc::WeakSender<Command>,
}

impl fmt::Debug for WeakManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakManager").finish_non_exhaustive()
    }
}

impl WeakManager {
    /// The Manager, while a [`Manager`] or [`Socket`] handle of it is alive.
    pub fn upgrade(&self) -> Option<Manager> {
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
    /// options' query, the URL's value winning for a key in both). Nothing is sent until a
    /// socket connects. Must be called within a tokio runtime.
    ///
    /// (socket.io-client keeps the URL's query alone when the URL has one, dropping the
    /// `query` option; both are kept here.)
    pub fn new(url: &str, mut options: Options) -> Result<Self, InvalidUrl> {
        let parsed = parse_url(url)?;
        merge_query(&mut options.query, &parsed.query);
        let (tx, rx) = mpsc::channel(1024);
        let (events, _) = broadcast::channel(256);
        let engine = Arc::new(Mutex::new(EngineInfo::default()));
        crate::driver::spawn(
            &parsed,
            &options,
            rx,
            tx.downgrade(),
            events.clone(),
            engine.clone(),
        );
        let inner = Arc::new(ManagerInner {
            options,
            namespace: parsed.namespace,
            sockets: Mutex::default(),
            events,
            engine,
        });
        Ok(Self { inner, tx })
    }

    /// The Manager `io(url)` uses for `url`, and the namespace the URL names: the one already
    /// made for the same server (scheme, host, port and path) while it is alive (then the
    /// flag is true), as
    /// socket.io-client's cache, unless `force_new`, `multiplex` is off, or that Manager
    /// has a socket of this namespace already (a second socket of one namespace needs a
    /// connection of its own). A cached Manager keeps the options it was made with.
    pub(crate) fn lookup(
        url: &str,
        options: Options,
        force_new: bool,
        multiplex: bool,
    ) -> Result<(Self, String, bool), InvalidUrl> {
        static CACHE: std::sync::OnceLock<Mutex<HashMap<String, WeakManager>>> =
            std::sync::OnceLock::new();
        let parsed = parse_url(url)?;
        let scheme = if parsed.secure { "https" } else { "http" };
        let key = format!("{scheme}://{}{}", parsed.authority, options.path);
        let nsp = parsed.namespace;
        let fresh = force_new || !multiplex;
        let mut cache = lock(CACHE.get_or_init(Mutex::default));
        cache.retain(|_, m| m.inner.strong_count() > 0);
        if !fresh {
            if let Some(manager) = cache.get(&key).and_then(WeakManager::upgrade) {
                let taken = Namespace::new(nsp.clone())
                    .map(|n| lock(&manager.inner.sockets).contains_key(&n))
                    .unwrap_or(false);
                if !taken {
                    return Ok((manager, nsp, true));
                }
                // Same namespace: a Manager of its own, not cached.
                return Ok((Self::new(url, options)?, nsp, false));
            }
        }
        let manager = Self::new(url, options)?;
        if !fresh {
            cache.insert(key, manager.downgrade());
        }
        Ok((manager, nsp, false))
    }

    /// Whether the Manager reconnects after a failure (`reconnection`).
    pub(crate) fn reconnects(&self) -> bool {
        self.inner.options.endpoint.reconnection
    }

    /// The Engine.IO session id of the connection open now (`socket.io.engine.id`).
    pub fn engine_id(&self) -> Option<String> {
        lock(&self.inner.engine).id.clone()
    }

    /// The transport of the connection open now, `"polling"` or `"websocket"`
    /// (`socket.io.engine.transport.name`); `ManagerEvent::Upgrade` tells when it changes.
    pub fn transport_name(&self) -> Option<&'static str> {
        lock(&self.inner.engine).transport
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

    /// Disconnects every socket ("io client disconnect") and closes the connection; returns
    /// once it is closed (the close packet delivered, or the connection gone). A socket may
    /// connect again later, with its listeners.
    pub async fn close(&self) -> Result<(), EmitError> {
        for s in lock(&self.inner.sockets).values() {
            s.state.active.store(false, Ordering::SeqCst);
        }
        let (done, closed) = oneshot::channel();
        self.send(Command::Close(done)).await?;
        // The driver ended meanwhile: closed too.
        let _ = closed.await;
        Ok(())
    }

    async fn send(&self, cmd: Command) -> Result<(), EmitError> {
        self.tx.send(cmd).await.map_err(|_| EmitError::Closed)
    }

    /// Adds a listener of every packet decoded from the server, on this connection and the
    /// next ones, before the sockets see it (`manager.on("packet")`). It is called in the
    /// connection's task as each packet arrives: keep it short. The Manager reports packets
    /// only once a listener asks (nothing is copied otherwise).
    ///
    /// ```no_run
    /// # fn f(manager: socketio_client::Manager) {
    /// manager.on_packet(|packet| println!("{:?} on {}", packet.kind, packet.nsp));
    /// # }
    /// ```
    pub fn on_packet<F>(&self, listener: F) -> ListenerId
    where
        F: Fn(&socketio_proto::Packet) + Send + Sync + 'static,
    {
        let (id, first) = {
            let mut engine = lock(&self.inner.engine);
            let first = engine.packet_listeners.is_empty();
            (engine.packet_listeners.on(Arc::new(listener)), first)
        };
        if first {
            // (Without waiting: a full command queue hands the command to a task.)
            if let Err(mpsc::error::TrySendError::Full(cmd)) =
                self.tx.try_send(Command::ObservePackets)
            {
                let tx = self.tx.clone();
                tokio::spawn(async move { tx.send(cmd).await });
            }
        }
        id
    }

    /// Removes the `packet` listener `id`; false if it is not there.
    pub fn off_packet(&self, id: ListenerId) -> bool {
        lock(&self.inner.engine).packet_listeners.off(id)
    }

    /// The `packet` listeners, in the order they run.
    pub fn packet_listeners(&self) -> Vec<ListenerId> {
        lock(&self.inner.engine).packet_listeners.ids()
    }

    async fn reconfigure(
        &self,
        change: impl FnOnce(&mut socketio_proto::endpoint::client::ClientEndpointConfig)
        + Send
        + 'static,
    ) -> Result<(), EmitError> {
        self.send(Command::Reconfigure(Box::new(change))).await
    }

    /// `manager.reconnection(v)` at run time: turning it off also cancels a reconnection
    /// waiting for its delay (the reference's). Returns once the driver has it.
    pub async fn set_reconnection(&self, on: bool) -> Result<(), EmitError> {
        self.reconfigure(move |c| c.reconnection = on).await
    }

    /// `manager.reconnectionAttempts(v)` at run time (`None`: `Infinity`); the attempts made
    /// so far count.
    pub async fn set_reconnection_attempts(&self, attempts: Option<u32>) -> Result<(), EmitError> {
        self.reconfigure(move |c| c.reconnection_attempts = attempts)
            .await
    }

    /// `manager.reconnectionDelay(v)` at run time: from the next delay on.
    pub async fn set_reconnection_delay(&self, delay: Duration) -> Result<(), EmitError> {
        self.reconfigure(move |c| c.reconnection_delay = delay)
            .await
    }

    /// `manager.reconnectionDelayMax(v)` at run time: from the next delay on.
    pub async fn set_reconnection_delay_max(&self, delay: Duration) -> Result<(), EmitError> {
        self.reconfigure(move |c| c.reconnection_delay_max = delay)
            .await
    }

    /// `manager.randomizationFactor(v)` at run time: from the next delay on.
    pub async fn set_randomization_factor(&self, factor: f64) -> Result<(), EmitError> {
        self.reconfigure(move |c| c.randomization_factor = factor)
            .await
    }

    /// `manager.timeout(v)` at run time (`None`: `timeout: false`): from the next
    /// connection attempt on.
    pub async fn set_timeout(&self, timeout: Option<Duration>) -> Result<(), EmitError> {
        self.reconfigure(move |c| c.timeout = timeout).await
    }

    /// A handle that does not keep the connection open (see [`WeakManager`]).
    pub fn downgrade(&self) -> WeakManager {
        WeakManager {
            inner: Arc::downgrade(&self.inner),
            tx: self.tx.downgrade(),
        }
    }
}

impl SocketShared {
    /// A socket for `nsp` and the task that runs its handlers.
    fn spawn(nsp: Namespace, manager: &Manager) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = SocketState {
            nsp,
            auth: Mutex::default(),
            info: Mutex::default(),
            connected: AtomicBool::new(false),
            active: AtomicBool::new(false),
            events: tx,
            outcome: tokio::sync::watch::channel(None).0,
        };
        let shared = Arc::new(Self {
            state: Arc::new(state),
            handlers: Mutex::default(),
        });
        tokio::spawn(dispatch(Arc::downgrade(&shared), manager.downgrade(), rx));
        shared
    }
}

/// Adds the URL's query parameters to the options' (a key of both takes the URL's value).
fn merge_query(query: &mut Vec<(String, String)>, from_url: &[(String, String)]) {
    query.retain(|(key, _)| !from_url.iter().any(|(k, _)| k == key));
    query.extend(from_url.iter().cloned());
}

/// Runs the handlers of one socket, one event at a time, in arrival order. The driver never
/// waits for it, so a handler may emit, await an ack or disconnect.
async fn dispatch(
    shared: Weak<SocketShared>,
    manager: WeakManager,
    mut rx: mpsc::UnboundedReceiver<SocketEvent>,
) {
    while let Some(event) = rx.recv().await {
        let (Some(shared), Some(inner), Some(tx)) = (
            shared.upgrade(),
            manager.inner.upgrade(),
            manager.tx.upgrade(),
        ) else {
            return;
        };
        let socket = Socket {
            shared,
            manager: Manager { inner, tx },
        };
        let fut: Option<BoxFut> = {
            let mut h = lock(&socket.shared.handlers);
            match event {
                SocketEvent::Connect => {
                    let listeners = h.connect.handlers();
                    let socket = socket.clone();
                    Some(Box::pin(async move {
                        for f in listeners {
                            f(socket.clone()).await;
                        }
                    }))
                }
                SocketEvent::ConnectError(e) => {
                    let listeners = h.connect_error.handlers();
                    let socket = socket.clone();
                    Some(Box::pin(async move {
                        for f in listeners {
                            f(socket.clone(), e.clone()).await;
                        }
                    }))
                }
                SocketEvent::Disconnect(r) => {
                    let listeners = h.disconnect.handlers();
                    let socket = socket.clone();
                    Some(Box::pin(async move {
                        for f in listeners {
                            f(socket.clone(), r).await;
                        }
                    }))
                }
                SocketEvent::Event(payload, ack) => {
                    let name = match payload.event_name() {
                        Ok(EventName::Str(s)) => s.into_owned(),
                        Ok(EventName::Number(n)) => n.to_string(),
                        // The endpoint only hands over events with a name; `EventName` is
                        // `#[non_exhaustive]`: a name of a kind added there has no handler.
                        other => {
                            tracing::warn!(?other, "an event without a usable name: no handler");
                            continue;
                        }
                    };
                    // As socket.io-client: the `onAny` listeners, then the event's.
                    let any = h.any.handlers();
                    let listeners = h.events.fire(&name);
                    let msg = Message {
                        event: name,
                        payload,
                        ack: ack.map(|id| {
                            Arc::new(AckOnce {
                                sent: AtomicBool::new(false),
                                id,
                                socket: socket.clone(),
                            })
                        }),
                    };
                    let socket = socket.clone();
                    Some(Box::pin(async move {
                        for f in any.into_iter().chain(listeners) {
                            f(socket.clone(), msg.clone()).await;
                        }
                    }))
                }
            }
        };
        if let Some(fut) = fut {
            // A panicking handler must not stop the socket's later events.
            if AssertUnwindSafe(fut).catch_unwind().await.is_err() {
                tracing::error!(nsp = %socket.shared.state.nsp, "a handler panicked");
            }
        }
    }
}

/// The acknowledgement an event asked for: sent once, to the socket it came from.
struct AckOnce {
    sent: AtomicBool,
    id: AckId,
    socket: Socket,
}

/// An event from the server: its name, its arguments (deserialized on demand) and, when the
/// server asked for one, the means to acknowledge it.
#[derive(Clone)]
pub struct Message {
    event: String,
    payload: Payload,
    ack: Option<Arc<AckOnce>>,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("event", &self.event)
            .field("payload", &self.payload)
            .field("ack", &self.ack.as_ref().map(|a| a.id))
            .finish()
    }
}

impl Message {
    /// The event name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The arguments after the name, deserialized into `T`: a tuple such as
    /// `(String, bytes::Bytes)`, a `Vec`, or one type for the first argument wrapped in a
    /// 1-tuple. Binary arguments come as `Bytes`.
    pub fn args<'de, T: Deserialize<'de>>(&'de self) -> Result<T, PayloadError> {
        self.payload.event_args()
    }

    /// The first argument, the others ignored (a JavaScript listener's `(value) => …`),
    /// without the 1-tuple [`Message::args`] needs for one argument.
    pub fn arg<'de, T: Deserialize<'de>>(&'de self) -> Result<T, PayloadError> {
        self.payload
            .event_args::<socketio_proto::args::First<T>>()
            .map(|first| first.0)
    }

    /// The raw payload, `[name, ...args]`.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// Whether the server waits for an acknowledgement (`emitWithAck`, or a callback).
    pub fn needs_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Acknowledges the event with `args` (one value, a tuple spread into several, or `&()`
    /// for none), as the server's `Message::ack` does. Only the first call sends (several
    /// listeners of one event share its acknowledgement); later calls, and calls for an event
    /// that asked for no ack, return `Ok(false)`.
    pub async fn ack<T: Serialize + ?Sized>(&self, args: &T) -> Result<bool, EmitError> {
        let Some(ack) = &self.ack else {
            return Ok(false);
        };
        if ack.sent.swap(true, Ordering::SeqCst) {
            return Ok(false);
        }
        let socket = &ack.socket;
        let payload = Payload::new(socket.manager.inner.options.endpoint.parser, &AckData(args))?;
        socket
            .manager
            .send(Command::Ack {
                nsp: socket.shared.state.nsp.clone(),
                id: ack.id,
                payload,
            })
            .await?;
        Ok(true)
    }
}

/// One namespace of a [`Manager`]: the `Socket` of socket.io-client.
///
/// Cheap to clone; every clone is the same socket. Handlers run in a task of their own, one
/// event at a time in arrival order; they may emit, await acks and disconnect.
///
/// ```no_run
/// use socketio_client::{Manager, Options};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::new("http://127.0.0.1:3000", Options::default())?;
/// let socket = manager.socket("/admin")?;
/// socket.on("ping", |_socket, msg| async move {
///     let (n,): (u32,) = msg.args().unwrap_or((0,));
///     let _ = msg.ack(&(n + 1,)).await;
/// });
/// socket.connect().await?;
/// socket.emit("hello", &("world", 42)).await?;
/// let (reply,): (String,) = socket.emit_with_ack("question", &()).await?;
/// # let _ = reply;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Socket {
    pub(crate) shared: Arc<SocketShared>,
    pub(crate) manager: Manager,
}

/// A [`Socket`] that keeps neither itself nor its connection alive: what a listener
/// captures to reach a socket (its own or another) without making a cycle that would keep
/// the connection open after every other handle is dropped.
///
/// ```no_run
/// # async fn f(manager: socketio_client::Manager) -> Result<(), Box<dyn std::error::Error>> {
/// let main = manager.socket("/")?;
/// let admin = manager.socket("/admin")?;
/// let weak_admin = admin.downgrade();
/// main.on("alert", move |_main, msg| {
///     let weak_admin = weak_admin.clone();
///     async move {
///         if let (Some(admin), Ok(text)) = (weak_admin.upgrade(), msg.arg::<String>()) {
///             let _ = admin.emit("seen", &text).await;
///         }
///     }
/// });
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct WeakSocket {
    shared: Weak<SocketShared>,
    manager: WeakManager,
}

impl fmt::Debug for WeakSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSocket").finish_non_exhaustive()
    }
}

impl WeakSocket {
    /// The socket, while a [`Manager`] or [`Socket`] handle of its connection is alive.
    pub fn upgrade(&self) -> Option<Socket> {
        Some(Socket {
            shared: self.shared.upgrade()?,
            manager: self.manager.upgrade()?,
        })
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("nsp", &self.shared.state.nsp)
            .field("id", &self.id())
            .field("connected", &self.connected())
            .finish()
    }
}

impl Socket {
    /// The namespace.
    pub fn namespace(&self) -> &str {
        self.shared.state.nsp.as_str()
    }

    /// The id the server gave, while connected.
    pub fn id(&self) -> Option<String> {
        lock(&self.shared.state.info).id.clone()
    }

    /// Whether the namespace is connected.
    pub fn connected(&self) -> bool {
        self.shared.state.connected.load(Ordering::SeqCst)
    }

    /// Whether the socket wants a connection (and reconnects after a transport loss): false
    /// after [`Socket::disconnect`], a server DISCONNECT or a CONNECT_ERROR.
    pub fn active(&self) -> bool {
        self.shared.state.active.load(Ordering::SeqCst)
    }

    /// Whether the last connection recovered the session (connection state recovery).
    pub fn recovered(&self) -> bool {
        lock(&self.shared.state.info).recovered
    }

    /// A handle that keeps neither the socket nor its connection alive, for a listener to
    /// capture ([`WeakSocket`]).
    pub fn downgrade(&self) -> WeakSocket {
        WeakSocket {
            shared: Arc::downgrade(&self.shared),
            manager: self.manager.downgrade(),
        }
    }

    /// The manager this socket belongs to.
    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    /// Sets the CONNECT payload (`auth`), sent at each (re)connect.
    pub fn set_auth<T: Serialize>(&self, auth: &T) -> Result<(), serde_json::Error> {
        *lock(&self.shared.state.auth) = Auth::Value(serde_json::to_value(auth)?);
        Ok(())
    }

    /// Sets an async function that makes the CONNECT payload, called at each (re)connect
    /// (socket.io-client's `auth: (cb) => …`).
    pub fn set_auth_fn<F, Fut>(&self, f: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = serde_json::Value> + Send + 'static,
    {
        *lock(&self.shared.state.auth) = Auth::Fn(Arc::new(move || Box::pin(f())));
    }

    /// Adds a listener of `event` (`socket.on`); several listeners of one event are called
    /// in the order they were added, each with its copy of the event (the first to answer
    /// the acknowledgement sends it). The returned id removes it ([`Socket::off`]).
    pub fn on<F, Fut>(&self, event: impl Into<Cow<'static, str>>, handler: F) -> ListenerId
    where
        F: Fn(Self, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers)
            .events
            .on(event, event_handler(handler))
    }

    /// Adds a listener of the next `event` only (`socket.once`).
    pub fn once<F, Fut>(&self, event: impl Into<Cow<'static, str>>, handler: F) -> ListenerId
    where
        F: Fn(Self, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers)
            .events
            .once(event, event_handler(handler))
    }

    /// Adds a listener of `event` called before the others (`prependListener`).
    pub fn prepend_listener<F, Fut>(
        &self,
        event: impl Into<Cow<'static, str>>,
        handler: F,
    ) -> ListenerId
    where
        F: Fn(Self, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers)
            .events
            .prepend(event, event_handler(handler))
    }

    /// Removes the listener `id` of `event` (`socket.off(event, listener)`); `event` may
    /// also be `"connect"`, `"connect_error"` or `"disconnect"` for the listeners added with
    /// [`Socket::on_connect`], [`Socket::on_connect_error`] and [`Socket::on_disconnect`].
    /// False if the listener is not there.
    ///
    /// ```no_run
    /// # fn f(socket: socketio_client::Socket) {
    /// let id = socket.on("tick", |_socket, _msg| async {});
    /// assert_eq!(socket.listeners("tick"), [id]);
    /// assert!(socket.off("tick", id));
    /// # }
    /// ```
    pub fn off(&self, event: &str, id: ListenerId) -> bool {
        let mut h = lock(&self.shared.handlers);
        h.off_own(event, id) || h.events.off(event, id)
    }

    /// Removes the listeners of `event`, or every listener of the socket's events with
    /// `None` (`socket.removeAllListeners`); the `on_any` families stay, as in the reference.
    pub fn remove_all_listeners(&self, event: Option<&str>) {
        let mut h = lock(&self.shared.handlers);
        h.remove_own(event);
        h.events.remove_all(event);
    }

    /// The ids of `event`'s listeners, in calling order (`socket.listeners`).
    pub fn listeners(&self, event: &str) -> Vec<ListenerId> {
        let h = lock(&self.shared.handlers);
        let mut ids = h.own_ids(event);
        ids.extend(h.events.ids(event));
        ids
    }

    /// Adds a listener of every event from the server, called before the event's own
    /// listeners (`socket.onAny`).
    pub fn on_any<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Self, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).any.on(event_handler(handler))
    }

    /// Adds a listener of every event from the server, before the other `on_any` listeners
    /// (`socket.prependAny`).
    pub fn prepend_any<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Self, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers)
            .any
            .prepend(event_handler(handler))
    }

    /// Removes the `on_any` listener `id` (`socket.offAny(listener)`).
    pub fn off_any(&self, id: ListenerId) -> bool {
        lock(&self.shared.handlers).any.off(id)
    }

    /// Removes every `on_any` listener (`socket.offAny()`).
    pub fn remove_any_listeners(&self) {
        lock(&self.shared.handlers).any.clear();
    }

    /// The ids of the `on_any` listeners, in calling order (`socket.listenersAny`).
    pub fn listeners_any(&self) -> Vec<ListenerId> {
        lock(&self.shared.handlers).any.ids()
    }

    /// Adds a listener of every event this socket emits (`socket.onAnyOutgoing`), called
    /// with the event's name and payload in the emitting task when the emit is handed to
    /// the connection. socket.io-client calls it when the packet is written; here an emit
    /// buffered while disconnected is seen when it is made, not when it leaves, and a
    /// volatile emit made while disconnected (dropped) is not seen, as there.
    pub fn on_any_outgoing<F>(&self, listener: F) -> ListenerId
    where
        F: Fn(&Self, &str, &Payload) + Send + Sync + 'static,
    {
        lock(&self.shared.handlers).outgoing.on(Arc::new(listener))
    }

    /// Adds an outgoing listener before the others (`socket.prependAnyOutgoing`).
    pub fn prepend_any_outgoing<F>(&self, listener: F) -> ListenerId
    where
        F: Fn(&Self, &str, &Payload) + Send + Sync + 'static,
    {
        lock(&self.shared.handlers)
            .outgoing
            .prepend(Arc::new(listener))
    }

    /// Removes the outgoing listener `id` (`socket.offAnyOutgoing(listener)`).
    pub fn off_any_outgoing(&self, id: ListenerId) -> bool {
        lock(&self.shared.handlers).outgoing.off(id)
    }

    /// Removes every outgoing listener (`socket.offAnyOutgoing()`).
    pub fn remove_any_outgoing_listeners(&self) {
        lock(&self.shared.handlers).outgoing.clear();
    }

    /// The ids of the outgoing listeners, in calling order (`socket.listenersAnyOutgoing`).
    pub fn listeners_any_outgoing(&self) -> Vec<ListenerId> {
        lock(&self.shared.handlers).outgoing.ids()
    }

    /// Adds a listener called at each connection of the namespace (`on("connect")`).
    pub fn on_connect<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Self) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers)
            .connect
            .on(Arc::new(move |s| Box::pin(handler(s))))
    }

    /// Adds a listener called when a connection fails (`on("connect_error")`).
    pub fn on_connect_error<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Self, ConnectError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers)
            .connect_error
            .on(Arc::new(move |s, e| Box::pin(handler(s, e))))
    }

    /// Adds a listener called when the namespace disconnects, with the reason
    /// (`on("disconnect")`).
    pub fn on_disconnect<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Self, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers)
            .disconnect
            .on(Arc::new(move |s, r| Box::pin(handler(s, r))))
    }

    /// Connects the namespace (opening the Manager's connection if needed). Returns at once;
    /// `connect` or `connect_error` follows. Also reconnects a socket that the server or
    /// [`Socket::disconnect`] disconnected.
    pub async fn connect(&self) -> Result<(), EmitError> {
        self.shared.state.active.store(true, Ordering::SeqCst);
        let state = self.shared.state.clone();
        self.manager.send(Command::Connect(state)).await
    }

    /// Leaves the namespace: sends DISCONNECT when connected, reason
    /// `"io client disconnect"`; returns once the DISCONNECT is handed to the connection.
    /// When it was the Manager's last active socket, the connection closes too.
    pub async fn disconnect(&self) -> Result<(), EmitError> {
        self.shared.state.active.store(false, Ordering::SeqCst);
        let nsp = self.shared.state.nsp.clone();
        let (done, handed) = oneshot::channel();
        self.manager.send(Command::Disconnect(nsp, done)).await?;
        let _ = handed.await;
        Ok(())
    }

    /// Emits `event` with `args`: one value, a tuple spread into several arguments
    /// (`&("a", 1)`), or `&()` for none. `bytes::Bytes` values go as binary attachments.
    /// While disconnected the emit is buffered and sent after the (re)connection. Returns
    /// once the driver has it: refused if the name is reserved or the offline buffer full.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.emit_inner(event, args, false).await
    }

    /// Emits a `message` event (`socket.send`); the server's `send` arrives as a `message`
    /// event too ([`Socket::on`]`("message", …)`).
    pub async fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EmitError> {
        self.emit("message", args).await
    }

    /// A volatile emit: dropped instead of buffered when the socket is not connected.
    pub fn volatile(&self) -> Volatile<'_> {
        Volatile(self)
    }

    /// Emits and waits for the server's acknowledgement, deserialized into `R` (a tuple of
    /// the answer's arguments, e.g. `(String,)`). The deadline is [`crate::Options::ack_timeout`]
    /// if set (see [`Socket::timeout`] for one emit).
    pub async fn emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<R, AckError> {
        let mode = self.manager.inner.options.endpoint.default_ack_mode();
        self.ack_inner(event, args, mode).await
    }

    /// A deadline for one acknowledgement (`socket.timeout(ms)`).
    pub fn timeout(&self, timeout: Duration) -> WithTimeout<'_> {
        WithTimeout(self, timeout)
    }

    /// The driver reports the outcome once: the endpoint owns the deadline.
    async fn ack_inner<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &T,
        mode: AckMode,
    ) -> Result<R, AckError> {
        let (tx, rx) = oneshot::channel();
        self.send_emit(event, args, false, Reply::Ack(mode, tx))
            .await?;
        // No answer at all: the driver ended (the Manager is gone).
        let payload = rx.await.map_err(|_| AckError::Disconnected)??;
        // A lone surrogate or a number beyond f64 in the answer: U+FFFD and null.
        Ok(payload.deserialize_lossy::<R>()?)
    }

    async fn emit_inner<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        volatile: bool,
    ) -> Result<(), EmitError> {
        let (tx, rx) = oneshot::channel();
        self.send_emit(event, args, volatile, Reply::Sent(tx))
            .await?;
        rx.await.map_err(|_| EmitError::Closed)?
    }

    async fn send_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        volatile: bool,
        reply: Reply,
    ) -> Result<(), EmitError> {
        let parser = self.manager.inner.options.endpoint.parser;
        let payload = Payload::new(parser, &EventData { name: event, args })?;
        if !RESERVED_EVENTS.contains(&event) && (!volatile || self.connected()) {
            let listeners = lock(&self.shared.handlers).outgoing.handlers();
            for listener in listeners {
                listener(self, event, &payload);
            }
        }
        self.manager
            .send(Command::Emit {
                nsp: self.shared.state.nsp.clone(),
                payload,
                volatile,
                reply,
            })
            .await
    }
}

/// See [`Socket::volatile`].
#[derive(Debug)]
pub struct Volatile<'a>(&'a Socket);

impl Volatile<'_> {
    /// Emits if connected; otherwise drops the event.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.0.emit_inner(event, args, true).await
    }
}

/// See [`Socket::timeout`].
#[derive(Debug)]
pub struct WithTimeout<'a>(&'a Socket, Duration);

impl WithTimeout<'_> {
    /// [`Socket::emit_with_ack`] with this deadline.
    pub async fn emit_with_ack<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<R, AckError> {
        self.0
            .ack_inner(event, args, AckMode::Deadline(self.1))
            .await
    }
}
