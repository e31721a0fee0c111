//! The adapter: which sockets are in which rooms, and how an operation reaches them, on this
//! node and on the others of a cluster.
//!
//! Modelled on the reference's `socket.io-adapter` interface (one adapter per namespace):
//! room membership of this node's sockets (`add_all`, `del`, `del_all`, `sockets`,
//! `socket_rooms`), and the operations that reach every node unless `local` is set
//! (`broadcast`, `broadcast_with_ack`, `fetch_sockets`, `add_sockets`, `del_sockets`,
//! `disconnect_sockets`, `server_side_emit`, `server_count`). Broadcasts take the packet
//! and the options: [`InMemoryAdapter`] (the default, one node) encodes the packet once and
//! queues the same bytes for every local recipient; a remote adapter
//! ([`redis::RedisAdapter`](crate::adapter::redis), cargo feature `redis`) publishes it to the
//! other nodes first, then delivers locally through an [`InMemoryAdapter`] of its own.

pub(crate) mod parent;
#[cfg(feature = "redis")]
pub mod redis;

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use socketio_proto::cluster::Handshake as SocketHandshake;
use socketio_proto::endpoint::server::{SharedFrames, event_payload_frames};
use socketio_proto::recovery::SessionStore;
pub use socketio_proto::recovery::{PersistedSession, RecoveryConfig, RestoredSession};
use socketio_proto::{Namespace, ParserKind, Payload, PayloadError, Value};

use crate::engine::{Sent, SlowClientPolicy};
use crate::error::AckError;
use crate::socket::{AckResponse, Socket};

/// A boxed future, for the adapter's asynchronous operations.
pub type AdapterFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Which sockets an operation targets.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct BroadcastOptions {
    /// The rooms (any socket of the namespace when empty).
    pub rooms: Vec<String>,
    /// Sockets in these rooms are left out (a socket id is a room too).
    pub except: Vec<String>,
    /// Flags of the operation.
    pub flags: BroadcastFlags,
}

impl BroadcastOptions {
    /// Targets the sockets in `rooms` (all sockets when empty), except those in `except`.
    pub fn new(rooms: Vec<String>, except: Vec<String>) -> Self {
        Self {
            rooms,
            except,
            flags: BroadcastFlags::default(),
        }
    }
}

/// The flags of a broadcast (the reference's `BroadcastFlags`).
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct BroadcastFlags {
    /// Dropped for a socket whose transport is not ready.
    pub volatile: bool,
    /// A compression hint (`None`: the default).
    pub compress: Option<bool>,
    /// This node only: nothing is sent to the other nodes of a cluster.
    pub local: bool,
    /// Deadline of a broadcast with acknowledgements, or of a cluster request.
    pub timeout: Option<Duration>,
}

/// Room lifecycle events (the reference's `create-room`, `delete-room`, `join-room`,
/// `leave-room`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoomEvent {
    /// The first socket joined the room.
    Created(String),
    /// The last socket left the room.
    Deleted(String),
    /// A socket (second field) joined a room.
    Joined(String, String),
    /// A socket (second field) left a room.
    Left(String, String),
}

/// Errors of adapter operations, with the reference's messages.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// `serverSideEmit` needs other nodes; the in-memory adapter has none.
    #[error("this adapter does not support the serverSideEmit() functionality")]
    ServerSideEmitUnsupported,
    /// A cluster request did not get every answer in time; `responses` holds those that
    /// came (the acknowledgements of a `server_side_emit`; empty for other requests).
    #[error("{message}")]
    Timeout {
        /// The reference's message, e.g. `timeout reached while waiting for fetchSockets
        /// response` or `timeout reached: only 1 responses received out of 2`.
        message: String,
        /// The answers received in time.
        responses: Vec<Value>,
    },
    /// `fetch_sockets` on the parent of dynamic namespaces (the children of one parent
    /// differ from node to node).
    #[error("fetchSockets() is not supported on parent namespaces")]
    ParentNamespace,
    /// The request could not be sent to the other nodes (the cluster's backend is
    /// unreachable).
    #[error("the cluster is unreachable: {0}")]
    Unavailable(String),
}

/// An event to deliver: `[event, ...args]` serialized once for the namespace's parser; its
/// frames (Engine.IO framing included) are encoded at most once, on first use, and shared
/// by every recipient.
#[derive(Clone, Debug)]
pub struct EventPacket {
    nsp: Namespace,
    parser: ParserKind,
    payload: Payload,
    frames: Arc<OnceLock<Option<SharedFrames>>>,
}

impl EventPacket {
    /// The event `payload` (`[event, ...args]`, serialized for `parser`) for namespace
    /// `nsp`. A payload of the other parser is converted.
    pub fn new(nsp: Namespace, parser: ParserKind, payload: Payload) -> Result<Self, PayloadError> {
        Ok(Self {
            payload: convert_payload(payload, parser)?,
            nsp,
            parser,
            frames: Arc::default(),
        })
    }

    /// The namespace.
    pub fn nsp(&self) -> &Namespace {
        &self.nsp
    }

    /// `[event, ...args]` in the namespace's parser format.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// `[event, ...args]` as msgpack (what the cluster adapters publish), converted from the
    /// namespace's format when it is JSON.
    pub fn msgpack_payload(&self) -> Result<Payload, PayloadError> {
        convert_payload(self.payload.clone(), ParserKind::MsgPack)
    }

    /// The same event with `offset` appended as its last argument (connection state
    /// recovery).
    pub fn with_offset(&self, offset: &str) -> Option<Self> {
        Some(Self {
            nsp: self.nsp.clone(),
            parser: self.parser,
            payload: self.payload.with_last_string(offset).ok()?,
            frames: Arc::default(),
        })
    }

    /// The frames, encoded on first use (`None` if the payload cannot be framed).
    pub(crate) fn frames(&self) -> Option<&SharedFrames> {
        self.frames
            .get_or_init(|| event_payload_frames(self.parser, &self.nsp, self.payload.clone()).ok())
            .as_ref()
    }
}

/// `payload` in `parser`'s format (the same bytes when it already is).
pub(crate) fn convert_payload(
    payload: Payload,
    parser: ParserKind,
) -> Result<Payload, PayloadError> {
    if payload.format() == parser {
        return Ok(payload);
    }
    let value: Value = payload.deserialize()?;
    Payload::new(parser, &value).map_err(|e| PayloadError::Deserialize(e.to_string()))
}

/// A socket as `fetch_sockets` finds it, on this node or another: what the reference's
/// `RemoteSocket` holds (`id`, `handshake`, `rooms`, `data`), and the live [`Socket`] when it
/// is on this node.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SocketInfo {
    /// The socket id.
    pub id: String,
    /// The handshake, as Node's `socket.handshake` (the shape other nodes send).
    pub handshake: SocketHandshake,
    /// The rooms, the socket's own id first.
    pub rooms: Vec<String>,
    /// `socket.data` (`Value::Null` when unset).
    pub data: Value,
    /// The socket itself, when it is on this node.
    pub local: Option<Socket>,
}

impl SocketInfo {
    /// The description of a socket of this node.
    pub fn of_local(socket: &Socket) -> Self {
        Self {
            id: socket.id().to_owned(),
            handshake: socket.cluster_handshake(),
            rooms: socket.rooms(),
            data: socket.data_value(),
            local: Some(socket.clone()),
        }
    }
}

/// An event another node sent with `server_side_emit` (the reference's `io.on(event)` on the
/// server side), as the adapter hands it to the namespace.
#[derive(Debug)]
#[non_exhaustive]
pub struct ServerSideEvent {
    /// `[event, ...args]`.
    pub data: Vec<Value>,
    /// Where the answer goes, when the sender asked for one (only its first argument
    /// crosses the cluster, as in the reference).
    pub reply: Option<tokio::sync::oneshot::Sender<Value>>,
}

/// A listener of the events other nodes send.
pub type ServerSideListener = Arc<dyn Fn(ServerSideEvent) + Send + Sync>;

/// The answers to a broadcast with acknowledgements.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct AckCollection {
    /// The answers, in arrival order.
    pub responses: Vec<AckResponse>,
    /// True when every targeted client of every node answered before the timeout.
    pub complete: bool,
}

/// What a namespace needs from its adapter. See the module docs.
pub trait Adapter: Send + Sync + 'static {
    /// A socket of this node joined the namespace.
    fn add_socket(&self, socket: &Socket);
    /// A socket of this node left the namespace (after `del_all`).
    fn remove_socket(&self, id: &str);
    /// The local socket `id` joins `rooms`.
    fn add_all(&self, id: &str, rooms: &[String]);
    /// The local socket `id` leaves `room`.
    fn del(&self, id: &str, room: &str);
    /// The local socket `id` leaves every room.
    fn del_all(&self, id: &str);
    /// The ids of this node's sockets in `rooms` (all sockets when empty).
    fn sockets(&self, rooms: &[String]) -> HashSet<String>;
    /// The rooms of the local socket `id`.
    fn socket_rooms(&self, id: &str) -> Vec<String>;
    /// Calls `listener` on every room lifecycle event of this node.
    fn on_room_event(&self, listener: RoomListener);

    /// Delivers the packet to the targeted sockets of every node (this one only with
    /// `flags.local`), each exactly once. The report counts this node's sockets.
    fn broadcast(&self, packet: &EventPacket, opts: &BroadcastOptions) -> BroadcastReport;
    /// Like [`Adapter::broadcast`], but waits for room in the buffers of slow local clients
    /// ([`SlowClientPolicy::Backpressure`]).
    fn broadcast_wait<'a>(
        &'a self,
        packet: &'a EventPacket,
        opts: &'a BroadcastOptions,
    ) -> AdapterFuture<'a, BroadcastReport>;
    /// Delivers the packet with an ack id to the targeted sockets of every node and gathers
    /// their answers (the first argument of each, for remote clients) until all answered or
    /// `opts.flags.timeout` passed.
    fn broadcast_with_ack<'a>(
        &'a self,
        packet: &'a EventPacket,
        opts: &'a BroadcastOptions,
    ) -> AdapterFuture<'a, AckCollection>;
    /// The targeted sockets of every node (this one only with `flags.local`).
    fn fetch_sockets<'a>(
        &'a self,
        opts: &'a BroadcastOptions,
    ) -> AdapterFuture<'a, Result<Vec<SocketInfo>, AdapterError>>;
    /// The targeted sockets of every node join `rooms`.
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]);
    /// The targeted sockets of every node leave `rooms`.
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]);
    /// The targeted sockets of every node are disconnected (the whole connection when
    /// `close`).
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool);
    /// Sends `[event, ...args]` to the other nodes. With `ack`, waits (at most that long)
    /// for one answer per other node and returns them.
    fn server_side_emit<'a>(
        &'a self,
        data: Vec<Value>,
        ack: Option<Duration>,
    ) -> AdapterFuture<'a, Result<Vec<Value>, AdapterError>>;
    /// Calls `listener` with every event another node sends.
    fn on_server_side_emit(&self, listener: ServerSideListener);
    /// The number of nodes, this one included.
    fn server_count(&self) -> AdapterFuture<'_, usize>;

    /// The namespace is gone (an empty child of a dynamic namespace, with
    /// [`crate::Config::cleanup_empty_child_namespaces`]): release what it holds (a cluster
    /// adapter's subscriptions). The default holds nothing.
    fn close(&self) {}

    /// Keeps the session of a socket that disconnected for a recoverable reason (connection
    /// state recovery; the default keeps nothing).
    fn persist_session(&self, session: PersistedSession) {
        let _ = session;
    }

    /// Puts a recovered socket back in the namespace and its rooms, and returns the events
    /// recorded since `restored` was read (they go after `restored.missed`): atomically with
    /// the broadcasts, so that none is lost or sent twice. The default adds it and its rooms
    /// and returns none.
    fn add_recovered_socket(&self, socket: &Socket, restored: &RestoredSession) -> Vec<Payload> {
        self.add_socket(socket);
        self.add_all(socket.id(), &restored.session.rooms);
        Vec::new()
    }

    /// The session `pid` whose client saw `offset` last, with the events it missed; `None`
    /// gives the client a fresh session (the default).
    fn restore_session<'a>(
        &'a self,
        pid: &'a str,
        offset: &'a str,
    ) -> AdapterFuture<'a, Option<RestoredSession>> {
        let _ = (pid, offset);
        Box::pin(async { None })
    }
}

/// How a broadcast went on this node, socket by socket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastReport {
    /// Sockets the message was queued for.
    pub delivered: usize,
    /// Volatile messages dropped for sockets that were behind.
    pub dropped: usize,
    /// Sockets closed because they could not keep up (or already gone).
    pub closed: usize,
    /// Sockets whose buffer is full ([`SlowClientPolicy::Backpressure`]): the message was
    /// not queued for them; `emit_wait` waits for room instead.
    pub full: usize,
    /// True when the message could not be sent: not handed to the other nodes of a cluster
    /// (their clients do not get it; the adapter also logs it), or not encodable.
    pub unpublished: bool,
}

impl BroadcastReport {
    fn count(&mut self, sent: Sent) {
        match sent {
            Sent::Queued => self.delivered += 1,
            Sent::Dropped => self.dropped += 1,
            Sent::Full => self.full += 1,
            Sent::Closed => self.closed += 1,
        }
    }
}

const SHARDS: usize = 16;

type RoomShard = RwLock<HashMap<String, HashSet<String>>>;

/// A listener of room lifecycle events.
pub type RoomListener = Arc<dyn Fn(RoomEvent) + Send + Sync>;

/// The default adapter: rooms in memory, sharded so that unrelated rooms do not contend on
/// one lock, and no lock held while sending.
pub struct InMemoryAdapter {
    rooms: [RoomShard; SHARDS],
    sockets: RwLock<HashMap<String, Socket>>,
    listener: RwLock<Option<RoomListener>>,
    /// The most bytes a session may hold for a slow client.
    max_buffered: usize,
    policy: SlowClientPolicy,
    /// Connection state recovery: the sessions and packets kept for replay.
    recovery: Option<Mutex<SessionStore>>,
}

impl std::fmt::Debug for InMemoryAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryAdapter").finish_non_exhaustive()
    }
}

impl InMemoryAdapter {
    /// An empty adapter; what happens to a client that would make the server hold more
    /// than `max_buffered` bytes is `policy`.
    pub fn new(max_buffered: usize, policy: SlowClientPolicy) -> Self {
        Self {
            rooms: std::array::from_fn(|_| RwLock::new(HashMap::new())),
            sockets: RwLock::new(HashMap::new()),
            listener: RwLock::new(None),
            max_buffered,
            policy,
            recovery: None,
        }
    }

    /// Keeps sessions and packets for connection state recovery when `recovery` is set
    /// ([`Config::connection_state_recovery`](crate::Config::connection_state_recovery)).
    #[must_use]
    pub fn with_recovery(mut self, recovery: Option<RecoveryConfig>) -> Self {
        self.recovery = recovery.map(|config| {
            let mut seed = [0u8; 32];
            // Offsets must not be guessable across restarts: fresh randomness.
            let _ = getrandom::fill(&mut seed);
            Mutex::new(SessionStore::new(config, seed))
        });
        self
    }

    /// The recipients of a broadcast; with recovery on, an event without ack and not
    /// volatile is also recorded and returned with its offset appended (the reference's
    /// `SessionAwareAdapter.broadcast`), under the store's lock, the recipients taken with
    /// it: a recovering socket is either among them or gets the event replayed
    /// ([`Adapter::add_recovered_socket`]), never both, never neither.
    fn recipients(
        &self,
        packet: &EventPacket,
        opts: &BroadcastOptions,
    ) -> (Vec<Socket>, Option<EventPacket>) {
        let Some(store) = self.recovery.as_ref().filter(|_| !opts.flags.volatile) else {
            return (self.targets(opts), None);
        };
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        let offset = store.record(
            &opts.rooms,
            &opts.except,
            packet.payload().clone(),
            std::time::Instant::now(),
        );
        (self.targets(opts), packet.with_offset(&offset))
    }

    /// The store's counters: `(stored packets, stored bytes, kept sessions)` (zeros without
    /// recovery).
    pub fn recovery_stats(&self) -> (usize, usize, usize) {
        self.recovery.as_ref().map_or((0, 0, 0), |store| {
            let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
            store.evict(std::time::Instant::now());
            (
                store.stored_packets(),
                store.stored_bytes(),
                store.sessions(),
            )
        })
    }

    fn shard(&self, room: &str) -> &RoomShard {
        let mut h = DefaultHasher::new();
        room.hash(&mut h);
        &self.rooms[(h.finish() as usize) % SHARDS]
    }

    fn emit(&self, event: RoomEvent) {
        let listener = self
            .listener
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(listener) = listener {
            listener(event);
        }
    }

    pub(crate) fn socket(&self, id: &str) -> Option<Socket> {
        self.sockets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// The targeted sockets, each once: members of any of `rooms` (or all), minus the
    /// members of any of `except`.
    fn targets(&self, opts: &BroadcastOptions) -> Vec<Socket> {
        let sockets = self.sockets.read().unwrap_or_else(|e| e.into_inner());
        let mut excluded = HashSet::new();
        for room in &opts.except {
            // A socket's own room is implicit: its id.
            if sockets.contains_key(room) {
                excluded.insert(room.clone());
            }
            if let Some(members) = self
                .shard(room)
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(room)
            {
                excluded.extend(members.iter().cloned());
            }
        }
        if opts.rooms.is_empty() {
            return sockets
                .iter()
                .filter(|(id, _)| !excluded.contains(*id))
                .map(|(_, s)| s.clone())
                .collect();
        }
        // One room: its members and its implicit owner (a socket named like it, never in
        // the index under its own id) are distinct already, no set of seen ids is needed.
        let dedup = opts.rooms.len() > 1;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for room in &opts.rooms {
            if let Some(socket) = sockets.get(room) {
                if !excluded.contains(room) && (!dedup || seen.insert(room.clone())) {
                    out.push(socket.clone());
                }
            }
            let shard = self.shard(room).read().unwrap_or_else(|e| e.into_inner());
            let Some(members) = shard.get(room) else {
                continue;
            };
            out.reserve(members.len());
            for id in members {
                if excluded.contains(id) || (dedup && !seen.insert(id.clone())) {
                    continue;
                }
                if let Some(socket) = sockets.get(id) {
                    out.push(socket.clone());
                }
            }
        }
        out
    }
}

impl InMemoryAdapter {
    /// The recipients (collected first: no lock is held while sending) and the frames
    /// (encoded on first use); `None` when there is nothing to send, or the packet cannot be
    /// framed (then `report.unpublished`).
    fn targets_and_frames<'p>(
        targets: Vec<Socket>,
        packet: &'p EventPacket,
        report: &mut BroadcastReport,
    ) -> Option<(Vec<Socket>, &'p SharedFrames)> {
        if targets.is_empty() {
            return None;
        }
        let frames = packet.frames();
        report.unpublished = frames.is_none();
        Some((targets, frames?))
    }

    /// The local part of a broadcast with acknowledgements: the number of targeted local
    /// sockets, and their answers as they come (each resolves at the latest at `timeout`).
    pub fn broadcast_with_ack_local(
        &self,
        packet: &EventPacket,
        opts: &BroadcastOptions,
    ) -> (
        usize,
        FuturesUnordered<AdapterFuture<'static, Result<AckResponse, AckError>>>,
    ) {
        let timeout = opts.flags.timeout;
        let pending: FuturesUnordered<AdapterFuture<'static, _>> = self
            .targets(opts)
            .into_iter()
            .map(|socket| {
                let payload = packet.payload().clone();
                Box::pin(async move { socket.emit_payload_with_ack(payload, timeout).await })
                    as AdapterFuture<'static, _>
            })
            .collect();
        (pending.len(), pending)
    }

    /// The descriptions of the targeted local sockets.
    pub fn fetch_local(&self, opts: &BroadcastOptions) -> Vec<SocketInfo> {
        self.targets(opts)
            .iter()
            .map(SocketInfo::of_local)
            .collect()
    }

    /// Every room of this node, socket-id rooms included (the reference's `rooms` keys).
    pub fn all_rooms(&self) -> Vec<String> {
        let mut rooms: Vec<String> = self
            .sockets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        for shard in &self.rooms {
            rooms.extend(
                shard
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .keys()
                    .cloned(),
            );
        }
        rooms
    }

    /// True when `id` is a socket of this node.
    pub fn has_socket(&self, id: &str) -> bool {
        self.sockets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(id)
    }

    /// True when `room` has a member on this node (a socket id counts as a room).
    pub fn has_room(&self, room: &str) -> bool {
        self.has_socket(room)
            || self
                .shard(room)
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains_key(room)
    }
}

impl Adapter for InMemoryAdapter {
    fn add_socket(&self, socket: &Socket) {
        self.sockets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(socket.id().to_owned(), socket.clone());
        // A socket is in the room named by its own id: implicitly, without an entry in the
        // room index (what an idle connection does not need to pay for).
    }

    fn remove_socket(&self, id: &str) {
        self.del_all(id);
        self.sockets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    fn add_all(&self, id: &str, rooms: &[String]) {
        let Some(socket) = self.socket(id) else {
            return;
        };
        for room in rooms.iter().filter(|r| r.as_str() != id) {
            let (created, joined) = {
                let mut shard = self.shard(room).write().unwrap_or_else(|e| e.into_inner());
                let members = shard.entry(room.clone());
                let created = matches!(members, std::collections::hash_map::Entry::Vacant(_));
                (created, members.or_default().insert(id.to_owned()))
            };
            if joined {
                socket.inner.rooms_mut().push(room.clone());
                if created {
                    self.emit(RoomEvent::Created(room.clone()));
                }
                self.emit(RoomEvent::Joined(room.clone(), id.to_owned()));
            }
        }
    }

    fn del(&self, id: &str, room: &str) {
        let (left, deleted) = {
            let mut shard = self.shard(room).write().unwrap_or_else(|e| e.into_inner());
            let Some(members) = shard.get_mut(room) else {
                return;
            };
            let left = members.remove(id);
            let deleted = members.is_empty();
            if deleted {
                shard.remove(room);
            }
            (left, deleted)
        };
        if left {
            if let Some(socket) = self.socket(id) {
                socket.inner.rooms_mut().retain(|r| r != room);
            }
            self.emit(RoomEvent::Left(room.to_owned(), id.to_owned()));
        }
        if deleted {
            self.emit(RoomEvent::Deleted(room.to_owned()));
        }
    }

    fn del_all(&self, id: &str) {
        let rooms = self
            .socket(id)
            .map(|s| s.inner.rooms_mut().clone())
            .unwrap_or_default();
        for room in rooms {
            self.del(id, &room);
        }
    }

    fn sockets(&self, rooms: &[String]) -> HashSet<String> {
        let opts = BroadcastOptions::new(rooms.to_vec(), Vec::new());
        self.targets(&opts)
            .iter()
            .map(|s| s.id().to_owned())
            .collect()
    }

    fn socket_rooms(&self, id: &str) -> Vec<String> {
        self.socket(id).map(|s| s.rooms()).unwrap_or_default()
    }

    fn on_room_event(&self, listener: RoomListener) {
        *self.listener.write().unwrap_or_else(|e| e.into_inner()) = Some(listener);
    }

    fn broadcast(&self, packet: &EventPacket, opts: &BroadcastOptions) -> BroadcastReport {
        let mut report = BroadcastReport::default();
        let (targets, recorded) = self.recipients(packet, opts);
        let packet = recorded.as_ref().unwrap_or(packet);
        let Some((targets, frames)) = Self::targets_and_frames(targets, packet, &mut report) else {
            return report;
        };
        for socket in targets {
            report.count(socket.inner.handle.send_frames(
                frames,
                opts.flags.volatile,
                self.max_buffered,
                self.policy,
            ));
        }
        report
    }

    fn broadcast_wait<'a>(
        &'a self,
        packet: &'a EventPacket,
        opts: &'a BroadcastOptions,
    ) -> AdapterFuture<'a, BroadcastReport> {
        Box::pin(async move {
            let mut report = BroadcastReport::default();
            let (targets, recorded) = self.recipients(packet, opts);
            let packet = recorded.as_ref().unwrap_or(packet);
            let Some((targets, frames)) = Self::targets_and_frames(targets, packet, &mut report)
            else {
                return report;
            };
            for socket in targets {
                let handle = &socket.inner.handle;
                let sent = if self.policy == SlowClientPolicy::Backpressure {
                    handle
                        .send_frames_wait(frames, opts.flags.volatile, self.max_buffered)
                        .await
                } else {
                    handle.send_frames(frames, opts.flags.volatile, self.max_buffered, self.policy)
                };
                report.count(sent);
            }
            report
        })
    }

    fn broadcast_with_ack<'a>(
        &'a self,
        packet: &'a EventPacket,
        opts: &'a BroadcastOptions,
    ) -> AdapterFuture<'a, AckCollection> {
        let (count, mut pending) = self.broadcast_with_ack_local(packet, opts);
        Box::pin(async move {
            let mut collection = AckCollection {
                responses: Vec::with_capacity(count),
                complete: true,
            };
            while let Some(result) = pending.next().await {
                match result {
                    Ok(response) => collection.responses.push(response),
                    Err(_) => collection.complete = false,
                }
            }
            collection
        })
    }

    fn fetch_sockets<'a>(
        &'a self,
        opts: &'a BroadcastOptions,
    ) -> AdapterFuture<'a, Result<Vec<SocketInfo>, AdapterError>> {
        Box::pin(async move { Ok(self.fetch_local(opts)) })
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        for socket in self.targets(opts) {
            self.add_all(socket.id(), rooms);
        }
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        for socket in self.targets(opts) {
            for room in rooms {
                self.del(socket.id(), room);
            }
        }
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        for socket in self.targets(opts) {
            if close {
                socket.close();
            } else {
                socket.disconnect();
            }
        }
    }

    fn server_side_emit<'a>(
        &'a self,
        _data: Vec<Value>,
        _ack: Option<Duration>,
    ) -> AdapterFuture<'a, Result<Vec<Value>, AdapterError>> {
        Box::pin(async { Err(AdapterError::ServerSideEmitUnsupported) })
    }

    fn on_server_side_emit(&self, _listener: ServerSideListener) {}

    fn server_count(&self) -> AdapterFuture<'_, usize> {
        Box::pin(async { 1 })
    }

    fn add_recovered_socket(&self, socket: &Socket, restored: &RestoredSession) -> Vec<Payload> {
        let Some(store) = &self.recovery else {
            self.add_socket(socket);
            self.add_all(socket.id(), &restored.session.rooms);
            return Vec::new();
        };
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        self.add_socket(socket);
        self.add_all(socket.id(), &restored.session.rooms);
        store
            .after(&restored.last_offset, &restored.session.rooms)
            .map(|(since, _)| since)
            .unwrap_or_default()
    }

    fn persist_session(&self, session: PersistedSession) {
        if let Some(store) = &self.recovery {
            store
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .persist(session, std::time::Instant::now());
        }
    }

    fn restore_session<'a>(
        &'a self,
        pid: &'a str,
        offset: &'a str,
    ) -> AdapterFuture<'a, Option<RestoredSession>> {
        let restored = self.recovery.as_ref().and_then(|store| {
            let result = store.lock().unwrap_or_else(|e| e.into_inner()).restore(
                pid,
                offset,
                std::time::Instant::now(),
            );
            match result {
                Ok(restored) => Some(restored),
                Err(e) => {
                    tracing::debug!(reason = %e, "connection state not recovered");
                    None
                }
            }
        });
        Box::pin(async move { restored })
    }
}
