//! HTTP long-polling and WebSocket I/O: requests only, no protocol decisions.

use std::future::Future;
use std::pin::Pin;
#[cfg(feature = "rustls")]
use std::sync::Arc;

use bytes::Bytes;
use futures_util::SinkExt;
use futures_util::stream::{SplitStream, StreamExt};
use http::{HeaderMap, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
pub(crate) type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub(crate) type WsReader = SplitStream<WsStream>;

/// Why a request or a WebSocket failed, for the logs.
pub(crate) type IoError = String;

/// Where the server is: `http://host:port` + path + query, and what every request carries.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    pub(crate) secure: bool,
    pub(crate) authority: String,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) tls: Tls,
}

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

impl Server {
    /// `?<user query>&EIO=4&transport=…[&t=…][&sid=…]`, the Node client's order.
    fn query_string(&self, transport: &str, sid: Option<&str>, timestamp: bool) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.query {
            q.append_pair(k, v);
        }
        q.append_pair("EIO", "4");
        q.append_pair("transport", transport);
        if timestamp {
            q.append_pair("t", &cache_buster());
        }
        if let Some(sid) = sid {
            q.append_pair("sid", sid);
        }
        q.finish()
    }

    pub(crate) fn polling_uri(&self, sid: Option<&str>) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        format!(
            "{scheme}://{}{}?{}",
            self.authority,
            self.path,
            self.query_string("polling", sid, true)
        )
    }

    pub(crate) fn ws_uri(&self, sid: Option<&str>) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        format!(
            "{scheme}://{}{}?{}",
            self.authority,
            self.path,
            self.query_string("websocket", sid, false)
        )
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

/// The TLS settings of a connection: the rustls configuration for `https`/`wss`, none for
/// `http`/`ws`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tls {
    #[cfg(feature = "rustls")]
    pub(crate) config: Option<Arc<rustls::ClientConfig>>,
}

#[cfg(feature = "rustls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "rustls"))]
type Connector = HttpConnector;

/// The polling HTTP client (keep-alive pool).
#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: Client<Connector, Full<Bytes>>,
    max_response: usize,
}

impl Http {
    pub(crate) fn new(max_response: usize, tls: &Tls) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        #[cfg(feature = "rustls")]
        let connector = {
            connector.enforce_http(false);
            let config = match &tls.config {
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
        #[cfg(not(feature = "rustls"))]
        let () = {
            let Tls {} = tls;
        };
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            max_response,
        }
    }

    /// A polling GET: the body of a 200 ("xhr poll error" otherwise).
    pub(crate) fn get(
        &self,
        uri: String,
        headers: &HeaderMap,
    ) -> BoxFuture<Result<Bytes, IoError>> {
        let client = self.client.clone();
        let limit = self.max_response;
        let req = build(http::Method::GET, &uri, headers, Bytes::new(), false);
        Box::pin(async move {
            let resp = client.request(req?).await.map_err(|e| e.to_string())?;
            status_ok(resp.status())?;
            let body = Limited::new(resp.into_body(), limit).collect().await;
            Ok(body.map_err(|e| format!("response body: {e}"))?.to_bytes())
        })
    }

    /// A polling POST: a 200 ("xhr post error" otherwise).
    pub(crate) fn post(
        &self,
        uri: String,
        headers: &HeaderMap,
        body: Bytes,
    ) -> BoxFuture<Result<(), IoError>> {
        let client = self.client.clone();
        let req = build(http::Method::POST, &uri, headers, body, true);
        Box::pin(async move {
            let resp = client.request(req?).await.map_err(|e| e.to_string())?;
            let status = resp.status();
            // The body ("ok") says nothing the status does not; read it to reuse the connection.
            if let Err(e) = Limited::new(resp.into_body(), 1024).collect().await {
                tracing::debug!(error = %e, "polling POST: unread response body");
            }
            status_ok(status)
        })
    }
}

fn status_ok(status: StatusCode) -> Result<(), IoError> {
    match status {
        StatusCode::OK => Ok(()),
        other => Err(format!("HTTP status {other}")),
    }
}

fn build(
    method: http::Method,
    uri: &str,
    headers: &HeaderMap,
    body: Bytes,
    text: bool,
) -> Result<Request<Full<Bytes>>, IoError> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(h) = req.headers_mut() {
        h.extend(headers.clone());
        if text {
            h.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain;charset=UTF-8"),
            );
        }
    }
    req.body(Full::new(body)).map_err(|e| e.to_string())
}

/// Opens a WebSocket to `uri` with the extra headers (over TLS for `wss`).
pub(crate) fn open_ws(
    uri: String,
    headers: HeaderMap,
    tls: &Tls,
) -> BoxFuture<Result<WsStream, IoError>> {
    #[cfg(feature = "rustls")]
    let connector = tls.config.clone().map(tokio_tungstenite::Connector::Rustls);
    #[cfg(not(feature = "rustls"))]
    let Tls {} = tls;
    Box::pin(async move {
        let mut req = uri.into_client_request().map_err(|e| e.to_string())?;
        req.headers_mut().extend(headers);
        #[cfg(feature = "rustls")]
        let connecting =
            tokio_tungstenite::connect_async_tls_with_config(req, None, true, connector);
        #[cfg(not(feature = "rustls"))]
        let connecting = tokio_tungstenite::connect_async_with_config(req, None, true);
        let (ws, _) = connecting.await.map_err(|e| e.to_string())?;
        Ok(ws)
    })
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
