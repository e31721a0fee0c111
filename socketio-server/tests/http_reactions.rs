//! Malformed HTTP and WebSocket handshakes get the reference's reaction (Node's HTTP parser
//! and `ws`), and the server goes on serving.

mod common;

use common::{Client, config, http_get, start};
use socketio_server::SocketIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `request` raw; the head of the answer, and the stream.
async fn raw(addr: std::net::SocketAddr, request: &str) -> (String, TcpStream) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(common::WAIT, stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    (String::from_utf8_lossy(&answer).into_owned(), stream)
}

async fn server() -> std::net::SocketAddr {
    let io = SocketIo::new(config());
    io.of("/").on_connection(|_| async {});
    start(&io).await
}

#[tokio::test]
async fn a_websocket_handshake_with_a_key_that_is_not_16_bytes_of_base64_gets_400() {
    let addr = server().await;
    for key in [
        "bad",
        "dGhlIHNhbXBsZSBub25jZQ=",
        "dGhlIHNhbXBsZSBub25jZQ!=",
        "",
    ] {
        let (answer, _) = raw(
            addr,
            &format!(
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n\
                 Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
                 Sec-WebSocket-Key: {key}\r\n\r\n"
            ),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 400 "), "key {key:?}: {answer}");
    }
    // A well-formed key is accepted (the RFC's example), and clients go on connecting.
    let mut client = Client::connect(addr).await;
    assert!(client.join("/").await.starts_with("40{"));
}

#[tokio::test]
async fn a_post_with_a_malformed_chunked_body_gets_400_and_the_connection_closes() {
    let addr = server().await;
    let (status, _, open) = http_get(addr, "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, 200);
    let sid = open
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let (answer, mut stream) = raw(
        addr,
        &format!(
            "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\
             Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n40\r\n0\r\n\r\n"
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    let mut rest = Vec::new();
    tokio::time::timeout(common::WAIT, stream.read_to_end(&mut rest))
        .await
        .expect("the connection closes")
        .unwrap();
    // The server goes on.
    let mut client = Client::connect(addr).await;
    assert!(client.join("/").await.starts_with("40{"));
}

/// A masked client frame.
fn frame(opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mask = [1u8, 2, 3, 4];
    let mut out = vec![
        0x80 | opcode,
        (if masked { 0x80 } else { 0 }) | payload.len() as u8,
    ];
    if masked {
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

#[tokio::test]
async fn a_websocket_peer_that_breaks_the_protocol_gets_the_close_code_node_sends() {
    let addr = server().await;
    for (what, bytes, code) in [
        (
            "a text message that is not UTF-8",
            frame(1, &[0xff, 0xfe], true),
            1007u16,
        ),
        ("an unmasked client frame", frame(1, b"40", false), 1002),
        ("a reserved opcode", frame(3, b"0", true), 1002),
    ] {
        let (head, mut stream) = raw(
            addr,
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n\
             Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        stream.write_all(&bytes).await.unwrap();
        let mut rest = Vec::new();
        tokio::time::timeout(common::WAIT, stream.read_to_end(&mut rest))
            .await
            .expect("the connection closes")
            .unwrap();
        // The open packet (and the CONNECT answer, if any) first, then the close frame.
        let close = rest
            .windows(4)
            .rev()
            .find(|w| w[0] == 0x88 && w[1] >= 2)
            .unwrap_or_else(|| panic!("{what}: no close frame in {rest:?}"));
        assert_eq!(u16::from_be_bytes([close[2], close[3]]), code, "{what}");
    }
    let mut client = Client::connect(addr).await;
    assert!(client.join("/").await.starts_with("40{"));
}
