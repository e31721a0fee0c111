//! `https` / `wss`: the client against our own server behind a tokio-rustls acceptor on
//! loopback, with a self-signed certificate made by the test and trusted through
//! [`Options::add_root_certificate`] (feature `rustls`, on by default).
#![cfg(feature = "rustls")]

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use socketio_client::{ClientBuilder, ClientError, Manager, ManagerEvent, Options, TransportMode};
use socketio_server::{Config, SocketIo};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_rustls::rustls;

const T: Duration = Duration::from_secs(10);

struct TlsServer {
    url: String,
    cert_der: Vec<u8>,
    cert_pem: String,
}

/// Our server over TLS: a fresh self-signed certificate for 127.0.0.1 and localhost.
async fn start_tls_server() -> TlsServer {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let cert_der = certified.cert.der().to_vec();
    let cert_pem = certified.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone().into()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));

    let mut config = Config::default();
    config
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200));
    let io = SocketIo::new(config);
    io.of("/").on_connection(|socket| async move {
        let _ = socket.emit("hello", &socket.handshake().auth);
        socket.on("add", |_socket, mut msg| async move {
            let (a, b): (i64, i64) = msg.args().unwrap_or((0, 0));
            let _ = msg.ack(&(a + b,));
        });
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let service = TowerToHyperService::new(io.service());
            tokio::spawn(async move {
                // A client that does not trust the certificate fails the handshake here.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    TlsServer {
        url: format!("https://127.0.0.1:{port}/"),
        cert_der,
        cert_pem,
    }
}

async fn round_trip(mode: TransportMode) {
    let server = start_tls_server().await;
    let mut options = Options::default();
    options
        .transports(mode)
        .add_root_certificate(&server.cert_der)
        .unwrap();
    let manager = Manager::new(&server.url, options).unwrap();
    let mut events = manager.subscribe();
    let socket = manager.socket("/").unwrap();
    socket
        .set_auth(&serde_json::json!({"over": "tls"}))
        .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    socket.on("hello", move |_s, msg| {
        let tx = tx.clone();
        async move {
            let (auth,): (serde_json::Value,) = msg.args().unwrap();
            let _ = tx.send(auth);
        }
    });
    socket.connect().await.unwrap();
    let auth = timeout(T, rx.recv()).await.unwrap().unwrap();
    assert_eq!(auth, serde_json::json!({"over": "tls"}));
    let (sum,): (i64,) = timeout(T, socket.emit_with_ack("add", &(20, 22)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sum, 42);
    if mode == TransportMode::Both {
        // From https polling to wss.
        timeout(T, async {
            while events.recv().await.unwrap() != ManagerEvent::Upgrade {}
        })
        .await
        .expect("upgrade to wss");
        let (sum,): (i64,) = timeout(T, socket.emit_with_ack("add", &(1, 2)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sum, 3);
    }
    socket.disconnect().await.unwrap();
}

#[tokio::test]
async fn https_polling_with_an_extra_root() {
    round_trip(TransportMode::Polling).await;
}

#[tokio::test]
async fn wss_with_an_extra_root() {
    round_trip(TransportMode::WebSocket).await;
}

#[tokio::test]
async fn https_then_upgrade_to_wss_with_an_extra_root() {
    round_trip(TransportMode::Both).await;
}

#[tokio::test]
async fn a_pem_root_is_trusted_too() {
    let server = start_tls_server().await;
    let socket = ClientBuilder::new(&server.url)
        .options(|o| {
            o.transports(TransportMode::WebSocket)
                .add_root_certificates_pem(server.cert_pem.as_bytes())
                .unwrap();
        })
        .connect()
        .await
        .expect("connect over wss");
    let (sum,): (i64,) = timeout(T, socket.emit_with_ack("add", &(2, 2)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sum, 4);
}

/// Without the extra root the self-signed certificate is refused: the certificate is
/// really checked.
async fn untrusted(mode: TransportMode, message: &str) {
    let server = start_tls_server().await;
    let err = timeout(
        T,
        ClientBuilder::new(&server.url)
            .options(|o| {
                o.transports(mode).reconnection(false);
            })
            .connect(),
    )
    .await
    .unwrap()
    .unwrap_err();
    match err {
        ClientError::Connect(e) => {
            assert_eq!(e.message, message);
            assert!(!e.is_from_server());
        }
        e => panic!("{e}"),
    }
}

#[tokio::test]
async fn an_untrusted_certificate_fails_over_https() {
    untrusted(TransportMode::Polling, "xhr poll error").await;
}

#[tokio::test]
async fn an_untrusted_certificate_fails_over_wss() {
    untrusted(TransportMode::WebSocket, "websocket error").await;
}

#[test]
fn an_invalid_root_is_refused() {
    let mut options = Options::default();
    assert!(
        options
            .add_root_certificate(b"\x30\x03\x02\x01\x00")
            .is_err()
    );
}
