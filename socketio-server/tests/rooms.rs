//! Rooms, broadcasting, broadcast acks and cross-socket operations, over loopback.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Client, WAIT, config, http_get, next, start};
use socketio_server::adapter::{AdapterError, RoomEvent};
use socketio_server::{BroadcastAckError, SocketIo};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// A server whose sockets join the rooms they ask for (`join`), and report to the test.
fn rooms_server() -> (SocketIo, mpsc::UnboundedReceiver<String>) {
    let io = SocketIo::new(config());
    let (tx, rx) = mpsc::unbounded_channel();
    io.of("/").on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.on("join", |socket, mut msg| async move {
                let rooms: Vec<String> = msg.args::<(Vec<String>,)>().unwrap().0;
                socket.join(rooms);
                let _ = msg.ack(&socket.rooms());
            });
            let tx2 = tx.clone();
            socket.on_disconnecting(move |socket, _reason| {
                let tx = tx2.clone();
                async move {
                    tx.send(format!("disconnecting in {}", socket.rooms().len()))
                        .unwrap()
                }
            });
            socket.on_disconnect(move |socket, _reason| {
                let tx = tx.clone();
                async move {
                    tx.send(format!("disconnected in {}", socket.rooms().len()))
                        .unwrap()
                }
            });
        }
    });
    (io, rx)
}

/// A client connected to `/` and in `rooms`; returns it and its socket id.
async fn member(addr: std::net::SocketAddr, rooms: &[&str]) -> (Client, String) {
    let mut client = Client::connect(addr).await;
    let reply = client.join("/").await;
    let sid: serde_json::Value = serde_json::from_str(&reply[2..]).unwrap();
    let sid = sid["sid"].as_str().unwrap().to_owned();
    let rooms = serde_json::to_string(&rooms).unwrap();
    client.send(&format!(r#"421["join",{rooms}]"#)).await;
    let ack = client.recv().await;
    assert!(ack.starts_with("431["), "{ack}");
    (client, sid)
}

/// Takes every text message that arrives within a short while.
async fn drain(client: &mut Client) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(Some(Ok(msg))) = timeout(
        Duration::from_millis(150),
        futures_util::StreamExt::next(&mut client.ws),
    )
    .await
    {
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            out.push(t.to_string());
        }
    }
    out
}

#[tokio::test]
async fn a_socket_in_several_targeted_rooms_receives_a_broadcast_once() {
    let (io, _rx) = rooms_server();
    let addr = start(&io).await;
    let (mut a, _) = member(addr, &["r1", "r2"]).await;
    let (mut b, _) = member(addr, &["r2"]).await;
    let (mut c, _) = member(addr, &["r3"]).await;
    let report = io.to(["r1", "r2"]).emit("news", &1).unwrap();
    assert_eq!(report.delivered, 2);
    assert_eq!(drain(&mut a).await, [r#"42["news",1]"#]);
    assert_eq!(drain(&mut b).await, [r#"42["news",1]"#]);
    assert!(drain(&mut c).await.is_empty());
}

#[tokio::test]
async fn except_leaves_out_the_members_of_a_room_and_socket_broadcasts_leave_out_the_sender() {
    let (io, _rx) = rooms_server();
    let addr = start(&io).await;
    let (mut a, a_id) = member(addr, &["all", "vip"]).await;
    let (mut b, _) = member(addr, &["all"]).await;
    let (mut c, _) = member(addr, &["all"]).await;
    io.to("all").except("vip").emit("x", &()).unwrap();
    assert!(drain(&mut a).await.is_empty());
    assert_eq!(drain(&mut b).await, [r#"42["x"]"#]);
    assert_eq!(drain(&mut c).await, [r#"42["x"]"#]);

    let sockets = io.of("/").fetch_sockets().await.unwrap();
    let sender = sockets
        .iter()
        .find(|s| s.id() == a_id)
        .unwrap()
        .local()
        .unwrap();
    sender.to("all").emit("from-a", &()).unwrap();
    sender.broadcast().emit("everyone-but-a", &()).unwrap();
    assert!(drain(&mut a).await.is_empty());
    assert_eq!(
        drain(&mut b).await,
        [r#"42["from-a"]"#, r#"42["everyone-but-a"]"#]
    );
    c.recv().await;
}

#[tokio::test]
async fn a_socket_is_in_its_own_room_and_leaves_all_rooms_after_disconnecting_runs() {
    let (io, mut rx) = rooms_server();
    let addr = start(&io).await;
    let (mut a, a_id) = member(addr, &["r1", "r2"]).await;
    let sockets = io.of("/").fetch_sockets().await.unwrap();
    let sockets: Vec<_> = sockets.iter().map(|s| s.local().unwrap().clone()).collect();
    let mut rooms = sockets[0].rooms();
    rooms.sort();
    let mut expected = vec![a_id.clone(), "r1".into(), "r2".into()];
    expected.sort();
    assert_eq!(rooms, expected);
    // The socket id is a room: emit to one socket by id.
    io.to(a_id.as_str()).emit("direct", &()).unwrap();
    assert_eq!(a.recv().await, r#"42["direct"]"#);
    sockets[0].leave("r1");
    assert_eq!(sockets[0].rooms().len(), 2);
    a.send("41").await;
    assert_eq!(next(&mut rx).await, "disconnecting in 2");
    assert_eq!(next(&mut rx).await, "disconnected in 0");
    assert!(io.of("/").fetch_sockets().await.unwrap().is_empty());
    assert_eq!(io.to("r2").emit("x", &()).unwrap().delivered, 0);
}

#[tokio::test]
async fn a_broadcast_with_acks_returns_partial_responses_on_timeout() {
    let (io, _rx) = rooms_server();
    let addr = start(&io).await;
    let (mut fast, _) = member(addr, &["q"]).await;
    let (mut silent, _) = member(addr, &["q"]).await;
    let io2 = io.clone();
    let result = tokio::spawn(async move {
        io2.to("q")
            .timeout(Duration::from_millis(300))
            .emit_with_ack("question", &())
            .await
    });
    let asked = fast.recv().await;
    assert!(
        asked.starts_with("42") && asked.ends_with(r#"["question"]"#),
        "{asked}"
    );
    let id = &asked[2..asked.len() - r#"["question"]"#.len()];
    fast.send(&format!("43{id}[\"yes\"]")).await;
    assert!(silent.recv().await.ends_with(r#"["question"]"#));
    match result.await.unwrap() {
        Err(BroadcastAckError::Timeout { responses }) => {
            assert_eq!(responses.len(), 1);
            assert_eq!(responses[0].args::<(String,)>().unwrap().0, "yes");
        }
        other => panic!("expected a timeout with partial responses, got {other:?}"),
    }
    // With no recipient, the answer is an empty list at once.
    let empty = io
        .to("nobody")
        .timeout(Duration::from_secs(10))
        .emit_with_ack("question", &())
        .await
        .unwrap();
    assert!(empty.is_empty());
}

#[tokio::test]
async fn sockets_join_leave_and_disconnect_act_on_the_targeted_sockets() {
    let (io, _rx) = rooms_server();
    let addr = start(&io).await;
    let (mut a, _) = member(addr, &["red"]).await;
    let (mut b, _) = member(addr, &["blue"]).await;
    io.of("/").to("red").sockets_join("green");
    io.to("green").emit("g", &()).unwrap();
    assert_eq!(a.recv().await, r#"42["g"]"#);
    io.of("/").broadcast().sockets_leave("green");
    assert_eq!(io.to("green").emit("g", &()).unwrap().delivered, 0);
    assert_eq!(
        io.of("/").to("blue").fetch_sockets().await.unwrap().len(),
        1
    );
    io.of("/").to("blue").disconnect_sockets(false);
    assert_eq!(b.recv().await, "41");
    assert_eq!(io.of("/").fetch_sockets().await.unwrap().len(), 1);
    io.of("/").broadcast().disconnect_sockets(true);
    assert!(a.closed().await);
}

#[tokio::test]
async fn room_lifecycle_events_are_reported() {
    let (io, _rx) = rooms_server();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    io.of("/").on_room_event(move |event| {
        if let RoomEvent::Created(room) | RoomEvent::Deleted(room) = &event {
            if room == "lobby" {
                sink.lock().unwrap().push(event.clone());
            }
        }
    });
    let addr = start(&io).await;
    let (mut a, _) = member(addr, &["lobby"]).await;
    a.send("41").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while events.lock().unwrap().len() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        *events.lock().unwrap(),
        [
            RoomEvent::Created("lobby".into()),
            RoomEvent::Deleted("lobby".into())
        ]
    );
}

#[tokio::test]
async fn server_side_emit_says_the_in_memory_adapter_has_no_other_node() {
    let io = SocketIo::new(config());
    let err = io
        .of("/")
        .server_side_emit("hello", &socketio_server::Value::Null)
        .await
        .unwrap_err();
    assert_eq!(err, AdapterError::ServerSideEmitUnsupported);
    assert_eq!(
        err.to_string(),
        "this adapter does not support the serverSideEmit() functionality"
    );
}

#[tokio::test]
async fn a_client_that_does_not_read_is_disconnected_instead_of_growing_memory() {
    let mut config = config();
    config.max_buffered(64 * 1024);
    let io = SocketIo::new(config);
    io.of("/").on_connection(|socket| async move {
        socket.join("flood");
    });
    let addr = start(&io).await;
    // A polling client that joins, then never polls again.
    let (status, _, body) = http_get(addr, "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, 200);
    let open: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
    let sid = open["sid"].as_str().unwrap().to_owned();
    common::http_post(
        addr,
        &format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
        "40",
    )
    .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while io.to("flood").emit("x", &()).unwrap().delivered == 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let chunk = "x".repeat(1024);
    let mut closed = false;
    for _ in 0..1000 {
        let report = io.to("flood").emit("data", &chunk).unwrap();
        if report.closed > 0 || report.delivered == 0 {
            closed = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(closed, "the slow client was never cut off");
    let gone = timeout(WAIT, async {
        while io.connection_count() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(gone.is_ok(), "the session of the slow client is closed");
}

/// A WebSocket client that joins `/` and then stops reading.
async fn stalled_websocket_client(addr: std::net::SocketAddr) -> Client {
    let mut client = Client::connect(addr).await;
    client.join("/").await;
    client
}

async fn wait_for_sockets(io: &SocketIo, n: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while io.of("/").fetch_sockets().await.unwrap().len() != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waiting for {n} sockets"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_backpressure_a_stalled_reader_slows_the_emitter_down_and_loses_nothing() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut config = config();
    config
        .max_buffered(256 * 1024)
        .slow_client(socketio_server::SlowClientPolicy::Backpressure);
    let io = SocketIo::new(config);
    io.of("/").on_connection(|_| async {});
    let addr = start(&io).await;
    let mut client = stalled_websocket_client(addr).await;
    wait_for_sockets(&io, 1).await;
    const MESSAGES: usize = 120;
    let chunk = "y".repeat(256 * 1024);
    let sent = Arc::new(AtomicUsize::new(0));
    let emitter = {
        let (io, sent) = (io.clone(), sent.clone());
        tokio::spawn(async move {
            for i in 0..MESSAGES {
                let report = io
                    .of("/")
                    .broadcast()
                    .emit_wait("big", &(i, &chunk))
                    .await
                    .unwrap();
                assert_eq!(report.delivered, 1, "message {i} queued once");
                sent.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    // 30 MB cannot all sit in loopback buffers: the emitter must be held back.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let held = sent.load(Ordering::SeqCst);
    assert!(held < MESSAGES, "the emitter was never held back");
    assert_eq!(io.connection_count(), 1, "the slow client is kept");
    // The client reads again: every message arrives, in order, and the emitter finishes.
    for i in 0..MESSAGES {
        let msg = client.recv().await;
        assert!(msg.starts_with(&format!("42[\"big\",{i},")), "message {i}");
    }
    timeout(Duration::from_secs(30), emitter)
        .await
        .expect("the emitter finishes")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_a_stalled_websocket_reader_is_disconnected() {
    let mut config = config();
    config.max_buffered(256 * 1024);
    let io = SocketIo::new(config);
    io.of("/").on_connection(|_| async {});
    let addr = start(&io).await;
    let _client = stalled_websocket_client(addr).await;
    wait_for_sockets(&io, 1).await;
    let chunk = "z".repeat(256 * 1024);
    let mut cut = false;
    for i in 0..400 {
        let report = io.emit("big", &(i, &chunk)).unwrap();
        if report.closed > 0 || report.delivered == 0 {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(cut, "the stalled client was never cut off");
    let gone = timeout(WAIT, async {
        while io.connection_count() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(gone.is_ok(), "the stalled client's session is closed");
}
