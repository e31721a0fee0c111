//! Delivery under churn with connection state recovery, short version (the full run is
//! `scripts/bench-recovery`): `node/churn.js` drives 50 official `socket.io-client` clients
//! (half WebSocket, half polling) in room `bench` of our server with recovery on, cuts each
//! one's transport every 1–3 s for 8 s while a driver broadcasts 20 events per second, and
//! counts what every client received: all of it, once.
//!
//! Needs Node.js with `npm ci` in `conformance/node`; without it the test is skipped with a
//! message, unless `CI` is set, where it fails.

use std::process::Command;

use conformance::node;
use socketio_server::{Config, RecoveryConfig, SocketIo, Spread, Value};

/// The bench contract's `join` and `broadcast` (see `socketio-server/examples/bench-server.rs`).
fn server() -> SocketIo {
    let mut config = Config::default();
    config.connection_state_recovery(RecoveryConfig::default());
    let io = SocketIo::new(config);
    let nsp = io.of("/");
    io.of("/").on_connection(move |socket| {
        let nsp = nsp.clone();
        async move {
            socket.on("join", |socket, mut msg| async move {
                if let Ok((room,)) = msg.args::<(String,)>() {
                    socket.join(room);
                }
                let _ = msg.ack(&());
            });
            socket.on("broadcast", move |_socket, msg| {
                let nsp = nsp.clone();
                async move {
                    let args: Vec<Value> = msg.args().unwrap_or_default();
                    let _ = nsp.to("bench").emit("broadcast", &Spread(&args));
                }
            });
        }
    });
    io
}

#[test]
fn clients_cut_every_few_seconds_receive_every_broadcast_once() {
    if !node::ready("recovery churn test", &["socket.io-client"]) {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let io = server();
    runtime.spawn(async move { io.serve(listener).await });
    let output = Command::new("node")
        .arg(node::dir().join("churn.js"))
        .args(["--url", &format!("http://127.0.0.1:{port}")])
        .args(["--clients", "50", "--seconds", "8", "--rate", "20"])
        .args(["--min-cut", "1000", "--max-cut", "3000"])
        .output()
        .expect("run node churn.js");
    runtime.shutdown_background();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "loss or duplicates under churn:\n{stdout}\n{stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(stdout.trim()).expect("churn.js prints one JSON line");
    assert_eq!(summary["delivered"], summary["expected"], "{summary}");
    assert_eq!(summary["duplicates"], 0, "{summary}");
    assert!(
        summary["cuts"].as_u64() > Some(50),
        "too few cuts: {summary}"
    );
    assert_eq!(summary["recovered"], summary["cuts"], "{summary}");
    eprintln!("churn: {summary}");
}
