//! Interop with the official Node `socket.io` 4.8 server (pinned in
//! `conformance/node/package.json`), started by each test from
//! `conformance/node/client-interop/server.js` on a loopback port.
//!
//! Without `node` or the npm package: skipped with a message, or a failure when `CI` is set.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value as Json, json};
use socketio_client::{ClientBuilder, DisconnectReason, Manager, Options, TransportMode, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::timeout;

const T: Duration = Duration::from_secs(15);

fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/node")
}

/// Whether node and the pinned package are there; panics under CI when they are not.
fn available() -> bool {
    let has_node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let has_pkg = node_dir()
        .join("node_modules/socket.io/package.json")
        .exists();
    if has_node && has_pkg {
        return true;
    }
    let why = if has_node {
        "the npm package socket.io is not installed (run `npm ci` in conformance/node)"
    } else {
        "`node` is not on PATH"
    };
    if std::env::var_os("CI").is_some() {
        panic!("Node interop tests cannot run: {why}");
    }
    eprintln!("skipping Node interop test: {why}");
    false
}

struct NodeServer {
    child: Child,
    port: u16,
    logs: mpsc::UnboundedReceiver<Json>,
}

impl NodeServer {
    async fn start(port: u16, transports: &str) -> Self {
        let mut child = Command::new("node")
            .arg("client-interop/server.js")
            .arg(port.to_string())
            .arg(transports)
            .current_dir(node_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn node");
        let stdout = child.stdout.take().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut port_tx = Some(port_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(p) = line.strip_prefix("PORT ") {
                    if let Some(tx) = port_tx.take() {
                        let _ = tx.send(p.trim().parse::<u16>().unwrap());
                    }
                } else if let Ok(v) = serde_json::from_str::<Json>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        let port = timeout(T, port_rx).await.expect("node listens").unwrap();
        // Drop the `listening` line.
        let _ = timeout(T, rx.recv()).await;
        Self {
            child,
            port,
            logs: rx,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The next log line with `"ev": ev`.
    async fn next(&mut self, ev: &str) -> Json {
        loop {
            let v = timeout(T, self.logs.recv())
                .await
                .unwrap_or_else(|_| panic!("no {ev} from the server"))
                .expect("server alive");
            if v["ev"] == ev {
                return v;
            }
        }
    }

    async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

fn channel_of<T: Send + 'static>() -> (mpsc::UnboundedSender<T>, mpsc::UnboundedReceiver<T>) {
    mpsc::unbounded_channel()
}

async fn scenario(server_transports: &str, mode: TransportMode) {
    if !available() {
        return;
    }
    let mut server = NodeServer::start(0, server_transports).await;
    let (ev_tx, mut ev_rx) = channel_of::<(String, Vec<Value>)>();
    let (disc_tx, mut disc_rx) = channel_of::<DisconnectReason>();
    let mut builder = ClientBuilder::new(&format!("{}/", server.url()))
        .options(|o| {
            o.transports(mode);
        })
        .auth(&json!({"token": "abc"}))
        .on("question", |socket, msg| async move {
            let (q,): (String,) = msg.args().unwrap();
            msg.ack(&socket, &format!("answer to {q}")).await.unwrap();
        })
        .on_disconnect(move |_s, r| {
            let tx = disc_tx.clone();
            async move {
                let _ = tx.send(r);
            }
        });
    for ev in ["auth", "echo-back", "answer"] {
        let tx = ev_tx.clone();
        builder = builder.on(ev, move |_s, msg| {
            let tx = tx.clone();
            async move {
                let args: Vec<Value> = msg.args().unwrap();
                let _ = tx.send((msg.event().to_owned(), args));
            }
        });
    }
    let socket = builder.connect().await.expect("connect");
    let conn = server.next("connection").await;
    assert_eq!(conn["auth"], json!({"token": "abc"}));

    let (ev, args) = timeout(T, ev_rx.recv()).await.unwrap().unwrap();
    assert_eq!(ev, "auth");
    assert_eq!(args.len(), 1);

    // JSON and several binary attachments, round trip through the Node server.
    socket
        .emit(
            "echo",
            &(
                "x",
                1,
                Bytes::from_static(&[1, 2, 3]),
                json!({"k": [true, null]}),
                Bytes::from_static(&[4]),
            ),
        )
        .await
        .unwrap();
    let (ev, args) = timeout(T, ev_rx.recv()).await.unwrap().unwrap();
    assert_eq!(ev, "echo-back");
    assert_eq!(args.len(), 5);
    assert_eq!(args[0].as_str(), Some("x"));
    assert_eq!(args[2].as_binary(), Some(&Bytes::from_static(&[1, 2, 3])));
    assert_eq!(args[4].as_binary(), Some(&Bytes::from_static(&[4])));

    if mode == TransportMode::Both && server_transports.contains("websocket") {
        assert_eq!(server.next("upgrade").await["transport"], "websocket");
    }

    // Our emitWithAck, answered by the Node callback.
    let (sum,): (i64,) = timeout(T, socket.emit_with_ack("add", &(2, 3)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sum, 5);

    // The server's emitWithAck, answered by our handler.
    socket.emit("ask-me", &()).await.unwrap();
    let (ev, args) = timeout(T, ev_rx.recv()).await.unwrap().unwrap();
    assert_eq!(ev, "answer");
    assert_eq!(args[0].as_str(), Some("answer to what?"));

    // Server-side disconnect(): "io server disconnect", and no reconnection.
    socket.emit("kick-me", &()).await.unwrap();
    let reason = timeout(T, disc_rx.recv()).await.unwrap().unwrap();
    assert_eq!(reason.as_str(), "io server disconnect");
    assert!(!socket.active());
    let srv = server.next("disconnect").await;
    assert_eq!(srv["reason"], "server namespace disconnect");
    tokio::time::sleep(Duration::from_millis(500)).await;
    while let Ok(v) = server.logs.try_recv() {
        assert_ne!(v["ev"], "connection", "the client must not reconnect");
    }
    server.kill().await;
}

#[tokio::test]
async fn node_server_polling_only() {
    scenario("polling,websocket", TransportMode::Polling).await;
}

#[tokio::test]
async fn node_server_websocket_only() {
    scenario("polling,websocket", TransportMode::WebSocket).await;
}

#[tokio::test]
async fn node_server_upgrade() {
    scenario("polling,websocket", TransportMode::Both).await;
}

#[tokio::test]
async fn node_server_that_allows_polling_only() {
    scenario("polling", TransportMode::Both).await;
}

#[tokio::test]
async fn node_server_sees_one_engine_connection_for_two_namespaces() {
    if !available() {
        return;
    }
    let mut server = NodeServer::start(0, "polling,websocket").await;
    let manager = Manager::new(&server.url(), Options::default()).unwrap();
    let main = manager.socket("/").unwrap();
    let admin = manager.socket("/admin").unwrap();
    main.connect().await.unwrap();
    admin.connect().await.unwrap();
    let a = server.next("connection").await;
    let b = server.next("connection").await;
    assert_eq!(a["engine"], b["engine"]);
    let (sum,): (i64,) = timeout(T, admin.emit_with_ack("add", &(40, 2)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sum, 42);
    let (sum,): (i64,) = timeout(T, main.emit_with_ack("add", &(1, 2)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sum, 3);
    server.kill().await;
}

#[tokio::test]
async fn node_server_killed_and_restarted_gets_every_buffered_event_once_in_order() {
    if !available() {
        return;
    }
    let mut server = NodeServer::start(0, "polling,websocket").await;
    let port = server.port;
    let mut options = Options::default();
    options
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(400));
    let manager = Manager::new(&server.url(), options).unwrap();
    let mut events = manager.subscribe();
    let socket = manager.socket("/").unwrap();
    let (disc_tx, mut disc_rx) = channel_of::<DisconnectReason>();
    socket.on_disconnect(move |_s, r| {
        let tx = disc_tx.clone();
        async move {
            let _ = tx.send(r);
        }
    });
    socket.connect().await.unwrap();
    server.next("connection").await;
    socket.emit("seq", &0).await.unwrap();
    assert_eq!(server.next("seq").await["n"], 0);

    server.kill().await;
    let reason = timeout(T, disc_rx.recv()).await.unwrap().unwrap();
    assert!(
        matches!(
            reason,
            DisconnectReason::TransportClose | DisconnectReason::TransportError
        ),
        "{reason}"
    );
    for n in 1..=20 {
        socket.emit("seq", &n).await.unwrap();
    }
    // Let a few attempts fail before the server is back.
    let mut failed = 0;
    while failed < 2 {
        if let Ok(Ok(socketio_client::ManagerEvent::ReconnectError(_))) =
            timeout(T, events.recv()).await
        {
            failed += 1;
        }
    }
    let mut server = NodeServer::start(port, "polling,websocket").await;
    server.next("connection").await;
    for n in 1..=20 {
        assert_eq!(server.next("seq").await["n"], n);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(v) = server.logs.try_recv() {
        assert_ne!(v["ev"], "seq", "each buffered event is delivered once: {v}");
    }
    assert!(socket.connected());
    server.kill().await;
}
