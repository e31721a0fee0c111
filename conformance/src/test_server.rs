//! The servers the official test suites expect (PROTOCOL.md §3.2), on our stack: used by the
//! `sio-test-server` binary (for the official suites, on port 3000) and by the wire-level
//! tests (on an ephemeral port).

use std::io;
use std::time::Duration;

use socketio_server::engine::{Cors, EngineConfig, EngineServer};
use socketio_server::{Config, SocketIo, Spread, Value};
use tokio::net::TcpListener;

/// The Engine.IO suite's server: echoes every message (text stays text, binary stays
/// binary), path `/engine.io/`, pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1e6,
/// CORS for any origin.
pub fn engineio_server() -> EngineServer {
    let mut config = EngineConfig::default();
    config
        .protocol()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000);
    config.path("/engine.io/").cors(Cors::any());
    EngineServer::new(config, |mut socket| async move {
        while let Some(message) = socket.recv().await {
            socket.send(message);
        }
    })
}

/// Serves [`engineio_server()`] on `listener` until an accept fails.
pub async fn serve_engineio(listener: TcpListener) -> io::Result<()> {
    engineio_server().serve(listener).await
}

/// The Socket.IO suite's server: namespaces `/` and `/custom` (any other is refused with
/// `Invalid namespace`), each emitting `auth` with the CONNECT payload on connection; on
/// `/`, `message` is echoed as `message-back` (binary kept, placeholders renumbered) and
/// `message-with-ack` is acknowledged with its arguments. connectTimeout 1000 ms, heartbeat
/// 300/200 ms, maxHttpBufferSize 1e6, CORS for any origin.
pub fn socketio_server() -> SocketIo {
    socketio_server_with(|_| {})
}

/// [`socketio_server()`] with `adjust` applied to its configuration last (the bad-input
/// tests set limits or the parser with it).
pub fn socketio_server_with(adjust: impl FnOnce(&mut Config)) -> SocketIo {
    let mut config = Config::default();
    config
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_http_buffer_size(1_000_000)
        .connect_timeout(Duration::from_millis(1000))
        .cors(Cors::any());
    adjust(&mut config);
    let io = SocketIo::new(config);
    io.of("/").on_connection(|socket| async move {
        let _ = socket.emit("auth", &socket.handshake().auth);
        socket.on("message", |socket, msg| async move {
            let args: Vec<Value> = msg.args().unwrap_or_default();
            let _ = socket.emit("message-back", &Spread(&args));
        });
        socket.on("message-with-ack", |_socket, mut msg| async move {
            let args: Vec<Value> = msg.args().unwrap_or_default();
            let _ = msg.ack(&Spread(&args));
        });
    });
    io.of("/custom").on_connection(|socket| async move {
        let _ = socket.emit("auth", &socket.handshake().auth);
    });
    io
}

/// Serves [`socketio_server()`] on `listener` until an accept fails.
pub async fn serve_socketio(listener: TcpListener) -> io::Result<()> {
    socketio_server().serve(listener).await
}
