//! The task that drives one Engine.IO session: it owns the [`ServerSession`] state machine
//! and whatever runs on top of it (a [`Connection`]), answers HTTP requests, reads and
//! writes the WebSockets, and sleeps until the next timer. One task per session, no other.

use std::collections::HashMap;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio_proto::{
    CloseReason, Data, Event, Frame, HttpResponse, PostAction, RequestId, ServerSession, Sid,
    Transmit, WsId, WsMessage,
};
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
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

/// Access to the session for the layer above Engine.IO, inside the session task.
pub(crate) struct SessionCtl<'a> {
    pub(crate) session: &'a mut ServerSession,
    pub(crate) now: Instant,
}

impl SessionCtl<'_> {
    /// Closes the session ("forced close").
    pub(crate) fn close(&mut self) {
        self.session.close(self.now);
    }
}

/// What runs on top of an Engine.IO session, inside its task.
pub(crate) trait Connection: Send + 'static {
    /// A message from the client.
    fn on_message(&mut self, ctl: &mut SessionCtl<'_>, data: Data);
    /// The session closed.
    fn on_close(&mut self, reason: CloseReason);
    /// The next deadline of this layer.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    /// Runs this layer's timers.
    fn handle_timeout(&mut self, ctl: &mut SessionCtl<'_>) {
        let _ = ctl;
    }
    /// A command sent to this session with [`Input::Custom`].
    fn on_custom(&mut self, ctl: &mut SessionCtl<'_>, command: Box<dyn std::any::Any + Send>) {
        let _ = (ctl, command);
    }
    /// Frees the memory of empty buffers: the session is about to go idle.
    fn shrink_buffers(&mut self) {}
    /// Drives this layer's asynchronous work (handlers); `Ready` when it made progress.
    fn poll_work(&mut self, ctl: &mut SessionCtl<'_>, cx: &mut Context<'_>) -> Poll<()> {
        let _ = (ctl, cx);
        Poll::Pending
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

pub(crate) struct SessionTask<C> {
    sid: Sid,
    handle: SessionHandle,
    session: ServerSession,
    conn: C,
    inbox: InboxReceiver,
    shared: Arc<EngineShared>,
    replies: HashMap<RequestId, oneshot::Sender<HttpResponse>>,
    /// At most two: the session's WebSocket and a probe during an upgrade.
    sockets: Vec<WsConn>,
    next_ws: u64,
    closed: bool,
    /// Which source [`SessionTask::poll_wake`] polls first.
    turn: usize,
}

impl<C: Connection> SessionTask<C> {
    pub(crate) fn new(
        session: ServerSession,
        conn: C,
        (handle, inbox): (SessionHandle, InboxReceiver),
        shared: Arc<EngineShared>,
    ) -> Self {
        Self {
            sid: *session.sid(),
            handle,
            session,
            conn,
            inbox,
            shared,
            replies: HashMap::new(),
            sockets: Vec::new(),
            next_ws: 0,
            closed: false,
            turn: 0,
        }
    }

    /// A task for a session opened on WebSocket: the open packet is its first message.
    pub(crate) fn new_websocket(
        sid: Sid,
        conn: C,
        channel: (SessionHandle, InboxReceiver),
        shared: Arc<EngineShared>,
        ws: Ws,
        supports_binary: bool,
    ) -> Self {
        let session = ServerSession::new_websocket(
            sid,
            shared.config.protocol.clone(),
            WsId(0),
            supports_binary,
            now(),
        );
        let mut task = Self::new(session, conn, channel, shared);
        let id = task.add_ws(ws);
        debug_assert_eq!(id, WsId(0));
        task
    }

    /// Registers the reply channel of the handshake request.
    pub(crate) fn attach_handshake_reply(
        &mut self,
        req: RequestId,
        reply: oneshot::Sender<HttpResponse>,
    ) {
        self.replies.insert(req, reply);
    }

    /// Releases the empty buffers of the session and of the layer above.
    fn shrink_buffers(&mut self) {
        self.session.shrink_buffers();
        self.conn.shrink_buffers();
        self.inbox.shrink();
        if self.sockets.capacity() > self.sockets.len() {
            self.sockets.shrink_to_fit();
        }
    }

    fn add_ws(&mut self, ws: Ws) -> WsId {
        let id = WsId(self.next_ws);
        self.next_ws += 1;
        self.sockets.reserve_exact(1);
        self.sockets.push(WsConn {
            id,
            ws,
            unflushed: 0,
        });
        id
    }

    pub(crate) async fn run(mut self) {
        // One timer for the task's whole life, reset to the next deadline at each wake-up.
        // The task's future is what a connection costs while idle: it holds only this, the
        // task's state and the wait below (no select of several futures).
        let mut sleep = std::pin::pin!(tokio::time::sleep(Duration::ZERO));
        loop {
            // Boxed: the writes' futures are large and only live during a wake-up.
            Box::pin(self.drain()).await;
            if self.closed {
                break;
            }
            // Going idle: release the empty buffers, so that an idle session holds none. (Done
            // at every wake-up: delaying it to a quiet moment measured no CPU gain on the echo
            // benchmark and more memory, since the freed blocks are then not reused.)
            self.shrink_buffers();
            let deadline = [self.session.poll_timeout(), self.conn.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            if let Some(deadline) = deadline {
                sleep.as_mut().reset(deadline.into());
            }
            let armed = deadline.is_some();
            let wake = poll_fn(|cx| self.poll_wake(sleep.as_mut(), armed, cx)).await;
            match wake {
                Wake::Input(input) => {
                    self.handle_input(input);
                    // What else is queued already, before writing anything (bounded).
                    for _ in 1..INPUT_BATCH {
                        match self.inbox.try_recv() {
                            Some(input) => self.handle_input(input),
                            None => break,
                        }
                    }
                }
                Wake::Ws(ws, msg) => self.handle_ws(ws, msg),
                Wake::Work => {}
                Wake::Timer => {
                    let now = now();
                    self.session.handle_timeout(now);
                    let mut ctl = SessionCtl {
                        session: &mut self.session,
                        now,
                    };
                    self.conn.handle_timeout(&mut ctl);
                }
            }
        }
        Box::pin(self.finish()).await;
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
        for i in 0..3 {
            let ready = match (self.turn + i) % 3 {
                0 => self.inbox.poll_recv(cx).map(Wake::Input),
                1 => poll_ws(&mut self.sockets, cx).map(|(ws, msg)| Wake::Ws(ws, msg)),
                _ => {
                    let mut ctl = SessionCtl {
                        session: &mut self.session,
                        now: now(),
                    };
                    self.conn.poll_work(&mut ctl, cx).map(|()| Wake::Work)
                }
            };
            if ready.is_ready() {
                return ready;
            }
        }
        if armed && sleep.poll(cx).is_ready() {
            return Poll::Ready(Wake::Timer);
        }
        Poll::Pending
    }

    /// The session is closed: it leaves the table, wakes what waits on it, closes its
    /// WebSockets and answers the requests still waiting.
    async fn finish(&mut self) {
        self.shared.remove(&self.sid);
        drop(std::mem::replace(
            &mut self.inbox,
            super::inbox::closed_receiver(),
        ));
        self.handle.release_waiters();
        for mut ws in self.sockets.drain(..) {
            let _ = SinkExt::close(&mut ws.ws).await;
        }
        // Requests still waiting are answered as for an unknown session.
        for (_, reply) in self.replies.drain() {
            let _ = reply.send(HttpResponse::Reject(engineio_proto::Rejection::UnknownSid));
        }
    }

    fn handle_input(&mut self, input: Input) {
        // The clock is read only by the inputs that need it (not by a broadcast's frames).
        match input {
            Input::Poll { req, reply } => {
                self.replies.insert(req, reply);
                self.session.handle_poll(req, now());
            }
            Input::PostHead {
                req,
                octet_stream,
                reply,
                action,
            } => {
                self.replies.insert(req, reply);
                let _ = action.send(self.session.handle_post(req, octet_stream, now()));
            }
            Input::PostBody { req, body } => self.session.handle_post_body(req, body, now()),
            Input::OtherMethod { req, reply } => {
                self.replies.insert(req, reply);
                self.session.handle_other_method(req);
            }
            Input::Aborted { req } => {
                self.replies.remove(&req);
                self.session.handle_request_aborted(req, now());
            }
            Input::WebSocket {
                ws,
                supports_binary,
            } => {
                let id = self.add_ws(*ws);
                self.session.handle_ws_open(id, supports_binary, now());
            }
            Input::Send(frame) => {
                let _ = self.session.send_frame(frame);
            }
            Input::Frames {
                frames,
                volatile,
                bytes,
            } => {
                self.handle.taken(bytes);
                if volatile && !self.session.is_writable() {
                    return;
                }
                // The session closes itself if its buffer would pass `max_buffered`.
                for frame in frames.iter() {
                    if self.session.send_frame(frame.clone()).is_err() {
                        break;
                    }
                }
            }
            Input::SlowClient => self.session.handle_slow_client(now()),
            Input::Close => self.session.close(now()),
            Input::Custom(command) => {
                let mut ctl = SessionCtl {
                    session: &mut self.session,
                    now: now(),
                };
                self.conn.on_custom(&mut ctl, command);
            }
        }
    }

    fn handle_ws(&mut self, ws: WsId, msg: Option<WsRead>) {
        let now = now();
        match msg {
            Some(WsRead::Message(msg)) => self.session.handle_ws_message(ws, msg, now),
            Some(WsRead::TooLarge) => self.session.handle_ws_oversized(ws, now),
            Some(WsRead::Error) => {
                self.forget_ws(ws);
                self.session.handle_ws_error(ws, now);
            }
            None => {
                self.forget_ws(ws);
                self.session.handle_ws_closed(ws, now);
            }
        }
    }

    /// A write to `ws` failed, or was abandoned because the client is too slow.
    fn ws_write_failed(&mut self, ws: WsId, slow: bool) {
        self.forget_ws(ws);
        if slow {
            self.session.handle_slow_client(now());
        } else {
            self.session.handle_ws_error(ws, now());
        }
    }

    fn forget_ws(&mut self, ws: WsId) {
        self.sockets.retain(|s| s.id != ws);
    }

    /// Applies every output of the session and of the layer above, until both are quiet,
    /// then flushes the WebSockets written meanwhile (one write for many frames).
    async fn drain(&mut self) {
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

    /// Applies the outputs of the session and of the layer above until both are quiet.
    async fn drain_queued(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.session.poll_transmit() {
                progressed = true;
                self.apply(t).await;
            }
            while let Some(event) = self.session.poll_event() {
                progressed = true;
                let now = now();
                match event {
                    Event::Message(data) => {
                        let mut ctl = SessionCtl {
                            session: &mut self.session,
                            now,
                        };
                        self.conn.on_message(&mut ctl, data);
                    }
                    Event::Closed(reason) => {
                        self.closed = true;
                        self.conn.on_close(reason);
                    }
                    Event::Upgrading | Event::Upgraded => {}
                    _ => {}
                }
            }
            if !progressed {
                break;
            }
        }
    }

    async fn apply(&mut self, t: Transmit) {
        match t {
            Transmit::Http { req, response } => {
                if let Some(reply) = self.replies.remove(&req) {
                    let _ = reply.send(response);
                }
            }
            Transmit::WebSocket { ws, msg } => {
                let Some(conn) = self.sockets.iter_mut().find(|s| s.id == ws) else {
                    return;
                };
                let msg = match msg {
                    // The text is valid UTF-8 already (a ByteString): sent as a raw text
                    // frame, so the same shared bytes are not validated again per recipient.
                    WsMessage::Text(t) => Message::Frame(WsFrame::message(
                        t.into_bytes(),
                        OpCode::Data(OpData::Text),
                        true,
                    )),
                    WsMessage::Binary(b) => Message::Binary(b),
                };
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
                    let _ = conn.ws.send(Message::Close(frame)).await;
                    let _ = SinkExt::close(&mut conn.ws).await;
                }
            }
            _ => {}
        }
    }
}

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
    Error,
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
                Some(Err(_)) => Some(WsRead::Error),
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
