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
use bytes::Bytes;

use super::adapter::{ClusterMessage, MessageBody, MessageType};
use super::node::Doc;
use super::writer::{Format, Writer};
use super::{ClusterDecodeError, DecodeResult, EncodeResult};
use crate::Value;
use crate::recovery::PersistedSession;

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

/// The value kept under [`session_key`]: `base64(msgpack({sid, pid, rooms, data}))`.
pub fn encode_session(session: &PersistedSession) -> EncodeResult<String> {
    #[derive(serde::Serialize)]
    struct Session<'a> {
        sid: &'a str,
        pid: &'a str,
        rooms: &'a [String],
        data: &'a Value,
    }
    let payload = crate::Payload::msgpack(&Session {
        sid: &session.sid,
        pid: &session.pid,
        rooms: &session.rooms,
        data: &session.data,
    })
    .map_err(|e| super::ClusterEncodeError::Payload(e.to_string()))?;
    Ok(STANDARD.encode(payload.msgpack_bytes().map_or(&[][..], |b| b.as_ref())))
}

/// Reads a value written by [`encode_session`] (or by a Node node).
pub fn decode_session(value: &[u8]) -> DecodeResult<PersistedSession> {
    #[derive(serde::Deserialize)]
    struct Session {
        sid: String,
        pid: String,
        rooms: Vec<String>,
        #[serde(default)]
        data: Value,
    }
    let raw = STANDARD
        .decode(value)
        .map_err(|_| ClusterDecodeError::MalformedMsgPack("session is not base64"))?;
    let doc = Doc::msgpack(Bytes::from(raw))?;
    let payload = doc.root().payload()?;
    let s: Session = payload
        .deserialize()
        .map_err(|e| ClusterDecodeError::MalformedJson(e.to_string()))?;
    Ok(PersistedSession::new(s.sid, s.pid, s.rooms, s.data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Payload;
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
