//! Broadcast operators: `to`, `except`, `volatile`, `timeout`, … then `emit`.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use socketio_proto::Payload;

use crate::adapter::{AdapterError, BroadcastOptions, BroadcastReport, EventPacket, SocketInfo};
use crate::error::EmitError;
use crate::io::NamespaceInner;
use crate::socket::{AckResponse, Socket, emit_error};
use socketio_proto::args::EventData;
use socketio_proto::endpoint::server::check_event_name;

/// Rooms given to [`BroadcastOperator::to`], [`BroadcastOperator::except`],
/// [`Socket::join`]…: one name, or several.
pub trait IntoRooms {
    /// The room names.
    fn into_rooms(self) -> Vec<String>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<String> {
        vec![self.to_owned()]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<String> {
        vec![self]
    }
}

impl IntoRooms for &String {
    fn into_rooms(self) -> Vec<String> {
        vec![self.clone()]
    }
}

impl<T: Into<String>> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<T: Into<String> + Clone, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<T: Into<String> + Clone> IntoRooms for &[T] {
    fn into_rooms(self) -> Vec<String> {
        self.iter().cloned().map(Into::into).collect()
    }
}

/// Why a broadcast with acknowledgements is incomplete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BroadcastAckError {
    /// Not every client answered before the timeout; `responses` holds those that did.
    #[error("operation has timed out")]
    Timeout {
        /// The answers received in time.
        responses: Vec<AckResponse>,
    },
    /// The emit itself failed.
    #[error(transparent)]
    Emit(#[from] EmitError),
}

/// A broadcast: which sockets, with which flags. Immutable: each method returns a new
/// operator, so an operator can be kept and reused.
///
/// ```no_run
/// # fn f(io: socketio_server::SocketIo) {
/// // Every socket in "room1" or "room2" (once each), except those in "room3".
/// let _ = io.of("/").to(["room1", "room2"]).except("room3").emit("news", &"hello");
/// # }
/// ```
#[derive(Clone)]
pub struct BroadcastOperator {
    ns: Arc<NamespaceInner>,
    opts: BroadcastOptions,
}

impl std::fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("nsp", &self.ns.name.as_str())
            .field("opts", &self.opts)
            .finish()
    }
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<NamespaceInner>) -> Self {
        Self {
            ns,
            opts: BroadcastOptions::default(),
        }
    }

    /// Targets the sockets in these rooms (added to the rooms already targeted).
    #[must_use]
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.rooms.extend(rooms.into_rooms());
        self
    }

    /// Same as [`BroadcastOperator::to`] (the reference's `in`).
    #[must_use]
    pub fn within(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Leaves out the sockets in these rooms.
    #[must_use]
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.except.extend(rooms.into_rooms());
        self
    }

    /// The message may be dropped for sockets whose transport is not ready.
    #[must_use]
    pub fn volatile(mut self) -> Self {
        self.opts.flags.volatile = true;
        self
    }

    /// This node only: the other nodes of a cluster are not told.
    #[must_use]
    pub fn local(mut self) -> Self {
        self.opts.flags.local = true;
        self
    }

    /// A compression hint.
    #[must_use]
    pub fn compress(mut self, compress: bool) -> Self {
        self.opts.flags.compress = Some(compress);
        self
    }

    /// The deadline of [`BroadcastOperator::emit_with_ack`].
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.opts.flags.timeout = Some(timeout);
        self
    }

    /// The packet of `event` with `args` for this namespace.
    fn packet<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<EventPacket, EmitError> {
        event_packet(&self.ns, event, args)
    }

    /// Emits to the targeted sockets, on every node of a cluster (this one only after
    /// [`BroadcastOperator::local`]). The packet is encoded once, Engine.IO framing
    /// included, and the same bytes are queued for every local recipient.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<BroadcastReport, EmitError> {
        let packet = self.packet(event, args)?;
        Ok(self.ns.adapter.broadcast(&packet, &self.opts))
    }

    /// Emits a `message` event (`send`, `write`): `to(room).send(&("hi",))` is
    /// `to(room).emit("message", &("hi",))`.
    pub fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<BroadcastReport, EmitError> {
        self.emit("message", args)
    }

    /// Emits like [`BroadcastOperator::emit`], but waits for room in the buffers of clients
    /// that do not read fast enough ([`crate::SlowClientPolicy::Backpressure`]): a slow
    /// recipient slows the emitter down instead of losing the message.
    pub async fn emit_wait<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<BroadcastReport, EmitError> {
        let packet = self.packet(event, args)?;
        Ok(self.ns.adapter.broadcast_wait(&packet, &self.opts).await)
    }

    /// Emits to the targeted sockets of every node and collects their acknowledgements (the
    /// first argument of each for clients of other nodes, as the reference), until all
    /// answered or the timeout (see [`BroadcastOperator::timeout`]) passed: then the answers
    /// received so far come with [`BroadcastAckError::Timeout`]. With no recipient, the
    /// answer is an empty list as soon as every node said so.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<Vec<AckResponse>, BroadcastAckError> {
        let packet = self.packet(event, args)?;
        let collection = self
            .ns
            .adapter
            .broadcast_with_ack(&packet, &self.opts)
            .await;
        if collection.complete {
            Ok(collection.responses)
        } else {
            Err(BroadcastAckError::Timeout {
                responses: collection.responses,
            })
        }
    }

    /// The targeted sockets, on every node of a cluster (this one only after
    /// [`BroadcastOperator::local`]): their id, handshake, rooms and data, and what can be
    /// done to them from here (emit, join, leave, disconnect).
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        let infos = self.ns.adapter.fetch_sockets(&self.opts).await?;
        Ok(infos
            .into_iter()
            .map(|info| RemoteSocket {
                info,
                ns: self.ns.clone(),
            })
            .collect())
    }

    /// The targeted sockets of every node join `rooms`.
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        self.ns.adapter.add_sockets(&self.opts, &rooms.into_rooms());
    }

    /// The targeted sockets of every node leave `rooms`.
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        self.ns.adapter.del_sockets(&self.opts, &rooms.into_rooms());
    }

    /// Disconnects the targeted sockets of every node (their whole connection when
    /// `close`).
    pub fn disconnect_sockets(&self, close: bool) {
        self.ns.adapter.disconnect_sockets(&self.opts, close);
    }
}

/// The packet of `event` with `args` for namespace `ns`.
pub(crate) fn event_packet<T: Serialize + ?Sized>(
    ns: &NamespaceInner,
    event: &str,
    args: &T,
) -> Result<EventPacket, EmitError> {
    check_event_name(event).map_err(emit_error)?;
    let payload = Payload::new(ns.parser, &EventData { name: event, args })?;
    EventPacket::new(ns.name.clone(), ns.parser, payload)
        .map_err(|e| EmitError::Encode(socketio_proto::EncodeError::Serialize(e.to_string())))
}

/// A socket found by `fetch_sockets`, on this node or another (the reference's
/// `RemoteSocket`): its id, handshake, rooms and data as they were when fetched, and
/// operations that reach it wherever it is (through the adapter for another node).
///
/// ```no_run
/// # async fn f(io: socketio_server::SocketIo) -> Result<(), socketio_server::adapter::AdapterError> {
/// for socket in io.of("/").to("room1").fetch_sockets().await? {
///     println!("{} is in {:?}", socket.id(), socket.rooms());
///     socket.join("room2");
///     let _ = socket.emit("hello", &"world");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteSocket {
    info: SocketInfo,
    ns: Arc<NamespaceInner>,
}

impl std::fmt::Debug for RemoteSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSocket")
            .field("id", &self.info.id)
            .field("rooms", &self.info.rooms)
            .field("local", &self.info.local.is_some())
            .finish_non_exhaustive()
    }
}

impl RemoteSocket {
    /// The socket id.
    pub fn id(&self) -> &str {
        &self.info.id
    }

    /// The rooms when fetched, the socket's own id first.
    pub fn rooms(&self) -> &[String] {
        &self.info.rooms
    }

    /// The handshake, in the shape of Node's `socket.handshake`.
    pub fn handshake(&self) -> &socketio_proto::cluster::Handshake {
        &self.info.handshake
    }

    /// `socket.data` when fetched, deserialized.
    pub fn data<T: serde::de::DeserializeOwned>(&self) -> Result<T, socketio_proto::PayloadError> {
        crate::socket::value_into(&self.info.data)
    }

    /// The socket itself when it is on this node.
    pub fn local(&self) -> Option<&Socket> {
        self.info.local.as_ref()
    }

    fn only_me(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.ns.clone()).to(self.info.id.clone())
    }

    /// Emits to this socket, wherever it is.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        match &self.info.local {
            Some(socket) => socket.emit(event, args),
            None => self.only_me().emit(event, args).map(drop),
        }
    }

    /// Makes this socket join `rooms`, wherever it is.
    pub fn join(&self, rooms: impl IntoRooms) {
        match &self.info.local {
            Some(socket) => socket.join(rooms),
            None => self.only_me().sockets_join(rooms),
        }
    }

    /// Makes this socket leave `room`, wherever it is.
    pub fn leave(&self, room: &str) {
        match &self.info.local {
            Some(socket) => socket.leave(room),
            None => self.only_me().sockets_leave(room),
        }
    }

    /// Sets a deadline for an acknowledgement of this socket, wherever it is
    /// (`remoteSocket.timeout(ms).emitWithAck`).
    pub fn timeout(&self, timeout: Duration) -> RemoteTimeout<'_> {
        RemoteTimeout {
            socket: self,
            timeout,
        }
    }

    /// Disconnects this socket (its whole connection when `close`), wherever it is.
    pub fn disconnect(&self, close: bool) {
        match &self.info.local {
            Some(socket) if close => socket.close(),
            Some(socket) => socket.disconnect(),
            None => self.only_me().disconnect_sockets(close),
        }
    }
}

/// A [`RemoteSocket`] with a deadline for its acknowledgement; see [`RemoteSocket::timeout`].
#[derive(Debug)]
pub struct RemoteTimeout<'a> {
    socket: &'a RemoteSocket,
    timeout: Duration,
}

impl RemoteTimeout<'_> {
    /// Emits to the socket and waits at most the timeout for its acknowledgement. From
    /// another node, only the first argument of the acknowledgement crosses the cluster, as
    /// in the reference.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<AckResponse, crate::AckError> {
        if let Some(socket) = &self.socket.info.local {
            return socket
                .timeout(self.timeout)
                .emit_with_ack(event, args)
                .await;
        }
        let responses = match self
            .socket
            .only_me()
            .timeout(self.timeout)
            .emit_with_ack(event, args)
            .await
        {
            Ok(responses) | Err(BroadcastAckError::Timeout { responses }) => responses,
            Err(BroadcastAckError::Emit(e)) => return Err(crate::AckError::Emit(e)),
        };
        responses.into_iter().next().ok_or(crate::AckError::Timeout)
    }
}
