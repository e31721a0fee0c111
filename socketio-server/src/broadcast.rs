//! Broadcast operators: `to`, `except`, `volatile`, `timeout`, … then `emit`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde::Serialize;
use socketio_proto::Payload;

use crate::adapter::{BroadcastOptions, BroadcastReport};
use crate::error::EmitError;
use crate::io::NamespaceInner;
use crate::socket::{AckResponse, Socket, emit_error};
use socketio_proto::args::EventData;
use socketio_proto::endpoint::server::{check_event_name, event_frames};

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

    /// This node only (no effect with the in-memory adapter).
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

    /// Emits to the targeted sockets. The packet is encoded once, Engine.IO framing
    /// included, and the same bytes are queued for every recipient.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<BroadcastReport, EmitError> {
        let frames =
            event_frames(self.ns.parser, &self.ns.name, event, args).map_err(emit_error)?;
        Ok(self.ns.adapter.broadcast(frames, &self.opts))
    }

    /// Emits like [`BroadcastOperator::emit`], but waits for room in the buffers of clients
    /// that do not read fast enough ([`crate::SlowClientPolicy::Backpressure`]): a slow
    /// recipient slows the emitter down instead of losing the message.
    pub async fn emit_wait<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<BroadcastReport, EmitError> {
        let frames =
            event_frames(self.ns.parser, &self.ns.name, event, args).map_err(emit_error)?;
        Ok(self.ns.adapter.broadcast_wait(frames, &self.opts).await)
    }

    /// Emits to the targeted sockets and collects their acknowledgements (the first
    /// argument of each), until all answered or the timeout (see
    /// [`BroadcastOperator::timeout`]) passed: then the answers received so far come with
    /// [`BroadcastAckError::Timeout`]. With no recipient, the answer is an empty list at
    /// once.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<Vec<AckResponse>, BroadcastAckError> {
        check_event_name(event).map_err(emit_error)?;
        let payload = Payload::new(self.ns.parser, &EventData { name: event, args })
            .map_err(EmitError::from)?;
        let sockets = self.ns.adapter.fetch_sockets(&self.opts).await;
        let timeout = self.opts.flags.timeout;
        let mut pending: FuturesUnordered<_> = sockets
            .iter()
            .map(|s| s.emit_payload_with_ack(payload.clone(), timeout))
            .collect();
        let mut responses = Vec::with_capacity(sockets.len());
        let mut complete = true;
        while let Some(result) = pending.next().await {
            match result {
                Ok(response) => responses.push(response),
                Err(_) => complete = false,
            }
        }
        if complete {
            Ok(responses)
        } else {
            Err(BroadcastAckError::Timeout { responses })
        }
    }

    /// The targeted sockets.
    pub async fn fetch_sockets(&self) -> Vec<Socket> {
        self.ns.adapter.fetch_sockets(&self.opts).await
    }

    /// The targeted sockets join `rooms`.
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        self.ns.adapter.add_sockets(&self.opts, &rooms.into_rooms());
    }

    /// The targeted sockets leave `rooms`.
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        self.ns.adapter.del_sockets(&self.opts, &rooms.into_rooms());
    }

    /// Disconnects the targeted sockets (their whole connection when `close`).
    pub fn disconnect_sockets(&self, close: bool) {
        self.ns.adapter.disconnect_sockets(&self.opts, close);
    }
}
