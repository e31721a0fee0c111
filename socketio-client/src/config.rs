//! Manager options, with socket.io-client's names and defaults (PROTOCOL.md §5.2): the
//! protocol's in the endpoint's [`ClientEndpointConfig`], the I/O's here.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engineio_proto::TransportKind;
use http::{HeaderMap, HeaderName, HeaderValue};
use socketio_proto::ParserKind;
use socketio_proto::endpoint::client::{
    ClientEndpointConfig, RandomSource, SeededRandom, TransportMode,
};

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
    pub(crate) endpoint: ClientEndpointConfig,
    pub(crate) max_response_bytes: usize,
    pub(crate) with_credentials: bool,
    pub(crate) random: SharedRandom,
    /// `timestampRequests`: `None` is the reference's default (polling only).
    pub(crate) timestamp_requests: Option<bool>,
    pub(crate) timestamp_param: String,
    pub(crate) add_trailing_slash: bool,
    pub(crate) protocols: Vec<String>,
    /// `transportOptions`: what replaces the headers or the query for one transport.
    pub(crate) polling: TransportOptions,
    pub(crate) websocket: TransportOptions,
    #[cfg(feature = "rustls")]
    pub(crate) extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    #[cfg(feature = "rustls")]
    pub(crate) tls_config: Option<Arc<rustls::ClientConfig>>,
}

/// The random source of the options, shared by their clones (the endpoint owns a box).
#[derive(Clone)]
pub(crate) struct SharedRandom(Arc<Mutex<dyn RandomSource>>);

impl RandomSource for SharedRandom {
    fn random(&mut self) -> f64 {
        // Nothing panics while holding the lock; recover anyway.
        self.0.lock().unwrap_or_else(|e| e.into_inner()).random()
    }
}

impl Default for Options {
    fn default() -> Self {
        // Without an OS source the jitter only loses its spread; the schedule stays bounded.
        let seed = getrandom::u64().unwrap_or_default();
        Self {
            path: "/socket.io/".into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            endpoint: ClientEndpointConfig::default(),
            max_response_bytes: 100_000_000,
            with_credentials: false,
            random: SharedRandom(Arc::new(Mutex::new(SeededRandom::new(seed)))),
            timestamp_requests: None,
            timestamp_param: "t".to_owned(),
            add_trailing_slash: true,
            protocols: Vec::new(),
            polling: TransportOptions::default(),
            websocket: TransportOptions::default(),
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
            .field("endpoint", &self.endpoint)
            .field("max_response_bytes", &self.max_response_bytes)
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

    /// Keeps the cookies the server sets and sends them back with every request, polling and
    /// WebSocket (`withCredentials`, with the cookie jar Node's client takes as an option):
    /// what a load balancer that pins a session to a node with a cookie needs. Off by
    /// default. The jar belongs to the Manager (one server): a cookie goes back to it
    /// whatever its `Path`, until it expires or the server deletes it.
    pub fn with_credentials(&mut self, on: bool) -> &mut Self {
        self.with_credentials = on;
        self
    }

    /// Adds an HTTP header to every request (`extraHeaders`), polling and WebSocket.
    pub fn header(&mut self, name: HeaderName, value: HeaderValue) -> &mut Self {
        self.headers.append(name, value);
        self
    }

    /// `timestampRequests`: adds a random parameter ([`Options::timestamp_param`]) to the URL
    /// of each request, so that no cache answers it. By default (unset) polling requests
    /// have it and WebSocket handshakes do not, as the reference; `true` adds it to both,
    /// `false` to neither.
    pub fn timestamp_requests(&mut self, on: bool) -> &mut Self {
        self.timestamp_requests = Some(on);
        self
    }

    /// `timestampParam` (default `t`): the name of that parameter.
    pub fn timestamp_param(&mut self, name: &str) -> &mut Self {
        name.clone_into(&mut self.timestamp_param);
        self
    }

    /// `addTrailingSlash` (default true): the request path ends with `/` (`/socket.io/`);
    /// `false` sends `/socket.io`, for servers that route the exact path only.
    pub fn add_trailing_slash(&mut self, on: bool) -> &mut Self {
        self.add_trailing_slash = on;
        self
    }

    /// `protocols`: WebSocket sub-protocols offered in the handshake
    /// (`Sec-WebSocket-Protocol`), in order; none by default.
    pub fn protocols<I, S>(&mut self, protocols: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// `transportOptions`: headers or query parameters for one transport only. Set for a
    /// transport, they replace the general ones ([`Options::header`], [`Options::query`])
    /// for its requests, as the reference's `transportOptions` replaces `extraHeaders` and
    /// `query` (for example headers on polling requests only, which a browser cannot put
    /// on a WebSocket).
    ///
    /// ```
    /// use socketio_client::{Options, TransportKind};
    ///
    /// let mut options = Options::default();
    /// options.transport_options(TransportKind::Polling, |polling| {
    ///     polling.header(
    ///         http::HeaderName::from_static("x-sticky"),
    ///         http::HeaderValue::from_static("1"),
    ///     );
    /// });
    /// ```
    pub fn transport_options(
        &mut self,
        transport: TransportKind,
        f: impl FnOnce(&mut TransportOptions),
    ) -> &mut Self {
        match transport {
            TransportKind::Polling => f(&mut self.polling),
            TransportKind::WebSocket => f(&mut self.websocket),
        }
        self
    }

    /// `transports` (default: both, polling first).
    pub fn transports(&mut self, transports: TransportMode) -> &mut Self {
        self.endpoint.transports = transports;
        self
    }

    /// `upgrade` (default true): upgrade from polling to WebSocket when offered.
    pub fn upgrade(&mut self, upgrade: bool) -> &mut Self {
        self.endpoint.upgrade = upgrade;
        self
    }

    /// `rememberUpgrade` (default false): after a successful WebSocket, reconnect directly
    /// over WebSocket.
    pub fn remember_upgrade(&mut self, remember: bool) -> &mut Self {
        self.endpoint.remember_upgrade = remember;
        self
    }

    /// `reconnection` (default true).
    pub fn reconnection(&mut self, reconnection: bool) -> &mut Self {
        self.endpoint.reconnection = reconnection;
        self
    }

    /// `reconnectionAttempts` (default `None`: `Infinity`).
    pub fn reconnection_attempts(&mut self, attempts: Option<u32>) -> &mut Self {
        self.endpoint.reconnection_attempts = attempts;
        self
    }

    /// `reconnectionDelay` (default 1000 ms).
    pub fn reconnection_delay(&mut self, delay: Duration) -> &mut Self {
        self.endpoint.reconnection_delay = delay;
        self
    }

    /// `reconnectionDelayMax` (default 5000 ms).
    pub fn reconnection_delay_max(&mut self, delay: Duration) -> &mut Self {
        self.endpoint.reconnection_delay_max = delay;
        self
    }

    /// `randomizationFactor` (default 0.5).
    pub fn randomization_factor(&mut self, factor: f64) -> &mut Self {
        self.endpoint.randomization_factor = factor;
        self
    }

    /// `timeout` (default 20000 ms): the Engine.IO handshake must complete within it, else
    /// `connect_error` "timeout". `None` disables it (`timeout: false`).
    pub fn timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.endpoint.timeout = timeout;
        self
    }

    /// The parser (default: `socket.io-parser`; [`ParserKind::MsgPack`] for
    /// `socket.io-msgpack-parser`).
    pub fn parser(&mut self, parser: ParserKind) -> &mut Self {
        self.endpoint.parser = parser;
        self
    }

    /// The most emits a socket keeps while disconnected (default 1024); further emits fail
    /// with [`crate::EmitError::BufferFull`].
    pub fn max_buffered(&mut self, max: usize) -> &mut Self {
        self.endpoint.max_buffered = max;
        self
    }

    /// `ackTimeout`: the default deadline of [`crate::Socket::emit_with_ack`], and the
    /// deadline of each try with [`Options::retries`].
    pub fn ack_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.endpoint.ack_timeout = timeout;
        self
    }

    /// `retries` (default 0: off): every emit is queued, sent one at a time with an ack
    /// (deadline [`Options::ack_timeout`]), and sent again on timeout up to `retries` more
    /// times: at-least-once delivery, in order.
    pub fn retries(&mut self, retries: u32) -> &mut Self {
        self.endpoint.retries = retries;
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
        self.random = SharedRandom(Arc::new(Mutex::new(random)));
        self
    }
}

/// What [`Options::transport_options`] sets for one transport: headers and query
/// parameters that replace the general ones for its requests.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TransportOptions {
    pub(crate) headers: Option<HeaderMap>,
    pub(crate) query: Option<Vec<(String, String)>>,
}

impl TransportOptions {
    /// Adds a header (the transport's headers replace [`Options::header`]'s).
    pub fn header(&mut self, name: HeaderName, value: HeaderValue) -> &mut Self {
        self.headers
            .get_or_insert_with(HeaderMap::new)
            .append(name, value);
        self
    }

    /// Adds a query parameter (the transport's query replaces [`Options::query`]'s).
    pub fn query(&mut self, key: &str, value: &str) -> &mut Self {
        self.query
            .get_or_insert_with(Vec::new)
            .push((key.to_owned(), value.to_owned()));
        self
    }
}
