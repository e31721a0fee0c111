//! Serving the official browser client, as the reference's `serveClient` option does.
//!
//! The files are those of the `dist` folder of the `socket.io-client` npm package
//! (`socket.io.js`, `socket.io.min.js`, `socket.io.esm.min.js`, `socket.io.msgpack.min.js` and
//! their `.map` files). This crate does not ship them: install the package with npm and
//! point the server at its `dist` folder, or let [`ClientBundle::find`] look for
//! `node_modules/socket.io-client/dist` from the working directory upward.
//!
//! They are read once, when the bundle is loaded, and answered from memory under the
//! server's path (`/socket.io/socket.io.js`, …) like the reference: an ETag (`"<version>"`,
//! the client package's version), 304 when `If-None-Match` matches, `Cache-Control: public,
//! max-age=0`, and a gzip body when `Accept-Encoding` allows it, compressed on first use and
//! then kept.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use http_body_util::Full;

/// The names the reference answers under its path
/// (`/socket\.io(\.msgpack|\.esm)?(\.min)?\.js(\.map)?`). The package's `dist` folder has
/// eight of them; a name without a file gets 404.
const CLIENT_FILES: [&str; 12] = [
    "socket.io.js",
    "socket.io.js.map",
    "socket.io.min.js",
    "socket.io.min.js.map",
    "socket.io.esm.js",
    "socket.io.esm.js.map",
    "socket.io.esm.min.js",
    "socket.io.esm.min.js.map",
    "socket.io.msgpack.js",
    "socket.io.msgpack.js.map",
    "socket.io.msgpack.min.js",
    "socket.io.msgpack.min.js.map",
];

/// What to tell a user whose bundle is missing.
const INSTALL_HINT: &str = "install the browser client with `npm install socket.io-client@4` \
     and point the server at its `node_modules/socket.io-client/dist` folder";

/// Why a [`ClientBundle`] could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientBundleError {
    /// No `socket.io-client` `dist` folder where it was looked for.
    #[error(
        "the socket.io-client browser bundle was not found (looked in {}): {INSTALL_HINT}",
        display_paths(.searched)
    )]
    NotFound {
        /// The folders looked at.
        searched: Vec<PathBuf>,
    },
    /// The folder exists but holds none of the client's files.
    #[error(
        "{} holds no socket.io.js: it is not the `dist` folder of the socket.io-client \
         package; {INSTALL_HINT}",
        .dir.display()
    )]
    NotABundle {
        /// The folder.
        dir: PathBuf,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

fn display_paths(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

/// The files of the official browser client, loaded in memory, for
/// [`Config::serve_client`](crate::Config::serve_client). Cheap to clone.
///
/// ```no_run
/// use socketio_server::{ClientBundle, Config, SocketIo};
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // After `npm install socket.io-client` in this folder or one above it:
/// let bundle = ClientBundle::find()?;
/// let mut config = Config::default();
/// config.serve_client(bundle);
/// let io = SocketIo::new(config);
/// // A page now loads it with <script src="/socket.io/socket.io.js"></script>.
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ClientBundle {
    inner: Arc<BundleInner>,
}

struct BundleInner {
    dir: PathBuf,
    version: Option<String>,
    /// Quoted, as RFC 7232 wants.
    etag: HeaderValue,
    files: Vec<ClientFile>,
}

struct ClientFile {
    name: &'static str,
    body: Bytes,
    gzip: OnceLock<Bytes>,
}

impl std::fmt::Debug for ClientBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.inner.files.iter().map(|file| file.name).collect();
        f.debug_struct("ClientBundle")
            .field("dir", &self.inner.dir)
            .field("version", &self.inner.version)
            .field("files", &names)
            .finish()
    }
}

impl ClientBundle {
    /// Loads the client's files from `dir`, the `dist` folder of the `socket.io-client`
    /// package (e.g. `node_modules/socket.io-client/dist`).
    ///
    /// ```no_run
    /// # fn run() -> Result<(), socketio_server::ClientBundleError> {
    /// let bundle = socketio_server::ClientBundle::from_dir("node_modules/socket.io-client/dist")?;
    /// println!("serving socket.io-client {:?}", bundle.version());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, ClientBundleError> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(ClientBundleError::NotFound {
                searched: vec![dir.to_path_buf()],
            });
        }
        let mut files = Vec::new();
        for name in CLIENT_FILES {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(body) => files.push(ClientFile {
                    name,
                    body: Bytes::from(body),
                    gzip: OnceLock::new(),
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(ClientBundleError::Io { path, source }),
            }
        }
        if !files.iter().any(|file| file.name.ends_with(".js")) {
            return Err(ClientBundleError::NotABundle {
                dir: dir.to_path_buf(),
            });
        }
        let version = package_version(dir);
        // The reference's ETag is the client's version; without a package.json next to
        // the folder, a hash of the files stands in for it.
        let tag = version.clone().unwrap_or_else(|| {
            let hash = files.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, file| {
                fnv1a(fnv1a(hash, file.name.as_bytes()), &file.body)
            });
            format!("{hash:016x}")
        });
        let etag = HeaderValue::from_str(&format!("\"{tag}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("\"socket.io-client\""));
        Ok(Self {
            inner: Arc::new(BundleInner {
                dir: dir.to_path_buf(),
                version,
                etag,
                files,
            }),
        })
    }

    /// Looks for `node_modules/socket.io-client/dist` in the working directory and each of
    /// its parents, as Node.js resolves a package, and loads the first found.
    ///
    /// ```no_run
    /// match socketio_server::ClientBundle::find() {
    ///     Ok(bundle) => println!("found {bundle:?}"),
    ///     // The message says what to install.
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// ```
    pub fn find() -> Result<Self, ClientBundleError> {
        let cwd = std::env::current_dir().map_err(|source| ClientBundleError::Io {
            path: PathBuf::from("."),
            source,
        })?;
        Self::find_from(cwd)
    }

    /// Like [`ClientBundle::find`], starting at `start` instead of the working directory.
    ///
    /// ```no_run
    /// let bundle = socketio_server::ClientBundle::find_from("examples/chat");
    /// ```
    pub fn find_from(start: impl AsRef<Path>) -> Result<Self, ClientBundleError> {
        let mut searched = Vec::new();
        for dir in start.as_ref().ancestors() {
            let dist = dir
                .join("node_modules")
                .join("socket.io-client")
                .join("dist");
            if dist.is_dir() {
                return Self::from_dir(dist);
            }
            searched.push(dist);
        }
        Err(ClientBundleError::NotFound { searched })
    }

    /// The folder the files were read from.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The version of the `socket.io-client` package, read from the `package.json` next to
    /// the `dist` folder (`None` without one).
    pub fn version(&self) -> Option<&str> {
        self.inner.version.as_deref()
    }

    /// The ETag of every file, quoted: `"<version>"`, or a hash of the files when the
    /// version is unknown.
    pub fn etag(&self) -> &str {
        self.inner.etag.to_str().unwrap_or_default()
    }

    /// The answer to a request for one of the client's files under `prefix` (the server's
    /// path, with its trailing slash), or `None` when the request is not for one.
    pub(crate) fn respond(
        &self,
        prefix: &str,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Option<Response<Full<Bytes>>> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let name = path.strip_prefix(prefix)?;
        if !CLIENT_FILES.contains(&name) {
            return None;
        }
        let Some(file) = self.inner.files.iter().find(|file| file.name == name) else {
            return Some(status(StatusCode::NOT_FOUND));
        };
        let etag = &self.inner.etag;
        let builder = Response::builder()
            .header(header::ETAG, etag.clone())
            .header(header::CACHE_CONTROL, "public, max-age=0")
            .header(header::VARY, "Accept-Encoding");
        if etag_matches(headers, etag.as_bytes()) {
            let response = builder
                .status(StatusCode::NOT_MODIFIED)
                .body(Full::new(Bytes::new()));
            return Some(response.unwrap_or_else(|_| status(StatusCode::NOT_MODIFIED)));
        }
        let content_type = if name.ends_with(".map") {
            "application/json; charset=utf-8"
        } else {
            "application/javascript; charset=utf-8"
        };
        let builder = builder
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type);
        let response = if accepts_gzip(headers) {
            let body = file.gzip.get_or_init(|| gzip(&file.body)).clone();
            builder
                .header(header::CONTENT_ENCODING, "gzip")
                .body(Full::new(body))
        } else {
            builder.body(Full::new(file.body.clone()))
        };
        Some(response.unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR)))
    }
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}

/// The `version` of the `socket.io-client` package.json next to `dist`.
fn package_version(dist: &Path) -> Option<String> {
    let text = std::fs::read(dist.parent()?.join("package.json")).ok()?;
    let package: serde_json::Value = serde_json::from_slice(&text).ok()?;
    if package.get("name")?.as_str()? != "socket.io-client" {
        return None;
    }
    Some(package.get("version")?.as_str()?.to_owned())
}

fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn gzip(body: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::best(),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    Bytes::from(encoder.finish().unwrap_or_default())
}

/// `If-None-Match` lists the ETag (strong or weak) or is `*`.
fn etag_matches(headers: &HeaderMap, etag: &[u8]) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .any(|tag| tag == b"*" || tag == etag || tag.strip_prefix(b"W/") == Some(etag))
}

/// `Accept-Encoding` allows gzip: `gzip`, `x-gzip` or `*`, with a non-zero quality, and no
/// `gzip;q=0` refusing it.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let allowed = parts
                .filter_map(|param| param.trim().strip_prefix("q="))
                .all(|q| q.trim().parse::<f32>().map_or(true, |q| q > 0.0));
            match coding.as_str() {
                "gzip" | "x-gzip" => gzip = Some(allowed),
                "*" => any = Some(allowed),
                _ => {}
            }
        }
    }
    gzip.or(any).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn accept_encoding() {
        let accepts = |v| accepts_gzip(&headers(header::ACCEPT_ENCODING, v));
        assert!(accepts("gzip, deflate, br"));
        assert!(accepts("br;q=1.0, GZIP;q=0.5"));
        assert!(accepts("*"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("*, gzip;q=0"));
        assert!(!accepts("br, deflate"));
        assert!(!accepts("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn if_none_match() {
        let matches = |v| etag_matches(&headers(header::IF_NONE_MATCH, v), b"\"4.8.4\"");
        assert!(matches("\"4.8.4\""));
        assert!(matches("W/\"4.8.4\""));
        assert!(matches("\"x\", \"4.8.4\""));
        assert!(matches("*"));
        assert!(!matches("\"4.8.3\""));
        assert!(!matches("4.8.4"));
    }

    #[test]
    fn gzip_round_trip() {
        use std::io::Read;
        let body = b"console.log('hello');".repeat(100);
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&gzip(&body)[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, body);
    }
}
