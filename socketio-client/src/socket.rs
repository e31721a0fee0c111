//! The application's handle on one namespace, its handlers and their dispatcher.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::FutureExt;
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};
use socketio_proto::{AckId, Namespace, Payload, PayloadError, RESERVED_EVENTS};
use tokio::sync::{mpsc, oneshot};

use crate::error::{AckError, ConnectError, DisconnectReason, EmitError};
use crate::manager::{AckRequest, Command, Manager};
use socketio_proto::args::{AckData, EventData};

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;
type EventHandler = Arc<dyn Fn(Socket, Message) -> BoxFut + Send + Sync>;
type ConnectHandler = Arc<dyn Fn(Socket) -> BoxFut + Send + Sync>;
type ConnectErrorHandler = Arc<dyn Fn(Socket, ConnectError) -> BoxFut + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(Socket, DisconnectReason) -> BoxFut + Send + Sync>;
pub(crate) type AuthFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = serde_json::Value> + Send>> + Send + Sync>;

/// The CONNECT payload: a value, or an async function evaluated at each (re)connect.
#[derive(Clone, Default)]
pub(crate) enum Auth {
    #[default]
    None,
    Value(serde_json::Value),
    Fn(AuthFn),
}

#[derive(Default)]
struct Handlers {
    events: HashMap<String, EventHandler>,
    any: Vec<EventHandler>,
    connect: Option<ConnectHandler>,
    connect_error: Option<ConnectErrorHandler>,
    disconnect: Option<DisconnectHandler>,
}

#[derive(Default)]
pub(crate) struct Info {
    pub(crate) id: Option<String>,
    pub(crate) recovered: bool,
}

/// State shared by the handles of one namespace and the driver.
pub(crate) struct SocketShared {
    pub(crate) nsp: Namespace,
    handlers: Mutex<Handlers>,
    pub(crate) auth: Mutex<Auth>,
    pub(crate) info: Mutex<Info>,
    pub(crate) connected: AtomicBool,
    pub(crate) active: AtomicBool,
    pub(crate) buffered: AtomicUsize,
    pub(crate) events: mpsc::UnboundedSender<SocketEvent>,
    pub(crate) outcome: crate::manager::Outcome,
}

pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler registration never panics while holding the lock; recover anyway.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the driver hands to a socket's dispatcher, in order.
#[derive(Debug)]
pub(crate) enum SocketEvent {
    Connect,
    ConnectError(ConnectError),
    Disconnect(DisconnectReason),
    Event(Payload, Option<AckId>),
}

impl SocketShared {
    /// A socket for `nsp` and its dispatcher task.
    pub(crate) fn spawn(nsp: Namespace, manager: &Manager) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Self {
            nsp,
            handlers: Mutex::default(),
            auth: Mutex::default(),
            info: Mutex::default(),
            connected: AtomicBool::new(false),
            active: AtomicBool::new(false),
            buffered: AtomicUsize::new(0),
            events: tx,
            outcome: tokio::sync::watch::channel(None).0,
        });
        tokio::spawn(dispatch(Arc::downgrade(&shared), manager.downgrade(), rx));
        shared
    }
}

/// Runs the handlers of one socket, one event at a time, in arrival order. The driver never
/// waits for it, so a handler may emit, await an ack or disconnect.
async fn dispatch(
    shared: std::sync::Weak<SocketShared>,
    manager: crate::manager::WeakManager,
    mut rx: mpsc::UnboundedReceiver<SocketEvent>,
) {
    while let Some(event) = rx.recv().await {
        let (Some(shared), Some(manager)) = (shared.upgrade(), manager.upgrade()) else {
            return;
        };
        let socket = Socket { shared, manager };
        let fut: Option<BoxFut> = {
            let h = lock(&socket.shared.handlers);
            match event {
                SocketEvent::Connect => h.connect.clone().map(|f| f(socket.clone())),
                SocketEvent::ConnectError(e) => {
                    h.connect_error.clone().map(|f| f(socket.clone(), e))
                }
                SocketEvent::Disconnect(r) => h.disconnect.clone().map(|f| f(socket.clone(), r)),
                SocketEvent::Event(payload, ack) => {
                    let Ok(name) = payload.event_name() else {
                        continue;
                    };
                    let name = match name.as_str() {
                        Some(s) => s.to_owned(),
                        None => match name {
                            socketio_proto::EventName::Number(n) => n.to_string(),
                            _ => continue,
                        },
                    };
                    let handler = h.events.get(&name).cloned();
                    let any = h.any.clone();
                    let msg = Message {
                        event: name,
                        payload,
                        ack: ack.map(|id| Arc::new(AckOnce(AtomicBool::new(false), id))),
                    };
                    let socket = socket.clone();
                    Some(Box::pin(async move {
                        for f in any {
                            f(socket.clone(), msg.clone()).await;
                        }
                        if let Some(f) = handler {
                            f(socket, msg).await;
                        }
                    }))
                }
            }
        };
        if let Some(fut) = fut {
            // A panicking handler must not stop the socket's later events.
            let _ = AssertUnwindSafe(fut).catch_unwind().await;
        }
    }
}

struct AckOnce(AtomicBool, AckId);

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
            .field("ack", &self.ack.as_ref().map(|a| a.1))
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

    /// The raw payload, `[name, ...args]`.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// Whether the server waits for an acknowledgement (`emitWithAck`, or a callback).
    pub fn needs_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Acknowledges the event with `args` (one value, a tuple spread into several, or `&()`
    /// for none). Only the first call sends; later calls (and calls for an event that asked
    /// for no ack) return `Ok(false)`.
    pub async fn ack<T: Serialize + ?Sized>(
        &self,
        socket: &Socket,
        args: &T,
    ) -> Result<bool, EmitError> {
        let Some(ack) = &self.ack else {
            return Ok(false);
        };
        if ack.0.swap(true, Ordering::SeqCst) {
            return Ok(false);
        }
        let payload = Payload::new(socket.manager.parser(), &AckData(args))?;
        socket
            .manager
            .send(Command::Ack {
                nsp: socket.shared.nsp.clone(),
                id: ack.1,
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
/// socket.on("ping", |socket, msg| async move {
///     let (n,): (u32,) = msg.args().unwrap_or((0,));
///     let _ = msg.ack(&socket, &(n + 1,)).await;
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

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("nsp", &self.shared.nsp)
            .field("id", &self.id())
            .field("connected", &self.connected())
            .finish()
    }
}

impl Socket {
    /// The namespace.
    pub fn namespace(&self) -> &str {
        self.shared.nsp.as_str()
    }

    /// The id the server gave, while connected.
    pub fn id(&self) -> Option<String> {
        lock(&self.shared.info).id.clone()
    }

    /// Whether the namespace is connected.
    pub fn connected(&self) -> bool {
        self.shared.connected.load(Ordering::SeqCst)
    }

    /// Whether the socket wants a connection (and reconnects after a transport loss): false
    /// after [`Socket::disconnect`], a server DISCONNECT or a CONNECT_ERROR.
    pub fn active(&self) -> bool {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// Whether the last connection recovered the session (connection state recovery).
    pub fn recovered(&self) -> bool {
        lock(&self.shared.info).recovered
    }

    /// The manager this socket belongs to.
    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    /// Sets the CONNECT payload (`auth`), sent at each (re)connect.
    pub fn set_auth<T: Serialize>(&self, auth: &T) -> Result<(), serde_json::Error> {
        *lock(&self.shared.auth) = Auth::Value(serde_json::to_value(auth)?);
        Ok(())
    }

    /// Sets an async function that makes the CONNECT payload, called at each (re)connect
    /// (socket.io-client's `auth: (cb) => …`).
    pub fn set_auth_fn<F, Fut>(&self, f: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = serde_json::Value> + Send + 'static,
    {
        *lock(&self.shared.auth) = Auth::Fn(Arc::new(move || Box::pin(f())));
    }

    /// Handles the event `event`. One handler per name; a new one replaces the old.
    pub fn on<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(Self, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).events.insert(
            event.to_owned(),
            Arc::new(move |s, m| Box::pin(handler(s, m))),
        );
    }

    /// Handles every event, before its own handler (`onAny`).
    pub fn on_any<F, Fut>(&self, handler: F)
    where
        F: Fn(Self, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers)
            .any
            .push(Arc::new(move |s, m| Box::pin(handler(s, m))));
    }

    /// Called at each connection of the namespace (`connect`).
    pub fn on_connect<F, Fut>(&self, handler: F)
    where
        F: Fn(Self) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).connect = Some(Arc::new(move |s| Box::pin(handler(s))));
    }

    /// Called when a connection fails (`connect_error`).
    pub fn on_connect_error<F, Fut>(&self, handler: F)
    where
        F: Fn(Self, ConnectError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).connect_error =
            Some(Arc::new(move |s, e| Box::pin(handler(s, e))));
    }

    /// Called when the namespace disconnects, with the reason (`disconnect`).
    pub fn on_disconnect<F, Fut>(&self, handler: F)
    where
        F: Fn(Self, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        lock(&self.shared.handlers).disconnect =
            Some(Arc::new(move |s, r| Box::pin(handler(s, r))));
    }

    /// Connects the namespace (opening the Manager's connection if needed). Returns at once;
    /// `connect` or `connect_error` follows. Also reconnects a socket that the server or
    /// [`Socket::disconnect`] disconnected.
    pub async fn connect(&self) -> Result<(), EmitError> {
        self.shared.active.store(true, Ordering::SeqCst);
        self.manager
            .send(Command::Connect {
                nsp: self.shared.nsp.clone(),
            })
            .await
    }

    /// Leaves the namespace: sends DISCONNECT when connected, reason
    /// `"io client disconnect"`. When it was the Manager's last active socket, the
    /// connection closes too.
    pub async fn disconnect(&self) -> Result<(), EmitError> {
        self.shared.active.store(false, Ordering::SeqCst);
        self.manager
            .send(Command::Disconnect {
                nsp: self.shared.nsp.clone(),
            })
            .await
    }

    /// Emits `event` with `args`: one value, a tuple spread into several arguments
    /// (`&("a", 1)`), or `&()` for none. `bytes::Bytes` values go as binary attachments.
    /// While disconnected the emit is buffered and sent after the (re)connection.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.emit_inner(event, args, false, None).await
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
        let timeout = self.manager.ack_timeout();
        self.ack_inner(event, args, timeout).await
    }

    /// A deadline for one acknowledgement (`socket.timeout(ms)`).
    pub fn timeout(&self, timeout: Duration) -> WithTimeout<'_> {
        WithTimeout(self, timeout)
    }

    async fn ack_inner<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &T,
        timeout: Option<Duration>,
    ) -> Result<R, AckError> {
        let (tx, rx) = oneshot::channel();
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        self.emit_inner(
            event,
            args,
            false,
            Some(AckRequest {
                tx,
                deadline: deadline.map(tokio::time::Instant::into_std),
            }),
        )
        .await?;
        let answer = match deadline {
            Some(d) => match tokio::time::timeout_at(d, rx).await {
                Ok(a) => a,
                Err(_) => return Err(AckError::Timeout),
            },
            None => rx.await,
        };
        let payload = answer.map_err(|_| AckError::Disconnected)??;
        Ok(payload.deserialize::<R>()?)
    }

    async fn emit_inner<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        volatile: bool,
        ack: Option<AckRequest>,
    ) -> Result<(), EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::ReservedEventName(event.to_owned()));
        }
        if volatile && !self.connected() {
            return Ok(());
        }
        if !self.connected()
            && self.shared.buffered.load(Ordering::SeqCst) >= self.manager.max_buffered()
        {
            return Err(EmitError::BufferFull);
        }
        let payload = Payload::new(self.manager.parser(), &EventData { name: event, args })?;
        self.manager
            .send(Command::Emit {
                nsp: self.shared.nsp.clone(),
                payload,
                volatile,
                ack,
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
        self.0.emit_inner(event, args, true, None).await
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
        self.0.ack_inner(event, args, Some(self.1)).await
    }
}
