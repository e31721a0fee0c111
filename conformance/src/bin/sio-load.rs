//! A raw-protocol load generator for a Socket.IO server over WebSocket (no client library).
//!
//! ```text
//! sio-load idle --url ws://127.0.0.1:3000 --connections 10000 --pid SERVER_PID \
//!               [--steps 0,1000,5000,10000] [--hold SECONDS] [--sources N]
//! sio-load echo --url ws://127.0.0.1:3000 --count 10000 [--size 16] [--pid SERVER_PID]
//! sio-load broadcast --url ws://127.0.0.1:3000[,ws://…] [--connections 1000] [--count 200] \
//!                    [--size 16] [--rate EMITS_PER_S] [--timeout SECONDS] [--pid PID[,PID…]]
//! ```
//!
//! - `idle`: opens WebSocket Socket.IO connections (EIO=4, CONNECT to `/`, every ping
//!   answered) up to each step, waits for the server to settle, reads the server's `VmRSS`
//!   from `/proc/PID/status`, and prints a table and the least-squares slope in bytes per
//!   connection. Needs about one file descriptor per connection (raise `ulimit -n`).
//!   `--hold` keeps the connections open that long after the last step, with their
//!   heartbeats, and reports the server's CPU meanwhile and the connections lost.
//!   `--sources N` spreads the connections over the source addresses 127.0.0.1 to
//!   127.0.0.N (one address pair runs out of ports near 28,000 connections).
//! - `echo`: one connection, `count` sequential `42["echo",…]` round trips (the server
//!   emits `echo` back), then `count` `42<id>["echo_ack",…]` round trips answered by an ack;
//!   prints p50/p99/mean latency in µs and round trips per second for each, and with
//!   `--pid` the server's CPU time per round trip (all its threads, from
//!   `/proc/PID/task/*/schedstat`).
//! - `broadcast`: `connections` receivers each emit `join` (`bench`) with an ack and wait
//!   for it; then one more connection, the sender (not in the room), emits `count`
//!   `42["broadcast","SEQ:NANOS:xxx…"]` (`size` bytes of padding), all at once (the default)
//!   or paced at `--rate` emits per second. Every receiver checks what it gets: each SEQ
//!   exactly once, in order, nothing else. The run ends when every expected message has
//!   arrived, or nothing arrived for 2 s, or after `--timeout`. Prints deliveries per second
//!   (first emit to last delivery), delivery latency p50/p99 (emit to receipt), expected vs
//!   delivered (any loss, duplicate or reordering is reported loudly and the exit status is
//!   1), and with `--pid` the server's CPU time per delivery (from `schedstat`, and from
//!   `utime+stime` of `/proc/PID/stat` as a cross-check) and how much its `VmRSS` grew per
//!   receiver over the run (buffers kept after a burst), then one `summary:` line of
//!   `key=value` pairs for scripts. With several comma-separated URLs (the nodes of a
//!   cluster sharing a Redis adapter), the receivers are spread over them in turn and the
//!   sender is on the first: every broadcast crosses nodes; `--pid` then takes the nodes'
//!   PIDs, and their CPU time and RSS are summed.
//!
//! The server is expected to serve `/socket.io/` on `/` as `bench-server` does
//! (`cargo run --release -p socketio-server --example bench-server`). The tool runs on one
//! thread, so the server keeps the other cores.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

const USAGE: &str = "usage:
  sio-load idle --url ws://HOST:PORT --connections N --pid SERVER_PID [--steps 0,1000,5000,10000] [--hold SECONDS] [--sources N]
  sio-load echo --url ws://HOST:PORT --count N [--size BYTES] [--pid SERVER_PID]
  sio-load broadcast --url ws://HOST:PORT[,ws://HOST:PORT…] [--connections 1000] [--count 200]
                     [--size BYTES] [--rate EMITS_PER_S] [--timeout SECONDS] [--pid PID[,PID…]]";

/// Time allowed for one connection's TCP + WebSocket + Socket.IO handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for one echo round trip.
const ROUND_TRIP_TIMEOUT: Duration = Duration::from_secs(5);
/// Handshakes in flight at once while opening idle connections.
const CONNECT_CONCURRENCY: usize = 64;
/// Settling: the server's RSS is sampled this often ...
const SETTLE_INTERVAL: Duration = Duration::from_millis(250);
/// ... until it moves by less than this between two samples ...
const SETTLE_TOLERANCE_KB: u64 = 64;
/// ... or this much time has passed.
const SETTLE_MAX: Duration = Duration::from_secs(10);
/// Untimed round trips before the measured ones.
const WARMUP: usize = 200;
/// A broadcast run with deliveries missing ends after this long without any delivery.
const QUIET: Duration = Duration::from_secs(2);
/// After the last expected delivery, receivers keep listening this long for extra messages.
const GRACE: Duration = Duration::from_millis(300);
/// How often the broadcast run checks its progress.
const PROGRESS_TICK: Duration = Duration::from_millis(10);

type Ws = WebSocketStream<TcpStream>;
type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((mode, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let options = match Options::parse(rest) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("sio-load: {e}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = match mode.as_str() {
        "idle" => runtime.block_on(idle(options)),
        "echo" => runtime.block_on(echo(options)),
        "broadcast" => runtime.block_on(broadcast(options)),
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sio-load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The command line options of the subcommands (`None`: the subcommand's default).
struct Options {
    url: String,
    connections: Option<usize>,
    pid: Option<u32>,
    /// Every `--pid` given (comma-separated): the nodes of a cluster for `broadcast`.
    pids: Vec<u32>,
    steps: Option<Vec<usize>>,
    hold: Duration,
    /// Source addresses 127.0.0.1..=127.0.0.N for `idle`.
    sources: u8,
    count: Option<usize>,
    size: usize,
    rate: f64,
    timeout: Duration,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, Error> {
        let mut options = Self {
            url: "ws://127.0.0.1:3000".to_owned(),
            connections: None,
            pid: None,
            pids: Vec::new(),
            steps: None,
            hold: Duration::ZERO,
            sources: 1,
            count: None,
            size: 16,
            rate: 0.0,
            timeout: Duration::from_secs(60),
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--url" => options.url.clone_from(value),
                "--connections" => options.connections = Some(value.parse()?),
                "--pid" => {
                    options.pids = value
                        .split(',')
                        .map(|p| p.trim().parse())
                        .collect::<Result<Vec<u32>, _>>()?;
                    options.pid = options.pids.first().copied();
                }
                "--steps" => {
                    let steps = value
                        .split(',')
                        .map(|s| s.trim().parse())
                        .collect::<Result<Vec<usize>, _>>()?;
                    options.steps = Some(steps);
                }
                "--hold" => options.hold = Duration::from_secs_f64(value.parse()?),
                "--sources" => options.sources = value.parse::<u8>()?.max(1),
                "--count" => options.count = Some(value.parse()?),
                "--size" => options.size = value.parse()?,
                "--rate" => {
                    options.rate = value.parse()?;
                    if !(options.rate >= 0.0 && options.rate.is_finite()) {
                        return Err("--rate must be a finite number >= 0".into());
                    }
                }
                "--timeout" => options.timeout = Duration::try_from_secs_f64(value.parse()?)?,
                _ => return Err(format!("unknown option {flag}").into()),
            }
        }
        Ok(options)
    }

    /// `host:port` and the WebSocket URL of the Socket.IO endpoint.
    fn endpoint(&self) -> Result<(String, String), Error> {
        endpoint_of(&self.url)
    }
}

/// `host:port` and the WebSocket URL of the Socket.IO endpoint `url`.
fn endpoint_of(url: &str) -> Result<(String, String), Error> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or("--url must start with ws://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let path = match path {
        "" | "/" => "/socket.io/?EIO=4&transport=websocket",
        path => path,
    };
    Ok((authority.to_owned(), format!("ws://{authority}{path}")))
}

/// Small buffers: the client holds thousands of idle connections.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
}

/// TCP, WebSocket and Socket.IO handshakes: the open packet, then CONNECT to `/`.
async fn connect(authority: &str, url: &str) -> Result<Ws, Error> {
    connect_from(authority, url, None).await
}

/// [`connect`] from the loopback source address `source` when given.
async fn connect_from(
    authority: &str,
    url: &str,
    source: Option<std::net::Ipv4Addr>,
) -> Result<Ws, Error> {
    let stream = match source {
        None => TcpStream::connect(authority).await?,
        Some(ip) => {
            let target = tokio::net::lookup_host(authority)
                .await?
                .find(std::net::SocketAddr::is_ipv4)
                .ok_or("--sources needs an IPv4 target")?;
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind((ip, 0).into())?;
            socket.connect(target).await?
        }
    };
    stream.set_nodelay(true)?;
    let (mut ws, _) = client_async_with_config(url, stream, Some(client_config())).await?;
    let open = next_text(&mut ws).await?;
    if !open.starts_with("0{") {
        return Err(format!("expected the open packet, got {open:?}").into());
    }
    ws.send(Message::text("40")).await?;
    let connected = next_text(&mut ws).await?;
    if !connected.starts_with("40{") {
        return Err(format!("expected CONNECT, got {connected:?}").into());
    }
    Ok(ws)
}

/// The next text message that is not an Engine.IO ping (pings are answered).
async fn next_text(ws: &mut Ws) -> Result<String, Error> {
    loop {
        match ws.next().await.ok_or("connection closed")?? {
            Message::Text(text) if text.as_str() == "2" => ws.send(Message::text("3")).await?,
            Message::Text(text) => return Ok(text.as_str().to_owned()),
            Message::Close(frame) => return Err(format!("closed by the server: {frame:?}").into()),
            _ => {}
        }
    }
}

/// Keeps an idle connection alive (answers pings) until `stop` changes.
async fn keep_alive(mut ws: Ws, mut stop: watch::Receiver<bool>, lost: Arc<AtomicUsize>) {
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                    if ws.send(Message::text("3")).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            _ = stop.changed() => return,
        }
    }
    lost.fetch_add(1, Ordering::Relaxed);
}

/// `VmRSS` of a process in KiB.
fn rss_kib(pid: u32) -> Result<u64, Error> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status").into())
}

/// Samples the RSS until it stops moving (bounded by [`SETTLE_MAX`]).
async fn settled_rss(pid: u32) -> Result<u64, Error> {
    let start = Instant::now();
    tokio::time::sleep(SETTLE_INTERVAL).await;
    let mut last = rss_kib(pid)?;
    while start.elapsed() < SETTLE_MAX {
        tokio::time::sleep(SETTLE_INTERVAL).await;
        let now = rss_kib(pid)?;
        if now.abs_diff(last) < SETTLE_TOLERANCE_KB {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}

async fn idle(options: Options) -> Result<(), Error> {
    let pid = options.pid.ok_or("idle needs --pid SERVER_PID")?;
    let (authority, url) = options.endpoint()?;
    let max = options.connections.unwrap_or(10_000);
    let mut steps = options
        .steps
        .clone()
        .unwrap_or_else(|| vec![0, max / 10, max / 2, max]);
    steps.retain(|&s| s <= max);
    steps.sort_unstable();
    steps.dedup();
    if steps.len() < 2 {
        return Err("need at least two steps of at most --connections".into());
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let lost = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let url: Arc<str> = url.into();
    let authority: Arc<str> = authority.into();
    let mut open = 0usize;
    let mut failed = 0usize;
    let mut rows: Vec<(usize, u64)> = Vec::new();
    println!(
        "{:>12} {:>12} {:>14} {:>10}",
        "connections", "VmRSS KiB", "delta bytes", "B/conn"
    );
    for &step in &steps {
        let started = Instant::now();
        let mut pending = tokio::task::JoinSet::new();
        for n in open..step {
            let permit = gate.clone().acquire_owned().await?;
            let (url, authority) = (url.clone(), authority.clone());
            let source = (options.sources > 1).then(|| {
                std::net::Ipv4Addr::new(127, 0, 0, 1 + (n % options.sources as usize) as u8)
            });
            pending.spawn(async move {
                let ws =
                    tokio::time::timeout(CONNECT_TIMEOUT, connect_from(&authority, &url, source))
                        .await;
                drop(permit);
                match ws {
                    Ok(Ok(ws)) => Ok(ws),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("handshake timed out".to_owned()),
                }
            });
        }
        while let Some(joined) = pending.join_next().await {
            match joined? {
                Ok(ws) => {
                    tokio::spawn(keep_alive(ws, stop_rx.clone(), lost.clone()));
                    open += 1;
                }
                Err(e) => {
                    if failed == 0 {
                        eprintln!("sio-load: a connection failed: {e}");
                    }
                    failed += 1;
                }
            }
        }
        let connect_time = started.elapsed();
        let rss = settled_rss(pid).await?;
        let live = open - lost.load(Ordering::Relaxed);
        let (delta, per) = match rows.first() {
            Some(&(n0, rss0)) if live > n0 => {
                let delta = (rss as i64 - rss0 as i64) * 1024;
                (delta, format!("{:.0}", delta as f64 / (live - n0) as f64))
            }
            _ => (0, "-".to_owned()),
        };
        println!(
            "{live:>12} {rss:>12} {delta:>14} {per:>10}   (opened in {:.2} s)",
            connect_time.as_secs_f64()
        );
        rows.push((live, rss));
    }
    let lost_counter = lost;
    let lost = lost_counter.load(Ordering::Relaxed);
    if failed > 0 || lost > 0 {
        println!("failed handshakes: {failed}, connections lost: {lost}");
    }
    let points: Vec<(f64, f64)> = rows
        .iter()
        .map(|&(n, rss)| (n as f64, rss as f64 * 1024.0))
        .collect();
    let slope = least_squares_slope(&points);
    let (first, last) = (rows[0], rows[rows.len() - 1]);
    let span = (last.1 as f64 - first.1 as f64) * 1024.0 / (last.0 - first.0).max(1) as f64;
    println!("least-squares slope: {slope:.0} bytes per idle connection");
    println!(
        "first to last step ({} -> {}): {span:.0} bytes per idle connection",
        first.0, last.0
    );
    if !options.hold.is_zero() {
        let live = open - lost;
        println!("holding {live} connections for {:?}", options.hold);
        let (cpu0, _) = server_cpu(pid)?;
        let started = Instant::now();
        tokio::time::sleep(options.hold).await;
        let (cpu1, _) = server_cpu(pid)?;
        let held = started.elapsed();
        let lost_now = lost_counter.load(Ordering::Relaxed) - lost;
        println!(
            "server CPU while holding: {:.1} ms in {:.1} s ({:.2}% of a core); connections lost meanwhile: {lost_now}",
            (cpu1 - cpu0) as f64 / 1e6,
            held.as_secs_f64(),
            (cpu1 - cpu0) as f64 / held.as_nanos() as f64 * 100.0
        );
        println!("server VmRSS after the hold: {} KiB", rss_kib(pid)?);
    }
    let _ = stop_tx.send(true);
    Ok(())
}

/// Slope of the least-squares line through `points`.
fn least_squares_slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for &(x, y) in points {
        num += (x - mean_x) * (y - mean_y);
        den += (x - mean_x) * (x - mean_x);
    }
    if den == 0.0 { 0.0 } else { num / den }
}

async fn echo(options: Options) -> Result<(), Error> {
    let (authority, url) = options.endpoint()?;
    let mut ws = tokio::time::timeout(CONNECT_TIMEOUT, connect(&authority, &url))
        .await
        .map_err(|_| "handshake timed out")??;
    let arg = serde_json::to_string(&"x".repeat(options.size))?;
    let count = options.count.unwrap_or(10_000).max(1);
    println!(
        "{} sequential round trips of {} payload bytes on one connection",
        count, options.size
    );
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10} {:>14} {:>14}",
        "event", "p50 µs", "p99 µs", "mean µs", "max µs", "round trips/s", "server CPU µs"
    );
    // Emit, answered by an emit.
    let request = format!(r#"42["echo",{arg}]"#);
    let mut round_trip = async |ws: &mut Ws, _: usize| -> Result<(), Error> {
        ws.send(Message::text(request.clone())).await?;
        let reply = next_text(ws).await?;
        if reply != request {
            return Err(format!("unexpected echo reply {reply:?}").into());
        }
        Ok(())
    };
    let stats = measure(&mut ws, count, options.pid, &mut round_trip).await?;
    stats.print("echo");
    // Emit with an ack id, answered by the ack.
    let mut round_trip = async |ws: &mut Ws, i: usize| -> Result<(), Error> {
        let id = i % 1_000_000;
        ws.send(Message::text(format!(r#"42{id}["echo_ack",{arg}]"#)))
            .await?;
        let reply = next_text(ws).await?;
        if reply != format!("43{id}[{arg}]") {
            return Err(format!("unexpected ack {reply:?}").into());
        }
        Ok(())
    };
    let stats = measure(&mut ws, count, options.pid, &mut round_trip).await?;
    stats.print("echo_ack");
    let _ = ws.close(None).await;
    Ok(())
}

/// Progress of a broadcast run, shared by the receivers.
struct Progress {
    /// Deliveries so far (distinct expected messages, all receivers).
    delivered: AtomicUsize,
    /// Deliveries that complete the run.
    expected: usize,
    /// Notified when `delivered` reaches `expected`.
    all: Notify,
    /// The origin of the timestamps in the payloads and of `last_nanos`.
    base: Instant,
    /// Time of the latest delivery, in nanoseconds since `base`.
    last_nanos: AtomicU64,
}

/// What one receiver of a broadcast run saw.
#[derive(Default)]
struct Received {
    delivered: usize,
    duplicates: usize,
    out_of_order: usize,
    unexpected: usize,
    /// Emit-to-receipt time of every delivery, in µs.
    latencies_us: Vec<u32>,
    /// Why the connection ended before the run did, if it did.
    closed: Option<String>,
}

/// `count` broadcasts to `connections` sockets in room `bench`, from one more socket.
async fn broadcast(options: Options) -> Result<(), Error> {
    // Several URLs (the nodes of a cluster): the receivers are spread over them in turn,
    // the sender is on the first.
    let endpoints: Vec<(Arc<str>, Arc<str>)> = options
        .url
        .split(',')
        .map(|u| endpoint_of(u.trim()).map(|(a, u)| (a.into(), u.into())))
        .collect::<Result<_, _>>()?;
    let (authority, url) = endpoints[0].clone();
    let connections = options.connections.unwrap_or(1000).max(1);
    let count = options.count.unwrap_or(200).max(1);
    let expected = connections * count;
    let pad = "x".repeat(options.size);

    // The receivers: connected, and in room `bench` (the join is acknowledged).
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut pending = tokio::task::JoinSet::new();
    for i in 0..connections {
        let permit = gate.clone().acquire_owned().await?;
        let (authority, url) = endpoints[i % endpoints.len()].clone();
        pending.spawn(async move {
            let joined = tokio::time::timeout(CONNECT_TIMEOUT, async {
                let mut ws = connect(&authority, &url).await?;
                join_bench(&mut ws).await?;
                Ok::<_, Error>(ws)
            })
            .await;
            drop(permit);
            match joined {
                Ok(Ok(ws)) => Ok(ws),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("handshake or join timed out".to_owned()),
            }
        });
    }
    let mut receivers = Vec::with_capacity(connections);
    let mut failed = Vec::new();
    while let Some(joined) = pending.join_next().await {
        match joined? {
            Ok(ws) => receivers.push(ws),
            Err(e) => failed.push(e),
        }
    }
    if let Some(first) = failed.first() {
        return Err(format!(
            "{} of {connections} receivers failed to connect and join (first: {first})",
            failed.len()
        )
        .into());
    }
    let sender = tokio::time::timeout(CONNECT_TIMEOUT, connect(&authority, &url))
        .await
        .map_err(|_| "the sender's handshake timed out")??;
    let pace = if options.rate > 0.0 {
        format!("paced at {} emits/s", options.rate)
    } else {
        "all at once".to_owned()
    };
    println!(
        "broadcast: {connections} sockets joined room bench in {:.2} s; {count} emits of {} \
         padding bytes, {pace}",
        started.elapsed().as_secs_f64(),
        options.size
    );

    let progress = Arc::new(Progress {
        delivered: AtomicUsize::new(0),
        expected,
        all: Notify::new(),
        base: Instant::now(),
        last_nanos: AtomicU64::new(0),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    for ws in receivers {
        let suffix = format!(":{pad}\"]");
        tasks.spawn(receive_broadcasts(
            ws,
            count,
            suffix,
            progress.clone(),
            stop_rx.clone(),
        ));
    }
    // Let the receivers reach their first read before the clock starts.
    tokio::task::yield_now().await;

    let rss_before = options.pid.map(|_| sum_rss(&options.pids)).transpose()?;
    let server_before = options
        .pid
        .map(|_| cluster_cpu(&options.pids))
        .transpose()?;
    let own_before = stat_cpu_nanos("self")?;
    let first_emit = progress.base.elapsed();
    let sender = tokio::spawn(send_broadcasts(
        sender,
        count,
        options.rate,
        pad,
        progress.base,
    ));
    let deadline = Instant::now() + options.timeout;
    let (mut seen, mut moved) = (0, Instant::now());
    let mut timed_out = false;
    loop {
        tokio::select! {
            _ = progress.all.notified() => {}
            _ = tokio::time::sleep(PROGRESS_TICK) => {}
        }
        let delivered = progress.delivered.load(Ordering::Relaxed);
        if delivered >= expected {
            break;
        }
        if delivered != seen {
            (seen, moved) = (delivered, Instant::now());
        } else if sender.is_finished() && moved.elapsed() >= QUIET {
            break;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            break;
        }
    }
    let server_after = options
        .pid
        .map(|_| cluster_cpu(&options.pids))
        .transpose()?;
    let own_after = stat_cpu_nanos("self")?;
    let (sender, emits_took) = match tokio::time::timeout(QUIET, sender).await {
        Ok(joined) => joined??,
        Err(_) => return Err("the sender did not finish its emits".into()),
    };

    // Extra messages (duplicates, unexpected) that arrive just after the last expected one.
    tokio::time::sleep(GRACE).await;
    let rss_after = options.pid.map(|_| sum_rss(&options.pids)).transpose()?;
    let _ = stop_tx.send(true);
    let mut total = Received::default();
    let mut closed = Vec::new();
    let collect = async {
        while let Some(received) = tasks.join_next().await {
            let received = received?;
            total.delivered += received.delivered;
            total.duplicates += received.duplicates;
            total.out_of_order += received.out_of_order;
            total.unexpected += received.unexpected;
            total.latencies_us.extend_from_slice(&received.latencies_us);
            closed.extend(received.closed);
        }
        Ok::<_, Error>(())
    };
    tokio::time::timeout(CONNECT_TIMEOUT, collect)
        .await
        .map_err(|_| "the receivers did not stop")??;
    drop(sender);

    let lost = expected - total.delivered;
    let last = Duration::from_nanos(progress.last_nanos.load(Ordering::Relaxed));
    let span = last.saturating_sub(first_emit).max(Duration::from_nanos(1));
    let per_s = total.delivered as f64 / span.as_secs_f64();
    total.latencies_us.sort_unstable();
    let pct = |p: f64| -> f64 {
        let l = &total.latencies_us;
        if l.is_empty() {
            return 0.0;
        }
        let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
        f64::from(l[i]) / 1000.0
    };
    println!(
        "expected {expected} deliveries, delivered {} (lost {lost}, duplicates {}, out of order \
         {}, unexpected {})",
        total.delivered, total.duplicates, total.out_of_order, total.unexpected
    );
    println!(
        "first emit to last delivery {:.3} s: {per_s:.0} deliveries/s (the emits took {:.3} s)",
        span.as_secs_f64(),
        emits_took.as_secs_f64()
    );
    println!(
        "delivery latency (emit to receipt): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    let per_delivery = |nanos: u64| nanos as f64 / total.delivered.max(1) as f64 / 1000.0;
    let own = own_after.saturating_sub(own_before);
    let mut summary = format!(
        "summary: sockets={connections} emits={count} expected={expected} delivered={} \
         lost={lost} duplicates={} out_of_order={} unexpected={} seconds={:.4} \
         deliveries_per_s={per_s:.0} latency_p50_ms={:.2} latency_p99_ms={:.2} \
         tool_cpu_us_per_delivery={:.3}",
        total.delivered,
        total.duplicates,
        total.out_of_order,
        total.unexpected,
        span.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        per_delivery(own),
    );
    if let (Some(before), Some(after)) = (server_before, server_after) {
        let (sched, stat) = (after.0 - before.0, after.1.saturating_sub(before.1));
        println!(
            "server CPU {:.3} s: {:.3} µs per delivery (utime+stime: {:.3} s, {:.3} µs per \
             delivery); load tool CPU {:.3} µs per delivery",
            sched as f64 / 1e9,
            per_delivery(sched),
            stat as f64 / 1e9,
            per_delivery(stat),
            per_delivery(own),
        );
        summary.push_str(&format!(
            " server_cpu_us_per_delivery={:.3} server_stat_cpu_us_per_delivery={:.3}",
            per_delivery(sched),
            per_delivery(stat)
        ));
    }
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        let per_socket = (after as f64 - before as f64) * 1024.0 / connections as f64;
        println!(
            "server VmRSS {before} KiB before the emits, {after} KiB after: {per_socket:.0} \
             bytes per receiver kept after the run"
        );
        summary.push_str(&format!(" server_rss_growth_per_socket={per_socket:.0}"));
    }
    println!("{summary}");

    let mut problems = Vec::new();
    if lost > 0 {
        problems.push(format!(
            "LOSS: {lost} of {expected} deliveries never arrived ({:.2}%)",
            lost as f64 * 100.0 / expected as f64
        ));
    }
    if total.duplicates > 0 || total.out_of_order > 0 || total.unexpected > 0 {
        problems.push(format!(
            "{} duplicates, {} out of order, {} unexpected messages",
            total.duplicates, total.out_of_order, total.unexpected
        ));
    }
    if let Some(first) = closed.first() {
        problems.push(format!(
            "{} receivers lost their connection (first: {first})",
            closed.len()
        ));
    }
    if timed_out {
        problems.push(format!("the run timed out after {:?}", options.timeout));
    }
    if problems.is_empty() {
        return Ok(());
    }
    for problem in &problems {
        println!("!!! {problem}");
    }
    Err(problems.join("; ").into())
}

/// Emits `join` (`bench`) with an ack and waits for the ack.
async fn join_bench(ws: &mut Ws) -> Result<(), Error> {
    ws.send(Message::text(r#"421["join","bench"]"#)).await?;
    let ack = next_text(ws).await?;
    if !ack.starts_with("431[") {
        return Err(format!("expected the ack of join, got {ack:?}").into());
    }
    Ok(())
}

/// The sender: `count` broadcast emits, all at once or `rate` per second. Returns the
/// connection (kept open until the run ends) and the time the emits took.
async fn send_broadcasts(
    mut ws: Ws,
    count: usize,
    rate: f64,
    pad: String,
    base: Instant,
) -> Result<(Ws, Duration), Error> {
    let started = Instant::now();
    for seq in 0..count {
        if rate > 0.0 {
            tokio::time::sleep_until((started + Duration::from_secs_f64(seq as f64 / rate)).into())
                .await;
        }
        let nanos = base.elapsed().as_nanos();
        let text = format!(r#"42["broadcast","{seq}:{nanos}:{pad}"]"#);
        if rate > 0.0 {
            ws.send(Message::text(text)).await?;
        } else {
            ws.feed(Message::text(text)).await?;
        }
    }
    ws.flush().await?;
    Ok((ws, started.elapsed()))
}

/// A receiver: counts the broadcasts it gets (each sequence number once, in order) until
/// `stop` changes; answers pings.
async fn receive_broadcasts(
    mut ws: Ws,
    count: usize,
    suffix: String,
    progress: Arc<Progress>,
    mut stop: watch::Receiver<bool>,
) -> Received {
    let mut seen = vec![false; count];
    let mut highest = None;
    let mut r = Received {
        latencies_us: Vec::with_capacity(count),
        ..Received::default()
    };
    loop {
        let message = tokio::select! {
            message = ws.next() => message,
            _ = stop.changed() => break,
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                r.unexpected += 1;
                continue;
            }
            Some(Ok(Message::Close(frame))) => {
                r.closed = Some(format!("closed by the server: {frame:?}"));
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                r.closed = Some(e.to_string());
                break;
            }
            None => {
                r.closed = Some("connection closed".to_owned());
                break;
            }
        };
        if text.as_str() == "2" {
            if let Err(e) = ws.send(Message::text("3")).await {
                r.closed = Some(e.to_string());
                break;
            }
            continue;
        }
        let now = progress.base.elapsed().as_nanos() as u64;
        let Some((seq, sent)) =
            parse_broadcast(text.as_str(), &suffix).filter(|&(seq, _)| seq < count)
        else {
            r.unexpected += 1;
            continue;
        };
        if std::mem::replace(&mut seen[seq], true) {
            r.duplicates += 1;
            continue;
        }
        if highest.is_some_and(|h| seq < h) {
            r.out_of_order += 1;
        }
        highest = highest.max(Some(seq));
        r.delivered += 1;
        r.latencies_us
            .push(u32::try_from(now.saturating_sub(sent) / 1000).unwrap_or(u32::MAX));
        progress.last_nanos.fetch_max(now, Ordering::Relaxed);
        if progress.delivered.fetch_add(1, Ordering::Relaxed) + 1 == progress.expected {
            progress.all.notify_one();
        }
    }
    r
}

/// The sequence number and emit time of `42["broadcast","SEQ:NANOS<suffix>`.
fn parse_broadcast(text: &str, suffix: &str) -> Option<(usize, u64)> {
    let rest = text
        .strip_prefix(r#"42["broadcast",""#)?
        .strip_suffix(suffix)?;
    let (seq, nanos) = rest.split_once(':')?;
    Some((seq.parse().ok()?, nanos.parse().ok()?))
}

/// The server's CPU time so far in nanoseconds: from the `schedstat` of its threads, and
/// from `utime+stime` of `/proc/PID/stat` (which also counts threads that have exited).
/// [`server_cpu`] summed over the processes of a cluster.
fn cluster_cpu(pids: &[u32]) -> Result<(u64, u64), Error> {
    pids.iter().try_fold((0, 0), |(a, b), pid| {
        let (x, y) = server_cpu(*pid)?;
        Ok((a + x, b + y))
    })
}

/// [`rss_kib`] summed over the processes of a cluster.
fn sum_rss(pids: &[u32]) -> Result<u64, Error> {
    pids.iter().try_fold(0, |sum, pid| Ok(sum + rss_kib(*pid)?))
}

fn server_cpu(pid: u32) -> Result<(u64, u64), Error> {
    Ok((cpu_nanos(pid)?, stat_cpu_nanos(&pid.to_string())?))
}

/// `utime+stime` of `/proc/<process>/stat` in nanoseconds (clock ticks of 10 ms, the
/// `USER_HZ` of Linux).
fn stat_cpu_nanos(process: &str) -> Result<u64, Error> {
    let stat = std::fs::read_to_string(format!("/proc/{process}/stat"))?;
    // The fields after the command name (which may contain spaces) in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .ok_or("unreadable stat")?
        .1
        .split_whitespace()
        .collect();
    // utime and stime are the 14th and 15th fields, the state (3rd) coming first here.
    let ticks = |i: usize| -> Result<u64, Error> {
        Ok(fields.get(i).ok_or("unreadable stat")?.parse::<u64>()?)
    };
    Ok((ticks(11)? + ticks(12)?) * 10_000_000)
}

/// CPU time (user and system) of every thread of a process so far, in nanoseconds.
fn cpu_nanos(pid: u32) -> Result<u64, Error> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        // A thread may exit between the listing and the read.
        let Ok(stat) = std::fs::read_to_string(task?.path().join("schedstat")) else {
            continue;
        };
        total += stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .ok_or("unreadable schedstat")?;
    }
    Ok(total)
}

/// Latencies of `count` sequential round trips, after [`WARMUP`] untimed ones, and the
/// CPU time process `pid` spent meanwhile.
async fn measure<F>(
    ws: &mut Ws,
    count: usize,
    pid: Option<u32>,
    round_trip: &mut F,
) -> Result<Stats, Error>
where
    F: AsyncFnMut(&mut Ws, usize) -> Result<(), Error>,
{
    for i in 0..WARMUP {
        tokio::time::timeout(ROUND_TRIP_TIMEOUT, round_trip(ws, i))
            .await
            .map_err(|_| "round trip timed out")??;
    }
    let mut nanos = Vec::with_capacity(count);
    let cpu_before = pid.map(cpu_nanos).transpose()?;
    let started = Instant::now();
    for i in 0..count {
        let t = Instant::now();
        tokio::time::timeout(ROUND_TRIP_TIMEOUT, round_trip(ws, WARMUP + i))
            .await
            .map_err(|_| "round trip timed out")??;
        nanos.push(t.elapsed().as_nanos() as u64);
    }
    let total = started.elapsed();
    let server_cpu = match (pid, cpu_before) {
        (Some(pid), Some(before)) => Some(Duration::from_nanos(cpu_nanos(pid)? - before)),
        _ => None,
    };
    nanos.sort_unstable();
    Ok(Stats {
        nanos,
        total,
        server_cpu,
    })
}

/// Sorted round trip times, the wall time of all of them and the server's CPU time.
struct Stats {
    nanos: Vec<u64>,
    total: Duration,
    server_cpu: Option<Duration>,
}

impl Stats {
    fn percentile_us(&self, p: f64) -> f64 {
        let i = ((self.nanos.len() as f64 * p).ceil() as usize).clamp(1, self.nanos.len()) - 1;
        self.nanos[i] as f64 / 1000.0
    }

    fn print(&self, name: &str) {
        let n = self.nanos.len() as f64;
        let mean = self.nanos.iter().sum::<u64>() as f64 / n / 1000.0;
        let max = self.nanos.last().copied().unwrap_or(0) as f64 / 1000.0;
        let cpu = self.server_cpu.map_or_else(
            || "-".to_owned(),
            |cpu| format!("{:.1}", cpu.as_nanos() as f64 / n / 1000.0),
        );
        println!(
            "{name:<10} {:>10.1} {:>10.1} {mean:>10.1} {max:>10.1} {:>14.0} {cpu:>14}",
            self.percentile_us(0.50),
            self.percentile_us(0.99),
            n / self.total.as_secs_f64(),
        );
    }
}
