//! The chat demo: nicknames, rooms anyone can create and join, a live list of the open rooms
//! with their user counts, messages and "joined"/"left" notices in the room.
//!
//! ```text
//! scripts/chat      # installs the pinned socket.io-client with npm if missing, then runs
//! cargo run -p socketio-server --example chat
//! ```
//!
//! then open <http://127.0.0.1:3000> in two tabs (`CHAT_PORT` picks another port). The page
//! (`index.html`, `app.js`, `style.css` next to this file) loads the official browser client
//! from `/socket.io/socket.io.js`, which this server serves from the npm package
//! ([`Config::serve_client`]). Add `?transport=polling` to the page's address to keep the
//! client on HTTP long-polling.
//!
//! What the server shows, in the order a reader meets it:
//! - a namespace middleware that refuses a connection without a nickname, and per-socket
//!   data in [`Socket::extensions`];
//! - rooms: [`Socket::join`] / [`Socket::leave`], and [`Socket::rooms`] to know where a
//!   socket is;
//! - broadcasts: `socket.to(room)` (the room, sender left out), `io.to(room).except(id)`
//!   (the same, said from the server's side), `io.emit` (everybody);
//! - acknowledgements: the server answers every `join` and `message` with the outcome;
//! - disconnect handling: `disconnecting` (the socket is still in its rooms: tell them) and
//!   `disconnect` (it has left them: the counts are right again);
//! - diagnostics: the server's `tracing` events shown by `tracing-subscriber` (`RUST_LOG`
//!   filters them; by default the server's debug events).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::header;
use axum::response::Html;
use axum::routing::get;
use serde::Serialize;
use socketio_server::{ClientBundle, Config, ConnectError, Socket, SocketIo, Value};

/// The page, its script and its style, compiled into the example.
const INDEX_HTML: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const STYLE_CSS: &str = include_str!("style.css");

const MAX_NICKNAME: usize = 24;
const MAX_ROOM: usize = 32;
const MAX_MESSAGE: usize = 500;

/// A socket's nickname, stored in its extensions (the reference's `socket.data`).
#[derive(Clone)]
struct Nickname(String);

/// One line of the open-rooms list.
#[derive(Serialize)]
struct RoomInfo {
    name: String,
    users: usize,
}

/// A chat message, as the room's other members get it and as the sender's ack returns it.
#[derive(Serialize)]
struct ChatMessage {
    room: String,
    from: String,
    text: String,
    /// Milliseconds since the Unix epoch, stamped by the server.
    time: u64,
}

/// A "joined"/"left" line.
#[derive(Serialize)]
struct Notice {
    room: String,
    text: String,
}

/// The acknowledgement of `join` and `message`: `{ok: true, ...}` or `{ok: false, error}`.
#[derive(Serialize)]
#[serde(untagged)]
enum Reply<T> {
    Ok { ok: bool, data: T },
    Err { ok: bool, error: &'static str },
}

impl<T> Reply<T> {
    fn ok(data: T) -> Self {
        Self::Ok { ok: true, data }
    }
    fn err(error: &'static str) -> Self {
        Self::Err { ok: false, error }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Diagnostics: the server reports with `tracing`, so any subscriber shows them. Here the
    // standard formatter, filtered by `RUST_LOG` (by default the server's debug events: a span
    // per session with its id, transport and peer; sessions opened and closed, upgrades,
    // namespace connections and refusals, disconnections with their reason, and every
    // protocol violation by a client at `warn`).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("socketio_server=debug"));
    let colours = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colours)
        .init();
    // The official browser client, from the npm package (`scripts/chat` installs it).
    let bundle = match find_client_bundle() {
        Ok(bundle) => bundle,
        Err(e) => {
            eprintln!("error: {e}\n(`scripts/chat` installs the pinned version and runs this)");
            std::process::exit(1);
        }
    };
    let mut config = Config::default();
    config.serve_client(bundle);
    let io = SocketIo::new(config);

    // Every connection must bring a nickname: `io({auth: {nickname}})` in the page. A
    // middleware's `Err` refuses the connection; the page gets it as `connect_error`.
    io.of("/").use_middleware(|socket| async move {
        let nickname = auth_nickname(&socket.handshake().auth)
            .ok_or_else(|| ConnectError::new("pick a nickname (1 to 24 characters)"))?;
        socket.extensions().insert(Nickname(nickname));
        Ok(())
    });

    let chat = io.clone();
    io.of("/")
        .on_connection(move |socket| on_connection(chat.clone(), socket));

    // The page is served by axum; the Socket.IO layer answers under `/socket.io/`, the
    // client bundle included.
    let app = Router::new()
        .route("/", get(|| async { Html(INDEX_HTML) }))
        .route(
            "/app.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], APP_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css")], STYLE_CSS) }),
        )
        .layer(io.layer());

    let port = std::env::var("CHAT_PORT").unwrap_or_else(|_| "3000".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("chat demo: open http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}

async fn on_connection(io: SocketIo, socket: Socket) {
    // The newcomer gets the open rooms at once; later changes come as they happen.
    let _ = socket.emit("rooms", &room_list(&io).await);

    // `join(room, ack)`: leave the current room (if any), join the new one.
    let chat = io.clone();
    socket.on("join", move |socket, mut msg| {
        let io = chat.clone();
        async move {
            let Ok((room,)) = msg.args::<(String,)>() else {
                return;
            };
            let room = room.trim().to_owned();
            if room.is_empty() || room.chars().count() > MAX_ROOM {
                let _ = msg.ack(&Reply::<()>::err("a room name has 1 to 32 characters"));
                return;
            }
            let nickname = nickname(&socket);
            if let Some(old) = chat_room(&socket) {
                if old == room {
                    let _ = msg.ack(&Reply::ok(&room));
                    return;
                }
                socket.leave(&old);
                // `socket.to(room)`: everyone in the room but this socket (which has left
                // it anyway).
                let _ = socket
                    .to(old.as_str())
                    .emit("notice", &left(&old, &nickname));
            }
            // A room exists while someone is in it: joining creates it.
            socket.join(room.as_str());
            let _ = socket.to(room.as_str()).emit(
                "notice",
                &Notice {
                    text: format!("{nickname} joined"),
                    room: room.clone(),
                },
            );
            let _ = msg.ack(&Reply::ok(&room));
            broadcast_rooms(&io).await;
        }
    });

    // `message(text, ack)`: to the sender's room, and only there.
    let chat = io.clone();
    socket.on("message", move |socket, mut msg| {
        let io = chat.clone();
        async move {
            let Ok((text,)) = msg.args::<(String,)>() else {
                return;
            };
            let text: String = text.trim().chars().take(MAX_MESSAGE).collect();
            let Some(room) = chat_room(&socket) else {
                let _ = msg.ack(&Reply::<()>::err("join a room first"));
                return;
            };
            if text.is_empty() {
                let _ = msg.ack(&Reply::<()>::err("empty message"));
                return;
            }
            let message = ChatMessage {
                from: nickname(&socket),
                text,
                time: now_ms(),
                room,
            };
            // `io.to(room).except(socket id)`: the room's members but the sender (a
            // socket is always in the room named by its id) — what `socket.to(room)`
            // says for short.
            let _ = io
                .to(message.room.as_str())
                .except(socket.id())
                .emit("message", &message);
            // The sender's copy comes back in the acknowledgement, stamped by the server:
            // the page shows the message as delivered (✓) when it arrives.
            let _ = msg.ack(&Reply::ok(&message));
        }
    });

    // `disconnecting`: the socket is about to leave its rooms (closed tab, lost network,
    // …); they are still known here, so tell the room.
    socket.on_disconnecting(|socket, _reason| async move {
        if let Some(room) = chat_room(&socket) {
            let _ = socket
                .to(room.as_str())
                .emit("notice", &left(&room, &nickname(&socket)));
        }
    });
    // `disconnect`: the socket has left every room, so the counts are right again.
    socket.on_disconnect(move |_socket, _reason| {
        let io = io.clone();
        async move { broadcast_rooms(&io).await }
    });
}

/// The open rooms and their user counts: every room of every socket, but the room each
/// socket has to itself (named by its id).
async fn room_list(io: &SocketIo) -> Vec<RoomInfo> {
    let mut counts = BTreeMap::<String, usize>::new();
    for socket in io.of("/").fetch_sockets().await.unwrap_or_default() {
        if socket.local().is_some_and(|s| !s.connected()) {
            continue;
        }
        for room in socket.rooms().iter().cloned() {
            if room != socket.id() {
                *counts.entry(room).or_default() += 1;
            }
        }
    }
    counts
        .into_iter()
        .map(|(name, users)| RoomInfo { name, users })
        .collect()
}

/// `io.emit`: everybody gets the new list.
async fn broadcast_rooms(io: &SocketIo) {
    let _ = io.emit("rooms", &room_list(io).await);
}

/// The chat room of a socket: here, its one room that is not its own.
fn chat_room(socket: &Socket) -> Option<String> {
    socket.rooms().into_iter().find(|room| room != socket.id())
}

fn nickname(socket: &Socket) -> String {
    socket
        .extensions()
        .get::<Nickname>()
        .map_or_else(String::new, |n| n.0.clone())
}

fn left(room: &str, nickname: &str) -> Notice {
    Notice {
        room: room.to_owned(),
        text: format!("{nickname} left"),
    }
}

/// `auth.nickname`, trimmed, 1 to 24 characters.
fn auth_nickname(auth: &Value) -> Option<String> {
    let Value::Object(fields) = auth else {
        return None;
    };
    let (_, value) = fields.iter().find(|(key, _)| key == "nickname")?;
    let nickname = value.as_str()?.trim();
    let length = nickname.chars().count();
    (1..=MAX_NICKNAME)
        .contains(&length)
        .then(|| nickname.to_owned())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The `dist` folder of `socket.io-client`: `SOCKETIO_CLIENT_DIST` if set, else the one
/// `scripts/chat` installs next to this file, else a `node_modules` from the working
/// directory upward.
fn find_client_bundle() -> Result<ClientBundle, socketio_server::ClientBundleError> {
    if let Some(dir) = std::env::var_os("SOCKETIO_CLIENT_DIST") {
        return ClientBundle::from_dir(dir);
    }
    let here = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/chat");
    ClientBundle::find_from(here).or_else(|_| ClientBundle::find())
}
