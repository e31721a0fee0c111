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
//! - `/rooms-<anything>` (a dynamic namespace, so that each test has its own, isolated
//!   from the others): rooms and broadcasting. A "controller" client sends commands that
//!   make the server broadcast; every command is acknowledged with its result.
//!   - `join` (room or rooms) → joins, acks with the socket's rooms (sorted, own id
//!     included); `leave` (room) → leaves, acks likewise; `rooms` → acks likewise;
//!   - `emit` `{to?, except?, sender?, volatile?, event, args?}` → broadcasts `event` with
//!     `args` from the namespace (`io.of(nsp).to(..).except(..)`), or from the sending
//!     socket when `sender` (`socket.broadcast()`, the sender left out); acks with the
//!     report `{delivered, dropped, closed}`;
//!   - `emit-with-ack` `{to?, except?, sender?, event, args?, timeout}` (ms) → a broadcast
//!     with acknowledgements; acks with `{timedOut, responses, elapsedMs, error}`, where
//!     `responses` holds the first argument of each answer, in arrival order (the partial
//!     answers on timeout);
//!   - `emit-volatile` `{event, args?}` → `socket.emit_volatile` to the sender itself;
//!   - `fetch-sockets` `{to?, except?}` → acks with `[{id, rooms}]` (sorted by id, rooms
//!     sorted);
//!   - `sockets-join` / `sockets-leave` `{to?, except?, rooms}`, `disconnect-sockets`
//!     `{to?, except?, close}` → act on the targeted sockets, then ack (no argument).
//!
//!   When a socket disconnects, the members of room `watch` get `gone`
//!   `{id, reason, roomsWhileDisconnecting, roomsAfter}` (rooms sorted).
//!
//! pingInterval 1000 ms and pingTimeout 3000 ms, so that the tests see heartbeats.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use socketio_server::engine::Cors;
use socketio_server::{
    AckError, AckResponse, BroadcastAckError, BroadcastOperator, Config, ConnectError, ParserKind,
    Socket, SocketIo, Spread, Value,
};
use tokio::net::TcpListener;

/// The namespace that receives the disconnect reasons of tagged sockets.
pub const OBSERVER: &str = "/observer";

/// The prefix of the rooms namespaces: `/rooms-<anything>` (one per test).
pub const ROOMS_PREFIX: &str = "/rooms-";

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

    // The handlers keep the server alive (a reference cycle): fine for a test server that
    // lives as long as its process.
    let server = io.clone();
    io.of_dynamic(|name| name.starts_with(ROOMS_PREFIX))
        .on_connection(move |socket| {
            let io = server.clone();
            async move { rooms_app(&socket, &io) }
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

/// A command of the rooms namespaces (every field optional; see the module docs).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Op {
    to: Vec<String>,
    except: Vec<String>,
    sender: bool,
    volatile: bool,
    event: String,
    args: Vec<Value>,
    timeout: Option<u64>,
    rooms: Vec<String>,
    close: bool,
}

/// One room name or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Serialize)]
struct Report {
    delivered: usize,
    dropped: usize,
    closed: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AckReport {
    timed_out: bool,
    responses: Vec<Value>,
    elapsed_ms: u64,
    error: Option<String>,
}

#[derive(Serialize)]
struct SocketInfo {
    id: String,
    rooms: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Gone<'a> {
    id: &'a str,
    reason: &'a str,
    rooms_while_disconnecting: Vec<String>,
    rooms_after: Vec<String>,
}

/// The rooms a socket was in when `disconnecting` ran (kept in its extensions).
#[derive(Clone)]
struct RoomsWhileDisconnecting(Vec<String>);

fn sorted_rooms(socket: &Socket) -> Vec<String> {
    let mut rooms = socket.rooms();
    rooms.sort();
    rooms
}

/// The operator an [`Op`] targets: from the namespace, or from `socket` (sender left out).
fn operator(io: &SocketIo, socket: &Socket, op: &Op) -> BroadcastOperator {
    let mut operator = if op.sender {
        socket.broadcast()
    } else {
        io.of(socket.ns()).broadcast()
    };
    if !op.to.is_empty() {
        operator = operator.to(op.to.clone());
    }
    if !op.except.is_empty() {
        operator = operator.except(op.except.clone());
    }
    if op.volatile {
        operator = operator.volatile();
    }
    if let Some(ms) = op.timeout {
        operator = operator.timeout(Duration::from_millis(ms));
    }
    operator
}

/// The first argument of an answer to a broadcast with acknowledgements.
fn first_arg(response: &AckResponse) -> Value {
    response
        .args::<Vec<Value>>()
        .ok()
        .and_then(|args| args.into_iter().next())
        .unwrap_or(Value::Null)
}

/// The event handlers of the `/rooms-*` namespaces.
fn rooms_app(socket: &Socket, io: &SocketIo) {
    socket.on("join", |socket, mut msg| async move {
        match msg.args::<(OneOrMany,)>() {
            Ok((OneOrMany::One(room),)) => socket.join(room),
            Ok((OneOrMany::Many(rooms),)) => socket.join(rooms),
            Err(_) => {}
        }
        let _ = msg.ack(&sorted_rooms(&socket));
    });

    socket.on("leave", |socket, mut msg| async move {
        if let Ok((room,)) = msg.args::<(String,)>() {
            socket.leave(&room);
        }
        let _ = msg.ack(&sorted_rooms(&socket));
    });

    socket.on("rooms", |socket, mut msg| async move {
        let _ = msg.ack(&sorted_rooms(&socket));
    });

    let server = io.clone();
    socket.on("emit", move |socket, mut msg| {
        let io = server.clone();
        async move {
            let (op,): (Op,) = msg.args().unwrap_or_default();
            let report = match operator(&io, &socket, &op).emit(&op.event, &Spread(&op.args)) {
                Ok(r) => Report {
                    delivered: r.delivered,
                    dropped: r.dropped,
                    closed: r.closed,
                },
                Err(_) => Report {
                    delivered: 0,
                    dropped: 0,
                    closed: 0,
                },
            };
            let _ = msg.ack(&report);
        }
    });

    let server = io.clone();
    socket.on("emit-with-ack", move |socket, mut msg| {
        let io = server.clone();
        async move {
            let (op,): (Op,) = msg.args().unwrap_or_default();
            let started = tokio::time::Instant::now();
            let result = operator(&io, &socket, &op)
                .emit_with_ack(&op.event, &Spread(&op.args))
                .await;
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let report = match result {
                Ok(responses) => AckReport {
                    timed_out: false,
                    responses: responses.iter().map(first_arg).collect(),
                    elapsed_ms,
                    error: None,
                },
                Err(BroadcastAckError::Timeout { responses }) => AckReport {
                    timed_out: true,
                    responses: responses.iter().map(first_arg).collect(),
                    elapsed_ms,
                    error: None,
                },
                Err(e) => AckReport {
                    timed_out: false,
                    responses: Vec::new(),
                    elapsed_ms,
                    error: Some(e.to_string()),
                },
            };
            let _ = msg.ack(&report);
        }
    });

    socket.on("emit-volatile", |socket, mut msg| async move {
        let (op,): (Op,) = msg.args().unwrap_or_default();
        let ok = socket.emit_volatile(&op.event, &Spread(&op.args)).is_ok();
        let _ = msg.ack(&ok);
    });

    let server = io.clone();
    socket.on("fetch-sockets", move |socket, mut msg| {
        let io = server.clone();
        async move {
            let (op,): (Op,) = msg.args().unwrap_or_default();
            let mut sockets: Vec<SocketInfo> = operator(&io, &socket, &op)
                .fetch_sockets()
                .await
                .unwrap_or_default()
                .iter()
                .map(|s| {
                    let mut rooms = s.rooms().to_vec();
                    rooms.sort();
                    SocketInfo {
                        id: s.id().to_owned(),
                        rooms,
                    }
                })
                .collect();
            sockets.sort_by(|a, b| a.id.cmp(&b.id));
            let _ = msg.ack(&sockets);
        }
    });

    let server = io.clone();
    socket.on("sockets-join", move |socket, mut msg| {
        let io = server.clone();
        async move {
            let (op,): (Op,) = msg.args().unwrap_or_default();
            operator(&io, &socket, &op).sockets_join(op.rooms.clone());
            let _ = msg.ack(&());
        }
    });

    let server = io.clone();
    socket.on("sockets-leave", move |socket, mut msg| {
        let io = server.clone();
        async move {
            let (op,): (Op,) = msg.args().unwrap_or_default();
            operator(&io, &socket, &op).sockets_leave(op.rooms.clone());
            let _ = msg.ack(&());
        }
    });

    let server = io.clone();
    socket.on("disconnect-sockets", move |socket, mut msg| {
        let io = server.clone();
        async move {
            let (op,): (Op,) = msg.args().unwrap_or_default();
            operator(&io, &socket, &op).disconnect_sockets(op.close);
            let _ = msg.ack(&());
        }
    });

    socket.on_disconnecting(|socket, _reason| async move {
        let rooms = sorted_rooms(&socket);
        socket.extensions().insert(RoomsWhileDisconnecting(rooms));
    });

    let server = io.clone();
    socket.on_disconnect(move |socket, reason| {
        let io = server.clone();
        async move {
            let while_disconnecting = socket
                .extensions()
                .get::<RoomsWhileDisconnecting>()
                .map(|r| r.0.clone())
                .unwrap_or_default();
            let gone = Gone {
                id: socket.id(),
                reason: &reason,
                rooms_while_disconnecting: while_disconnecting,
                rooms_after: sorted_rooms(&socket),
            };
            let _ = io.of(socket.ns()).to("watch").emit("gone", &gone);
        }
    });
}
