//! The server the load benchmarks run against (`scripts/bench-server-memory`,
//! `sio-load`): path `/socket.io/`, namespace `/`, default options.
//!
//! ```text
//! cargo run --release -p socketio-server --example bench-server -- --port 3000
//! ```
//!
//! Events on `/`:
//! - `echo`: emits `echo` back to the sender with the same arguments;
//! - `echo_ack` (with an ack): acknowledges with the same arguments.
//!
//! `join` (join the room named by the first argument) and `broadcast` (emit `broadcast`
//! with the same arguments to a room, or to every socket) are not served yet: add them as
//! two more `socket.on(..)` calls in `on_connection` below.

use std::process::ExitCode;

use socketio_server::{Config, SocketIo, Spread, Value};

const USAGE: &str = "usage: bench-server [--port N]";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut port = 3000u16;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().map(|p| p.parse())) {
            ("--port", Some(Ok(p))) => port = p,
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::FAILURE;
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = runtime.block_on(async move {
        let io = SocketIo::new(Config::default());
        io.of("/").on_connection(|socket| async move {
            socket.on("echo", |socket, msg| async move {
                let args: Vec<Value> = msg.args().unwrap_or_default();
                let _ = socket.emit("echo", &Spread(&args));
            });
            socket.on("echo_ack", |_socket, mut msg| async move {
                let args: Vec<Value> = msg.args().unwrap_or_default();
                let _ = msg.ack(&Spread(&args));
            });
            // To add with the broadcast benchmarks (rooms API):
            // socket.on("join", |socket, msg| async move {
            //     let (room,): (String,) = msg.args().unwrap_or_default();
            //     socket.join(room);
            // });
            // socket.on("broadcast", move |_socket, msg| async move {
            //     let args: Vec<Value> = msg.args().unwrap_or_default();
            //     let _ = nsp.emit("broadcast", &Spread(&args)); // or nsp.to(room).emit(..)
            // });
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("listening on {}", listener.local_addr()?.port());
        io.serve(listener).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-server: {e}");
            ExitCode::FAILURE
        }
    }
}
