//! The standalone server against peers that hold connections without using them: a request
//! whose headers never end and a TCP connection that never sends anything are closed after
//! the header-read timeout, a POST whose body never comes gets 408 after the body-read
//! timeout (on tokio's paused clock: no real waiting).

mod common;

use std::time::Duration;

use common::start;
use socketio_server::{Config, SocketIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Reads until the server closes the connection; the virtual time it took.
async fn closed_after(stream: &mut TcpStream) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(Duration::from_secs(600), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("the server never closed the connection"),
        }
    }
}

async fn server(timeout: Option<Duration>) -> std::net::SocketAddr {
    let mut config = Config::default();
    config.header_read_timeout(timeout);
    let io = SocketIo::new(config);
    io.of("/").on_connection(|_| async {});
    start(&io).await
}

#[tokio::test(start_paused = true)]
async fn a_request_whose_headers_never_end_is_closed_after_the_header_read_timeout() {
    let addr = server(Some(Duration::from_secs(60))).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // Slowloris: a request line and one header, then nothing.
    stream
        .write_all(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let waited = closed_after(&mut stream).await;
    assert!(waited >= Duration::from_secs(60), "{waited:?}");
    assert!(waited < Duration::from_secs(61), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let addr = server(Some(Duration::from_secs(30))).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let waited = closed_after(&mut stream).await;
    assert!(waited >= Duration::from_secs(30), "{waited:?}");
    assert!(waited < Duration::from_secs(31), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn a_kept_alive_connection_idle_after_its_request_is_closed_too() {
    let addr = server(Some(Duration::from_secs(60))).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    let waited = closed_after(&mut stream).await;
    assert!(waited >= Duration::from_secs(60), "{waited:?}");
    assert!(waited < Duration::from_secs(61), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn without_a_header_read_timeout_an_idle_connection_stays_open() {
    let addr = server(None).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(3600), stream.read(&mut buf)).await;
    assert!(read.is_err(), "still open after an hour: {read:?}");
}

#[tokio::test(start_paused = true)]
async fn a_post_whose_body_never_comes_gets_408_after_the_body_read_timeout() {
    let mut config = Config::default();
    config.body_read_timeout(Some(Duration::from_secs(45)));
    config.header_read_timeout(None);
    let io = SocketIo::new(config);
    io.of("/").on_connection(|_| async {});
    let addr = start(&io).await;
    let (status, _, body) = common::http_get(addr, "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, 200);
    let open: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
    let sid = open["sid"].as_str().unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The headers promise 100 bytes; 2 come.
    let head = format!(
        "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n40"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let start = Instant::now();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(600), stream.read_to_end(&mut raw))
        .await
        .expect("the server closes the connection")
        .unwrap();
    let waited = start.elapsed();
    assert!(
        raw.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&raw)
    );
    assert!(waited >= Duration::from_secs(45), "{waited:?}");
    assert!(waited < Duration::from_secs(46), "{waited:?}");
}

#[tokio::test]
async fn past_max_connections_a_new_connection_is_closed_and_the_open_ones_go_on() {
    let mut config = Config::default();
    config.max_connections(Some(2));
    let io = SocketIo::new(config);
    io.of("/").on_connection(|_| async {});
    let addr = start(&io).await;
    let mut a = common::Client::connect(addr).await;
    let mut b = common::Client::connect(addr).await;
    // The third is closed at once, before any byte.
    let mut third = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(common::WAIT, third.read(&mut buf))
        .await
        .expect("closed at once");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // The open ones are served.
    assert!(a.join("/").await.starts_with("40{"));
    assert!(b.join("/").await.starts_with("40{"));
    // One closes: there is room again.
    drop(a);
    let deadline = Instant::now() + common::WAIT;
    loop {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        if let Ok(Ok(_)) =
            tokio::time::timeout(common::WAIT, tokio_tungstenite::connect_async(url)).await
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no room after a connection closed"
        );
        tokio::task::yield_now().await;
    }
}

/// A long-polling session left alone releases its buffers after a quiet second, then
/// sleeps until its next deadline: on the paused clock, time moves only while every task
/// sleeps, so a session that kept waking itself would stall this test (a real-time
/// watchdog ends it then).
#[tokio::test(start_paused = true)]
async fn an_idle_long_polling_session_sleeps_until_its_next_deadline_and_still_answers() {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(120));
        eprintln!("an idle long-polling session kept its task awake: virtual time stalled");
        std::process::exit(1);
    });
    let io = SocketIo::new(Config::default());
    io.of("/").on_connection(|_| async {});
    let addr = start(&io).await;
    let (status, _, body) = common::http_get(addr, "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, 200);
    let open: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
    let url = format!(
        "/socket.io/?EIO=4&transport=polling&sid={}",
        open["sid"].as_str().unwrap()
    );
    // Past the release of the buffers, before the first heartbeat (25 s).
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(start.elapsed() >= Duration::from_secs(10));
    assert_eq!(common::http_post(addr, &url, "40").await.0, 200);
    let (status, _, body) = common::http_get(addr, &url, "").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("40{\"sid\":"), "{body}");
}
