//! A raw-protocol load generator for a Socket.IO server over WebSocket (no client library).
//!
//! ```text
//! sio-load idle --url ws://127.0.0.1:3000 --connections 10000 --pid SERVER_PID \
//!               [--steps 0,1000,5000,10000] [--hold SECONDS]
//! sio-load echo --url ws://127.0.0.1:3000 --count 10000 [--size 16] [--pid SERVER_PID]
//! ```
//!
//! - `idle`: opens WebSocket Socket.IO connections (EIO=4, CONNECT to `/`, every ping
//!   answered) up to each step, waits for the server to settle, reads the server's `VmRSS`
//!   from `/proc/PID/status`, and prints a table and the least-squares slope in bytes per
//!   connection. Needs about one file descriptor per connection (raise `ulimit -n`).
//!   `--hold` keeps the connections open that long after the last step (to profile the
//!   server meanwhile).
//! - `echo`: one connection, `count` sequential `42["echo",…]` round trips (the server
//!   emits `echo` back), then `count` `42<id>["echo_ack",…]` round trips answered by an ack;
//!   prints p50/p99/mean latency in µs and round trips per second for each, and with
//!   `--pid` the server's CPU time per round trip (all its threads, from
//!   `/proc/PID/task/*/schedstat`).
//!
//! The server is expected to serve `/socket.io/` on `/` as `bench-server` does
//! (`cargo run --release -p socketio-server --example bench-server`). The tool runs on one
//! thread, so the server keeps the other cores.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

const USAGE: &str = "usage:
  sio-load idle --url ws://HOST:PORT --connections N --pid SERVER_PID [--steps 0,1000,5000,10000] [--hold SECONDS]
  sio-load echo --url ws://HOST:PORT --count N [--size BYTES] [--pid SERVER_PID]";

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

/// The command line options of both subcommands.
struct Options {
    url: String,
    connections: usize,
    pid: Option<u32>,
    steps: Option<Vec<usize>>,
    hold: Duration,
    count: usize,
    size: usize,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, Error> {
        let mut options = Self {
            url: "ws://127.0.0.1:3000".to_owned(),
            connections: 10_000,
            pid: None,
            steps: None,
            hold: Duration::ZERO,
            count: 10_000,
            size: 16,
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--url" => options.url.clone_from(value),
                "--connections" => options.connections = value.parse()?,
                "--pid" => options.pid = Some(value.parse()?),
                "--steps" => {
                    let steps = value
                        .split(',')
                        .map(|s| s.trim().parse())
                        .collect::<Result<Vec<usize>, _>>()?;
                    options.steps = Some(steps);
                }
                "--hold" => options.hold = Duration::from_secs_f64(value.parse()?),
                "--count" => options.count = value.parse()?,
                "--size" => options.size = value.parse()?,
                _ => return Err(format!("unknown option {flag}").into()),
            }
        }
        Ok(options)
    }

    /// `host:port` and the WebSocket URL of the Socket.IO endpoint.
    fn endpoint(&self) -> Result<(String, String), Error> {
        let rest = self
            .url
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
}

/// Small buffers: the client holds thousands of idle connections.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
}

/// TCP, WebSocket and Socket.IO handshakes: the open packet, then CONNECT to `/`.
async fn connect(authority: &str, url: &str) -> Result<Ws, Error> {
    let stream = TcpStream::connect(authority).await?;
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
    let max = options.connections;
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
        for _ in open..step {
            let permit = gate.clone().acquire_owned().await?;
            let (url, authority) = (url.clone(), authority.clone());
            pending.spawn(async move {
                let ws = tokio::time::timeout(CONNECT_TIMEOUT, connect(&authority, &url)).await;
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
    let lost = lost.load(Ordering::Relaxed);
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
        println!("holding the connections for {:?}", options.hold);
        tokio::time::sleep(options.hold).await;
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
    let count = options.count.max(1);
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
