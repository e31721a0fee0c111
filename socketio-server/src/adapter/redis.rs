//! The Redis adapter (cargo feature `redis`): several nodes serve one Socket.IO application
//! through a Redis server, wire-compatible with Node's `@socket.io/redis-adapter` 8.3.0, so
//! that Rust and Node nodes can serve the same rooms.
//!
//! Two protocols, as the reference:
//!
//! - **classic** (`createAdapter`, the default): `PUBLISH`/`PSUBSCRIBE` channels
//!   `<key>#<nsp>#…`, requests and responses on `<key>-request#<nsp>#` and
//!   `<key>-response#<nsp>#`, the server count from `PUBSUB NUMSUB`; also what
//!   `@socket.io/redis-emitter` (and [`Emitter`]) publish;
//! - **sharded** (`createShardedAdapter`, [`RedisAdapterConfig::sharded`]): Redis 7 sharded
//!   pub/sub (`SPUBLISH`/`SSUBSCRIBE`) with the `ClusterAdapter` messages, in the
//!   `static`, `dynamic` or `dynamic-private` subscription mode;
//! - **streams** ([`RedisAdapterConfig::streams`], `@socket.io/redis-streams-adapter`
//!   0.3.1): broadcasts and room operations written to a Redis stream and read back by every
//!   node, the requests on pub/sub; with connection state recovery on, sessions kept in Redis
//!   and the missed events read back from the stream, so that a client recovers on any node.
//!
//! The messages are encoded and decoded by [`socketio_proto::cluster`]; this module is the
//! driver: Redis connections, the queue that publishes in order, pending requests and their
//! timeouts, and the local delivery through an [`InMemoryAdapter`].
//!
//! A lost Redis connection is reconnected (and its subscriptions restored); a message that
//! could not be published is logged (`warn`) and counted ([`RedisAdapterFactory::unpublished`]),
//! and the local part of a broadcast still happens. A request (`fetch_sockets`,
//! `server_side_emit` with ack, broadcast with acks) that some node does not answer ends at
//! the timeout with the reference's error.
//!
//! ```no_run
//! use socketio_server::adapter::redis::{RedisAdapterConfig, RedisAdapterFactory};
//! use socketio_server::{Config, SocketIo};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let redis = RedisAdapterFactory::connect("redis://127.0.0.1:6379", RedisAdapterConfig::default()).await?;
//! let mut config = Config::default();
//! config.adapter(redis.factory());
//! let io = SocketIo::new(config);
//! io.of("/").on_connection(|socket| async move {
//!     socket.join("room1");
//! });
//! // Reaches the members of "room1" on every node.
//! let _ = io.to("room1").emit("hello", &"world");
//! # Ok(()) }
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{PushInfo, PushKind};
use socketio_proto::cluster::adapter::{ClusterMessage, MessageBody, ShardedChannels};
use socketio_proto::cluster::request::{AckCount, Answers, Requester};
use socketio_proto::cluster::streams::{self as stream_format, DeliveryLog};
use socketio_proto::cluster::{self, classic};
use socketio_proto::recovery::{PersistedSession, RecoveryConfig, RestoredSession};
use socketio_proto::{Payload, Value};
use tokio::sync::{mpsc, oneshot};

pub use socketio_proto::cluster::adapter::SubscriptionMode;
pub use streams::StreamsConfig;

mod streams;

use super::{
    AckCollection, Adapter, AdapterError, AdapterFuture, BroadcastOptions, BroadcastReport,
    EventPacket, InMemoryAdapter, RoomEvent, RoomListener, ServerSideEvent, ServerSideListener,
    SocketInfo, convert_payload,
};
use crate::io::AdapterContext;
use crate::socket::{Socket, ack_response};

/// The error of the Redis client.
pub use redis::RedisError;

/// Messages waiting to be published, past which a broadcast is reported unpublished
/// ([`BroadcastReport::unpublished`]) instead of queued.
const PUBLISH_QUEUE: usize = 65_536;
/// Answers buffered for one pending request, past which further ones are dropped.
const REPLY_BUFFER: usize = 4_096;
/// The reference's timeout of `serverSideEmit` with ack on the sharded adapter, and of
/// `fetchSockets` without `timeout` flag.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(5);

/// Options of the Redis adapter, with the reference's names and defaults.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedisAdapterConfig {
    /// The channel prefix (`key` of the classic adapter, `channelPrefix` of the sharded
    /// one): `"socket.io"`.
    pub key: String,
    /// How long `fetch_sockets` and `server_side_emit` with ack wait for the other nodes
    /// (classic `requestsTimeout`): 5 s.
    pub requests_timeout: Duration,
    /// Answer requests on the requester's own channel (classic
    /// `publishOnSpecificResponseChannel`): false.
    pub publish_on_specific_response_channel: bool,
    /// `Some(mode)` for the sharded adapter (`createShardedAdapter`), `None` (the default)
    /// for the classic one.
    pub sharded: Option<SubscriptionMode>,
    /// `Some(options)` for the streams adapter (`@socket.io/redis-streams-adapter`); it
    /// takes precedence over `sharded`.
    pub streams: Option<StreamsConfig>,
}

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        Self {
            key: classic::DEFAULT_KEY.to_owned(),
            requests_timeout: CLUSTER_TIMEOUT,
            publish_on_specific_response_channel: false,
            sharded: None,
            streams: None,
        }
    }
}

impl RedisAdapterConfig {
    /// Sets the channel prefix.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// Sets the requests timeout.
    #[must_use]
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }

    /// Answers on the requester's own response channel.
    #[must_use]
    pub fn publish_on_specific_response_channel(mut self, on: bool) -> Self {
        self.publish_on_specific_response_channel = on;
        self
    }

    /// Uses the sharded adapter (Redis ≥ 7) with this subscription mode.
    #[must_use]
    pub fn sharded(mut self, mode: SubscriptionMode) -> Self {
        self.sharded = Some(mode);
        self
    }

    /// Uses the streams adapter with these options.
    #[must_use]
    pub fn streams(mut self, options: StreamsConfig) -> Self {
        self.streams = Some(options);
        self
    }

    /// The pub/sub publish command: `SPUBLISH` for the sharded adapter and the streams
    /// adapter on sharded pub/sub, else `PUBLISH`.
    fn publish_command(&self) -> &'static str {
        match &self.streams {
            Some(s) if s.use_sharded_pubsub => "SPUBLISH",
            Some(_) => "PUBLISH",
            None if self.sharded.is_some() => "SPUBLISH",
            None => "PUBLISH",
        }
    }
}

/// One write to Redis, in order.
enum Publish {
    /// `PUBLISH` (or `SPUBLISH`).
    Message { channel: String, bytes: Bytes },
    /// `XADD` to a stream; `fallback` is delivered locally if it cannot be written.
    Entry {
        stream: Arc<str>,
        fields: Vec<(&'static str, String)>,
        fallback: Option<Fallback>,
    },
    /// `SET key value PX ttl`: a session kept for connection state recovery.
    Session {
        key: String,
        value: String,
        ttl: Duration,
    },
}

/// A broadcast this node leaves to the stream reader to deliver locally (with its offset):
/// delivered here without offset if the stream cannot be written.
struct Fallback {
    adapter: Weak<RedisAdapter>,
    packet: EventPacket,
    opts: BroadcastOptions,
}

/// What every namespace's adapter of one server shares: the two Redis connections and the
/// publishing queue.
struct Shared {
    config: RedisAdapterConfig,
    /// For the stream readers' own connections.
    client: redis::Client,
    /// The streams being read (one reader task each).
    readers: Mutex<HashSet<String>>,
    /// Commands and `PUBLISH`: never subscribed, so it is not counted by `NUMSUB`.
    publisher: ConnectionManager,
    /// Subscriptions only (RESP3; messages arrive as pushes); resubscribed after a
    /// reconnection.
    subscriber: ConnectionManager,
    queue: mpsc::Sender<Publish>,
    namespaces: RwLock<Vec<Weak<RedisAdapter>>>,
    unpublished: AtomicU64,
    /// The subscriptions every namespace wants, and those the current subscriber
    /// connection has; one task makes the second match the first, in order.
    subscriptions: Mutex<Subscriptions>,
    resync: Arc<tokio::sync::Notify>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Ends the subscription task.
        self.resync.notify_one();
    }
}

/// A subscription: the command (`SUBSCRIBE`, `PSUBSCRIBE`, `SSUBSCRIBE`) and its channel.
type Subscription = (&'static str, String);

#[derive(Default)]
struct Subscriptions {
    wanted: HashSet<Subscription>,
    active: HashSet<Subscription>,
}

impl Shared {
    /// Wants (or no longer wants) a subscription; the subscription task applies it.
    fn subscribe(&self, command: &'static str, channel: String, on: bool) {
        {
            let mut subs = self.subscriptions.lock().unwrap_or_else(|e| e.into_inner());
            if on {
                subs.wanted.insert((command, channel));
            } else {
                subs.wanted.remove(&(command, channel));
            }
        }
        self.resync.notify_one();
    }
}

/// Makes the subscriber connection's subscriptions match the wanted ones, whenever they
/// change or the connection came back (then it has none).
async fn subscription_loop(shared: Weak<Shared>, resync: Arc<tokio::sync::Notify>) {
    loop {
        let notified = resync.notified();
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let (add, remove): (Vec<Subscription>, Vec<Subscription>) = {
            let subs = strong
                .subscriptions
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            (
                subs.wanted.difference(&subs.active).cloned().collect(),
                subs.active.difference(&subs.wanted).cloned().collect(),
            )
        };
        let mut conn = strong.subscriber.clone();
        let changes = add
            .into_iter()
            .map(|s| (s, true))
            .chain(remove.into_iter().map(|s| (s, false)));
        for ((command, channel), on) in changes {
            let verb = match (command, on) {
                (c, true) => c,
                ("SUBSCRIBE", false) => "UNSUBSCRIBE",
                ("PSUBSCRIBE", false) => "PUNSUBSCRIBE",
                (_, false) => "SUNSUBSCRIBE",
            };
            match redis::cmd(verb).arg(&channel).exec_async(&mut conn).await {
                Ok(()) => {
                    let mut subs = strong
                        .subscriptions
                        .lock()
                        .unwrap_or_else(|e| e.into_inner());
                    if on {
                        subs.active.insert((command, channel));
                    } else {
                        subs.active.remove(&(command, channel));
                    }
                }
                Err(e) => {
                    // The connection is down: the watcher resynchronizes once it is back.
                    tracing::warn!(error = %e, %channel, "cluster: {verb} failed");
                    break;
                }
            }
        }
        drop(strong);
        notified.await;
    }
}

/// Connects to Redis and builds a [`RedisAdapter`] for each namespace of a server
/// ([`RedisAdapterFactory::factory`]). One factory per server: its subscriber connection
/// holds the subscriptions of every namespace, each once, so that `PUBSUB NUMSUB` counts
/// this server once.
#[derive(Clone)]
pub struct RedisAdapterFactory {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RedisAdapterFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapterFactory")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl RedisAdapterFactory {
    /// Connects to the Redis server at `url` (`redis://host:port/db`). Must be called
    /// inside a tokio runtime.
    pub async fn connect(url: &str, config: RedisAdapterConfig) -> Result<Self, RedisError> {
        let info = redis::IntoConnectionInfo::into_connection_info(url)?;
        let client = redis::Client::open(info.clone())?;
        let publisher =
            ConnectionManager::new_with_config(client.clone(), manager_config()).await?;
        let resp3 = info.clone().set_redis_settings(
            info.redis_settings()
                .clone()
                .set_protocol(redis::ProtocolVersion::RESP3),
        );
        let (push_tx, push_rx) = mpsc::unbounded_channel();
        let subscriber = ConnectionManager::new_with_config(
            redis::Client::open(resp3)?,
            manager_config().set_push_sender(push_tx),
        )
        .await?;
        let (queue, queue_rx) = mpsc::channel(PUBLISH_QUEUE);
        let shared = Arc::new(Shared {
            config,
            client,
            readers: Mutex::new(HashSet::new()),
            publisher,
            subscriber,
            queue,
            namespaces: RwLock::new(Vec::new()),
            unpublished: AtomicU64::new(0),
            subscriptions: Mutex::new(Subscriptions::default()),
            resync: Arc::new(tokio::sync::Notify::new()),
        });
        tokio::spawn(publish_loop(Arc::downgrade(&shared), queue_rx));
        tokio::spawn(subscription_loop(
            Arc::downgrade(&shared),
            shared.resync.clone(),
        ));
        tokio::spawn(receive_loop(Arc::downgrade(&shared), push_rx));
        Ok(Self { shared })
    }

    /// The adapter factory to give to [`Config::adapter`](crate::Config::adapter).
    pub fn factory(&self) -> impl Fn(&AdapterContext) -> Arc<dyn Adapter> + Send + Sync + 'static {
        let shared = self.shared.clone();
        move |cx: &AdapterContext| RedisAdapter::new(shared.clone(), cx) as Arc<dyn Adapter>
    }

    /// Messages that could not be published so far (Redis unreachable, or the queue full).
    pub fn unpublished(&self) -> u64 {
        self.shared.unpublished.load(Ordering::Relaxed)
    }
}

fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_secs(2))
        // About 3 s of attempts (50 ms doubling to 1.6 s), as node-redis's offline queue
        // waits; then the command fails, and what it carried is reported, not held forever.
        .set_number_of_retries(6)
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(Duration::from_secs(5)))
}

/// Publishes queued messages in order, pipelining what is queued at once.
async fn publish_loop(shared: Weak<Shared>, mut queue: mpsc::Receiver<Publish>) {
    let mut batch = Vec::with_capacity(256);
    while queue.recv_many(&mut batch, 256).await > 0 {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let command = shared.config.publish_command();
        let max_len = shared.config.streams.as_ref().map_or(0, |s| s.max_len);
        let mut pipe = redis::pipe();
        for message in &batch {
            match message {
                Publish::Message { channel, bytes } => {
                    pipe.cmd(command).arg(channel).arg(bytes.as_ref()).ignore();
                }
                Publish::Entry { stream, fields, .. } => {
                    let cmd = pipe
                        .cmd("XADD")
                        .arg(stream.as_ref())
                        .arg("MAXLEN")
                        .arg("~")
                        .arg(max_len)
                        .arg("*");
                    for (key, value) in fields {
                        cmd.arg(*key).arg(value);
                    }
                    cmd.ignore();
                }
                Publish::Session { key, value, ttl } => {
                    pipe.cmd("SET")
                        .arg(key)
                        .arg(value)
                        .arg("PX")
                        .arg(ttl.as_millis() as u64)
                        .ignore();
                }
            }
        }
        let mut conn = shared.publisher.clone();
        if let Err(e) = pipe.exec_async(&mut conn).await {
            shared
                .unpublished
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            tracing::warn!(
                error = %e,
                messages = batch.len(),
                "cluster: messages not published to the other nodes (Redis unreachable)"
            );
            // What this node's own sockets were to get from the stream, they get now.
            for message in batch.drain(..) {
                if let Publish::Entry {
                    fallback: Some(f), ..
                } = message
                {
                    if let Some(adapter) = f.adapter.upgrade() {
                        adapter.local.broadcast(&f.packet, &f.opts);
                    }
                }
            }
        }
        batch.clear();
    }
}

/// Hands every message received on a subscription to the adapter of its namespace.
async fn receive_loop(shared: Weak<Shared>, mut pushes: mpsc::UnboundedReceiver<PushInfo>) {
    while let Some(push) = pushes.recv().await {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let (channel, payload) = match (push.kind, push.data.as_slice()) {
            (PushKind::Message | PushKind::SMessage, [channel, payload]) => (channel, payload),
            (PushKind::PMessage, [_pattern, channel, payload]) => (channel, payload),
            (PushKind::Disconnection, _) => {
                let first = {
                    let mut subs = shared
                        .subscriptions
                        .lock()
                        .unwrap_or_else(|e| e.into_inner());
                    let had = !subs.active.is_empty();
                    subs.active.clear();
                    had
                };
                if first {
                    tracing::warn!(
                        "cluster: the Redis subscriber connection was lost; reconnecting"
                    );
                    tokio::spawn(watch_subscriber(Arc::downgrade(&shared)));
                }
                continue;
            }
            _ => continue,
        };
        let (Some(channel), Some(payload)) = (bytes_of(channel), bytes_of(payload)) else {
            continue;
        };
        let Ok(channel) = std::str::from_utf8(&channel) else {
            continue;
        };
        let adapters: Vec<Arc<RedisAdapter>> = shared
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for adapter in adapters {
            if adapter.on_message(channel, &payload) {
                break;
            }
        }
    }
}

/// After the subscriber connection was lost: pings it until it is back (the connection
/// manager reconnects on a command that fails), then has the subscriptions restored.
async fn watch_subscriber(shared: Weak<Shared>) {
    let mut delay = Duration::from_millis(100);
    loop {
        tokio::time::sleep(delay).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let mut conn = shared.subscriber.clone();
        match redis::cmd("PING")
            .query_async::<redis::Value>(&mut conn)
            .await
        {
            Ok(_) => {
                tracing::info!("cluster: the Redis subscriber connection is back");
                shared.resync.notify_one();
                return;
            }
            Err(_) => delay = (delay * 2).min(Duration::from_secs(2)),
        }
    }
}

fn bytes_of(value: &redis::Value) -> Option<Bytes> {
    if let redis::Value::BulkString(b) = value {
        return Some(Bytes::copy_from_slice(b));
    }
    if let redis::Value::SimpleString(s) = value {
        return Some(Bytes::copy_from_slice(s.as_bytes()));
    }
    None
}

/// The channels of one namespace, by protocol.
enum Proto {
    Classic(classic::Channels),
    Sharded(ShardedChannels, SubscriptionMode),
    /// The streams adapter: the pub/sub channels (named as the sharded adapter's) and the
    /// namespace's stream.
    Streams(ShardedChannels, Arc<str>),
}

/// One answer to a pending request.
enum Reply {
    /// FETCH_SOCKETS / REMOTE_FETCH (and any untyped classic answer).
    Sockets(Vec<cluster::SocketDetails>),
    /// SERVER_SIDE_EMIT: one node's answer.
    ServerSide(Option<Payload>),
    /// BROADCAST with acks: one node's client count.
    ClientCount(u64),
    /// BROADCAST with acks: one client's answer.
    Ack(Option<Payload>),
}

/// The adapter of one namespace of one node. See the module docs.
pub struct RedisAdapter {
    local: InMemoryAdapter,
    parser: socketio_proto::ParserKind,
    nsp: String,
    uid: String,
    shared: Arc<Shared>,
    proto: Proto,
    /// Pending requests of this node, by request id.
    requests: Mutex<HashMap<String, mpsc::Sender<Reply>>>,
    /// Broadcasts with acks this node sent (the classic adapter ignores its own).
    own_acks: Mutex<HashSet<String>>,
    server_side: RwLock<Option<ServerSideListener>>,
    room_listener: RwLock<Option<RoomListener>>,
    /// Connection state recovery (streams adapter only: the others keep no session).
    recovery: Option<RecoveryConfig>,
    /// Streams adapter with recovery: what the stream reader delivered here lately.
    log: Mutex<DeliveryLog>,
    this: Weak<Self>,
}

impl std::fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("nsp", &self.nsp)
            .field("uid", &self.uid)
            .finish_non_exhaustive()
    }
}

impl RedisAdapter {
    fn new(shared: Arc<Shared>, cx: &AdapterContext) -> Arc<Self> {
        let nsp = cx.nsp.as_str();
        let (uid, proto) = match (&shared.config.streams, shared.config.sharded) {
            (Some(streams), _) => {
                let uid = random_hex(16);
                let channels = ShardedChannels::new(&shared.config.key, nsp, &uid);
                let stream =
                    stream_format::stream_name(&streams.stream_name, streams.stream_count, nsp);
                (uid, Proto::Streams(channels, stream.into()))
            }
            (None, None) => {
                let uid = random_id(6);
                let channels = classic::Channels::new(&shared.config.key, nsp, &uid);
                (uid, Proto::Classic(channels))
            }
            (None, Some(mode)) => {
                let uid = random_hex(16);
                let channels = ShardedChannels::new(&shared.config.key, nsp, &uid);
                (uid, Proto::Sharded(channels, mode))
            }
        };
        let adapter = Arc::new_cyclic(|this| Self {
            local: InMemoryAdapter::new(cx.max_buffered, cx.slow_client),
            parser: cx.parser,
            nsp: nsp.to_owned(),
            uid,
            shared: shared.clone(),
            proto,
            requests: Mutex::new(HashMap::new()),
            own_acks: Mutex::new(HashSet::new()),
            server_side: RwLock::new(None),
            room_listener: RwLock::new(None),
            recovery: cx
                .recovery
                .clone()
                .filter(|_| shared.config.streams.is_some()),
            log: Mutex::new(DeliveryLog::default()),
            this: this.clone(),
        });
        let this = Arc::downgrade(&adapter);
        adapter.local.on_room_event(Arc::new(move |event| {
            if let Some(adapter) = this.upgrade() {
                adapter.on_room_event_local(event);
            }
        }));
        shared
            .namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&adapter));
        adapter.subscribe(true);
        match &adapter.proto {
            Proto::Classic(_) | Proto::Sharded(..) => {}
            Proto::Streams(_, stream) => {
                let new = shared
                    .readers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(stream.to_string());
                if new {
                    tokio::spawn(streams::stream_reader(
                        Arc::downgrade(&shared),
                        stream.to_string(),
                    ));
                }
            }
        }
        adapter
    }

    /// Wants (`on`) or drops the subscriptions of this namespace's channels.
    fn subscribe(&self, on: bool) {
        let shared = &self.shared;
        match &self.proto {
            Proto::Classic(c) => {
                shared.subscribe("PSUBSCRIBE", c.broadcast_pattern(), on);
                for channel in c.subscriptions() {
                    shared.subscribe("SUBSCRIBE", channel.to_owned(), on);
                }
            }
            Proto::Sharded(c, _) => {
                shared.subscribe("SSUBSCRIBE", c.main().to_owned(), on);
                shared.subscribe("SSUBSCRIBE", c.response().to_owned(), on);
            }
            Proto::Streams(c, _) => {
                let command = if shared.config.publish_command() == "SPUBLISH" {
                    "SSUBSCRIBE"
                } else {
                    "SUBSCRIBE"
                };
                shared.subscribe(command, c.main().to_owned(), on);
                shared.subscribe(command, c.response().to_owned(), on);
            }
        }
    }

    /// This adapter's uid (per namespace and node, as the reference).
    pub fn uid(&self) -> &str {
        &self.uid
    }

    fn arc(&self) -> Option<Arc<Self>> {
        self.this.upgrade()
    }

    /// Queues a message; false when it could not be (the queue is full).
    fn publish(&self, channel: String, bytes: Bytes) -> bool {
        self.enqueue(Publish::Message { channel, bytes })
    }

    /// Queues a write; false when it could not be (the queue is full).
    fn enqueue(&self, publish: Publish) -> bool {
        match self.shared.queue.try_send(publish) {
            Ok(()) => true,
            Err(_) => {
                self.shared.unpublished.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(nsp = %self.nsp, "cluster: publish queue full, message not sent to the other nodes");
                false
            }
        }
    }

    /// Sends a `ClusterAdapter` message (sharded and streams protocols): published on its
    /// channel, or, streams, written to the stream when it is durable.
    fn publish_sharded(&self, body: MessageBody) -> bool {
        let message = ClusterMessage::new(self.uid.clone(), self.nsp.clone(), body);
        let (channel, encoded) = match &self.proto {
            Proto::Sharded(channels, mode) => (
                channels.publish_channel(&message, *mode),
                message.encode_sharded(),
            ),
            Proto::Streams(channels, stream) => {
                if stream_format::is_durable(&message) {
                    return self.append(stream, &message, None);
                }
                (channels.main().to_owned(), message.encode_msgpack())
            }
            Proto::Classic(_) => return false,
        };
        match encoded {
            Ok(bytes) => self.publish(channel, bytes),
            Err(e) => {
                tracing::warn!(error = %e, "cluster: message not encodable");
                false
            }
        }
    }

    /// Publishes a response (sharded) to `requester`.
    fn respond_sharded(&self, requester: &str, body: MessageBody) {
        let message = ClusterMessage::new(self.uid.clone(), self.nsp.clone(), body);
        let (channels, encoded) = match &self.proto {
            Proto::Sharded(channels, _) => (channels, message.encode_sharded()),
            Proto::Streams(channels, _) => (channels, message.encode_msgpack()),
            Proto::Classic(_) => return,
        };
        if let Ok(bytes) = encoded {
            self.publish(channels.response_to(requester), bytes);
        }
    }

    /// Writes a message to the stream (`XADD`), with what to deliver locally if it cannot
    /// be written; false when it could not be queued.
    fn append(
        &self,
        stream: &Arc<str>,
        message: &ClusterMessage,
        fallback: Option<Fallback>,
    ) -> bool {
        let only_plaintext = self
            .shared
            .config
            .streams
            .as_ref()
            .is_some_and(|s| s.only_plaintext);
        match stream_format::encode_entry(message, only_plaintext) {
            Ok(fields) => self.enqueue(Publish::Entry {
                stream: stream.clone(),
                fields,
                fallback,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "cluster: message not encodable");
                false
            }
        }
    }

    /// Publishes a classic request.
    fn publish_request(&self, request: &classic::Request) -> bool {
        let Proto::Classic(channels) = &self.proto else {
            return false;
        };
        match request.encode() {
            Ok(bytes) => self.publish(channels.request().to_owned(), bytes),
            Err(e) => {
                tracing::warn!(error = %e, "cluster: request not encodable");
                false
            }
        }
    }

    /// Publishes a classic response to a request from `requester`.
    fn respond_classic(&self, requester: Option<&str>, response: &classic::Response, common: bool) {
        let Proto::Classic(channels) = &self.proto else {
            return;
        };
        let channel = if common {
            channels.response().to_owned()
        } else {
            channels.response_channel_for(
                requester,
                self.shared.config.publish_on_specific_response_channel,
            )
        };
        if let Ok(bytes) = response.encode() {
            self.publish(channel, bytes);
        }
    }

    /// Registers a pending request; the answers arrive on the receiver.
    fn pending(&self) -> (String, mpsc::Receiver<Reply>) {
        let id = match self.proto {
            Proto::Classic(_) => random_id(6),
            Proto::Sharded(..) | Proto::Streams(..) => random_hex(16),
        };
        let (tx, rx) = mpsc::channel(REPLY_BUFFER);
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), tx);
        (id, rx)
    }

    fn forget(&self, id: &str) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    fn reply(&self, id: &str, reply: Reply) {
        let tx = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned();
        if let Some(tx) = tx {
            let _ = tx.try_send(reply);
        }
    }

    fn is_own_request(&self, id: &str) -> bool {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(id)
            || self
                .own_acks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(id)
    }

    fn on_room_event_local(&self, event: RoomEvent) {
        if let Proto::Sharded(channels, mode) = &self.proto {
            let subscribe = match (&event, mode) {
                (RoomEvent::Created(room), SubscriptionMode::Dynamic)
                    if !self.local.has_socket(room) =>
                {
                    Some(("SSUBSCRIBE", channels.room(room)))
                }
                (RoomEvent::Created(room), SubscriptionMode::DynamicPrivate) => {
                    Some(("SSUBSCRIBE", channels.room(room)))
                }
                (
                    RoomEvent::Deleted(room),
                    SubscriptionMode::Dynamic | SubscriptionMode::DynamicPrivate,
                ) => Some(("SUNSUBSCRIBE", channels.room(room))),
                _ => None,
            };
            if let Some((command, channel)) = subscribe {
                self.subscription(command, channel);
            }
        }
        let listener = self
            .room_listener
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(listener) = listener {
            listener(event);
        }
    }

    fn subscription(&self, command: &'static str, channel: String) {
        self.shared
            .subscribe("SSUBSCRIBE", channel, command == "SSUBSCRIBE");
    }

    /// Handles a message on `channel`; true when the channel belongs to this namespace.
    fn on_message(&self, channel: &str, payload: &Bytes) -> bool {
        match &self.proto {
            Proto::Classic(channels) => match channels.classify(channel) {
                classic::ChannelKind::Broadcast { room } => {
                    self.on_classic_broadcast(room, payload);
                    true
                }
                classic::ChannelKind::Request => {
                    self.on_classic_request(payload);
                    true
                }
                classic::ChannelKind::Response => {
                    self.on_classic_response(payload);
                    true
                }
                classic::ChannelKind::Other | _ => false,
            },
            Proto::Sharded(channels, _) | Proto::Streams(channels, _) => {
                if !channel.starts_with(channels.main()) {
                    return false;
                }
                match ClusterMessage::decode(payload.clone()) {
                    Ok(message) => self.on_cluster_message(message),
                    Err(e) => {
                        tracing::warn!(error = %e, %channel, "cluster: malformed message ignored")
                    }
                }
                true
            }
        }
    }

    fn on_classic_broadcast(&self, room: Option<&str>, payload: &Bytes) {
        // A room this node does not have: nothing to do, no need to decode (§2.4).
        if let Some(room) = room {
            if !self.local.has_room(room) {
                return;
            }
        }
        let message = match classic::Broadcast::decode(payload.clone()) {
            Ok(message) => message,
            Err(e) => {
                tracing::warn!(error = %e, "cluster: malformed broadcast ignored");
                return;
            }
        };
        if message.is_echo(&self.uid) || message.nsp() != self.nsp {
            return;
        }
        self.deliver_remote(message.packet.data, &message.opts);
    }

    /// Delivers a packet from another node to the local sockets it targets.
    fn deliver_remote(&self, data: Payload, opts: &cluster::BroadcastOptions) {
        let opts = local_options(opts);
        match self.local_packet(data) {
            Some(packet) => {
                self.local.broadcast(&packet, &opts);
            }
            None => {
                tracing::warn!(nsp = %self.nsp, "cluster: broadcast payload not readable, ignored")
            }
        }
    }

    /// A stream entry (streams adapter), in stream order. This node's own broadcasts come
    /// back here when recovery is on: they are delivered locally now, with their offset, in
    /// the stream's order; everything else of its own was applied when it was sent.
    fn on_stream_entry(&self, id: &str, message: ClusterMessage) {
        if message.nsp != self.nsp {
            return;
        }
        let own = message.uid == self.uid;
        match message.body {
            MessageBody::Broadcast {
                packet,
                request_id: None,
                opts,
            } if !own || (self.recovery.is_some() && !opts.flags().volatile()) => {
                self.deliver_at(id, packet.data, &opts);
            }
            // Applied when it was sent.
            MessageBody::Broadcast { .. } | _ if own => {}
            body @ MessageBody::Broadcast { .. } | body => {
                self.on_cluster_message(ClusterMessage::new(message.uid, message.nsp, body));
            }
        }
    }

    /// Delivers stream entry `id` to the local sockets it targets; with recovery on, with
    /// `id` as its offset and recorded in the delivery log (a recovered socket that got it
    /// among its missed events is left out), atomically with
    /// [`Adapter::add_recovered_socket`].
    fn deliver_at(&self, id: &str, data: Payload, opts: &cluster::BroadcastOptions) {
        let mut local = local_options(opts);
        let Some(packet) = self.local_packet(data) else {
            tracing::warn!(nsp = %self.nsp, "cluster: broadcast payload not readable, ignored");
            return;
        };
        if self.recovery.is_none() || local.flags.volatile {
            self.local.broadcast(&packet, &local);
            return;
        }
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let skip = log.deliver(id, &opts.rooms, &opts.except, packet.payload());
        local.except.extend(skip);
        let packet = packet.with_offset(id).unwrap_or(packet);
        self.local.broadcast(&packet, &local);
    }

    /// Streams adapter with recovery: a broadcast is written to the stream and delivered
    /// here by the stream reader, with its offset (`None`: not such a broadcast).
    fn broadcast_through_stream(
        &self,
        packet: &EventPacket,
        opts: &BroadcastOptions,
    ) -> Option<BroadcastReport> {
        let Proto::Streams(_, stream) = &self.proto else {
            return None;
        };
        if self.recovery.is_none() || opts.flags.volatile || opts.flags.local {
            return None;
        }
        let data = packet.msgpack_payload().ok()?;
        let message = ClusterMessage::new(
            self.uid.clone(),
            self.nsp.clone(),
            MessageBody::Broadcast {
                packet: cluster::BroadcastPacket::event(data, None),
                request_id: None,
                opts: wire_options(opts),
            },
        );
        let fallback = Fallback {
            adapter: self.this.clone(),
            packet: packet.clone(),
            opts: opts.clone(),
        };
        if self.append(stream, &message, Some(fallback)) {
            Some(BroadcastReport {
                delivered: self.local.targets(opts).len(),
                ..BroadcastReport::default()
            })
        } else {
            let mut report = self.local.broadcast(packet, opts);
            report.unpublished = true;
            Some(report)
        }
    }

    fn local_packet(&self, data: Payload) -> Option<EventPacket> {
        let parser = self.parser();
        let nsp = socketio_proto::Namespace::new(self.nsp.clone()).ok()?;
        EventPacket::new(nsp, parser, data).ok()
    }

    fn parser(&self) -> socketio_proto::ParserKind {
        self.parser
    }

    fn on_classic_request(&self, payload: &Bytes) {
        let request = match classic::Request::decode(payload.clone()) {
            Ok(request) => request,
            Err(e) => {
                tracing::warn!(error = %e, "cluster: malformed request ignored");
                return;
            }
        };
        if request.is_ignored_by(&self.uid, |id| self.is_own_request(id)) {
            return;
        }
        match request {
            classic::Request::Sockets {
                uid,
                request_id,
                rooms,
            } => {
                let sockets = self.local.sockets(&rooms).into_iter().collect();
                self.respond_classic(
                    uid.as_deref(),
                    &classic::Response::SocketIds {
                        request_id,
                        sockets,
                    },
                    false,
                );
            }
            classic::Request::AllRooms { uid, request_id } => {
                let rooms = self.local.all_rooms();
                self.respond_classic(
                    uid.as_deref(),
                    &classic::Response::AllRooms { request_id, rooms },
                    false,
                );
            }
            classic::Request::RemoteJoin { opts, rooms, .. } => {
                self.local.add_sockets(&local_options(&opts), &rooms);
            }
            classic::Request::RemoteLeave { opts, rooms, .. } => {
                self.local.del_sockets(&local_options(&opts), &rooms);
            }
            classic::Request::RemoteDisconnect { opts, close, .. } => {
                self.local.disconnect_sockets(&local_options(&opts), close);
            }
            classic::Request::RemoteFetch {
                uid,
                request_id,
                opts,
            } => {
                let sockets = self
                    .local
                    .fetch_local(&local_options(&opts))
                    .iter()
                    .filter_map(details_of)
                    .collect();
                self.respond_classic(
                    uid.as_deref(),
                    &classic::Response::FetchSockets {
                        request_id,
                        sockets,
                    },
                    false,
                );
            }
            classic::Request::ServerSideEmit {
                request_id, data, ..
            } => {
                let Some(this) = self.arc() else { return };
                this.on_server_side(data, request_id, None);
            }
            classic::Request::Broadcast {
                uid,
                request_id,
                packet,
                opts,
            } => {
                let Some(this) = self.arc() else { return };
                this.answer_broadcast_with_ack(uid, request_id, packet.data, &opts);
            }
            classic::Request::LegacySocketOp {
                uid,
                request_id,
                op,
                sid,
                room,
                close,
            } => {
                if let Some(socket) = self.local.socket(&sid) {
                    match op {
                        classic::RequestType::RemoteJoin => socket.join(room.unwrap_or_default()),
                        classic::RequestType::RemoteLeave => {
                            socket.leave(room.as_deref().unwrap_or_default());
                        }
                        _ if close == Some(true) => socket.close(),
                        classic::RequestType::RemoteDisconnect | _ => socket.disconnect(),
                    }
                    if let Some(request_id) = request_id {
                        self.respond_classic(
                            uid.as_deref(),
                            &classic::Response::Done { request_id },
                            false,
                        );
                    }
                }
            }
            _ => {}
        }
    }

    fn on_classic_response(&self, payload: &Bytes) {
        let response = match classic::Response::decode(payload.clone()) {
            Ok(response) => response,
            Err(e) => {
                tracing::warn!(error = %e, "cluster: malformed response ignored");
                return;
            }
        };
        let (id, reply) = match response {
            classic::Response::FetchSockets {
                request_id,
                sockets,
            } => (request_id, Reply::Sockets(sockets)),
            classic::Response::SocketIds { request_id, .. }
            | classic::Response::AllRooms { request_id, .. }
            | classic::Response::Done { request_id } => (request_id, Reply::Sockets(Vec::new())),
            classic::Response::ServerSideEmit { request_id, data } => {
                (request_id, Reply::ServerSide(data))
            }
            classic::Response::BroadcastClientCount {
                request_id,
                client_count,
            } => (request_id, Reply::ClientCount(client_count)),
            classic::Response::BroadcastAck { request_id, packet } => {
                (request_id, Reply::Ack(packet))
            }
            _ => return,
        };
        self.reply(&id, reply);
    }

    fn on_cluster_message(&self, message: ClusterMessage) {
        if !message.is_for(&self.uid, &self.nsp) {
            return;
        }
        let requester = message.uid;
        match message.body {
            MessageBody::Broadcast {
                packet,
                request_id: None,
                opts,
            } => {
                self.deliver_remote(packet.data, &opts);
            }
            MessageBody::Broadcast {
                packet,
                request_id: Some(request_id),
                opts,
            } => {
                let Some(this) = self.arc() else { return };
                this.answer_broadcast_with_ack(Some(requester), request_id, packet.data, &opts);
            }
            MessageBody::SocketsJoin { opts, rooms } => {
                self.local.add_sockets(&local_options(&opts), &rooms)
            }
            MessageBody::SocketsLeave { opts, rooms } => {
                self.local.del_sockets(&local_options(&opts), &rooms)
            }
            MessageBody::DisconnectSockets { opts, close } => {
                self.local
                    .disconnect_sockets(&local_options(&opts), close.unwrap_or(false));
            }
            MessageBody::FetchSockets { opts, request_id } => {
                let sockets = self
                    .local
                    .fetch_local(&local_options(&opts))
                    .iter()
                    .filter_map(details_of)
                    .collect();
                self.respond_sharded(
                    &requester,
                    MessageBody::FetchSocketsResponse {
                        request_id,
                        sockets,
                    },
                );
            }
            MessageBody::ServerSideEmit { request_id, packet } => {
                let Some(this) = self.arc() else { return };
                this.on_server_side(packet, request_id, Some(requester));
            }
            MessageBody::FetchSocketsResponse {
                request_id,
                sockets,
            } => self.reply(&request_id, Reply::Sockets(sockets)),
            MessageBody::ServerSideEmitResponse { request_id, packet } => {
                self.reply(&request_id, Reply::ServerSide(packet));
            }
            MessageBody::BroadcastClientCount {
                request_id,
                client_count,
            } => {
                self.reply(&request_id, Reply::ClientCount(client_count));
            }
            MessageBody::BroadcastAck { request_id, packet } => {
                self.reply(&request_id, Reply::Ack(packet))
            }
            // Heartbeats and ADAPTER_CLOSE belong to the heartbeat adapters (Postgres,
            // streams 0.2): the sharded adapter has none.
            MessageBody::InitialHeartbeat
            | MessageBody::Heartbeat
            | MessageBody::AdapterClose
            | _ => {}
        }
    }

    /// Another node's `server_side_emit`: hands it to the namespace's listener; with a
    /// request id, answers once with the listener's first answer.
    fn on_server_side(
        self: Arc<Self>,
        data: Payload,
        request_id: Option<String>,
        requester: Option<String>,
    ) {
        let Ok(data) = data.deserialize::<Vec<Value>>() else {
            tracing::warn!("cluster: server-side event not readable, ignored");
            return;
        };
        let listener = self
            .server_side
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(listener) = listener else { return };
        let Some(request_id) = request_id else {
            listener(ServerSideEvent { data, reply: None });
            return;
        };
        let (tx, rx) = oneshot::channel();
        listener(ServerSideEvent {
            data,
            reply: Some(tx),
        });
        tokio::spawn(async move {
            let Ok(answer) = rx.await else { return };
            let Ok(payload) = Payload::json(&answer) else {
                return;
            };
            match &self.proto {
                Proto::Classic(_) => self.respond_classic(
                    None,
                    &classic::Response::ServerSideEmit {
                        request_id,
                        data: Some(payload),
                    },
                    true,
                ),
                Proto::Sharded(..) | Proto::Streams(..) => {
                    let payload =
                        convert_payload(payload.clone(), socketio_proto::ParserKind::MsgPack)
                            .unwrap_or(payload);
                    self.respond_sharded(
                        requester.as_deref().unwrap_or_default(),
                        MessageBody::ServerSideEmitResponse {
                            request_id,
                            packet: Some(payload),
                        },
                    );
                }
            }
        });
    }

    /// Another node's broadcast with acks: delivers to the local targets, answers the
    /// number of clients once, then each client's answer (its first argument).
    fn answer_broadcast_with_ack(
        self: Arc<Self>,
        requester: Option<String>,
        request_id: String,
        data: Payload,
        opts: &cluster::BroadcastOptions,
    ) {
        let local_opts = local_options(opts);
        let Some(packet) = self.local_packet(data) else {
            return;
        };
        let (count, mut pending) = self.local.broadcast_with_ack_local(&packet, &local_opts);
        let count_body = |request_id: String| MessageBody::BroadcastClientCount {
            request_id,
            client_count: count as u64,
        };
        match &self.proto {
            Proto::Classic(_) => self.respond_classic(
                requester.as_deref(),
                &classic::Response::BroadcastClientCount {
                    request_id: request_id.clone(),
                    client_count: count as u64,
                },
                false,
            ),
            Proto::Sharded(..) | Proto::Streams(..) => {
                self.respond_sharded(
                    requester.as_deref().unwrap_or_default(),
                    count_body(request_id.clone()),
                );
            }
        }
        tokio::spawn(async move {
            while let Some(result) = pending.next().await {
                let Ok(response) = result else { continue };
                let first = response
                    .args::<Vec<Value>>()
                    .ok()
                    .and_then(|args| args.into_iter().next());
                let packet = first.and_then(|v| Payload::msgpack(&v).ok());
                match &self.proto {
                    Proto::Classic(_) => self.respond_classic(
                        requester.as_deref(),
                        &classic::Response::BroadcastAck {
                            request_id: request_id.clone(),
                            packet,
                        },
                        false,
                    ),
                    Proto::Sharded(..) | Proto::Streams(..) => self.respond_sharded(
                        requester.as_deref().unwrap_or_default(),
                        MessageBody::BroadcastAck {
                            request_id: request_id.clone(),
                            packet,
                        },
                    ),
                }
            }
        });
    }

    /// The number of nodes: the subscribers of the request channel (classic) or of the
    /// main channel (sharded).
    async fn count_servers(&self) -> usize {
        let (subcommand, channel) = match &self.proto {
            Proto::Classic(c) => ("NUMSUB", c.request().to_owned()),
            Proto::Sharded(c, _) => ("SHARDNUMSUB", c.main().to_owned()),
            Proto::Streams(c, _) if self.shared.config.publish_command() == "SPUBLISH" => {
                ("SHARDNUMSUB", c.main().to_owned())
            }
            Proto::Streams(c, _) => ("NUMSUB", c.main().to_owned()),
        };
        let mut conn = self.shared.publisher.clone();
        match redis::cmd("PUBSUB")
            .arg(subcommand)
            .arg(&channel)
            .query_async::<(String, usize)>(&mut conn)
            .await
        {
            Ok((_, count)) => count.max(1),
            Err(e) => {
                tracing::warn!(error = %e, "cluster: server count unknown (Redis unreachable); this node only");
                1
            }
        }
    }

    /// Publishes `opts`'s operation for the other nodes (or, classic, for every node
    /// including this one: it applies it when its own request comes back, as Node does).
    /// Returns true when this node must apply it itself now.
    fn publish_operation(
        &self,
        classic_request: classic::Request,
        sharded_body: MessageBody,
    ) -> bool {
        match self.proto {
            Proto::Classic(_) => !self.publish_request(&classic_request),
            Proto::Sharded(..) | Proto::Streams(..) => {
                self.publish_sharded(sharded_body);
                true
            }
        }
    }
}

/// The wire options for the other nodes.
fn wire_options(opts: &BroadcastOptions) -> cluster::BroadcastOptions {
    let mut flags = cluster::BroadcastFlags::new();
    if opts.flags.volatile {
        flags.set(cluster::Flag::Volatile(true));
    }
    if let Some(compress) = opts.flags.compress {
        flags.set(cluster::Flag::Compress(compress));
    }
    if let Some(timeout) = opts.flags.timeout {
        flags.set(cluster::Flag::Timeout(timeout.as_millis() as u64));
    }
    cluster::BroadcastOptions::new(opts.rooms.clone(), opts.except.clone(), Some(flags))
}

/// The local options of options from the wire.
fn local_options(opts: &cluster::BroadcastOptions) -> BroadcastOptions {
    let flags = opts.flags();
    let mut local = BroadcastOptions::new(opts.rooms.clone(), opts.except.clone());
    local.flags.volatile = flags.volatile();
    local.flags.compress = flags.compress();
    local.flags.timeout = flags.timeout().map(Duration::from_millis);
    local.flags.local = true;
    local
}

/// The wire description of a local socket (`None` if its handshake does not serialize).
fn details_of(info: &SocketInfo) -> Option<cluster::SocketDetails> {
    let handshake = info.handshake.to_payload().ok()?;
    let data = if info.data == Value::Null {
        None
    } else {
        Payload::json(&info.data).ok()
    };
    Some(cluster::SocketDetails::new(
        info.id.clone(),
        handshake,
        info.rooms.clone(),
        data,
    ))
}

/// A socket description from another node.
fn info_of(details: cluster::SocketDetails) -> SocketInfo {
    let handshake = details.handshake().unwrap_or_default();
    let data = details
        .data
        .as_ref()
        .and_then(|d| d.deserialize::<Value>().ok())
        .unwrap_or(Value::Null);
    SocketInfo {
        id: details.id,
        handshake,
        rooms: details.rooms,
        data,
        local: None,
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: ids still differ per process and call.
        let seed = std::process::id() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (seed.rotate_left(i as u32 * 7) & 0xff) as u8;
        }
    }
    bytes
}

/// `uid2(n)`: `n` random alphanumeric characters.
fn random_id(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    random_bytes::<32>()
        .iter()
        .take(n)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// `randomBytes(n / 2).toString("hex")`.
fn random_hex(n: usize) -> String {
    random_bytes::<32>()
        .iter()
        .take(n / 2)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Adapter for RedisAdapter {
    /// Unsubscribes this namespace's channels and leaves the node's list of namespaces (the
    /// reference's `close`). The stream reader, shared by the namespaces, stays.
    fn close(&self) {
        self.subscribe(false);
        self.shared
            .namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|n| n.upgrade().is_some_and(|n| !std::ptr::eq(&*n, self)));
    }

    fn add_socket(&self, socket: &Socket) {
        self.local.add_socket(socket);
        if let Proto::Sharded(channels, SubscriptionMode::DynamicPrivate) = &self.proto {
            self.subscription("SSUBSCRIBE", channels.room(socket.id()));
        }
    }

    fn remove_socket(&self, id: &str) {
        self.local.remove_socket(id);
        if let Proto::Sharded(channels, SubscriptionMode::DynamicPrivate) = &self.proto {
            self.subscription("SUNSUBSCRIBE", channels.room(id));
        }
    }

    fn add_all(&self, id: &str, rooms: &[String]) {
        self.local.add_all(id, rooms);
    }

    fn del(&self, id: &str, room: &str) {
        self.local.del(id, room);
    }

    fn del_all(&self, id: &str) {
        self.local.del_all(id);
    }

    fn sockets(&self, rooms: &[String]) -> HashSet<String> {
        self.local.sockets(rooms)
    }

    fn socket_rooms(&self, id: &str) -> Vec<String> {
        self.local.socket_rooms(id)
    }

    fn on_room_event(&self, listener: RoomListener) {
        *self
            .room_listener
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(listener);
    }

    fn broadcast(&self, packet: &EventPacket, opts: &BroadcastOptions) -> BroadcastReport {
        if let Some(report) = self.broadcast_through_stream(packet, opts) {
            return report;
        }
        let published = opts.flags.local || self.publish_broadcast(packet, opts);
        let mut report = self.local.broadcast(packet, opts);
        report.unpublished |= !published;
        report
    }

    fn broadcast_wait<'a>(
        &'a self,
        packet: &'a EventPacket,
        opts: &'a BroadcastOptions,
    ) -> AdapterFuture<'a, BroadcastReport> {
        Box::pin(async move {
            if let Some(report) = self.broadcast_through_stream(packet, opts) {
                return report;
            }
            let published = opts.flags.local || self.publish_broadcast(packet, opts);
            let mut report = self.local.broadcast_wait(packet, opts).await;
            report.unpublished |= !published;
            report
        })
    }

    fn broadcast_with_ack<'a>(
        &'a self,
        packet: &'a EventPacket,
        opts: &'a BroadcastOptions,
    ) -> AdapterFuture<'a, AckCollection> {
        Box::pin(async move {
            if opts.flags.local {
                return self.local.broadcast_with_ack(packet, opts).await;
            }
            let timeout = opts.flags.timeout.unwrap_or(CLUSTER_TIMEOUT);
            let deadline = tokio::time::Instant::now() + timeout;
            let (request_id, mut replies) = self.pending();
            let servers = self.count_servers();
            let Ok(data) = packet.msgpack_payload() else {
                self.forget(&request_id);
                return self.local.broadcast_with_ack(packet, opts).await;
            };
            let wire = wire_options(opts);
            match self.proto {
                Proto::Classic(_) => {
                    self.own_acks
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(request_id.clone());
                    let bp = cluster::BroadcastPacket::event(data, Some(self.nsp.clone()));
                    self.publish_request(&classic::Request::Broadcast {
                        uid: Some(self.uid.clone()),
                        request_id: request_id.clone(),
                        packet: bp,
                        opts: wire,
                    });
                }
                Proto::Sharded(..) | Proto::Streams(..) => {
                    self.publish_sharded(MessageBody::Broadcast {
                        packet: cluster::BroadcastPacket::event(data, None),
                        request_id: Some(request_id.clone()),
                        opts: wire,
                    });
                }
            }
            let (local_count, mut local) = self.local.broadcast_with_ack_local(packet, opts);
            let mut count = AckCount::new(local_count);
            count.expect_servers(servers.await);
            let mut collection = AckCollection::default();
            let mut local_done = local_count == 0;
            loop {
                if count.is_complete() {
                    collection.complete = true;
                    break;
                }
                tokio::select! {
                    result = local.next(), if !local_done => match result {
                        Some(Ok(response)) => {
                            count.answer();
                            collection.responses.push(response);
                        }
                        Some(Err(_)) => {}
                        None => local_done = true,
                    },
                    reply = replies.recv() => match reply {
                        Some(Reply::ClientCount(n)) => count.client_count(n),
                        Some(Reply::Ack(packet)) => {
                            count.answer();
                            let args = packet
                                .and_then(|p| p.deserialize::<Value>().ok())
                                .unwrap_or(Value::Null);
                            let payload = Payload::json(&[args]).ok();
                            collection.responses.push(ack_response(payload));
                        }
                        Some(_) => {}
                        None => break,
                    },
                    () = tokio::time::sleep_until(deadline) => break,
                }
            }
            self.forget(&request_id);
            self.own_acks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&request_id);
            collection
        })
    }

    fn fetch_sockets<'a>(
        &'a self,
        opts: &'a BroadcastOptions,
    ) -> AdapterFuture<'a, Result<Vec<SocketInfo>, AdapterError>> {
        Box::pin(async move {
            let mut sockets = self.local.fetch_local(opts);
            if opts.flags.local {
                return Ok(sockets);
            }
            let servers = self.count_servers().await;
            if servers <= 1 {
                return Ok(sockets);
            }
            let (request_id, mut replies) = self.pending();
            let wire =
                cluster::BroadcastOptions::new(opts.rooms.clone(), opts.except.clone(), None);
            // The classic adapter times out after requestsTimeout with its own message; the
            // ClusterAdapter (sharded) after the operation's timeout, counting answers.
            let (timeout, classic) = match self.proto {
                Proto::Classic(_) => {
                    self.publish_request(&classic::Request::RemoteFetch {
                        uid: Some(self.uid.clone()),
                        request_id: request_id.clone(),
                        opts: wire,
                    });
                    (self.shared.config.requests_timeout, true)
                }
                Proto::Sharded(..) | Proto::Streams(..) => {
                    self.publish_sharded(MessageBody::FetchSockets {
                        opts: wire_options(opts),
                        request_id: request_id.clone(),
                    });
                    (opts.flags.timeout.unwrap_or(CLUSTER_TIMEOUT), false)
                }
            };
            let mut answers = Answers::new(servers);
            let result = tokio::time::timeout(timeout, async {
                while !answers.is_complete() {
                    match replies.recv().await {
                        Some(Reply::Sockets(found)) => {
                            answers.answer();
                            sockets.extend(found.into_iter().map(info_of));
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
            })
            .await;
            self.forget(&request_id);
            match result {
                Ok(()) => Ok(sockets),
                Err(_) => Err(AdapterError::Timeout {
                    message: answers.timeout_message(if classic {
                        Requester::ClassicFetch
                    } else {
                        Requester::ClusterAdapter
                    }),
                    responses: Vec::new(),
                }),
            }
        })
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.room_operation(opts, rooms, true);
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.room_operation(opts, rooms, false);
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        if opts.flags.local {
            return self.local.disconnect_sockets(opts, close);
        }
        let wire = cluster::BroadcastOptions::new(opts.rooms.clone(), opts.except.clone(), None);
        let apply = self.publish_operation(
            classic::Request::RemoteDisconnect {
                uid: Some(self.uid.clone()),
                opts: wire,
                close,
            },
            MessageBody::DisconnectSockets {
                opts: wire_options(opts),
                close: Some(close),
            },
        );
        if apply {
            self.local.disconnect_sockets(opts, close);
        }
    }

    fn server_side_emit<'a>(
        &'a self,
        data: Vec<Value>,
        ack: Option<Duration>,
    ) -> AdapterFuture<'a, Result<Vec<Value>, AdapterError>> {
        Box::pin(async move {
            let json =
                Payload::json(&data).map_err(|e| AdapterError::Unavailable(e.to_string()))?;
            let Some(timeout) = ack else {
                let sent = match self.proto {
                    Proto::Classic(_) => self.publish_request(&classic::Request::ServerSideEmit {
                        uid: Some(self.uid.clone()),
                        request_id: None,
                        data: json,
                    }),
                    Proto::Sharded(..) | Proto::Streams(..) => {
                        self.publish_sharded(MessageBody::ServerSideEmit {
                            request_id: None,
                            packet: sharded_payload(json),
                        })
                    }
                };
                return if sent {
                    Ok(Vec::new())
                } else {
                    Err(AdapterError::Unavailable("publish queue full".to_owned()))
                };
            };
            let mut answers = Answers::new(self.count_servers().await);
            if answers.is_complete() {
                return Ok(Vec::new());
            }
            let (request_id, mut replies) = self.pending();
            match self.proto {
                Proto::Classic(_) => self.publish_request(&classic::Request::ServerSideEmit {
                    uid: Some(self.uid.clone()),
                    request_id: Some(request_id.clone()),
                    data: json,
                }),
                Proto::Sharded(..) | Proto::Streams(..) => {
                    self.publish_sharded(MessageBody::ServerSideEmit {
                        request_id: Some(request_id.clone()),
                        packet: sharded_payload(json),
                    })
                }
            };
            let mut responses = Vec::new();
            let _ = tokio::time::timeout(timeout, async {
                while !answers.is_complete() {
                    match replies.recv().await {
                        Some(Reply::ServerSide(answer)) => {
                            answers.answer();
                            responses.push(
                                answer
                                    .and_then(|p| p.deserialize::<Value>().ok())
                                    .unwrap_or(Value::Null),
                            );
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
            })
            .await;
            self.forget(&request_id);
            if !answers.is_complete() {
                return Err(AdapterError::Timeout {
                    message: answers.timeout_message(Requester::ClusterAdapter),
                    responses,
                });
            }
            Ok(responses)
        })
    }

    fn on_server_side_emit(&self, listener: ServerSideListener) {
        *self.server_side.write().unwrap_or_else(|e| e.into_inner()) = Some(listener);
    }

    fn server_count(&self) -> AdapterFuture<'_, usize> {
        Box::pin(self.count_servers())
    }

    fn persist_session(&self, session: PersistedSession) {
        let (Some(config), Some(recovery)) = (&self.shared.config.streams, &self.recovery) else {
            return;
        };
        match stream_format::encode_session_in(&session, &self.nsp) {
            Ok(value) => {
                self.enqueue(Publish::Session {
                    key: stream_format::session_key(&config.session_key_prefix, &session.pid),
                    value,
                    ttl: recovery.max_disconnection_duration,
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "connection state not kept: session not encodable")
            }
        }
    }

    fn restore_session<'a>(
        &'a self,
        pid: &'a str,
        offset: &'a str,
    ) -> AdapterFuture<'a, Option<RestoredSession>> {
        Box::pin(async move {
            let (Some(config), Some(_), Proto::Streams(_, stream)) =
                (&self.shared.config.streams, &self.recovery, &self.proto)
            else {
                return None;
            };
            let mut conn = self.shared.publisher.clone();
            let mut restored =
                streams::restore(&mut conn, config, stream, &self.nsp, pid, offset).await?;
            let parser = self.parser;
            restored.missed = std::mem::take(&mut restored.missed)
                .into_iter()
                .filter_map(|p| convert_payload(p, parser).ok())
                .collect();
            Some(restored)
        })
    }

    fn add_recovered_socket(&self, socket: &Socket, restored: &RestoredSession) -> Vec<Payload> {
        if self.recovery.is_none() {
            self.add_socket(socket);
            self.add_all(socket.id(), &restored.session.rooms);
            return Vec::new();
        }
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        self.add_socket(socket);
        self.add_all(socket.id(), &restored.session.rooms);
        let (since, complete) =
            log.recovered(socket.id(), &restored.session.rooms, &restored.last_offset);
        if !complete {
            tracing::warn!(
                sid = socket.id(),
                "connection state recovered, but events delivered during the restore may be missing"
            );
        }
        since
    }
}

impl RedisAdapter {
    /// `sockets_join` (`join`) or `sockets_leave` on every node.
    fn room_operation(&self, opts: &BroadcastOptions, rooms: &[String], join: bool) {
        let apply = |local: &InMemoryAdapter| {
            if join {
                local.add_sockets(opts, rooms);
            } else {
                local.del_sockets(opts, rooms);
            }
        };
        if opts.flags.local {
            return apply(&self.local);
        }
        let (uid, rooms_vec) = (Some(self.uid.clone()), rooms.to_vec());
        let wire = cluster::BroadcastOptions::new(opts.rooms.clone(), opts.except.clone(), None);
        let (request, body) = if join {
            (
                classic::Request::RemoteJoin {
                    uid,
                    opts: wire,
                    rooms: rooms_vec.clone(),
                },
                MessageBody::SocketsJoin {
                    opts: wire_options(opts),
                    rooms: rooms_vec,
                },
            )
        } else {
            (
                classic::Request::RemoteLeave {
                    uid,
                    opts: wire,
                    rooms: rooms_vec.clone(),
                },
                MessageBody::SocketsLeave {
                    opts: wire_options(opts),
                    rooms: rooms_vec,
                },
            )
        };
        if self.publish_operation(request, body) {
            apply(&self.local);
        }
    }

    /// Publishes a broadcast for the other nodes; false when it could not be.
    fn publish_broadcast(&self, packet: &EventPacket, opts: &BroadcastOptions) -> bool {
        let Ok(data) = packet.msgpack_payload() else {
            return false;
        };
        let wire = wire_options(opts);
        match &self.proto {
            Proto::Classic(channels) => {
                let message = classic::Broadcast::new(
                    self.uid.clone(),
                    cluster::BroadcastPacket::event(data, Some(self.nsp.clone())),
                    wire,
                );
                match message.encode() {
                    Ok(bytes) => self.publish(channels.broadcast_channel(&message.opts), bytes),
                    Err(_) => false,
                }
            }
            Proto::Sharded(..) | Proto::Streams(..) => {
                self.publish_sharded(MessageBody::Broadcast {
                    packet: cluster::BroadcastPacket::event(data, None),
                    request_id: None,
                    opts: wire,
                })
            }
        }
    }
}

/// A JSON payload as the sharded adapter carries it (msgpack when it holds binary, so that
/// the message is encoded in msgpack as Node does).
fn sharded_payload(json: Payload) -> Payload {
    if json.attachments().is_empty() {
        json
    } else {
        convert_payload(json.clone(), socketio_proto::ParserKind::MsgPack).unwrap_or(json)
    }
}

/// Why an [`Emitter`] operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitterError {
    /// The event name is reserved (`connect`, `disconnect`, …).
    #[error("{0:?} is a reserved event name")]
    ReservedEventName(String),
    /// The arguments could not be encoded.
    #[error("the arguments could not be encoded: {0}")]
    Encode(String),
    /// Redis did not take the message.
    #[error(transparent)]
    Redis(#[from] RedisError),
}

/// Publishes to the Socket.IO servers of a classic Redis cluster from a process that is not
/// one (a worker, a cron job), as `@socket.io/redis-emitter` 5.1.0 does and with its exact
/// messages: Rust and Node servers with the classic Redis adapter receive them.
///
/// Immutable like a broadcast operator: each method returns a new emitter.
///
/// ```no_run
/// use socketio_server::adapter::redis::Emitter;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let emitter = Emitter::connect("redis://127.0.0.1:6379", "socket.io").await?;
/// emitter.to("room1").emit("news", &("hello", 1)).await?;
/// emitter.of("/admin").except("room2").sockets_join("room3").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Emitter {
    conn: ConnectionManager,
    key: Arc<str>,
    nsp: String,
    rooms: Vec<String>,
    except: Vec<String>,
    flags: cluster::BroadcastFlags,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("key", &self.key)
            .field("nsp", &self.nsp)
            .field("rooms", &self.rooms)
            .field("except", &self.except)
            .finish_non_exhaustive()
    }
}

impl Emitter {
    /// Connects to Redis; `key` is the servers' channel prefix (`"socket.io"` by default).
    pub async fn connect(url: &str, key: &str) -> Result<Self, RedisError> {
        let conn =
            ConnectionManager::new_with_config(redis::Client::open(url)?, manager_config()).await?;
        Ok(Self {
            conn,
            key: key.into(),
            nsp: "/".to_owned(),
            rooms: Vec::new(),
            except: Vec::new(),
            flags: cluster::BroadcastFlags::new(),
        })
    }

    /// The namespace `nsp` (a missing leading `/` is added, as the reference does).
    #[must_use]
    pub fn of(&self, nsp: &str) -> Self {
        let mut next = self.clone();
        next.nsp = if nsp.starts_with('/') {
            nsp.to_owned()
        } else {
            format!("/{nsp}")
        };
        next
    }

    /// Targets the sockets in `rooms` (added to those already targeted).
    #[must_use]
    pub fn to(&self, rooms: impl crate::IntoRooms) -> Self {
        let mut next = self.clone();
        next.rooms.extend(rooms.into_rooms());
        next
    }

    /// Leaves out the sockets in `rooms`.
    #[must_use]
    pub fn except(&self, rooms: impl crate::IntoRooms) -> Self {
        let mut next = self.clone();
        next.except.extend(rooms.into_rooms());
        next
    }

    /// The message may be dropped for clients that are not ready.
    #[must_use]
    pub fn volatile(&self) -> Self {
        let mut next = self.clone();
        next.flags.set(cluster::Flag::Volatile(true));
        next
    }

    /// A compression hint.
    #[must_use]
    pub fn compress(&self, compress: bool) -> Self {
        let mut next = self.clone();
        next.flags.set(cluster::Flag::Compress(compress));
        next
    }

    fn channels(&self) -> classic::Channels {
        classic::Channels::new(&self.key, &self.nsp, classic::EMITTER_UID)
    }

    fn target(&self) -> cluster::BroadcastOptions {
        cluster::BroadcastOptions::new(self.rooms.clone(), self.except.clone(), None)
    }

    async fn publish(&self, channel: String, bytes: Bytes) -> Result<(), EmitterError> {
        let mut conn = self.conn.clone();
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(bytes.as_ref())
            .exec_async(&mut conn)
            .await?;
        Ok(())
    }

    /// Emits `event` with `args` (a tuple spreads into several arguments; binary as
    /// `Bytes`) to the targeted sockets of every server.
    pub async fn emit<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitterError> {
        socketio_proto::endpoint::server::check_event_name(event)
            .map_err(|_| EmitterError::ReservedEventName(event.to_owned()))?;
        let data = Payload::msgpack(&socketio_proto::args::EventData { name: event, args })
            .map_err(|e| EmitterError::Encode(e.to_string()))?;
        let mut opts = cluster::BroadcastOptions::new(
            self.rooms.clone(),
            self.except.clone(),
            Some(self.flags.clone()),
        );
        opts.key_order = cluster::KeyOrder::RoomsFlagsExcept;
        let message = classic::Broadcast::new(
            classic::EMITTER_UID.to_owned(),
            cluster::BroadcastPacket::event(data, Some(self.nsp.clone())),
            opts,
        );
        let bytes = message
            .encode()
            .map_err(|e| EmitterError::Encode(e.to_string()))?;
        self.publish(self.channels().broadcast_channel(&message.opts), bytes)
            .await
    }

    async fn request(&self, request: classic::Request) -> Result<(), EmitterError> {
        let bytes = request
            .encode()
            .map_err(|e| EmitterError::Encode(e.to_string()))?;
        self.publish(self.channels().request().to_owned(), bytes)
            .await
    }

    /// The targeted sockets of every server join `rooms`.
    pub async fn sockets_join(&self, rooms: impl crate::IntoRooms) -> Result<(), EmitterError> {
        self.request(classic::Request::RemoteJoin {
            uid: None,
            opts: self.target(),
            rooms: rooms.into_rooms(),
        })
        .await
    }

    /// The targeted sockets of every server leave `rooms`.
    pub async fn sockets_leave(&self, rooms: impl crate::IntoRooms) -> Result<(), EmitterError> {
        self.request(classic::Request::RemoteLeave {
            uid: None,
            opts: self.target(),
            rooms: rooms.into_rooms(),
        })
        .await
    }

    /// Disconnects the targeted sockets of every server (their whole connection when
    /// `close`).
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), EmitterError> {
        self.request(classic::Request::RemoteDisconnect {
            uid: None,
            opts: self.target(),
            close,
        })
        .await
    }

    /// Sends `event` with `args` to the servers' server-side listeners (no answer: the
    /// reference's emitter cannot ask for one either).
    pub async fn server_side_emit<T: serde::Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitterError> {
        socketio_proto::endpoint::server::check_event_name(event)
            .map_err(|_| EmitterError::ReservedEventName(event.to_owned()))?;
        let data = Payload::json(&socketio_proto::args::EventData { name: event, args })
            .map_err(|e| EmitterError::Encode(e.to_string()))?;
        self.request(classic::Request::ServerSideEmit {
            uid: Some(classic::EMITTER_UID.to_owned()),
            request_id: None,
            data,
        })
        .await
    }
}
