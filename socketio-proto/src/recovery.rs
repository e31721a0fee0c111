//! Connection state recovery, Sans-IO: the reference's `SessionAwareAdapter` decisions and
//! storage, driven by `now: Instant`.
//!
//! With recovery on (the server option `connectionStateRecovery`), every EVENT the server
//! sends without ack and not volatile carries an **offset** as its last argument; the client
//! keeps the last one. When a socket disconnects for a recoverable reason
//! ([`is_recoverable`]), its session (id, private id `pid`, rooms, data) is kept for
//! `max_disconnection_duration`. A client that comes back with `{pid, offset}` in its CONNECT
//! gets the same id, rooms and data, and every event it missed — the stored packets after
//! `offset` that targeted one of its rooms and none of its exceptions — before the CONNECT
//! reply. Anything else (unknown or expired pid, unknown offset) gets a fresh session.
//!
//! [`SessionStore`] is the in-memory storage of one namespace, bounded: packets older than
//! the window and expired sessions are evicted on every call, and the bytes of stored packets
//! are capped ([`RecoveryConfig::max_stored_bytes`]): past the cap the oldest packets are
//! dropped first, so a client whose offset was dropped gets a fresh session instead of a
//! replay with a gap.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use socketio_proto::recovery::{PersistedSession, RecoveryConfig, SessionStore};
//! use socketio_proto::{Payload, Value};
//!
//! let t0 = Instant::now();
//! let mut store = SessionStore::new(RecoveryConfig::default(), [7; 32]);
//! let first = store.record(&[], &[], Payload::json(&("news", 1)).unwrap(), t0);
//! store.persist(
//!     PersistedSession::new("sid1".into(), "pid1".into(), vec!["sid1".into()], Value::Null),
//!     t0,
//! );
//! let second = store.record(&["sid1".to_owned()], &[], Payload::json(&("news", 2)).unwrap(), t0);
//! let restored = store.restore("pid1", &first, t0 + Duration::from_secs(1)).unwrap();
//! assert_eq!(restored.session.sid, "sid1");
//! assert_eq!(restored.missed.len(), 1); // the second packet, with its offset
//! let (n, offset): (u32, String) = restored.missed[0].event_args().unwrap();
//! assert_eq!((n, offset), (2, second));
//! ```

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::server::DisconnectReason;
use crate::{Payload, PayloadError, Value};

/// The reference's options (`connectionStateRecovery`), plus the bound on stored packets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryConfig {
    /// How long a disconnected session is kept, and how old a stored packet may get
    /// (`maxDisconnectionDuration`, 2 minutes).
    pub max_disconnection_duration: Duration,
    /// A recovered socket skips the namespace middlewares (`skipMiddlewares`, true).
    pub skip_middlewares: bool,
    /// The most bytes of packets kept for replay (64 MiB): past it, the oldest go first.
    pub max_stored_bytes: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_stored_bytes: 64 << 20,
        }
    }
}

impl RecoveryConfig {
    /// Sets [`RecoveryConfig::max_disconnection_duration`].
    #[must_use]
    pub fn max_disconnection_duration(mut self, duration: Duration) -> Self {
        self.max_disconnection_duration = duration;
        self
    }

    /// Sets [`RecoveryConfig::skip_middlewares`].
    #[must_use]
    pub fn skip_middlewares(mut self, skip: bool) -> Self {
        self.skip_middlewares = skip;
        self
    }

    /// Sets [`RecoveryConfig::max_stored_bytes`].
    #[must_use]
    pub fn max_stored_bytes(mut self, bytes: usize) -> Self {
        self.max_stored_bytes = bytes;
        self
    }
}

/// Whether a socket that disconnected for `reason` keeps its session (the reference's
/// `RECOVERABLE_DISCONNECT_REASONS`: `transport error`, `transport close`, `forced close`,
/// `ping timeout`, `server shutting down`, `forced server close`).
pub fn is_recoverable(reason: &DisconnectReason) -> bool {
    matches!(
        reason.as_str(),
        "transport error"
            | "transport close"
            | "forced close"
            | "ping timeout"
            | "server shutting down"
            | "forced server close"
    )
}

/// What the client sends back in its CONNECT to recover: `{pid, offset}` (both strings), or
/// `None`.
pub fn recovery_request(auth: &Value) -> Option<(&str, &str)> {
    let Value::Object(fields) = auth else {
        return None;
    };
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_str())
    };
    Some((get("pid")?, get("offset")?))
}

/// A disconnected socket's session, as `persistSession` receives it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PersistedSession {
    /// The socket id.
    pub sid: String,
    /// The private session id the client sends back.
    pub pid: String,
    /// Its rooms, its own id included.
    pub rooms: Vec<String>,
    /// `socket.data`.
    pub data: Value,
}

impl PersistedSession {
    /// A session.
    pub fn new(sid: String, pid: String, rooms: Vec<String>, data: Value) -> Self {
        Self {
            sid,
            pid,
            rooms,
            data,
        }
    }
}

/// A restored session and the events its client missed, in order, each with its offset as
/// its last argument.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RestoredSession {
    /// The session as it was persisted.
    pub session: PersistedSession,
    /// `[event, ...args, offset]` of every missed event.
    pub missed: Vec<Payload>,
    /// The offset of the last of `missed` (the client's own when none): where
    /// [`SessionStore::after`] goes on from when the socket is back in its rooms.
    pub last_offset: String,
}

impl RestoredSession {
    /// A restored session: `missed` holds `[event, ...args, offset]` of every missed event,
    /// in order, and `last_offset` is the offset of the last one read (the client's own
    /// when none).
    pub fn new(session: PersistedSession, missed: Vec<Payload>, last_offset: String) -> Self {
        Self {
            session,
            missed,
            last_offset,
        }
    }
}

/// Whether an event sent to `rooms` (every socket when empty) except `except` reached a
/// socket in `session_rooms` (its own id among them): the reference's
/// `shouldIncludePacket`, used to pick the events a recovered socket missed.
pub fn reaches_session(rooms: &[String], except: &[String], session_rooms: &[String]) -> bool {
    (rooms.is_empty() || rooms.iter().any(|r| session_rooms.contains(r)))
        && !session_rooms.iter().any(|r| except.contains(r))
}

/// Why a session was not restored (the client then gets a fresh one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// No session has this pid (never persisted, already restored, or evicted).
    #[error("unknown session")]
    UnknownSession,
    /// The session is older than the window.
    #[error("session expired")]
    Expired,
    /// The offset is not one of the stored packets (forged, or evicted).
    #[error("unknown offset")]
    UnknownOffset,
}

struct StoredPacket {
    offset: String,
    rooms: Vec<String>,
    except: Vec<String>,
    data: Payload,
    at: Instant,
    bytes: usize,
}

struct StoredSession {
    session: PersistedSession,
    at: Instant,
}

/// The in-memory session and packet storage of one namespace. See the module docs.
pub struct SessionStore {
    config: RecoveryConfig,
    packets: VecDeque<StoredPacket>,
    /// Offset of `packets[0]` in the sequence of all recorded packets.
    first_seq: u64,
    stored_bytes: usize,
    sessions: HashMap<String, StoredSession>,
    /// Pids by persist time, for eviction (an entry may be stale: restored already).
    session_order: VecDeque<(Instant, String)>,
    /// Random per store, so that an offset of another store (or forged) never matches.
    prefix: String,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStore")
            .field("packets", &self.packets.len())
            .field("stored_bytes", &self.stored_bytes)
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl SessionStore {
    /// An empty store; `seed` (fresh randomness) makes its offsets its own.
    pub fn new(config: RecoveryConfig, seed: [u8; 32]) -> Self {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let prefix = seed[..8]
            .iter()
            .map(|b| ALPHABET[usize::from(b & 63)] as char)
            .collect();
        Self {
            config,
            packets: VecDeque::new(),
            first_seq: 0,
            stored_bytes: 0,
            sessions: HashMap::new(),
            session_order: VecDeque::new(),
            prefix,
        }
    }

    /// The options.
    pub fn config(&self) -> &RecoveryConfig {
        &self.config
    }

    /// Bytes of the stored packets.
    pub fn stored_bytes(&self) -> usize {
        self.stored_bytes
    }

    /// Stored packets.
    pub fn stored_packets(&self) -> usize {
        self.packets.len()
    }

    /// Kept sessions.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Records an event broadcast to `rooms` (all sockets when empty) except `except`, with
    /// `data` = `[event, ...args]`; returns its offset, to append as its last argument
    /// ([`Payload::with_last_string`]) before it is sent.
    pub fn record(
        &mut self,
        rooms: &[String],
        except: &[String],
        data: Payload,
        now: Instant,
    ) -> String {
        self.evict(now);
        let seq = self.first_seq + self.packets.len() as u64;
        let offset = format!("{}{seq:x}", self.prefix);
        let bytes = data.wire_len() + offset.len() + 64;
        self.packets.push_back(StoredPacket {
            offset: offset.clone(),
            rooms: rooms.to_vec(),
            except: except.to_vec(),
            data,
            at: now,
            bytes,
        });
        self.stored_bytes += bytes;
        while self.stored_bytes > self.config.max_stored_bytes && self.packets.len() > 1 {
            self.pop_packet();
        }
        offset
    }

    /// Keeps the session of a socket that disconnected for a recoverable reason.
    pub fn persist(&mut self, session: PersistedSession, now: Instant) {
        self.evict(now);
        self.session_order.push_back((now, session.pid.clone()));
        self.sessions
            .insert(session.pid.clone(), StoredSession { session, at: now });
    }

    /// Restores the session `pid` whose client saw `offset` last. A restored session is used
    /// up (two clients never get the same id); a wrong offset leaves it in place (a forged
    /// request cannot take a session away from its client).
    pub fn restore(
        &mut self,
        pid: &str,
        offset: &str,
        now: Instant,
    ) -> Result<RestoredSession, RestoreError> {
        self.evict(now);
        let at = self
            .sessions
            .get(pid)
            .ok_or(RestoreError::UnknownSession)?
            .at;
        if now.saturating_duration_since(at) > self.config.max_disconnection_duration {
            self.sessions.remove(pid);
            return Err(RestoreError::Expired);
        }
        if self.index_of(offset).is_none() {
            return Err(RestoreError::UnknownOffset);
        }
        let stored = self
            .sessions
            .remove(pid)
            .ok_or(RestoreError::UnknownSession)?;
        let (missed, last_offset) = self
            .after(offset, &stored.session.rooms)
            .ok_or(RestoreError::UnknownOffset)?;
        Ok(RestoredSession {
            session: stored.session,
            missed,
            last_offset,
        })
    }

    /// The stored events after `offset` for a socket in `rooms` (each with its offset
    /// appended), and the offset of the last stored packet (`offset` when none); `None` when
    /// `offset` is not stored. A driver calls it again, under the same lock as
    /// [`SessionStore::record`], once the recovered socket is back in its rooms, so that an
    /// event recorded meanwhile is neither lost nor sent twice.
    pub fn after(&self, offset: &str, rooms: &[String]) -> Option<(Vec<Payload>, String)> {
        let index = self.index_of(offset)?;
        let missed = self
            .packets
            .iter()
            .skip(index + 1)
            .filter(|p| reaches_session(&p.rooms, &p.except, rooms))
            .filter_map(|p| p.data.with_last_string(&p.offset).ok())
            .collect();
        let last = self
            .packets
            .back()
            .map_or_else(|| offset.to_owned(), |p| p.offset.clone());
        Some((missed, last))
    }

    /// Drops expired sessions and packets older than the window.
    pub fn evict(&mut self, now: Instant) {
        let window = self.config.max_disconnection_duration;
        while self
            .packets
            .front()
            .is_some_and(|p| now.saturating_duration_since(p.at) > window)
        {
            self.pop_packet();
        }
        while let Some((at, pid)) = self.session_order.front() {
            if now.saturating_duration_since(*at) <= window {
                break;
            }
            if self.sessions.get(pid).is_some_and(|s| s.at == *at) {
                self.sessions.remove(pid);
            }
            self.session_order.pop_front();
        }
        if self.packets.is_empty() && self.packets.capacity() > 64 {
            self.packets.shrink_to_fit();
        }
    }

    fn pop_packet(&mut self) {
        if let Some(p) = self.packets.pop_front() {
            self.stored_bytes -= p.bytes;
            self.first_seq += 1;
        }
    }

    /// The index in `packets` of `offset`, from its sequence number (no search).
    fn index_of(&self, offset: &str) -> Option<usize> {
        let seq = u64::from_str_radix(offset.strip_prefix(&self.prefix)?, 16).ok()?;
        let index = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        (self.packets.get(index)?.offset == offset).then_some(index)
    }
}

impl Payload {
    /// The same array with `s` appended as its last element (how the reference appends a
    /// recovery offset to `[event, ...args]`). The payload must be an array.
    pub fn with_last_string(&self, s: &str) -> Result<Self, PayloadError> {
        if let Some(text) = self.json_text() {
            let body = text.trim_end();
            let Some(head) = body.strip_suffix(']') else {
                return Err(PayloadError::Deserialize("not an array".into()));
            };
            let empty = head.trim_end().ends_with('[');
            let mut out = String::with_capacity(body.len() + s.len() + 4);
            out.push_str(head);
            if !empty {
                out.push(',');
            }
            out.push_str(
                &serde_json::to_string(s).map_err(|e| PayloadError::Deserialize(e.to_string()))?,
            );
            out.push(']');
            return Ok(Self::from_wire_json(
                bytestring::ByteString::from(out),
                self.attachments().to_vec(),
            ));
        }
        let bytes = self
            .msgpack_bytes()
            .ok_or_else(|| PayloadError::Deserialize("empty payload".into()))?;
        let (len, header) = match bytes.first() {
            Some(&b @ 0x90..=0x9f) => (usize::from(b & 0x0f), 1),
            Some(0xdc) if bytes.len() >= 3 => {
                (usize::from(u16::from_be_bytes([bytes[1], bytes[2]])), 3)
            }
            Some(0xdd) if bytes.len() >= 5 => (
                u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize,
                5,
            ),
            _ => return Err(PayloadError::Deserialize("not an array".into())),
        };
        let mut out = Vec::with_capacity(bytes.len() + s.len() + 8);
        let n = len + 1;
        if n < 16 {
            out.push(0x90 | n as u8);
        } else if let Ok(n) = u16::try_from(n) {
            out.push(0xdc);
            out.extend_from_slice(&n.to_be_bytes());
        } else {
            out.push(0xdd);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        out.extend_from_slice(&bytes[header..]);
        rmp::encode::write_str(&mut out, s)
            .map_err(|e| PayloadError::Deserialize(e.to_string()))?;
        Ok(Self::from_wire_msgpack(bytes::Bytes::from(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // the origin of the virtual clock, read once
    fn epoch() -> Instant {
        Instant::now()
    }

    fn store() -> SessionStore {
        SessionStore::new(
            RecoveryConfig::default().max_disconnection_duration(Duration::from_secs(10)),
            [1; 32],
        )
    }

    fn session(sid: &str, pid: &str, rooms: &[&str]) -> PersistedSession {
        PersistedSession::new(
            sid.into(),
            pid.into(),
            rooms.iter().map(|r| (*r).to_owned()).collect(),
            Value::Null,
        )
    }

    fn names(missed: &[Payload]) -> Vec<String> {
        missed
            .iter()
            .map(|p| p.event_name().unwrap().as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn an_offset_is_appended_as_the_last_argument_in_both_formats() {
        let json = Payload::json(&("news", 1))
            .unwrap()
            .with_last_string("abc")
            .unwrap();
        assert_eq!(
            json.json_text().unwrap().as_ref() as &str,
            r#"["news",1,"abc"]"#
        );
        let empty = Payload::json(&Vec::<u8>::new())
            .unwrap()
            .with_last_string("o")
            .unwrap();
        assert_eq!(empty.json_text().unwrap().as_ref() as &str, r#"["o"]"#);
        let mp = Payload::msgpack(&("news", 1))
            .unwrap()
            .with_last_string("abc")
            .unwrap();
        let back: (String, u32, String) = mp.deserialize().unwrap();
        assert_eq!(back, ("news".into(), 1, "abc".into()));
        // 15 elements become 16: the header grows from fixarray to array 16.
        let long: Vec<u8> = (0..15).collect();
        let mp = Payload::msgpack(&long)
            .unwrap()
            .with_last_string("x")
            .unwrap();
        let back: Vec<Value> = mp.deserialize().unwrap();
        assert_eq!(back.len(), 16);
        assert_eq!(back[15], Value::String("x".into()));
    }

    #[test]
    fn a_restored_session_gets_the_packets_after_its_offset_for_its_rooms_only() {
        let mut s = store();
        let t = epoch();
        let seen = s.record(&[], &[], Payload::json(&("a",)).unwrap(), t);
        s.persist(session("s1", "p1", &["s1", "r1"]), t);
        s.record(&["r1".into()], &[], Payload::json(&("to-r1",)).unwrap(), t);
        s.record(&["r2".into()], &[], Payload::json(&("to-r2",)).unwrap(), t);
        s.record(
            &[],
            &["r1".into()],
            Payload::json(&("except-r1",)).unwrap(),
            t,
        );
        s.record(&["s1".into()], &[], Payload::json(&("to-s1",)).unwrap(), t);
        s.record(&[], &[], Payload::json(&("all",)).unwrap(), t);
        let restored = s.restore("p1", &seen, t).unwrap();
        assert_eq!(names(&restored.missed), ["to-r1", "to-s1", "all"]);
        // Used up: a second restore of the same pid is refused.
        assert_eq!(s.restore("p1", &seen, t), Err(RestoreError::UnknownSession));
    }

    #[test]
    fn an_expired_session_an_unknown_pid_and_a_forged_offset_are_refused() {
        let mut s = store();
        let t = epoch();
        let seen = s.record(&[], &[], Payload::json(&("a",)).unwrap(), t);
        s.persist(session("s1", "p1", &["s1"]), t);
        assert_eq!(
            s.restore("p1", &seen, t + Duration::from_secs(11)),
            Err(RestoreError::UnknownSession), // evicted by then
        );
        let t = t + Duration::from_secs(11);
        let seen = s.record(&[], &[], Payload::json(&("b",)).unwrap(), t);
        s.persist(session("s2", "p2", &["s2"]), t);
        assert_eq!(
            s.restore("nope", &seen, t),
            Err(RestoreError::UnknownSession)
        );
        for forged in ["", "zzz", "1-0", &format!("{seen}0"), "AAAAAAAA0"] {
            assert_eq!(
                s.restore("p2", forged, t),
                Err(RestoreError::UnknownOffset),
                "{forged}"
            );
        }
        // The forged attempts did not take the session away from its client.
        assert_eq!(s.restore("p2", &seen, t).unwrap().session.sid, "s2");
    }

    #[test]
    fn packets_older_than_the_window_and_past_the_byte_cap_are_dropped_first_in_first_out() {
        let mut s = SessionStore::new(
            RecoveryConfig::default()
                .max_disconnection_duration(Duration::from_secs(10))
                .max_stored_bytes(1_000),
            [2; 32],
        );
        let t = epoch();
        let first = s.record(&[], &[], Payload::json(&("a",)).unwrap(), t);
        for _ in 0..100 {
            s.record(&[], &[], Payload::json(&("b", "x".repeat(50))).unwrap(), t);
        }
        assert!(s.stored_bytes() <= 1_000, "{}", s.stored_bytes());
        s.persist(session("s1", "p1", &["s1"]), t);
        // The client's offset was dropped: a fresh session, never a replay with a gap.
        assert_eq!(s.restore("p1", &first, t), Err(RestoreError::UnknownOffset));
        s.evict(t + Duration::from_secs(11));
        assert_eq!(
            (s.stored_packets(), s.stored_bytes(), s.sessions()),
            (0, 0, 0)
        );
    }

    #[test]
    fn the_recoverable_reasons_are_the_references() {
        use engineio_proto::CloseReason as Eio;
        assert!(is_recoverable(&DisconnectReason::Transport(
            Eio::TransportClose
        )));
        assert!(is_recoverable(&DisconnectReason::Transport(
            Eio::PingTimeout
        )));
        assert!(is_recoverable(&DisconnectReason::ServerShuttingDown));
        assert!(is_recoverable(&DisconnectReason::ForcedServerClose));
        assert!(!is_recoverable(
            &DisconnectReason::ClientNamespaceDisconnect
        ));
        assert!(!is_recoverable(
            &DisconnectReason::ServerNamespaceDisconnect
        ));
    }
}
