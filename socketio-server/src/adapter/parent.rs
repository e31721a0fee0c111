//! The adapter of a dynamic namespace's parent (the reference's `ParentBroadcastAdapter`):
//! the parent has no socket of its own; what is emitted or broadcast on it reaches every
//! child namespace it created, each through its own adapter (so across a cluster too).

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use futures_util::future::join_all;

use super::{
    AckCollection, Adapter, AdapterError, AdapterFuture, BroadcastOptions, BroadcastReport,
    EventPacket, RoomListener, ServerSideListener, SocketInfo,
};
use crate::io::NamespaceInner;
use crate::socket::Socket;
use socketio_proto::Value;

/// The children of one dynamic namespace, and the room listeners each gets.
#[derive(Default)]
pub(crate) struct ParentAdapter {
    children: RwLock<Vec<Arc<NamespaceInner>>>,
    room_listeners: RwLock<Vec<RoomListener>>,
}

impl ParentAdapter {
    /// A child namespace was created: it gets the room listeners registered on the parent.
    pub(crate) fn add_child(&self, child: &Arc<NamespaceInner>) {
        for listener in self
            .room_listeners
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            child.adapter.on_room_event(listener.clone());
        }
        self.children
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(child.clone());
    }

    /// Forgets `child` (its last socket left); false if it was not a child of this parent.
    pub(crate) fn remove_child(&self, child: &Arc<NamespaceInner>) -> bool {
        let mut children = self.children.write().unwrap_or_else(|e| e.into_inner());
        let before = children.len();
        children.retain(|c| !Arc::ptr_eq(c, child));
        children.len() != before
    }

    fn children(&self) -> Vec<Arc<NamespaceInner>> {
        self.children
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `packet` for each child: the same payload, framed for the child's namespace.
    fn per_child(&self, packet: &EventPacket) -> Vec<(Arc<NamespaceInner>, EventPacket)> {
        self.children()
            .into_iter()
            .filter_map(|child| {
                let packet =
                    EventPacket::new(child.name.clone(), child.parser, packet.payload().clone())
                        .ok()?;
                Some((child, packet))
            })
            .collect()
    }
}

fn add_reports(total: &mut BroadcastReport, report: BroadcastReport) {
    total.delivered += report.delivered;
    total.dropped += report.dropped;
    total.closed += report.closed;
    total.full += report.full;
    total.unpublished |= report.unpublished;
}

impl Adapter for ParentAdapter {
    // The parent has no socket of its own: a socket joins a child.
    fn add_socket(&self, _socket: &Socket) {}

    fn remove_socket(&self, _id: &str) {}

    fn add_all(&self, _id: &str, _rooms: &[String]) {}

    fn del(&self, _id: &str, _room: &str) {}

    fn del_all(&self, _id: &str) {}

    /// The sockets of every child.
    fn sockets(&self, rooms: &[String]) -> HashSet<String> {
        self.children()
            .iter()
            .flat_map(|child| child.adapter.sockets(rooms))
            .collect()
    }

    fn socket_rooms(&self, _id: &str) -> Vec<String> {
        Vec::new()
    }

    /// Every child, those to come included, calls `listener`.
    fn on_room_event(&self, listener: RoomListener) {
        for child in self.children() {
            child.adapter.on_room_event(listener.clone());
        }
        self.room_listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(listener);
    }

    fn broadcast(&self, packet: &EventPacket, opts: &BroadcastOptions) -> BroadcastReport {
        let mut total = BroadcastReport::default();
        for (child, packet) in self.per_child(packet) {
            add_reports(&mut total, child.adapter.broadcast(&packet, opts));
        }
        total
    }

    fn broadcast_wait<'a>(
        &'a self,
        packet: &'a EventPacket,
        opts: &'a BroadcastOptions,
    ) -> AdapterFuture<'a, BroadcastReport> {
        Box::pin(async move {
            let mut total = BroadcastReport::default();
            for (child, packet) in self.per_child(packet) {
                add_reports(
                    &mut total,
                    child.adapter.broadcast_wait(&packet, opts).await,
                );
            }
            total
        })
    }

    fn broadcast_with_ack<'a>(
        &'a self,
        packet: &'a EventPacket,
        opts: &'a BroadcastOptions,
    ) -> AdapterFuture<'a, AckCollection> {
        Box::pin(async move {
            let children = self.per_child(packet);
            let collections = join_all(
                children
                    .iter()
                    .map(|(child, packet)| child.adapter.broadcast_with_ack(packet, opts)),
            )
            .await;
            let mut all = AckCollection {
                responses: Vec::new(),
                complete: true,
            };
            for collection in collections {
                all.responses.extend(collection.responses);
                all.complete &= collection.complete;
            }
            all
        })
    }

    /// Refused, as the reference's: a child may exist on one node and not on another.
    fn fetch_sockets<'a>(
        &'a self,
        _opts: &'a BroadcastOptions,
    ) -> AdapterFuture<'a, Result<Vec<SocketInfo>, AdapterError>> {
        Box::pin(async { Err(AdapterError::ParentNamespace) })
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        for child in self.children() {
            child.adapter.add_sockets(opts, rooms);
        }
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        for child in self.children() {
            child.adapter.del_sockets(opts, rooms);
        }
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        for child in self.children() {
            child.adapter.disconnect_sockets(opts, close);
        }
    }

    /// Refused, as the reference's parent (an in-memory adapter of its own).
    fn server_side_emit<'a>(
        &'a self,
        _data: Vec<Value>,
        _ack: Option<std::time::Duration>,
    ) -> AdapterFuture<'a, Result<Vec<Value>, AdapterError>> {
        Box::pin(async { Err(AdapterError::ServerSideEmitUnsupported) })
    }

    fn on_server_side_emit(&self, _listener: ServerSideListener) {}

    fn server_count(&self) -> AdapterFuture<'_, usize> {
        Box::pin(async { 1 })
    }
}
