//! A socket: one client's connection to one namespace.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Uri};
use serde::Serialize;
use serde::de::DeserializeOwned;
use socketio_proto::endpoint::server::{
    CommandError, SharedFrames, ack_frames, check_event_name, event_frames,
};
use socketio_proto::server::SocketId;
use socketio_proto::{AckId, Namespace, ParserKind, Payload};
use tokio::sync::oneshot;

use crate::broadcast::{BroadcastOperator, IntoRooms};
use crate::engine::{
    CloseReason, ConnListener, Input, Packet, Sent, SessionHandle, SlowClientPolicy,
};
use crate::error::{AckError, EmitError};
use socketio_proto::Value;
use socketio_proto::args::EventData;
use socketio_proto::listeners::{AnyListeners, EventListeners, ListenerId};

/// A listener of events, boxed.
fn event_handler<F, Fut>(handler: F) -> EventHandler
where
    F: Fn(Socket, Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |s, m| Box::pin(handler(s, m)))
}

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// An event handler: called with the socket and the event, in arrival order.
pub(crate) type EventHandler = Arc<dyn Fn(Socket, Message) -> BoxFuture + Send + Sync>;
/// A disconnect handler.
pub(crate) type DisconnectHandler = Arc<dyn Fn(Socket, String) -> BoxFuture + Send + Sync>;
/// A per-event middleware: hands the event on (rewritten or not), or refuses it.
pub(crate) type EventMiddleware = Arc<
    dyn Fn(
            Socket,
            Message,
        ) -> Pin<Box<dyn Future<Output = Result<Message, MiddlewareError>> + Send>>
        + Send
        + Sync,
>;
/// A listener of the connection's upgrade to WebSocket.
pub(crate) type UpgradeHandler = Arc<dyn Fn(Socket) -> BoxFuture + Send + Sync>;
/// A listener of the errors of the event middlewares.
pub(crate) type ErrorHandler = Arc<dyn Fn(Socket, SocketError) -> BoxFuture + Send + Sync>;
/// A listener of the events the socket sends.
pub(crate) type OutgoingListener = Arc<dyn Fn(&Socket, &str, &Payload) + Send + Sync>;

/// What an event middleware ([`Socket::use_middleware`]) returns to refuse an event: any
/// error (`Err("unauthorized event".into())` makes one from a string).
pub type MiddlewareError = Box<dyn std::error::Error + Send + Sync>;

/// An error reported to the socket's error listeners ([`Socket::on_error`]): shared, as
/// every listener gets it.
pub type SocketError = Arc<dyn std::error::Error + Send + Sync>;

/// The request that opened the connection, as the reference's `socket.handshake`.
///
/// The request part is shared by every socket of the connection; only `auth` is per socket.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Handshake {
    pub(crate) base: Arc<HandshakeBase>,
    /// The `auth` object of the CONNECT packet (`{}` when absent).
    pub auth: Value,
}

/// The part of the handshake common to the sockets of one connection.
#[derive(Debug)]
pub(crate) struct HandshakeBase {
    /// The request's headers as `name:value\n` lines in one buffer (a name holds no `:`,
    /// neither holds a line feed): what an idle connection keeps of them.
    raw_headers: Bytes,
    /// The headers as a map, built from `raw_headers` when first asked for (its values share
    /// the buffer): a connection whose headers nobody reads never pays for a map. (Boxed:
    /// a map is 96 bytes, held by every connection.)
    headers: OnceLock<Box<HeaderMap>>,
    pub(crate) url: Uri,
    pub(crate) address: Option<std::net::SocketAddr>,
    /// The Engine.IO session id (`socket.conn.id`), when known.
    pub(crate) engine_id: Option<engineio_proto::Sid>,
    pub(crate) secure: bool,
    pub(crate) time: SystemTime,
}

impl HandshakeBase {
    /// Copies what the handshake keeps out of the request, so that the request's buffer
    /// (which hyper's parsed headers share) is not kept alive for the connection's lifetime.
    pub(crate) fn from_request(
        request: &http::request::Parts,
        address: Option<std::net::SocketAddr>,
    ) -> Self {
        let size = request
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 2)
            .sum();
        let mut raw = Vec::with_capacity(size);
        for (name, value) in &request.headers {
            raw.extend_from_slice(name.as_str().as_bytes());
            raw.push(b':');
            raw.extend_from_slice(value.as_bytes());
            raw.push(b'\n');
        }
        // (A copy: the request's shares hyper's read buffer. The path and query alone when
        // that is all it has, the usual case, without formatting it.)
        let uri = &request.uri;
        let url = match uri.path_and_query() {
            Some(pq) if uri.scheme().is_none() && uri.authority().is_none() => {
                Uri::from_maybe_shared(Bytes::copy_from_slice(pq.as_str().as_bytes()))
            }
            _ => uri.to_string().parse(),
        }
        .unwrap_or_else(|_| Uri::from_static("/"));
        Self {
            raw_headers: Bytes::from(raw),
            headers: OnceLock::new(),
            url,
            address,
            engine_id: None,
            secure: request.uri.scheme_str() == Some("https")
                || request.extensions.get::<crate::engine::Secure>().is_some(),
            time: SystemTime::now(),
        }
    }

    /// The request headers (the map is built on the first call).
    pub(crate) fn headers(&self) -> &HeaderMap {
        self.headers.get_or_init(|| {
            let raw = &self.raw_headers;
            let mut map = Box::new(HeaderMap::with_capacity(
                raw.iter().filter(|&&b| b == b'\n').count(),
            ));
            let mut start = 0;
            while let Some(len) = raw[start..].iter().position(|&b| b == b'\n') {
                let line = &raw[start..start + len];
                if let Some(colon) = line.iter().position(|&b| b == b':') {
                    // (Both were a header of the request: they parse again.)
                    if let (Ok(name), Ok(value)) = (
                        http::HeaderName::from_bytes(&line[..colon]),
                        http::HeaderValue::from_maybe_shared(
                            raw.slice(start + colon + 1..start + len),
                        ),
                    ) {
                        map.append(name, value);
                    }
                }
                start += len + 1;
            }
            map
        })
    }
}

impl Handshake {
    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        self.base.headers()
    }

    /// The request URI (its query holds the client's query parameters).
    pub fn url(&self) -> &Uri {
        &self.base.url
    }

    /// The peer address, when known.
    pub fn address(&self) -> Option<std::net::SocketAddr> {
        self.base.address
    }

    /// True for HTTPS / WSS: an `https` request URI (HTTP/2), or the
    /// [`Secure`](crate::engine::Secure) marker in the request's extensions (HTTP/1.1 behind
    /// a TLS listener of the application's stack).
    pub fn secure(&self) -> bool {
        self.base.secure
    }

    /// When the connection was opened.
    pub fn time(&self) -> SystemTime {
        self.base.time
    }

    /// When the connection was opened, in milliseconds since the Unix epoch
    /// (`handshake.issued`).
    pub fn issued(&self) -> u64 {
        self.base
            .time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// True when the request came with an `Origin` header (`handshake.xdomain`).
    pub fn xdomain(&self) -> bool {
        self.base.headers().contains_key(http::header::ORIGIN)
    }

    /// The query parameters, decoded.
    pub fn query(&self) -> HashMap<String, String> {
        form_urlencoded::parse(self.base.url.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect()
    }

    /// Node's `socket.handshake` object for this handshake: header names in lower case with
    /// repeated values joined by `", "` (`set-cookie` as an array), the time as
    /// `Date.toString()` writes it in UTC, `xdomain` when an `Origin` header came, and the
    /// query in request order.
    pub(crate) fn to_cluster(&self) -> socketio_proto::cluster::Handshake {
        let mut headers: Vec<(String, Value)> = Vec::new();
        let all = self.base.headers();
        for name in all.keys() {
            let values: Vec<String> = all
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            let value = if name == http::header::SET_COOKIE {
                Value::Array(values.into_iter().map(Value::String).collect())
            } else {
                Value::String(values.join(", "))
            };
            headers.push((name.as_str().to_owned(), value));
        }
        let query = form_urlencoded::parse(self.base.url.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        let issued = self.issued();
        let mut h = socketio_proto::cluster::Handshake::default();
        h.headers = Value::Object(headers);
        h.time = js_date_string(issued / 1000);
        h.address = self
            .base
            .address
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        h.xdomain = all.contains_key(http::header::ORIGIN);
        h.secure = self.base.secure;
        h.issued = issued;
        h.url = self
            .base
            .url
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        h.query = Value::Object(query);
        h.auth = if self.auth == Value::Null {
            Value::Object(Vec::new())
        } else {
            self.auth.clone()
        };
        h
    }
}

/// `new Date(secs * 1000).toString()` as Node writes it in UTC, e.g.
/// `Thu Jan 01 2026 00:00:00 GMT+0000 (Coordinated Universal Time)`.
fn js_date_string(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{} {} {:02} {} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        year,
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// A [`Value`] read as `T` (through its JSON form, binary as attachments).
pub(crate) fn value_into<T: DeserializeOwned>(
    value: &Value,
) -> Result<T, socketio_proto::PayloadError> {
    Payload::json(value)
        .map_err(|e| socketio_proto::PayloadError::Deserialize(e.to_string()))?
        .deserialize()
}

#[cfg(test)]
mod tests {
    use super::{HandshakeBase, js_date_string};

    /// The headers kept as lines and read back as a map are the request's: repeated names
    /// in order, values holding a colon, empty values, bytes beyond ASCII.
    #[test]
    fn handshake_headers_read_back_as_the_request_had_them() {
        let request = http::Request::builder()
            .uri("/socket.io/?EIO=4&transport=websocket")
            .header("host", "127.0.0.1:3000")
            .header("cookie", "a=1; b=2")
            .header("set-cookie", "x=1")
            .header("set-cookie", "y=2")
            .header("x-time", "12:34:56")
            .header("x-empty", "")
            .header(
                "x-latin",
                http::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
            )
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let base = HandshakeBase::from_request(&parts, None);
        assert_eq!(base.headers(), &parts.headers);
        assert_eq!(base.url, parts.uri);
        let cookies: Vec<_> = base.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["x=1", "y=2"]);
    }

    #[test]
    fn handshake_time_is_written_as_node_writes_a_date_in_utc() {
        assert_eq!(
            js_date_string(1_767_225_600),
            "Thu Jan 01 2026 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date_string(1_796_646_896),
            "Mon Dec 07 2026 12:34:56 GMT+0000 (Coordinated Universal Time)"
        );
    }
}

/// One event received from the client.
#[derive(Debug)]
pub struct Message {
    pub(crate) event: String,
    pub(crate) payload: Payload,
    pub(crate) ack: Option<AckSender>,
}

impl Message {
    /// The event name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The arguments, deserialized: a tuple such as `(String, u32)` for two arguments, or
    /// `Vec<Value>` for any number of arguments of any type. Binary arguments go into
    /// [`Bytes`](bytes::Bytes) fields (or [`Value::Binary`]). What JavaScript sends and Rust
    /// cannot hold comes as the nearest value: a lone UTF-16 surrogate as U+FFFD, a number
    /// beyond `f64` (`Infinity` to JavaScript) as `null`.
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, socketio_proto::PayloadError> {
        // What JavaScript accepts and Rust cannot hold (a lone surrogate, a number beyond
        // f64) arrives as U+FFFD and null rather than as an error.
        self.payload.event_args_lossy()
    }

    /// The first argument, the others ignored (a JavaScript listener's `(value) => …`),
    /// without the 1-tuple [`Message::args`] needs for one argument.
    ///
    /// ```no_run
    /// # fn f(socket: socketio_server::Socket) {
    /// socket.on("chat", |_socket, msg| async move {
    ///     let Ok(text) = msg.arg::<String>() else { return };
    ///     println!("chat: {text}");
    /// });
    /// # }
    /// ```
    pub fn arg<T: DeserializeOwned>(&self) -> Result<T, socketio_proto::PayloadError> {
        self.payload
            .event_args_lossy::<socketio_proto::args::First<T>>()
            .map(|first| first.0)
    }

    /// The raw payload `[event, ...args]`.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// True if the client waits for an acknowledgement.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Takes the acknowledgement callback, if the client asked for one.
    pub fn take_ack(&mut self) -> Option<AckSender> {
        self.ack.take()
    }

    /// Acknowledges the event with `args` (a tuple spreads into several arguments); does
    /// nothing if the client did not ask for an ack, or if another listener of the event
    /// answered it first (only the first answer is sent, as the reference's).
    pub fn ack<T: Serialize + ?Sized>(&mut self, args: &T) -> Result<(), EmitError> {
        match self.ack.take() {
            Some(ack) => ack.send(args),
            None => Ok(()),
        }
    }

    /// Replaces the arguments, the name kept (an event middleware rewriting the event for the
    /// listeners after it, as the reference's middlewares change the packet's array).
    ///
    /// ```
    /// # fn f(socket: socketio_server::Socket) {
    /// socket.use_middleware(|_socket, mut msg| async move {
    ///     if msg.event() == "chat" {
    ///         let (text,): (String,) = msg.args()?;
    ///         msg.set_args(&(text.trim(),))?;
    ///     }
    ///     Ok(msg)
    /// });
    /// # }
    /// ```
    pub fn set_args<T: Serialize + ?Sized>(&mut self, args: &T) -> Result<(), EmitError> {
        self.payload = Payload::new(
            self.payload.format(),
            &EventData {
                name: &self.event,
                args,
            },
        )?;
        Ok(())
    }

    /// Renames the event, the arguments kept (for the listeners after the middleware that
    /// calls it).
    pub fn set_event(&mut self, event: impl Into<String>) -> Result<(), EmitError> {
        let event = event.into();
        let args: Vec<Value> = self.payload.event_args_lossy().map_err(|e| {
            EmitError::Encode(socketio_proto::EncodeError::Serialize(e.to_string()))
        })?;
        self.payload = Payload::new(
            self.payload.format(),
            &EventData {
                name: &event,
                args: &socketio_proto::Spread(&args),
            },
        )?;
        self.event = event;
        Ok(())
    }

    /// Makes the acknowledgement shared by the copies [`Message::dup`] makes.
    pub(crate) fn share(&mut self) {
        if let Some(ack) = &mut self.ack {
            ack.sent.get_or_insert_with(Arc::default);
        }
    }

    /// A copy for another listener of the same event, answering the same acknowledgement
    /// (after [`Message::share`]: the first answer is sent, the others are ignored).
    pub(crate) fn dup(&self) -> Self {
        Self {
            event: self.event.clone(),
            payload: self.payload.clone(),
            ack: self.ack.as_ref().and_then(|ack| {
                ack.sent.as_ref().map(|sent| AckSender {
                    socket: ack.socket.clone(),
                    id: ack.id,
                    sent: Some(sent.clone()),
                })
            }),
        }
    }
}

/// Answers one event of the client (the callback of `socket.emit("ev", ..., cb)`).
#[derive(Debug)]
pub struct AckSender {
    socket: Socket,
    id: AckId,
    /// Set when several listeners of the event hold the acknowledgement: the first sends.
    sent: Option<Arc<AtomicBool>>,
}

impl AckSender {
    /// Sends the acknowledgement with `args` (a tuple spreads into several arguments);
    /// does nothing when another listener of the event answered first.
    pub fn send<T: Serialize + ?Sized>(self, args: &T) -> Result<(), EmitError> {
        if let Some(sent) = &self.sent
            && sent.swap(true, Ordering::AcqRel)
        {
            return Ok(());
        }
        let inner = &self.socket.inner;
        let frames = ack_frames(inner.parser, &inner.nsp, self.id, args).map_err(emit_error)?;
        inner.send_frames(&frames, false)
    }
}

/// The answer to an event we emitted with an acknowledgement.
#[derive(Debug)]
pub struct AckResponse {
    payload: Option<Payload>,
}

impl AckResponse {
    /// The arguments of the acknowledgement, deserialized (see [`Message::args`]).
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, AckError> {
        match &self.payload {
            Some(p) => p.deserialize_lossy().map_err(AckError::Payload),
            None => serde_json::from_str("[]").map_err(|_| AckError::Disconnected),
        }
    }
}

pub(crate) type AckReply = oneshot::Sender<Result<AckResponse, AckError>>;

pub(crate) fn ack_response(payload: Option<Payload>) -> AckResponse {
    AckResponse { payload }
}

/// Commands a socket sends to its connection task.
pub(crate) enum Command {
    EmitWithAck {
        nsp: Namespace,
        payload: Payload,
        timeout: Option<Duration>,
        reply: AckReply,
    },
    Disconnect {
        nsp: Namespace,
    },
    Close,
    /// Closes the Engine.IO connection only, without DISCONNECT (`socket.conn.close()`).
    CloseTransport,
    /// The server shuts down: every socket disconnects with "server shutting down".
    Shutdown,
    /// The application listens to the connection's Engine.IO events: the session reports
    /// them from now on.
    ObserveEngine,
}

/// The listeners of a socket. Those of incoming events and of disconnection are used by
/// most applications; the rest waits behind one pointer.
#[derive(Default)]
pub(crate) struct Handlers {
    pub(crate) events: EventListeners<EventHandler>,
    pub(crate) any: AnyListeners<EventHandler>,
    pub(crate) disconnect: AnyListeners<DisconnectHandler>,
    pub(crate) rare: Option<Box<RareHandlers>>,
}

#[derive(Default)]
pub(crate) struct RareHandlers {
    pub(crate) upgrade: AnyListeners<UpgradeHandler>,
    pub(crate) disconnecting: AnyListeners<DisconnectHandler>,
    pub(crate) middleware: Vec<EventMiddleware>,
    pub(crate) error: AnyListeners<ErrorHandler>,
    pub(crate) outgoing: AnyListeners<OutgoingListener>,
}

impl Handlers {
    pub(crate) fn rare(&mut self) -> &mut RareHandlers {
        self.rare.get_or_insert_with(Box::default)
    }

    /// The listeners of an event named after one of the socket's own events (`disconnect`,
    /// `disconnecting`, `error`), holding `id`: `off` and `listeners` reach them by that name.
    fn own_ids(&self, event: &str) -> Option<Vec<ListenerId>> {
        let rare = self.rare.as_deref();
        match event {
            "disconnect" => Some(self.disconnect.ids()),
            "disconnecting" => Some(rare.map(|r| r.disconnecting.ids()).unwrap_or_default()),
            "error" => Some(rare.map(|r| r.error.ids()).unwrap_or_default()),
            "upgrade" => Some(rare.map(|r| r.upgrade.ids()).unwrap_or_default()),
            _ => None,
        }
    }

    fn off_own(&mut self, event: &str, id: ListenerId) -> bool {
        let rare = self.rare.as_deref_mut();
        match event {
            "disconnect" => self.disconnect.off(id),
            "disconnecting" => rare.is_some_and(|r| r.disconnecting.off(id)),
            "error" => rare.is_some_and(|r| r.error.off(id)),
            "upgrade" => rare.is_some_and(|r| r.upgrade.off(id)),
            _ => false,
        }
    }

    fn remove_own(&mut self, event: Option<&str>) {
        let all = event.is_none();
        let event = event.unwrap_or_default();
        if all || event == "disconnect" {
            self.disconnect.clear();
        }
        if let Some(rare) = self.rare.as_deref_mut() {
            if all || event == "disconnecting" {
                rare.disconnecting.clear();
            }
            if all || event == "error" {
                rare.error.clear();
            }
            if all || event == "upgrade" {
                rare.upgrade.clear();
            }
        }
    }
}

pub(crate) struct SocketInner {
    pub(crate) id: OnceLock<SocketId>,
    pub(crate) nsp: Namespace,
    pub(crate) handle: SessionHandle,
    pub(crate) parser: ParserKind,
    pub(crate) handshake: Arc<Handshake>,
    pub(crate) handlers: Mutex<Handlers>,
    pub(crate) extensions: Mutex<http::Extensions>,
    /// `socket.data`: serializable, so that other nodes of a cluster can read it.
    /// (Boxed: an idle socket without data pays one pointer.)
    pub(crate) data: Mutex<Option<Box<Value>>>,
    /// The private session id (connection state recovery).
    pub(crate) pid: OnceLock<Box<str>>,
    /// True when this socket recovered a previous session.
    pub(crate) recovered: AtomicBool,
    /// Connection state recovery is on in its namespace: emits go through the adapter (read
    /// here, so that an emit without recovery does not touch the namespace).
    pub(crate) recovery: bool,
    pub(crate) connected: AtomicBool,
    /// True while the socket has listeners of its outgoing events (read on every emit).
    pub(crate) outgoing: AtomicBool,
    /// The rooms of this socket (kept by the adapter), its own room aside.
    pub(crate) rooms: Mutex<Vec<String>>,
    /// True once the socket left the namespace and all its rooms.
    pub(crate) left: AtomicBool,
    pub(crate) ns: std::sync::Weak<crate::io::NamespaceInner>,
}

impl SocketInner {
    pub(crate) fn rooms_mut(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The frames of EVENT `[event, ...args]` for this socket's namespace (encoded here,
    /// in the emitting task, by the proto layer, which refuses reserved names).
    fn event_frames<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<SharedFrames, EmitError> {
        event_frames(self.parser, &self.nsp, event, args).map_err(emit_error)
    }

    /// Queues frames on the session, in order.
    fn send_frames(&self, frames: &SharedFrames, volatile: bool) -> Result<(), EmitError> {
        let (max_buffered, policy) = self.limits();
        sent_result(
            self.handle
                .send_frames(frames, volatile, max_buffered, policy),
        )
    }

    /// Like [`SocketInner::send_frames`], waiting for room in a slow client's buffer under
    /// [`SlowClientPolicy::Backpressure`].
    async fn send_frames_wait(&self, frames: &SharedFrames) -> Result<(), EmitError> {
        match self.limits() {
            (max_buffered, SlowClientPolicy::Backpressure) => sent_result(
                self.handle
                    .send_frames_wait(frames, false, max_buffered)
                    .await,
            ),
            (max_buffered, policy) => {
                sent_result(self.handle.send_frames(frames, false, max_buffered, policy))
            }
        }
    }

    fn limits(&self) -> (usize, SlowClientPolicy) {
        self.ns
            .upgrade()
            .map_or((usize::MAX, SlowClientPolicy::Disconnect), |ns| {
                (ns.max_buffered, ns.slow_client)
            })
    }
}

/// The result of an emit to one socket made as a broadcast to its id.
fn report_result(report: crate::adapter::BroadcastReport) -> Result<(), EmitError> {
    if report.full > 0 {
        Err(EmitError::Full)
    } else if report.closed > 0 {
        Err(EmitError::Closed)
    } else {
        Ok(())
    }
}

fn sent_result(sent: Sent) -> Result<(), EmitError> {
    match sent {
        Sent::Queued | Sent::Dropped => Ok(()),
        Sent::Full => Err(EmitError::Full),
        Sent::Closed => Err(EmitError::Closed),
    }
}

/// The emit error of a refused command of the proto layer.
pub(crate) fn emit_error(e: CommandError) -> EmitError {
    match e {
        CommandError::ReservedEventName(name) => EmitError::ReservedEventName(name.to_owned()),
        CommandError::Encode(e) => EmitError::Encode(e),
        CommandError::NotConnected | CommandError::Closed => EmitError::Closed,
        // Emits made through `Socket` always build `[name, ...args]`.
        CommandError::InvalidEventData => EmitError::Closed,
        // `CommandError` is non-exhaustive (another crate): the frame encoders refuse only
        // reserved names and data that does not encode; anything new is a refused emit.
        _ => EmitError::Closed,
    }
}

/// One client's connection to one namespace: emit to it, listen to its events.
///
/// Cheap to clone (a reference count); usable from any task.
#[derive(Clone)]
pub struct Socket {
    pub(crate) inner: Arc<SocketInner>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.inner.id.get().map(SocketId::as_str))
            .field("nsp", &self.inner.nsp.as_str())
            .finish_non_exhaustive()
    }
}

impl Socket {
    /// The socket id: random, different from the Engine.IO session id. Empty while the
    /// namespace middlewares run.
    pub fn id(&self) -> &str {
        self.inner.id.get().map_or("", SocketId::as_str)
    }

    /// The namespace of this socket.
    pub fn ns(&self) -> &str {
        self.inner.nsp.as_str()
    }

    /// The handshake (headers, query, auth, address, time…).
    pub fn handshake(&self) -> &Handshake {
        &self.inner.handshake
    }

    /// True when the socket recovered the session of a previous connection (connection
    /// state recovery): same id, rooms and data, the missed events sent before the CONNECT
    /// reply (`socket.recovered`).
    pub fn recovered(&self) -> bool {
        self.inner.recovered.load(Ordering::Acquire)
    }

    /// True until the socket is disconnected.
    pub fn connected(&self) -> bool {
        self.inner.connected.load(Ordering::Acquire)
    }

    /// Sets the socket's data (the reference's `socket.data`): any serializable value, which
    /// `fetch_sockets` returns, on this node and on the others of a cluster. For values that
    /// stay on this node and need not serialize, see [`Socket::extensions`].
    ///
    /// ```no_run
    /// # fn f(socket: socketio_server::Socket) -> Result<(), Box<dyn std::error::Error>> {
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct User { name: String }
    /// socket.set_data(&User { name: "ann".into() })?;
    /// let user: User = socket.data()?;
    /// assert_eq!(user.name, "ann");
    /// # Ok(()) }
    /// ```
    pub fn set_data<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        let value = Payload::json(data)?.deserialize::<Value>().map_err(|e| {
            EmitError::Encode(socketio_proto::EncodeError::Serialize(e.to_string()))
        })?;
        self.set_data_value(value);
        Ok(())
    }

    /// The socket's data, deserialized (`Value` for any shape; `null` when unset).
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, socketio_proto::PayloadError> {
        value_into(&self.data_value())
    }

    pub(crate) fn data_value(&self) -> Value {
        self.inner
            .data
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_deref()
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub(crate) fn set_data_value(&self, value: Value) {
        *self.inner.data.lock().unwrap_or_else(|e| e.into_inner()) =
            (value != Value::Null).then(|| Box::new(value));
    }

    /// The handshake in the shape Node's `socket.handshake` has, which the cluster adapters
    /// send to other nodes.
    pub(crate) fn cluster_handshake(&self) -> socketio_proto::cluster::Handshake {
        self.inner.handshake.to_cluster()
    }

    /// Typed data attached to the socket, by type (not serialized; this node only).
    pub fn extensions(&self) -> std::sync::MutexGuard<'_, http::Extensions> {
        self.inner
            .extensions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn handlers(&self) -> std::sync::MutexGuard<'_, Handlers> {
        self.inner
            .handlers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a listener of `event` (`socket.on`); several listeners of one event are called
    /// in the order they were added, each with its copy of the event (the first to answer
    /// the acknowledgement sends it). Events of one socket are handled one after the other,
    /// in arrival order; spawn in the listener to handle them concurrently. The event's name
    /// is a `&'static str` (kept without a copy) or a `String`. The returned id removes the
    /// listener ([`Socket::off`]).
    ///
    /// ```no_run
    /// # fn f(socket: socketio_server::Socket) {
    /// use socketio_server::{Spread, Value};
    ///
    /// socket.on("chat", |socket, mut msg| async move {
    ///     let Ok(args) = msg.args::<Vec<Value>>() else { return };
    ///     let _ = socket.emit("chat-back", &Spread(&args));
    ///     let _ = msg.ack(&("received",));
    /// });
    /// # }
    /// ```
    pub fn on<F, Fut>(&self, event: impl Into<Cow<'static, str>>, handler: F) -> ListenerId
    where
        F: Fn(Self, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers().events.on(event, event_handler(handler))
    }

    /// Adds a listener of the next `event` only (`socket.once`).
    pub fn once<F, Fut>(&self, event: impl Into<Cow<'static, str>>, handler: F) -> ListenerId
    where
        F: Fn(Self, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers().events.once(event, event_handler(handler))
    }

    /// Adds a listener of `event` called before the others (`socket.prependListener`).
    pub fn prepend_listener<F, Fut>(
        &self,
        event: impl Into<Cow<'static, str>>,
        handler: F,
    ) -> ListenerId
    where
        F: Fn(Self, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers()
            .events
            .prepend(event, event_handler(handler))
    }

    /// Adds a listener of the next `event` only, called before the others
    /// (`socket.prependOnceListener`).
    pub fn prepend_once_listener<F, Fut>(
        &self,
        event: impl Into<Cow<'static, str>>,
        handler: F,
    ) -> ListenerId
    where
        F: Fn(Self, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers()
            .events
            .prepend_once(event, event_handler(handler))
    }

    /// Removes the listener `id` of `event` (`socket.off(event, listener)`); `event` may also
    /// be `"disconnect"`, `"disconnecting"`, `"error"` or `"upgrade"` for the listeners added
    /// with [`Socket::on_disconnect`], [`Socket::on_disconnecting`], [`Socket::on_error`] and
    /// [`Socket::on_upgrade`].
    /// False if the listener is not there.
    ///
    /// ```no_run
    /// # fn f(socket: socketio_server::Socket) {
    /// let id = socket.on("tick", |_socket, _msg| async {});
    /// assert_eq!(socket.listeners("tick"), [id]);
    /// assert!(socket.off("tick", id));
    /// # }
    /// ```
    pub fn off(&self, event: &str, id: ListenerId) -> bool {
        let mut handlers = self.handlers();
        handlers.off_own(event, id) || handlers.events.off(event, id)
    }

    /// Removes the listeners of `event`, or every listener of the socket's events with `None`
    /// (`socket.removeAllListeners`); the `on_any` family is left as it is, as the reference
    /// does.
    pub fn remove_all_listeners(&self, event: Option<&str>) {
        let mut handlers = self.handlers();
        handlers.remove_own(event);
        handlers.events.remove_all(event);
    }

    /// The ids of `event`'s listeners, in calling order (`socket.listeners`).
    pub fn listeners(&self, event: &str) -> Vec<ListenerId> {
        let handlers = self.handlers();
        let mut ids = handlers.own_ids(event).unwrap_or_default();
        ids.extend(handlers.events.ids(event));
        ids
    }

    /// The names of the events that have listeners (`socket.eventNames`), sorted; the
    /// socket's own events included.
    pub fn event_names(&self) -> Vec<String> {
        let handlers = self.handlers();
        let mut names: Vec<String> = handlers
            .events
            .names()
            .into_iter()
            .map(String::from)
            .collect();
        for own in ["disconnect", "disconnecting", "error", "upgrade"] {
            if handlers.own_ids(own).is_some_and(|ids| !ids.is_empty()) {
                names.push(own.to_owned());
            }
        }
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Adds a listener of every incoming event (`socket.onAny`), called before the event's
    /// own listeners and middlewares, for events with and without listeners.
    pub fn on_any<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Self, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers().any.on(event_handler(handler))
    }

    /// Adds a listener of every incoming event, before the other `on_any` listeners
    /// (`socket.prependAny`).
    pub fn prepend_any<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Self, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers().any.prepend(event_handler(handler))
    }

    /// Removes the `on_any` listener `id` (`socket.offAny(listener)`).
    pub fn off_any(&self, id: ListenerId) -> bool {
        self.handlers().any.off(id)
    }

    /// Removes every `on_any` listener (`socket.offAny()`).
    pub fn remove_any_listeners(&self) {
        self.handlers().any.clear();
    }

    /// The ids of the `on_any` listeners, in calling order (`socket.listenersAny`).
    pub fn listeners_any(&self) -> Vec<ListenerId> {
        self.handlers().any.ids()
    }

    /// Adds a listener of every event this socket emits (`socket.onAnyOutgoing`): called
    /// with the event's name and payload before the event leaves, for the emits made on
    /// this socket ([`Socket::emit`], with or without ack, volatile); broadcasts and
    /// acknowledgements are not emits of the socket, as in the reference. Unlike the
    /// reference, the listeners also see the emits of a namespace with connection state
    /// recovery on. A listener runs in the emitting task: keep it short.
    ///
    /// ```no_run
    /// # fn f(socket: socketio_server::Socket) {
    /// socket.on_any_outgoing(|socket, event, _payload| {
    ///     println!("{} <- {event}", socket.id());
    /// });
    /// # }
    /// ```
    pub fn on_any_outgoing<F>(&self, listener: F) -> ListenerId
    where
        F: Fn(&Self, &str, &Payload) + Send + Sync + 'static,
    {
        let mut handlers = self.handlers();
        self.inner.outgoing.store(true, Ordering::Release);
        handlers.rare().outgoing.on(Arc::new(listener))
    }

    /// Adds a listener of every event this socket emits, before the others
    /// (`socket.prependAnyOutgoing`).
    pub fn prepend_any_outgoing<F>(&self, listener: F) -> ListenerId
    where
        F: Fn(&Self, &str, &Payload) + Send + Sync + 'static,
    {
        let mut handlers = self.handlers();
        self.inner.outgoing.store(true, Ordering::Release);
        handlers.rare().outgoing.prepend(Arc::new(listener))
    }

    /// Removes the outgoing listener `id` (`socket.offAnyOutgoing(listener)`).
    pub fn off_any_outgoing(&self, id: ListenerId) -> bool {
        let mut handlers = self.handlers();
        let outgoing = &mut handlers.rare().outgoing;
        let removed = outgoing.off(id);
        self.inner
            .outgoing
            .store(!outgoing.is_empty(), Ordering::Release);
        removed
    }

    /// Removes every outgoing listener (`socket.offAnyOutgoing()`).
    pub fn remove_any_outgoing_listeners(&self) {
        let mut handlers = self.handlers();
        handlers.rare().outgoing.clear();
        self.inner.outgoing.store(false, Ordering::Release);
    }

    /// The ids of the outgoing listeners, in calling order (`socket.listenersAnyOutgoing`).
    pub fn listeners_any_outgoing(&self) -> Vec<ListenerId> {
        self.handlers()
            .rare
            .as_ref()
            .map(|r| r.outgoing.ids())
            .unwrap_or_default()
    }

    /// Calls the outgoing listeners with the event about to leave.
    fn notify_outgoing<T: Serialize + ?Sized>(&self, event: &str, args: &T) {
        if !self.inner.outgoing.load(Ordering::Acquire) {
            return;
        }
        let Ok(payload) = Payload::new(self.inner.parser, &EventData { name: event, args }) else {
            return; // the emit itself reports the error
        };
        self.notify_outgoing_payload(event, &payload);
    }

    fn notify_outgoing_payload(&self, event: &str, payload: &Payload) {
        if !self.inner.outgoing.load(Ordering::Acquire) {
            return;
        }
        let listeners = self
            .handlers()
            .rare
            .as_ref()
            .map(|r| r.outgoing.handlers())
            .unwrap_or_default();
        for listener in listeners {
            listener(self, event, payload);
        }
    }

    /// Adds a listener called when the socket is about to leave its rooms, with the reason
    /// (`"client namespace disconnect"`, `"transport close"`, …): `socket.on("disconnecting")`.
    pub fn on_disconnecting<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Self, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: DisconnectHandler = Arc::new(move |s, r| Box::pin(handler(s, r)));
        self.handlers().rare().disconnecting.on(handler)
    }

    /// Adds a listener called when the socket is disconnected, with the reason
    /// (`socket.on("disconnect")`).
    pub fn on_disconnect<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Self, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers()
            .disconnect
            .on(Arc::new(move |s, r| Box::pin(handler(s, r))))
    }

    /// Adds a middleware run on every incoming event before its listeners (`socket.use`), in
    /// the order they were added, after the `on_any` listeners. It gets the event and hands
    /// it on with `Ok` — rewritten if it likes ([`Message::set_args`],
    /// [`Message::set_event`]) — or refuses it with `Err`: the event goes no further and
    /// the error reaches the [`Socket::on_error`] listeners (the reference's `next(err)`).
    /// The middleware may await (a database, a rate limiter); the socket's next events wait
    /// for it, in order.
    ///
    /// ```no_run
    /// # fn f(socket: socketio_server::Socket) {
    /// socket.use_middleware(|_socket, msg| async move {
    ///     if msg.event() == "admin" {
    ///         return Err("unauthorized event".into());
    ///     }
    ///     Ok(msg)
    /// });
    /// socket.on_error(|socket, error| async move {
    ///     if error.to_string() == "unauthorized event" {
    ///         socket.disconnect();
    ///     }
    /// });
    /// # }
    /// ```
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Self, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Message, MiddlewareError>> + Send + 'static,
    {
        let middleware: EventMiddleware = Arc::new(move |s, m| Box::pin(middleware(s, m)));
        self.handlers().rare().middleware.push(middleware);
    }

    /// Adds a listener of the errors of the event middlewares (`socket.on("error")`). Without
    /// one, a refusal is logged (`tracing`, warn), as the reference prints it.
    pub fn on_error<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Self, SocketError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: ErrorHandler = Arc::new(move |s, e| Box::pin(handler(s, e)));
        self.handlers().rare().error.on(handler)
    }

    /// Emits `event` with `args`: one argument, or a tuple spread into several
    /// (`&("a", 1)`), or `&()` for none. Binary (`Bytes`, `serde_bytes`) goes as binary.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        if let Some(ns) = self.recovering_ns() {
            // Stored for replay, with its offset, as the reference routes it through the
            // adapter when recovery is on.
            let packet = crate::broadcast::event_packet(&ns, event, args)?;
            self.notify_outgoing(event, args);
            return report_result(ns.adapter.broadcast(&packet, &self.only_me()));
        }
        let frames = self.inner.event_frames(event, args)?;
        self.notify_outgoing(event, args);
        self.inner.send_frames(&frames, false)
    }

    /// Emits a `message` event (`socket.send`, `socket.write`); the client's `send` arrives
    /// as a `message` event too ([`Socket::on`]`("message", …)`).
    ///
    /// ```no_run
    /// # fn f(socket: socketio_server::Socket) {
    /// socket.on("message", |socket, msg| async move {
    ///     let Ok((text,)) = msg.args::<(String,)>() else { return };
    ///     let _ = socket.send(&(format!("you said {text}"),));
    /// });
    /// # }
    /// ```
    pub fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EmitError> {
        self.emit("message", args)
    }

    /// The namespace, when connection state recovery is on.
    fn recovering_ns(&self) -> Option<Arc<crate::io::NamespaceInner>> {
        if !self.inner.recovery {
            return None;
        }
        self.inner.ns.upgrade()
    }

    fn only_me(&self) -> crate::adapter::BroadcastOptions {
        crate::adapter::BroadcastOptions::new(vec![self.id().to_owned()], Vec::new())
    }

    /// Emits `event` like [`Socket::emit`], but when the client does not read fast enough
    /// waits for room in its buffer instead of failing ([`SlowClientPolicy::Backpressure`];
    /// under the default policy it behaves as `emit`).
    pub async fn emit_wait<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        if let Some(ns) = self.recovering_ns() {
            let packet = crate::broadcast::event_packet(&ns, event, args)?;
            self.notify_outgoing(event, args);
            return report_result(ns.adapter.broadcast_wait(&packet, &self.only_me()).await);
        }
        let frames = self.inner.event_frames(event, args)?;
        self.notify_outgoing(event, args);
        self.inner.send_frames_wait(&frames).await
    }

    /// Emits `event`, dropped if the transport is not ready (`socket.volatile.emit`).
    pub fn emit_volatile<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        let frames = self.inner.event_frames(event, args)?;
        self.notify_outgoing(event, args);
        self.inner.send_frames(&frames, true)
    }

    /// Joins `rooms` (one name or several). A namespace middleware may join too: the
    /// socket is in those rooms from its connection on (a refused socket never was).
    pub fn join(&self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        if self.before_connection() {
            let mut pending = self.inner.rooms_mut();
            for room in rooms {
                if !pending.contains(&room) && room != self.id() {
                    pending.push(room);
                }
            }
            return;
        }
        if let Some(ns) = self.inner.ns.upgrade() {
            ns.adapter.add_all(self.id(), &rooms);
        }
    }

    /// Leaves `room`.
    pub fn leave(&self, room: &str) {
        if self.before_connection() {
            self.inner.rooms_mut().retain(|r| r != room);
            return;
        }
        if let Some(ns) = self.inner.ns.upgrade() {
            ns.adapter.del(self.id(), room);
        }
    }

    /// True while the namespace's middlewares run: the socket is not in the namespace yet,
    /// and the rooms it joins wait in its own list.
    fn before_connection(&self) -> bool {
        !self.inner.connected.load(Ordering::Acquire) && !self.inner.left.load(Ordering::Acquire)
    }

    /// The rooms joined before the connection, taken to be joined in the adapter.
    pub(crate) fn take_pending_rooms(&self) -> Vec<String> {
        std::mem::take(&mut *self.inner.rooms_mut())
    }

    /// Joins, in the adapter, the rooms taken by [`Socket::take_pending_rooms`].
    pub(crate) fn join_pending(&self, rooms: Vec<String>) {
        if rooms.is_empty() {
            return;
        }
        if let Some(ns) = self.inner.ns.upgrade() {
            ns.adapter.add_all(self.id(), &rooms);
        }
    }

    /// The rooms of this socket, its own id included.
    pub fn rooms(&self) -> Vec<String> {
        let joined = self.inner.rooms_mut();
        let mut rooms = Vec::with_capacity(1 + joined.len());
        // Its own room, from the namespace join until it left all its rooms.
        if !self.id().is_empty() && !self.inner.left.load(Ordering::Acquire) {
            rooms.push(self.id().to_owned());
        }
        rooms.extend(joined.iter().cloned());
        rooms
    }

    /// A broadcast to `rooms`, this socket left out (`socket.to(room).emit`).
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// A broadcast to every socket of the namespace but this one
    /// (`socket.broadcast.emit`).
    pub fn broadcast(&self) -> BroadcastOperator {
        match self.inner.ns.upgrade() {
            Some(ns) => BroadcastOperator::new(ns).except(self.id()),
            None => BroadcastOperator::new(Arc::new(crate::io::NamespaceInner::detached(
                self.inner.nsp.clone(),
                self.inner.parser,
            ))),
        }
    }

    /// Emits `event` and waits for the client's acknowledgement (`socket.emitWithAck`),
    /// without a deadline: see [`Socket::timeout`].
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<AckResponse, AckError> {
        self.emit_ack_inner(event, args, None).await
    }

    /// Sets a deadline for the next acknowledgement (`socket.timeout(ms).emitWithAck`).
    pub fn timeout(&self, timeout: Duration) -> TimeoutSocket<'_> {
        TimeoutSocket {
            socket: self,
            timeout,
        }
    }

    async fn emit_ack_inner<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
        timeout: Option<Duration>,
    ) -> Result<AckResponse, AckError> {
        check_event_name(event).map_err(|e| AckError::Emit(emit_error(e)))?;
        let payload = Payload::new(self.inner.parser, &EventData { name: event, args })
            .map_err(|e| AckError::Emit(e.into()))?;
        self.notify_outgoing_payload(event, &payload);
        self.emit_payload_with_ack(payload, timeout).await
    }

    pub(crate) async fn emit_payload_with_ack(
        &self,
        payload: Payload,
        timeout: Option<Duration>,
    ) -> Result<AckResponse, AckError> {
        let (reply, rx) = oneshot::channel();
        let command = Command::EmitWithAck {
            nsp: self.inner.nsp.clone(),
            payload,
            timeout,
            reply,
        };
        if !self.inner.handle.send(Input::Custom(Box::new(command))) {
            return Err(AckError::Disconnected);
        }
        rx.await.unwrap_or(Err(AckError::Disconnected))
    }

    /// Disconnects this socket from its namespace (`socket.disconnect()`); the client
    /// gets a DISCONNECT and the reason is `"server namespace disconnect"`.
    pub fn disconnect(&self) {
        let nsp = self.inner.nsp.clone();
        self.inner
            .handle
            .send(Input::Custom(Box::new(Command::Disconnect { nsp })));
    }

    /// Closes the whole connection, every namespace of it (`socket.disconnect(true)`).
    pub fn close(&self) {
        self.inner
            .handle
            .send(Input::Custom(Box::new(Command::Close)));
    }

    /// The transport of the connection now, `"polling"` or `"websocket"`
    /// (`socket.conn.transport.name`); [`Socket::on_upgrade`] tells when it changes.
    pub fn transport_name(&self) -> &'static str {
        self.inner.handle.transport_name()
    }

    /// Adds a listener of the connection's upgrade from long-polling to WebSocket
    /// (`socket.conn.on("upgrade")`), called once the upgrade is done.
    ///
    /// ```no_run
    /// # fn f(socket: socketio_server::Socket) {
    /// println!("{} connected over {}", socket.id(), socket.transport_name());
    /// socket.on_upgrade(|socket| async move {
    ///     println!("{} upgraded to {}", socket.id(), socket.transport_name());
    /// });
    /// # }
    /// ```
    pub fn on_upgrade<F, Fut>(&self, handler: F) -> ListenerId
    where
        F: Fn(Self) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: UpgradeHandler = Arc::new(move |s| Box::pin(handler(s)));
        self.handlers().rare().upgrade.on(handler)
    }

    /// The Engine.IO connection under this socket (`socket.conn`): its id, transport and
    /// events. Shared by the sockets of one client in every namespace.
    ///
    /// ```no_run
    /// # fn f(socket: socketio_server::Socket) {
    /// let conn = socket.conn();
    /// println!("{} over {}", conn.id(), conn.transport_name());
    /// conn.on_packet(|packet| println!("in: {:?}", packet.packet_type));
    /// conn.on_close(|reason| println!("closed: {}", reason.as_str()));
    /// # }
    /// ```
    pub fn conn(&self) -> Conn {
        Conn {
            socket: self.clone(),
        }
    }

    /// Closes the underlying Engine.IO connection without a DISCONNECT, as the reference's
    /// `socket.conn.close()`: the client sees its transport close and reconnects (with
    /// connection state recovery, into the same session); every socket of the connection
    /// disconnects with "forced close".
    pub fn close_transport(&self) {
        self.inner
            .handle
            .send(Input::Custom(Box::new(Command::CloseTransport)));
    }

    pub(crate) fn ack_sender(&self, id: AckId) -> AckSender {
        AckSender {
            socket: self.clone(),
            id,
            sent: None,
        }
    }
}

/// The Engine.IO connection under a socket (the reference's `socket.conn`), from
/// [`Socket::conn`]: its id, its transport, and the listeners of its events.
///
/// The listeners are called in the connection's task as the event happens, in the order
/// they were added: keep them short (count, log, hand over to a channel), they hold up the
/// connection while they run. Listening to `packet`, `packet_create`, `heartbeat` or
/// `drain` has the connection report every packet; a connection nobody listens to reports
/// nothing and pays nothing.
#[derive(Clone, Debug)]
pub struct Conn {
    socket: Socket,
}

impl Conn {
    /// The Engine.IO session id (`socket.conn.id`), what the client sends back with each
    /// request; not the socket's id.
    pub fn id(&self) -> &str {
        self.socket
            .inner
            .handshake
            .base
            .engine_id
            .as_ref()
            .map_or("", engineio_proto::Sid::as_str)
    }

    /// The transport now, `"polling"` or `"websocket"` (`socket.conn.transport.name`).
    pub fn transport_name(&self) -> &'static str {
        self.socket.transport_name()
    }

    /// Closes the connection without a DISCONNECT (`socket.conn.close()`); see
    /// [`Socket::close_transport`].
    pub fn close(&self) {
        self.socket.close_transport();
    }

    fn listen(&self, event: &'static str, listener: ConnListener) -> ListenerId {
        let handle = &self.socket.inner.handle;
        let (id, first) = handle.with_conn_listeners(|listeners| listeners.on(event, listener));
        if first {
            handle.send(Input::Custom(Box::new(Command::ObserveEngine)));
        }
        id
    }

    /// Adds a listener of every packet the client sends on the connection's transport, ping
    /// answers included, before the server acts on it (`socket.conn.on("packet")`).
    pub fn on_packet<F>(&self, listener: F) -> ListenerId
    where
        F: Fn(&Packet) + Send + Sync + 'static,
    {
        self.listen(
            "packet",
            Arc::new(move |event| {
                if let engineio_proto::Event::Packet(packet) = event {
                    listener(packet);
                }
            }),
        )
    }

    /// Adds a listener of every packet queued for the client (`socket.conn.on("packetCreate")`).
    pub fn on_packet_create<F>(&self, listener: F) -> ListenerId
    where
        F: Fn(&Packet) + Send + Sync + 'static,
    {
        self.listen(
            "packetCreate",
            Arc::new(move |event| {
                if let engineio_proto::Event::PacketCreate(packet) = event {
                    listener(packet);
                }
            }),
        )
    }

    /// Adds a listener of the client's answers to pings (`socket.conn.on("heartbeat")`).
    pub fn on_heartbeat<F>(&self, listener: F) -> ListenerId
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.listen(
            "heartbeat",
            Arc::new(move |event| {
                if matches!(event, engineio_proto::Event::Heartbeat) {
                    listener();
                }
            }),
        )
    }

    /// Adds a listener of each hand-over of the queued packets to the transport
    /// (`socket.conn.on("drain")`).
    pub fn on_drain<F>(&self, listener: F) -> ListenerId
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.listen(
            "drain",
            Arc::new(move |event| {
                if matches!(event, engineio_proto::Event::Drain) {
                    listener();
                }
            }),
        )
    }

    /// Adds a listener of the start of an upgrade: the client probed the new transport,
    /// named to the listener (`socket.conn.on("upgrading")`).
    pub fn on_upgrading<F>(&self, listener: F) -> ListenerId
    where
        F: Fn(&'static str) + Send + Sync + 'static,
    {
        self.listen(
            "upgrading",
            Arc::new(move |event| {
                if matches!(event, engineio_proto::Event::Upgrading) {
                    listener("websocket");
                }
            }),
        )
    }

    /// Adds a listener of the end of an upgrade: the connection runs on the transport named
    /// to the listener (`socket.conn.on("upgrade")`; [`Socket::on_upgrade`] is the same
    /// with the socket, run in its queue).
    pub fn on_upgrade<F>(&self, listener: F) -> ListenerId
    where
        F: Fn(&'static str) + Send + Sync + 'static,
    {
        self.listen(
            "upgrade",
            Arc::new(move |event| {
                if matches!(event, engineio_proto::Event::Upgraded) {
                    listener("websocket");
                }
            }),
        )
    }

    /// Adds a listener of the connection's close, with the reference's reason
    /// ([`CloseReason::as_str`]; a transport error's description is its `Display`), called
    /// after the sockets' disconnection (`socket.conn.on("close")`).
    pub fn on_close<F>(&self, listener: F) -> ListenerId
    where
        F: Fn(&CloseReason) + Send + Sync + 'static,
    {
        self.listen(
            "close",
            Arc::new(move |event| {
                if let engineio_proto::Event::Closed(reason) = event {
                    listener(reason);
                }
            }),
        )
    }

    /// Removes the listener `id` of `event` (`"packet"`, `"packetCreate"`, `"heartbeat"`,
    /// `"drain"`, `"upgrading"`, `"upgrade"`, `"close"`); false if it is not there.
    pub fn off(&self, event: &str, id: ListenerId) -> bool {
        self.socket
            .inner
            .handle
            .with_conn_listeners(|listeners| listeners.off(event, id))
            .0
    }

    /// The listeners of `event`, in the order they run.
    pub fn listeners(&self, event: &str) -> Vec<ListenerId> {
        self.socket
            .inner
            .handle
            .with_conn_listeners(|listeners| listeners.ids(event))
            .0
    }
}

/// A socket with a deadline for its next acknowledgement; see [`Socket::timeout`].
#[derive(Debug)]
pub struct TimeoutSocket<'a> {
    socket: &'a Socket,
    timeout: Duration,
}

impl TimeoutSocket<'_> {
    /// Emits and waits at most the timeout for the acknowledgement
    /// ([`AckError::Timeout`] otherwise).
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<AckResponse, AckError> {
        self.socket
            .emit_ack_inner(event, args, Some(self.timeout))
            .await
    }
}
