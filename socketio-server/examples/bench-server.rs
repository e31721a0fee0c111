//! The server the load benchmarks run against (`scripts/bench-server-memory`,
//! `sio-load`): path `/socket.io/`, namespace `/`, default options.
//!
//! ```text
//! cargo run --release -p socketio-server --example bench-server -- --port 3000
//! ```
//!
//! Events on `/` (the contract any server can implement, so that load tools compare them):
//! - `echo`: emits `echo` back to the sender with the same arguments;
//! - `echo_ack` (with an ack): acknowledges with the same arguments;
//! - `join` (room name): joins that room (acknowledged when asked);
//! - `broadcast` (data): emits `broadcast` with the data to every socket in room `bench`.

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
        let nsp = io.of("/");
        io.of("/").on_connection(move |socket| {
            let nsp = nsp.clone();
            async move {
                socket.on("echo", |socket, msg| async move {
                    let args: Vec<Value> = msg.args().unwrap_or_default();
                    let _ = socket.emit("echo", &Spread(&args));
                });
                socket.on("echo_ack", |_socket, mut msg| async move {
                    let args: Vec<Value> = msg.args().unwrap_or_default();
                    let _ = msg.ack(&Spread(&args));
                });
                socket.on("join", |socket, mut msg| async move {
                    if let Ok((room,)) = msg.args::<(String,)>() {
                        socket.join(room);
                    }
                    let _ = msg.ack(&());
                });
                socket.on("broadcast", move |_socket, msg| {
                    let nsp = nsp.clone();
                    async move {
                        let args: Vec<Value> = msg.args().unwrap_or_default();
                        // Encoded once, the same bytes queued for every member of the room.
                        let _ = nsp.to("bench").emit("broadcast", &Spread(&args));
                    }
                });
            }
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
