//! The Redis Streams protocol of the Redis adapter ([`RedisAdapterConfig::streams`]),
//! wire-compatible with `@socket.io/redis-streams-adapter` 0.3.1: its options, the task
//! that reads a stream, and the Redis side of connection state recovery (sessions under
//! `sio:session:<pid>`, the missed events read back from the stream). The formats and the
//! rules are [`socketio_proto::cluster::streams`]'s.
//!
//! [`RedisAdapterConfig::streams`]: super::RedisAdapterConfig::streams

use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use socketio_proto::cluster::streams;
use socketio_proto::recovery::{PersistedSession, RestoredSession};

use super::{RedisAdapter, Shared};

/// The reference's cap on the `XRANGE` calls of one restore.
const RESTORE_MAX_CALLS: usize = 100;
/// Entries read by one `XRANGE` call of a restore.
const RESTORE_COUNT: usize = 1_000;

/// Options of the Redis Streams protocol, with `@socket.io/redis-streams-adapter`'s names
/// and defaults. The channel prefix of its pub/sub part is [`RedisAdapterConfig::key`].
///
/// ```
/// use std::time::Duration;
/// use socketio_server::adapter::redis::{RedisAdapterConfig, StreamsConfig};
///
/// let config = RedisAdapterConfig::default()
///     .streams(StreamsConfig::default().max_len(50_000).block_time(Duration::from_secs(2)));
/// assert_eq!(config.streams.unwrap().stream_name, "socket.io");
/// ```
///
/// [`RedisAdapterConfig::key`]: super::RedisAdapterConfig::key
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StreamsConfig {
    /// The stream (`streamName`): `"socket.io"`.
    pub stream_name: String,
    /// Streams the namespaces are spread over (`streamCount`): 1.
    pub stream_count: u32,
    /// Sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`) for the ephemeral messages
    /// (`useShardedPubSub`): false.
    pub use_sharded_pubsub: bool,
    /// The stream is trimmed to about this many entries (`maxLen`): 10,000.
    pub max_len: u64,
    /// Entries read at once (`readCount`): 100.
    pub read_count: u32,
    /// How long one read waits for new entries (`blockTimeInMs`): 5 s.
    pub block_time: Duration,
    /// The prefix of the session keys (`sessionKeyPrefix`): `"sio:session:"`.
    pub session_key_prefix: String,
    /// Entries always in JSON, binary or not (`onlyPlaintext`): false.
    pub only_plaintext: bool,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        Self {
            stream_name: "socket.io".to_owned(),
            stream_count: 1,
            use_sharded_pubsub: false,
            max_len: 10_000,
            read_count: 100,
            block_time: Duration::from_secs(5),
            session_key_prefix: "sio:session:".to_owned(),
            only_plaintext: false,
        }
    }
}

impl StreamsConfig {
    /// Sets the stream name.
    #[must_use]
    pub fn stream_name(mut self, name: impl Into<String>) -> Self {
        self.stream_name = name.into();
        self
    }

    /// Spreads the namespaces over `count` streams.
    #[must_use]
    pub fn stream_count(mut self, count: u32) -> Self {
        self.stream_count = count.max(1);
        self
    }

    /// Uses sharded pub/sub for the ephemeral messages.
    #[must_use]
    pub fn use_sharded_pubsub(mut self, on: bool) -> Self {
        self.use_sharded_pubsub = on;
        self
    }

    /// Sets the approximate length the stream is trimmed to.
    #[must_use]
    pub fn max_len(mut self, len: u64) -> Self {
        self.max_len = len;
        self
    }

    /// Sets how many entries one read takes.
    #[must_use]
    pub fn read_count(mut self, count: u32) -> Self {
        self.read_count = count.max(1);
        self
    }

    /// Sets how long one read waits for new entries.
    #[must_use]
    pub fn block_time(mut self, time: Duration) -> Self {
        self.block_time = time;
        self
    }

    /// Sets the prefix of the session keys.
    #[must_use]
    pub fn session_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.session_key_prefix = prefix.into();
        self
    }

    /// Writes every entry in JSON.
    #[must_use]
    pub fn only_plaintext(mut self, on: bool) -> Self {
        self.only_plaintext = on;
        self
    }
}

/// One stream entry: its id and its fields.
pub(super) type Entry = (String, Vec<(String, Vec<u8>)>);

/// The entries of an `XRANGE` reply, or of one stream of an `XREAD` reply. Anything else
/// (a reply Redis would not send) reads as no entry.
fn entries_of(value: &redis::Value) -> Vec<Entry> {
    let redis::Value::Array(items) = value else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let redis::Value::Array(pair) = item else {
                return None;
            };
            let [id, fields] = pair.as_slice() else {
                return None;
            };
            let id = text_of(id)?;
            let fields = match fields {
                redis::Value::Array(f) => f
                    .chunks_exact(2)
                    .filter_map(|kv| Some((text_of(&kv[0])?, bytes_of(&kv[1])?)))
                    .collect(),
                redis::Value::Map(m) => m
                    .iter()
                    .filter_map(|(k, v)| Some((text_of(k)?, bytes_of(v)?)))
                    .collect(),
                // Not a reply Redis sends for an entry.
                redis::Value::Nil | _ => Vec::new(),
            };
            Some((id, fields))
        })
        .collect()
}

/// The entries of an `XREAD` reply for one stream (`Nil` when the wait ended empty).
fn read_entries(value: &redis::Value) -> Vec<Entry> {
    match value {
        redis::Value::Array(streams) => streams
            .iter()
            .flat_map(|s| match s {
                redis::Value::Array(pair) if pair.len() == 2 => entries_of(&pair[1]),
                redis::Value::Array(_) | _ => Vec::new(),
            })
            .collect(),
        redis::Value::Map(streams) => streams.iter().flat_map(|(_, v)| entries_of(v)).collect(),
        // `Nil`: the wait ended with no entry.
        redis::Value::Nil | _ => Vec::new(),
    }
}

fn bytes_of(value: &redis::Value) -> Option<Vec<u8>> {
    match value {
        redis::Value::BulkString(b) => Some(b.clone()),
        redis::Value::SimpleString(s) => Some(s.as_bytes().to_vec()),
        redis::Value::Nil | _ => None,
    }
}

fn text_of(value: &redis::Value) -> Option<String> {
    String::from_utf8(bytes_of(value)?).ok()
}

/// Reads `stream` from its current end, entry after entry, and hands each to the adapter
/// of its namespace; after a lost connection it goes on from the last entry read, so that
/// nothing written meanwhile is skipped. Ends when the server's adapters are gone.
pub(super) async fn stream_reader(shared: Weak<Shared>, stream: String) {
    let mut conn: Option<MultiplexedConnection> = None;
    let mut last: Option<String> = None;
    let mut delay = Duration::from_millis(100);
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let Some(config) = strong.config.streams.clone() else {
            return;
        };
        let client = strong.client.clone();
        drop(strong);
        let c = match &conn {
            Some(c) => c.clone(),
            None => {
                // The read waits up to `block_time`: the reply timeout is longer.
                let options = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(5)))
                    .set_response_timeout(Some(config.block_time + Duration::from_secs(10)));
                match client
                    .get_multiplexed_async_connection_with_config(&options)
                    .await
                {
                    Ok(c) => {
                        conn = Some(c.clone());
                        c
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, %stream, "cluster: stream reader cannot connect");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(2));
                        continue;
                    }
                }
            }
        };
        let mut c = c;
        let result = match &last {
            // Where the stream ends now (`$`, but known, so that a reconnection goes on
            // from there).
            None => redis::cmd("XREVRANGE")
                .arg(&stream)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async::<redis::Value>(&mut c)
                .await
                .map(|v| {
                    let id = entries_of(&v)
                        .pop()
                        .map_or_else(|| "0-0".to_owned(), |(id, _)| id);
                    last = Some(id);
                    Vec::new()
                }),
            Some(from) => redis::cmd("XREAD")
                .arg("BLOCK")
                .arg(config.block_time.as_millis() as u64)
                .arg("COUNT")
                .arg(config.read_count)
                .arg("STREAMS")
                .arg(&stream)
                .arg(from)
                .query_async::<redis::Value>(&mut c)
                .await
                .map(|v| read_entries(&v)),
        };
        match result {
            Ok(entries) => {
                delay = Duration::from_millis(100);
                if let Some((id, _)) = entries.last() {
                    last = Some(id.clone());
                }
                let Some(strong) = shared.upgrade() else {
                    return;
                };
                strong.dispatch_entries(&entries);
            }
            Err(e) => {
                tracing::warn!(error = %e, %stream, "cluster: stream read failed; reconnecting");
                conn = None;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}

impl Shared {
    /// Hands stream entries, in order, to the adapters of their namespaces.
    fn dispatch_entries(&self, entries: &[Entry]) {
        if entries.is_empty() {
            return;
        }
        let adapters: Vec<Arc<RedisAdapter>> = self
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for (id, fields) in entries {
            let fields = fields.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
            let message = match streams::decode_entry(fields) {
                Ok(Some(message)) => message,
                // An entry of something else than the adapter (no `nsp`).
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, %id, "cluster: malformed stream entry ignored");
                    continue;
                }
            };
            if let Some(adapter) = adapters.iter().find(|a| a.nsp == message.nsp) {
                adapter.on_stream_entry(id, message);
            }
        }
    }
}

/// Reads back session `pid` (and deletes it, as `GETDEL`) and the events it missed after
/// `offset` in `stream`, for a socket of namespace `nsp` (§5.5). `None` when the offset is
/// malformed, the session unknown or expired, the offset no longer in the stream, or Redis
/// unreachable: the client then gets a fresh session.
pub(super) async fn restore(
    conn: &mut redis::aio::ConnectionManager,
    config: &StreamsConfig,
    stream: &str,
    nsp: &str,
    pid: &str,
    offset: &str,
) -> Option<RestoredSession> {
    if !streams::is_offset(offset) {
        return None;
    }
    let key = streams::session_key(&config.session_key_prefix, pid);
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("GET")
        .arg(&key)
        .cmd("DEL")
        .arg(&key)
        .ignore()
        .cmd("XRANGE")
        .arg(stream)
        .arg(offset)
        .arg(offset);
    let (raw, check): (Option<Vec<u8>>, redis::Value) = match pipe.query_async(conn).await {
        Ok(reply) => reply,
        Err(e) => {
            tracing::warn!(error = %e, "connection state not recovered: Redis unreachable");
            return None;
        }
    };
    let raw = raw?;
    if entries_of(&check).is_empty() {
        tracing::debug!(%offset, "connection state not recovered: offset no longer in the stream");
        return None;
    }
    let session: PersistedSession = match streams::restorable_in(&raw, nsp) {
        Ok(Some(session)) => session,
        Ok(None) => {
            tracing::debug!(%nsp, "connection state not recovered: a session of another namespace");
            return None;
        }
        Err(e) => {
            tracing::warn!(error = %e, "connection state not recovered: malformed session");
            return None;
        }
    };
    let mut missed = Vec::new();
    let mut last = offset.to_owned();
    for _ in 0..RESTORE_MAX_CALLS {
        let from = streams::next_offset(&last)?;
        let reply: redis::Value = match redis::cmd("XRANGE")
            .arg(stream)
            .arg(&from)
            .arg("+")
            .arg("COUNT")
            .arg(RESTORE_COUNT)
            .query_async(conn)
            .await
        {
            Ok(reply) => reply,
            Err(e) => {
                tracing::warn!(error = %e, "connection state not recovered: Redis unreachable");
                return None;
            }
        };
        let entries = entries_of(&reply);
        let Some((end, _)) = entries.last() else {
            break;
        };
        let end = end.clone();
        for (id, fields) in &entries {
            let fields = fields.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
            if let Ok(Some(message)) = streams::decode_entry(fields) {
                missed.extend(streams::missed_event(id, &message, nsp, &session.rooms));
            }
        }
        last = end;
    }
    Some(RestoredSession::new(session, missed, last))
}
