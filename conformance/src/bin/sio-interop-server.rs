//! The server the Node interop tests (`node/interop/*.test.js`) run against, on our stack.
//!
//! ```text
//! sio-interop-server [--port N] [--msgpack]
//! ```
//!
//! Binds 127.0.0.1 on port N (default 0: any free port) and prints `listening on PORT`.
//! Then, in `conformance/node`: `SIO_URL=http://127.0.0.1:PORT node --test interop/*.test.js`
//! (add `SIO_PARSER=msgpack` with `--msgpack`).

use std::io::Write;
use std::process::ExitCode;

use conformance::interop_server;
use socketio_server::ParserKind;

const USAGE: &str = "usage: sio-interop-server [--port N] [--msgpack]";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut port = 0u16;
    let mut parser = ParserKind::Default;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--msgpack" => parser = ParserKind::MsgPack,
            "--port" => match args.next().map(|p| p.parse()) {
                Some(Ok(p)) => port = p,
                _ => {
                    eprintln!("{USAGE}");
                    return ExitCode::FAILURE;
                }
            },
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
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let mut stdout = std::io::stdout();
        writeln!(stdout, "listening on {port}")?;
        stdout.flush()?;
        interop_server::serve(listener, parser).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sio-interop-server: {e}");
            ExitCode::FAILURE
        }
    }
}
