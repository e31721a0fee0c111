//! The server the Node interop tests (`node/interop/*.test.js`, the official
//! `socket.io-client`) talk to: used by the `sio-interop-server` binary and by
//! `tests/interop_node.rs`.
//!
//! Namespaces:
//!
//! - `/` and `/custom` (same handlers): on connection, emit `welcome` with
//!   `{nsp, id, auth, query}`; then
//!   - `echo` → emits `echo-back` with the same arguments (binary kept);
//!   - `echo-ack` → acknowledges with the same arguments;
//!   - `binary-please` → emits `binary` with binary arguments of its own;
//!   - `request-ack` (args…) → emits `ask` (args…) with a 5 s ack timeout, then emits
//!     `ack-result` with `"ok", [ack args…]` or `"error", <message>`;
//!   - `request-ack-timeout` (ms) → emits `ask-ignored` with an `ms` ack timeout, then
//!     `ack-result` as above;
//!   - `burst` (n) → emits `burst-item` 0, 1, …, n-1;
//!   - `disconnect-me` → `socket.disconnect()` (this namespace only);
//!   - `close-me` → `socket.close()` (`socket.disconnect(true)`: the whole connection).
//!
//!   When the `auth` object has a string `tag`, the socket's disconnect reason is sent to
//!   every socket of `/observer` as `disconnect-reason` `{tag, nsp, reason}`.
//! - `/private`: a middleware that accepts `auth.token == "letmein"`, refuses
//!   `"plain"` with the message `plain refusal` and no data, and refuses anything else with
//!   `not authorized` and `data` `{"reason": "bad token", "code": 4001}`. Then as `/`.
//! - `/observer`: receives the disconnect reasons (see above).
//!
//! pingInterval 1000 ms and pingTimeout 3000 ms, so that the tests see heartbeats.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use socketio_server::engine::Cors;
use socketio_server::{
    AckError, AckResponse, Config, ConnectError, ParserKind, Socket, SocketIo, Spread, Value,
};
use tokio::net::TcpListener;

/// The namespace that receives the disconnect reasons of tagged sockets.
pub const OBSERVER: &str = "/observer";

/// The sockets connected to `/observer`, by socket id.
type Observers = Arc<Mutex<BTreeMap<String, Socket>>>;

#[derive(Serialize)]
struct Welcome<'a> {
    nsp: &'a str,
    id: &'a str,
    auth: &'a Value,
    query: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct DisconnectReport<'a> {
    tag: &'a str,
    nsp: &'a str,
    reason: &'a str,
}

/// The interop server, with the default parser or msgpack.
pub fn interop_server(parser: ParserKind) -> SocketIo {
    let mut config = Config::default();
    config
        .ping_interval(Duration::from_millis(1000))
        .ping_timeout(Duration::from_millis(3000))
        .cors(Cors::any())
        .parser(parser);
    let io = SocketIo::new(config);

    let observers = Observers::default();
    let registry = observers.clone();
    io.of(OBSERVER).on_connection(move |socket| {
        let registry = registry.clone();
        async move {
            welcome(&socket);
            lock(&registry).insert(socket.id().to_owned(), socket.clone());
            socket.on_disconnect(move |socket, _reason| {
                let registry = registry.clone();
                async move {
                    lock(&registry).remove(socket.id());
                }
            });
        }
    });

    for name in ["/", "/custom"] {
        let observers = observers.clone();
        io.of(name).on_connection(move |socket| {
            let observers = observers.clone();
            async move { app(&socket, observers) }
        });
    }

    let private = io.of("/private");
    private.use_middleware(|socket| async move {
        let token = auth_field(&socket, "token");
        match token.as_deref() {
            Some("letmein") => Ok(()),
            Some("plain") => Err(ConnectError::new("plain refusal")),
            _ => Err(
                ConnectError::new("not authorized").with_data(Value::Object(vec![
                    ("reason".to_owned(), Value::String("bad token".to_owned())),
                    ("code".to_owned(), Value::Number(4001.into())),
                ])),
            ),
        }
    });
    private.on_connection(move |socket| {
        let observers = observers.clone();
        async move { app(&socket, observers) }
    });
    io
}

/// Serves [`interop_server`] on `listener` until an accept fails.
pub async fn serve(listener: TcpListener, parser: ParserKind) -> io::Result<()> {
    interop_server(parser).serve(listener).await
}

fn lock(observers: &Observers) -> std::sync::MutexGuard<'_, BTreeMap<String, Socket>> {
    observers.lock().unwrap_or_else(|e| e.into_inner())
}

/// A string field of the socket's `auth` object.
fn auth_field(socket: &Socket, key: &str) -> Option<String> {
    match &socket.handshake().auth {
        Value::Object(entries) => entries
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned),
        _ => None,
    }
}

fn welcome(socket: &Socket) {
    let query = socket.handshake().query().into_iter().collect();
    let _ = socket.emit(
        "welcome",
        &Welcome {
            nsp: socket.ns(),
            id: socket.id(),
            auth: &socket.handshake().auth,
            query,
        },
    );
}

/// The event handlers of `/`, `/custom` and `/private`.
fn app(socket: &Socket, observers: Observers) {
    welcome(socket);

    if let Some(tag) = auth_field(socket, "tag") {
        socket.on_disconnect(move |socket, reason| {
            let observers = observers.clone();
            let tag = tag.clone();
            async move {
                let report = DisconnectReport {
                    tag: &tag,
                    nsp: socket.ns(),
                    reason: &reason,
                };
                let observers: Vec<Socket> = lock(&observers).values().cloned().collect();
                for observer in observers {
                    let _ = observer.emit("disconnect-reason", &report);
                }
            }
        });
    }

    socket.on("echo", |socket, msg| async move {
        let args: Vec<Value> = msg.args().unwrap_or_default();
        let _ = socket.emit("echo-back", &Spread(&args));
    });

    socket.on("echo-ack", |_socket, mut msg| async move {
        let args: Vec<Value> = msg.args().unwrap_or_default();
        let _ = msg.ack(&Spread(&args));
    });

    socket.on("binary-please", |socket, _msg| async move {
        let nested = Value::Object(vec![
            ("text".to_owned(), Value::String("x".to_owned())),
            (
                "data".to_owned(),
                Value::Binary(Bytes::from((0..=255u8).collect::<Vec<u8>>())),
            ),
            (
                "list".to_owned(),
                Value::Array(vec![
                    Value::Binary(Bytes::from_static(b"a")),
                    Value::Number(1.into()),
                    Value::Binary(Bytes::from_static(b"bc")),
                ]),
            ),
        ]);
        let _ = socket.emit(
            "binary",
            &(
                Value::Binary(Bytes::from_static(&[0, 1, 2, 253, 254, 255])),
                nested,
            ),
        );
    });

    socket.on("request-ack", |socket, msg| async move {
        let args: Vec<Value> = msg.args().unwrap_or_default();
        let result = socket
            .timeout(Duration::from_secs(5))
            .emit_with_ack("ask", &Spread(&args))
            .await;
        report_ack(&socket, result);
    });

    socket.on("request-ack-timeout", |socket, msg| async move {
        let (ms,): (u64,) = msg.args().unwrap_or((100,));
        let result = socket
            .timeout(Duration::from_millis(ms))
            .emit_with_ack("ask-ignored", &())
            .await;
        report_ack(&socket, result);
    });

    socket.on("burst", |socket, msg| async move {
        let (n,): (u32,) = msg.args().unwrap_or((0,));
        for i in 0..n {
            let _ = socket.emit("burst-item", &i);
        }
    });

    socket.on("disconnect-me", |socket, _msg| async move {
        socket.disconnect();
    });

    socket.on("close-me", |socket, _msg| async move {
        socket.close();
    });
}

fn report_ack(socket: &Socket, result: Result<AckResponse, AckError>) {
    let _ = match result.and_then(|resp| resp.args::<Vec<Value>>()) {
        Ok(args) => socket.emit("ack-result", &("ok", args)),
        Err(e) => socket.emit("ack-result", &("error", e.to_string())),
    };
}
