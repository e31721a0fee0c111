//! The Redis Streams adapter's wire format, `@socket.io/redis-streams-adapter` 0.3.1 (§5 of
//! the project's `reference/CLUSTER.md`): the stream a namespace uses (§5.2, with the
//! JavaScript `hashCode` of `streamCount > 1`), the four string fields of a stream entry
//! (§5.3), the session value kept for connection state recovery (§5.5) and the offset rules.
//! The ephemeral messages and the responses (§5.4) are whole [`ClusterMessage`]s in msgpack
//! ([`ClusterMessage::encode_msgpack`] / [`ClusterMessage::decode`]).
//!
//! ```
//! use socketio_proto::cluster::streams;
//!
//! assert_eq!(streams::stream_name("socket.io", 1, "/"), "socket.io");
//! assert_eq!(streams::stream_name("socket.io", 4, "/notifications"), "socket.io--3");
//! assert!(streams::is_offset("1700000000000-0"));
//! assert_eq!(streams::next_offset("1700000000000-9").as_deref(), Some("1700000000000-10"));
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::collections::VecDeque;

use bytes::Bytes;

use super::adapter::{ClusterMessage, MessageBody, MessageType};
use super::node::Doc;
use super::writer::{Format, Writer};
use super::{ClusterDecodeError, DecodeResult, EncodeResult};
use crate::recovery::PersistedSession;
use crate::{Payload, Value};

/// The stream of namespace `nsp`: `stream_name` itself when `stream_count` is 1, else
/// `stream_name + "-" + (hashCode(nsp) % stream_count)` with JavaScript's 32-bit wrapping
/// arithmetic over UTF-16 code units and its truncated remainder (which can be negative).
pub fn stream_name(stream_name: &str, stream_count: u32, nsp: &str) -> String {
    if stream_count <= 1 {
        return stream_name.to_owned();
    }
    let hash = nsp.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    // `i32 % i32` truncates toward zero, as JavaScript's `%`; the count fits an i32.
    let index = hash.wrapping_rem(i32::try_from(stream_count).unwrap_or(i32::MAX));
    format!("{stream_name}-{index}")
}

/// Whether `offset` is a stream entry id the adapter accepts for a restore
/// (`^[0-9]+-[0-9]+$`).
pub fn is_offset(offset: &str) -> bool {
    offset.split_once('-').is_some_and(|(ms, seq)| {
        !ms.is_empty()
            && !seq.is_empty()
            && ms.bytes().all(|b| b.is_ascii_digit())
            && seq.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The id right after `offset` (`t-s` → `t-(s+1)`), to read a range that excludes it;
/// `None` for something that is not an offset (or whose sequence overflows).
pub fn next_offset(offset: &str) -> Option<String> {
    if !is_offset(offset) {
        return None;
    }
    let (ms, seq) = offset.split_once('-')?;
    let seq: u64 = seq.parse().ok()?;
    Some(format!("{ms}-{}", seq.checked_add(1)?))
}

/// The fields of a stream entry, in the order the adapter writes them: `uid`, `nsp`, `type`
/// (decimal), and `data` unless the message has none: `JSON.stringify(data)`, or, for the
/// types 3, 8, 9, 10 and 12 when the data holds binary (and not `only_plaintext`),
/// `base64(msgpack(data))`.
pub fn encode_entry(
    message: &ClusterMessage,
    only_plaintext: bool,
) -> EncodeResult<Vec<(&'static str, String)>> {
    let mut fields = vec![
        ("uid", message.uid.clone()),
        ("nsp", message.nsp.clone()),
        ("type", (message.body.message_type() as u8).to_string()),
    ];
    if !matches!(
        message.body,
        MessageBody::InitialHeartbeat | MessageBody::Heartbeat | MessageBody::AdapterClose
    ) {
        let binary = !only_plaintext && message.sharded_uses_msgpack();
        let format = if binary {
            Format::MsgPack
        } else {
            Format::Json
        };
        let mut w = Writer::new(format);
        message.body.write(&mut w)?;
        let data = w.finish();
        let data = if binary {
            STANDARD.encode(&data)
        } else {
            String::from_utf8(data.to_vec())
                .map_err(|e| super::ClusterEncodeError::Payload(e.to_string()))?
        };
        fields.push(("data", data));
    }
    Ok(fields)
}

/// Decodes a stream entry from its fields (any order, unknown ones ignored). `None` for an
/// entry without `nsp`, which the adapter skips.
pub fn decode_entry<'a, I>(fields: I) -> DecodeResult<Option<ClusterMessage>>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
{
    let (mut uid, mut nsp, mut ty, mut data) = (None, None, None, None);
    for (key, value) in fields {
        let text = || {
            std::str::from_utf8(value).map_err(|_| ClusterDecodeError::WrongType {
                field: "entry",
                expected: "UTF-8 text",
                found: "bytes",
            })
        };
        match key {
            "uid" => uid = Some(text()?.to_owned()),
            "nsp" => nsp = Some(text()?.to_owned()),
            "type" => ty = Some(text()?.to_owned()),
            "data" => data = Some(value),
            _ => {}
        }
    }
    let Some(nsp) = nsp else { return Ok(None) };
    let uid = uid.ok_or(ClusterDecodeError::MissingField("uid"))?;
    let ty = ty.ok_or(ClusterDecodeError::MissingField("type"))?;
    let ty: f64 = match ty.parse::<u8>() {
        Ok(n) => f64::from(n),
        Err(_) => {
            return Err(ClusterDecodeError::WrongType {
                field: "type",
                expected: "a decimal number",
                found: "a string",
            });
        }
    };
    let doc = match data {
        None => None,
        Some(bytes) if bytes.first() == Some(&b'{') => Some(Doc::json(bytes)?),
        Some(bytes) => {
            let raw = STANDARD
                .decode(bytes)
                .map_err(|_| ClusterDecodeError::MalformedMsgPack("data is not base64"))?;
            Some(Doc::msgpack(Bytes::from(raw))?)
        }
    };
    let body = MessageBody::decode(ty, doc.as_ref().map(Doc::root))?;
    Ok(Some(ClusterMessage::new(uid, nsp, body)))
}

/// Whether the adapter writes `message` to the stream (durable) or publishes it (ephemeral,
/// §5.4): BROADCAST with ack, SERVER_SIDE_EMIT and FETCH_SOCKETS are published, the
/// responses go to the requester's channel, the rest is written to the stream.
pub fn is_durable(message: &ClusterMessage) -> bool {
    match &message.body {
        MessageBody::Broadcast { request_id, .. } => request_id.is_none(),
        other => matches!(
            other.message_type(),
            MessageType::SocketsJoin | MessageType::SocketsLeave | MessageType::DisconnectSockets
        ),
    }
}

/// The key of a persisted session: `sessionKeyPrefix + pid` (`"sio:session:"` by default).
pub fn session_key(prefix: &str, pid: &str) -> String {
    format!("{prefix}{pid}")
}

/// The value kept under [`session_key`]: `base64(msgpack({sid, pid, rooms, data}))`, as a
/// Node node writes it.
pub fn encode_session(session: &PersistedSession) -> EncodeResult<String> {
    write_session(session, None)
}

/// [`encode_session`] with the session's namespace as a fifth key, `nsp`, which a Node node
/// ignores: a restore in another namespace ([`restorable_in`]) then refuses it, so that a
/// pid obtained in one namespace cannot skip the middlewares of another.
pub fn encode_session_in(session: &PersistedSession, nsp: &str) -> EncodeResult<String> {
    write_session(session, Some(nsp))
}

fn write_session(session: &PersistedSession, nsp: Option<&str>) -> EncodeResult<String> {
    #[derive(serde::Serialize)]
    struct Session<'a> {
        sid: &'a str,
        pid: &'a str,
        rooms: &'a [String],
        data: &'a Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        nsp: Option<&'a str>,
    }
    let payload = Payload::msgpack(&Session {
        sid: &session.sid,
        pid: &session.pid,
        rooms: &session.rooms,
        data: &session.data,
        nsp,
    })
    .map_err(|e| super::ClusterEncodeError::Payload(e.to_string()))?;
    Ok(STANDARD.encode(payload.msgpack_bytes().map_or(&[][..], |b| b.as_ref())))
}

/// Reads a value written by [`encode_session`] (or by a Node node).
pub fn decode_session(value: &[u8]) -> DecodeResult<PersistedSession> {
    read_session(value).map(|(session, _)| session)
}

/// Reads a session for a restore in namespace `nsp`: `None` when it was written in another
/// one ([`encode_session_in`]); a session without namespace (written by a Node node) is
/// restorable anywhere, as the reference does.
pub fn restorable_in(value: &[u8], nsp: &str) -> DecodeResult<Option<PersistedSession>> {
    let (session, written_in) = read_session(value)?;
    Ok(written_in
        .is_none_or(|written_in| written_in == nsp)
        .then_some(session))
}

fn read_session(value: &[u8]) -> DecodeResult<(PersistedSession, Option<String>)> {
    #[derive(serde::Deserialize)]
    struct Session {
        sid: String,
        pid: String,
        rooms: Vec<String>,
        #[serde(default)]
        data: Value,
        #[serde(default)]
        nsp: Option<String>,
    }
    let raw = STANDARD
        .decode(value)
        .map_err(|_| ClusterDecodeError::MalformedMsgPack("session is not base64"))?;
    let doc = Doc::msgpack(Bytes::from(raw))?;
    let payload = doc.root().payload()?;
    let s: Session = payload
        .deserialize()
        .map_err(|e| ClusterDecodeError::MalformedJson(e.to_string()))?;
    Ok((PersistedSession::new(s.sid, s.pid, s.rooms, s.data), s.nsp))
}

/// A stream entry id as its two numbers, for ordering (`None` for something else).
pub fn parse_offset(offset: &str) -> Option<(u64, u64)> {
    let (ms, seq) = offset.split_once('-')?;
    if !is_offset(offset) {
        return None;
    }
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// The event a socket of namespace `nsp` in `session_rooms` missed with stream entry `id`
/// (§5.5, step 4): `[event, ...args, id]` when the entry is a BROADCAST without ack of this
/// namespace that reached those rooms, else `None`. Unlike the reference, a volatile
/// broadcast is not replayed: it never carries an offset when it is sent live either.
pub fn missed_event(
    id: &str,
    message: &ClusterMessage,
    nsp: &str,
    session_rooms: &[String],
) -> Option<Payload> {
    let MessageBody::Broadcast {
        packet,
        request_id: None,
        opts,
    } = &message.body
    else {
        return None;
    };
    if message.nsp != nsp
        || opts.flags().volatile()
        || !crate::recovery::reaches_session(&opts.rooms, &opts.except, session_rooms)
    {
        return None;
    }
    packet.data.with_last_string(id).ok()
}

/// Stream entries kept by a [`DeliveryLog`] at most, and their bytes.
const LOG_ENTRIES: usize = 1_024;
const LOG_BYTES: usize = 1 << 20;

struct Logged {
    id: (u64, u64),
    offset: String,
    rooms: Vec<String>,
    except: Vec<String>,
    data: Payload,
    bytes: usize,
}

/// What a node delivered to its own sockets from a stream, in stream order, kept briefly so
/// that a socket recovered across nodes neither misses an event nor gets one twice.
///
/// A restore reads the missed events from the stream up to some entry `X`; the node's own
/// delivery has reached some entry `L` when the socket is back in its rooms. When `L > X`,
/// the entries in `(X, L]` went out before the socket was back: [`DeliveryLog::recovered`]
/// returns them. When `L < X`, the entries in `(L, X]` are among the missed events and are
/// still to be delivered here: [`DeliveryLog::deliver`] leaves the socket out of them. The
/// driver calls both under one lock, with the delivery itself.
///
/// ```
/// use socketio_proto::cluster::streams::DeliveryLog;
/// use socketio_proto::Payload;
///
/// let mut log = DeliveryLog::default();
/// let rooms = vec!["sid1".to_owned(), "news".to_owned()];
/// log.deliver("5-0", &["news".to_owned()], &[], &Payload::json(&("a", 1)).unwrap());
/// // The restore read up to 4-0: 5-0 went out before the socket was back.
/// let (since, complete) = log.recovered("sid1", &rooms, "4-0");
/// assert!(complete);
/// assert_eq!(since.len(), 1);
/// // Another restore read up to 7-0: 6-0 and 7-0 are among its missed events.
/// log.recovered("sid2", &["sid2".to_owned()], "7-0");
/// let skip = log.deliver("6-0", &[], &[], &Payload::json(&("b",)).unwrap());
/// assert_eq!(skip, ["sid2"]);
/// ```
#[derive(Default)]
pub struct DeliveryLog {
    entries: VecDeque<Logged>,
    bytes: usize,
    /// The last entry delivered.
    last: Option<(u64, u64)>,
    /// The last entry dropped from the log: a restore that read less than it may have lost
    /// events.
    dropped: Option<(u64, u64)>,
    /// Recovered sockets and the last entry of their missed events, still to be delivered.
    ahead: Vec<(String, (u64, u64))>,
}

impl std::fmt::Debug for DeliveryLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryLog")
            .field("entries", &self.entries.len())
            .field("bytes", &self.bytes)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl DeliveryLog {
    /// Records that entry `offset`, `data` for `rooms` except `except`, is delivered now, and
    /// returns the recovered sockets to leave out: they got it among their missed events.
    /// An entry not after the last one is not recorded (the stream is read in order).
    pub fn deliver(
        &mut self,
        offset: &str,
        rooms: &[String],
        except: &[String],
        data: &Payload,
    ) -> Vec<String> {
        let Some(id) = parse_offset(offset) else {
            return Vec::new();
        };
        let skip = self
            .ahead
            .iter()
            .filter(|(_, until)| *until >= id)
            .map(|(sid, _)| sid.clone())
            .collect();
        self.ahead.retain(|(_, until)| *until > id);
        if self.last.is_some_and(|last| id <= last) {
            return skip;
        }
        self.last = Some(id);
        let bytes = data.wire_len() + offset.len();
        self.entries.push_back(Logged {
            id,
            offset: offset.to_owned(),
            rooms: rooms.to_vec(),
            except: except.to_vec(),
            data: data.clone(),
            bytes,
        });
        self.bytes += bytes;
        while self.entries.len() > LOG_ENTRIES || self.bytes > LOG_BYTES {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= old.bytes;
            self.dropped = Some(old.id);
        }
        skip
    }

    /// A socket `sid` back in `rooms` whose missed events were read up to `last_offset`:
    /// the events delivered here after it that reached those rooms (each with its offset
    /// appended), and whether the log reached back far enough to hold them all.
    pub fn recovered(
        &mut self,
        sid: &str,
        rooms: &[String],
        last_offset: &str,
    ) -> (Vec<Payload>, bool) {
        let Some(x) = parse_offset(last_offset) else {
            return (Vec::new(), true);
        };
        if self.last.is_none_or(|last| last < x) {
            self.ahead.push((sid.to_owned(), x));
        }
        let complete = self.dropped.is_none_or(|dropped| dropped <= x);
        let since = self
            .entries
            .iter()
            .filter(|e| e.id > x && crate::recovery::reaches_session(&e.rooms, &e.except, rooms))
            .filter_map(|e| e.data.with_last_string(&e.offset).ok())
            .collect();
        (since, complete)
    }

    /// Entries and bytes held.
    pub fn held(&self) -> (usize, usize) {
        (self.entries.len(), self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{BroadcastOptions, BroadcastPacket};

    #[test]
    fn the_stream_of_a_namespace_follows_the_javascript_hash() {
        // §5.2: `/` → 47 → socket.io-3; `/chat` → 46457863 → socket.io-3;
        // `/notifications` → −1014064871 → socket.io--3 (count 4).
        assert_eq!(stream_name("socket.io", 4, "/"), "socket.io-3");
        assert_eq!(stream_name("socket.io", 4, "/chat"), "socket.io-3");
        assert_eq!(
            stream_name("socket.io", 4, "/notifications"),
            "socket.io--3"
        );
        assert_eq!(stream_name("s", 1, "/chat"), "s");
    }

    #[test]
    fn offsets_are_stream_ids_and_the_next_one_excludes_it() {
        assert!(is_offset("0-0"));
        for bad in ["", "-", "1-", "-1", "a-1", "1-1-1", "1_1", "Q8J-0_g"] {
            assert!(!is_offset(bad), "{bad}");
        }
        assert_eq!(next_offset("12-0").as_deref(), Some("12-1"));
        assert_eq!(next_offset(&format!("1-{}", u64::MAX)), None);
    }

    fn broadcast(data: Payload) -> ClusterMessage {
        ClusterMessage::new(
            "0123456789abcdef",
            "/",
            MessageBody::Broadcast {
                packet: BroadcastPacket::event(data, None),
                request_id: None,
                opts: BroadcastOptions::to_rooms(Vec::<String>::new()),
            },
        )
    }

    fn to(rooms: &[&str], except: &[&str], volatile: bool) -> ClusterMessage {
        let mut message = broadcast(Payload::json(&("ev", 1)).unwrap());
        if let MessageBody::Broadcast { opts, .. } = &mut message.body {
            let mut flags = crate::cluster::BroadcastFlags::new();
            if volatile {
                flags.set(crate::cluster::Flag::Volatile(true));
            }
            *opts = BroadcastOptions::new(
                rooms.iter().map(|r| (*r).to_owned()).collect(),
                except.iter().map(|r| (*r).to_owned()).collect(),
                Some(flags),
            );
        }
        message
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_missed_event_is_a_broadcast_of_the_namespace_to_the_sessions_rooms_with_its_id_appended() {
        let rooms = strings(&["sid1", "news"]);
        let all = missed_event("7-1", &to(&[], &[], false), "/", &rooms).unwrap();
        assert_eq!(all.json_text().map(|t| &**t), Some(r#"["ev",1,"7-1"]"#));
        assert!(missed_event("7-1", &to(&["news"], &[], false), "/", &rooms).is_some());
        assert!(missed_event("7-1", &to(&["sport"], &[], false), "/", &rooms).is_none());
        assert!(missed_event("7-1", &to(&[], &["sid1"], false), "/", &rooms).is_none());
        assert!(missed_event("7-1", &to(&[], &[], false), "/chat", &rooms).is_none());
        // Not replayed, unlike the reference: a volatile event and one with an ack.
        assert!(missed_event("7-1", &to(&[], &[], true), "/", &rooms).is_none());
        let mut with_ack = to(&[], &[], false);
        if let MessageBody::Broadcast { request_id, .. } = &mut with_ack.body {
            *request_id = Some("r1".to_owned());
        }
        assert!(missed_event("7-1", &with_ack, "/", &rooms).is_none());
    }

    #[test]
    fn the_delivery_log_hands_a_recovered_socket_what_went_out_after_its_restore_and_only_that() {
        let mut log = DeliveryLog::default();
        let data = Payload::json(&("ev",)).unwrap();
        let rooms = strings(&["s1", "news"]);
        assert!(log.deliver("1-0", &[], &[], &data).is_empty());
        log.deliver("2-0", &strings(&["sport"]), &[], &data);
        log.deliver("3-0", &strings(&["news"]), &[], &data);
        log.deliver("3-1", &[], &strings(&["s1"]), &data);
        // The restore read up to 1-0; 2-0 is not for it, 3-1 excludes it.
        let (since, complete) = log.recovered("s1", &rooms, "1-0");
        assert!(complete);
        let texts: Vec<_> = since
            .iter()
            .map(|p| p.json_text().unwrap().to_string())
            .collect();
        assert_eq!(texts, [r#"["ev","3-0"]"#]);
        // Read up to 5-0 while this node delivered 3-1: 4-0 and 5-0 skip it, 6-0 does not.
        let (since, _) = log.recovered("s2", &strings(&["s2"]), "5-0");
        assert!(since.is_empty());
        assert_eq!(log.deliver("4-0", &[], &[], &data), ["s2"]);
        assert_eq!(log.deliver("5-0", &[], &[], &data), ["s2"]);
        assert!(log.deliver("6-0", &[], &[], &data).is_empty());
        // A malformed offset gives nothing, and no panic.
        assert_eq!(log.recovered("s3", &rooms, "x"), (Vec::new(), true));
    }

    #[test]
    fn the_delivery_log_is_bounded_and_says_when_it_no_longer_reaches_back() {
        let mut log = DeliveryLog::default();
        let data = Payload::json(&("ev", "x".repeat(100))).unwrap();
        for i in 0..5_000u32 {
            log.deliver(&format!("{i}-0"), &[], &[], &data);
        }
        let (entries, bytes) = log.held();
        assert!(entries <= LOG_ENTRIES && bytes <= LOG_BYTES);
        let (since, complete) = log.recovered("s", &strings(&["s"]), "10-0");
        assert!(!complete);
        assert_eq!(since.len(), entries);
        assert!(log.recovered("s", &strings(&["s"]), "4998-0").1);
    }

    #[test]
    fn a_session_written_in_one_namespace_is_not_restorable_in_another() {
        let session = PersistedSession::new(
            "sid1".into(),
            "pid1".into(),
            strings(&["sid1", "r"]),
            Value::Null,
        );
        let ours = encode_session_in(&session, "/").unwrap();
        assert_eq!(
            restorable_in(ours.as_bytes(), "/").unwrap(),
            Some(session.clone())
        );
        assert_eq!(restorable_in(ours.as_bytes(), "/admin").unwrap(), None);
        // Node's value has no namespace: restorable anywhere, as the reference.
        let nodes = encode_session(&session).unwrap();
        assert_eq!(
            restorable_in(nodes.as_bytes(), "/admin").unwrap(),
            Some(session)
        );
        assert!(restorable_in(b"not base64!", "/").is_err());
    }

    #[test]
    fn an_entry_is_four_strings_with_json_data_or_base64_msgpack_for_binary() {
        // §5.3, the JSON example.
        let mut message = broadcast(Payload::msgpack(&("hello", 1)).unwrap());
        if let MessageBody::Broadcast { opts, .. } = &mut message.body {
            *opts = BroadcastOptions::to_rooms(["room1"]);
        }
        let fields = encode_entry(&message, false).unwrap();
        assert_eq!(
            fields,
            [
                ("uid", "0123456789abcdef".to_owned()),
                ("nsp", "/".to_owned()),
                ("type", "3".to_owned()),
                (
                    "data",
                    r#"{"packet":{"type":2,"data":["hello",1]},"opts":{"rooms":["room1"],"except":[],"flags":{}}}"#
                        .to_owned()
                ),
            ]
        );
        // §5.3, the binary example.
        let binary = broadcast(Payload::msgpack(&("ev", Bytes::from_static(&[1, 2, 3]))).unwrap());
        let fields = encode_entry(&binary, false).unwrap();
        assert_eq!(
            fields[3].1,
            "gqZwYWNrZXSCpHR5cGUCpGRhdGGSomV2xAMBAgOkb3B0c4Olcm9vbXOQpmV4Y2VwdJClZmxhZ3OA"
        );
        for m in [message, binary] {
            let fields = encode_entry(&m, false).unwrap();
            let decoded = decode_entry(fields.iter().map(|(k, v)| (*k, v.as_bytes())))
                .unwrap()
                .unwrap();
            // The same message (its payload now in the entry's format): the same entry.
            assert_eq!(encode_entry(&decoded, false).unwrap(), fields);
        }
    }

    #[test]
    fn an_entry_without_nsp_is_skipped_and_a_bad_one_is_an_error_never_a_panic() {
        assert_eq!(
            decode_entry([("uid", &b"x"[..]), ("type", b"3")]).unwrap(),
            None
        );
        for fields in [
            vec![("nsp", &b"/"[..]), ("type", b"3")],
            vec![("nsp", &b"/"[..]), ("uid", b"x"), ("type", b"three")],
            vec![("nsp", &b"/"[..]), ("uid", b"x"), ("type", b"3")],
            vec![
                ("nsp", &b"/"[..]),
                ("uid", b"x"),
                ("type", b"3"),
                ("data", b"{"),
            ],
            vec![
                ("nsp", &b"/"[..]),
                ("uid", b"x"),
                ("type", b"3"),
                ("data", b"!!"),
            ],
            vec![
                ("nsp", &b"/"[..]),
                ("uid", b"x"),
                ("type", b"99"),
                ("data", b"{}"),
            ],
            vec![("nsp", &b"\xff"[..]), ("uid", b"x"), ("type", b"2")],
        ] {
            assert!(decode_entry(fields.clone()).is_err(), "{fields:?}");
        }
        let heartbeat = decode_entry([("nsp", &b"/"[..]), ("uid", b"x"), ("type", b"2")]).unwrap();
        assert_eq!(heartbeat.unwrap().body, MessageBody::Heartbeat);
    }

    #[test]
    fn a_session_round_trips_as_base64_msgpack() {
        let session = PersistedSession::new(
            "sid".into(),
            "pid".into(),
            vec!["sid".into(), "room1".into()],
            Value::Object(vec![("a".into(), Value::Bool(true))]),
        );
        let value = encode_session(&session).unwrap();
        assert_eq!(decode_session(value.as_bytes()).unwrap(), session);
        assert!(decode_session(b"not base64!").is_err());
        assert!(decode_session(STANDARD.encode([0xc1]).as_bytes()).is_err());
    }

    #[test]
    fn durable_messages_go_to_the_stream_the_others_are_published() {
        assert!(is_durable(&broadcast(Payload::json(&("a",)).unwrap())));
        let with_ack = ClusterMessage::new(
            "u",
            "/",
            MessageBody::Broadcast {
                packet: BroadcastPacket::event(Payload::json(&("a",)).unwrap(), None),
                request_id: Some("r".into()),
                opts: BroadcastOptions::all(),
            },
        );
        assert!(!is_durable(&with_ack));
        let fetch = ClusterMessage::new(
            "u",
            "/",
            MessageBody::FetchSockets {
                opts: BroadcastOptions::all(),
                request_id: "r".into(),
            },
        );
        assert!(!is_durable(&fetch));
    }
}
