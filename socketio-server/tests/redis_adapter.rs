//! The Redis adapter in-process, on a real Redis: what the cluster scenario suite
//! (`conformance/tests/cluster_interop.rs`, with Node nodes) cannot drive from outside —
//! Redis going away and coming back, garbage on the channels and in the stream, forged
//! recovery sessions, and our emitter.
//!
//! Redis comes from `REDIS_URL` (default `redis://127.0.0.1:6379`); the restart test starts
//! a private `redis-server` on a free port. Without them the tests are skipped with a
//! message, unless `CI` is set, where they fail. Each test uses its own channel prefix.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use common::{Client, WAIT, capture_logs, config, start};
use socketio_server::adapter::redis::{
    Emitter, RedisAdapterConfig, RedisAdapterFactory, StreamsConfig, SubscriptionMode,
};
use socketio_server::{RecoveryConfig, Socket, SocketIo};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout};

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// True when Redis answers at `url`; otherwise skips (fails under `CI`).
fn redis_ready(url: &str, what: &str) -> bool {
    let ok = redis::Client::open(url)
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        .is_ok();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "Redis is not reachable at {url}: the {what} test needs it (set REDIS_URL)"
        );
        eprintln!("SKIPPED {what}: Redis is not reachable at {url} (set REDIS_URL)");
    }
    ok
}

fn unique_key(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("test-{name}-{}-{nanos}", std::process::id())
}

/// A node: a server with the Redis adapter whose sockets join room "r".
async fn node(
    url: &str,
    redis_config: RedisAdapterConfig,
) -> (SocketIo, RedisAdapterFactory, SocketAddr) {
    let redis = RedisAdapterFactory::connect(url, redis_config)
        .await
        .unwrap();
    let mut config = config();
    config.adapter(redis.factory());
    let io = SocketIo::new(config);
    io.of("/").on_connection(|socket: Socket| async move {
        socket.join("r");
    });
    let addr = start(&io).await;
    (io, redis, addr)
}

/// Waits until `io` counts `n` nodes (their subscriptions are in place).
async fn wait_for_nodes(io: &SocketIo, n: usize) {
    let deadline = Instant::now() + WAIT;
    while io.of("/").server_count().await != n {
        assert!(Instant::now() < deadline, "waiting for {n} nodes");
        sleep(Duration::from_millis(20)).await;
    }
}

/// A client of `addr`, in room "r".
async fn member(addr: SocketAddr) -> Client {
    let mut client = Client::connect(addr).await;
    assert!(client.join("/").await.starts_with("40{"));
    client
}

#[tokio::test(flavor = "current_thread")]
async fn malformed_messages_on_the_channels_are_ignored_with_a_trace_and_the_node_goes_on() {
    let url = redis_url();
    if !redis_ready(&url, "malformed channel messages") {
        return;
    }
    let (logs, _guard) = capture_logs();
    for sharded in [false, true] {
        let key = unique_key("garbage");
        let mut cfg = RedisAdapterConfig::default().key(key.clone());
        if sharded {
            cfg = cfg.sharded(SubscriptionMode::DynamicPrivate);
        }
        let (a, _ra, _) = node(&url, cfg.clone()).await;
        let (b, _rb, b_addr) = node(&url, cfg).await;
        wait_for_nodes(&a, 2).await;
        let mut client = member(b_addr).await;
        // Let the client's room subscription (dynamic-private) settle.
        sleep(Duration::from_millis(100)).await;
        let mut conn = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let publish = if sharded { "SPUBLISH" } else { "PUBLISH" };
        let channels = if sharded {
            vec![format!("{key}#/#"), format!("{key}#/#r#")]
        } else {
            vec![
                format!("{key}#/#"),
                format!("{key}#/#r#"),
                format!("{key}-request#/#"),
                format!("{key}-response#/#"),
            ]
        };
        let garbage: [&[u8]; 6] = [
            b"",
            b"{",
            b"\xc1",
            b"\x93\xa1x",
            b"{\"type\":99,\"uid\":\"x\",\"nsp\":\"/\"}",
            b"\xdd\xff\xff\xff\xff",
        ];
        for channel in &channels {
            for bytes in garbage {
                redis::cmd(publish)
                    .arg(channel)
                    .arg(bytes)
                    .exec_async(&mut conn)
                    .await
                    .unwrap();
            }
        }
        // The node still works: a broadcast from the other node reaches its client.
        a.to("r").emit("after", &1).unwrap();
        assert_eq!(client.recv().await, r#"42["after",1]"#);
        drop(b);
    }
    let line = logs.wait_for(&["WARN", "malformed"]).await;
    assert!(line.contains("ignored"), "{line}");
}

#[tokio::test]
async fn the_emitter_reaches_the_clients_and_listeners_of_a_rust_node() {
    let url = redis_url();
    if !redis_ready(&url, "Rust emitter") {
        return;
    }
    let key = unique_key("emitter");
    let (io, _redis, addr) = node(&url, RedisAdapterConfig::default().key(key.clone())).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.of("/").on_server_side("job-done", move |msg| {
        let tx = tx.clone();
        async move {
            let (n,): (u32,) = msg.args().unwrap();
            tx.send(n).unwrap();
        }
    });
    wait_for_nodes(&io, 1).await;
    let mut client = member(addr).await;
    // The subscriptions are in place once the node counts itself.
    let emitter = Emitter::connect(&url, &key).await.unwrap();

    emitter
        .to("r")
        .emit("news", &("hi", Bytes::from_static(&[1, 2])))
        .await
        .unwrap();
    assert_eq!(
        client.recv().await,
        r#"451-["news","hi",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(client.recv().await, "<binary 0102>");

    emitter.except("r").emit("nobody", &()).await.unwrap();
    emitter.of("other").emit("elsewhere", &()).await.unwrap();
    emitter.to("r").sockets_join("s").await.unwrap();
    // Requests and broadcasts are on different channels: wait for the join to land.
    let deadline = Instant::now() + WAIT;
    while io.of("/").to("s").fetch_sockets().await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "sockets_join did not arrive");
        sleep(Duration::from_millis(20)).await;
    }
    emitter.to("s").emit("in-s", &()).await.unwrap();
    assert_eq!(client.recv().await, r#"42["in-s"]"#);

    emitter.server_side_emit("job-done", &(7,)).await.unwrap();
    assert_eq!(timeout(WAIT, rx.recv()).await.unwrap(), Some(7));

    assert!(emitter.emit("disconnect", &()).await.is_err());
    emitter.disconnect_sockets(false).await.unwrap();
    assert_eq!(client.recv().await, "41");
}

/// A private `redis-server` that can be stopped and started again on the same port.
struct PrivateRedis {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let dir = std::env::temp_dir().join(unique_key("redis"));
        std::fs::create_dir_all(&dir).ok()?;
        let mut redis = Self {
            port,
            dir,
            child: None,
        };
        redis.up().then_some(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn up(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else { return false };
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.down();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn broadcasts_lost_while_redis_is_down_are_reported_and_flow_again_once_it_is_back() {
    let Some(mut redis) = PrivateRedis::start() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server could not be started: the Redis restart test needs it"
        );
        eprintln!("SKIPPED Redis restart: redis-server could not be started");
        return;
    };
    let (logs, _guard) = capture_logs();
    let url = redis.url();
    let cfg = RedisAdapterConfig::default().key(unique_key("restart"));
    let (a, ra, _) = node(&url, cfg.clone()).await;
    let (b, _rb, b_addr) = node(&url, cfg).await;
    wait_for_nodes(&a, 2).await;
    let mut client = member(b_addr).await;
    a.to("r").emit("before", &()).unwrap();
    assert_eq!(client.recv().await, r#"42["before"]"#);

    redis.down();
    // Published while Redis is down: after the reconnection attempts give up, the message
    // is counted and logged, never dropped without a trace.
    a.to("r").emit("during", &()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while ra.unpublished() == 0 {
        assert!(
            Instant::now() < deadline,
            "the lost broadcast was not reported"
        );
        sleep(Duration::from_millis(50)).await;
    }
    logs.wait_for(&["WARN", "not published"]).await;

    assert!(redis.up(), "redis-server did not come back");
    // Both connections of both nodes reconnect and resubscribe by themselves.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut k = 0;
    loop {
        a.to("r").emit("after", &k).unwrap();
        if let Ok(Ok(msg)) = timeout(Duration::from_millis(300), async {
            Ok::<_, ()>(client.recv().await)
        })
        .await
        {
            if msg.starts_with(r#"42["after""#) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "broadcasts did not flow again:\n{}",
            logs.text()
        );
        k += 1;
    }
    logs.wait_for(&["subscriber connection is back"]).await;
    drop(b);
}

/// The fixture cases recorded from `@socket.io/redis-emitter` 5.1.0 (channel with the key
/// `fixture`, and the bytes), in recording order.
fn emitter_fixtures() -> Vec<(String, Vec<u8>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../conformance/fixtures/cluster/classic.json"
    );
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    cases
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with("emitter "))
        .map(|c| {
            let bytes = match (c["json"].as_str(), c["binary_hex"].as_str()) {
                (Some(json), _) => json.as_bytes().to_vec(),
                (None, Some(hex)) => (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect(),
                (None, None) => panic!("no bytes in {c}"),
            };
            (c["channel"].as_str().unwrap().to_owned(), bytes)
        })
        .collect()
}

#[tokio::test]
async fn the_emitter_publishes_byte_for_byte_what_the_node_emitter_publishes() {
    let url = redis_url();
    if !redis_ready(&url, "emitter bytes") {
        return;
    }
    let key = unique_key("emitter-bytes");
    let mut pubsub = redis::Client::open(url.as_str())
        .unwrap()
        .get_async_pubsub()
        .await
        .unwrap();
    pubsub.psubscribe(format!("{key}*")).await.unwrap();
    let emitter = Emitter::connect(&url, &key).await.unwrap();
    // The operations the fixtures recorded, in order.
    emitter
        .emit("hello", &(1, Bytes::from_static(&[1, 2, 3])))
        .await
        .unwrap();
    emitter
        .to("room2")
        .except("sid-b2______________")
        .volatile()
        .emit("hello", &"e")
        .await
        .unwrap();
    emitter
        .of("/chat")
        .to(["room1", "room2"])
        .compress(false)
        .emit("hello", &())
        .await
        .unwrap();
    emitter.to("room1").sockets_join("room6").await.unwrap();
    emitter.sockets_leave("room6").await.unwrap();
    emitter
        .server_side_emit("ping", &"from emitter")
        .await
        .unwrap();
    emitter.to("room6").disconnect_sockets(false).await.unwrap();

    let mut messages = pubsub.on_message();
    for (channel, bytes) in emitter_fixtures() {
        let message = timeout(WAIT, futures_util::StreamExt::next(&mut messages))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            message.get_channel_name(),
            channel.replacen("fixture", &key, 1),
            "channel"
        );
        assert_eq!(
            message.get_payload_bytes(),
            bytes.as_slice(),
            "on {channel}: ours {:?}",
            String::from_utf8_lossy(message.get_payload_bytes())
        );
    }
}

#[tokio::test]
async fn with_publish_on_specific_response_channel_answers_go_to_the_requesters_own_channel() {
    let url = redis_url();
    if !redis_ready(&url, "specific response channel") {
        return;
    }
    let key = unique_key("specific");
    let cfg = RedisAdapterConfig::default()
        .key(key.clone())
        .publish_on_specific_response_channel(true);
    let (a, _ra, _) = node(&url, cfg.clone()).await;
    let (_b, _rb, b_addr) = node(&url, cfg).await;
    wait_for_nodes(&a, 2).await;
    let _client = member(b_addr).await;
    let mut pubsub = redis::Client::open(url.as_str())
        .unwrap()
        .get_async_pubsub()
        .await
        .unwrap();
    pubsub
        .psubscribe(format!("{key}-response#*"))
        .await
        .unwrap();

    let sockets = a.of("/").fetch_sockets().await.unwrap();
    assert_eq!(sockets.len(), 1);
    assert_eq!(sockets[0].rooms().len(), 2, "{:?}", sockets[0].rooms());

    let message = timeout(
        WAIT,
        futures_util::StreamExt::next(&mut pubsub.on_message()),
    )
    .await
    .unwrap()
    .unwrap();
    let channel = message.get_channel_name().to_owned();
    let prefix = format!("{key}-response#/#");
    let uid = channel
        .strip_prefix(&prefix)
        .and_then(|u| u.strip_suffix('#'));
    assert!(
        uid.is_some_and(|u| u.len() == 6),
        "the answer went to {channel}, not to a requester's own channel"
    );
}

/// A node with the streams adapter and connection state recovery; its sockets of `/` join
/// room "r", and it also serves `/other`.
async fn streams_node(url: &str, key: &str) -> (SocketIo, RedisAdapterFactory, SocketAddr) {
    let redis_config = RedisAdapterConfig::default().key(key).streams(
        StreamsConfig::default()
            .stream_name(key)
            .session_key_prefix(format!("{key}:session:"))
            .block_time(Duration::from_millis(500)),
    );
    let redis = RedisAdapterFactory::connect(url, redis_config)
        .await
        .unwrap();
    let mut config = config();
    config.adapter(redis.factory());
    config.connection_state_recovery(RecoveryConfig::default());
    let io = SocketIo::new(config);
    io.of("/").on_connection(|socket: Socket| async move {
        socket.join("r");
    });
    io.of("/other")
        .on_connection(|_socket: Socket| async move {});
    let addr = start(&io).await;
    (io, redis, addr)
}

/// The `sid` and `pid` of a CONNECT reply.
fn sid_pid(reply: &str) -> (String, String) {
    let body = reply
        .split_once('{')
        .map(|(_, b)| format!("{{{b}"))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    (
        v["sid"].as_str().unwrap_or_default().to_owned(),
        v["pid"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "current_thread")]
async fn with_the_streams_adapter_garbage_in_the_stream_is_ignored_and_a_forged_or_foreign_pid_gets_a_fresh_session()
 {
    let url = redis_url();
    if !redis_ready(&url, "streams adapter bad input") {
        return;
    }
    let (logs, _guard) = capture_logs();
    let key = unique_key("streams");
    let (a, _ra, a_addr) = streams_node(&url, &key).await;
    let (_b, _rb, b_addr) = streams_node(&url, &key).await;
    wait_for_nodes(&a, 2).await;
    let mut client = Client::connect(b_addr).await;
    client.send("40").await;
    let reply = client.recv().await;
    let (sid, pid) = sid_pid(&reply);
    assert!(
        !pid.is_empty(),
        "recovery on: the CONNECT reply carries a pid: {reply}"
    );
    // Until the stream readers are in place, a broadcast may precede them: retry.
    let deadline = Instant::now() + WAIT;
    let first = loop {
        a.to("r").emit("first", &1).unwrap();
        if let Ok(text) = timeout(Duration::from_millis(300), client.recv()).await {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "the stream readers never delivered"
        );
    };
    assert!(first.starts_with(r#"42["first",1,""#), "{first}");

    // Garbage written to the stream, as another program could.
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let garbage: [&[(&str, &[u8])]; 7] = [
        &[("foo", b"bar")],
        &[("nsp", b"/")],
        &[("uid", b"x"), ("nsp", b"/"), ("type", b"3"), ("data", b"{")],
        &[
            ("uid", b"x"),
            ("nsp", b"/"),
            ("type", b"3"),
            ("data", b"!!not base64"),
        ],
        &[("uid", b"x"), ("nsp", b"/"), ("type", b"99")],
        &[
            ("uid", b"x"),
            ("nsp", b"/"),
            ("type", b"3"),
            ("data", br#"{"packet":1}"#),
        ],
        &[
            ("uid", b"x"),
            ("nsp", b"/"),
            ("type", b"three"),
            ("data", b"\xff\xfe"),
        ],
    ];
    for fields in garbage {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&key).arg("*");
        for (k, v) in fields {
            cmd.arg(*k).arg(*v);
        }
        cmd.exec_async(&mut conn).await.unwrap();
    }
    // The nodes go on: the next broadcast arrives, with its offset, once.
    a.to("r").emit("after", &2).unwrap();
    let after = client.recv().await;
    assert!(after.starts_with(r#"42["after",2,""#), "{after}");
    let offset = after
        .trim_end_matches("\"]")
        .rsplit('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        socketio_proto::cluster::streams::is_offset(&offset),
        "{after}"
    );
    logs.wait_for(&["WARN", "malformed stream entry"]).await;

    // A forged pid: a fresh session.
    let mut forged = Client::connect(a_addr).await;
    forged.send(r#"40{"pid":"forged","offset":"1-0"}"#).await;
    let (forged_sid, forged_pid) = sid_pid(&forged.recv().await);
    assert!(forged_sid != sid && forged_pid != "forged");

    // The real pid presented in another namespace: a fresh session there, never this
    // socket's id (its middlewares are not skipped with another namespace's pid).
    drop(client);
    sleep(Duration::from_millis(300)).await;
    let mut foreign = Client::connect(a_addr).await;
    foreign
        .send(&format!(
            r#"40/other,{{"pid":"{pid}","offset":"{offset}"}}"#
        ))
        .await;
    let reply = foreign.recv().await;
    let (foreign_sid, _) = sid_pid(&reply);
    assert!(reply.starts_with("40/other,"), "{reply}");
    assert_ne!(
        foreign_sid, sid,
        "another namespace's session was restored: {reply}"
    );

    let _ = redis::cmd("DEL").arg(&key).exec_async(&mut conn).await;
}

/// The channels of `key` with a subscriber on Redis.
async fn subscribed_channels(url: &str, key: &str) -> Vec<String> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut channels: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .arg(format!("{key}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    channels.sort();
    channels
}

#[tokio::test(flavor = "current_thread")]
async fn an_empty_child_namespace_released_with_cleanup_unsubscribes_its_channels() {
    let url = redis_url();
    if !redis_ready(&url, "child namespace cleanup") {
        return;
    }
    let key = unique_key("cleanup");
    let redis = RedisAdapterFactory::connect(&url, RedisAdapterConfig::default().key(&key))
        .await
        .unwrap();
    let mut config = config();
    config
        .adapter(redis.factory())
        .cleanup_empty_child_namespaces(true);
    let io = SocketIo::new(config);
    io.of_dynamic(|name| name.starts_with("/doc-"))
        .on_connection(|_| async {});
    let addr = start(&io).await;
    let mut client = Client::connect(addr).await;
    assert!(client.join("/doc-1").await.starts_with("40/doc-1,"));
    let deadline = Instant::now() + WAIT;
    while !subscribed_channels(&url, &key)
        .await
        .iter()
        .any(|c| c.contains("/doc-1"))
    {
        assert!(
            Instant::now() < deadline,
            "the child's channels are subscribed"
        );
        sleep(Duration::from_millis(20)).await;
    }
    client.send("41/doc-1,").await;
    let deadline = Instant::now() + WAIT;
    loop {
        let channels = subscribed_channels(&url, &key).await;
        if !channels.iter().any(|c| c.contains("/doc-1")) {
            break;
        }
        assert!(Instant::now() < deadline, "still subscribed: {channels:?}");
        sleep(Duration::from_millis(20)).await;
    }
}
