//! HTTP long-polling and WebSocket I/O: requests only, no protocol decisions.

use std::future::Future;
#[cfg(feature = "rustls")]
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::SinkExt;
use futures_util::stream::{SplitStream, StreamExt};
use http::{HeaderMap, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::config::Options;

pub(crate) type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub(crate) type WsReader = SplitStream<WsStream>;

/// Why a request or a WebSocket failed, for the logs.
pub(crate) type IoError = String;

/// A URL that is not `http(s)://host[:port][/namespace][?query]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid server URL: {0}")]
pub struct InvalidUrl(pub(crate) String);

/// The parts of the URL a user passes to the client.
#[derive(Debug)]
pub(crate) struct ParsedUrl {
    pub(crate) secure: bool,
    pub(crate) authority: String,
    pub(crate) namespace: String,
    pub(crate) query: Vec<(String, String)>,
}

pub(crate) fn parse_url(url: &str) -> Result<ParsedUrl, InvalidUrl> {
    let uri: Uri = url.parse().map_err(|_| InvalidUrl(url.to_owned()))?;
    let secure = match uri.scheme_str() {
        Some("http" | "ws") => false,
        #[cfg(feature = "rustls")]
        Some("https" | "wss") => true,
        #[cfg(not(feature = "rustls"))]
        Some("https" | "wss") => {
            return Err(InvalidUrl(format!(
                "{url} (https and wss need the `rustls` feature of socketio-client)"
            )));
        }
        _ => return Err(InvalidUrl(url.to_owned())),
    };
    let authority = uri
        .authority()
        .ok_or_else(|| InvalidUrl(url.to_owned()))?
        .to_string();
    let namespace = match uri.path() {
        "" => "/".to_owned(),
        p => p.to_owned(),
    };
    let query = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    Ok(ParsedUrl {
        secure,
        authority,
        namespace,
        query,
    })
}

#[cfg(feature = "rustls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "rustls"))]
type Connector = HttpConnector;

/// The I/O of a Manager: where the server is, what every request carries, and the HTTP
/// client of the polling requests (a keep-alive pool).
pub(crate) struct Transport {
    secure: bool,
    /// `host:port/path/`.
    base: String,
    /// The query and headers of polling requests and of WebSocket handshakes
    /// (`transportOptions` applied).
    polling: Extras,
    websocket: Extras,
    /// `timestampRequests` for polling and WebSocket, and `timestampParam`.
    timestamps: (bool, bool),
    timestamp_param: String,
    /// `protocols`, as the `Sec-WebSocket-Protocol` value.
    protocols: Option<header::HeaderValue>,
    client: Client<Connector, Full<Bytes>>,
    max_response: usize,
    /// The cookies of the server, with `with_credentials`.
    jar: Option<Arc<Mutex<cookie::CookieJar>>>,
    /// The rustls configuration for `https`/`wss`.
    #[cfg(feature = "rustls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Transport {
    pub(crate) fn new(url: &ParsedUrl, options: &Options) -> Self {
        let path = if options.add_trailing_slash {
            options.path.as_str()
        } else {
            options.path.trim_end_matches('/')
        };
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        #[cfg(feature = "rustls")]
        let tls = url
            .secure
            .then(|| crate::tls::client_config(options.tls_config.as_ref(), &options.extra_roots));
        #[cfg(feature = "rustls")]
        let connector = {
            connector.enforce_http(false);
            let config = match &tls {
                Some(c) => (**c).clone(),
                // Plain http: no certificate is ever checked.
                None => crate::tls::config_with_roots(rustls::RootCertStore::empty()),
            };
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(config)
                .https_or_http()
                .enable_http1()
                .wrap_connector(connector)
        };
        Self {
            secure: url.secure,
            base: format!("{}{}", url.authority, path),
            polling: Extras::of(options, &options.polling),
            websocket: Extras::of(options, &options.websocket),
            timestamps: match options.timestamp_requests {
                None => (true, false),
                Some(on) => (on, on),
            },
            timestamp_param: options.timestamp_param.clone(),
            protocols: (!options.protocols.is_empty())
                .then(|| header::HeaderValue::from_str(&options.protocols.join(", ")).ok())
                .flatten(),
            client: Client::builder(TokioExecutor::new()).build(connector),
            max_response: options.max_response_bytes,
            jar: options.with_credentials.then(Arc::default),
            #[cfg(feature = "rustls")]
            tls,
        }
    }

    /// The polling URL without its query, for the logs.
    pub(crate) fn url(&self) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        format!("{scheme}://{}", self.base)
    }

    /// `?<user query>&EIO=4&transport=…[&t=…][&sid=…]`, the Node client's order.
    fn uri(&self, websocket: bool, sid: Option<&str>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        let extras = if websocket {
            &self.websocket
        } else {
            &self.polling
        };
        for (k, v) in &extras.query {
            q.append_pair(k, v);
        }
        q.append_pair("EIO", "4");
        q.append_pair("transport", if websocket { "websocket" } else { "polling" });
        if (websocket && self.timestamps.1) || (!websocket && self.timestamps.0) {
            q.append_pair(&self.timestamp_param, &cache_buster());
        }
        if let Some(sid) = sid {
            q.append_pair("sid", sid);
        }
        let scheme = match (websocket, self.secure) {
            (false, false) => "http",
            (false, true) => "https",
            (true, false) => "ws",
            (true, true) => "wss",
        };
        format!("{scheme}://{}?{}", self.base, q.finish())
    }

    /// A polling GET (`body` none) or POST: the body of a 200 answer, else an error ("xhr
    /// poll error", "xhr post error").
    pub(crate) fn request(
        &self,
        sid: Option<&str>,
        body: Option<Bytes>,
    ) -> impl Future<Output = Result<Bytes, IoError>> + Send + 'static {
        let mut req = Request::builder().uri(self.uri(false, sid));
        if body.is_some() {
            req = req.method(Method::POST);
        }
        if let Some(h) = req.headers_mut() {
            h.extend(self.polling.headers.clone());
            add_cookies(self.jar.as_ref(), h);
            if body.is_some() {
                let text = header::HeaderValue::from_static("text/plain;charset=UTF-8");
                h.insert(header::CONTENT_TYPE, text);
            }
        }
        // A POST is answered "ok".
        let limit = body.as_ref().map_or(self.max_response, |_| 1024);
        let req = req.body(Full::new(body.unwrap_or_default()));
        let client = self.client.clone();
        let jar = self.jar.clone();
        async move {
            let req = req.map_err(|e| e.to_string())?;
            let resp = client.request(req).await.map_err(|e| e.to_string())?;
            keep_cookies(jar.as_ref(), resp.headers());
            let status = resp.status();
            let body = Limited::new(resp.into_body(), limit).collect().await;
            let body = body.map_err(|e| format!("response body: {e}"))?.to_bytes();
            match status {
                StatusCode::OK => Ok(body),
                other => Err(format!("HTTP status {other}")),
            }
        }
    }

    /// Opens a WebSocket with the extra headers (over TLS for `wss`).
    pub(crate) fn open_ws(
        &self,
        sid: Option<&str>,
    ) -> impl Future<Output = Result<WsStream, IoError>> + Send + 'static {
        let req = self.uri(true, sid).into_client_request();
        let headers = self.websocket.headers.clone();
        let protocols = self.protocols.clone();
        let jar = self.jar.clone();
        #[cfg(feature = "rustls")]
        let connector = self.tls.clone().map(tokio_tungstenite::Connector::Rustls);
        async move {
            let mut req = req.map_err(|e| e.to_string())?;
            req.headers_mut().extend(headers);
            if let Some(protocols) = protocols {
                req.headers_mut()
                    .insert(header::SEC_WEBSOCKET_PROTOCOL, protocols);
            }
            add_cookies(jar.as_ref(), req.headers_mut());
            #[cfg(feature = "rustls")]
            let connecting =
                tokio_tungstenite::connect_async_tls_with_config(req, None, true, connector);
            #[cfg(not(feature = "rustls"))]
            let connecting = tokio_tungstenite::connect_async_with_config(req, None, true);
            let (ws, response) = connecting.await.map_err(|e| e.to_string())?;
            keep_cookies(jar.as_ref(), response.headers());
            Ok(ws)
        }
    }
}

/// The query and headers of one transport's requests.
struct Extras {
    query: Vec<(String, String)>,
    headers: HeaderMap,
}

impl Extras {
    /// The general ones, or the transport's where it sets them (`transportOptions`).
    fn of(options: &Options, transport: &crate::config::TransportOptions) -> Self {
        Self {
            query: transport
                .query
                .clone()
                .unwrap_or_else(|| options.query.clone()),
            headers: transport
                .headers
                .clone()
                .unwrap_or_else(|| options.headers.clone()),
        }
    }
}

/// Adds the jar's cookies to a request's `Cookie` header.
fn add_cookies(jar: Option<&Arc<Mutex<cookie::CookieJar>>>, headers: &mut HeaderMap) {
    let Some(jar) = jar else { return };
    let jar = jar.lock().unwrap_or_else(|e| e.into_inner());
    let now = cookie::time::OffsetDateTime::now_utc();
    let pairs: Vec<String> = jar
        .iter()
        .filter(|c| c.expires_datetime().is_none_or(|at| at > now))
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect();
    if pairs.is_empty() {
        return;
    }
    if let Ok(value) = header::HeaderValue::from_str(&pairs.join("; ")) {
        headers.append(header::COOKIE, value);
    }
}

/// Keeps the cookies a response sets (a cookie already expired, or with `Max-Age=0`,
/// deletes the one of its name).
fn keep_cookies(jar: Option<&Arc<Mutex<cookie::CookieJar>>>, headers: &HeaderMap) {
    let Some(jar) = jar else { return };
    let mut jar = jar.lock().unwrap_or_else(|e| e.into_inner());
    let now = cookie::time::OffsetDateTime::now_utc();
    for value in headers.get_all(header::SET_COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        let Ok(mut cookie) = cookie::Cookie::parse(text.to_owned()) else {
            continue;
        };
        // Max-Age wins over Expires (RFC 6265 §5.3): turned into a date to check later.
        if let Some(max_age) = cookie.max_age() {
            cookie.set_expires(now + max_age);
        }
        let expired = cookie.expires_datetime().is_some_and(|at| at <= now);
        if expired {
            jar.force_remove(cookie.name());
        } else {
            jar.add_original(cookie);
        }
    }
}

/// The `t` parameter: the server ignores it; it defeats HTTP caches.
fn cache_buster() -> String {
    // Without an OS source every request gets the same `t`: only a cache would notice.
    let mut r = getrandom::u64().unwrap_or_default();
    (0..8)
        .map(|_| {
            let c = b"0123456789abcdefghijklmnopqrstuvwxyz"[(r % 36) as usize];
            r /= 36;
            char::from(c)
        })
        .collect()
}

/// Splits an open WebSocket: the writer runs in its own task (fed by an unbounded channel
/// whose input is bounded by the driver's), and closes the socket when the channel closes.
pub(crate) fn split_ws(ws: WsStream) -> (mpsc::UnboundedSender<Message>, WsReader) {
    let (mut sink, stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if sink.send(msg).await.is_err() {
                return;
            }
        }
        if let Err(e) = sink.close().await {
            tracing::debug!(error = %e, "WebSocket close");
        }
    });
    (tx, stream)
}

#[cfg(test)]
mod cookie_jar_tests {
    use super::*;

    fn set_cookies(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(
                header::SET_COOKIE,
                header::HeaderValue::from_str(v).unwrap(),
            );
        }
        headers
    }

    fn sent(jar: &Arc<Mutex<cookie::CookieJar>>) -> String {
        let mut headers = HeaderMap::new();
        add_cookies(Some(jar), &mut headers);
        headers
            .get(header::COOKIE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn the_jar_sends_back_what_was_set_replaces_by_name_and_forgets_deleted_or_expired_cookies() {
        let jar = Arc::default();
        keep_cookies(
            Some(&jar),
            &set_cookies(&["io=abc; Path=/; HttpOnly", "lb=node1"]),
        );
        let mut got: Vec<&str> = Vec::new();
        let text = sent(&jar);
        got.extend(text.split("; "));
        got.sort_unstable();
        assert_eq!(got, ["io=abc", "lb=node1"]);
        // A new value replaces the old; Max-Age=0 and a past date delete.
        keep_cookies(
            Some(&jar),
            &set_cookies(&[
                "io=def",
                "lb=x; Max-Age=0",
                "old=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            ]),
        );
        assert_eq!(sent(&jar), "io=def");
        // A short Max-Age expires on its own.
        keep_cookies(Some(&jar), &set_cookies(&["io=ghi; Max-Age=1"]));
        assert_eq!(sent(&jar), "io=ghi");
    }

    #[test]
    fn without_a_jar_nothing_is_kept_or_sent() {
        keep_cookies(None, &set_cookies(&["io=abc"]));
        let mut headers = HeaderMap::new();
        add_cookies(None, &mut headers);
        assert!(headers.is_empty());
    }
}
