//! The driver: one task per Manager. It owns the Sans-IO [`ClientEndpoint`], performs the
//! HTTP requests and WebSocket I/O the endpoint's transmits ask for, hands every result back
//! with the connection it belongs to, sleeps until the endpoint's next deadline (on tokio's
//! clock), and passes the endpoint's events on: to the sockets' handler tasks, to the
//! Manager's subscribers, and to the callers waiting for an ack. Every protocol decision is
//! the endpoint's.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use bytestring::ByteString;
use engineio_proto::{ClientTransmit, TransportKind, WsMessage};
use futures_util::{FutureExt, StreamExt};
use socketio_proto::endpoint::client::{
    self as endpoint, AckHandle, AckOutcome, AuthRequest, ClientEndpoint, ConnectionId,
    EmitOptions, Event, Transmit,
};
use socketio_proto::{Namespace, Payload};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message as WsFrame};
use tracing::field::Empty;
use tracing::{Instrument, Span, debug, info, info_span, trace, warn};

use crate::config::Options;
use crate::error::{AckError, ConnectError, EmitError};
use crate::shared::{
    Auth, Command, EngineInfo, Info, ManagerEvent, Reply, SocketEvent, SocketState, lock,
};
use crate::transport::{IoError, ParsedUrl, Transport, WsReader, WsStream, split_ws};

type AckSender = oneshot::Sender<Result<Payload, AckError>>;

/// Starts the driver of a Manager: it ends once every handle is gone and the connection is
/// closed.
pub(crate) fn spawn(
    url: &ParsedUrl,
    options: &Options,
    rx: mpsc::Receiver<Command>,
    self_tx: mpsc::WeakSender<Command>,
    manager_events: broadcast::Sender<ManagerEvent>,
    engine: Arc<Mutex<EngineInfo>>,
) {
    let transport = Transport::new(url, options);
    let root = info_span!("socketio_client", url = %transport.url());
    let driver = Driver {
        endpoint: ClientEndpoint::new(options.endpoint.clone(), options.random.clone()),
        transport,
        rx,
        self_tx,
        manager_events,
        engine,
        sockets: HashMap::new(),
        acks: HashMap::new(),
        conns: Vec::new(),
        closed: false,
        after_flush: Vec::new(),
        after_close: Vec::new(),
        root: root.clone(),
    };
    tokio::spawn(driver.run().instrument(root));
}

/// The I/O of one Engine.IO connection, in its span.
struct Conn {
    id: ConnectionId,
    span: Span,
    get: Option<BoxFuture<Io>>,
    post: Option<BoxFuture<Io>>,
    ws_opening: Option<BoxFuture<Io>>,
    ws: Option<(mpsc::UnboundedSender<WsFrame>, WsReader)>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A completed I/O of a connection.
enum Io {
    Poll(Result<Bytes, IoError>),
    Post(Result<Bytes, IoError>),
    WsOpen(Result<Box<WsStream>, IoError>),
    Ws(Option<Result<WsFrame, tungstenite::Error>>),
}

impl Conn {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Io> {
        for slot in [&mut self.get, &mut self.post, &mut self.ws_opening] {
            if let Some(Poll::Ready(io)) = slot.as_mut().map(|f| f.poll_unpin(cx)) {
                *slot = None;
                return Poll::Ready(io);
            }
        }
        match self.ws.as_mut().map(|(_, rx)| rx.poll_next_unpin(cx)) {
            Some(Poll::Ready(frame)) => Poll::Ready(Io::Ws(frame)),
            Some(Poll::Pending) | None => Poll::Pending,
        }
    }
}

enum Wake {
    Command(Option<Command>),
    Io(ConnectionId, Io),
    Timer,
}

struct Driver {
    endpoint: ClientEndpoint,
    transport: Transport,
    rx: mpsc::Receiver<Command>,
    /// For the answers of auth functions, which run in tasks of their own.
    self_tx: mpsc::WeakSender<Command>,
    manager_events: broadcast::Sender<ManagerEvent>,
    /// What the handles read of the connection in use.
    engine: Arc<Mutex<EngineInfo>>,
    /// The sockets the handles asked to connect.
    sockets: HashMap<Namespace, Arc<SocketState>>,
    /// Who waits for each ack the endpoint reports on.
    acks: HashMap<AckHandle, AckSender>,
    conns: Vec<Conn>,
    /// Every handle is gone: the driver ends once the connection is closed.
    closed: bool,
    /// Who waits for the commands of the last round to be handed to the connection.
    after_flush: Vec<oneshot::Sender<()>>,
    /// Who waits for the connection to be closed.
    after_close: Vec<oneshot::Sender<()>>,
    root: Span,
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

async fn sleep_until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

/// Hands `value` to a caller waiting for it.
fn answer<T>(tx: oneshot::Sender<T>, value: T) {
    if tx.send(value).is_err() {
        // The caller's future was dropped: nobody is left to tell.
        trace!("the caller stopped waiting");
    }
}

impl Driver {
    async fn run(mut self) {
        loop {
            self.flush();
            for done in self.after_flush.drain(..) {
                let _ = done.send(());
            }
            if !self.after_close.is_empty()
                && self.endpoint.connection().is_none()
                && self.conns.is_empty()
            {
                for done in self.after_close.drain(..) {
                    let _ = done.send(());
                }
            }
            if self.closed && self.conns.is_empty() {
                debug!("closed");
                return;
            }
            let deadline = self.endpoint.poll_timeout();
            let conns = &mut self.conns;
            let wake = tokio::select! {
                cmd = self.rx.recv(), if !self.closed => Wake::Command(cmd),
                (id, io) = poll_fn(|cx| poll_conns(conns, cx)) => Wake::Io(id, io),
                () = sleep_until(deadline) => Wake::Timer,
            };
            let now = now();
            match wake {
                Wake::Command(Some(cmd)) => self.on_command(cmd, now),
                Wake::Command(None) => {
                    debug!("every handle is gone: closing");
                    self.closed = true;
                    self.endpoint.close(now);
                }
                Wake::Io(id, io) => self.on_io(id, io, now),
                Wake::Timer => self.endpoint.handle_timeout(now),
            }
        }
    }

    /// Starts the I/O the endpoint asks for and passes its events on, until it is quiet;
    /// then drops the I/O of the connections it no longer uses.
    fn flush(&mut self) {
        let now = now();
        loop {
            while let Some(t) = self.endpoint.poll_transmit() {
                self.start(t);
            }
            let Some(event) = self.endpoint.poll_event() else {
                break;
            };
            let span = self.current_span();
            let _entered = span.enter();
            self.on_event(event, now);
        }
        let (current, endpoint) = (self.endpoint.connection(), &self.endpoint);
        self.conns.retain_mut(|c| {
            if Some(c.id) == current {
                return true;
            }
            // Only the close packet of a connection the client closed still matters.
            c.get = None;
            c.ws_opening = None;
            c.ws = None;
            c.post.is_some() && endpoint.is_live(c.id)
        });
    }

    fn current_span(&self) -> Span {
        let current = self.endpoint.connection();
        let conn = self.conns.iter().find(|c| Some(c.id) == current);
        conn.map_or_else(|| self.root.clone(), |c| c.span.clone())
    }

    fn start(&mut self, t: Transmit) {
        let conn = match self.conns.iter().position(|c| c.id == t.connection) {
            Some(i) => &mut self.conns[i],
            None => {
                let id = t.connection.0;
                let span = info_span!(parent: &self.root, "connection", id, sid = Empty, transport = Empty);
                self.conns.push(Conn {
                    id: t.connection,
                    span,
                    get: None,
                    post: None,
                    ws_opening: None,
                    ws: None,
                });
                let last = self.conns.len() - 1;
                &mut self.conns[last]
            }
        };
        let (transport, sid) = (&self.transport, t.sid.as_deref());
        if let Some(sid) = sid {
            conn.span.record("sid", sid);
        }
        match t.action {
            ClientTransmit::Poll => {
                if sid.is_none() {
                    conn.span.record("transport", "polling");
                    debug!(parent: &conn.span, "handshake over polling");
                }
                conn.get = Some(Box::pin(transport.request(sid, None).map(Io::Poll)));
            }
            ClientTransmit::Post(body) => {
                let post = transport.request(sid, Some(body));
                conn.post = Some(Box::pin(post.map(Io::Post)));
            }
            ClientTransmit::OpenWebSocket => {
                if sid.is_none() {
                    conn.span.record("transport", "websocket");
                    debug!(parent: &conn.span, "handshake over WebSocket");
                } else {
                    debug!(parent: &conn.span, "upgrade: WebSocket probe");
                }
                let open = transport.open_ws(sid).map(|r| Io::WsOpen(r.map(Box::new)));
                conn.ws_opening = Some(Box::pin(open));
            }
            ClientTransmit::WebSocket(msg) => {
                let frame = match msg {
                    // A ByteString is UTF-8 already.
                    WsMessage::Text(t) => match t.into_bytes().try_into() {
                        Ok(t) => WsFrame::Text(t),
                        Err(e) => return warn!(parent: &conn.span, error = %e, "not UTF-8"),
                    },
                    WsMessage::Binary(b) => WsFrame::Binary(b),
                };
                let sent = conn.ws.as_ref().map(|(tx, _)| tx.send(frame));
                if !matches!(sent, Some(Ok(()))) {
                    // The reader reports the close, and the endpoint decides.
                    debug!(parent: &conn.span, "no WebSocket to write to");
                }
            }
            ClientTransmit::CloseWebSocket => {
                conn.ws = None;
                conn.ws_opening = None;
            }
            // A wildcard is forced by `#[non_exhaustive]` on engineio-proto's enum: an action
            // this driver does not know is not performed (the session's timers end it).
            other => warn!(parent: &conn.span, ?other, "unknown transport action"),
        }
    }

    fn on_io(&mut self, id: ConnectionId, io: Io, now: std::time::Instant) {
        let Some(conn) = self.conns.iter_mut().find(|c| c.id == id) else {
            return;
        };
        let _entered = conn.span.clone().entered();
        let endpoint = &mut self.endpoint;
        match io {
            Io::Poll(Ok(body)) => endpoint.handle_poll_response(id, body, now),
            Io::Poll(Err(e)) => {
                debug!(error = %e, "polling GET failed");
                endpoint.handle_poll_error(id, now);
            }
            Io::Post(r) => {
                if let Err(e) = &r {
                    debug!(error = %e, "polling POST failed");
                }
                endpoint.handle_post_response(id, r.is_ok(), now);
            }
            Io::WsOpen(Ok(ws)) => {
                conn.ws = Some(split_ws(*ws));
                endpoint.handle_ws_open(id, now);
            }
            Io::WsOpen(Err(e)) => {
                debug!(error = %e, "WebSocket failed to open");
                endpoint.handle_ws_error(id, now);
            }
            Io::Ws(Some(Ok(WsFrame::Text(t)))) => match ByteString::try_from(Bytes::from(t)) {
                Ok(t) => endpoint.handle_ws_message(id, WsMessage::Text(t), now),
                // tungstenite validated it.
                Err(e) => warn!(error = %e, "text frame not UTF-8"),
            },
            Io::Ws(Some(Ok(WsFrame::Binary(b)))) => {
                endpoint.handle_ws_message(id, WsMessage::Binary(b), now);
            }
            // tungstenite answers pings; Engine.IO has a heartbeat of its own.
            Io::Ws(Some(Ok(WsFrame::Ping(_) | WsFrame::Pong(_) | WsFrame::Frame(_)))) => {}
            Io::Ws(Some(Ok(WsFrame::Close(frame)))) => {
                debug!(?frame, "WebSocket closed by the server");
                conn.ws = None;
                endpoint.handle_ws_closed(id, now);
            }
            Io::Ws(None) => {
                debug!("WebSocket ended");
                conn.ws = None;
                endpoint.handle_ws_closed(id, now);
            }
            Io::Ws(Some(Err(e))) => {
                debug!(error = %e, "WebSocket failed");
                conn.ws = None;
                endpoint.handle_ws_error(id, now);
            }
        }
    }

    fn on_command(&mut self, cmd: Command, now: std::time::Instant) {
        match cmd {
            Command::Connect(state) => {
                let nsp = state.nsp.clone();
                let auth = lock(&state.auth).to_endpoint();
                self.sockets.insert(nsp.clone(), state);
                self.endpoint.connect(&nsp, auth, now);
                self.sync_active(&nsp);
            }
            Command::Disconnect(nsp, done) => {
                self.endpoint.disconnect(&nsp, now);
                self.sync_active(&nsp);
                self.after_flush.push(done);
            }
            Command::Close(done) => {
                self.endpoint.close(now);
                for s in self.sockets.values() {
                    s.active.store(false, Ordering::SeqCst);
                }
                self.after_close.push(done);
            }
            Command::Emit {
                nsp,
                payload,
                volatile,
                reply,
            } => {
                let mut options = match volatile {
                    true => EmitOptions::volatile(),
                    false => EmitOptions::default(),
                };
                match reply {
                    Reply::Sent(tx) => {
                        let r = self.endpoint.emit(&nsp, payload, options, now);
                        answer(tx, r.map(drop).map_err(EmitError::of_endpoint));
                    }
                    Reply::Ack(mode, tx) => {
                        options.ack = mode;
                        match self.endpoint.emit(&nsp, payload, options, now) {
                            Ok(Some(handle)) => drop(self.acks.insert(handle, tx)),
                            // Never with an ack asked for; if so, no answer can come.
                            Ok(None) => answer(tx, Err(AckError::Disconnected)),
                            Err(e) => answer(tx, Err(EmitError::of_endpoint(e).into())),
                        }
                    }
                }
            }
            Command::Ack { nsp, id, payload } => self.endpoint.ack(&nsp, id, payload, now),
            Command::Reconfigure(change) => self.endpoint.reconfigure(change),
            Command::ObservePackets => self.endpoint.observe_packets(true),
            Command::AuthReady { nsp, request, auth } => {
                self.endpoint.provide_auth(&nsp, request, auth, now);
            }
        }
    }

    fn sync_active(&self, nsp: &Namespace) {
        if let Some(s) = self.sockets.get(nsp) {
            s.active
                .store(self.endpoint.is_active(nsp), Ordering::SeqCst);
        }
    }

    fn on_event(&mut self, event: Event, now: std::time::Instant) {
        match event {
            Event::AuthNeeded { nsp, request } => self.auth_needed(nsp, request, now),
            Event::Manager(event) => self.on_manager_event(event),
            Event::Socket { nsp, event } => self.on_socket_event(&nsp, event),
            // A wildcard is forced by `#[non_exhaustive]` on the endpoint's enum: an event
            // this driver does not know has nobody to go to.
            other => warn!(?other, "unknown endpoint event"),
        }
    }

    fn auth_needed(&mut self, nsp: Namespace, request: AuthRequest, now: std::time::Instant) {
        let Some(state) = self.sockets.get(&nsp) else {
            return;
        };
        let auth = lock(&state.auth).clone();
        match auth {
            Auth::Fn(f) => {
                // In a task of its own: the function may use the client.
                let tx = self.self_tx.clone();
                let task = async move {
                    let auth = f().await;
                    let cmd = Command::AuthReady { nsp, request, auth };
                    let sent = match tx.upgrade() {
                        Some(tx) => tx.send(cmd).await.is_ok(),
                        None => false,
                    };
                    if !sent {
                        debug!("auth computed after the driver ended");
                    }
                };
                tokio::spawn(task.in_current_span());
            }
            // The function was replaced by a value since the connect.
            Auth::Value(v) => self.endpoint.provide_auth(&nsp, request, v, now),
            // Not reachable: once set, the auth is never unset.
            Auth::None => {
                let empty = serde_json::Value::Object(serde_json::Map::new());
                self.endpoint.provide_auth(&nsp, request, empty, now);
            }
        }
    }

    fn on_manager_event(&mut self, event: endpoint::ManagerEvent) {
        use endpoint::ManagerEvent as E;
        let event = match event {
            E::Open => {
                info!(transport = ?self.endpoint.transport(), "open");
                ManagerEvent::Open
            }
            E::Upgrade => {
                self.current_span().record("transport", "websocket");
                info!("upgraded to WebSocket");
                ManagerEvent::Upgrade
            }
            E::Close(reason) => {
                info!(%reason, "closed");
                ManagerEvent::Close(reason)
            }
            E::Error(e) => {
                warn!(error = %e, "the connection failed to open");
                ManagerEvent::Error(e)
            }
            E::ReconnectAttempt(n) => {
                info!(attempt = n, "reconnecting");
                // socket.io-client reads `socket.auth` at every connect: the current one.
                for (nsp, state) in &self.sockets {
                    let auth = lock(&state.auth).to_endpoint();
                    self.endpoint.set_auth(nsp, auth);
                }
                ManagerEvent::ReconnectAttempt(n)
            }
            E::Reconnect(n) => {
                info!(attempts = n, "reconnected");
                ManagerEvent::Reconnect(n)
            }
            E::ReconnectError(e) => {
                debug!(error = %e, "reconnection attempt failed");
                ManagerEvent::ReconnectError(e)
            }
            E::ReconnectFailed => {
                warn!("reconnection attempts used up: giving up");
                ManagerEvent::ReconnectFailed
            }
            E::ProtocolViolation(detail) => {
                return warn!(%detail, "protocol violation by the server: closing");
            }
            E::Ping => {
                trace!("ping");
                ManagerEvent::Ping
            }
            E::Packet(packet) => {
                let listeners = lock(&self.engine).packet_listeners.handlers();
                for listener in listeners {
                    listener(&packet);
                }
                return;
            }
            // A wildcard is forced by `#[non_exhaustive]` on the endpoint's enum: the
            // Manager's subscribers have no variant for an event added there.
            other => return warn!(?other, "unknown Manager event"),
        };
        {
            let mut engine = lock(&self.engine);
            match event {
                ManagerEvent::Open | ManagerEvent::Upgrade => {
                    engine.id = self.endpoint.session_id().map(str::to_owned);
                    engine.transport = self.endpoint.transport().map(TransportKind::name);
                }
                ManagerEvent::Close(_) => {
                    engine.id = None;
                    engine.transport = None;
                }
                ManagerEvent::Error(_)
                | ManagerEvent::Ping
                | ManagerEvent::ReconnectAttempt(_)
                | ManagerEvent::Reconnect(_)
                | ManagerEvent::ReconnectError(_)
                | ManagerEvent::ReconnectFailed => {}
            }
        }
        if self.manager_events.send(event).is_err() {
            trace!("nobody subscribed to the Manager's events");
        }
    }

    fn on_socket_event(&mut self, nsp: &Namespace, event: endpoint::SocketEvent) {
        use endpoint::SocketEvent as E;
        if let E::Ack { handle, outcome } = event {
            // A handle is reported once; emits on a socket never connected have acks too.
            let Some(tx) = self.acks.remove(&handle) else {
                return;
            };
            let result = match outcome {
                AckOutcome::Answered(args) => Ok(args),
                AckOutcome::TimedOut => Err(AckError::Timeout),
                AckOutcome::Cancelled => Err(AckError::Disconnected),
                // A wildcard is forced by `#[non_exhaustive]` on the endpoint's enum: an
                // outcome added there ends the wait as a disconnection does.
                _ => Err(AckError::Disconnected),
            };
            return answer(tx, result);
        }
        let Some(state) = self.sockets.get(nsp) else {
            return warn!(%nsp, ?event, "an event for a socket never connected");
        };
        let event = match event {
            E::Connect {
                sid,
                recovered,
                pid,
                ..
            } => {
                info!(%nsp, %sid, recovered, pid = pid.is_some(), "namespace connected");
                state.connected.store(true, Ordering::SeqCst);
                *lock(&state.info) = Info {
                    id: Some(sid),
                    recovered,
                };
                state.outcome.send_replace(Some(Ok(())));
                SocketEvent::Connect
            }
            E::ConnectError(e) => {
                let e = ConnectError::of_endpoint(e);
                if e.is_from_server() {
                    warn!(%nsp, error = %e, "namespace refused");
                } else {
                    debug!(%nsp, error = %e, "connect_error");
                }
                state.outcome.send_replace(Some(Err(e.clone())));
                SocketEvent::ConnectError(e)
            }
            E::Disconnect(reason) => {
                info!(%nsp, %reason, "namespace disconnected");
                state.connected.store(false, Ordering::SeqCst);
                lock(&state.info).id = None;
                SocketEvent::Disconnect(reason)
            }
            E::Event { data, ack } => SocketEvent::Event(data, ack),
            // A wildcard is forced by `#[non_exhaustive]` on the endpoint's enum (`Ack` is
            // handled above): the handlers have no callback for an event added there.
            other @ (E::Ack { .. } | _) => return warn!(%nsp, ?other, "unknown socket event"),
        };
        let state = state.clone();
        self.sync_active(nsp);
        if state.events.send(event).is_err() {
            // Every handle of the socket is gone, and its handlers with them.
            trace!(%nsp, "the socket's handlers are gone");
        }
    }
}

fn poll_conns(conns: &mut [Conn], cx: &mut Context<'_>) -> Poll<(ConnectionId, Io)> {
    for c in conns {
        if let Poll::Ready(io) = c.poll(cx) {
            return Poll::Ready((c.id, io));
        }
    }
    Poll::Pending
}
