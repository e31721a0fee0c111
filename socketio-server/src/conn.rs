//! The Socket.IO layer of one Engine.IO session: drives
//! [`socketio_proto::server::ServerConnection`] and runs the application's handlers, in the
//! session's task.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use engineio_proto::{CloseReason as EngineCloseReason, Data};
use socketio_proto::server::{Event, ServerConnection};
use socketio_proto::{EngineMessage, Namespace, Payload};

use crate::engine::{Connection, SessionCtl, SessionHandle};
use crate::error::{AckError, ConnectError};
use crate::io::{IoInner, NamespaceInner};
use crate::socket::{
    AckReply, BoxFuture, Command, Handlers, Handshake, HandshakeBase, Message, Socket, SocketInner,
    ack_response, frame_of,
};
use socketio_proto::Value;

/// Work queued for one socket, run one item after the other (events in arrival order).
enum Work {
    /// A future to run to completion (connection handler, event handler).
    Future(BoxFuture),
    /// An event whose handler is looked up when it reaches the head of the queue, so that
    /// handlers registered by earlier work see the events after it.
    Event(Message),
    /// The namespace middlewares, then the decision on the CONNECT.
    Connect(std::pin::Pin<Box<dyn Future<Output = Result<(), ConnectError>> + Send>>),
}

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
    queue: VecDeque<Work>,
}

pub(crate) struct SioConnection {
    io: Arc<IoInner>,
    proto: ServerConnection,
    handle: SessionHandle,
    base: Arc<HandshakeBase>,
    /// The sockets of this connection, one per namespace (a few at most: a vector).
    slots: Slots,
    acks: HashMap<(Namespace, u64), AckReply>,
    /// Disconnect handlers of sockets already gone, run to completion.
    finishing: Vec<BoxFuture>,
}

impl SioConnection {
    pub(crate) fn new(
        io: Arc<IoInner>,
        handle: SessionHandle,
        base: Arc<HandshakeBase>,
        seed: [u8; 32],
        now: Instant,
    ) -> Self {
        let proto = ServerConnection::new(io.config.proto.clone(), seed, now);
        Self {
            io,
            proto,
            handle,
            base,
            slots: Slots::default(),
            acks: HashMap::new(),
            finishing: Vec::new(),
        }
    }

    /// Applies every output of the Socket.IO machine.
    fn pump(&mut self, ctl: &mut SessionCtl<'_>) {
        loop {
            while let Some(msg) = self.proto.poll_transmit() {
                let _ = ctl.session.send_frame(frame_of(msg));
            }
            let Some(event) = self.proto.poll_event() else {
                break;
            };
            self.on_event(ctl, event);
        }
    }

    fn on_event(&mut self, ctl: &mut SessionCtl<'_>, event: Event) {
        match event {
            Event::ConnectRequest { nsp, auth } => self.on_connect_request(ctl, nsp, auth),
            Event::Connected { nsp, sid } => {
                if let Some(slot) = self.slots.get_mut(&nsp) {
                    let _ = slot.socket.inner.id.set(sid);
                    slot.socket.inner.connected.store(true, Ordering::Release);
                    slot.ns.add_socket(&slot.socket);
                    if let Some(handler) = slot.ns.on_connection() {
                        slot.queue
                            .push_back(Work::Future(handler(slot.socket.clone())));
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
                slot.queue.push_back(Work::Event(Message {
                    event,
                    payload: data,
                    ack,
                }));
            }
            Event::Ack { nsp, id, data } => {
                if let Some(reply) = self.acks.remove(&(nsp, id.get())) {
                    let _ = reply.send(Ok(ack_response(data)));
                }
            }
            Event::AckTimeout { nsp, id } => {
                if let Some(reply) = self.acks.remove(&(nsp, id.get())) {
                    let _ = reply.send(Err(AckError::Timeout));
                }
            }
            Event::Disconnected { nsp, reason } => {
                self.on_disconnected(&nsp, reason.as_str());
            }
            Event::Closed(_) => ctl.close(),
            _ => {}
        }
    }

    fn on_connect_request(
        &mut self,
        ctl: &mut SessionCtl<'_>,
        nsp: Namespace,
        auth: Option<Payload>,
    ) {
        let Some(ns) = self.io.namespace_for(&nsp) else {
            let _ = self.proto.reject(&nsp, "Invalid namespace", None::<&()>);
            return self.pump(ctl);
        };
        // The auth object as the application reads it (`{}` when absent). One that cannot be
        // read is refused with a CONNECT_ERROR naming why, never replaced silently.
        let auth = match auth.map(|p| p.deserialize::<Value>()) {
            None => Value::Object(Vec::new()),
            Some(Ok(auth)) => auth,
            Some(Err(e)) => {
                let message = format!("invalid auth payload: {e}");
                let _ = self.proto.reject(&nsp, &message, None::<&()>);
                return self.pump(ctl);
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
                parser: self.proto.parser(),
                handshake: Arc::new(handshake),
                handlers: Mutex::new(Handlers::default()),
                extensions: Mutex::new(http::Extensions::new()),
                connected: std::sync::atomic::AtomicBool::new(false),
                rooms: Mutex::new(Vec::new()),
                left: std::sync::atomic::AtomicBool::new(false),
                ns: Arc::downgrade(&ns),
            }),
        };
        let mut queue = VecDeque::new();
        let middlewares = ns.middlewares();
        if middlewares.is_empty() {
            self.slots.insert(nsp.clone(), Slot { socket, ns, queue });
            let _ = self.proto.accept(&nsp, ctl.now);
            return self.pump(ctl);
        }
        let s = socket.clone();
        queue.push_back(Work::Connect(Box::pin(async move {
            for middleware in middlewares {
                middleware(s.clone()).await?;
            }
            Ok(())
        })));
        self.slots.insert(nsp, Slot { socket, ns, queue });
    }

    fn on_disconnected(&mut self, nsp: &Namespace, reason: &str) {
        let Some(slot) = self.slots.remove(nsp) else {
            return;
        };
        let socket = slot.socket;
        let was_connected = socket.inner.connected.swap(false, Ordering::AcqRel);
        // Pending acks of this namespace will never be answered.
        let gone: Vec<_> = self
            .acks
            .keys()
            .filter(|(n, _)| n == nsp)
            .cloned()
            .collect();
        for key in gone {
            if let Some(reply) = self.acks.remove(&key) {
                let _ = reply.send(Err(AckError::Closed));
            }
        }
        if !was_connected {
            return;
        }
        let (disconnecting, disconnect) = {
            let handlers = socket
                .inner
                .handlers
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            (handlers.disconnecting.clone(), handlers.disconnect.clone())
        };
        let ns = slot.ns;
        let reason = reason.to_owned();
        self.finishing.push(Box::pin(async move {
            if let Some(h) = disconnecting {
                h(socket.clone(), reason.clone()).await;
            }
            ns.remove_socket(&socket);
            if let Some(h) = disconnect {
                h(socket.clone(), reason).await;
            }
            // Drop the handlers: they may hold clones of the socket.
            *socket
                .inner
                .handlers
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Handlers::default();
        }));
    }

    /// Turns an event into its handler's future (after the socket's middlewares).
    fn dispatch(socket: &Socket, message: Message) -> Option<BoxFuture> {
        let (handler, middlewares, on_error) = {
            let handlers = socket
                .inner
                .handlers
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let handler = handlers
                .events
                .get(message.event())
                .or(handlers.any.as_ref())
                .cloned();
            (
                handler,
                handlers.middleware.clone(),
                handlers.on_error.clone(),
            )
        };
        for middleware in &middlewares {
            if let Err(e) = middleware(socket, &message) {
                if let Some(on_error) = on_error {
                    on_error(socket.clone(), e);
                }
                return None;
            }
        }
        handler.map(|h| h(socket.clone(), message))
    }

    /// Polls the head of every socket's queue; `true` if anything progressed.
    fn poll_queues(&mut self, ctl: &mut SessionCtl<'_>, cx: &mut Context<'_>) -> bool {
        let mut progressed = false;
        let mut decisions = Vec::new();
        for (nsp, slot) in self.slots.0.iter_mut() {
            while let Some(head) = slot.queue.front_mut() {
                match head {
                    Work::Event(_) => {
                        let Some(Work::Event(message)) = slot.queue.pop_front() else {
                            unreachable!("the head is an event");
                        };
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
                Ok(()) => {
                    let _ = self.proto.accept(&nsp, ctl.now);
                }
                Err(e) => {
                    self.slots.remove(&nsp);
                    let _ = self.proto.reject(&nsp, &e.message, e.data.as_ref());
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

impl Connection for SioConnection {
    fn on_message(&mut self, ctl: &mut SessionCtl<'_>, data: Data) {
        let msg = match data {
            Data::Text(t) => EngineMessage::Text(t),
            Data::Binary(b) => EngineMessage::Binary(b),
        };
        self.proto.handle_message(msg, ctl.now);
        self.pump(ctl);
    }

    fn on_close(&mut self, reason: EngineCloseReason) {
        self.proto
            .handle_engine_closed(reason, crate::engine::now());
        while self.proto.poll_transmit().is_some() {}
        while let Some(event) = self.proto.poll_event() {
            if let Event::Disconnected { nsp, reason } = event {
                self.on_disconnected(&nsp, reason.as_str());
            }
        }
        for (_, reply) in self.acks.drain() {
            let _ = reply.send(Err(AckError::Closed));
        }
        // The session task ends now: finish the disconnect handlers on their own.
        let finishing = std::mem::take(&mut self.finishing);
        if !finishing.is_empty() {
            tokio::spawn(async move {
                for fut in finishing {
                    fut.await;
                }
            });
        }
        self.slots.clear();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.proto.poll_timeout()
    }

    fn shrink_buffers(&mut self) {
        self.proto.shrink_buffers();
        for (_, slot) in &mut self.slots.0 {
            if slot.queue.is_empty() && slot.queue.capacity() > 0 {
                slot.queue = VecDeque::new();
            }
        }
    }

    fn handle_timeout(&mut self, ctl: &mut SessionCtl<'_>) {
        self.proto.handle_timeout(ctl.now);
        self.pump(ctl);
    }

    fn on_custom(&mut self, ctl: &mut SessionCtl<'_>, command: Box<dyn std::any::Any + Send>) {
        let Ok(command) = command.downcast::<Command>() else {
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
                let deadline = ctl.now + timeout.unwrap_or(self.io.config.ack_wait_limit);
                match self.proto.emit_payload(&nsp, payload, Some(deadline)) {
                    Ok(Some(id)) => {
                        self.acks.insert((nsp, id.get()), reply);
                    }
                    Ok(None) | Err(_) => {
                        let _ = reply.send(Err(AckError::Closed));
                    }
                }
            }
            Command::Disconnect { nsp } => {
                let _ = self.proto.disconnect(&nsp);
            }
            Command::Close => self.proto.close(),
            Command::Shutdown => {
                self.proto.shutdown();
                while let Some(event) = self.proto.poll_event() {
                    if let Event::Disconnected { nsp, reason } = event {
                        self.on_disconnected(&nsp, reason.as_str());
                    }
                }
                ctl.close();
            }
        }
        self.pump(ctl);
    }

    fn poll_work(&mut self, ctl: &mut SessionCtl<'_>, cx: &mut Context<'_>) -> Poll<()> {
        let progressed = self.poll_queues(ctl, cx);
        self.pump(ctl);
        if progressed {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
