//! HTTP side of the Engine.IO layer: routes each request to a new or existing session, and
//! turns the session's answers into hyper responses (PROTOCOL.md §1.1, §1.4, §1.9).

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;

use bytes::{Bytes, BytesMut};
use engineio_proto::{
    HttpResponse, Method, PostAction, Rejection, RequestHead, Route, SessionRequest, TransportKind,
    classify,
};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use tower_layer::Layer;
use tower_service::Service;

use super::session::{Input, Launch, Opening};
use super::{EngineShared, NewSession, SessionHandle};

/// The response body type of the server.
pub(crate) type ResBody = Full<Bytes>;

/// CORS (the reference's `cors` option, as the `cors` npm middleware applies it): tower-http's
/// [`CorsLayer`] with the defaults of the `cors` package (the methods
/// `GET,HEAD,PUT,PATCH,POST,DELETE`, the requested headers allowed, `204` for a preflight).
/// [`Cors::map`] and [`Cors::custom`] give every option of the layer: allowed and exposed
/// headers, max age, methods.
///
/// ```
/// use std::time::Duration;
/// use socketio_server::{Config, Cors};
///
/// let mut config = Config::default();
/// config.cors(
///     Cors::origins(["https://example.com", "https://admin.example.com"])
///         .with_credentials()
///         .map(|layer| layer.max_age(Duration::from_secs(600))),
/// );
/// ```
#[derive(Clone, Debug)]
pub struct Cors {
    layer: CorsLayer,
    /// `Access-Control-Allow-Origin: *`, which credentials cannot go with.
    any_origin: bool,
}

impl Cors {
    /// The `cors` package's defaults with this origin rule.
    fn reference(origin: AllowOrigin, any_origin: bool) -> Self {
        let methods = [
            http::Method::GET,
            http::Method::HEAD,
            http::Method::PUT,
            http::Method::PATCH,
            http::Method::POST,
            http::Method::DELETE,
        ];
        Self {
            layer: CorsLayer::new()
                .allow_origin(origin)
                .allow_methods(methods)
                .allow_headers(AllowHeaders::mirror_request()),
            any_origin,
        }
    }

    /// Any origin: `cors: { origin: "*" }`.
    pub fn any() -> Self {
        Self::reference(AllowOrigin::any(), true)
    }

    /// Only these origins (the request's origin is sent back when it is one of them): `cors:
    /// { origin: [...] }`. An entry that is not a valid header value matches nothing.
    pub fn origins<I: IntoIterator<Item = S>, S: AsRef<str>>(origins: I) -> Self {
        let list: Vec<HeaderValue> = origins
            .into_iter()
            .filter_map(|o| HeaderValue::from_str(o.as_ref()).ok())
            .collect();
        Self::reference(AllowOrigin::list(list), false)
    }

    /// The origins `allow` accepts, with the request (`cors: { origin: (origin, cb) => … }`;
    /// a pattern is a predicate that matches it).
    pub fn origin_predicate<F>(allow: F) -> Self
    where
        F: Fn(&HeaderValue, &http::request::Parts) -> bool + Send + Sync + 'static,
    {
        Self::reference(AllowOrigin::predicate(allow), false)
    }

    /// Allows credentials (cookies) in cross-origin requests (`credentials: true`). With any
    /// origin, the request's origin is sent back instead of `*`, which browsers refuse with
    /// credentials (the `cors` package's `origin: true`).
    pub fn with_credentials(mut self) -> Self {
        if self.any_origin {
            self.layer = self.layer.allow_origin(AllowOrigin::mirror_request());
            self.any_origin = false;
        }
        self.layer = self.layer.allow_credentials(true);
        self
    }

    /// Changes the layer (allowed and exposed headers, max age, methods, …).
    pub fn map(mut self, f: impl FnOnce(CorsLayer) -> CorsLayer) -> Self {
        self.layer = f(self.layer);
        self
    }

    /// Exactly this layer, without the `cors` package's defaults. A configuration tower-http
    /// refuses (credentials with a wildcard) panics here, when the server is configured.
    pub fn custom(layer: CorsLayer) -> Self {
        let _ = layer.layer(()); // tower-http checks the rules when it wraps a service
        Self {
            layer,
            any_origin: false,
        }
    }

    /// Serves `req` through the CORS layer: a preflight is answered by it (`204`, as the
    /// `cors` package), any other request gets its headers.
    async fn serve<B>(
        &self,
        shared: &Arc<EngineShared>,
        req: Request<B>,
        remote: Option<SocketAddr>,
    ) -> Response<ResBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
    {
        let preflight = req.method() == http::Method::OPTIONS;
        let mut service = self.layer.layer(RouteService {
            shared: shared.clone(),
            remote,
        });
        let answered = match poll_fn(|cx| Service::<Request<B>>::poll_ready(&mut service, cx)).await
        {
            Ok(()) => service.call(req).await,
            Err(never) => Err(never),
        };
        let mut response = match answered {
            Ok(response) => response,
            Err(never) => match never {},
        };
        if preflight {
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        response
    }
}

/// The engine's routing as a tower service, for the CORS layer to wrap.
struct RouteService {
    shared: Arc<EngineShared>,
    remote: Option<SocketAddr>,
}

impl<B> Service<Request<B>> for RouteService
where
    B: Body<Data = Bytes> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<Response<ResBody>, std::convert::Infallible>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> Poll<Result<(), std::convert::Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let shared = self.shared.clone();
        let remote = self.remote;
        Box::pin(async move { Ok(route(&shared, req, remote).await) })
    }
}

/// True when the request's path is under the engine's path (prefix match, as the
/// reference does).
pub(crate) fn matches_path(shared: &EngineShared, path: &str) -> bool {
    let prefix = &shared.config.path;
    path.starts_with(prefix.as_str()) || path == prefix.trim_end_matches('/')
}

/// Serves one Engine.IO request from `remote` (the peer's address, when known).
pub(crate) async fn handle<B>(
    shared: Arc<EngineShared>,
    req: Request<B>,
    remote: Option<SocketAddr>,
) -> Response<ResBody>
where
    B: Body<Data = Bytes> + Send + 'static,
{
    if let Some(bundle) = &shared.config.client_bundle {
        let (prefix, path) = (&shared.config.path, req.uri().path());
        if let Some(response) = bundle.respond(prefix, req.method(), path, req.headers()) {
            return response;
        }
    }
    // The request as the hooks see it, if there are any.
    let request = shared.wants_requests().then(|| super::RequestInfo {
        method: req.method().clone(),
        uri: req.uri().clone(),
        headers: req.headers().clone(),
        remote,
    });
    let mut response = match &shared.config.cors {
        Some(cors) => cors.serve(&shared, req, remote).await,
        None => route(&shared, req, remote).await,
    };
    match (request, response.extensions_mut().remove::<Rejection>()) {
        (Some(request), Some(rejection)) => {
            shared.connection_error(&super::ConnectionError { rejection, request });
        }
        // Every answer of the engine but a CORS preflight (answered before the engine in
        // the reference).
        (Some(request), None) if request.method != http::Method::OPTIONS => {
            shared.response_headers(response.headers_mut(), &request);
        }
        _ => {}
    }
    response
}

// Its last arm can only match a future kind of route (the handshake arms take both
// transports), which the lint cannot see through the nested patterns.
#[allow(clippy::wildcard_enum_match_arm)]
async fn route<B>(
    shared: &Arc<EngineShared>,
    req: Request<B>,
    remote: Option<SocketAddr>,
) -> Response<ResBody>
where
    B: Body<Data = Bytes> + Send + 'static,
{
    let method = Method::from_name(req.method().as_str());
    let classified = {
        // (Borrowed from the request, which the route then takes.)
        let query = req.uri().query().unwrap_or("");
        let websocket_upgrade = is_websocket_upgrade(req.headers());
        let mut head = RequestHead::new(method, query, websocket_upgrade);
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            head = head.with_origin(origin.as_bytes());
        }
        classify(&head, &shared.config.protocol)
    };
    let route = match classified {
        Ok(route) => route,
        Err(rejection) => return reject(&rejection),
    };
    let req = match (&route, &shared.config.allow_request) {
        (Route::Handshake { .. }, Some(allow)) => {
            let (parts, body) = req.into_parts();
            if let Err(message) = allow(&parts).await {
                return reject(&Rejection::Forbidden(message.map(Into::into)));
            }
            Request::from_parts(parts, body)
        }
        _ => req,
    };
    match route {
        Route::Handshake {
            transport: TransportKind::Polling,
            ..
        } => open_polling(shared, req, remote).await,
        Route::Handshake {
            transport: TransportKind::WebSocket,
            supports_binary,
        } => open_websocket(shared, req, supports_binary, remote).await,
        Route::Session {
            sid,
            request,
            supports_binary,
            eio4,
        } => {
            let Some(handle) = shared.lookup(&sid) else {
                return reject(&Rejection::UnknownSid);
            };
            // The session lives in its task; its revision rule is the proto's
            // (`ServerSession::verify` checks the same), answered here before a WebSocket
            // upgrade could begin.
            if let Err(rejection) = engineio_proto::check_session_revision(eio4) {
                return reject(&rejection);
            }
            match request {
                SessionRequest::Poll => poll(shared, &handle).await,
                SessionRequest::Post => post(shared, &handle, req).await,
                SessionRequest::WebSocket => upgrade(&handle, req, shared, supports_binary),
                // Answered by the session (400 with the reference's message), as is any
                // future kind of request (`SessionRequest` is non-exhaustive, another crate).
                SessionRequest::OtherMethod | _ => {
                    let (reply, rx) = oneshot::channel();
                    let req = shared.request_id();
                    handle.send(Input::OtherMethod { req, reply });
                    answer(rx.await)
                }
            }
        }
        // A future kind of route (`Route` is non-exhaustive, another crate): refused.
        _ => reject(&Rejection::UnknownTransport),
    }
}

/// Tells the session when the client goes away before its request was answered.
struct AbortGuard<'a> {
    handle: &'a SessionHandle,
    req: engineio_proto::RequestId,
    armed: bool,
}

impl Drop for AbortGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.handle.send(Input::Aborted { req: self.req });
        }
    }
}

async fn open_polling<B>(
    shared: &Arc<EngineShared>,
    req: Request<B>,
    remote: Option<SocketAddr>,
) -> Response<ResBody> {
    let (parts, _body) = req.into_parts();
    let sid = match shared.session_id(&parts).await {
        Ok(sid) => sid,
        Err(rejection) => return reject(&rejection),
    };
    let request = shared.request_id();
    let (handle, inbox) = EngineShared::new_channel();
    let (reply, rx) = oneshot::channel();
    let new = NewSession {
        sid: sid.clone(),
        remote,
        handle: handle.clone(),
        request: &parts,
    };
    let launch = Launch {
        sid: sid.clone(),
        remote,
        opening: Opening::Polling {
            req: request,
            reply,
        },
        channel: (handle, inbox),
        shared: shared.clone(),
    };
    (shared.factory)(new, launch);
    let mut response = answer(rx.await);
    set_cookie(shared, &sid, &mut response);
    response
}

/// The `cookie` option: the session id in a cookie on the handshake response.
fn set_cookie(shared: &EngineShared, sid: &engineio_proto::Sid, response: &mut Response<ResBody>) {
    if let Some(template) = &shared.config.cookie {
        let mut cookie = template.clone();
        cookie.set_value(sid.to_string());
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
}

async fn open_websocket<B>(
    shared: &Arc<EngineShared>,
    mut req: Request<B>,
    supports_binary: bool,
    remote: Option<SocketAddr>,
) -> Response<ResBody> {
    let Some(accept) = websocket_accept(req.headers()) else {
        return reject(&Rejection::BadRequest(
            engineio_proto::BadRequestReason::TransportHandshakeError,
        ));
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (parts, _body) = req.into_parts();
    let sid = match shared.session_id(&parts).await {
        Ok(sid) => sid,
        Err(rejection) => return reject(&rejection),
    };
    let mut response = switching_protocols(&accept, &parts.headers);
    set_cookie(shared, &sid, &mut response);
    let shared = shared.clone();
    let config = ws_config(&shared);
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::debug!(error = %e, "a WebSocket handshake failed");
                return;
            }
        };
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        let (handle, inbox) = EngineShared::new_channel();
        let new = NewSession {
            sid: sid.clone(),
            remote,
            handle: handle.clone(),
            request: &parts,
        };
        let launch = Launch {
            sid,
            remote,
            opening: Opening::WebSocket {
                ws: Box::new(ws),
                supports_binary,
            },
            channel: (handle, inbox),
            shared: shared.clone(),
        };
        (shared.factory)(new, launch);
        // The upgrade's state (and the request, whose buffer hyper's headers share) is
        // freed: the session runs in a task of its own.
        drop(parts);
    });
    response
}

fn upgrade<B>(
    handle: &SessionHandle,
    mut req: Request<B>,
    shared: &Arc<EngineShared>,
    supports_binary: bool,
) -> Response<ResBody> {
    let Some(accept) = websocket_accept(req.headers()) else {
        return reject(&Rejection::BadRequest(
            engineio_proto::BadRequestReason::TransportHandshakeError,
        ));
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let headers = std::mem::take(req.headers_mut());
    let handle = handle.clone();
    let config = ws_config(shared);
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::debug!(error = %e, "the WebSocket upgrade of a session failed");
                return;
            }
        };
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        handle.send(Input::WebSocket {
            ws: Box::new(ws),
            supports_binary,
        });
    });
    switching_protocols(&accept, &headers)
}

async fn poll(shared: &Arc<EngineShared>, handle: &SessionHandle) -> Response<ResBody> {
    let (reply, rx) = oneshot::channel();
    let req = shared.request_id();
    if !handle.send(Input::Poll { req, reply }) {
        return reject(&Rejection::UnknownSid);
    }
    answered(handle, req, rx).await
}

/// The session's answer to `req`; the session hears of it if the client goes away first.
async fn answered(
    handle: &SessionHandle,
    req: engineio_proto::RequestId,
    rx: oneshot::Receiver<HttpResponse>,
) -> Response<ResBody> {
    let mut guard = AbortGuard {
        handle,
        req,
        armed: true,
    };
    let answer_ = rx.await;
    guard.armed = false;
    answer(answer_)
}

async fn post<B>(
    shared: &Arc<EngineShared>,
    handle: &SessionHandle,
    req: Request<B>,
) -> Response<ResBody>
where
    B: Body<Data = Bytes> + Send + 'static,
{
    let octet_stream = req
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/octet-stream");
    let (reply, rx) = oneshot::channel();
    let id = shared.request_id();
    // The body is read up to the most a session takes (`PostAction::ReadBody`'s limit).
    let body = read_body(req.into_body(), shared.config.protocol.max_payload_len());
    let mut body = std::pin::pin!(body);
    // Nearly always the body came with the head: read at once, both go to the session in one
    // input (one trip to its task instead of two).
    let first = poll_fn(|cx| Poll::Ready(body.as_mut().poll(cx))).await;
    if let Poll::Ready(Some(body)) = first {
        if !handle.send(Input::Post {
            req: id,
            octet_stream,
            reply,
            body,
        }) {
            return reject(&Rejection::UnknownSid);
        }
        return answered(handle, id, rx).await;
    }
    // Else the session decides on the head first (it may answer without the body).
    let (action_tx, action_rx) = oneshot::channel();
    if !handle.send(Input::PostHead {
        req: id,
        octet_stream,
        reply,
        action: action_tx,
    }) {
        return reject(&Rejection::UnknownSid);
    }
    let mut guard = AbortGuard {
        handle,
        req: id,
        armed: true,
    };
    if let Ok(PostAction::ReadBody { limit }) = action_rx.await {
        let body = match (first, shared.config.body_read_timeout) {
            (Poll::Ready(failed), _) => Ok(failed),
            (Poll::Pending, Some(t)) => tokio::time::timeout(t, body).await,
            (Poll::Pending, None) => Ok(body.await),
        };
        match body {
            Ok(Some(mut body)) => {
                // (Read up to the configured limit: the session's own is the one that holds.)
                body.truncate(limit.saturating_add(1));
                handle.send(Input::PostBody { req: id, body });
            }
            // A body that is not HTTP (a malformed chunk) or a client gone mid-body: 400 and
            // the connection closes, as Node's parser answers (nobody reads it in the second
            // case); the guard reports the aborted request to the session.
            Ok(None) => return bad_request_and_close(),
            // A body that does not come: 408 and the connection closes; the guard reports
            // the aborted request to the session.
            Err(_) => {
                tracing::debug!("request body not received in time");
                return request_timeout();
            }
        }
    }
    let answer_ = rx.await;
    guard.armed = false;
    answer(answer_)
}

/// 400, and the connection closes (as Node's HTTP parser answers a malformed request).
fn bad_request_and_close() -> Response<ResBody> {
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .header(header::CONNECTION, "close")
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// 408, and the connection closes (as Node answers a request past its `requestTimeout`).
fn request_timeout() -> Response<ResBody> {
    Response::builder()
        .status(StatusCode::REQUEST_TIMEOUT)
        .header(header::CONNECTION, "close")
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// Reads at most `limit + 1` bytes of a body (more is "too large" already, and is not
/// buffered). `None` if the body fails (malformed, or the client went away).
async fn read_body<B>(body: B, limit: usize) -> Option<Bytes>
where
    B: Body<Data = Bytes>,
{
    let mut body = std::pin::pin!(body);
    // Nearly always one chunk, kept as is; a second starts a buffer the rest is copied into.
    let mut first = Bytes::new();
    let mut joined: Option<BytesMut> = None;
    let mut len = 0;
    while let Some(frame) = body.as_mut().frame().await {
        let Ok(data) = frame.ok()?.into_data() else {
            continue;
        };
        len += data.len();
        match &mut joined {
            Some(buf) => buf.extend_from_slice(&data),
            None if first.is_empty() => first = data,
            None => {
                let mut buf = BytesMut::with_capacity(len);
                buf.extend_from_slice(&first);
                buf.extend_from_slice(&data);
                joined = Some(buf);
            }
        }
        if len > limit {
            break;
        }
    }
    let mut body = joined.map_or(first, BytesMut::freeze);
    body.truncate(limit + 1);
    Some(body)
}

fn answer(reply: Result<HttpResponse, oneshot::error::RecvError>) -> Response<ResBody> {
    let response = reply.unwrap_or(HttpResponse::Reject(Rejection::UnknownSid));
    let mut builder = Response::builder();
    let body = match response {
        // (Static header values: a `&str` would be copied into a new buffer per response.)
        HttpResponse::Payload(body) => {
            return ok_response("text/plain; charset=UTF-8", body);
        }
        HttpResponse::Ok => return ok_response("text/html", Bytes::from_static(b"ok")),
        HttpResponse::Status(status) => {
            builder = builder.status(status);
            Bytes::new()
        }
        HttpResponse::Reject(rejection) => return reject(&rejection),
        _ => {
            builder = builder.status(StatusCode::INTERNAL_SERVER_ERROR);
            Bytes::new()
        }
    };
    builder
        .body(Full::new(body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// 200 with a body of this content type, not to be cached.
fn ok_response(content_type: &'static str, body: Bytes) -> Response<ResBody> {
    let mut response = Response::new(Full::new(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The reference's JSON error response (`abortRequest`).
pub(crate) fn reject(rejection: &Rejection) -> Response<ResBody> {
    tracing::debug!(
        code = rejection.code(),
        message = rejection.message(),
        "request refused"
    );
    let mut response = Response::builder()
        .status(rejection.status())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(rejection.to_json())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
    // For the `connection_error` listeners (taken off before the response goes out).
    response.extensions_mut().insert(rejection.clone());
    response
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// The `Sec-WebSocket-Accept` value, if the request is a valid WebSocket handshake.
fn websocket_accept(headers: &HeaderMap) -> Option<HeaderValue> {
    let version_ok = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v.as_bytes() == b"13");
    let key = headers.get(header::SEC_WEBSOCKET_KEY)?;
    if !version_ok || !is_websocket_key(key.as_bytes()) {
        return None;
    }
    HeaderValue::from_str(&derive_accept_key(key.as_bytes())).ok()
}

/// RFC 6455 §4.1: the key is 16 random bytes in base64, 24 characters ending in `==` (the
/// check of Node's `ws`, which answers anything else 400).
fn is_websocket_key(key: &[u8]) -> bool {
    key.len() == 24
        && key.ends_with(b"==")
        && key[..22]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// The 101 answer to a WebSocket handshake. Of the sub-protocols the client offers, the
/// first is chosen, as the reference's `ws` server does without a `handleProtocols`.
fn switching_protocols(accept: &HeaderValue, request: &HeaderMap) -> Response<ResBody> {
    let mut response = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept.clone());
    let first = request
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').map(str::trim).find(|p| !p.is_empty()))
        .and_then(|p| HeaderValue::from_str(p).ok());
    if let Some(protocol) = first {
        response = response.header(header::SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    response
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// WebSocket limits: a message or frame over `maxPayload` is refused by tungstenite before
/// it is buffered, and reported to the session as too large.
///
/// The read buffer is allocated (and zero-filled) for every connection up front, so it is
/// what an idle connection costs most: 512 bytes instead of tungstenite's 128 KiB default
/// (`scripts/bench-server-memory`: ~150 KB per idle connection with 128 KiB, ~21.7 KB with
/// 4 KiB, 5.44 KiB with 1 KiB, ~0.5 KiB less with 512 bytes). Socket.IO messages are mostly
/// smaller; a larger one still gets a buffer of its own size (reserved once its frame
/// header is read), only read from the socket 512 bytes per call.
fn ws_config(shared: &EngineShared) -> WebSocketConfig {
    let max = shared.config.protocol.max_payload_len();
    WebSocketConfig::default()
        .read_buffer_size(512)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}
