//! Volatile emits and the `ackTimeout` option, against our own server on loopback.

use std::time::Duration;

use socketio_client::{AckError, Manager, Options, TransportMode};
use socketio_server::{Config, SocketIo};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::timeout;

const T: Duration = Duration::from_secs(10);

/// A server that reports every `v` event it receives, acks `add`, and never acks `silent`.
async fn start_server() -> (String, mpsc::UnboundedReceiver<i64>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let io = SocketIo::new(Config::default());
    io.of("/").on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.on("v", move |_socket, msg| {
                let tx = tx.clone();
                async move {
                    let (n,): (i64,) = msg.args().unwrap();
                    let _ = tx.send(n);
                }
            });
            socket.on("add", |_socket, mut msg| async move {
                let (a, b): (i64, i64) = msg.args().unwrap_or((0, 0));
                let _ = msg.ack(&(a + b,));
            });
            socket.on("silent", |_socket, _msg| async move {});
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { io.serve(listener).await });
    (format!("http://{addr}"), rx)
}

/// Waits until the socket is connected.
async fn connected(socket: &socketio_client::Socket) {
    timeout(T, async {
        while !socket.connected() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("connected");
}

/// What the server received, up to the marker `last`.
async fn received_until(rx: &mut mpsc::UnboundedReceiver<i64>, last: i64) -> Vec<i64> {
    let mut got = Vec::new();
    loop {
        let n = timeout(T, rx.recv()).await.unwrap().unwrap();
        got.push(n);
        if n == last {
            return got;
        }
    }
}

#[tokio::test]
async fn volatile_emits_are_dropped_while_disconnected_and_while_a_post_is_in_flight() {
    let (url, mut rx) = start_server().await;
    let mut options = Options::default();
    options.transports(TransportMode::Polling);
    let manager = Manager::new(&url, options).unwrap();
    let socket = manager.socket("/").unwrap();
    // Not connected yet: the volatile one is dropped, the other one buffered.
    socket.volatile().emit("v", &0).await.unwrap();
    socket.emit("v", &1).await.unwrap();
    socket.connect().await.unwrap();
    connected(&socket).await;
    assert_eq!(received_until(&mut rx, 1).await, [1]);

    // Quiet: wait for the POSTs to be answered, then the transport is writable.
    let (sum,): (i64,) = timeout(T, socket.emit_with_ack("add", &(1, 1)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sum, 2);
    tokio::time::sleep(Duration::from_millis(100)).await;
    socket.volatile().emit("v", &2).await.unwrap();
    // 3 goes out in a POST at once; 4 is volatile while that POST is in flight: dropped, as
    // socket.io-client drops it when the transport is not writable; 5 waits for the POST.
    socket.emit("v", &3).await.unwrap();
    socket.volatile().emit("v", &4).await.unwrap();
    socket.emit("v", &5).await.unwrap();
    assert_eq!(received_until(&mut rx, 5).await, [2, 3, 5]);
    manager.close().await.unwrap();
}

#[tokio::test]
async fn volatile_emits_go_out_over_websocket_and_are_dropped_after_a_disconnect() {
    let (url, mut rx) = start_server().await;
    let mut options = Options::default();
    options.transports(TransportMode::WebSocket);
    let manager = Manager::new(&url, options).unwrap();
    let socket = manager.socket("/").unwrap();
    socket.connect().await.unwrap();
    connected(&socket).await;
    for n in 1..=3 {
        socket.volatile().emit("v", &n).await.unwrap();
    }
    assert_eq!(received_until(&mut rx, 3).await, [1, 2, 3]);
    socket.disconnect().await.unwrap();
    socket.volatile().emit("v", &4).await.unwrap();
    // Connected again: the buffered (non-volatile) emit arrives, the volatile one never did.
    socket.emit("v", &5).await.unwrap();
    socket.connect().await.unwrap();
    assert_eq!(received_until(&mut rx, 5).await, [5]);
}

#[tokio::test]
async fn the_ack_timeout_option_is_the_default_deadline_of_emit_with_ack() {
    let (url, _rx) = start_server().await;
    let mut options = Options::default();
    options.ack_timeout(Some(Duration::from_millis(200)));
    let manager = Manager::new(&url, options).unwrap();
    let socket = manager.socket("/").unwrap();
    socket.connect().await.unwrap();
    connected(&socket).await;
    // Answered in time.
    let (sum,): (i64,) = timeout(T, socket.emit_with_ack("add", &(2, 3)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sum, 5);
    // Never answered: "operation has timed out" after ackTimeout.
    let start = tokio::time::Instant::now();
    let err = timeout(T, socket.emit_with_ack::<_, (i64,)>("silent", &()))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, AckError::Timeout), "{err}");
    assert_eq!(err.to_string(), "operation has timed out");
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    // `timeout(…)` overrides it for one emit.
    let start = tokio::time::Instant::now();
    let err = socket
        .timeout(Duration::from_millis(50))
        .emit_with_ack::<_, (i64,)>("silent", &())
        .await
        .unwrap_err();
    assert!(matches!(err, AckError::Timeout));
    assert!(start.elapsed() < Duration::from_millis(200));
}
