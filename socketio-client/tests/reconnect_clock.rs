//! The driver's reconnection schedule on tokio's virtual clock: no sleeps, exact times.

use std::time::Duration;

use socketio_client::{Manager, ManagerEvent, Options, TransportMode};
use tokio::time::Instant;

/// A loopback port nobody listens on.
async fn closed_port() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

/// An event as socket.io-client names it, with its argument.
fn named(event: &ManagerEvent) -> String {
    match event {
        ManagerEvent::Error(e) => format!("error: {e}"),
        ManagerEvent::ReconnectError(e) => format!("reconnect_error: {e}"),
        ManagerEvent::ReconnectAttempt(n) => format!("reconnect_attempt {n}"),
        ManagerEvent::ReconnectFailed => "reconnect_failed".to_owned(),
        other => format!("{other:?}"),
    }
}

async fn attempts_schedule(mode: TransportMode) -> Vec<(String, u128)> {
    let url = closed_port().await;
    let mut options = Options::default();
    options
        .transports(mode)
        .reconnection_attempts(Some(3))
        .timeout(None)
        .random(|| 0.25);
    let manager = Manager::new(&url, options).unwrap();
    let mut events = manager.subscribe();
    let socket = manager.socket("/").unwrap();
    let start = Instant::now();
    socket.connect().await.unwrap();
    until_reconnect_failed(&mut events, start).await
}

/// The Manager's events, named, with their time since `start`, up to `reconnect_failed`.
async fn until_reconnect_failed(
    events: &mut tokio::sync::broadcast::Receiver<ManagerEvent>,
    start: Instant,
) -> Vec<(String, u128)> {
    let mut seen = Vec::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(60), events.recv())
            .await
            .expect("bounded")
            .unwrap();
        let done = ev == ManagerEvent::ReconnectFailed;
        seen.push((named(&ev), start.elapsed().as_millis()));
        if done {
            return seen;
        }
    }
}

fn expected(error: &str) -> Vec<(String, u128)> {
    // backo2 with rand 0.25: 1000-125, 2000-250, 4000-500.
    let e = || format!("error: {error}");
    let re = || format!("reconnect_error: {error}");
    let attempt = |n: u32| format!("reconnect_attempt {n}");
    vec![
        (e(), 0),
        (attempt(1), 875),
        (e(), 875),
        (re(), 875),
        (attempt(2), 875 + 1750),
        (e(), 2625),
        (re(), 2625),
        (attempt(3), 2625 + 3500),
        (e(), 6125),
        // As in socket.io-client, `reconnect()` runs (and gives up) before
        // `reconnect_error` of the last attempt is emitted.
        ("reconnect_failed".to_owned(), 6125),
    ]
}

#[tokio::test(start_paused = true)]
async fn reconnection_follows_backo2_then_gives_up_polling() {
    assert_eq!(
        attempts_schedule(TransportMode::Polling).await,
        expected("xhr poll error")
    );
}

#[tokio::test(start_paused = true)]
async fn reconnection_follows_backo2_then_gives_up_websocket() {
    assert_eq!(
        attempts_schedule(TransportMode::WebSocket).await,
        expected("websocket error")
    );
}

#[tokio::test(start_paused = true)]
async fn the_manager_setters_at_run_time_shape_the_schedule_and_reconnection_off_stops_it() {
    let url = closed_port().await;
    let mut options = Options::default();
    options
        .transports(TransportMode::Polling)
        .timeout(None)
        .random(|| 0.25);
    let manager = Manager::new(&url, options).unwrap();
    // (Before the connection: the driver has them first.)
    manager
        .set_reconnection_delay(Duration::from_millis(200))
        .await
        .unwrap();
    manager.set_reconnection_attempts(Some(2)).await.unwrap();
    let mut events = manager.subscribe();
    let socket = manager.socket("/").unwrap();
    let start = Instant::now();
    socket.connect().await.unwrap();
    let seen = until_reconnect_failed(&mut events, start).await;
    // backo2 from 200 ms with rand 0.25: 175, then 350; two attempts.
    let e = || "error: xhr poll error".to_owned();
    assert_eq!(
        seen,
        [
            (e(), 0),
            ("reconnect_attempt 1".to_owned(), 175),
            (e(), 175),
            ("reconnect_error: xhr poll error".to_owned(), 175),
            ("reconnect_attempt 2".to_owned(), 525),
            (e(), 525),
            ("reconnect_failed".to_owned(), 525),
        ]
    );

    // A new connection, then reconnection off while the first attempt waits: nothing more.
    manager.set_reconnection_attempts(None).await.unwrap();
    let other = manager.socket("/other").unwrap();
    other.connect().await.unwrap();
    loop {
        let ev = events.recv().await.unwrap();
        if matches!(ev, ManagerEvent::Error(_)) {
            break;
        }
    }
    manager.set_reconnection(false).await.unwrap();
    let more = tokio::time::timeout(Duration::from_secs(60), events.recv()).await;
    assert!(
        more.is_err(),
        "no attempt after reconnection is turned off: {more:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_handshake_timeout_is_a_connect_error_named_timeout() {
    // A server that accepts TCP but never answers.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let mut options = Options::default();
    options
        .reconnection(false)
        .timeout(Some(Duration::from_millis(500)));
    let manager = Manager::new(&url, options).unwrap();
    let socket = manager.socket("/").unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    socket.on_connect_error(move |_s, e| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(e);
        }
    });
    let start = Instant::now();
    socket.connect().await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(err.message, "timeout");
    assert!(!err.is_from_server());
    assert_eq!(start.elapsed().as_millis(), 500);
}

#[tokio::test(start_paused = true)]
async fn the_offline_buffer_is_bounded_and_volatile_emits_are_not_buffered() {
    // Nobody listens: the socket never connects, so every emit meets the offline buffer.
    let url = closed_port().await;
    let mut options = Options::default();
    options.max_buffered(3).timeout(None).random(|| 0.25);
    let manager = Manager::new(&url, options).unwrap();
    let socket = manager.socket("/").unwrap();
    socket.connect().await.unwrap();
    for n in 0..10 {
        // Volatile emits are dropped, never buffered: they take no room.
        socket.volatile().emit("v", &n).await.unwrap();
    }
    for n in 0..3 {
        socket.emit("e", &n).await.unwrap();
    }
    // Let the driver take the three in, across a few reconnection attempts.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(matches!(
        socket.emit("e", &3).await,
        Err(socketio_client::EmitError::BufferFull)
    ));
    // An emit_with_ack meets the same bound.
    assert!(matches!(
        socket
            .timeout(Duration::from_secs(1))
            .emit_with_ack::<_, ()>("e", &4)
            .await,
        Err(socketio_client::AckError::Emit(
            socketio_client::EmitError::BufferFull
        ))
    ));
}
