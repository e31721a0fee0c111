//! The server's `tracing` output, seen by the standard subscriber: a span per session (its id,
//! transport and peer), events for the session's opening and closing, the namespace
//! connections and refusals, disconnections with their reason, and a protocol violation by
//! the client at `warn` with what it did.

mod common;

use common::{Client, capture_logs, config, start};
use socketio_server::{ConnectError, SocketIo};

// One thread: the subscriber set for this test sees the server's tasks.
#[tokio::test(flavor = "current_thread")]
async fn a_subscriber_sees_sessions_namespaces_disconnections_and_violations() {
    let (out, _guard) = capture_logs();

    let io = SocketIo::new(config());
    io.of("/").on_connection(|_| async {});
    io.of("/private")
        .use_middleware(|_| async { Err(ConnectError::new("not allowed")) });
    let addr = start(&io).await;

    let mut client = Client::connect(addr).await;
    let opened = out.wait_for(&["socketio_session", "session opened"]).await;
    assert!(
        opened.contains("transport=\"websocket\"") || opened.contains("transport=websocket"),
        "{opened}"
    );
    assert!(opened.contains("sid="), "{opened}");

    let reply = client.join("/").await;
    assert!(reply.starts_with("40{"), "{reply}");
    out.wait_for(&["namespace connected", "nsp=\"/\""]).await;

    let refused = client.join("/private").await;
    assert!(refused.starts_with("44/private,"), "{refused}");
    out.wait_for(&["namespace refused", "/private", "not allowed"])
        .await;

    client.send("41").await;
    out.wait_for(&["socket disconnected", "client namespace disconnect"])
        .await;

    // A packet that does not decode: the session closes, the violation is reported.
    client.send("4{not a packet").await;
    assert!(client.closed().await);
    let violation = out.wait_for(&["WARN", "does not decode"]).await;
    assert!(violation.contains("socketio_session"), "{violation}");
}
