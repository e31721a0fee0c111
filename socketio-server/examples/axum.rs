//! Socket.IO mounted in an axum application.
//!
//! ```text
//! cargo run -p socketio-server --example axum
//! ```
//!
//! Then connect any Socket.IO client to `http://localhost:3000` (path `/socket.io/`); the
//! other routes are axum's.

use axum::Router;
use axum::routing::get;
use socketio_server::{Config, SocketIo, Spread, Value};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let io = SocketIo::new(Config::default());
    io.of("/").on_connection(|socket| async move {
        let _ = socket.emit("welcome", &socket.id().to_owned());
        socket.on("chat", |socket, msg| async move {
            let args: Vec<Value> = msg.args().unwrap_or_default();
            let _ = socket.emit("chat", &Spread(&args));
        });
    });

    let app = Router::new()
        .route("/", get(|| async { "Socket.IO is at /socket.io/" }))
        .layer(io.layer());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
