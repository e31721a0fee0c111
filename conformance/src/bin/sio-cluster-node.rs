//! One node of a test cluster on our stack: `socketio-server` with the Redis adapter, driven
//! through the same control namespace `/ctl` as `node/cluster/node-server.js` (the Node
//! node), so that `node/cluster/scenarios.js` runs against any mix of Rust and Node nodes.
//!
//! ```text
//! sio-cluster-node [--port N] [--redis URL] [--key PREFIX] [--adapter classic|sharded|streams]
//!                  [--subscription-mode static|dynamic|dynamic-private]
//!                  [--requests-timeout MS] [--name NAME] [--silent-sse] [--msgpack]
//!                  [--recovery MS]
//! ```
//!
//! `--adapter streams` uses the streams adapter with the key as its stream name, channel
//! prefix and session key prefix (`<key>:session:`), as `node-server.js` does; `--recovery`
//! turns connection state recovery on with that window.
//!
//! Prints `listening <port>` once listening. The namespaces, client events, server-side
//! listeners and control events are those documented at the top of `node-server.js`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socketio_server::adapter::redis::{
    RedisAdapterConfig, RedisAdapterFactory, StreamsConfig, SubscriptionMode,
};
use socketio_server::{
    BroadcastOperator, Config, ParserKind, RecoveryConfig, Socket, SocketIo, Spread, Value,
};

const USAGE: &str = "usage: sio-cluster-node [--port N] [--redis URL] [--key PREFIX] \
[--adapter classic|sharded|streams] [--subscription-mode static|dynamic|dynamic-private] \
[--requests-timeout MS] [--name NAME] [--silent-sse] [--msgpack] [--recovery MS]";

struct Options {
    port: u16,
    redis: String,
    key: String,
    sharded: Option<SubscriptionMode>,
    streams: bool,
    recovery: Option<Duration>,
    requests_timeout: Duration,
    name: String,
    silent_sse: bool,
    parser: ParserKind,
}

fn parse(mut args: impl Iterator<Item = String>) -> Option<Options> {
    let mut o = Options {
        port: 0,
        redis: std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        key: "socket.io".into(),
        sharded: None,
        streams: false,
        recovery: None,
        requests_timeout: Duration::from_millis(1000),
        name: format!("rust-{}", std::process::id()),
        silent_sse: false,
        parser: ParserKind::Default,
    };
    let mut adapter = "classic".to_owned();
    let mut mode = SubscriptionMode::Dynamic;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--silent-sse" => o.silent_sse = true,
            "--msgpack" => o.parser = ParserKind::MsgPack,
            "--port" => o.port = args.next()?.parse().ok()?,
            "--redis" => o.redis = args.next()?,
            "--key" => o.key = args.next()?,
            "--adapter" => adapter = args.next()?,
            "--subscription-mode" => {
                mode = match args.next()?.as_str() {
                    "static" => SubscriptionMode::Static,
                    "dynamic" => SubscriptionMode::Dynamic,
                    "dynamic-private" => SubscriptionMode::DynamicPrivate,
                    _ => return None,
                }
            }
            "--requests-timeout" => {
                o.requests_timeout = Duration::from_millis(args.next()?.parse().ok()?);
            }
            "--name" => o.name = args.next()?,
            "--recovery" => {
                o.recovery = Some(Duration::from_millis(args.next()?.parse().ok()?));
            }
            _ => return None,
        }
    }
    o.sharded = match adapter.as_str() {
        "classic" => None,
        "sharded" => Some(mode),
        "streams" => {
            o.streams = true;
            None
        }
        _ => return None,
    };
    Some(o)
}

fn main() -> ExitCode {
    let Some(options) = parse(std::env::args().skip(1)) else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sio-cluster-node: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(o: Options) -> Result<(), Box<dyn std::error::Error>> {
    let mut redis_config = RedisAdapterConfig::default()
        .key(o.key.clone())
        .requests_timeout(o.requests_timeout);
    if let Some(mode) = o.sharded {
        redis_config = redis_config.sharded(mode);
    }
    if o.streams {
        redis_config = redis_config.streams(
            StreamsConfig::default()
                .stream_name(o.key.clone())
                .session_key_prefix(format!("{}:session:", o.key)),
        );
    }
    let redis = RedisAdapterFactory::connect(&o.redis, redis_config).await?;
    let mut config = Config::default();
    if let Some(window) = o.recovery {
        config.connection_state_recovery(
            RecoveryConfig::default().max_disconnection_duration(window),
        );
    }
    config.parser(o.parser);
    config.adapter(redis.factory());
    let io = SocketIo::new(config);
    let node = Arc::new(Node {
        io: io.clone(),
        name: o.name.clone(),
        silent_sse: o.silent_sse,
        requests_timeout: o.requests_timeout,
        log: Mutex::new(Vec::new()),
    });
    serve_clients(&io, "/");
    serve_clients(&io, "/custom");
    for event in ["sse", "sse-ack"] {
        let node = node.clone();
        io.of("/").on_server_side(event, move |mut msg| {
            let node = node.clone();
            async move {
                let mut entry = vec![Value::String(msg.event().to_owned())];
                entry.extend(msg.args::<Vec<Value>>().unwrap_or_default());
                node.log
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(Value::Array(entry));
                if msg.event() == "sse-ack" && !node.silent_sse {
                    let _ = msg.ack(&node.name);
                }
            }
        });
    }
    let control = node.clone();
    io.of("/ctl").on_connection(move |socket| {
        let node = control.clone();
        async move {
            socket.on_any(move |_socket, mut msg| {
                let node = node.clone();
                async move {
                    let request = msg
                        .args::<Vec<Value>>()
                        .ok()
                        .and_then(|a| a.into_iter().next())
                        .unwrap_or(Value::Object(Vec::new()));
                    let result = match node.handle(msg.event(), &request).await {
                        Ok(result) => result,
                        Err(e) => obj(vec![("error", Value::String(e))]),
                    };
                    let _ = msg.ack(&(result,));
                }
            });
        }
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", o.port)).await?;
    let port = listener.local_addr()?.port();
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening {port}")?;
    stdout.flush()?;
    io.serve(listener).await?;
    Ok(())
}

fn serve_clients(io: &SocketIo, nsp: &str) {
    io.of(nsp).on_connection(|socket: Socket| async move {
        let auth = socket.handshake().auth.clone();
        if let Some(Value::Array(rooms)) = get(&auth, "rooms") {
            socket.join(strings(rooms));
        }
        if let Some(data) = get(&auth, "data") {
            let _ = socket.set_data(data);
        }
        socket.on("join", |socket, mut msg| async move {
            let (rooms,): (Value,) = msg.args().unwrap_or((Value::Null,));
            socket.join(match rooms {
                Value::Array(rooms) => strings(&rooms),
                Value::String(room) => vec![room],
                _ => Vec::new(),
            });
            let _ = msg.ack(&());
        });
        socket.on("leave", |socket, mut msg| async move {
            let (room,): (String,) = msg.args().unwrap_or_default();
            socket.leave(&room);
            let _ = msg.ack(&());
        });
        socket.on("set-data", |socket, mut msg| async move {
            let (data,): (Value,) = msg.args().unwrap_or((Value::Null,));
            let _ = socket.set_data(&data);
            let _ = msg.ack(&());
        });
        // The server closes the client's transport (a recoverable reason).
        socket.on("cut", |socket, _msg| async move {
            socket.close_transport();
        });
    });
}

struct Node {
    io: SocketIo,
    name: String,
    silent_sse: bool,
    requests_timeout: Duration,
    log: Mutex<Vec<Value>>,
}

impl Node {
    fn operator(&self, o: &Value) -> BroadcastOperator {
        let mut op = self.io.of(nsp(o)).broadcast();
        let rooms = list(o, "rooms");
        if !rooms.is_empty() {
            op = op.to(rooms);
        }
        let except = list(o, "except");
        if !except.is_empty() {
            op = op.except(except);
        }
        if get(o, "local") == Some(&Value::Bool(true)) {
            op = op.local();
        }
        op
    }

    async fn handle(&self, event: &str, o: &Value) -> Result<Value, String> {
        let ok = || obj(Vec::new());
        let args = match get(o, "args") {
            Some(Value::Array(args)) => args.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(other) => vec![other.clone()],
        };
        let name = get(o, "event")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match event {
            "info" => Ok(obj(vec![
                ("name", Value::String(self.name.clone())),
                ("kind", Value::String("rust".into())),
            ])),
            "emit" => {
                let mut op = self.operator(o);
                if get(o, "volatile") == Some(&Value::Bool(true)) {
                    op = op.volatile();
                }
                op.emit(&name, &Spread(&args)).map_err(|e| e.to_string())?;
                Ok(ok())
            }
            "emit-with-ack" => {
                let op = self
                    .operator(o)
                    .timeout(millis(o, "timeout").unwrap_or(Duration::from_secs(5)));
                let (error, responses) = match op.emit_with_ack(&name, &Spread(&args)).await {
                    Ok(responses) => (Value::Null, responses),
                    Err(socketio_server::BroadcastAckError::Timeout { responses }) => {
                        (Value::String("operation has timed out".into()), responses)
                    }
                    Err(e) => return Err(e.to_string()),
                };
                let responses = responses
                    .iter()
                    .map(|r| {
                        r.args::<Vec<Value>>()
                            .ok()
                            .and_then(|a| a.into_iter().next())
                            .unwrap_or(Value::Null)
                    })
                    .collect();
                Ok(obj(vec![
                    ("error", error),
                    ("responses", Value::Array(responses)),
                ]))
            }
            "fetch" | "local-sockets" => {
                let mut op = if event == "fetch" {
                    self.operator(o)
                } else {
                    self.io.of(nsp(o)).local()
                };
                if let Some(timeout) = millis(o, "timeout") {
                    op = op.timeout(timeout);
                }
                let sockets = op.fetch_sockets().await.map_err(|e| e.to_string())?;
                let sockets = sockets
                    .iter()
                    .map(|s| {
                        obj(vec![
                            ("id", Value::String(s.id().to_owned())),
                            (
                                "rooms",
                                Value::Array(
                                    s.rooms().iter().cloned().map(Value::String).collect(),
                                ),
                            ),
                            ("data", s.data::<Value>().unwrap_or(Value::Null)),
                            ("handshake", to_value(s.handshake())),
                        ])
                    })
                    .collect();
                Ok(obj(vec![("sockets", Value::Array(sockets))]))
            }
            "sockets-join" => {
                self.operator(o).sockets_join(list(o, "join"));
                Ok(ok())
            }
            "sockets-leave" => {
                self.operator(o).sockets_leave(list(o, "leave"));
                Ok(ok())
            }
            "disconnect-sockets" => {
                self.operator(o)
                    .disconnect_sockets(get(o, "close") == Some(&Value::Bool(true)));
                Ok(ok())
            }
            "remote" => {
                let id = get(o, "id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let sockets = self
                    .io
                    .of(nsp(o))
                    .to(id)
                    .fetch_sockets()
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(s) = sockets.first() {
                    match get(o, "op").and_then(Value::as_str) {
                        Some("emit") => s.emit(&name, &Spread(&args)).map_err(|e| e.to_string())?,
                        Some("join") => s.join(list(o, "rooms")),
                        Some("leave") => {
                            if let Some(room) = list(o, "rooms").first() {
                                s.leave(room);
                            }
                        }
                        Some("disconnect") => {
                            s.disconnect(get(o, "close") == Some(&Value::Bool(true)))
                        }
                        Some("emit-with-ack") => {
                            let timeout = millis(o, "timeout").unwrap_or(Duration::from_secs(5));
                            let found = ("found", Value::Number((sockets.len() as u64).into()));
                            let spread = Spread(&args);
                            let remote = s.timeout(timeout);
                            return Ok(match remote.emit_with_ack(&name, &spread).await {
                                Ok(response) => {
                                    let first = response
                                        .args::<Vec<Value>>()
                                        .ok()
                                        .and_then(|a| a.into_iter().next())
                                        .unwrap_or(Value::Null);
                                    obj(vec![found, ("response", first)])
                                }
                                Err(e) => obj(vec![found, ("error", Value::String(e.to_string()))]),
                            });
                        }
                        other => return Err(format!("unknown remote op {other:?}")),
                    }
                }
                Ok(obj(vec![(
                    "found",
                    Value::Number((sockets.len() as u64).into()),
                )]))
            }
            "server-side-emit" => {
                let ns = self.io.of("/");
                if get(o, "ack") != Some(&Value::Bool(true)) {
                    ns.server_side_emit(&name, &Spread(&args))
                        .await
                        .map_err(|e| e.to_string())?;
                    return Ok(ok());
                }
                let (error, responses) = match ns
                    .server_side_emit_with_ack(&name, &Spread(&args), self.requests_timeout)
                    .await
                {
                    Ok(responses) => (Value::Null, responses),
                    Err(socketio_server::adapter::AdapterError::Timeout { message, responses }) => {
                        (Value::String(message), responses)
                    }
                    Err(e) => return Err(e.to_string()),
                };
                Ok(obj(vec![
                    ("error", error),
                    ("responses", Value::Array(responses)),
                ]))
            }
            "server-count" => {
                let count = self.io.of(nsp(o)).server_count().await;
                Ok(obj(vec![("count", Value::Number((count as u64).into()))]))
            }
            "sse-log" => {
                let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
                let events = Value::Array(log.clone());
                if get(o, "clear") == Some(&Value::Bool(true)) {
                    log.clear();
                }
                Ok(obj(vec![("events", events)]))
            }
            other => Err(format!("unknown control event {other}")),
        }
    }
}

fn obj(fields: Vec<(&str, Value)>) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn get<'a>(o: &'a Value, key: &str) -> Option<&'a Value> {
    match o {
        Value::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

fn nsp(o: &Value) -> &str {
    get(o, "nsp").and_then(Value::as_str).unwrap_or("/")
}

fn strings(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// A field holding a room or a list of rooms.
fn list(o: &Value, key: &str) -> Vec<String> {
    match get(o, key) {
        Some(Value::Array(values)) => strings(values),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn millis(o: &Value, key: &str) -> Option<Duration> {
    match get(o, key) {
        Some(Value::Number(n)) => n.as_f64().map(|ms| Duration::from_millis(ms as u64)),
        _ => None,
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    socketio_proto::Payload::json(value)
        .ok()
        .and_then(|p| p.deserialize().ok())
        .unwrap_or(Value::Null)
}
