//! Manager options, with socket.io-client's names and defaults (PROTOCOL.md §5.2).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use socketio_proto::ParserKind;

use crate::backoff::RandomSource;

/// Which transports the client may use (`transports`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportMode {
    /// `["polling", "websocket"]`: start on polling, upgrade to WebSocket (the default).
    Both,
    /// `["polling"]`.
    Polling,
    /// `["websocket"]`.
    WebSocket,
}

/// Options of a [`crate::Manager`] (one Engine.IO connection) and of its sockets.
///
/// ```
/// use std::time::Duration;
/// use socketio_client::{Options, TransportMode};
///
/// let mut options = Options::default();
/// options
///     .transports(TransportMode::WebSocket)
///     .reconnection_delay(Duration::from_millis(200))
///     .reconnection_attempts(Some(5))
///     .query("token", "abc")
///     .ack_timeout(Some(Duration::from_secs(2)));
/// ```
#[derive(Clone)]
pub struct Options {
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) transports: TransportMode,
    pub(crate) upgrade: bool,
    pub(crate) remember_upgrade: bool,
    pub(crate) reconnection: bool,
    pub(crate) reconnection_attempts: Option<u32>,
    pub(crate) reconnection_delay: Duration,
    pub(crate) reconnection_delay_max: Duration,
    pub(crate) randomization_factor: f64,
    pub(crate) timeout: Option<Duration>,
    pub(crate) parser: ParserKind,
    pub(crate) max_buffered: usize,
    pub(crate) ack_timeout: Option<Duration>,
    pub(crate) retries: u32,
    pub(crate) max_response_bytes: usize,
    pub(crate) random: Arc<Mutex<dyn RandomSource>>,
    #[cfg(feature = "rustls")]
    pub(crate) extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    #[cfg(feature = "rustls")]
    pub(crate) tls_config: Option<Arc<rustls::ClientConfig>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            path: "/socket.io/".into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            transports: TransportMode::Both,
            upgrade: true,
            remember_upgrade: false,
            reconnection: true,
            reconnection_attempts: None,
            reconnection_delay: Duration::from_millis(1000),
            reconnection_delay_max: Duration::from_millis(5000),
            randomization_factor: 0.5,
            timeout: Some(Duration::from_millis(20_000)),
            parser: ParserKind::Default,
            max_buffered: 1024,
            ack_timeout: None,
            retries: 0,
            max_response_bytes: 100_000_000,
            random: Arc::new(Mutex::new(crate::backoff::OsSeeded::new())),
            #[cfg(feature = "rustls")]
            extra_roots: Vec::new(),
            #[cfg(feature = "rustls")]
            tls_config: None,
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("path", &self.path)
            .field("query", &self.query)
            .field("transports", &self.transports)
            .field("upgrade", &self.upgrade)
            .field("reconnection", &self.reconnection)
            .field("reconnection_attempts", &self.reconnection_attempts)
            .field("reconnection_delay", &self.reconnection_delay)
            .field("reconnection_delay_max", &self.reconnection_delay_max)
            .field("randomization_factor", &self.randomization_factor)
            .field("timeout", &self.timeout)
            .field("max_buffered", &self.max_buffered)
            .field("ack_timeout", &self.ack_timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl Options {
    /// `path` (default `/socket.io/`); a trailing `/` is added as the Node client does.
    pub fn path(&mut self, path: &str) -> &mut Self {
        let mut p = path.trim_end_matches('/').to_owned();
        if !p.starts_with('/') {
            p.insert(0, '/');
        }
        p.push('/');
        self.path = p;
        self
    }

    /// Adds a `query` parameter, sent before `EIO` on every request.
    pub fn query(&mut self, key: &str, value: &str) -> &mut Self {
        self.query.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Adds an HTTP header to every request (`extraHeaders`), polling and WebSocket.
    pub fn header(&mut self, name: HeaderName, value: HeaderValue) -> &mut Self {
        self.headers.append(name, value);
        self
    }

    /// `transports` (default: both, polling first).
    pub fn transports(&mut self, transports: TransportMode) -> &mut Self {
        self.transports = transports;
        self
    }

    /// `upgrade` (default true): upgrade from polling to WebSocket when offered.
    pub fn upgrade(&mut self, upgrade: bool) -> &mut Self {
        self.upgrade = upgrade;
        self
    }

    /// `rememberUpgrade` (default false): after a successful WebSocket, reconnect directly
    /// over WebSocket.
    pub fn remember_upgrade(&mut self, remember: bool) -> &mut Self {
        self.remember_upgrade = remember;
        self
    }

    /// `reconnection` (default true).
    pub fn reconnection(&mut self, reconnection: bool) -> &mut Self {
        self.reconnection = reconnection;
        self
    }

    /// `reconnectionAttempts` (default `None`: `Infinity`).
    pub fn reconnection_attempts(&mut self, attempts: Option<u32>) -> &mut Self {
        self.reconnection_attempts = attempts;
        self
    }

    /// `reconnectionDelay` (default 1000 ms).
    pub fn reconnection_delay(&mut self, delay: Duration) -> &mut Self {
        self.reconnection_delay = delay;
        self
    }

    /// `reconnectionDelayMax` (default 5000 ms).
    pub fn reconnection_delay_max(&mut self, delay: Duration) -> &mut Self {
        self.reconnection_delay_max = delay;
        self
    }

    /// `randomizationFactor` (default 0.5).
    pub fn randomization_factor(&mut self, factor: f64) -> &mut Self {
        self.randomization_factor = factor;
        self
    }

    /// `timeout` (default 20000 ms): the Engine.IO handshake must complete within it, else
    /// `connect_error` "timeout". `None` disables it (`timeout: false`).
    pub fn timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.timeout = timeout;
        self
    }

    /// The parser (default: `socket.io-parser`; [`ParserKind::MsgPack`] for
    /// `socket.io-msgpack-parser`).
    pub fn parser(&mut self, parser: ParserKind) -> &mut Self {
        self.parser = parser;
        self
    }

    /// The most emits a socket keeps while disconnected (default 1024); further emits fail
    /// with [`crate::EmitError::BufferFull`].
    pub fn max_buffered(&mut self, max: usize) -> &mut Self {
        self.max_buffered = max;
        self
    }

    /// `ackTimeout`: the default deadline of [`crate::Socket::emit_with_ack`], and the
    /// deadline of each try with [`Options::retries`].
    pub fn ack_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.ack_timeout = timeout;
        self
    }

    /// `retries` (default 0: off): every emit is queued, sent one at a time with an ack
    /// (deadline [`Options::ack_timeout`]), and sent again on timeout up to `retries` more
    /// times: at-least-once delivery, in order.
    pub fn retries(&mut self, retries: u32) -> &mut Self {
        self.retries = retries;
        self
    }

    /// The largest polling response body accepted (default 100 MB).
    pub fn max_response_bytes(&mut self, max: usize) -> &mut Self {
        self.max_response_bytes = max;
        self
    }

    /// Trusts `der` (one DER-encoded certificate) as a root for `https`/`wss`, besides the
    /// webpki roots (the Mozilla set) trusted by default: a private CA, or a self-signed
    /// server certificate (socket.io-client's `ca` option).
    #[cfg(feature = "rustls")]
    pub fn add_root_certificate(
        &mut self,
        der: &[u8],
    ) -> Result<&mut Self, crate::tls::InvalidCertificate> {
        let cert = rustls::pki_types::CertificateDer::from(der.to_vec());
        crate::tls::check_root(&cert)?;
        self.extra_roots.push(cert);
        Ok(self)
    }

    /// Trusts every certificate of a PEM bundle (`-----BEGIN CERTIFICATE-----` blocks) as a
    /// root, like [`Options::add_root_certificate`].
    ///
    /// ```
    /// let mut options = socketio_client::Options::default();
    /// assert!(options.add_root_certificates_pem(b"not a certificate").is_err());
    /// ```
    #[cfg(feature = "rustls")]
    pub fn add_root_certificates_pem(
        &mut self,
        pem: &[u8],
    ) -> Result<&mut Self, crate::tls::InvalidCertificate> {
        for cert in crate::tls::parse_pem(pem)? {
            crate::tls::check_root(&cert)?;
            self.extra_roots.push(cert);
        }
        Ok(self)
    }

    /// The whole rustls configuration for `https`/`wss` (client certificates, other roots,
    /// another crypto provider…); the root certificates added with
    /// [`Options::add_root_certificate`] are then ignored.
    #[cfg(feature = "rustls")]
    pub fn tls_config(&mut self, config: Arc<rustls::ClientConfig>) -> &mut Self {
        self.tls_config = Some(config);
        self
    }

    /// The random numbers of the reconnection jitter (default: seeded from the OS); inject a
    /// fixed sequence to test a schedule.
    pub fn random(&mut self, random: impl RandomSource + 'static) -> &mut Self {
        self.random = Arc::new(Mutex::new(random));
        self
    }
}
