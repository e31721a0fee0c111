//! Wire-level test harness: a server on `127.0.0.1:0` in the test's own tokio runtime, and
//! raw HTTP/1.1 and WebSocket clients (no Engine.IO or Socket.IO client library), so the
//! tests see exactly the bytes a browser or the official suites would see.
//!
//! Shared by `wire_engineio.rs` and `wire_socketio.rs` through `mod wire;`.

// Each test binary uses only part of the harness.
#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use socketio_server::SocketIo;
use socketio_server::engine::EngineServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single exchange may take before the test fails (nothing in these tests
/// should wait for more than a heartbeat or two).
pub(crate) const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// A server under test, listening on an ephemeral loopback port. Stopped on drop.
pub(crate) struct TestServer {
    addr: SocketAddr,
    path: String,
    task: JoinHandle<io::Result<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Binds `127.0.0.1:0` and runs `serve` on the listener in a new task; requests go to
    /// `path` (`/engine.io/`, `/socket.io/`).
    pub(crate) async fn spawn<F, Fut>(path: &str, serve: F) -> Self
    where
        F: FnOnce(TcpListener) -> Fut,
        Fut: Future<Output = io::Result<()>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(serve(listener));
        Self {
            addr,
            path: path.to_owned(),
            task,
        }
    }

    /// Serves an [`EngineServer`] under `/engine.io/`.
    pub(crate) async fn engine(server: EngineServer) -> Self {
        Self::spawn("/engine.io/", move |listener| server.serve(listener)).await
    }

    /// The official Engine.IO suite's echo server (`conformance::test_server`).
    pub(crate) async fn engineio() -> Self {
        Self::engine(conformance::test_server::engineio_server()).await
    }

    /// Serves a [`SocketIo`] under `/socket.io/` (the path it is configured with must be
    /// the default one).
    pub(crate) async fn sio(io: SocketIo) -> Self {
        Self::spawn("/socket.io/", move |listener| async move {
            io.serve(listener).await
        })
        .await
    }

    /// The official Socket.IO suite's server (`conformance::test_server`).
    pub(crate) async fn socketio() -> Self {
        Self::sio(conformance::test_server::socketio_server()).await
    }

    /// The server's address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `path?query`, the request target for `query`.
    pub(crate) fn target(&self, query: &str) -> String {
        format!("{}?{query}", self.path)
    }

    /// `ws://127.0.0.1:PORT/path?query`.
    pub(crate) fn ws_url(&self, query: &str) -> String {
        format!("ws://{}{}", self.addr, self.target(query))
    }

    /// Any request; `headers` are added to `Host`, `Connection: close` and (with a body,
    /// unless `headers` has one) `Content-Length`.
    pub(crate) async fn request(
        &self,
        method: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        self.start(method, query, headers, body)
            .await
            .response()
            .await
    }

    /// A GET with this query.
    pub(crate) async fn get(&self, query: &str) -> HttpResponse {
        self.request("GET", query, &[], b"").await
    }

    /// A POST of a text body (`Content-Type: text/plain;charset=UTF-8`, as the Node client
    /// sends).
    pub(crate) async fn post(&self, query: &str, body: &str) -> HttpResponse {
        self.request(
            "POST",
            query,
            &[("Content-Type", "text/plain;charset=UTF-8")],
            body.as_bytes(),
        )
        .await
    }

    /// Sends a request without waiting for its answer: read it with
    /// [`PendingRequest::response`], or drop it to abort the request (the connection is
    /// closed).
    pub(crate) async fn start(
        &self,
        method: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> PendingRequest {
        let mut head = format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.target(query),
            self.addr
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let has_length = headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-length"));
        if !has_length && (!body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH")) {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let send = async {
            let mut stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body).await?;
            stream.flush().await?;
            io::Result::Ok(stream)
        };
        let stream = timeout(STEP_TIMEOUT, send)
            .await
            .expect("sending a request timed out")
            .expect("sending a request");
        PendingRequest { stream }
    }

    /// A polling handshake (`GET ?EIO=4&transport=polling`): asserts a 200 with an open
    /// packet, and returns the sid and the open packet's JSON.
    pub(crate) async fn open_polling(&self) -> (String, Value) {
        let response = self.get("EIO=4&transport=polling").await;
        assert_eq!(response.status, 200, "handshake: {response:?}");
        let open = open_packet(response.text());
        (sid_of(&open), open)
    }

    /// The sid of a new polling session.
    pub(crate) async fn handshake(&self) -> String {
        self.open_polling().await.0
    }

    /// A WebSocket to `query` (`EIO=4&transport=websocket...`). `Err` if the server
    /// refused the handshake (e.g. an HTTP 400) or the connection failed.
    pub(crate) async fn ws(&self, query: &str) -> Result<Ws, tungstenite::Error> {
        let connect = tokio_tungstenite::connect_async(self.ws_url(query));
        let (stream, _response) = timeout(STEP_TIMEOUT, connect)
            .await
            .expect("the WebSocket handshake timed out")?;
        Ok(Ws { stream })
    }

    /// A WebSocket-only session (`EIO=4&transport=websocket`): returns the socket, the sid
    /// and the open packet's JSON (its first message).
    pub(crate) async fn open_websocket(&self) -> (Ws, String, Value) {
        let mut ws = self
            .ws("EIO=4&transport=websocket")
            .await
            .expect("WebSocket handshake");
        let text = ws.recv_text().await;
        let open = open_packet(&text);
        let sid = sid_of(&open);
        (ws, sid, open)
    }
}

impl TestServer {
    /// A WebSocket handshake over raw TCP, for frames no client library sends (fragments
    /// over the limit, a header announcing more than follows).
    pub(crate) async fn raw_websocket(&self, query: &str) -> RawWs {
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            self.target(query),
            self.addr
        );
        let handshake = async {
            let mut stream = TcpStream::connect(self.addr).await?;
            stream.write_all(request.as_bytes()).await?;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let end = loop {
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            };
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
            io::Result::Ok(RawWs {
                stream,
                buf: buf.split_off(end),
            })
        };
        timeout(STEP_TIMEOUT, handshake)
            .await
            .expect("the WebSocket handshake timed out")
            .expect("WebSocket handshake")
    }
}

/// A WebSocket client over raw TCP: frames are written as given.
pub(crate) struct RawWs {
    stream: TcpStream,
    /// Bytes read and not parsed yet.
    buf: Vec<u8>,
}

impl RawWs {
    /// Writes one masked frame: `opcode` (1 text, 2 binary, 0 continuation), the FIN bit,
    /// and a length field of `announced` (the payload's length when `None`) followed by
    /// `payload`.
    pub(crate) async fn send_frame(
        &mut self,
        fin: bool,
        opcode: u8,
        payload: &[u8],
        announced: Option<u64>,
    ) {
        let len = announced.unwrap_or(payload.len() as u64);
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        match len {
            0..=125 => out.push(0x80 | len as u8),
            126..=0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(0x80 | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        let mask = [0x5a, 0x17, 0xc3, 0x81];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        // The server may close before it read everything: that is what some tests look for.
        let _ = timeout(STEP_TIMEOUT, self.stream.write_all(&out)).await;
    }

    /// Reads frames (unanswered pings included) until the server closes the connection;
    /// the close frame's code (`None` without one, or without a close frame). Fails the test
    /// if the connection is still open after `wait`.
    #[track_caller]
    pub(crate) fn closed_within(
        &mut self,
        wait: Duration,
    ) -> impl Future<Output = Option<u16>> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            let deadline = tokio::time::Instant::now() + wait;
            let mut chunk = [0u8; 4096];
            loop {
                while let Some((opcode, payload)) = self.parse_frame() {
                    if opcode == 8 {
                        return (payload.len() >= 2)
                            .then(|| u16::from_be_bytes([payload[0], payload[1]]));
                    }
                }
                match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                    Ok(Ok(0) | Err(_)) => return None,
                    Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
                    Err(_) => panic!("{caller}: the server did not close within {wait:?}"),
                }
            }
        }
    }

    /// The next whole frame of the server (unmasked) from the buffer.
    fn parse_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let b = &self.buf;
        if b.len() < 2 {
            return None;
        }
        let (len, start) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (usize::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 if b.len() >= 10 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&b[2..10]);
                (usize::try_from(u64::from_be_bytes(n)).ok()?, 10)
            }
            126 | 127 => return None,
            n => (usize::from(n), 2),
        };
        if b.len() < start + len {
            return None;
        }
        let opcode = b[0] & 0x0f;
        let payload = b[start..start + len].to_vec();
        self.buf.drain(..start + len);
        Some((opcode, payload))
    }
}

/// Parses an open packet (`0{...}`).
pub(crate) fn open_packet(text: &str) -> Value {
    let json = text
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet: {text:?}"));
    serde_json::from_str(json).unwrap_or_else(|e| panic!("open packet {text:?}: {e}"))
}

fn sid_of(open: &Value) -> String {
    open["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("no string sid in {open}"))
        .to_owned()
}

/// A request sent, its answer not read yet. Dropping it closes the connection.
#[derive(Debug)]
pub(crate) struct PendingRequest {
    stream: TcpStream,
}

impl PendingRequest {
    /// Reads the response (the server closes the connection after it: `Connection:
    /// close`).
    pub(crate) async fn response(mut self) -> HttpResponse {
        timeout(STEP_TIMEOUT, read_response(&mut self.stream))
            .await
            .expect("no HTTP response in time")
            .expect("reading an HTTP response")
    }

    /// Reads the response, or `None` if there is none within `wait` (the request stays
    /// pending only as long as this call: on `None` the connection is dropped).
    pub(crate) async fn response_within(mut self, wait: Duration) -> Option<HttpResponse> {
        match timeout(wait, read_response(&mut self.stream)).await {
            Ok(response) => Some(response.expect("reading an HTTP response")),
            Err(_) => None,
        }
    }

    /// Closes the connection before the answer came (a cancelled `fetch`).
    pub(crate) fn abort(self) {
        drop(self);
    }
}

/// An HTTP response.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct HttpResponse {
    /// The status code.
    pub(crate) status: u16,
    /// The headers, names in lower case, in order.
    pub(crate) headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub(crate) body: Vec<u8>,
}

impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

impl HttpResponse {
    /// The first value of a header (case-insensitive name).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 (panics otherwise).
    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }

    /// Asserts a status and an exact body.
    #[track_caller]
    pub(crate) fn assert(&self, status: u16, body: &str) {
        assert_eq!(
            (self.status, String::from_utf8_lossy(&self.body).as_ref()),
            (status, body),
            "{self:?}"
        );
    }

    /// Asserts one of the reference's JSON errors: the status, `Content-Type:
    /// application/json` and the exact body `{"code":N,"message":"..."}`.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: u8, message: &str) {
        let body = format!("{{\"code\":{code},\"message\":\"{message}\"}}");
        self.assert(status, &body);
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
    }
}

async fn read_response(stream: &mut TcpStream) -> io::Result<HttpResponse> {
    let mut buf = Vec::new();
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "connection closed before the end of the response head ({:?})",
                    String::from_utf8_lossy(&buf)
                ),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..header_end])
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
        .to_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, status_line.to_owned()))?;
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = buf.split_off(header_end);
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let no_body = status == 204 || status == 304 || (100..200).contains(&status);
    if no_body {
        body.clear();
    } else if let Some(len) = find("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length"))?;
        while body.len() < len {
            let mut chunk = vec![0u8; len - body.len()];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body.truncate(len);
    } else {
        stream.read_to_end(&mut body).await?;
        if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            body = dechunk(&body)?;
        }
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> io::Result<Vec<u8>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad chunked body");
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let size_text = std::str::from_utf8(&data[..line_end]).map_err(|_| bad())?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad())?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err(bad());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// What a WebSocket client sees next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WsEvent {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// The connection closed: the close frame's code if there was one (`None` for a close
    /// frame without a code, or a connection that just ended).
    Closed(Option<u16>),
}

/// A WebSocket client connection.
pub(crate) struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Ws {
    /// Sends a text message.
    pub(crate) async fn send_text(&mut self, text: &str) {
        self.send(Message::text(text)).await;
    }

    /// Sends a binary message.
    pub(crate) async fn send_binary(&mut self, data: &[u8]) {
        self.send(Message::binary(data.to_vec())).await;
    }

    async fn send(&mut self, msg: Message) {
        timeout(STEP_TIMEOUT, self.stream.send(msg))
            .await
            .expect("sending a WebSocket message timed out")
            .expect("sending a WebSocket message");
    }

    /// The next message or the close, or `None` if nothing comes within `wait`.
    /// Control frames (ping/pong) are skipped.
    pub(crate) async fn next_within(&mut self, wait: Duration) -> Option<WsEvent> {
        timeout(wait, self.next_event()).await.ok()
    }

    async fn next_event(&mut self) -> WsEvent {
        loop {
            match self.stream.next().await {
                Some(Ok(Message::Text(t))) => return WsEvent::Text(t.as_str().to_owned()),
                Some(Ok(Message::Binary(b))) => return WsEvent::Binary(b.to_vec()),
                Some(Ok(Message::Close(frame))) => {
                    return WsEvent::Closed(frame.map(|f: CloseFrame| u16::from(f.code)));
                }
                Some(Ok(_)) => {}
                // A connection reset, or the end of the stream after the close.
                Some(Err(_)) | None => return WsEvent::Closed(None),
            }
        }
    }

    /// The next message or the close (fails the test after [`STEP_TIMEOUT`]).
    pub(crate) async fn recv(&mut self) -> WsEvent {
        self.next_within(STEP_TIMEOUT)
            .await
            .expect("no WebSocket message in time")
    }

    /// The next message that is not an Engine.IO ping (`2`, which is not answered), as
    /// the suite's `waitForPackets` (fails the test after [`STEP_TIMEOUT`]).
    pub(crate) async fn recv_skipping_pings(&mut self) -> WsEvent {
        loop {
            match self.recv().await {
                WsEvent::Text(t) if t == "2" => {}
                other => return other,
            }
        }
    }

    /// The next message, which must be text.
    pub(crate) async fn recv_text(&mut self) -> String {
        match self.recv().await {
            WsEvent::Text(t) => t,
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    /// Waits up to `wait` for the server to close the connection. Returns the messages
    /// received before the close and the close code; fails the test if the connection is
    /// still open after `wait`.
    #[track_caller]
    pub(crate) fn closed_within(
        &mut self,
        wait: Duration,
    ) -> impl Future<Output = (Vec<WsEvent>, Option<u16>)> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            let deadline = tokio::time::Instant::now() + wait;
            let mut messages = Vec::new();
            loop {
                match tokio::time::timeout_at(deadline, self.next_event()).await {
                    Ok(WsEvent::Closed(code)) => return (messages, code),
                    Ok(msg) => messages.push(msg),
                    Err(_) => panic!(
                        "{caller}: the server did not close the WebSocket within {wait:?} \
                         (received {messages:?})"
                    ),
                }
            }
        }
    }

    /// Closes the connection from the client side.
    pub(crate) async fn close(mut self) {
        let _ = timeout(STEP_TIMEOUT, self.stream.close(None)).await;
    }
}
