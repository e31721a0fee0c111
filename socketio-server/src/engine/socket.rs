//! The public Engine.IO-level server: raw messages without Socket.IO on top, like Node's
//! `engine.io` package.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use engineio_proto::{Data, Event, Frame, ServerSession, Sid};
use http::{HeaderMap, Request, Response, StatusCode, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::http::{handle, matches_path};
use super::session::{Connection, Input, Launch, now};
use super::{EngineConfig, EngineShared, NewSession, SessionHandle};

/// What a held message costs besides its bytes (its queue slot and its buffer's header), so
/// that a flood of tiny messages is bounded too.
const MESSAGE_OVERHEAD: usize = 64;

/// An Engine.IO server: every new session is handed to the `on_connection` callback as an
/// [`EngineSocket`].
///
/// ```no_run
/// use socketio_server::engine::{EngineConfig, EngineServer};
///
/// # async fn run() -> std::io::Result<()> {
/// // An echo server.
/// let server = EngineServer::new(EngineConfig::default(), |mut socket| async move {
///     while let Some(message) = socket.recv().await {
///         socket.send(message);
///     }
/// });
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// server.serve(listener).await
/// # }
/// ```
#[derive(Clone)]
pub struct EngineServer {
    shared: Arc<EngineShared>,
}

impl std::fmt::Debug for EngineServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineServer")
            .field("path", &self.shared.config.path)
            .finish_non_exhaustive()
    }
}

impl EngineServer {
    /// A server calling `on_connection` in a new task for every session.
    pub fn new<F, Fut>(config: EngineConfig, on_connection: F) -> Self
    where
        F: Fn(EngineSocket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let on_connection = Arc::new(on_connection);
        let factory = move |new: NewSession<'_>, launch: Launch| {
            let (tx, rx) = mpsc::unbounded_channel();
            let held = Arc::new(AtomicUsize::new(0));
            let base = crate::socket::HandshakeBase::from_request(new.request, new.remote);
            let socket = EngineSocket {
                sid: new.sid,
                uri: base.url.clone(),
                headers: base.headers().clone(),
                handle: new.handle,
                rx,
                held: held.clone(),
            };
            tokio::spawn(on_connection(socket));
            let limit = launch.shared.config.max_buffered;
            launch.spawn(
                |session, _| session,
                ChannelConnection {
                    tx: Some(tx),
                    held,
                    limit,
                },
            );
        };
        Self {
            shared: Arc::new(EngineShared::new(config, Box::new(factory))),
        }
    }

    /// Serves one HTTP request under the engine's path (others get 404). The peer's
    /// address is read from the request's [`RemoteAddr`] extension, when it has one.
    pub async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if !matches_path(&self.shared, req.uri().path()) {
            return not_found();
        }
        let remote = remote_addr(req.extensions());
        handle(self.shared.clone(), req, remote).await
    }

    /// Calls `listener` with every request the server refuses (`engine.on("connection_error")`).
    pub fn on_connection_error<F>(&self, listener: F)
    where
        F: Fn(&super::ConnectionError) + Send + Sync + 'static,
    {
        self.shared.on_connection_error(Arc::new(listener));
    }

    /// Lets `listener` change the headers of every handshake response
    /// (`engine.on("initial_headers")`).
    pub fn on_initial_headers<F>(&self, listener: F)
    where
        F: Fn(&mut HeaderMap, &super::RequestInfo) + Send + Sync + 'static,
    {
        self.shared.on_headers(true, Arc::new(listener));
    }

    /// Lets `listener` change the headers of every response but refusals
    /// (`engine.on("headers")`).
    pub fn on_headers<F>(&self, listener: F)
    where
        F: Fn(&mut HeaderMap, &super::RequestInfo) + Send + Sync + 'static,
    {
        self.shared.on_headers(false, Arc::new(listener));
    }

    /// Number of live sessions.
    pub fn session_count(&self) -> usize {
        self.shared.len()
    }

    /// Closes every session ("forced close").
    pub fn close_all(&self) {
        self.shared.close_all();
    }

    /// Accepts connections on `listener` and serves them. A failed accept (the process out of
    /// file descriptors, a connection reset before it was accepted) is logged and serving
    /// goes on.
    pub async fn serve(self, listener: TcpListener) -> io::Result<()> {
        serve(listener, self.shared, std::future::pending()).await
    }
}

pub(crate) fn not_found() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// The standalone HTTP/1.1 server loop (with upgrades, for WebSocket), until `shutdown`
/// completes. A failed accept is logged and the loop goes on.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<EngineShared>,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => return Ok(()),
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // A connection reset before it was accepted, or the process out of file
                // descriptors or memory: never a reason to stop serving the others. Out of a
                // resource, wait a moment for some to be freed rather than spin.
                let pause = if out_of_resources(&e) {
                    ACCEPT_PAUSE
                } else {
                    std::time::Duration::ZERO
                };
                tracing::warn!(error = %e, pause_ms = pause.as_millis() as u64, "accept failed; serving on");
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = &mut shutdown => return Ok(()),
                }
                continue;
            }
        };
        let open = shared.open_connections.fetch_add(1, Ordering::AcqRel) + 1;
        let stream = Counted {
            stream,
            open: shared.open_connections.clone(),
        };
        if shared.config.max_connections.is_some_and(|max| open > max) {
            // Refused cleanly: the TCP connection is closed at once (as Node's
            // `server.maxConnections`), the others are not disturbed.
            tracing::debug!(open, "connection refused: max_connections reached");
            drop(stream);
            continue;
        }
        // Latency only: a socket that refuses the option still works.
        let _ = stream.stream.set_nodelay(true);
        let shared = shared.clone();
        let shared_timeout = shared.config.header_read_timeout;
        let max_header_size = shared.config.max_header_size;
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let shared = shared.clone();
                async move {
                    if !matches_path(&shared, req.uri().path()) {
                        return Ok::<_, Infallible>(not_found());
                    }
                    // (Passed along, not put in the request's extensions: their map would
                    // cost two allocations per request.)
                    Ok(handle(shared, req, Some(remote)).await)
                }
            });
            // A connection that ends with an error (the client went away mid-request) ends
            // like any other: its sessions learn it through their own inputs.
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(shared_timeout)
                // Bounds the request line and headers (431 past it); bodies are streamed.
                .max_buf_size(max_header_size);
            let served = http
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
            // The limits hyper applies for us (head over `max_header_size`: 431; headers not
            // in time) and broken requests end here; a client that went away too.
            if let Err(e) = served {
                if e.is_parse_too_large() {
                    tracing::debug!(error = %e, "request head over max_header_size: 431");
                } else if e.is_timeout() {
                    tracing::debug!(error = %e, "request head not received in time");
                } else {
                    tracing::trace!(error = %e, "HTTP connection ended with an error");
                }
            }
        });
    }
}

/// A TCP connection of the standalone server, counted among its open connections until it is
/// dropped (a WebSocket's included: it outlives the HTTP exchange that upgraded it).
struct Counted {
    stream: tokio::net::TcpStream,
    open: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl tokio::io::AsyncRead for Counted {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Counted {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// How long the accept loop waits when the process is out of a resource.
const ACCEPT_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// Whether an accept failed for want of file descriptors, buffers or memory (the errors that
/// last until something is freed: EMFILE, ENFILE, ENOBUFS, ENOMEM).
fn out_of_resources(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24 | 105 | 12))
}

/// The peer address of a request. The standalone server knows it; under the tower layer
/// ([`crate::SocketIo::layer`]) it is read from the request's extensions, where the
/// application puts it. With the `axum` feature, axum's `ConnectInfo<SocketAddr>` is read
/// too: no middleware is needed under `into_make_service_with_connect_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteAddr(pub std::net::SocketAddr);

/// Marks a request that came over TLS, for a stack that terminates TLS in front of the tower
/// layer on HTTP/1.1 (where the request's URI has no scheme to tell): insert it in the
/// request's extensions (axum: `.layer(axum::Extension(Secure))` on the TLS listener's
/// router) and `handshake.secure()` is true, as Node's for an encrypted connection. An
/// `https` URI (HTTP/2) needs no marker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Secure;

/// The peer's address: a [`RemoteAddr`] the application put in the request's extensions,
/// or, with the `axum` feature, axum's `ConnectInfo<SocketAddr>`
/// (`into_make_service_with_connect_info`).
pub(crate) fn remote_addr(extensions: &http::Extensions) -> Option<std::net::SocketAddr> {
    if let Some(RemoteAddr(addr)) = extensions.get() {
        return Some(*addr);
    }
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(addr)) =
        extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return Some(*addr);
    }
    None
}

/// One Engine.IO session, seen from the application.
#[derive(Debug)]
pub struct EngineSocket {
    sid: Sid,
    uri: Uri,
    headers: HeaderMap,
    handle: SessionHandle,
    rx: mpsc::UnboundedReceiver<Data>,
    /// Bytes received and not read yet (shared with the session's task).
    held: Arc<AtomicUsize>,
}

impl EngineSocket {
    /// The session id.
    pub fn id(&self) -> &Sid {
        &self.sid
    }

    /// The URI of the request that opened the session (its query holds the client's
    /// parameters).
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The headers of the request that opened the session.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The next message from the client; `None` once the session is closed and every
    /// message was read. Messages wait here, in order, until read; a session whose unread
    /// messages would pass [`EngineConfig::max_buffered`] is closed (the application does
    /// not keep up), with a warning in the log.
    pub async fn recv(&mut self) -> Option<Data> {
        let data = self.rx.recv().await?;
        self.held
            .fetch_sub(data.len() + MESSAGE_OVERHEAD, Ordering::AcqRel);
        Some(data)
    }

    /// Sends a message; false if the session is gone.
    pub fn send(&self, data: Data) -> bool {
        self.handle.send(Input::Send(Frame::message(data)))
    }

    /// Closes the session ("forced close").
    pub fn close(&self) {
        self.handle.send(Input::Close);
    }
}

/// Bridges a session to an [`EngineSocket`]: a queue bounded in bytes (`limit`, the
/// engine's `max_buffered`), so that a burst (a POST of many packets, a WebSocket flood) is
/// delivered whole, and an application that stops reading cannot grow memory without bound.
pub(super) struct ChannelConnection {
    tx: Option<mpsc::UnboundedSender<Data>>,
    held: Arc<AtomicUsize>,
    limit: usize,
}

impl Connection for ChannelConnection {
    type Machine = ServerSession;

    fn poll_events(&mut self, session: &mut ServerSession) -> bool {
        let mut progressed = false;
        while let Some(event) = session.poll_event() {
            progressed = true;
            match event {
                Event::Message(data) => {
                    let Some(tx) = &self.tx else { continue };
                    let cost = data.len() + MESSAGE_OVERHEAD;
                    let held = self.held.load(Ordering::Acquire);
                    // A message larger than the limit still goes when nothing is held.
                    if held > 0 && held.saturating_add(cost) > self.limit {
                        tracing::warn!(
                            held,
                            limit = self.limit,
                            "the application does not read its messages: session closed"
                        );
                        self.tx = None;
                        session.close(now());
                        continue;
                    }
                    self.held.fetch_add(cost, Ordering::AcqRel);
                    if tx.send(data).is_err() {
                        // The application dropped its socket: nobody reads this session.
                        self.tx = None;
                        session.close(now());
                    }
                }
                Event::Closed(reason) => {
                    super::log_close(&reason);
                    self.tx = None;
                }
                // (The bare engine never observes its sessions: no packet reports come.)
                Event::Upgrading
                | Event::Upgraded
                | Event::Packet(_)
                | Event::PacketCreate(_)
                | Event::Heartbeat
                | Event::Drain => {}
                // `Event` is non-exhaustive (another crate): a future event that carries no
                // message is nothing for the application's channel (debug builds, hence the
                // tests, stop here so that it is looked at).
                other => debug_assert!(false, "event not handled by the driver: {other:?}"),
            }
        }
        progressed
    }
}
