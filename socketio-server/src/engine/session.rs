//! The task that drives one Engine.IO session: it owns the protocol [`Machine`] (the bare
//! [`ServerSession`], or the Socket.IO endpoint that composes it) and the driver-side layer
//! on top of it (a [`Connection`]: handlers, channels), answers HTTP requests, reads and
//! writes the WebSockets, and sleeps until the machine's one deadline. One task per
//! session, no other.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio_proto::{
    Frame, HttpResponse, PostAction, RequestId, ServerSession, Sid, Transmit, TransportKind, WsId,
    WsMessage,
};
use futures_util::{Sink, SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use socketio_proto::endpoint::server::{Delivery, ServerEndpoint};
use tokio::sync::oneshot;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame as WsFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data as OpData, OpCode};
use tokio_tungstenite::tungstenite::{Error, Message};

use super::inbox::InboxReceiver;
use super::{EngineShared, SessionHandle};

pub(crate) type Ws = WebSocketStream<TokioIo<Upgraded>>;

/// Inputs handled in one wake-up of the task before its outputs are written: the frames of
/// many broadcasts that arrived meanwhile leave in one write.
const INPUT_BATCH: usize = 256;
/// Bytes written to a WebSocket's buffer before it is flushed even in the middle of a
/// wake-up: bounds what the buffer keeps (its capacity stays allocated).
const FLUSH_BYTES: usize = 4 * 1024;

/// Input to a session task, from the HTTP side or from the application.
pub(crate) enum Input {
    Poll {
        req: RequestId,
        reply: oneshot::Sender<HttpResponse>,
    },
    PostHead {
        req: RequestId,
        octet_stream: bool,
        reply: oneshot::Sender<HttpResponse>,
        action: oneshot::Sender<PostAction>,
    },
    PostBody {
        req: RequestId,
        body: Bytes,
    },
    /// A `POST` whose body came with its head (nearly all): both in one input, at most
    /// `max_payload + 1` bytes of the body read.
    Post {
        req: RequestId,
        octet_stream: bool,
        reply: oneshot::Sender<HttpResponse>,
        body: Bytes,
    },
    OtherMethod {
        req: RequestId,
        reply: oneshot::Sender<HttpResponse>,
    },
    Aborted {
        req: RequestId,
    },
    WebSocket {
        ws: Box<Ws>,
        supports_binary: bool,
    },
    /// A packet from the application (another task).
    Send(Frame),
    /// Packets encoded once, shared between sessions (a broadcast, or an emit).
    Frames {
        frames: Arc<[Frame]>,
        volatile: bool,
        /// Their size, for the handle's in-flight count.
        bytes: usize,
    },
    /// The client could not keep up: close the session.
    SlowClient,
    /// Close the session from the application.
    Close,
    /// A command for the layer above Engine.IO ([`Connection::on_custom`]).
    Custom(Box<dyn std::any::Any + Send>),
}

/// The protocol state machine of a session: every protocol decision is its own. The task
/// feeds it the inputs, applies its transmits and sleeps until its deadline.
pub(crate) trait Machine: Send + 'static {
    fn handle_poll(&mut self, req: RequestId, now: Instant);
    fn handle_post(&mut self, req: RequestId, octet_stream: bool, now: Instant) -> PostAction;
    fn handle_post_body(&mut self, req: RequestId, body: Bytes, now: Instant);
    fn handle_other_method(&mut self, req: RequestId);
    fn handle_request_aborted(&mut self, req: RequestId, now: Instant);
    fn handle_ws_open(&mut self, ws: WsId, supports_binary: bool, now: Instant);
    fn handle_ws_message(&mut self, ws: WsId, msg: WsMessage, now: Instant);
    fn handle_ws_oversized(&mut self, ws: WsId, now: Instant);
    fn handle_ws_closed(&mut self, ws: WsId, now: Instant);
    fn handle_ws_error(&mut self, ws: WsId, now: Instant);
    fn handle_slow_client(&mut self, now: Instant);
    fn handle_timeout(&mut self, now: Instant);
    fn close(&mut self, now: Instant);
    /// Queues frames encoded beforehand (volatile: only if the transport is writable).
    fn send_frames(&mut self, frames: &[Frame], volatile: bool, now: Instant);
    fn poll_transmit(&mut self) -> Option<Transmit>;
    fn poll_timeout(&self) -> Option<Instant>;
    /// The transport in use (for diagnostics).
    fn transport(&self) -> TransportKind;
    fn is_closed(&self) -> bool;
    fn shrink_buffers(&mut self);
}

/// The inputs both machines take alike.
macro_rules! forward_inputs {
    () => {
        fn handle_poll(&mut self, req: RequestId, now: Instant) {
            Self::handle_poll(self, req, now);
        }
        fn handle_post(&mut self, req: RequestId, octet_stream: bool, now: Instant) -> PostAction {
            Self::handle_post(self, req, octet_stream, now)
        }
        fn handle_post_body(&mut self, req: RequestId, body: Bytes, now: Instant) {
            Self::handle_post_body(self, req, body, now);
        }
        fn handle_other_method(&mut self, req: RequestId) {
            Self::handle_other_method(self, req);
        }
        fn handle_request_aborted(&mut self, req: RequestId, now: Instant) {
            Self::handle_request_aborted(self, req, now);
        }
        fn handle_ws_open(&mut self, ws: WsId, supports_binary: bool, now: Instant) {
            Self::handle_ws_open(self, ws, supports_binary, now);
        }
        fn handle_ws_message(&mut self, ws: WsId, msg: WsMessage, now: Instant) {
            Self::handle_ws_message(self, ws, msg, now);
        }
        fn handle_ws_oversized(&mut self, ws: WsId, now: Instant) {
            Self::handle_ws_oversized(self, ws, now);
        }
        fn handle_ws_closed(&mut self, ws: WsId, now: Instant) {
            Self::handle_ws_closed(self, ws, now);
        }
        fn handle_ws_error(&mut self, ws: WsId, now: Instant) {
            Self::handle_ws_error(self, ws, now);
        }
        fn handle_slow_client(&mut self, now: Instant) {
            Self::handle_slow_client(self, now);
        }
        fn handle_timeout(&mut self, now: Instant) {
            Self::handle_timeout(self, now);
        }
        fn close(&mut self, now: Instant) {
            Self::close(self, now);
        }
        fn poll_transmit(&mut self) -> Option<Transmit> {
            Self::poll_transmit(self)
        }
        fn poll_timeout(&self) -> Option<Instant> {
            Self::poll_timeout(self)
        }
        fn is_closed(&self) -> bool {
            Self::is_closed(self)
        }
        fn shrink_buffers(&mut self) {
            Self::shrink_buffers(self);
        }
    };
}

/// The bare Engine.IO server ([`super::EngineServer`]): the session alone.
impl Machine for ServerSession {
    forward_inputs!();

    fn transport(&self) -> TransportKind {
        Self::transport(self)
    }

    fn send_frames(&mut self, frames: &[Frame], volatile: bool, now: Instant) {
        // Bare Engine.IO has no volatile messages ([`super::EngineSocket::send`] is the only
        // sender).
        debug_assert!(!volatile, "no volatile message on a bare Engine.IO session");
        let _ = now;
        for frame in frames {
            // A refusal means the session is closed or closing (its buffer would have passed
            // `max_buffered`): the close is reported as an event, the rest cannot go.
            if self.send_frame(frame.clone()).is_err() {
                break;
            }
        }
    }
}

/// Socket.IO: the endpoint composes the session and the Socket.IO connection.
impl Machine for ServerEndpoint {
    forward_inputs!();

    fn transport(&self) -> TransportKind {
        self.session().transport()
    }

    fn send_frames(&mut self, frames: &[Frame], volatile: bool, now: Instant) {
        // Nothing is left to the driver whatever the outcome: a dropped volatile message is
        // the rule applied, and a close (buffer full) comes out as the endpoint's events.
        let _: Delivery = Self::send_frames(self, frames, volatile, now);
    }
}

/// What runs on top of a session's machine, inside its task: the application's side.
pub(crate) trait Connection: Send + 'static {
    /// The machine this layer drives.
    type Machine: Machine;
    /// Takes the machine's events (and reacts with commands); true if there were any.
    fn poll_events(&mut self, machine: &mut Self::Machine) -> bool;
    /// A command sent to this session with [`Input::Custom`].
    fn on_custom(
        &mut self,
        machine: &mut Self::Machine,
        command: Box<dyn std::any::Any + Send>,
        now: Instant,
    ) {
        let _ = (machine, command, now);
    }
    /// True while this layer is too far behind the client (its handlers have too much
    /// work queued): the task stops reading from the client until it catches up.
    fn backlogged(&self) -> bool {
        false
    }
    /// Frees the memory of empty buffers: the session is about to go idle.
    fn shrink_buffers(&mut self) {}
    /// The session moved from long-polling to WebSocket.
    fn on_upgrade(&mut self) {}
    /// Drives this layer's asynchronous work (handlers); `Ready` when it made progress.
    fn poll_work(&mut self, machine: &mut Self::Machine, cx: &mut Context<'_>) -> Poll<()> {
        let _ = (machine, cx);
        Poll::Pending
    }
    /// The task ends (the session is closed): hand over what must outlive it.
    fn finish(&mut self) {}
}

/// How a session was opened: the first request of its task.
pub(crate) enum Opening {
    /// A polling handshake, answered with the open packet.
    Polling {
        req: RequestId,
        reply: oneshot::Sender<HttpResponse>,
    },
    /// A WebSocket handshake: the open packet is the first message.
    WebSocket { ws: Box<Ws>, supports_binary: bool },
}

/// Everything a new session's task needs but its machine and connection: the layer above
/// builds those, then calls [`Launch::spawn`].
pub(crate) struct Launch {
    pub(crate) sid: Sid,
    /// The peer, for diagnostics.
    pub(crate) remote: Option<std::net::SocketAddr>,
    pub(crate) opening: Opening,
    pub(crate) channel: (SessionHandle, InboxReceiver),
    pub(crate) shared: Arc<EngineShared>,
}

impl Launch {
    /// Opens the session, wraps it into the layer's machine, registers it and spawns its
    /// task.
    pub(crate) fn spawn<C: Connection>(
        self,
        machine: impl FnOnce(ServerSession, Instant) -> C::Machine,
        conn: C,
    ) {
        let Self {
            sid,
            remote,
            opening,
            channel,
            shared,
        } = self;
        // A span per session: every event of its task carries the session id, the
        // transport and the peer.
        let transport = match opening {
            Opening::Polling { .. } => "polling",
            Opening::WebSocket { .. } => "websocket",
        };
        let span = tracing::info_span!(
            "socketio_session",
            sid = %sid,
            transport,
            remote = tracing::field::Empty,
        );
        if let Some(remote) = remote {
            span.record("remote", tracing::field::display(remote));
        }
        span.in_scope(|| tracing::debug!("session opened"));
        let now = now();
        let config = shared.config.protocol.clone();
        let handle = channel.0.clone();
        let task = match opening {
            Opening::Polling { req, reply } => {
                let session = ServerSession::new_polling(sid.clone(), config, req, now);
                let mut task = SessionTask::new(
                    sid.clone(),
                    machine(session, now),
                    conn,
                    channel,
                    shared.clone(),
                );
                task.replies.insert(req, reply);
                // The handshake's answer (the open packet) is ready: given now, the request
                // does not wait for the task's first turn.
                if let Some(t) = task.machine.poll_transmit() {
                    let mut cx = Context::from_waker(std::task::Waker::noop());
                    if let Applied::Hold(t) = task.apply_now(t, &mut cx) {
                        task.held = Some(Box::new(t));
                    }
                }
                task
            }
            Opening::WebSocket {
                ws,
                supports_binary,
            } => {
                let session = ServerSession::new_websocket(
                    sid.clone(),
                    config,
                    WsId(0),
                    supports_binary,
                    now,
                );
                let mut task = SessionTask::new(
                    sid.clone(),
                    machine(session, now),
                    conn,
                    channel,
                    shared.clone(),
                );
                let id = task.add_ws(*ws);
                debug_assert_eq!(id, WsId(0));
                task.on_websocket = true;
                task.handle.set_websocket();
                task
            }
        };
        shared.insert(sid, handle);
        tokio::spawn(tracing::Instrument::instrument(task.run(), span));
    }
}

/// The HTTP requests of the session waiting for their answer: a GET and a POST at most,
/// bar requests refused at once (a vector: no hash table for so few).
#[derive(Default)]
struct Replies(Vec<(RequestId, oneshot::Sender<HttpResponse>)>);

impl Replies {
    fn insert(&mut self, req: RequestId, reply: oneshot::Sender<HttpResponse>) {
        // (Request ids are never reused: no entry to replace.)
        self.0.push((req, reply));
    }

    fn remove(&mut self, req: &RequestId) -> Option<oneshot::Sender<HttpResponse>> {
        let i = self.0.iter().position(|(r, _)| r == req)?;
        Some(self.0.swap_remove(i).1)
    }
}

/// A WebSocket of the session, read and written by the task (not split: a split stream
/// costs a shared lock per connection).
struct WsConn {
    id: WsId,
    ws: Ws,
    /// Bytes queued on the sink since its last flush (flushed once per wake-up).
    unflushed: usize,
}

struct SessionTask<C: Connection> {
    sid: Sid,
    handle: SessionHandle,
    machine: C::Machine,
    conn: C,
    inbox: InboxReceiver,
    shared: Arc<EngineShared>,
    replies: Replies,
    /// At most two: the session's WebSocket and a probe during an upgrade.
    sockets: Vec<WsConn>,
    /// Which source [`SessionTask::poll_wake`] polls first.
    turn: u32,
    next_ws: u32,
    /// On WebSocket (opened so, or upgraded): for the diagnostics of the upgrade, and the
    /// release of the buffers (at once on WebSocket, after a quiet second on long-polling).
    on_websocket: bool,
    /// Not reading from the client: the layer above is backlogged.
    paused: bool,
    /// Woke up since its buffers were last released or their release scheduled (true at
    /// first: a new session has buffers to release).
    woke: bool,
    /// Wake-ups in a row at most [`BUSY_GAP`] apart.
    busy: u8,
    /// The body of a POST received while paused, handled once the layer above caught up
    /// (its answer waits, so the client's next POST does too).
    deferred_post: Option<Box<(RequestId, Bytes)>>,
    /// A transmit taken from the machine that [`SessionTask::drain_now`] could not apply
    /// without waiting: [`SessionTask::drain`] applies it first.
    held: Option<Box<Transmit>>,
}

impl<C: Connection> SessionTask<C> {
    fn new(
        sid: Sid,
        machine: C::Machine,
        conn: C,
        (handle, inbox): (SessionHandle, InboxReceiver),
        shared: Arc<EngineShared>,
    ) -> Self {
        Self {
            sid,
            handle,
            machine,
            conn,
            inbox,
            shared,
            replies: Replies::default(),
            sockets: Vec::new(),
            next_ws: 0,
            turn: 0,
            on_websocket: false,
            paused: false,
            woke: true,
            busy: 0,
            deferred_post: None,
            held: None,
        }
    }

    /// Releases the empty buffers of the session and of the layer above.
    fn shrink_buffers(&mut self) {
        self.machine.shrink_buffers();
        self.conn.shrink_buffers();
        self.inbox.shrink();
        if self.replies.0.is_empty() && self.replies.0.capacity() > 0 {
            self.replies.0 = Vec::new();
        }
        if self.sockets.capacity() > self.sockets.len() {
            self.sockets.shrink_to_fit();
        }
    }

    fn add_ws(&mut self, ws: Ws) -> WsId {
        let id = WsId(u64::from(self.next_ws));
        self.next_ws += 1;
        self.sockets.reserve_exact(1);
        self.sockets.push(WsConn {
            id,
            ws,
            unflushed: 0,
        });
        id
    }

    /// The task's future. (Not an `async fn`: that would copy `self` from its argument
    /// slot into a local, and the future would hold the task twice. Captured by the
    /// `async move` block and used in place, it is held once.)
    #[allow(clippy::manual_async_fn)] // on purpose: see above
    fn run(mut self) -> impl Future<Output = ()> + Send {
        async move {
            // One timer for the task's whole life, reset to the next deadline at each wake-up.
            // The task's future is what a connection costs while idle: it holds only this, the
            // task's state and the wait below (no select of several futures).
            let mut sleep = std::pin::pin!(tokio::time::sleep(Duration::ZERO));
            // While the session is busy: when its buffers are released if it stays quiet
            // until then.
            let mut release_at: Option<Instant> = None;
            // The last wake-up but for the timer's.
            let mut last_wake = now();
            loop {
                // Written without waiting when the sockets take it (nearly always); else
                // waited for, boxed: the writes' futures are large and only live while a
                // client is slow to read.
                if !poll_fn(|cx| Poll::Ready(self.drain_now(cx))).await {
                    Box::pin(self.drain()).await;
                }
                if self.machine.is_closed() {
                    break;
                }
                let backlogged = self.conn.backlogged();
                if backlogged != self.paused {
                    self.paused = backlogged;
                    if backlogged {
                        tracing::debug!("reading from the client paused: its handlers are behind");
                    } else {
                        tracing::debug!("reading from the client resumed");
                    }
                }
                if !backlogged {
                    if let Some(post) = self.deferred_post.take() {
                        let (req, body) = *post;
                        self.machine.handle_post_body(req, body, now());
                        continue;
                    }
                }
                if !self.on_websocket && self.machine.transport() == TransportKind::WebSocket {
                    self.on_websocket = true;
                    self.handle.set_websocket();
                    // (The span keeps the transport it opened with: this event marks the change.)
                    tracing::debug!("transport upgraded to websocket");
                    self.conn.on_upgrade();
                }
                // Going idle: the empty buffers are released, so that an idle session holds
                // none. Not while the session is busy (woken up BUSY_WAKEUPS times in a row
                // at most BUSY_GAP apart): released at every wake-up they would cost a dozen
                // allocations per round trip; a busy session keeps them until it has been
                // quiet for RELEASE_AFTER (the timer re-armed at most once per RELEASE_AFTER,
                // not at every wake-up). A session that is not busy, such as one that just
                // shook hands, releases them at once: thousands opening at the same time
                // reuse each other's blocks instead of holding them all at once. Long-polling
                // is busy by nature (each request wakes the session two or three times, and
                // a client polls again at once): its session waits for RELEASE_AFTER too.
                // (`woke`: woken up since the buffers were last released or the release
                // armed; else there is nothing new to release, and no timer to arm.)
                if release_at.is_none() {
                    if self.busy >= BUSY_WAKEUPS || !self.on_websocket {
                        if self.woke {
                            release_at = Some(last_wake + RELEASE_AFTER);
                            self.woke = false;
                        }
                    } else {
                        self.shrink_buffers();
                    }
                }
                let machine_deadline = self.machine.poll_timeout();
                let deadline = match (machine_deadline, release_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                if let Some(deadline) = deadline {
                    // (Not reset to the deadline it has: a reset costs a trip to the timer.)
                    let deadline = tokio::time::Instant::from_std(deadline);
                    if sleep.deadline() != deadline {
                        sleep.as_mut().reset(deadline);
                    }
                }
                let armed = deadline.is_some();
                let wake = poll_fn(|cx| self.poll_wake(sleep.as_mut(), armed, cx)).await;
                // One reading of the clock for the whole wake-up.
                let now = now();
                if !matches!(wake, Wake::Timer) {
                    self.woke = true;
                    self.busy = if now.saturating_duration_since(last_wake) <= BUSY_GAP {
                        self.busy.saturating_add(1)
                    } else {
                        0
                    };
                    last_wake = now;
                }
                match wake {
                    Wake::Input(input) => {
                        self.handle_input(input, now);
                        // What else is queued already, before writing anything (bounded).
                        for _ in 1..INPUT_BATCH {
                            match self.inbox.try_recv() {
                                Some(input) => self.handle_input(input, now),
                                None => break,
                            }
                        }
                    }
                    Wake::Ws(ws, msg) => self.handle_ws(ws, msg, now),
                    Wake::Work => {}
                    Wake::Timer => {
                        if release_at.is_some_and(|at| at <= now) {
                            if std::mem::take(&mut self.woke) {
                                release_at = Some(now + RELEASE_AFTER);
                            } else {
                                self.shrink_buffers();
                                release_at = None;
                                self.busy = 0;
                            }
                        }
                        if self.machine.poll_timeout().is_some_and(|at| at <= now) {
                            self.machine.handle_timeout(now);
                        }
                    }
                }
            }
            Box::pin(self.finish()).await;
        }
    }

    /// Waits for the next thing to do: an input, a WebSocket message, progress of the layer
    /// above, or the timer. The sources are polled starting from a different one each time,
    /// so that a flood on one does not starve the others.
    fn poll_wake(
        &mut self,
        sleep: Pin<&mut tokio::time::Sleep>,
        armed: bool,
        cx: &mut Context<'_>,
    ) -> Poll<Wake> {
        self.turn = self.turn.wrapping_add(1);
        self.inbox.set_running();
        for i in 0..3 {
            let ready = match (self.turn as usize + i) % 3 {
                0 => self.inbox.poll_recv(cx).map(Wake::Input),
                // While the layer above is behind, the WebSockets are not read: the client
                // is slowed down by TCP, nothing is dropped.
                1 if self.paused => Poll::Pending,
                1 => poll_ws(&mut self.sockets, cx).map(|(ws, msg)| Wake::Ws(ws, msg)),
                _ => self
                    .conn
                    .poll_work(&mut self.machine, cx)
                    .map(|()| Wake::Work),
            };
            if ready.is_ready() {
                return ready;
            }
        }
        if armed && sleep.poll(cx).is_ready() {
            return Poll::Ready(Wake::Timer);
        }
        // (Its waker was registered by `poll_recv` above.)
        match self.inbox.idle_recv() {
            Some(input) => Poll::Ready(Wake::Input(input)),
            None => Poll::Pending,
        }
    }

    /// The session is closed: it leaves the table, wakes what waits on it, closes its
    /// WebSockets and answers the requests still waiting.
    async fn finish(&mut self) {
        self.conn.finish();
        self.shared.remove(&self.sid);
        drop(std::mem::replace(
            &mut self.inbox,
            super::inbox::closed_receiver(),
        ));
        self.handle.release_waiters();
        for mut ws in self.sockets.drain(..) {
            // The session is over: a WebSocket that fails to close is gone already.
            let _ = SinkExt::close(&mut ws.ws).await;
        }
        // Requests still waiting are answered as for an unknown session (a requester that
        // went away needs no answer).
        for (_, reply) in self.replies.0.drain(..) {
            let _ = reply.send(HttpResponse::Reject(engineio_proto::Rejection::UnknownSid));
        }
    }

    fn handle_input(&mut self, input: Input, now: Instant) {
        match input {
            Input::Poll { req, reply } => {
                self.replies.insert(req, reply);
                self.machine.handle_poll(req, now);
            }
            Input::PostHead {
                req,
                octet_stream,
                reply,
                action,
            } => {
                self.replies.insert(req, reply);
                let decided = self.machine.handle_post(req, octet_stream, now);
                // A refusal means the request went away: its abort guard reports it
                // (`Input::Aborted`).
                let _ = action.send(decided);
            }
            Input::Post {
                req,
                octet_stream,
                reply,
                mut body,
            } => {
                self.replies.insert(req, reply);
                // As `PostHead` then `PostBody`; a POST answered at once drops its body.
                if let PostAction::ReadBody { limit } =
                    self.machine.handle_post(req, octet_stream, now)
                {
                    body.truncate(limit.saturating_add(1));
                    self.handle_input(Input::PostBody { req, body }, now);
                }
            }
            Input::PostBody { req, body } => {
                if self.conn.backlogged() {
                    self.deferred_post = Some(Box::new((req, body)));
                } else {
                    self.machine.handle_post_body(req, body, now);
                }
            }
            Input::OtherMethod { req, reply } => {
                self.replies.insert(req, reply);
                self.machine.handle_other_method(req);
            }
            Input::Aborted { req } => {
                self.replies.remove(&req);
                self.machine.handle_request_aborted(req, now);
            }
            Input::WebSocket {
                ws,
                supports_binary,
            } => {
                let id = self.add_ws(*ws);
                self.machine.handle_ws_open(id, supports_binary, now);
            }
            Input::Send(frame) => {
                self.machine
                    .send_frames(std::slice::from_ref(&frame), false, now);
            }
            Input::Frames {
                frames,
                volatile,
                bytes,
            } => {
                self.handle.taken(bytes);
                self.machine.send_frames(&frames, volatile, now);
            }
            Input::SlowClient => {
                tracing::warn!(
                    "the client does not read fast enough: disconnected (slow-client policy)"
                );
                self.machine.handle_slow_client(now);
            }
            Input::Close => self.machine.close(now),
            Input::Custom(command) => self.conn.on_custom(&mut self.machine, command, now),
        }
    }

    fn handle_ws(&mut self, ws: WsId, msg: Option<WsRead>, now: Instant) {
        match msg {
            Some(WsRead::Message(msg)) => self.machine.handle_ws_message(ws, msg, now),
            Some(WsRead::TooLarge) => self.machine.handle_ws_oversized(ws, now),
            Some(WsRead::Error(code)) => {
                // The close frame the WebSocket layer owes the peer (tungstenite leaves it to
                // us), written aside and bounded: the session goes on with the error now.
                if let Some(i) = self.sockets.iter().position(|s| s.id == ws) {
                    let mut conn = self.sockets.remove(i);
                    tokio::spawn(async move {
                        let frame = CloseFrame {
                            code: CloseCode::from(code),
                            reason: "".into(),
                        };
                        let _ = tokio::time::timeout(WS_CLOSE_WAIT, async {
                            let _ = conn.ws.send(Message::Close(Some(frame))).await;
                            let _ = SinkExt::close(&mut conn.ws).await;
                        })
                        .await;
                    });
                }
                self.machine.handle_ws_error(ws, now);
            }
            None => {
                self.forget_ws(ws);
                self.machine.handle_ws_closed(ws, now);
            }
        }
    }

    /// A write to `ws` failed, or was abandoned because the client is too slow.
    fn ws_write_failed(&mut self, ws: WsId, slow: bool) {
        self.forget_ws(ws);
        if slow {
            self.machine.handle_slow_client(now());
        } else {
            self.machine.handle_ws_error(ws, now());
        }
    }

    fn forget_ws(&mut self, ws: WsId) {
        self.sockets.retain(|s| s.id != ws);
    }

    /// [`SessionTask::drain`] without waiting: `false` when a write would wait for the
    /// client (what is left, a transmit held included, is for `drain`).
    fn drain_now(&mut self, cx: &mut Context<'_>) -> bool {
        if self.handle.is_slow() || self.held.is_some() {
            // `drain` abandons the writes of a client found too slow, and applies a held
            // transmit before the others.
            return false;
        }
        loop {
            loop {
                let mut progressed = false;
                while let Some(t) = self.machine.poll_transmit() {
                    progressed = true;
                    match self.apply_now(t, cx) {
                        Applied::Done => {}
                        Applied::Wait => return false,
                        Applied::Hold(t) => {
                            self.held = Some(Box::new(t));
                            return false;
                        }
                    }
                }
                progressed |= self.conn.poll_events(&mut self.machine);
                if !progressed {
                    break;
                }
            }
            let mut failed = None;
            for conn in &mut self.sockets {
                if conn.unflushed > 0 {
                    match Pin::new(&mut conn.ws).poll_flush(cx) {
                        Poll::Pending => return false,
                        Poll::Ready(Ok(())) => conn.unflushed = 0,
                        Poll::Ready(Err(_)) => {
                            failed = Some(conn.id);
                            break;
                        }
                    }
                }
            }
            match failed {
                Some(ws) => self.ws_write_failed(ws, false),
                None => return true,
            }
        }
    }

    /// [`SessionTask::apply`] without waiting.
    fn apply_now(&mut self, t: Transmit, cx: &mut Context<'_>) -> Applied {
        match t {
            Transmit::Http { req, response } => {
                if let Some(reply) = self.replies.remove(&req) {
                    // A requester that went away needs no answer.
                    let _ = reply.send(response);
                }
                Applied::Done
            }
            Transmit::WebSocket { ws, msg } => {
                let Some(conn) = self.sockets.iter_mut().find(|s| s.id == ws) else {
                    return Applied::Done;
                };
                let sink = Pin::new(&mut conn.ws);
                match sink.poll_ready(cx) {
                    Poll::Pending => return Applied::Hold(Transmit::WebSocket { ws, msg }),
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => {
                        self.ws_write_failed(ws, false);
                        return Applied::Done;
                    }
                }
                let msg = ws_message(msg);
                conn.unflushed += msg.len();
                // Queued, written with the others at the end of the wake-up.
                let mut result = Pin::new(&mut conn.ws).start_send(msg);
                if result.is_ok() && conn.unflushed >= FLUSH_BYTES {
                    match Pin::new(&mut conn.ws).poll_flush(cx) {
                        // (`drain` flushes what is left.)
                        Poll::Pending => return Applied::Wait,
                        Poll::Ready(r) => {
                            conn.unflushed = 0;
                            result = r;
                        }
                    }
                }
                if result.is_err() {
                    self.ws_write_failed(ws, false);
                }
                Applied::Done
            }
            // Closing a WebSocket waits for it: rare, left to `drain`.
            Transmit::CloseWebSocket { ws, code } => {
                Applied::Hold(Transmit::CloseWebSocket { ws, code })
            }
            // (A kind of transmit this driver does not know: `apply` reports it.)
            other => Applied::Hold(other),
        }
    }

    /// Applies every output of the session and of the layer above, until both are quiet,
    /// then flushes the WebSockets written meanwhile (one write for many frames).
    async fn drain(&mut self) {
        if let Some(t) = self.held.take() {
            self.apply(*t).await;
        }
        loop {
            self.drain_queued().await;
            let mut failed = None;
            for conn in &mut self.sockets {
                if conn.unflushed > 0 {
                    conn.unflushed = 0;
                    match self.handle.unless_slow(conn.ws.flush()).await {
                        Some(Ok(())) => {}
                        Some(Err(_)) => {
                            failed = Some((conn.id, false));
                            break;
                        }
                        None => {
                            failed = Some((conn.id, true));
                            break;
                        }
                    }
                }
            }
            match failed {
                // The session reacts to the error (more outputs, maybe); then the others.
                Some((ws, slow)) => self.ws_write_failed(ws, slow),
                None => break,
            }
        }
    }

    /// Applies the outputs of the machine and lets the layer above take its events, until
    /// both are quiet.
    async fn drain_queued(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.machine.poll_transmit() {
                progressed = true;
                self.apply(t).await;
            }
            progressed |= self.conn.poll_events(&mut self.machine);
            if !progressed {
                break;
            }
        }
    }

    async fn apply(&mut self, t: Transmit) {
        match t {
            Transmit::Http { req, response } => {
                if let Some(reply) = self.replies.remove(&req) {
                    // A requester that went away needs no answer.
                    let _ = reply.send(response);
                }
            }
            Transmit::WebSocket { ws, msg } => {
                let Some(conn) = self.sockets.iter_mut().find(|s| s.id == ws) else {
                    return;
                };
                let msg = ws_message(msg);
                conn.unflushed += msg.len();
                // Queued, written with the others at the end of the wake-up.
                let handle = &self.handle;
                let written = handle
                    .unless_slow(async {
                        conn.ws.feed(msg).await?;
                        if conn.unflushed >= FLUSH_BYTES {
                            conn.unflushed = 0;
                            conn.ws.flush().await?;
                        }
                        Ok::<_, Error>(())
                    })
                    .await;
                match written {
                    Some(Ok(())) => {}
                    Some(Err(_)) => self.ws_write_failed(ws, false),
                    None => self.ws_write_failed(ws, true),
                }
            }
            Transmit::CloseWebSocket { ws, code } => {
                // (Computed first: a borrow of the sockets must not live across the await.)
                let position = self.sockets.iter().position(|s| s.id == ws);
                if let Some(i) = position {
                    let mut conn = self.sockets.remove(i);
                    let frame = code.map(|c| CloseFrame {
                        code: CloseCode::from(c),
                        reason: "".into(),
                    });
                    // Closing: a WebSocket that fails now is gone either way.
                    let _ = conn.ws.send(Message::Close(frame)).await;
                    let _ = SinkExt::close(&mut conn.ws).await;
                }
            }
            // `Transmit` is non-exhaustive (another crate): a future kind of transmit that
            // this driver does not know is not written (a new one comes with its driver
            // support in the same change; debug builds, hence the tests, stop here).
            other => debug_assert!(false, "transmit not handled by the driver: {other:?}"),
        }
    }
}

/// What [`SessionTask::apply_now`] did with a transmit.
enum Applied {
    Done,
    /// Written, but the flush must wait.
    Wait,
    /// Not applied: it must wait.
    Hold(Transmit),
}

/// The WebSocket message of a transmit.
fn ws_message(msg: WsMessage) -> Message {
    match msg {
        // The text is valid UTF-8 already (a ByteString): sent as a raw text frame, so the
        // same shared bytes are not validated again per recipient.
        WsMessage::Text(t) => Message::Frame(WsFrame::message(
            t.into_bytes(),
            OpCode::Data(OpData::Text),
            true,
        )),
        WsMessage::Binary(b) => Message::Binary(b),
    }
}

/// How long a busy session stays quiet before it releases its empty buffers.
const RELEASE_AFTER: Duration = Duration::from_secs(1);
/// A session woken up this many times in a row, each at most [`BUSY_GAP`] after the last,
/// is busy: it keeps its empty buffers until it has been quiet for [`RELEASE_AFTER`].
const BUSY_WAKEUPS: u8 = 16;
const BUSY_GAP: Duration = Duration::from_millis(10);

/// How long a WebSocket that broke the protocol gets to take its close frame.
const WS_CLOSE_WAIT: Duration = Duration::from_secs(1);

/// What woke the session task.
enum Wake {
    Input(Input),
    Ws(WsId, Option<WsRead>),
    Work,
    Timer,
}

/// What reading a WebSocket gave.
enum WsRead {
    Message(WsMessage),
    /// A message over `maxPayload` (refused by the WebSocket layer before it was buffered).
    TooLarge,
    /// The peer broke the WebSocket protocol: the close code to answer with, as Node's `ws`
    /// does (1007 for a text message that is not UTF-8, 1002 for the rest).
    Error(u16),
}

/// Polls every WebSocket of the session for its next message.
fn poll_ws(sockets: &mut [WsConn], cx: &mut Context<'_>) -> Poll<(WsId, Option<WsRead>)> {
    for conn in sockets.iter_mut() {
        loop {
            let item = match conn.ws.poll_next_unpin(cx) {
                Poll::Pending => break,
                Poll::Ready(item) => item,
            };
            let read = match item {
                None => None,
                Some(Ok(Message::Text(t))) => Some(WsRead::Message(WsMessage::Text(
                    // tungstenite validated the UTF-8.
                    bytestring::ByteString::try_from(Bytes::from(t)).expect("utf-8"),
                ))),
                Some(Ok(Message::Binary(b))) => Some(WsRead::Message(WsMessage::Binary(b))),
                Some(Ok(Message::Close(_))) => None,
                // Ping/pong frames are answered by tungstenite.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Err(Error::Capacity(_))) => Some(WsRead::TooLarge),
                // The peer went away without a close frame: as Node's `ws` reports it, a
                // close (1006), not an error.
                Some(Err(
                    Error::ConnectionClosed
                    | Error::AlreadyClosed
                    | Error::Protocol(ProtocolError::ResetWithoutClosingHandshake)
                    | Error::Io(_),
                )) => None,
                Some(Err(Error::Utf8(_))) => Some(WsRead::Error(1007)),
                Some(Err(_)) => Some(WsRead::Error(1002)),
            };
            return Poll::Ready((conn.id, read));
        }
    }
    Poll::Pending
}

/// The session tasks' clock (tokio's, so tests can pause and advance it).
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use engineio_proto::{RequestId, ServerSession};

    use super::super::socket::ChannelConnection;
    use super::super::{EngineConfig, EngineShared};
    use super::SessionTask;
    use crate::conn::SioConnection;

    /// What one connection's task holds. Before the endpoint: a 520-byte task holding a
    /// `Box<dyn Connection>`, its future 1216 bytes (the task twice: an `async fn` copies
    /// its argument), plus the 512-byte `SioConnection` on the heap: 1728 bytes in two
    /// allocations. Then: a 1032-byte task (the endpoint and the connection inline, and the
    /// slot of a POST deferred while the handlers are behind), its future 1208 bytes, one
    /// allocation. Now: a 1008-byte task (its requests waiting for an answer in a vector,
    /// not a hash table; a transmit held while a write waits), its future 1216 bytes (when
    /// it last woke up and when a busy session releases its buffers).
    #[test]
    fn memory_of_a_session_task() {
        let sio = size_of::<SessionTask<SioConnection>>();
        let bare = size_of::<SessionTask<ChannelConnection>>();
        println!("SessionTask: Socket.IO {sio} B, bare Engine.IO {bare} B");
        assert!(
            sio <= 1008,
            "no larger than the task and its boxed connection before"
        );

        // The future spawned per connection (what an idle connection costs, with the
        // buffers it holds).
        let shared = Arc::new(EngineShared::new(
            EngineConfig::default(),
            Box::new(|_, _| {}),
        ));
        let io = crate::SocketIo::new(crate::Config::default());
        let (parts, ()) = http::Request::new(()).into_parts();
        let base = Arc::new(crate::socket::HandshakeBase::from_request(&parts, None));
        let now = super::now();
        let sid = shared.generate_id();
        let session = ServerSession::new_polling(
            sid.clone(),
            shared.config.protocol.clone(),
            RequestId(0),
            now,
        );
        let channel = EngineShared::new_channel();
        let conn = SioConnection::new(io.inner.clone(), channel.0.clone(), base);
        let machine = SioConnection::endpoint(&io.inner, session, shared.random_seed(), now);
        let task = SessionTask::new(sid, machine, conn, channel, shared);
        let future = task.run();
        println!("the Socket.IO session future: {} B", size_of_val(&future));
        assert!(
            size_of_val(&future) <= 1216,
            "no larger than the future alone was before"
        );
    }
}
