//! A raw WebSocket Socket.IO client and helpers for the server tests.

#![allow(dead_code, unreachable_pub)] // each test file uses a part of the helpers

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use socketio_server::{Config, SocketIo};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMsg;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub const WAIT: Duration = Duration::from_secs(5);

pub async fn start(io: &SocketIo) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let io = io.clone();
    tokio::spawn(async move { io.serve(listener).await });
    addr
}

pub fn config() -> Config {
    let mut config = Config::default();
    config
        .ping_interval(Duration::from_millis(2000))
        .ping_timeout(Duration::from_millis(2000));
    config
}

/// A WebSocket Engine.IO session, handshake done.
pub struct Client {
    pub ws: Ws,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut client = Self { ws };
        let open = client.recv().await;
        assert!(open.starts_with("0{"), "{open}");
        client
    }

    pub async fn send(&mut self, text: &str) {
        self.ws.send(WsMsg::text(text)).await.unwrap();
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.ws
            .send(WsMsg::binary(Bytes::copy_from_slice(bytes)))
            .await
            .unwrap();
    }

    /// The next text message, answering pings on the way (within [`WAIT`] in all: the pings
    /// do not extend it).
    pub async fn recv(&mut self) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("a message in time")
                .expect("the socket is open")
                .unwrap();
            match msg {
                WsMsg::Text(t) if t.as_str() == "2" => self.send("3").await,
                WsMsg::Text(t) => return t.to_string(),
                WsMsg::Binary(b) => return format!("<binary {}>", hex(&b)),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Joins `nsp` ("/" or "/name") and returns the CONNECT reply.
    pub async fn join(&mut self, nsp: &str) -> String {
        if nsp == "/" {
            self.send("40").await;
        } else {
            self.send(&format!("40{nsp},")).await;
        }
        self.recv().await
    }

    pub async fn closed(&mut self) -> bool {
        loop {
            match timeout(WAIT, self.ws.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(WsMsg::Close(_)))) => return true,
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub async fn next(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    timeout(WAIT, rx.recv()).await.unwrap().unwrap()
}

/// A minimal HTTP/1.1 GET: status, raw headers, body.
pub async fn http_get(addr: SocketAddr, path: &str, extra: &str) -> (u16, String, String) {
    http_request(addr, "GET", path, extra).await
}

/// A minimal HTTP/1.1 request without a body: status, raw headers, body.
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    extra: &str,
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

/// A minimal HTTP/1.1 POST with a text body: status and body.
pub async fn http_post(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (head[9..12].parse().unwrap(), body.to_owned())
}

/// Everything a `tracing` subscriber writes, as text (see [`capture_logs`]).
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The first line that holds every part, if any.
    pub fn line_with(&self, parts: &[&str]) -> Option<String> {
        self.text()
            .lines()
            .find(|l| parts.iter().all(|p| l.contains(p)))
            .map(str::to_owned)
    }

    /// Waits (within [`WAIT`]) for a line that holds every part.
    pub async fn wait_for(&self, parts: &[&str]) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(line) = self.line_with(parts) {
                return line;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no line with {parts:?} in:\n{}",
                self.text()
            );
            tokio::task::yield_now().await;
        }
    }
}

/// The standard subscriber, writing the server's debug events to a [`Captured`], for this
/// thread (tests using it run on a current-thread runtime, so the server's tasks are seen).
pub fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("socketio_server=debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (out, tracing::subscriber::set_default(subscriber))
}
