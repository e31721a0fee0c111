//! The server `node/recovery/*.test.js` runs against: connection state recovery on, with a
//! window of [`WINDOW`], and a control namespace that emits while a client is away.
//!
//! - `/`: a socket that did not recover joins the rooms of `auth.rooms` and takes
//!   `auth.data` as its data; `state` (with an ack) answers `{id, recovered, rooms, data}`
//!   (rooms sorted); `/other` behaves the same (another namespace, another store).
//! - `/ctl`: `emit` `{nsp?, rooms?, except?, event, n, volatile?}` emits `event` with `k` for
//!   `k` in `0..n` to those rooms of `nsp` (all sockets when `rooms` is empty), then acks;
//!   `emit-with-ack` `{nsp?, rooms?, event}` emits with an ack (200 ms) and acks at once.

use std::io;
use std::time::Duration;

use serde::Deserialize;
use socketio_server::{Config, ParserKind, RecoveryConfig, Socket, SocketIo, Value};
use tokio::net::TcpListener;

/// How long a disconnected session is kept.
pub const WINDOW: Duration = Duration::from_millis(1000);

#[derive(Deserialize, Default)]
#[serde(default)]
struct Emit {
    nsp: Option<String>,
    rooms: Vec<String>,
    except: Vec<String>,
    event: String,
    n: u32,
    volatile: bool,
}

/// The server, not yet serving.
pub fn recovery_server(parser: ParserKind) -> SocketIo {
    let mut config = Config::default();
    config
        .parser(parser)
        .connection_state_recovery(RecoveryConfig::default().max_disconnection_duration(WINDOW));
    let io = SocketIo::new(config);
    for nsp in ["/", "/other"] {
        io.of(nsp).on_connection(|socket: Socket| async move {
            if !socket.recovered() {
                if let Value::Object(auth) = &socket.handshake().auth {
                    for (key, value) in auth {
                        match (key.as_str(), value) {
                            ("rooms", Value::Array(rooms)) => socket.join(
                                rooms
                                    .iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_owned)
                                    .collect::<Vec<_>>(),
                            ),
                            ("data", data) => {
                                let _ = socket.set_data(data);
                            }
                            _ => {}
                        }
                    }
                }
            }
            socket.on("state", |socket, mut msg| async move {
                let mut rooms = socket.rooms();
                rooms.sort();
                let data: serde_json::Value = socket.data().unwrap_or_default();
                let state = serde_json::json!({
                    "id": socket.id(),
                    "recovered": socket.recovered(),
                    "rooms": rooms,
                    "data": data,
                });
                let _ = msg.ack(&(state,));
            });
        });
    }
    let server = io.clone();
    io.of("/ctl").on_connection(move |socket: Socket| {
        let io = server.clone();
        async move {
            let emit_io = io.clone();
            socket.on("emit", move |_socket, mut msg| {
                let io = emit_io.clone();
                async move {
                    let (o,): (Emit,) = msg.args().unwrap_or_default();
                    let mut op = io.of(o.nsp.as_deref().unwrap_or("/")).broadcast();
                    if !o.rooms.is_empty() {
                        op = op.to(o.rooms);
                    }
                    if !o.except.is_empty() {
                        op = op.except(o.except);
                    }
                    if o.volatile {
                        op = op.volatile();
                    }
                    for k in 0..o.n {
                        let _ = op.emit(&o.event, &k);
                    }
                    let _ = msg.ack(&());
                }
            });
            socket.on("emit-with-ack", move |_socket, mut msg| {
                let io = io.clone();
                async move {
                    let (o,): (Emit,) = msg.args().unwrap_or_default();
                    let op = io
                        .of(o.nsp.as_deref().unwrap_or("/"))
                        .to(o.rooms)
                        .timeout(Duration::from_millis(200));
                    tokio::spawn(async move {
                        let _ = op.emit_with_ack(&o.event, &()).await;
                    });
                    let _ = msg.ack(&());
                }
            });
        }
    });
    io
}

/// Serves [`recovery_server`] on `listener` until an accept fails.
pub async fn serve(listener: TcpListener, parser: ParserKind) -> io::Result<()> {
    recovery_server(parser).serve(listener).await
}
