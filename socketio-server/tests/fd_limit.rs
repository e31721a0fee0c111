//! The process out of file descriptors: the server refuses nothing it cannot accept, logs,
//! and serves on once descriptors are free again (it used to return from `serve`, and the
//! process ended). A test binary of its own: it lowers the process's open-files limit.

mod common;

use std::time::Duration;

use common::http_get;
use socketio_server::{Config, SocketIo};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test]
async fn running_out_of_file_descriptors_does_not_stop_the_server() {
    let io = SocketIo::new(Config::default());
    io.of("/").on_connection(|_| async {});
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = {
        let io = io.clone();
        tokio::spawn(async move { io.serve(listener).await })
    };

    // Leave room for about 40 more descriptors in this process (the client and the server
    // side of each connection count).
    let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap();
    let in_use = std::fs::read_dir("/proc/self/fd").map_or(16, |d| d.count() as u64);
    rlimit::Resource::NOFILE.set(in_use + 40, hard).unwrap();
    let mut held = Vec::new();
    for _ in 0..60 {
        match tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => held.push(stream),
            Ok(Err(_)) | Err(_) => break,
        }
    }
    // The server's accepts fail meanwhile (EMFILE); give it time to try.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!served.is_finished(), "serve returned: {:?}", served.await);
    drop(held);
    rlimit::Resource::NOFILE.set(soft, hard).unwrap();

    // Descriptors are free again: a new client is served.
    let (status, _, body) = tokio::time::timeout(
        Duration::from_secs(10),
        http_get(addr, "/socket.io/?EIO=4&transport=polling", ""),
    )
    .await
    .expect("the server answers again");
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("0{"), "{body}");
    assert!(!served.is_finished());
}
