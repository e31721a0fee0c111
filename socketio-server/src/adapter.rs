//! The adapter: which sockets are in which rooms, and how a broadcast reaches them.
//!
//! Modelled on the reference's `socket.io-adapter` interface (one adapter per namespace):
//! room membership (`add_all`, `del`, `del_all`, `sockets`, `socket_rooms`), delivery
//! (`broadcast`, `fetch_sockets`, `add_sockets`, `del_sockets`, `disconnect_sockets`), and the
//! multi-node operations (`server_side_emit`, `server_count`), async so that a remote
//! adapter (Redis) can implement them. [`InMemoryAdapter`] is the default.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use engineio_proto::Frame;

use crate::engine::{Sent, SlowClientPolicy};
use crate::socket::Socket;

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

/// The flags of a broadcast (the reference's `BroadcastFlags`).
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct BroadcastFlags {
    /// Dropped for a socket whose transport is not ready.
    pub volatile: bool,
    /// A compression hint (`None`: the default).
    pub compress: Option<bool>,
    /// This node only (no effect with the in-memory adapter).
    pub local: bool,
    /// Deadline of a broadcast with acknowledgements.
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

/// Errors of adapter operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// `serverSideEmit` needs other nodes; the in-memory adapter has none.
    #[error("this adapter does not support the serverSideEmit() functionality")]
    ServerSideEmitUnsupported,
}

/// What a namespace needs from its adapter. See the module docs.
pub trait Adapter: Send + Sync + 'static {
    /// A socket of this node joined the namespace.
    fn add_socket(&self, socket: &Socket);
    /// A socket of this node left the namespace (after `del_all`).
    fn remove_socket(&self, id: &str);
    /// The socket `id` joins `rooms`.
    fn add_all(&self, id: &str, rooms: &[String]);
    /// The socket `id` leaves `room`.
    fn del(&self, id: &str, room: &str);
    /// The socket `id` leaves every room.
    fn del_all(&self, id: &str);
    /// The ids of the sockets in `rooms` (all sockets when empty).
    fn sockets(&self, rooms: &[String]) -> HashSet<String>;
    /// The rooms of socket `id`.
    fn socket_rooms(&self, id: &str) -> Vec<String>;
    /// Delivers frames encoded once to the targeted sockets, each exactly once.
    fn broadcast(&self, frames: Arc<[Frame]>, opts: &BroadcastOptions) -> BroadcastReport;
    /// Like [`Adapter::broadcast`], but waits for room in the buffers of slow clients
    /// ([`SlowClientPolicy::Backpressure`]).
    fn broadcast_wait<'a>(
        &'a self,
        frames: Arc<[Frame]>,
        opts: &'a BroadcastOptions,
    ) -> AdapterFuture<'a, BroadcastReport>;
    /// The targeted sockets of this node (and of the others, for a remote adapter).
    fn fetch_sockets<'a>(&'a self, opts: &'a BroadcastOptions) -> AdapterFuture<'a, Vec<Socket>>;
    /// The targeted sockets join `rooms`.
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]);
    /// The targeted sockets leave `rooms`.
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]);
    /// The targeted sockets are disconnected (the whole connection when `close`).
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool);
    /// Sends an event to the other nodes.
    fn server_side_emit<'a>(
        &'a self,
        event: &'a str,
        args: &'a socketio_proto::Value,
    ) -> AdapterFuture<'a, Result<(), AdapterError>>;
    /// The number of nodes.
    fn server_count(&self) -> AdapterFuture<'_, usize>;
    /// Calls `listener` on every room lifecycle event of this node.
    fn on_room_event(&self, listener: RoomListener);
}

/// How a broadcast went, socket by socket.
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
        }
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

    fn socket(&self, id: &str) -> Option<Socket> {
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
        let opts = BroadcastOptions {
            rooms: rooms.to_vec(),
            ..BroadcastOptions::default()
        };
        self.targets(&opts)
            .iter()
            .map(|s| s.id().to_owned())
            .collect()
    }

    fn socket_rooms(&self, id: &str) -> Vec<String> {
        self.socket(id).map(|s| s.rooms()).unwrap_or_default()
    }

    fn broadcast(&self, frames: Arc<[Frame]>, opts: &BroadcastOptions) -> BroadcastReport {
        let mut report = BroadcastReport::default();
        // The recipients are collected first: no lock is held while sending.
        for socket in self.targets(opts) {
            report.count(socket.inner.handle.send_frames(
                &frames,
                opts.flags.volatile,
                self.max_buffered,
                self.policy,
            ));
        }
        report
    }

    fn broadcast_wait<'a>(
        &'a self,
        frames: Arc<[Frame]>,
        opts: &'a BroadcastOptions,
    ) -> AdapterFuture<'a, BroadcastReport> {
        Box::pin(async move {
            let mut report = BroadcastReport::default();
            for socket in self.targets(opts) {
                let handle = &socket.inner.handle;
                let sent = if self.policy == SlowClientPolicy::Backpressure {
                    handle
                        .send_frames_wait(&frames, opts.flags.volatile, self.max_buffered)
                        .await
                } else {
                    handle.send_frames(&frames, opts.flags.volatile, self.max_buffered, self.policy)
                };
                report.count(sent);
            }
            report
        })
    }

    fn fetch_sockets<'a>(&'a self, opts: &'a BroadcastOptions) -> AdapterFuture<'a, Vec<Socket>> {
        Box::pin(async move { self.targets(opts) })
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
        _event: &'a str,
        _args: &'a socketio_proto::Value,
    ) -> AdapterFuture<'a, Result<(), AdapterError>> {
        Box::pin(async { Err(AdapterError::ServerSideEmitUnsupported) })
    }

    fn server_count(&self) -> AdapterFuture<'_, usize> {
        Box::pin(async { 1 })
    }

    fn on_room_event(&self, listener: RoomListener) {
        *self.listener.write().unwrap_or_else(|e| e.into_inner()) = Some(listener);
    }
}
