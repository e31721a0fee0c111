//! Request classification from the request head alone, PROTOCOL.md §1.1 and §1.9.
//!
//! [`classify`] runs the reference's `verify` checks in the reference's order and tells the
//! driver whether a request opens a new session, belongs to one, or must be rejected with
//! one of the error codes 0–5. The session-table lookup stays with the driver: an unknown
//! sid is [`Rejection::UnknownSid`].

use std::borrow::Cow;

use crate::config::ServerConfig;
use crate::sid::Sid;

/// The HTTP method of a request, as far as Engine.IO cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// `GET`: handshake, poll, or WebSocket upgrade.
    Get,
    /// `POST`: data from the client.
    Post,
    /// `OPTIONS`: CORS preflight (answered by the driver when CORS is on).
    Options,
    /// Any other method.
    Other,
}

impl Method {
    /// The method for its name (`"GET"`, `"POST"`, …).
    pub fn from_name(name: &str) -> Self {
        match name {
            "GET" => Self::Get,
            "POST" => Self::Post,
            "OPTIONS" => Self::Options,
            _ => Self::Other,
        }
    }
}

/// The two transports that go through HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::exhaustive_enums)] // WebTransport never goes through HTTP verify
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// The transport's name in the `transport` query parameter.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::WebSocket => "websocket",
        }
    }
}

/// The parts of an HTTP request head that Engine.IO looks at.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct RequestHead<'a> {
    /// The method.
    pub method: Method,
    /// The query string, without the `?`.
    pub query: &'a str,
    /// The `Origin` header, if any.
    pub origin: Option<&'a [u8]>,
    /// True when the request asks for a WebSocket upgrade (`Upgrade: websocket`).
    pub websocket_upgrade: bool,
}

impl<'a> RequestHead<'a> {
    /// A request head with no `Origin` header.
    pub fn new(method: Method, query: &'a str, websocket_upgrade: bool) -> Self {
        Self {
            method,
            query,
            origin: None,
            websocket_upgrade,
        }
    }

    /// Sets the `Origin` header.
    pub fn with_origin(mut self, origin: &'a [u8]) -> Self {
        self.origin = Some(origin);
        self
    }
}

/// Where a valid request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route {
    /// No `sid`: a new session on this transport.
    Handshake {
        /// The transport of the new session.
        transport: TransportKind,
        /// False when the client sent `b64` (binary as base64 text over WebSocket).
        supports_binary: bool,
    },
    /// A request for the session `sid`, if the driver knows it (else reject with
    /// [`Rejection::UnknownSid`]); check it with [`crate::ServerSession::verify`].
    Session {
        /// The session id.
        sid: Sid,
        /// What the request asks of the session.
        request: SessionRequest,
        /// False when the client sent `b64`.
        supports_binary: bool,
        /// True when `EIO=4` (a session request with another revision is a protocol
        /// mismatch).
        eio4: bool,
    },
}

/// What a request for an existing session asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionRequest {
    /// A polling `GET`.
    Poll,
    /// A polling `POST`.
    Post,
    /// A WebSocket upgrade with this sid (an upgrade from polling).
    WebSocket,
    /// A polling request with another method: answered 500, the session is kept.
    OtherMethod,
}

/// Why a request is refused, with the reference's code, message and HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// Code 0: `transport` missing, unknown, or not enabled.
    UnknownTransport,
    /// Code 1: the `sid` names no live session.
    UnknownSid,
    /// Code 2: a handshake with another method than `GET`.
    BadHandshakeMethod,
    /// Code 3: a bad request, for the given reason.
    BadRequest(BadRequestReason),
    /// Code 4 (HTTP 403): refused by the application (`allowRequest`), with its message.
    Forbidden(Option<Cow<'static, str>>),
    /// Code 5: `EIO` is not `4`.
    UnsupportedProtocolVersion,
}

/// The reasons behind a code-3 "Bad request" (the reference's error context name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BadRequestReason {
    /// `INVALID_ORIGIN`: the `Origin` header has invalid characters.
    InvalidOrigin,
    /// `TRANSPORT_MISMATCH`: a request for a session on another transport, not an upgrade
    /// (e.g. polling after the upgrade to WebSocket).
    TransportMismatch,
    /// `PROTOCOL_MISMATCH`: a request whose `EIO` differs from the session's.
    ProtocolMismatch,
    /// `TRANSPORT_HANDSHAKE_ERROR`: a WebSocket handshake over a plain GET.
    TransportHandshakeError,
    /// `MIDDLEWARE_FAILURE`: an Engine.IO-level middleware refused the request.
    MiddlewareFailure,
    /// `ID_GENERATION_ERROR`: the application's id generator (`generateId`) failed or
    /// chose an id that cannot be one (or is in use).
    IdGenerationError,
}

impl Rejection {
    /// The reference's error code, 0–5.
    pub fn code(&self) -> u8 {
        match self {
            Self::UnknownTransport => 0,
            Self::UnknownSid => 1,
            Self::BadHandshakeMethod => 2,
            Self::BadRequest(_) => 3,
            Self::Forbidden(_) => 4,
            Self::UnsupportedProtocolVersion => 5,
        }
    }

    /// The reference's message for this error.
    pub fn message(&self) -> &str {
        match self {
            Self::UnknownTransport => "Transport unknown",
            Self::UnknownSid => "Session ID unknown",
            Self::BadHandshakeMethod => "Bad handshake method",
            Self::BadRequest(_) => "Bad request",
            Self::Forbidden(Some(message)) => message,
            Self::Forbidden(None) => "Forbidden",
            Self::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The HTTP status: 403 for code 4, 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Self::Forbidden(_) => 403,
            _ => 400,
        }
    }

    /// The JSON body `{"code":N,"message":"…"}` (served as `application/json`).
    #[allow(
        clippy::expect_used,
        reason = "an invariant of our own encoding, said at the call; never peer input"
    )]
    pub fn to_json(&self) -> String {
        let message = serde_json::to_string(self.message()).expect("a str always serializes");
        format!("{{\"code\":{},\"message\":{message}}}", self.code())
    }
}

/// Classifies a request by its head, in the reference's `verify` order (PROTOCOL.md §1.9):
/// transport, Origin, then either the session (`sid`) or the handshake checks (method,
/// WebSocket over plain GET, `EIO`).
///
/// `allowRequest` ([`Rejection::Forbidden`]) is the driver's to run between a `Handshake`
/// route and opening the session.
///
/// ```
/// use engineio_proto::{classify, Method, RequestHead, Rejection, Route, ServerConfig, TransportKind};
///
/// let config = ServerConfig::default();
/// let head = RequestHead::new(Method::Get, "EIO=4&transport=polling&t=N8hyd6w", false);
/// assert_eq!(
///     classify(&head, &config),
///     Ok(Route::Handshake { transport: TransportKind::Polling, supports_binary: true })
/// );
/// let head = RequestHead::new(Method::Get, "transport=polling", false);
/// assert_eq!(classify(&head, &config), Err(Rejection::UnsupportedProtocolVersion));
/// ```
pub fn classify(head: &RequestHead<'_>, config: &ServerConfig) -> Result<Route, Rejection> {
    let query = Query::parse(head.query);
    let transports = config.transports_value();
    let transport = match query.transport.as_deref() {
        Some("polling") if transports.polling => TransportKind::Polling,
        Some("websocket") if transports.websocket => TransportKind::WebSocket,
        _ => return Err(Rejection::UnknownTransport),
    };
    if head.origin.is_some_and(|o| !is_valid_header_value(o)) {
        return Err(Rejection::BadRequest(BadRequestReason::InvalidOrigin));
    }
    // `!req._query.b64`: any non-empty value means the client cannot receive binary.
    let supports_binary = query.b64.as_deref().is_none_or(str::is_empty);
    let eio4 = query.eio.as_deref() == Some("4");
    if let Some(sid) = query.sid {
        let sid = Sid::parse(&sid).ok_or(Rejection::UnknownSid)?;
        let request = match (head.method, head.websocket_upgrade) {
            (Method::Get, true) => SessionRequest::WebSocket,
            (Method::Get, false) => SessionRequest::Poll,
            (Method::Post, _) => SessionRequest::Post,
            (Method::Options | Method::Other, _) => SessionRequest::OtherMethod,
        };
        return Ok(Route::Session {
            sid,
            request,
            supports_binary,
            eio4,
        });
    }
    if head.method != Method::Get {
        return Err(Rejection::BadHandshakeMethod);
    }
    if transport == TransportKind::WebSocket && !head.websocket_upgrade {
        return Err(Rejection::BadRequest(
            BadRequestReason::TransportHandshakeError,
        ));
    }
    if !eio4 {
        return Err(Rejection::UnsupportedProtocolVersion);
    }
    Ok(Route::Handshake {
        transport,
        supports_binary,
    })
}

/// The query parameters Engine.IO reads (the first occurrence of each, percent-decoded).
#[derive(Default)]
struct Query<'a> {
    eio: Option<Cow<'a, str>>,
    transport: Option<Cow<'a, str>>,
    sid: Option<Cow<'a, str>>,
    b64: Option<Cow<'a, str>>,
}

impl<'a> Query<'a> {
    fn parse(query: &'a str) -> Self {
        let mut q = Self::default();
        // Most queries have nothing to decode (the cache buster `t` included): looked for
        // once in the whole query, byte by byte, not per pair.
        let plain = !query.bytes().any(|b| b == b'%' || b == b'+');
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            // As `form_urlencoded::parse` reads it, which decodes only the pairs that need it.
            let (key, value) = if !plain && pair.contains(['%', '+']) {
                match form_urlencoded::parse(pair.as_bytes()).next() {
                    Some((key, value)) => (key, value),
                    None => continue,
                }
            } else {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (Cow::Borrowed(key), Cow::Borrowed(value))
            };
            let slot = match &*key {
                "EIO" => &mut q.eio,
                "transport" => &mut q.transport,
                "sid" => &mut q.sid,
                "b64" => &mut q.b64,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        q
    }
}

/// Node's `checkInvalidHeaderChar`: a header value is visible ASCII, space, tab, or
/// obs-text (0x80–0xff).
fn is_valid_header_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
}

/// Checks the `EIO` revision of a request for a known session ([`Route::Session`]'s `eio4`):
/// a session of this server speaks v4 only. Checked after the sid is found (an unknown sid
/// is [`Rejection::UnknownSid`] whatever the revision), by [`crate::ServerSession::verify`]
/// or by a driver that answers before it reaches the session (a WebSocket upgrade).
///
/// ```
/// use engineio_proto::{check_session_revision, BadRequestReason, Rejection};
///
/// assert_eq!(check_session_revision(true), Ok(()));
/// assert_eq!(
///     check_session_revision(false),
///     Err(Rejection::BadRequest(BadRequestReason::ProtocolMismatch))
/// );
/// ```
pub fn check_session_revision(eio4: bool) -> Result<(), Rejection> {
    if eio4 {
        Ok(())
    } else {
        Err(Rejection::BadRequest(BadRequestReason::ProtocolMismatch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference reading of a query: `form_urlencoded::parse`, the first of each key.
    fn reference(query: &str) -> [Option<String>; 4] {
        let mut found: [Option<String>; 4] = Default::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let i = match &*key {
                "EIO" => 0,
                "transport" => 1,
                "sid" => 2,
                "b64" => 3,
                _ => continue,
            };
            found[i].get_or_insert_with(|| value.into_owned());
        }
        found
    }

    proptest::proptest! {
        /// The query is read as `form_urlencoded` reads it, plain pairs without decoding.
        #[test]
        fn the_query_reads_as_form_urlencoded_reads_it(
            pairs in proptest::collection::vec(
                (
                    proptest::sample::select(vec!["EIO", "transport", "sid", "b64", "t", "E%49O", "s+id", "", "sid="]),
                    "[a-z0-9%+=&é]{0,6}",
                ),
                0..6,
            ),
            joiner in proptest::sample::select(vec!["&", "&&", "=&"]),
        ) {
            let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let query = query.join(joiner);
            let ours = Query::parse(&query);
            let ours = [ours.eio, ours.transport, ours.sid, ours.b64]
                .map(|v| v.map(Cow::into_owned));
            proptest::prop_assert_eq!(ours, reference(&query), "{}", query);
        }
    }

    fn get(query: &str) -> Result<Route, Rejection> {
        classify(
            &RequestHead::new(Method::Get, query, false),
            &ServerConfig::default(),
        )
    }

    #[test]
    fn fails_with_an_invalid_eio_query_parameter() {
        for q in [
            "transport=polling",
            "EIO=abc&transport=polling",
            "EIO=3&transport=polling",
            "EIO=5&transport=polling",
        ] {
            let rejection = get(q).unwrap_err();
            assert_eq!(rejection, Rejection::UnsupportedProtocolVersion, "{q}");
            assert_eq!(
                rejection.to_json(),
                r#"{"code":5,"message":"Unsupported protocol version"}"#
            );
            assert_eq!(rejection.status(), 400);
        }
    }

    #[test]
    fn fails_with_an_invalid_transport_query_parameter() {
        for q in [
            "EIO=4",
            "EIO=4&transport=abc",
            "EIO=4&transport=constructor",
            "EIO=4&transport=webtransport",
        ] {
            assert_eq!(get(q), Err(Rejection::UnknownTransport), "{q}");
        }
        assert_eq!(
            Rejection::UnknownTransport.to_json(),
            r#"{"code":0,"message":"Transport unknown"}"#
        );
    }

    #[test]
    fn fails_with_an_invalid_request_method() {
        let config = ServerConfig::default();
        for method in [Method::Post, Method::Other, Method::Options] {
            let head = RequestHead::new(method, "EIO=4&transport=polling", false);
            assert_eq!(classify(&head, &config), Err(Rejection::BadHandshakeMethod));
        }
        assert_eq!(
            Rejection::BadHandshakeMethod.to_json(),
            r#"{"code":2,"message":"Bad handshake method"}"#
        );
    }

    #[test]
    fn rejects_a_websocket_handshake_over_a_plain_get() {
        assert_eq!(
            get("EIO=4&transport=websocket"),
            Err(Rejection::BadRequest(
                BadRequestReason::TransportHandshakeError
            ))
        );
    }

    #[test]
    fn rejects_a_disabled_transport_as_unknown() {
        let mut config = ServerConfig::default();
        config.transports(crate::Transports::WEBSOCKET);
        let head = RequestHead::new(Method::Get, "EIO=4&transport=polling", false);
        assert_eq!(classify(&head, &config), Err(Rejection::UnknownTransport));
    }

    #[test]
    fn rejects_an_origin_with_invalid_characters() {
        let head = RequestHead::new(Method::Get, "EIO=4&transport=polling", false)
            .with_origin(b"http://a\x01b");
        assert_eq!(
            classify(&head, &ServerConfig::default()),
            Err(Rejection::BadRequest(BadRequestReason::InvalidOrigin))
        );
    }

    #[test]
    fn routes_requests_with_a_sid_to_the_session() {
        assert_eq!(
            get("EIO=4&transport=polling&sid=lv_VI97HAXpY6yYWAAAC&b64=1"),
            Ok(Route::Session {
                sid: Sid::parse("lv_VI97HAXpY6yYWAAAC").unwrap(),
                request: SessionRequest::Poll,
                supports_binary: false,
                eio4: true,
            })
        );
        assert_eq!(
            get("EIO=4&transport=polling&sid=no%20pe"),
            Err(Rejection::UnknownSid)
        );
        assert_eq!(
            Rejection::UnknownSid.to_json(),
            r#"{"code":1,"message":"Session ID unknown"}"#
        );
    }

    #[test]
    fn a_forbidden_request_is_a_403_with_the_application_message() {
        let r = Rejection::Forbidden(Some("no thanks".into()));
        assert_eq!((r.status(), r.code()), (403, 4));
        assert_eq!(r.to_json(), r#"{"code":4,"message":"no thanks"}"#);
    }
}
