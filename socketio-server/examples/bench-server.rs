//! The server the load benchmarks run against (`scripts/bench-server-memory`,
//! `sio-load`): path `/socket.io/`, namespace `/`, default options.
//!
//! ```text
//! cargo run --release -p socketio-server --example bench-server -- --port 3000
//! # a node of a cluster (feature `redis`): any number of them on one Redis
//! cargo run --release -p socketio-server --features redis --example bench-server -- \
//!     --port 3001 --redis redis://127.0.0.1:6379 [--adapter redis|redis-sharded|redis-streams] \
//!     [--key PREFIX]
//! ```
//!
//! The port comes from `--port`, else from the `PORT` environment variable, else 3000.
//! `--recovery` turns connection state recovery on (default options); on one node it prints
//! what the adapter of `/` stores for it (packets, bytes, sessions) every 5 s on stderr. With
//! `--adapter redis-streams` (whose stream name, channel prefix and session key prefix
//! `<key>:session:` come from `--key`), the sessions and events are kept in Redis, and a
//! client recovers on any node.
//!
//! Events on `/` (the contract any server can implement, so that load tools compare them):
//! - `echo`: emits `echo` back to the sender with the same arguments;
//! - `echo_ack` (with an ack): acknowledges with the same arguments;
//! - `join` (room name): joins that room (acknowledged when asked);
//! - `broadcast` (data): emits `broadcast` with the data to every socket in room `bench`.

use std::process::ExitCode;

use socketio_server::adapter::InMemoryAdapter;
use socketio_server::{Config, SocketIo, Spread, Value};

const USAGE: &str = "usage: bench-server [--port N] [--recovery] [--redis URL \
[--adapter redis|redis-sharded|redis-streams] [--key PREFIX]]";

/// Where the cluster is, when the server is one of its nodes.
struct Cluster {
    url: String,
    /// `redis`, `redis-sharded` or `redis-streams`.
    adapter: String,
    key: String,
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000u16);
    let mut cluster: Option<Cluster> = None;
    let (mut kind, mut key) = ("redis".to_owned(), "socket.io".to_owned());
    let mut recovery = false;
    while let Some(arg) = args.next() {
        if arg == "--recovery" {
            recovery = true;
            continue;
        }
        let value = args.next();
        match (arg.as_str(), value) {
            ("--port", Some(p)) if p.parse::<u16>().is_ok() => port = p.parse().unwrap_or(port),
            ("--redis", Some(url)) => {
                cluster = Some(Cluster {
                    url,
                    adapter: String::new(),
                    key: String::new(),
                });
            }
            ("--adapter", Some(a))
                if ["redis", "redis-sharded", "redis-streams"].contains(&a.as_str()) =>
            {
                kind = a;
            }
            ("--key", Some(k)) => key = k,
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(cluster) = &mut cluster {
        cluster.adapter = kind;
        cluster.key = key;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = runtime.block_on(async move {
        let mut config = Config::default();
        if recovery {
            config.connection_state_recovery(socketio_server::RecoveryConfig::default());
        }
        if recovery && cluster.is_none() {
            // The default adapter, kept at hand to report what recovery stores.
            let main = std::sync::Arc::new(std::sync::OnceLock::new());
            let seen = main.clone();
            config.adapter(move |cx: &socketio_server::AdapterContext| {
                let adapter = std::sync::Arc::new(
                    InMemoryAdapter::new(cx.max_buffered, cx.slow_client)
                        .with_recovery(cx.recovery.clone()),
                );
                if cx.nsp == "/" {
                    let _ = seen.set(adapter.clone());
                }
                adapter
            });
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    if let Some(adapter) = main.get() {
                        let (packets, bytes, sessions) = adapter.recovery_stats();
                        eprintln!("recovery: packets={packets} bytes={bytes} sessions={sessions}");
                    }
                }
            });
        }
        if let Some(cluster) = cluster {
            adapter(&mut config, &cluster).await?;
        }
        let io = SocketIo::new(config);
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
        // A backlog of 1,024 (the bench contract's, and the peers'): `TcpListener::bind`'s
        // 128 overflows under hundreds of handshakes at once, and each overflow costs the
        // client a one-second SYN retransmit.
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
        let listener = socket.listen(1024)?;
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

#[cfg(feature = "redis")]
async fn adapter(config: &mut Config, cluster: &Cluster) -> std::io::Result<()> {
    use socketio_server::adapter::redis::{
        RedisAdapterConfig, RedisAdapterFactory, StreamsConfig, SubscriptionMode,
    };
    let mut redis_config = RedisAdapterConfig::default().key(cluster.key.clone());
    match cluster.adapter.as_str() {
        "redis-sharded" => redis_config = redis_config.sharded(SubscriptionMode::Dynamic),
        "redis-streams" => {
            redis_config = redis_config.streams(
                StreamsConfig::default()
                    .stream_name(cluster.key.clone())
                    .session_key_prefix(format!("{}:session:", cluster.key)),
            );
        }
        _ => {}
    }
    let redis = RedisAdapterFactory::connect(&cluster.url, redis_config)
        .await
        .map_err(std::io::Error::other)?;
    config.adapter(redis.factory());
    Ok(())
}

#[cfg(not(feature = "redis"))]
async fn adapter(_config: &mut Config, cluster: &Cluster) -> std::io::Result<()> {
    Err(std::io::Error::other(format!(
        "--redis {} (adapter {}, key {}) needs the redis feature: cargo run --features redis \
         --example bench-server",
        cluster.url, cluster.adapter, cluster.key
    )))
}
