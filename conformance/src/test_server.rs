//! The servers the official test suites expect (PROTOCOL.md §3.2), on our stack: used by the
//! `sio-test-server` binary (for the official suites, on port 3000) and by the wire-level
//! tests (on an ephemeral port).

use std::io;
use std::time::Duration;

use socketio_server::engine::{Cors, EngineConfig, EngineServer};
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

/// Serves [`engineio_server`] on `listener` until an accept fails.
pub async fn serve_engineio(listener: TcpListener) -> io::Result<()> {
    engineio_server().serve(listener).await
}
