//! The Socket.IO layer of one Engine.IO session: takes the events of its
//! [`ServerEndpoint`] (which owns every protocol decision) and runs the application's
//! handlers, in the session's task.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use socketio_proto::endpoint::server::{
    AckDeadline, CloseReason, DisconnectReason, Event, ServerEndpoint,
};
use socketio_proto::recovery::{
    PersistedSession, RestoredSession, is_recoverable, recovery_request,
};
use socketio_proto::server::CommandError;
use socketio_proto::{AckId, Namespace, Payload};

use crate::engine::{Connection, SessionHandle, now};
use crate::error::{AckError, ConnectError};
use crate::io::{IoInner, NamespaceInner};
use crate::socket::{
    AckReply, BoxFuture, Command, EventHandler, Handlers, Handshake, HandshakeBase, Message,
    Socket, SocketError, SocketInner, ack_response,
};
use socketio_proto::Value;
use socketio_proto::listeners::Fire;

/// Below this many pending acks, waiters that gave up are not looked for.
const ACK_SWEEP_MIN: usize = 64;

/// Work queued for one socket, run one item after the other (events in arrival order).
enum Work {
    /// A future to run to completion (connection handler, event handler).
    Future(BoxFuture),
    /// An event whose handler is looked up when it reaches the head of the queue, so that
    /// handlers registered by earlier work see the events after it.
    Event(Message),
    /// The session restore (connection state recovery) and the namespace middlewares, then
    /// the decision on the CONNECT.
    Connect(std::pin::Pin<Box<dyn Future<Output = ConnectDecision> + Send>>),
}

/// Accept (recovering this session, if any) or refuse a CONNECT.
type ConnectDecision = Result<Option<RestoredSession>, ConnectError>;

/// A small map from namespace to slot.
#[derive(Default)]
struct Slots(Vec<(Namespace, Slot)>);

impl Slots {
    fn get_mut(&mut self, nsp: &Namespace) -> Option<&mut Slot> {
        self.0.iter_mut().find(|(n, _)| n == nsp).map(|(_, s)| s)
    }

    fn insert(&mut self, nsp: Namespace, slot: Slot) {
        self.remove(&nsp);
        self.0.reserve_exact(1);
        self.0.push((nsp, slot));
    }

    fn remove(&mut self, nsp: &Namespace) -> Option<Slot> {
        let i = self.0.iter().position(|(n, _)| n == nsp)?;
        let (_, slot) = self.0.remove(i);
        if self.0.is_empty() {
            self.0 = Vec::new();
        }
        Some(slot)
    }

    fn clear(&mut self) {
        self.0 = Vec::new();
    }
}

struct Slot {
    socket: Socket,
    ns: Arc<NamespaceInner>,
    /// The socket recovered a session: it is in the namespace and its rooms already.
    restored: bool,
    queue: VecDeque<Work>,
    /// Payload bytes of the events in `queue`.
    queued_bytes: usize,
}

pub(crate) struct SioConnection {
    io: Arc<IoInner>,
    handle: SessionHandle,
    base: Arc<HandshakeBase>,
    /// The sockets of this connection, one per namespace (a few at most: a vector).
    slots: Slots,
    /// Who waits for each ack we emitted: resolved by the endpoint's events only (answered,
    /// timed out, cancelled).
    acks: HashMap<(Namespace, u64), AckReply>,
    /// The size of `acks` past which waiters that gave up are looked for.
    sweep_acks_at: u32,
    /// Disconnect handlers of sockets already gone, run to completion.
    finishing: Vec<BoxFuture>,
    /// The bytes of attachments this connection holds, counted in
    /// [`IoInner::attachments_in_flight`].
    /// (At most [`Config::max_attachments`]' bytes, which are below 4 GiB: a `u32` packs
    /// with `sweep_acks_at`, and the task stays as large as it was.)
    ///
    /// [`Config::max_attachments`]: crate::Config::max_attachments
    attachments_held: u32,
}

impl SioConnection {
    pub(crate) fn new(io: Arc<IoInner>, handle: SessionHandle, base: Arc<HandshakeBase>) -> Self {
        Self {
            io,
            handle,
            base,
            slots: Slots::default(),
            acks: HashMap::new(),
            sweep_acks_at: ACK_SWEEP_MIN as u32,
            finishing: Vec::new(),
            attachments_held: 0,
        }
    }

    /// Counts what the connection holds of attachments in the server's total, and closes
    /// the connection when its share takes the total past the budget.
    fn count_attachments(&mut self, ep: &mut ServerEndpoint) {
        let held = ep.attachment_bytes_held();
        let counted = self.attachments_held as usize;
        if held == counted {
            return;
        }
        let total = &self.io.attachments_in_flight;
        if held < counted {
            total.fetch_sub(counted - held, Ordering::Relaxed);
            self.attachments_held = held as u32;
            return;
        }
        let grown = held - counted;
        let max = self.io.config.max_attachments_in_flight;
        let before = total.fetch_add(grown, Ordering::Relaxed);
        self.attachments_held = u32::try_from(held).unwrap_or(u32::MAX);
        if before.saturating_add(grown) > max {
            tracing::warn!(
                max,
                held,
                "attachments in flight over the server's budget: connection closed"
            );
            ep.handle_attachments_over_budget(max, now());
            // Closed: its partial packet is dropped.
            total.fetch_sub(held, Ordering::Relaxed);
            self.attachments_held = 0;
        }
    }

    /// The machine of a new connection: its Engine.IO session and the Socket.IO
    /// connection on it. `seed` seeds its socket ids, which must be unguessable: drawn from the server's
    /// cryptographically strong generator ([`EngineShared::random_seed`]).
    ///
    /// [`EngineShared::random_seed`]: crate::engine::EngineShared::random_seed
    pub(crate) fn endpoint(
        io: &IoInner,
        session: engineio_proto::ServerSession,
        seed: [u8; 32],
        now: Instant,
    ) -> ServerEndpoint {
        ServerEndpoint::new(session, io.config.proto.clone(), seed, now)
    }

    /// Answers an ack we wait for (a waiter that gave up needs no answer).
    fn resolve_ack(
        &mut self,
        nsp: Namespace,
        id: u64,
        result: Result<crate::AckResponse, AckError>,
    ) {
        if let Some(reply) = self.acks.remove(&(nsp, id)) {
            let _ = reply.send(result);
        }
    }

    /// Forgets the acks whose waiter gave up (its future was dropped): an ack without a
    /// deadline would otherwise be kept until its socket disconnects. Amortized: a sweep
    /// runs when the table doubled since the last one.
    fn sweep_acks(&mut self, ep: &mut ServerEndpoint) {
        if self.acks.len() < self.sweep_acks_at as usize {
            return;
        }
        self.acks.retain(|(nsp, id), reply| {
            if reply.is_closed() {
                ep.cancel_ack(nsp, AckId::new(*id));
                false
            } else {
                true
            }
        });
        self.sweep_acks_at =
            u32::try_from((2 * self.acks.len()).max(ACK_SWEEP_MIN)).unwrap_or(u32::MAX);
    }

    fn on_event(&mut self, ep: &mut ServerEndpoint, event: Event) {
        match event {
            Event::ConnectRequest { nsp, auth } => self.on_connect_request(ep, nsp, auth),
            Event::Connected {
                nsp,
                sid,
                pid,
                recovered,
            } => {
                tracing::debug!(nsp = nsp.as_str(), socket = %sid.as_str(), recovered, "namespace connected");
                if let Some(slot) = self.slots.get_mut(&nsp) {
                    // Set once: a namespace is connected once per socket.
                    let _ = slot.socket.inner.id.set(sid);
                    if let Some(pid) = pid {
                        let _ = slot.socket.inner.pid.set(pid.into_boxed_str());
                    }
                    slot.socket
                        .inner
                        .recovered
                        .store(recovered, Ordering::Release);
                    slot.socket.inner.connected.store(true, Ordering::Release);
                    // A recovered socket is back in the namespace and its rooms already.
                    if !slot.restored {
                        let joined = slot.socket.take_pending_rooms();
                        slot.ns.add_socket(&slot.socket);
                        slot.socket.join_pending(joined);
                    }
                    if let Some(listeners) = slot.ns.on_connection(&slot.socket) {
                        slot.queue.push_back(Work::Future(listeners));
                    }
                }
            }
            Event::Event { nsp, data, ack } => {
                let Some(slot) = self.slots.get_mut(&nsp) else {
                    return;
                };
                let event = match data.event_name() {
                    Ok(name) => match name.as_str() {
                        Some(s) => s.to_owned(),
                        None => format!("{name:?}"),
                    },
                    Err(_) => return,
                };
                let ack = ack.map(|id| slot.socket.ack_sender(id));
                slot.queued_bytes += data.wire_len();
                slot.queue.push_back(Work::Event(Message {
                    event,
                    payload: data,
                    ack,
                }));
            }
            Event::Ack { nsp, id, data } => self.resolve_ack(nsp, id.get(), Ok(ack_response(data))),
            Event::AckTimeout { nsp, id } => {
                self.resolve_ack(nsp, id.get(), Err(AckError::Timeout));
            }
            Event::AckCancelled { nsp, id } => {
                self.resolve_ack(nsp, id.get(), Err(AckError::Disconnected));
            }
            Event::Disconnected { nsp, reason } => {
                tracing::debug!(
                    nsp = nsp.as_str(),
                    reason = reason.as_str(),
                    "socket disconnected"
                );
                self.on_disconnected(&nsp, &reason);
            }
            // The endpoint closes its session itself; the sockets left already (their
            // `Disconnected` came first).
            Event::Closed(reason) => log_close(&reason),
            Event::Engine(event) => self.on_engine_event(&event),
            // `Event` is non-exhaustive (another crate): a future event is ignored until
            // this driver handles it (the proto adds it with its driver support; debug
            // builds, hence the tests, stop here).
            other => debug_assert!(false, "event not handled by the driver: {other:?}"),
        }
    }

    /// Calls the application's listeners of an Engine.IO event of the connection.
    fn on_engine_event(&mut self, event: &engineio_proto::Event) {
        use engineio_proto::Event as E;
        let name = match event {
            E::Packet(_) => "packet",
            E::PacketCreate(_) => "packetCreate",
            E::Heartbeat => "heartbeat",
            E::Drain => "drain",
            E::Upgrading => "upgrading",
            E::Upgraded => "upgrade",
            E::Closed(_) => "close",
            // Messages go to the sockets; a future event has no listeners yet.
            E::Message(_) | _ => return,
        };
        for listener in self.handle.conn_listeners(name) {
            listener(event);
        }
    }

    fn on_connect_request(
        &mut self,
        ep: &mut ServerEndpoint,
        nsp: Namespace,
        auth: Option<Payload>,
    ) {
        // The auth object as the application reads it (`{}` when absent). One that cannot be
        // read is refused with a CONNECT_ERROR naming why, never replaced silently (after
        // the namespace is known: a dynamic one is asked with `{}`).
        let auth = auth.map(|p| p.deserialize_lossy::<Value>());
        let empty = Value::Object(Vec::new());
        let Some(ns) = self.io.namespace_for(
            &nsp,
            match &auth {
                Some(Ok(auth)) => auth,
                None | Some(Err(_)) => &empty,
            },
        ) else {
            return reject(ep, &nsp, "Invalid namespace", None);
        };
        let auth = match auth {
            None => empty,
            Some(Ok(auth)) => auth,
            Some(Err(e)) => {
                let message = format!("invalid auth payload: {e}");
                return reject(ep, &nsp, &message, None);
            }
        };
        let handshake = Handshake {
            base: self.base.clone(),
            auth,
        };
        let socket = Socket {
            inner: Arc::new(SocketInner {
                id: OnceLock::new(),
                nsp: nsp.clone(),
                handle: self.handle.clone(),
                parser: ep.parser(),
                handshake: Arc::new(handshake),
                handlers: Mutex::new(Handlers::default()),
                extensions: Mutex::new(http::Extensions::new()),
                data: Mutex::new(None),
                pid: OnceLock::new(),
                recovered: std::sync::atomic::AtomicBool::new(false),
                recovery: ns.recovery.is_some(),
                connected: std::sync::atomic::AtomicBool::new(false),
                outgoing: std::sync::atomic::AtomicBool::new(false),
                rooms: Mutex::new(Vec::new()),
                left: std::sync::atomic::AtomicBool::new(false),
                ns: Arc::downgrade(&ns),
            }),
        };
        let mut queue = VecDeque::new();
        let middlewares = ns.middlewares();
        // With recovery on, a CONNECT with `{pid, offset}` first asks the adapter for the
        // session (the reference's `restoreSession`).
        let recover = ns.recovery.as_ref().and_then(|config| {
            let (pid, offset) = recovery_request(&socket.inner.handshake.auth)?;
            Some((pid.to_owned(), offset.to_owned(), config.skip_middlewares))
        });
        if middlewares.is_empty() && recover.is_none() {
            self.slots.insert(
                nsp.clone(),
                Slot {
                    socket,
                    ns,
                    restored: false,
                    queue,
                    queued_bytes: 0,
                },
            );
            return self.accept(ep, &nsp, None);
        }
        // The socket has its id while the middlewares run, as the reference's (they log it,
        // join rooms with it): a fresh one, or the recovered session's.
        let fresh = ep.new_socket_id();
        if recover.is_none() {
            let _ = socket.inner.id.set(fresh.clone());
        }
        let s = socket.clone();
        let adapter = ns.adapter.clone();
        queue.push_back(Work::Connect(Box::pin(async move {
            let restored = match &recover {
                Some((pid, offset, _)) => adapter.restore_session(pid, offset).await,
                None => None,
            };
            let _ = s.inner.id.set(match &restored {
                Some(r) => socketio_proto::server::SocketId::from(r.session.sid.as_str()),
                None => fresh,
            });
            let skip = restored.is_some() && recover.is_some_and(|(_, _, skip)| skip);
            if !skip {
                for middleware in middlewares {
                    middleware(s.clone()).await?;
                }
            }
            Ok(restored)
        })));
        self.slots.insert(
            nsp,
            Slot {
                socket,
                ns,
                restored: false,
                queue,
                queued_bytes: 0,
            },
        );
    }

    fn on_disconnected(&mut self, nsp: &Namespace, reason: &DisconnectReason) {
        let Some(slot) = self.slots.remove(nsp) else {
            return;
        };
        let socket = slot.socket;
        let was_connected = socket.inner.connected.swap(false, Ordering::AcqRel);
        // (Its pending acks were cancelled by the endpoint just before: `AckCancelled`.)
        if !was_connected {
            return;
        }
        let (disconnecting, disconnect) = {
            let handlers = socket
                .inner
                .handlers
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let disconnecting = handlers
                .rare
                .as_ref()
                .map(|r| r.disconnecting.handlers())
                .unwrap_or_default();
            (disconnecting, handlers.disconnect.handlers())
        };
        let ns = slot.ns;
        // With recovery on, the session is kept for a recoverable reason, rooms included
        // (before it leaves them), as the reference's `persistSession`.
        if let (Some(_), Some(pid)) = (&ns.recovery, socket.inner.pid.get()) {
            if is_recoverable(reason) {
                ns.adapter.persist_session(PersistedSession::new(
                    socket.id().to_owned(),
                    pid.to_string(),
                    socket.rooms(),
                    socket.data_value(),
                ));
            }
        }
        // The handlers take the reference's string (`"transport close"`, …).
        let reason = reason.as_str().to_owned();
        let io = self.io.clone();
        self.finishing.push(Box::pin(async move {
            for h in disconnecting {
                h(socket.clone(), reason.clone()).await;
            }
            ns.remove_socket(&socket);
            io.release_if_empty_child(&ns);
            for h in disconnect {
                h(socket.clone(), reason.clone()).await;
            }
            // Drop the handlers: they may hold clones of the socket.
            *socket
                .inner
                .handlers
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Handlers::default();
        }));
    }

    /// Turns an event into the future of its listeners: the `on_any` listeners first, then
    /// the event middlewares, then the event's listeners, as the reference's `onevent`. An
    /// event with one listener and nothing else, the usual case, costs no allocation more.
    fn dispatch(socket: &Socket, message: Message) -> Option<BoxFuture> {
        let (any, middlewares, errors) = {
            let mut handlers = socket
                .inner
                .handlers
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let middlewares = handlers
                .rare
                .as_ref()
                .map(|r| r.middleware.clone())
                .unwrap_or_default();
            if handlers.any.is_empty() && middlewares.is_empty() {
                let mut listeners = handlers.events.fire(message.event());
                drop(handlers);
                return match (listeners.len(), listeners.next()) {
                    (1, Some(listener)) => Some(listener(socket.clone(), message)),
                    (_, None) => None,
                    (_, Some(first)) => Some(Box::pin(call_listeners(
                        socket.clone(),
                        message,
                        first,
                        listeners,
                    ))),
                };
            }
            let errors = handlers
                .rare
                .as_ref()
                .map(|r| r.error.handlers())
                .unwrap_or_default();
            (handlers.any.handlers(), middlewares, errors)
        };
        let socket = socket.clone();
        Some(Box::pin(async move {
            let mut message = message;
            if !any.is_empty() {
                message.share();
                for listener in any {
                    listener(socket.clone(), message.dup()).await;
                }
            }
            for middleware in middlewares {
                match middleware(socket.clone(), message).await {
                    Ok(m) => message = m,
                    Err(e) => {
                        let error: SocketError = Arc::from(e);
                        if errors.is_empty() {
                            tracing::warn!(%error, "an event middleware refused an event and the socket has no error listener");
                        }
                        for listener in errors {
                            listener(socket.clone(), error.clone()).await;
                        }
                        return;
                    }
                }
            }
            // The middlewares may have taken their time: nothing for a socket gone since.
            if !socket.connected() {
                return;
            }
            let mut listeners = socket.handlers().events.fire(message.event());
            if let Some(first) = listeners.next() {
                call_listeners(socket, message, first, listeners).await;
            }
        }))
    }

    /// Accepts a CONNECT whose socket is ready (its middlewares passed), recovering
    /// `restored` if given: the socket is back in the namespace and its rooms with its id
    /// and data first (atomically with the broadcasts: what they recorded since the restore
    /// is added to the missed events), then the missed events go out, then the CONNECT reply.
    fn accept(
        &mut self,
        ep: &mut ServerEndpoint,
        nsp: &Namespace,
        restored: Option<RestoredSession>,
    ) {
        let accepted = match restored {
            Some(mut restored) => {
                if let Some(slot) = self.slots.get_mut(nsp) {
                    let socket = &slot.socket;
                    let session = &restored.session;
                    let _ = socket
                        .inner
                        .id
                        .set(socketio_proto::server::SocketId::from(session.sid.as_str()));
                    let _ = socket.inner.pid.set(session.pid.as_str().into());
                    socket.set_data_value(session.data.clone());
                    let joined = socket.take_pending_rooms();
                    let since = slot.ns.adapter.add_recovered_socket(socket, &restored);
                    socket.join_pending(joined);
                    restored.missed.extend(since);
                    slot.restored = true;
                }
                ep.accept_recovered(nsp, &restored, now())
            }
            None => match self
                .slots
                .get_mut(nsp)
                .and_then(|s| s.socket.inner.id.get())
            {
                Some(sid) => ep.accept_as(nsp, sid.clone(), now()),
                None => ep.accept(nsp, now()),
            },
        };
        if accepted.is_err() {
            // The connection closed meanwhile: the socket never joined.
            if let Some(slot) = self.slots.remove(nsp) {
                if slot.restored {
                    slot.ns.remove_socket(&slot.socket);
                }
            }
        }
    }

    /// Polls the head of every socket's queue; `true` if anything progressed.
    fn poll_queues(&mut self, ep: &mut ServerEndpoint, cx: &mut Context<'_>) -> bool {
        let mut progressed = false;
        let mut decisions = Vec::new();
        for (nsp, slot) in self.slots.0.iter_mut() {
            while let Some(head) = slot.queue.front_mut() {
                match head {
                    Work::Event(_) => {
                        let Some(Work::Event(message)) = slot.queue.pop_front() else {
                            unreachable!("the head is an event");
                        };
                        slot.queued_bytes =
                            slot.queued_bytes.saturating_sub(message.payload.wire_len());
                        progressed = true;
                        if let Some(fut) = Self::dispatch(&slot.socket, message) {
                            slot.queue.push_front(Work::Future(fut));
                        }
                    }
                    Work::Future(fut) => match fut.as_mut().poll(cx) {
                        Poll::Ready(()) => {
                            slot.queue.pop_front();
                            progressed = true;
                        }
                        Poll::Pending => break,
                    },
                    Work::Connect(fut) => match fut.as_mut().poll(cx) {
                        Poll::Ready(result) => {
                            slot.queue.pop_front();
                            progressed = true;
                            decisions.push((nsp.clone(), result));
                            break;
                        }
                        Poll::Pending => break,
                    },
                }
            }
        }
        for (nsp, result) in decisions {
            match result {
                Ok(restored) => self.accept(ep, &nsp, restored),
                Err(e) => {
                    self.slots.remove(&nsp);
                    reject(ep, &nsp, &e.message, e.data.as_ref());
                }
            }
        }
        self.finishing
            .retain_mut(|fut| match fut.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    progressed = true;
                    false
                }
                Poll::Pending => true,
            });
        progressed
    }
}

/// Refuses a CONNECT with CONNECT_ERROR.
/// Logs why a connection closed: at `warn` when the client broke the protocol (with what it
/// did), at `debug` otherwise.
fn log_close(reason: &CloseReason) {
    match reason {
        CloseReason::Decode(e) => {
            tracing::warn!(error = %e, "connection closed: the client sent a packet that does not decode");
        }
        CloseReason::Violation(v) => {
            tracing::warn!(violation = ?v, "connection closed: the client broke the protocol");
        }
        CloseReason::Transport(reason) => crate::engine::log_close(reason),
        CloseReason::ConnectTimeout | CloseReason::ServerClose | CloseReason::ServerShutdown => {
            tracing::debug!(reason = ?reason, "connection closed");
        }
        // `CloseReason` is non-exhaustive (another crate): a future reason is logged as is.
        other => tracing::debug!(reason = ?other, "connection closed"),
    }
}

fn reject(ep: &mut ServerEndpoint, nsp: &Namespace, message: &str, data: Option<&Value>) {
    tracing::debug!(nsp = nsp.as_str(), message, "namespace refused");
    // An error means the connection closed meanwhile (nothing to answer) or the data
    // cannot be encoded (a `Value` always can).
    let _ = ep.reject(nsp, message, data, now());
}

impl Connection for SioConnection {
    type Machine = ServerEndpoint;

    fn backlogged(&self) -> bool {
        let config = &self.io.config;
        self.slots.0.iter().any(|(_, slot)| {
            slot.queue.len() >= config.max_pending_events
                || slot.queued_bytes >= config.max_pending_bytes
        })
    }

    fn poll_events(&mut self, ep: &mut ServerEndpoint) -> bool {
        self.count_attachments(ep);
        let mut progressed = false;
        while let Some(event) = ep.poll_event() {
            progressed = true;
            self.on_event(ep, event);
        }
        progressed
    }

    fn on_upgrade(&mut self) {
        for (_, slot) in self.slots.0.iter_mut() {
            let listeners = slot
                .socket
                .inner
                .handlers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .rare
                .as_ref()
                .map(|r| r.upgrade.handlers())
                .unwrap_or_default();
            if listeners.is_empty() {
                continue;
            }
            let socket = slot.socket.clone();
            // In the socket's queue: after the events before the upgrade, in order.
            slot.queue.push_back(Work::Future(Box::pin(async move {
                for listener in listeners {
                    listener(socket.clone()).await;
                }
            })));
        }
    }

    fn finish(&mut self) {
        // Every ack was resolved by the endpoint's events (the connection closed before
        // the session did); a waiter left here would see the channel close: `Closed`.
        self.acks.clear();
        self.io.attachments_in_flight.fetch_sub(
            std::mem::take(&mut self.attachments_held) as usize,
            Ordering::Relaxed,
        );
        // The session task ends now. The disconnect handlers run one after the other: those
        // that finish at once (no handler that waits, nearly always) here, the rest in a task
        // of their own. (A future that waits is polled again by that task, whose waker it
        // then registers.)
        let mut finishing = std::mem::take(&mut self.finishing).into_iter().peekable();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        while let Some(fut) = finishing.peek_mut() {
            if fut.as_mut().poll(&mut cx).is_pending() {
                break;
            }
            finishing.next();
        }
        if finishing.peek().is_some() {
            tokio::spawn(async move {
                for fut in finishing {
                    fut.await;
                }
            });
        }
        self.slots.clear();
    }

    fn shrink_buffers(&mut self) {
        for (_, slot) in &mut self.slots.0 {
            if slot.queue.is_empty() && slot.queue.capacity() > 0 {
                slot.queue = VecDeque::new();
            }
        }
    }

    fn on_custom(
        &mut self,
        ep: &mut ServerEndpoint,
        command: Box<dyn std::any::Any + Send>,
        now: Instant,
    ) {
        let Ok(command) = command.downcast::<Command>() else {
            debug_assert!(false, "a Socket.IO session only gets `Command`s");
            return;
        };
        match *command {
            Command::EmitWithAck {
                nsp,
                payload,
                timeout,
                reply,
            } => {
                // Without a timeout the ack waits until the socket disconnects.
                let deadline = AckDeadline::after(now, timeout);
                match ep.emit_payload_with_ack(&nsp, payload, deadline, now) {
                    Ok(id) => {
                        self.acks.insert((nsp, id.get()), reply);
                        self.sweep_acks(ep);
                    }
                    Err(e) => {
                        // The socket is gone (or the data is no event): nothing to wait for.
                        let error = match e {
                            CommandError::NotConnected | CommandError::Closed => {
                                AckError::Disconnected
                            }
                            CommandError::ReservedEventName(name) => {
                                AckError::Emit(crate::EmitError::ReservedEventName(name.to_owned()))
                            }
                            CommandError::Encode(e) => AckError::Emit(crate::EmitError::Encode(e)),
                            // Emits made through `Socket` always build `[name, ...args]`.
                            CommandError::InvalidEventData => AckError::Disconnected,
                            // `CommandError` is non-exhaustive (another crate): a future
                            // refusal is reported as a closed socket.
                            _ => AckError::Disconnected,
                        };
                        let _ = reply.send(Err(error));
                    }
                }
            }
            Command::Disconnect { nsp } => {
                // An error means the socket left already: nothing to do.
                let _ = ep.disconnect(&nsp, now);
            }
            Command::Close => ep.close(now),
            Command::CloseTransport => ep.close_session(now),
            Command::Shutdown => ep.shutdown(now),
            Command::ObserveEngine => ep.observe_engine(true),
        }
    }

    fn poll_work(&mut self, ep: &mut ServerEndpoint, cx: &mut Context<'_>) -> Poll<()> {
        if self.poll_queues(ep, cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Calls the listeners of one event in order, each with its copy of the event (one
/// acknowledgement for them all: the first answer is sent).
async fn call_listeners(
    socket: Socket,
    mut message: Message,
    first: EventHandler,
    rest: Fire<EventHandler>,
) {
    if rest.is_empty() {
        return first(socket, message).await;
    }
    message.share();
    first(socket.clone(), message.dup()).await;
    for listener in rest {
        listener(socket.clone(), message.dup()).await;
    }
}
