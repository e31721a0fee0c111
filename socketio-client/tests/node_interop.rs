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
use socketio_client::{
    AckError, ClientBuilder, DisconnectReason, Manager, ManagerEvent, Options, ParserKind,
    TransportMode, Value,
};
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
        Self::start_with(port, transports, false).await
    }

    /// With `recovery`, the server has `connectionStateRecovery` on.
    async fn start_with(port: u16, transports: &str, recovery: bool) -> Self {
        Self::start_flags(port, transports, if recovery { "recovery" } else { "" }).await
    }

    /// `flags`: comma-separated, `recovery` (connectionStateRecovery on) and `msgpack`
    /// (socket.io-msgpack-parser).
    async fn start_flags(port: u16, transports: &str, flags: &str) -> Self {
        let mut child = Command::new("node")
            .arg("client-interop/server.js")
            .arg(port.to_string())
            .arg(transports)
            .arg(flags)
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

/// The main scenario against the Node server, with its parser and connection state
/// recovery on or off. With recovery, the server appends the event's offset to every event
/// it emits (a string, the last argument), and the CONNECT reply carries `pid`; without it,
/// the reply's `pid` is `undefined` (msgpack: `d4 00 00`).
async fn scenario(server_transports: &str, mode: TransportMode) {
    scenario_with(server_transports, mode, ParserKind::Default, false).await;
}

async fn scenario_with(
    server_transports: &str,
    mode: TransportMode,
    parser: ParserKind,
    recovery: bool,
) {
    if !available() {
        return;
    }
    let mut flags = Vec::new();
    if recovery {
        flags.push("recovery");
    }
    if parser == ParserKind::MsgPack {
        flags.push("msgpack");
    }
    let mut server = NodeServer::start_flags(0, server_transports, &flags.join(",")).await;
    // The offset the server appends with recovery on.
    let offset = usize::from(recovery);
    let (ev_tx, mut ev_rx) = channel_of::<(String, Vec<Value>)>();
    let (disc_tx, mut disc_rx) = channel_of::<DisconnectReason>();
    let mut builder = ClientBuilder::new(&format!("{}/", server.url()))
        .options(|o| {
            o.transports(mode);
            o.parser(parser);
        })
        .auth(&json!({"token": "abc"}))
        .on("question", |_socket, msg| async move {
            let (q,): (String,) = msg.args().unwrap();
            msg.ack(&format!("answer to {q}")).await.unwrap();
        })
        .on_disconnect(move |_s, r| {
            let tx = disc_tx.clone();
            async move {
                let _ = tx.send(r);
            }
        });
    for ev in ["auth", "echo-back", "answer", "undefined"] {
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
    assert_eq!(args.len(), 1 + offset);
    assert!(!socket.recovered(), "a first connection is never recovered");
    if recovery {
        assert!(args[1].as_str().is_some_and(|o| !o.is_empty()), "{args:?}");
    }

    // undefined from a Node application: absent in objects, null in arrays and arguments.
    let (none, obj): (Option<Json>, Json) =
        timeout(T, socket.emit_with_ack("undefined-please", &()))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(none, None);
    assert_eq!(obj, json!({"b": 2}));
    let (ev, args) = timeout(T, ev_rx.recv()).await.unwrap().unwrap();
    assert_eq!(ev, "undefined");
    assert_eq!(args.len(), 3 + offset, "{args:?}");
    let as_json = |v: &Value| serde_json::to_value(v).unwrap();
    assert_eq!(as_json(&args[0]), json!({"b": 1}));
    assert_eq!(as_json(&args[1]), json!([1, null, 3]));
    assert_eq!(args[2], Value::Null);

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
    assert_eq!(args.len(), 5 + offset);
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
async fn node_server_with_recovery_polling_only() {
    scenario_with(
        "polling,websocket",
        TransportMode::Polling,
        ParserKind::Default,
        true,
    )
    .await;
}

#[tokio::test]
async fn node_server_with_recovery_websocket_only() {
    scenario_with(
        "polling,websocket",
        TransportMode::WebSocket,
        ParserKind::Default,
        true,
    )
    .await;
}

#[tokio::test]
async fn node_server_with_recovery_upgrade() {
    scenario_with(
        "polling,websocket",
        TransportMode::Both,
        ParserKind::Default,
        true,
    )
    .await;
}

#[tokio::test]
async fn node_server_msgpack_polling_only() {
    scenario_with(
        "polling,websocket",
        TransportMode::Polling,
        ParserKind::MsgPack,
        false,
    )
    .await;
}

#[tokio::test]
async fn node_server_msgpack_websocket_only() {
    scenario_with(
        "polling,websocket",
        TransportMode::WebSocket,
        ParserKind::MsgPack,
        false,
    )
    .await;
}

#[tokio::test]
async fn node_server_msgpack_upgrade() {
    scenario_with(
        "polling,websocket",
        TransportMode::Both,
        ParserKind::MsgPack,
        false,
    )
    .await;
}

#[tokio::test]
async fn node_server_msgpack_that_allows_polling_only() {
    scenario_with("polling", TransportMode::Both, ParserKind::MsgPack, false).await;
}

#[tokio::test]
async fn node_server_msgpack_with_recovery_polling_only() {
    scenario_with(
        "polling,websocket",
        TransportMode::Polling,
        ParserKind::MsgPack,
        true,
    )
    .await;
}

#[tokio::test]
async fn node_server_msgpack_with_recovery_websocket_only() {
    scenario_with(
        "polling,websocket",
        TransportMode::WebSocket,
        ParserKind::MsgPack,
        true,
    )
    .await;
}

#[tokio::test]
async fn node_server_msgpack_with_recovery_upgrade() {
    scenario_with(
        "polling,websocket",
        TransportMode::Both,
        ParserKind::MsgPack,
        true,
    )
    .await;
}

async fn two_namespaces(mode: TransportMode) {
    if !available() {
        return;
    }
    let mut server = NodeServer::start(0, "polling,websocket").await;
    let mut options = Options::default();
    options.transports(mode);
    let manager = Manager::new(&server.url(), options).unwrap();
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
async fn node_server_sees_one_engine_connection_for_two_namespaces_polling() {
    two_namespaces(TransportMode::Polling).await;
}

#[tokio::test]
async fn node_server_sees_one_engine_connection_for_two_namespaces_websocket() {
    two_namespaces(TransportMode::WebSocket).await;
}

#[tokio::test]
async fn node_server_sees_one_engine_connection_for_two_namespaces_upgrade() {
    two_namespaces(TransportMode::Both).await;
}

async fn killed_and_restarted(mode: TransportMode) {
    if !available() {
        return;
    }
    let mut server = NodeServer::start(0, "polling,websocket").await;
    let port = server.port;
    let mut options = Options::default();
    options
        .transports(mode)
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
    // Let a few attempts fail before the server is back: attempts 1, 2, 3 in turn.
    let mut failed = 0;
    let mut attempts = Vec::new();
    while failed < 2 {
        match timeout(T, events.recv()).await {
            Ok(Ok(ManagerEvent::ReconnectError(_))) => failed += 1,
            Ok(Ok(ManagerEvent::ReconnectAttempt(n))) => attempts.push(n),
            _ => {}
        }
    }
    assert_eq!(attempts, [1, 2]);
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

#[tokio::test]
async fn node_server_killed_and_restarted_gets_every_buffered_event_once_in_order_polling() {
    killed_and_restarted(TransportMode::Polling).await;
}

#[tokio::test]
async fn node_server_killed_and_restarted_gets_every_buffered_event_once_in_order_websocket() {
    killed_and_restarted(TransportMode::WebSocket).await;
}

#[tokio::test]
async fn node_server_killed_and_restarted_gets_every_buffered_event_once_in_order_upgrade() {
    killed_and_restarted(TransportMode::Both).await;
}

/// Options that reconnect quickly, without jitter.
fn quick_reconnect() -> Options {
    let mut options = Options::default();
    options
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(400))
        .randomization_factor(0.0);
    options
}

#[tokio::test]
async fn node_server_sees_the_auth_function_evaluated_again_at_each_reconnect() {
    if !available() {
        return;
    }
    let mut server = NodeServer::start(0, "polling,websocket").await;
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = calls.clone();
    let socket = ClientBuilder::new(&server.url())
        .options(|o| *o = quick_reconnect())
        .auth_fn(move || {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            async move {
                // An async source of the token (a refresh, say).
                tokio::time::sleep(Duration::from_millis(10)).await;
                json!({ "token": format!("t{n}") })
            }
        })
        .connect()
        .await
        .unwrap();
    assert_eq!(
        server.next("connection").await["auth"],
        json!({"token": "t1"})
    );
    socket.emit("drop-transport", &()).await.unwrap();
    let conn = server.next("connection").await;
    assert_eq!(conn["auth"], json!({"token": "t2"}));
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    server.kill().await;
}

/// The transport of the connection after a transport-level loss.
async fn transport_after_reconnect(remember: bool) -> (Json, Json) {
    let mut server = NodeServer::start(0, "polling,websocket").await;
    let mut options = quick_reconnect();
    options.remember_upgrade(remember);
    let manager = Manager::new(&server.url(), options).unwrap();
    let mut events = manager.subscribe();
    let socket = manager.socket("/").unwrap();
    socket.connect().await.unwrap();
    let first = server.next("connection").await;
    timeout(T, async {
        while events.recv().await.unwrap() != ManagerEvent::Upgrade {}
    })
    .await
    .expect("upgrade");
    socket.emit("drop-transport", &()).await.unwrap();
    let second = server.next("connection").await;
    server.kill().await;
    (first["transport"].clone(), second["transport"].clone())
}

#[tokio::test]
async fn node_server_sees_remember_upgrade_reconnect_directly_over_websocket() {
    if !available() {
        return;
    }
    assert_eq!(
        transport_after_reconnect(true).await,
        (json!("polling"), json!("websocket"))
    );
    assert_eq!(
        transport_after_reconnect(false).await,
        (json!("polling"), json!("polling"))
    );
}

#[tokio::test]
async fn node_server_gets_retried_emits_at_least_once_in_order() {
    if !available() {
        return;
    }
    let mut server = NodeServer::start(0, "polling,websocket").await;
    let mut options = quick_reconnect();
    options
        .retries(3)
        .ack_timeout(Some(Duration::from_millis(150)));
    let manager = Manager::new(&server.url(), options).unwrap();
    let socket = manager.socket("/").unwrap();
    socket.connect().await.unwrap();
    server.next("connection").await;
    // The server acks the second try of each: every emit is sent twice, one at a time.
    for n in 1..=3 {
        socket.emit("retry-me", &n).await.unwrap();
    }
    let (answer,): (String,) = timeout(T, socket.emit_with_ack("retry-me", &4))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer, "ok 4");
    let mut seen = Vec::new();
    while seen.len() < 8 {
        let v = server.next("retry-me").await;
        seen.push((v["n"].as_i64().unwrap(), v["try"].as_i64().unwrap()));
    }
    assert_eq!(
        seen,
        [
            (1, 1),
            (1, 2),
            (2, 1),
            (2, 2),
            (3, 1),
            (3, 2),
            (4, 1),
            (4, 2)
        ]
    );

    // A message never acked is sent 1 + retries times, then fails; the queue goes on.
    let err = timeout(T, socket.emit_with_ack::<_, (String,)>("never-acked", &9))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, AckError::Timeout), "{err}");
    for _ in 0..4 {
        assert_eq!(server.next("never-acked").await["n"], 9);
    }
    socket.emit("retry-me", &5).await.unwrap();
    assert_eq!(server.next("retry-me").await["n"], 5);
    server.kill().await;
}

#[tokio::test]
async fn node_server_recovers_the_session_and_replays_the_missed_events_before_connect() {
    recovers_and_replays(ParserKind::Default).await;
}

#[tokio::test]
async fn node_server_with_msgpack_recovers_the_session_and_replays_the_missed_events_before_connect()
 {
    recovers_and_replays(ParserKind::MsgPack).await;
}

async fn recovers_and_replays(parser: ParserKind) {
    if !available() {
        return;
    }
    let flags = match parser {
        ParserKind::MsgPack => "recovery,msgpack",
        _ => "recovery",
    };
    let mut server = NodeServer::start_flags(0, "polling,websocket", flags).await;
    let manager = Manager::new(&server.url(), {
        let mut o = quick_reconnect();
        o.parser(parser);
        // Reconnect after the server broadcast the missed events (100 ms after the loss).
        o.reconnection_delay(Duration::from_millis(500));
        o
    })
    .unwrap();
    let socket = manager.socket("/").unwrap();
    socket.set_auth(&json!({"token": "abc"})).unwrap();
    let (tx, mut rx) = channel_of::<String>();
    let t = tx.clone();
    socket.on("missed", move |_s, msg| {
        let t = t.clone();
        async move {
            // The server appended its offset: [n, offset].
            let (n, offset): (i64, String) = msg.args().unwrap();
            assert!(!offset.is_empty());
            let _ = t.send(format!("missed {n}"));
        }
    });
    let t = tx.clone();
    socket.on_connect(move |s| {
        let t = t.clone();
        async move {
            let _ = t.send(format!("connect recovered={}", s.recovered()));
        }
    });
    let t = tx.clone();
    socket.on_disconnect(move |_s, r| {
        let t = t.clone();
        async move {
            let _ = t.send(format!("disconnect {r}"));
        }
    });
    socket.connect().await.unwrap();
    let first = server.next("connection").await;
    assert_eq!(first["recovered"], false);
    assert_eq!(first["auth"], json!({"token": "abc"}));
    assert_eq!(
        timeout(T, rx.recv()).await.unwrap().unwrap(),
        "connect recovered=false"
    );
    assert!(!socket.recovered());
    let sid = socket.id().unwrap();
    assert_eq!(first["id"], sid.as_str());

    socket.emit("drop-transport", &3).await.unwrap();
    assert_eq!(
        timeout(T, rx.recv()).await.unwrap().unwrap(),
        "disconnect transport close"
    );
    assert_eq!(server.next("missed-sent").await["n"], 3);
    let second = server.next("connection").await;
    // Same socket id, the session recovered; the CONNECT carried pid, offset and the auth.
    assert_eq!(second["recovered"], true);
    assert_eq!(second["id"], sid.as_str());
    assert_eq!(second["auth"]["token"], "abc");
    assert!(second["auth"]["pid"].is_string(), "{second}");
    assert!(second["auth"]["offset"].is_string(), "{second}");
    // The missed events, in order, then `connect` (socket.io-client's receive buffer).
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(timeout(T, rx.recv()).await.unwrap().unwrap());
    }
    assert_eq!(
        got,
        ["missed 1", "missed 2", "missed 3", "connect recovered=true"]
    );
    assert!(socket.recovered());
    assert_eq!(socket.id().as_deref(), Some(sid.as_str()));
    server.kill().await;
}

#[tokio::test]
async fn node_server_transport_loss_disconnects_every_active_socket_connected_or_not() {
    if !available() {
        return;
    }
    let mut server = NodeServer::start(0, "polling,websocket").await;
    let manager = Manager::new(&server.url(), quick_reconnect()).unwrap();
    let (tx, mut rx) = channel_of::<(String, DisconnectReason)>();
    let main = manager.socket("/").unwrap();
    // The middleware of /slow never answers: that socket stays connecting.
    let slow = manager.socket("/slow").unwrap();
    for s in [&main, &slow] {
        let tx = tx.clone();
        s.on_disconnect(move |s, r| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((s.namespace().to_owned(), r));
            }
        });
    }
    main.connect().await.unwrap();
    slow.connect().await.unwrap();
    server.next("connection").await;
    assert!(!slow.connected());
    main.emit("drop-transport", &()).await.unwrap();
    let mut got = vec![
        timeout(T, rx.recv()).await.unwrap().unwrap(),
        timeout(T, rx.recv()).await.unwrap().unwrap(),
    ];
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        [
            ("/".to_owned(), DisconnectReason::TransportClose),
            ("/slow".to_owned(), DisconnectReason::TransportClose)
        ]
    );
    // Both stay active and the connection comes back.
    assert!(main.active() && slow.active());
    server.next("connection").await;
    server.kill().await;
}

/// A listener that reports `label: event` (and the arguments of `answer`) on `tx`.
fn report(
    tx: &mpsc::UnboundedSender<String>,
    label: &'static str,
) -> impl Fn(socketio_client::Socket, socketio_client::Message) -> std::future::Ready<()>
+ Send
+ Sync
+ 'static {
    let tx = tx.clone();
    move |_socket, msg| {
        let line = match msg.event() {
            "answer" => {
                let args: Vec<Value> = msg.args().unwrap();
                format!("{label}: answer {}", serde_json::to_string(&args).unwrap())
            }
            event => format!("{label}: {event}"),
        };
        let _ = tx.send(line);
        std::future::ready(())
    }
}

#[tokio::test]
async fn node_server_events_reach_every_listener_in_order_and_only_the_first_answer_is_sent() {
    if !available() {
        return;
    }
    let mut server = NodeServer::start(0, "polling,websocket").await;
    let (tx, mut rx) = channel_of::<String>();
    let (out_tx, mut out_rx) = channel_of::<String>();
    let manager = Manager::new(&server.url(), Options::default()).unwrap();
    let socket = manager.socket("/").unwrap();
    socket.on_any(report(&tx, "any"));
    socket.prepend_any(report(&tx, "first any"));
    socket.on("echo-back", report(&tx, "on"));
    socket.once("echo-back", report(&tx, "once"));
    socket.prepend_listener("echo-back", report(&tx, "prepended"));
    socket.on("answer", report(&tx, "on"));
    // Two listeners answer the server's emitWithAck: the Node server gets the first answer.
    for answer in ["first", "second"] {
        socket.on("question", move |_socket, msg| async move {
            msg.ack(&(answer,)).await.unwrap();
        });
    }
    socket.on_any_outgoing(move |_socket, event, payload| {
        let args: Vec<Value> = payload.event_args().unwrap();
        let _ = out_tx.send(format!("{event} {}", serde_json::to_string(&args).unwrap()));
    });
    socket.connect().await.unwrap();
    server.next("connection").await;
    socket.emit("echo", &(1,)).await.unwrap();
    socket.emit("echo", &(2,)).await.unwrap();
    socket.emit("ask-me", &()).await.unwrap();
    let expected = [
        "first any: auth",
        "any: auth",
        "first any: echo-back",
        "any: echo-back",
        "prepended: echo-back",
        "on: echo-back",
        "once: echo-back",
        "first any: echo-back",
        "any: echo-back",
        "prepended: echo-back",
        "on: echo-back",
        "first any: question",
        "any: question",
        r#"first any: answer ["first"]"#,
        r#"any: answer ["first"]"#,
        r#"on: answer ["first"]"#,
    ];
    let mut got = Vec::new();
    for _ in expected {
        got.push(timeout(T, rx.recv()).await.unwrap().unwrap());
    }
    assert_eq!(got, expected);
    let mut out = Vec::new();
    for _ in 0..3 {
        out.push(timeout(T, out_rx.recv()).await.unwrap().unwrap());
    }
    assert_eq!(out, ["echo [1]", "echo [2]", "ask-me []"]);
    server.kill().await;
}

#[tokio::test]
async fn node_server_answers_send_with_send() {
    if !available() {
        return;
    }
    let server = NodeServer::start(0, "polling,websocket").await;
    let manager = Manager::new(&server.url(), Options::default()).unwrap();
    let socket = manager.socket("/").unwrap();
    let (tx, mut rx) = channel_of::<Vec<Value>>();
    socket.on("message", move |_s, msg| {
        let _ = tx.send(msg.args().unwrap());
        async {}
    });
    socket.connect().await.unwrap();
    socket.send(&("hello", 1)).await.unwrap();
    let args = timeout(T, rx.recv()).await.unwrap().unwrap();
    assert_eq!(
        args,
        [Value::String("hello".into()), Value::Number(1.into())]
    );
    server.kill().await;
}

#[tokio::test]
async fn node_server_packets_reach_the_manager_packet_listeners_before_the_sockets() {
    if !available() {
        return;
    }
    let server = NodeServer::start(0, "polling,websocket").await;
    let manager = Manager::new(&server.url(), Options::default()).unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let t = tx.clone();
    manager.on_packet(move |packet| {
        let name = match &packet.data {
            Some(data) if packet.kind == socketio_client::PacketKind::Event => data
                .deserialize::<Vec<Value>>()
                .ok()
                .and_then(|args| args.first().and_then(|a| a.as_str().map(str::to_owned)))
                .unwrap_or_default(),
            _ => String::new(),
        };
        let _ = t.send(format!("packet {:?} {} {name}", packet.kind, packet.nsp));
    });
    let socket = manager.socket("/").unwrap();
    socket.on("auth", move |_s, _msg| {
        let _ = tx.send("socket auth".to_owned());
        async {}
    });
    socket.connect().await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(timeout(T, rx.recv()).await.unwrap().unwrap());
    }
    assert_eq!(
        seen,
        ["packet Connect / ", "packet Event / auth", "socket auth"]
    );
    server.kill().await;
}

async fn refused_with_data(parser: ParserKind) {
    if !available() {
        return;
    }
    let flags = if parser == ParserKind::MsgPack {
        "msgpack"
    } else {
        ""
    };
    let server = NodeServer::start_flags(0, "polling,websocket", flags).await;
    let err = ClientBuilder::new(&format!("{}/private", server.url()))
        .options(|o| {
            o.parser(parser);
        })
        .connect()
        .await
        .unwrap_err();
    let socketio_client::ClientError::Connect(err) = err else {
        panic!("{err}");
    };
    assert_eq!(err.message, "not authorized");
    assert_eq!(err.kind, socketio_client::ConnectErrorKind::Refused);
    let mut data = socketio_client::value!({"content": "please retry", "code": 7});
    if parser == ParserKind::MsgPack {
        if let Value::Object(entries) = &mut data {
            entries.push(("blob".to_owned(), Bytes::from_static(&[1, 2]).into()));
        }
    }
    assert_eq!(err.data, Some(data));
    server.kill().await;
}

#[tokio::test]
async fn node_server_middleware_refusal_reaches_connect_error_with_its_message_and_data() {
    refused_with_data(ParserKind::Default).await;
}

#[tokio::test]
async fn node_server_middleware_refusal_reaches_connect_error_with_binary_data_over_msgpack() {
    refused_with_data(ParserKind::MsgPack).await;
}

async fn query_and_headers(mode: TransportMode) {
    if !available() {
        return;
    }
    let mut server = NodeServer::start(0, "polling,websocket").await;
    let mut options = Options::default();
    options
        .transports(mode)
        .query("b", "from-options")
        .query("c", "from-options")
        .header(
            http::HeaderName::from_static("x-test"),
            http::HeaderValue::from_static("yes"),
        );
    let url = format!("{}/?a=from-url&b=from-url", server.url());
    let manager = Manager::new(&url, options).unwrap();
    let socket = manager.socket("/").unwrap();
    socket.connect().await.unwrap();
    let conn = server.next("connection").await;
    let query = &conn["query"];
    assert_eq!(query["a"], "from-url");
    assert_eq!(query["b"], "from-url", "the URL's value wins");
    assert_eq!(query["c"], "from-options");
    assert_eq!(query["EIO"], "4");
    assert_eq!(
        conn["header"], "yes",
        "extraHeaders reach the handshake: {conn}"
    );
    server.kill().await;
}

#[tokio::test]
async fn node_server_sees_the_sub_protocol_offered_the_timestamp_asked_for_and_the_websocket_query()
{
    if !available() {
        return;
    }
    let mut server = NodeServer::start(0, "polling,websocket").await;
    let mut options = Options::default();
    options
        .transports(TransportMode::WebSocket)
        .protocols(["chat.v1", "chat.v0"])
        .timestamp_requests(true)
        .timestamp_param("ts")
        .query("general", "1")
        .transport_options(socketio_client::TransportKind::WebSocket, |ws| {
            ws.query("only-ws", "1");
        });
    let manager = Manager::new(&server.url(), options).unwrap();
    let socket = manager.socket("/").unwrap();
    socket.connect().await.unwrap();
    let conn = server.next("connection").await;
    assert_eq!(
        conn["wsProtocol"], "chat.v1",
        "the server's ws picks the first: {conn}"
    );
    let query = &conn["query"];
    assert!(query["ts"].is_string(), "{query}");
    assert_eq!(query["only-ws"], "1");
    assert!(
        query["general"].is_null(),
        "replaced for this transport: {query}"
    );
    server.kill().await;
}

#[tokio::test]
async fn node_server_sees_the_polling_only_headers_and_the_default_timestamp_on_polling() {
    if !available() {
        return;
    }
    let mut server = NodeServer::start(0, "polling,websocket").await;
    let mut options = Options::default();
    options
        .transports(TransportMode::Polling)
        .header(
            http::HeaderName::from_static("x-test"),
            http::HeaderValue::from_static("general"),
        )
        .transport_options(socketio_client::TransportKind::Polling, |polling| {
            polling.header(
                http::HeaderName::from_static("x-test"),
                http::HeaderValue::from_static("polling-only"),
            );
        });
    let manager = Manager::new(&server.url(), options).unwrap();
    let socket = manager.socket("/").unwrap();
    socket.connect().await.unwrap();
    let conn = server.next("connection").await;
    assert_eq!(conn["header"], "polling-only");
    assert!(conn["query"]["t"].is_string(), "{conn}");
    server.kill().await;
}

#[tokio::test]
async fn node_server_sees_the_query_of_url_and_options_and_extra_headers_over_polling() {
    query_and_headers(TransportMode::Polling).await;
}

#[tokio::test]
async fn node_server_sees_the_query_of_url_and_options_and_extra_headers_over_websocket() {
    query_and_headers(TransportMode::WebSocket).await;
}

#[tokio::test]
async fn node_server_engine_id_and_transport_name_are_visible_and_follow_the_upgrade() {
    if !available() {
        return;
    }
    let mut server = NodeServer::start(0, "polling,websocket").await;
    let manager = Manager::new(&server.url(), Options::default()).unwrap();
    let mut events = manager.subscribe();
    assert_eq!(manager.transport_name(), None, "nothing open yet");
    let socket = manager.socket("/").unwrap();
    socket.connect().await.unwrap();
    let conn = server.next("connection").await;
    assert_eq!(
        manager.engine_id().as_deref(),
        conn["engine"].as_str(),
        "socket.io.engine.id is the server's socket.conn.id"
    );
    assert_eq!(conn["transport"], "polling");
    while timeout(T, events.recv()).await.unwrap().unwrap() != ManagerEvent::Upgrade {}
    assert_eq!(manager.transport_name(), Some("websocket"));
    assert_eq!(manager.engine_id().as_deref(), conn["engine"].as_str());
    server.kill().await;
}

#[tokio::test]
async fn node_server_sees_clients_of_one_server_share_a_connection_unless_forced_new_or_same_namespace()
 {
    if !available() {
        return;
    }
    let mut server = NodeServer::start(0, "polling,websocket").await;
    let url = server.url();
    // `autoConnect: false`: built, connected later.
    let main = ClientBuilder::new(&format!("{url}/")).build().unwrap();
    assert!(!main.connected());
    main.connect().await.unwrap();
    let admin = ClientBuilder::new(&format!("{url}/admin"))
        .connect()
        .await
        .unwrap();
    let first = server.next("engine_connection").await;
    server.next("connection").await;
    server.next("connection").await;
    assert_eq!(main.manager().engine_id(), admin.manager().engine_id());
    assert_eq!(main.manager().engine_id().as_deref(), first["id"].as_str());
    // The same namespace again, or force_new: a connection of its own.
    let again = ClientBuilder::new(&format!("{url}/"))
        .connect()
        .await
        .unwrap();
    let forced = ClientBuilder::new(&format!("{url}/admin"))
        .force_new(true)
        .connect()
        .await
        .unwrap();
    let second = server.next("engine_connection").await;
    let third = server.next("engine_connection").await;
    let mut ids = vec![
        first["id"].as_str().unwrap().to_owned(),
        second["id"].as_str().unwrap().to_owned(),
        third["id"].as_str().unwrap().to_owned(),
    ];
    ids.dedup();
    assert_eq!(ids.len(), 3, "three Engine.IO connections in all");
    assert_ne!(again.manager().engine_id(), main.manager().engine_id());
    assert_ne!(forced.manager().engine_id(), admin.manager().engine_id());
    server.kill().await;
}

#[tokio::test]
async fn node_server_pings_reach_the_manager_ping_event() {
    if !available() {
        return;
    }
    let server = NodeServer::start(0, "polling,websocket").await;
    let manager = Manager::new(&server.url(), Options::default()).unwrap();
    let mut events = manager.subscribe();
    let socket = manager.socket("/").unwrap();
    socket.connect().await.unwrap();
    // The server pings every 300 ms.
    let mut pings = 0;
    while pings < 2 {
        if timeout(T, events.recv()).await.unwrap().unwrap() == ManagerEvent::Ping {
            pings += 1;
        }
    }
    assert!(socket.connected() || socket.active());
    server.kill().await;
}

async fn cookie_jar(parser: ParserKind) {
    if !available() {
        return;
    }
    let flags = if parser == ParserKind::MsgPack {
        "cookie,msgpack"
    } else {
        "cookie"
    };
    let mut server = NodeServer::start_flags(0, "polling,websocket", flags).await;
    let mut options = Options::default();
    options.with_credentials(true).parser(parser);
    let manager = Manager::new(&server.url(), options).unwrap();
    let socket = manager.socket("/").unwrap();
    socket.connect().await.unwrap();
    let engine = server.next("engine_connection").await;
    let expected = format!("io={}", engine["id"].as_str().unwrap());
    // Every request of the session, polling ones and the upgrade's WebSocket, carries the
    // cookie the Node engine set on the handshake.
    let (mut polling, mut websocket) = (false, false);
    while !(polling && websocket) {
        let request = server.next("session_request").await;
        assert_eq!(request["cookie"], expected.as_str(), "{request}");
        polling |= request["transport"] == "polling";
        websocket |= request["transport"] == "websocket";
    }
    server.kill().await;
}

#[tokio::test]
async fn node_server_gets_its_cookie_back_from_the_jar_with_credentials() {
    cookie_jar(ParserKind::Default).await;
}

#[tokio::test]
async fn node_server_gets_its_cookie_back_from_the_jar_with_credentials_msgpack() {
    cookie_jar(ParserKind::MsgPack).await;
}
