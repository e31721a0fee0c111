//! A client that sends events faster than its handlers finish them is slowed down, not
//! buffered without bound: past `max_pending_events` the server stops reading it (its
//! WebSocket is not read, its next POST waits), and reads again once the handlers caught up.
//! Nothing is lost, and the order is kept.

mod common;

use std::sync::Arc;

use common::{Client, WAIT, capture_logs, config, http_get, http_post, start};
use socketio_server::SocketIo;
use tokio::sync::{Notify, mpsc};
use tokio::time::timeout;

/// A server whose handler of `n` waits for `gate` on the first event, then reports each `n`.
fn server(max_events: usize) -> (SocketIo, Arc<Notify>, mpsc::UnboundedReceiver<u64>) {
    let mut config = config();
    config.max_pending_events(max_events, 1 << 20);
    let io = SocketIo::new(config);
    let gate = Arc::new(Notify::new());
    let (tx, rx) = mpsc::unbounded_channel();
    let g = gate.clone();
    io.of("/").on_connection(move |socket| {
        let gate = g.clone();
        let tx = tx.clone();
        async move {
            socket.on("n", move |_socket, msg| {
                let gate = gate.clone();
                let tx = tx.clone();
                async move {
                    let (n,): (u64,) = msg.args().unwrap();
                    if n == 0 {
                        gate.notified().await;
                    }
                    let _ = tx.send(n);
                }
            });
        }
    });
    (io, gate, rx)
}

async fn all_in_order(rx: &mut mpsc::UnboundedReceiver<u64>, count: u64) {
    for i in 0..count {
        let n = timeout(WAIT, rx.recv()).await.unwrap().unwrap();
        assert_eq!(n, i);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_websocket_client_ahead_of_its_handlers_is_paused_and_loses_nothing() {
    let (log, _guard) = capture_logs();
    let (io, gate, mut rx) = server(16);
    let addr = start(&io).await;
    let mut client = Client::connect(addr).await;
    assert!(client.join("/").await.starts_with("40{"));
    for i in 0..2000 {
        client.send(&format!("42[\"n\",{i}]")).await;
    }
    log.wait_for(&["reading from the client paused"]).await;
    gate.notify_one();
    all_in_order(&mut rx, 2000).await;
    assert!(
        log.line_with(&["reading from the client resumed"])
            .is_some()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_polling_client_ahead_of_its_handlers_waits_for_its_post_and_loses_nothing() {
    let (log, _guard) = capture_logs();
    let (io, gate, mut rx) = server(10);
    let addr = start(&io).await;
    let (status, _, body) = http_get(addr, "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, 200);
    let open: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
    let path = format!(
        "/socket.io/?EIO=4&transport=polling&sid={}",
        open["sid"].as_str().unwrap()
    );
    assert_eq!(http_post(addr, &path, "40").await.0, 200);
    let (status, _, body) = http_get(addr, &path, "").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("40{"), "{body}");
    let batch = |from: u64| {
        (from..from + 50)
            .map(|i| format!("42[\"n\",{i}]"))
            .collect::<Vec<_>>()
            .join("\u{1e}")
    };
    // The first batch is taken (nothing was pending); it puts the handlers behind.
    assert_eq!(http_post(addr, &path, &batch(0)).await.0, 200);
    // The second waits for them: its answer comes once the first batch is handled.
    let second = {
        let (path, body) = (path.clone(), batch(50));
        tokio::spawn(async move { http_post(addr, &path, &body).await.0 })
    };
    log.wait_for(&["reading from the client paused"]).await;
    gate.notify_one();
    all_in_order(&mut rx, 100).await;
    assert_eq!(timeout(WAIT, second).await.unwrap().unwrap(), 200);
}
