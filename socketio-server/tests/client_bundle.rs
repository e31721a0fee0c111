//! `serveClient`: the browser client's files served under the server's path, over loopback.
//!
//! The tests make a stand-in `dist` folder (the real client is never part of this repo).

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use socketio_server::{ClientBundle, ClientBundleError, SocketIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SCRIPT: &str = "/* stand-in for socket.io-client */ window.io = function () {};\n";

/// A temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh folder laid out like `node_modules/socket.io-client/`, with `dist/` holding
/// `socket.io.js`, `socket.io.min.js` and a map; returns the package folder (and the
/// folder to keep alive).
fn fake_package(version: Option<&str>) -> (PathBuf, TempDir) {
    let root = TempDir::new("sio-client-bundle");
    let package = root.0.join("node_modules").join("socket.io-client");
    let dist = package.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("socket.io.js"), SCRIPT.repeat(50)).unwrap();
    std::fs::write(dist.join("socket.io.min.js"), SCRIPT).unwrap();
    std::fs::write(dist.join("socket.io.min.js.map"), "{\"version\":3}").unwrap();
    if let Some(version) = version {
        let json = format!("{{\"name\":\"socket.io-client\",\"version\":\"{version}\"}}");
        std::fs::write(package.join("package.json"), json).unwrap();
    }
    (package, root)
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 GET with `Connection: close`, read to the end.
async fn get(addr: std::net::SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(common::WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("the server answers")
        .unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

async fn serve(bundle: ClientBundle) -> std::net::SocketAddr {
    let mut config = common::config();
    config.serve_client(bundle);
    common::start(&SocketIo::new(config)).await
}

#[tokio::test]
async fn serves_the_client_with_an_etag() {
    let (package, _root) = fake_package(Some("4.8.4"));
    let bundle = ClientBundle::from_dir(package.join("dist")).unwrap();
    assert_eq!(bundle.version(), Some("4.8.4"));
    assert_eq!(bundle.etag(), "\"4.8.4\"");
    let addr = serve(bundle).await;

    let reply = get(addr, "/socket.io/socket.io.min.js?v=1", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, SCRIPT.as_bytes());
    assert_eq!(reply.header("etag"), Some("\"4.8.4\""));
    assert_eq!(
        reply.header("content-type"),
        Some("application/javascript; charset=utf-8")
    );
    assert_eq!(reply.header("cache-control"), Some("public, max-age=0"));
    assert_eq!(reply.header("content-encoding"), None);

    let map = get(addr, "/socket.io/socket.io.min.js.map", &[]).await;
    assert_eq!(map.status, 200);
    assert_eq!(
        map.header("content-type"),
        Some("application/json; charset=utf-8")
    );

    // Socket.IO itself still answers under the same path.
    let handshake = get(addr, "/socket.io/?EIO=4&transport=polling", &[]).await;
    assert_eq!(handshake.status, 200);
    assert!(handshake.body.starts_with(b"0{\"sid\""));
}

#[tokio::test]
async fn not_modified_when_the_etag_matches() {
    let (package, _root) = fake_package(Some("4.8.4"));
    let addr = serve(ClientBundle::from_dir(package.join("dist")).unwrap()).await;
    for tag in ["\"4.8.4\"", "W/\"4.8.4\""] {
        let reply = get(addr, "/socket.io/socket.io.js", &[("If-None-Match", tag)]).await;
        assert_eq!(reply.status, 304, "{tag}");
        assert!(reply.body.is_empty());
    }
    let stale = get(
        addr,
        "/socket.io/socket.io.js",
        &[("If-None-Match", "\"4.0.0\"")],
    )
    .await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body, SCRIPT.repeat(50).as_bytes());
}

#[tokio::test]
async fn gzip_when_accepted() {
    let (package, _root) = fake_package(None);
    let bundle = ClientBundle::from_dir(package.join("dist")).unwrap();
    // No package.json: the ETag is a hash of the files.
    assert_eq!(bundle.version(), None);
    assert!(bundle.etag().len() > 2 && bundle.etag().starts_with('"'));
    let addr = serve(bundle.clone()).await;
    for _ in 0..2 {
        let reply = get(
            addr,
            "/socket.io/socket.io.js",
            &[("Accept-Encoding", "gzip, deflate, br")],
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-encoding"), Some("gzip"));
        assert_eq!(reply.header("vary"), Some("Accept-Encoding"));
        assert_eq!(reply.header("etag"), Some(bundle.etag()));
        assert!(reply.body.len() < SCRIPT.len() * 50);
        let mut decoded = String::new();
        flate2::read::GzDecoder::new(&reply.body[..])
            .read_to_string(&mut decoded)
            .unwrap();
        assert_eq!(decoded, SCRIPT.repeat(50));
    }
    let refused = get(
        addr,
        "/socket.io/socket.io.js",
        &[("Accept-Encoding", "gzip;q=0, br")],
    )
    .await;
    assert_eq!(refused.header("content-encoding"), None);
    assert_eq!(refused.body, SCRIPT.repeat(50).as_bytes());
}

#[tokio::test]
async fn unknown_file_is_404() {
    let (package, _root) = fake_package(Some("4.8.4"));
    let addr = serve(ClientBundle::from_dir(package.join("dist")).unwrap()).await;
    // A name the reference serves, but absent from this folder.
    let reply = get(addr, "/socket.io/socket.io.esm.min.js", &[]).await;
    assert_eq!(reply.status, 404);
    // Any other name is not a client file: Engine.IO answers it (and refuses it).
    let other = get(addr, "/socket.io/package.json", &[]).await;
    assert_eq!(other.status, 400);
    // Outside the path: the standalone server's 404.
    let outside = get(addr, "/socket.io.js", &[]).await;
    assert_eq!(outside.status, 404);
}

#[tokio::test]
async fn not_served_unless_configured() {
    let addr = common::start(&SocketIo::new(common::config())).await;
    let reply = get(addr, "/socket.io/socket.io.js", &[]).await;
    assert_ne!(reply.status, 200);
}

#[test]
fn missing_folder_says_what_to_install() {
    let missing = std::env::temp_dir().join("sio-client-bundle-missing/dist");
    let err = ClientBundle::from_dir(&missing).unwrap_err();
    assert!(matches!(err, ClientBundleError::NotFound { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("npm install socket.io-client"),
        "{message}"
    );
    assert!(message.contains("sio-client-bundle-missing"), "{message}");

    // An existing folder without the client's files.
    let (package, _root) = fake_package(None);
    let empty = package.join("build");
    std::fs::create_dir_all(&empty).unwrap();
    let err = ClientBundle::from_dir(&empty).unwrap_err();
    assert!(
        matches!(err, ClientBundleError::NotABundle { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("npm install socket.io-client"));
}

#[test]
fn found_from_a_subfolder() {
    let (package, _root) = fake_package(Some("4.8.4"));
    let root = package.parent().unwrap().parent().unwrap();
    let nested = root.join("a").join("b");
    std::fs::create_dir_all(&nested).unwrap();
    let bundle = ClientBundle::find_from(&nested).unwrap();
    assert_eq!(bundle.dir(), package.join("dist"));
    assert_eq!(bundle.version(), Some("4.8.4"));

    let lonely_dir = TempDir::new("sio-no-bundle");
    let lonely = lonely_dir.0.clone();
    match ClientBundle::find_from(&lonely) {
        // Unless some parent of the temp dir has a node_modules with the client…
        Ok(bundle) => assert!(!bundle.dir().starts_with(&lonely)),
        Err(ClientBundleError::NotFound { searched }) => {
            assert_eq!(
                searched[0],
                lonely.join("node_modules/socket.io-client/dist")
            );
        }
        Err(e) => panic!("{e}"),
    }
}
