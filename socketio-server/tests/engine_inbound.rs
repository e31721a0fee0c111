//! The bare Engine.IO server holds what the application has not read yet: a burst (a POST of
//! many packets, a WebSocket flood) is delivered whole and in order, and an application that
//! stops reading has its session closed at `max_buffered` instead of growing memory.

mod common;

use std::time::Duration;

use common::{WAIT, http_get, http_post};
use futures_util::{SinkExt, StreamExt};
use socketio_server::engine::{EngineConfig, EngineServer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMsg;

/// A server whose application waits for `gate` before reading, then reports every message.
async fn server(
    config: EngineConfig,
) -> (
    std::net::SocketAddr,
    oneshot::Sender<()>,
    mpsc::UnboundedReceiver<String>,
) {
    let (gate_tx, gate_rx) = oneshot::channel::<()>();
    let gate = std::sync::Mutex::new(Some(gate_rx));
    let (tx, rx) = mpsc::unbounded_channel();
    let server = EngineServer::new(config, move |mut socket| {
        let gate = gate.lock().unwrap().take();
        let tx = tx.clone();
        async move {
            if let Some(gate) = gate {
                let _ = gate.await;
            }
            while let Some(data) = socket.recv().await {
                let text = match data {
                    engineio_proto::Data::Text(t) => t.to_string(),
                    engineio_proto::Data::Binary(b) => format!("<{} bytes>", b.len()),
                };
                let _ = tx.send(text);
            }
            let _ = tx.send("closed".into());
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server.serve(listener));
    (addr, gate_tx, rx)
}

async fn handshake(addr: std::net::SocketAddr) -> String {
    let (status, _, body) = http_get(addr, "/engine.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, 200);
    let open: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
    open["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_post_of_1100_packets_reaches_an_application_that_reads_late_whole_and_in_order() {
    let (addr, gate, mut rx) = server(EngineConfig::default()).await;
    let sid = handshake(addr).await;
    let body: Vec<String> = (0..1100).map(|i| format!("4m{i}")).collect();
    let (status, _) = http_post(
        addr,
        &format!("/engine.io/?EIO=4&transport=polling&sid={sid}"),
        &body.join("\u{1e}"),
    )
    .await;
    assert_eq!(status, 200);
    gate.send(()).unwrap();
    for i in 0..1100 {
        let got = timeout(WAIT, rx.recv()).await.unwrap().unwrap();
        assert_eq!(got, format!("m{i}"));
    }
}

#[tokio::test]
async fn a_websocket_burst_of_2000_messages_is_delivered_whole_and_in_order() {
    let (addr, gate, mut rx) = server(EngineConfig::default()).await;
    let url = format!("ws://{addr}/engine.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let open = ws.next().await.unwrap().unwrap();
    assert!(open.to_text().unwrap().starts_with("0{"));
    for i in 0..2000 {
        ws.feed(WsMsg::text(format!("4w{i}"))).await.unwrap();
    }
    ws.flush().await.unwrap();
    // Give the server time to take the whole burst before the application reads.
    tokio::time::sleep(Duration::from_millis(200)).await;
    gate.send(()).unwrap();
    for i in 0..2000 {
        let got = timeout(WAIT, rx.recv()).await.unwrap().unwrap();
        assert_eq!(got, format!("w{i}"));
    }
}

#[tokio::test]
async fn an_application_that_does_not_read_has_its_session_closed_at_max_buffered() {
    let mut config = EngineConfig::default();
    config.max_buffered(16 * 1024);
    let (addr, gate, mut rx) = server(config).await;
    let url = format!("ws://{addr}/engine.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.next().await.unwrap().unwrap();
    let chunk = "x".repeat(1000);
    for _ in 0..100 {
        if ws.send(WsMsg::text(format!("4{chunk}"))).await.is_err() {
            break;
        }
    }
    // The server closes the session: the WebSocket ends.
    let closed = timeout(WAIT, async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(WsMsg::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the session was not closed");
    // What was held is still delivered, then the end.
    gate.send(()).unwrap();
    let mut got = 0;
    loop {
        let msg = timeout(WAIT, rx.recv()).await.unwrap().unwrap();
        if msg == "closed" {
            break;
        }
        got += 1;
    }
    assert!(
        (1..=17).contains(&got),
        "{got} messages held under a 16 KiB limit"
    );
}
