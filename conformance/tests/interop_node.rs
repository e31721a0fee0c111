//! Interop with the official Node `socket.io-client` (pinned in `conformance/node`): the
//! interop server ([`conformance::interop_server`]) runs in-process on 127.0.0.1 and
//! `node --test node/interop/*.test.js` runs against it, once with the default parser and
//! once with msgpack (`socket.io-msgpack-parser` on the client). Node's output is printed
//! when it fails.
//!
//! Needs Node.js and `npm ci` in `conformance/node`; without them the test is skipped with
//! a message, unless `CI` is set, where it fails.
//!
//! By hand: `cargo run -p conformance --bin sio-interop-server [-- --msgpack]`, then in
//! `conformance/node`: `SIO_URL=http://127.0.0.1:PORT [SIO_PARSER=msgpack] node --test
//! interop/*.test.js`.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use conformance::{interop_server, node, recovery_server};
use socketio_server::ParserKind;

/// Node's run is killed after this long (the suite takes a few seconds).
const DEADLINE: Duration = Duration::from_secs(120);

#[test]
fn node_client_default_parser() {
    run_interop(Suite::Interop, ParserKind::Default, "default");
}

#[test]
fn node_client_msgpack_parser() {
    run_interop(Suite::Interop, ParserKind::MsgPack, "msgpack");
}

#[test]
fn node_client_recovers_its_connection_state_default_parser() {
    run_interop(Suite::Recovery, ParserKind::Default, "default");
}

#[test]
fn node_client_recovers_its_connection_state_msgpack_parser() {
    run_interop(Suite::Recovery, ParserKind::MsgPack, "msgpack");
}

/// Which tests against which server.
#[derive(Clone, Copy)]
enum Suite {
    /// `node/interop/*.test.js` against [`interop_server`].
    Interop,
    /// `node/recovery/*.test.js` against [`recovery_server`] (connection state recovery on).
    Recovery,
}

impl Suite {
    fn dir(self) -> &'static str {
        match self {
            Self::Interop => "interop",
            Self::Recovery => "recovery",
        }
    }
}

/// The test files of `suite`, relative to `node_dir`, sorted.
fn test_files(node_dir: &Path, suite: Suite) -> Vec<String> {
    let dir = suite.dir();
    let mut files: Vec<String> = std::fs::read_dir(node_dir.join(dir))
        .expect("conformance/node test folder")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".test.js"))
        .map(|name| format!("{dir}/{name}"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no conformance/node/{dir}/*.test.js");
    files
}

fn run_interop(suite: Suite, parser: ParserKind, label: &str) {
    if !node::ready(
        "socket.io-client interop tests",
        &["socket.io-client", "socket.io-msgpack-parser"],
    ) {
        return;
    }
    let node_dir = node::dir();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))
        .expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    match suite {
        Suite::Interop => drop(runtime.spawn(interop_server::serve(listener, parser))),
        Suite::Recovery => drop(runtime.spawn(recovery_server::serve(listener, parser))),
    }

    let started = Instant::now();
    let mut child = Command::new("node")
        .arg("--test")
        .arg("--test-reporter=spec")
        .args(test_files(&node_dir, suite))
        .current_dir(&node_dir)
        .env("SIO_URL", format!("http://127.0.0.1:{port}"))
        .env("SIO_PARSER", label)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn node");
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let status = wait_with_deadline(&mut child, DEADLINE);
    let output = format!(
        "{}{}",
        stdout.join().expect("stdout reader"),
        stderr.join().expect("stderr reader")
    );
    let elapsed = started.elapsed();
    runtime.shutdown_background();

    match status {
        Some(status) if status.success() => {
            let summary: Vec<&str> = output
                .lines()
                .filter(|l| l.starts_with("ℹ ") || l.starts_with("﹣ "))
                .collect();
            eprintln!(
                "socket.io-client {} ({label} parser) passed in {elapsed:.1?}:\n{}",
                suite.dir(),
                summary.join("\n")
            );
        }
        Some(status) => panic!(
            "socket.io-client {} ({label} parser) failed ({status}) after {elapsed:.1?}; \
             node's output:\n{output}",
            suite.dir()
        ),
        None => panic!(
            "socket.io-client {} ({label} parser) did not finish within {DEADLINE:?} and was \
             killed; node's output:\n{output}",
            suite.dir()
        ),
    }
}

/// Reads a pipe to the end on its own thread, so the child never blocks on a full pipe.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The exit status, or `None` after killing the child when `deadline` passed.
fn wait_with_deadline(child: &mut Child, deadline: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + deadline;
    loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            return Some(status);
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
