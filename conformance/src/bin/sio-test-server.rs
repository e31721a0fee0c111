//! The server the official test suites expect (PROTOCOL.md §3.2), on our stack.
//!
//! ```text
//! sio-test-server engineio [--port N]   # echo server, path /engine.io/
//! sio-test-server socketio [--port N]   # namespaces / and /custom, path /socket.io/
//! ```
//!
//! Port 3000 by default, as the suites hard-code `http://localhost:3000`.

use std::process::ExitCode;

use conformance::test_server;

const USAGE: &str = "usage: sio-test-server engineio|socketio [--port N]";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(mode) = args.next() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
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
        let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
        match mode.as_str() {
            "engineio" => test_server::serve_engineio(listener).await,
            "socketio" => test_server::serve_socketio(listener).await,
            _ => Err(std::io::Error::other(USAGE)),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sio-test-server: {e}");
            ExitCode::FAILURE
        }
    }
}
