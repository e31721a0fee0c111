//! The wire messages of the official Socket.IO multi-node adapters, Sans-IO: typed values and
//! their encoding and decoding, with no Redis client and no I/O.
//!
//! Implemented (section numbers of the project's `reference/CLUSTER.md`):
//!
//! - [`classic`]: the classic Redis adapter, `@socket.io/redis-adapter` 8.3.0 `createAdapter`
//!   (§2): channel names (§2.2), the broadcast message `[uid, packet, opts]` in `notepack.io`
//!   3.0.1 msgpack (§2.3), the requests of types 0–7 and the responses (§2.5) in JSON or
//!   msgpack exactly as the adapter sends them, and the rules that decide which node acts on
//!   which message (§2.4, §2.5). The `@socket.io/redis-emitter` 5.1.0 messages (§7.1) go
//!   through the same types (no `uid` or `"emitter"`, options in the emitter's [`KeyOrder`]).
//! - [`adapter`]: the `ClusterAdapter` messages of `socket.io-adapter` 2.5.8 (§4,
//!   `MessageType` 1–13), as the sharded Redis adapter puts them on the wire (§3.3): JSON, or
//!   the whole message in notepack when its data has binary.
//! - [`streams`]: the Redis Streams adapter 0.3.1 (§5): a namespace's stream, the fields of
//!   a stream entry, the session value of connection state recovery, the offset rules.
//! - [`request`]: when a request to the other nodes is complete (answers counted, §1.4,
//!   §2.6, §4.4) and the reference's error when the timeout comes first.
//! - The shared pieces (§1): the [`BroadcastPacket`] (§1.2), the broadcast options with their
//!   [`BroadcastFlags`] (§1.3) and the [`SocketDetails`] a `fetchSockets` answer carries
//!   (§1.5). §9 (notepack and JSON encodings) is the rule for every encoder here.
//!
//! Encoding is byte-identical to what Node publishes for the same values: keys in the order
//! Node builds its objects, integers in the smallest form, absent optional fields omitted
//! (never `nil`: Node tests `requestId !== undefined`), compact JSON that starts with `{` (the
//! receivers sniff the first byte). Decoding accepts what Node sends: any integer width,
//! floats for numbers, extra fields (ignored), `null` where Node accepts it; it refuses
//! malformed input with a [`ClusterDecodeError`], with bounded nesting and no panic.
//!
//! JavaScript values carried by a message (event arguments, ack arguments, `socket.data`, the
//! handshake) are [`Payload`]s: inside a msgpack message, a slice of the received bytes with
//! binary inline, which the server's encoder reads once per node; inside a JSON message, the
//! value's JSON text.
//!
//! # What is left to the adapter
//!
//! Everything with state or I/O: the Redis connections (`PSUBSCRIBE`/`SUBSCRIBE`/`PUBLISH`,
//! `SSUBSCRIBE`/`SPUBLISH`), the server count (`PUBSUB NUMSUB`/`SHARDNUMSUB`), pending
//! requests and their timeouts, counting answers, applying the room filter to local sockets,
//! the uids and request ids (random, per namespace), the dynamic-channel subscriptions of the
//! sharded adapter (§3.2), heartbeats (§4.4), and the other transports of the
//! `ClusterAdapter` protocol (Redis streams §5, Postgres §6), which reuse [`adapter`]'s
//! message types with their own framing.
//!
//! ```
//! use socketio_proto::cluster::{classic, BroadcastOptions, BroadcastPacket};
//! use socketio_proto::Payload;
//!
//! let channels = classic::Channels::new("socket.io", "/", "AbCdEf");
//! let msg = classic::Broadcast::new(
//!     "AbCdEf".into(),
//!     BroadcastPacket::event(Payload::msgpack(&("hello", 1)).unwrap(), Some("/".into())),
//!     BroadcastOptions::to_rooms(["room1"]),
//! );
//! assert_eq!(channels.broadcast_channel(&msg.opts), "socket.io#/#room1#");
//! let bytes = msg.encode().unwrap();
//! assert_eq!(classic::Broadcast::decode(bytes).unwrap(), msg);
//! ```

pub mod adapter;
pub mod classic;
mod node;
pub mod request;
pub mod streams;
mod writer;

use crate::{PacketKind, Payload};
use node::{Node, Shape};
use writer::Writer;

/// Why a cluster message could not be decoded. The adapters ignore such messages (Node logs
/// "ignoring malformed request" and drops it); so should a driver.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterDecodeError {
    /// The message starts with `{` but is not JSON (or nests deeper than 128 levels).
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// The message is not one msgpack value (truncated, trailing bytes, a reserved byte,
    /// invalid UTF-8 in a string).
    #[error("malformed msgpack: {0}")]
    MalformedMsgPack(&'static str),
    /// The message nests deeper than 128 levels.
    #[error("nested too deeply")]
    NestingTooDeep,
    /// A field the message type requires is absent.
    #[error("missing field {0:?}")]
    MissingField(&'static str),
    /// A field (or the message itself) has the wrong type.
    #[error("{field:?} must be {expected}, found {found}")]
    WrongType {
        /// The field (`"message"` for the whole message).
        field: &'static str,
        /// What the protocol requires.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// The `type` is not a request/message type of this protocol.
    #[error("unknown message type {0}")]
    UnknownType(f64),
    /// A broadcast packet whose `type` is not a Socket.IO packet type (0–4).
    #[error("invalid packet type {0}")]
    InvalidPacketType(f64),
}

/// Why a cluster message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterEncodeError {
    /// A message that the reference always sends as JSON carries binary data. Node would write
    /// a `Buffer` as `{"type":"Buffer","data":[…]}`, which no receiver reads back as binary;
    /// we refuse instead.
    #[error("binary data in a message sent as JSON")]
    BinaryInJson,
    /// A payload could not be read to be converted between JSON and msgpack.
    #[error("payload: {0}")]
    Payload(String),
}

type DecodeResult<T> = Result<T, ClusterDecodeError>;
type EncodeResult<T> = Result<T, ClusterEncodeError>;

/// The room a non-string room name of broadcast options decodes to (`null` from
/// `io.in(undefined)` in Node code): no socket is in it, so the operation matches nothing, as
/// in Node.
pub const NO_ROOM: &str = "\u{0}not a room";

/// The decoded packet object that adapters carry (§1.2): `{type, data, id?, nsp?}`.
///
/// `type` is 2 (EVENT) for every broadcast, binary arguments included (the receiving node's
/// encoder makes a BINARY_EVENT of it). Encoded keys: `type`, `data`, `id` (when present),
/// `nsp` (when present) — the order Node builds the object in.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BroadcastPacket {
    /// The packet type; [`PacketKind::Event`] for broadcasts.
    pub kind: PacketKind,
    /// `[event, ...args]` as JavaScript values (binary inline in msgpack).
    pub data: Payload,
    /// The namespace. The classic adapter sets it; `ClusterAdapter` messages from Node
    /// don't. A receiver uses its own namespace (the classic one defaults a missing `nsp` to
    /// `"/"` and drops other namespaces).
    pub nsp: Option<String>,
    /// An ack id, only when a Node server with connection state recovery routes a single
    /// socket's emit with ack through the adapter; receivers must tolerate it.
    pub id: Option<u64>,
}

impl BroadcastPacket {
    /// An EVENT packet carrying `data` (`[event, ...args]`).
    pub fn event(data: Payload, nsp: Option<String>) -> Self {
        Self {
            kind: PacketKind::Event,
            data,
            nsp,
            id: None,
        }
    }

    fn decode(node: Node<'_>) -> DecodeResult<Self> {
        let obj = node.object("packet")?;
        let ty = obj.req("type")?;
        let kind = match ty.shape()? {
            Shape::Number(n) => {
                if n.fract() == 0.0 && (0.0..=4.0).contains(&n) {
                    PacketKind::from_code(n as u8)
                        .ok_or(ClusterDecodeError::InvalidPacketType(n))?
                } else {
                    return Err(ClusterDecodeError::InvalidPacketType(n));
                }
            }
            _ => return Err(ty.wrong("type", "a number")),
        };
        let data = obj.req("data")?.payload()?;
        let nsp = match obj.get("nsp") {
            None => None,
            Some(n) => Some(n.str("nsp")?.to_owned()),
        };
        let id = match obj.get("id") {
            None => None,
            Some(n) => Some(n.uint("id")?),
        };
        Ok(Self {
            kind,
            data,
            nsp,
            id,
        })
    }

    fn write(&self, w: &mut Writer) -> EncodeResult<()> {
        w.map(2 + usize::from(self.id.is_some()) + usize::from(self.nsp.is_some()));
        w.key("type");
        w.uint(u64::from(self.kind.code()));
        w.key("data");
        w.payload(&self.data)?;
        if let Some(id) = self.id {
            w.key("id");
            w.uint(id);
        }
        if let Some(nsp) = &self.nsp {
            w.key("nsp");
            w.str(nsp);
        }
        w.end(true);
        Ok(())
    }
}

/// One broadcast flag (`BroadcastFlags` of `socket.io-adapter`, §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Flag {
    /// `volatile`: the receiver may drop the packet for a client that is not ready.
    Volatile(bool),
    /// `compress`: permessage-deflate for this packet.
    Compress(bool),
    /// `local`: never published (a received one is only honoured as a flag).
    Local(bool),
    /// `broadcast`: set by `socket.broadcast`.
    Broadcast(bool),
    /// `binary` (legacy).
    Binary(bool),
    /// `timeout` in milliseconds, for broadcasts with acks.
    Timeout(u64),
    /// `expectSingleResponse`: the operation comes from a `RemoteSocket`.
    ExpectSingleResponse(bool),
}

impl Flag {
    fn name(self) -> &'static str {
        match self {
            Self::Volatile(_) => "volatile",
            Self::Compress(_) => "compress",
            Self::Local(_) => "local",
            Self::Broadcast(_) => "broadcast",
            Self::Binary(_) => "binary",
            Self::Timeout(_) => "timeout",
            Self::ExpectSingleResponse(_) => "expectSingleResponse",
        }
    }
}

/// The `flags` object of the broadcast options, in the order its keys were set (Node's order
/// follows the calls, e.g. `io.volatile.compress(false)` → `{volatile, compress}`; a
/// `RemoteSocket`'s `timeout()` → `{expectSingleResponse, timeout}`), so that a decoded
/// object encodes back to the same bytes. Unknown keys are ignored on decode (and so not
/// written again).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastFlags {
    flags: Vec<Flag>,
}

impl BroadcastFlags {
    /// No flags (`{}`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a flag: replaces the value in place when set, appends it otherwise.
    pub fn set(&mut self, flag: Flag) -> &mut Self {
        match self.flags.iter_mut().find(|f| f.name() == flag.name()) {
            Some(f) => *f = flag,
            None => self.flags.push(flag),
        }
        self
    }

    /// The same flags with `flag` set.
    #[must_use]
    pub fn with(mut self, flag: Flag) -> Self {
        self.set(flag);
        self
    }

    /// The flags in key order.
    pub fn iter(&self) -> impl Iterator<Item = Flag> + '_ {
        self.flags.iter().copied()
    }

    fn find(&self, name: &str) -> Option<Flag> {
        self.iter().find(|f| f.name() == name)
    }

    /// `volatile === true`.
    pub fn volatile(&self) -> bool {
        matches!(self.find("volatile"), Some(Flag::Volatile(true)))
    }

    /// Whether `volatile` is present at all (Node appends recovery offsets only when it is
    /// `undefined`, §4.5).
    pub fn has_volatile(&self) -> bool {
        self.find("volatile").is_some()
    }

    /// `compress`, when set.
    pub fn compress(&self) -> Option<bool> {
        match self.find("compress") {
            Some(Flag::Compress(c)) => Some(c),
            _ => None,
        }
    }

    /// `local === true`.
    pub fn local(&self) -> bool {
        matches!(self.find("local"), Some(Flag::Local(true)))
    }

    /// `timeout` in milliseconds, when set.
    pub fn timeout(&self) -> Option<u64> {
        match self.find("timeout") {
            Some(Flag::Timeout(t)) => Some(t),
            _ => None,
        }
    }

    /// `expectSingleResponse === true`.
    pub fn expect_single_response(&self) -> bool {
        matches!(
            self.find("expectSingleResponse"),
            Some(Flag::ExpectSingleResponse(true))
        )
    }

    /// Whether no flag is set.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    fn decode(node: Node<'_>) -> DecodeResult<Self> {
        let mut flags = Self::new();
        for &(key, value) in node.object("flags")?.entries() {
            let flag = match key {
                "volatile" => Flag::Volatile(value.bool("volatile")?),
                "compress" => Flag::Compress(value.bool("compress")?),
                "local" => Flag::Local(value.bool("local")?),
                "broadcast" => Flag::Broadcast(value.bool("broadcast")?),
                "binary" => Flag::Binary(value.bool("binary")?),
                "timeout" => Flag::Timeout(value.uint("timeout")?),
                "expectSingleResponse" => {
                    Flag::ExpectSingleResponse(value.bool("expectSingleResponse")?)
                }
                _ => continue,
            };
            flags.set(flag);
        }
        Ok(flags)
    }

    fn write(&self, w: &mut Writer) {
        w.map(self.flags.len());
        for flag in &self.flags {
            w.key(flag.name());
            match *flag {
                Flag::Volatile(b)
                | Flag::Compress(b)
                | Flag::Local(b)
                | Flag::Broadcast(b)
                | Flag::Binary(b)
                | Flag::ExpectSingleResponse(b) => w.bool(b),
                Flag::Timeout(t) => w.uint(t),
            }
        }
        w.end(true);
    }
}

/// The broadcast options on the wire (§1.3): `{rooms, except, flags?}`.
///
/// `rooms` empty means every socket of the namespace; `except` holds room names (socket ids
/// included). The classic adapter's socket requests (`socketsJoin`, `fetchSockets`, …) send
/// `{rooms, except}` without flags; broadcasts and `ClusterAdapter` messages always carry
/// `flags`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastOptions {
    /// Target rooms (a socket in any of them), in the order Node iterates its set.
    pub rooms: Vec<String>,
    /// Rooms whose sockets are excluded.
    pub except: Vec<String>,
    /// The flags; `None` omits the key.
    pub flags: Option<BroadcastFlags>,
    /// The order of the keys: the adapters' `{rooms, except, flags}` or the Redis emitter's
    /// `{rooms, flags, except}` (kept from a decoded object, so that it encodes back the same).
    pub key_order: KeyOrder,
}

/// The key order of a broadcast options object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyOrder {
    /// `{rooms, except, flags}`: the adapters (`encodeOptions`, the classic `rawOpts`).
    #[default]
    RoomsExceptFlags,
    /// `{rooms, flags, except}`: `@socket.io/redis-emitter`.
    RoomsFlagsExcept,
}

impl BroadcastOptions {
    /// Every socket, no flags object (`{rooms:[],except:[]}`).
    pub fn all() -> Self {
        Self::default()
    }

    /// The sockets in any of `rooms`, with empty flags (`{rooms:[…],except:[],flags:{}}`).
    pub fn to_rooms<I, S>(rooms: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            rooms: rooms.into_iter().map(Into::into).collect(),
            except: Vec::new(),
            flags: Some(BroadcastFlags::new()),
            key_order: KeyOrder::default(),
        }
    }

    /// Builds options from their parts.
    pub fn new(rooms: Vec<String>, except: Vec<String>, flags: Option<BroadcastFlags>) -> Self {
        Self {
            rooms,
            except,
            flags,
            key_order: KeyOrder::default(),
        }
    }

    /// The flags, or none.
    pub fn flags(&self) -> BroadcastFlags {
        self.flags.clone().unwrap_or_default()
    }

    fn decode(node: Node<'_>) -> DecodeResult<Self> {
        let obj = node.object("opts")?;
        let strings = |key: &'static str| -> DecodeResult<Vec<String>> {
            match obj.get(key) {
                None => Ok(Vec::new()),
                Some(n) if n.shape()? == Shape::Null => Ok(Vec::new()),
                Some(n) => n.rooms(key),
            }
        };
        let flags = match obj.get("flags") {
            None => None,
            Some(n) if n.shape()? == Shape::Null => None,
            Some(n) => Some(BroadcastFlags::decode(n)?),
        };
        let position = |key| obj.entries().iter().position(|(k, _)| *k == key);
        let key_order = match (position("flags"), position("except")) {
            (Some(f), Some(e)) if f < e => KeyOrder::RoomsFlagsExcept,
            _ => KeyOrder::RoomsExceptFlags,
        };
        Ok(Self {
            rooms: strings("rooms")?,
            except: strings("except")?,
            flags,
            key_order,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.map(2 + usize::from(self.flags.is_some()));
        w.key("rooms");
        w.strings(&self.rooms);
        let flags_first = self.key_order == KeyOrder::RoomsFlagsExcept;
        let write_flags = |w: &mut Writer| {
            if let Some(flags) = &self.flags {
                w.key("flags");
                flags.write(w);
            }
        };
        if flags_first {
            write_flags(w);
        }
        w.key("except");
        w.strings(&self.except);
        if !flags_first {
            write_flags(w);
        }
        w.end(true);
    }
}

/// One socket in a `fetchSockets` answer (§1.5): `{id, handshake, rooms, data}`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SocketDetails {
    /// The socket id.
    pub id: String,
    /// Node's `Handshake` without `sessionStore`: `{headers, time, address, xdomain, secure,
    /// issued, url, query, auth}`.
    pub handshake: Payload,
    /// The socket's rooms, its own id first.
    pub rooms: Vec<String>,
    /// `socket.data`; `None` when it is `undefined` (the key is then absent).
    pub data: Option<Payload>,
}

impl SocketDetails {
    /// Builds the details of one socket.
    pub fn new(id: String, handshake: Payload, rooms: Vec<String>, data: Option<Payload>) -> Self {
        Self {
            id,
            handshake,
            rooms,
            data,
        }
    }

    fn decode(node: Node<'_>) -> DecodeResult<Self> {
        let obj = node.object("sockets")?;
        Ok(Self {
            id: obj.req("id")?.str("id")?.to_owned(),
            handshake: obj.req("handshake")?.payload()?,
            rooms: obj.req("rooms")?.strings("rooms")?,
            data: obj.get("data").map(Node::payload).transpose()?,
        })
    }

    fn write(&self, w: &mut Writer) -> EncodeResult<()> {
        w.map(3 + usize::from(self.data.is_some()));
        w.key("id");
        w.str(&self.id);
        w.key("handshake");
        w.payload(&self.handshake)?;
        w.key("rooms");
        w.strings(&self.rooms);
        if let Some(data) = &self.data {
            w.key("data");
            w.payload(data)?;
        }
        w.end(true);
        Ok(())
    }
}

/// Node's `Handshake` (`socket-types.ts`) as `fetchSockets` answers carry it (§1.5), fields
/// in Node's order, so that [`Handshake::to_payload`] writes what a Node server writes for
/// the same values. [`SocketDetails::handshake`] reads one back.
///
/// ```
/// use socketio_proto::cluster::Handshake;
/// use socketio_proto::Value;
///
/// let mut h = Handshake::default();
/// h.address = "127.0.0.1".into();
/// h.issued = 1767225600000;
/// h.url = "/socket.io/?EIO=4&transport=websocket".into();
/// let text = h.to_payload().unwrap().json_text().unwrap().to_string();
/// assert!(text.starts_with(r#"{"headers":{},"time":"","address":"127.0.0.1","xdomain":false"#));
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Handshake {
    /// The request headers (lower-case names; a value is a string, or an array of strings
    /// for repeated headers such as `set-cookie`).
    pub headers: crate::Value,
    /// `new Date().toString()` at the handshake, e.g.
    /// `"Thu Jan 01 2026 00:00:00 GMT+0000 (Coordinated Universal Time)"`.
    pub time: String,
    /// The peer's address.
    pub address: String,
    /// Whether the request was cross-domain (an `Origin` header was sent).
    pub xdomain: bool,
    /// Whether the connection is encrypted.
    pub secure: bool,
    /// The handshake time in milliseconds since the epoch.
    pub issued: u64,
    /// The request URL (path and query).
    pub url: String,
    /// The query parameters (an object).
    pub query: crate::Value,
    /// The client's `auth` payload (an object).
    pub auth: crate::Value,
}

impl Handshake {
    /// The handshake as a JSON payload, as `JSON.stringify` writes Node's object (an empty
    /// object where `headers`, `query` or `auth` is `Value::Null`).
    pub fn to_payload(&self) -> Result<Payload, ClusterEncodeError> {
        let mut h = self.clone();
        for v in [&mut h.headers, &mut h.query, &mut h.auth] {
            if *v == crate::Value::Null {
                *v = crate::Value::Object(Vec::new());
            }
        }
        Payload::json(&h).map_err(|e| ClusterEncodeError::Payload(e.to_string()))
    }
}

impl SocketDetails {
    /// Reads [`SocketDetails::handshake`] as a [`Handshake`].
    pub fn handshake(&self) -> Result<Handshake, crate::PayloadError> {
        self.handshake.deserialize()
    }
}

/// The `type` of a message as a number, or the error for a missing/non-numeric one.
fn message_type(obj: &node::Obj<'_>) -> DecodeResult<f64> {
    let ty = obj.req("type")?;
    match ty.shape()? {
        Shape::Number(n) => Ok(n),
        _ => Err(ty.wrong("type", "a number")),
    }
}

/// An optional string field (`null` is refused: Node would treat it as present).
fn opt_str(obj: &node::Obj<'_>, key: &'static str) -> DecodeResult<Option<String>> {
    obj.get(key)
        .map(|n| n.str(key).map(str::to_owned))
        .transpose()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use proptest::prelude::*;

    use super::adapter::{ClusterMessage, MessageBody, ShardedChannels, SubscriptionMode};
    use super::classic::{Broadcast, ChannelKind, Channels, Request, Response};
    use super::*;
    use crate::Value;

    fn unhex(s: &str) -> Bytes {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect::<Vec<u8>>()
            .into()
    }

    #[test]
    fn classic_broadcast_is_the_notepack_array_of_cluster_md_2_3() {
        let expected = unhex(
            "93 a6 41 62 43 64 45 66 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f 01
             a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a5 72 6f 6f 6d 31 a6 65 78 63 65 70 74 90
             a5 66 6c 61 67 73 80",
        );
        let msg = Broadcast::new(
            "AbCdEf".into(),
            BroadcastPacket::event(Payload::msgpack(&("hello", 1)).unwrap(), Some("/".into())),
            BroadcastOptions::to_rooms(["room1"]),
        );
        assert_eq!(msg.encode().unwrap(), expected);
        assert_eq!(Broadcast::decode(expected).unwrap(), msg);
    }

    #[test]
    fn classic_broadcast_request_and_ack_are_the_bytes_of_cluster_md_2_5() {
        let request = unhex(
            "85 a3 75 69 64 a6 41 62 43 64 45 66 a9 72 65 71 75 65 73 74 49 64 a6 58 79 5a 31 32 33
             a4 74 79 70 65 07 a6 70 61 63 6b 65 74 83 a4 74 79 70 65 02 a4 64 61 74 61 91 a2 65 76
             a3 6e 73 70 a1 2f a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 90 a6 65 78 63 65 70 74 90 a5 66
             6c 61 67 73 81 a7 74 69 6d 65 6f 75 74 cd 03 e8",
        );
        let req = Request::decode(request.clone()).unwrap();
        let Request::Broadcast { opts, packet, .. } = &req else {
            panic!("{req:?}")
        };
        assert_eq!(opts.flags().timeout(), Some(1000));
        assert_eq!(packet.nsp.as_deref(), Some("/"));
        assert_eq!(req.encode().unwrap(), request);
        assert!(req.is_ignored_by("other", |id| id == "XyZ123"));
        assert!(!req.is_ignored_by("AbCdEf", |_| false));

        let ack = unhex(
            "83 a4 74 79 70 65 09 a9 72 65 71 75 65 73 74 49 64 a6 58 79 5a 31 32 33 a6 70 61 63 6b 65 74 a2 6f 6b",
        );
        let resp = Response::decode(ack.clone()).unwrap();
        assert_eq!(
            resp,
            Response::BroadcastAck {
                request_id: "XyZ123".into(),
                packet: Some(Payload::msgpack("ok").unwrap())
            }
        );
        assert_eq!(resp.encode().unwrap(), ack);
    }

    #[test]
    fn sharded_broadcast_with_binary_is_the_notepack_message_of_cluster_md_3_3() {
        let expected = unhex(
            "84 a4 74 79 70 65 03 a4 64 61 74 61 82 a6 70 61 63 6b 65 74 82 a4 74 79 70 65 02 a4 64 61
             74 61 92 a2 65 76 c4 03 01 02 03 a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 90 a6 65 78 63 65 70
             74 90 a5 66 6c 61 67 73 80 a3 75 69 64 b0 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66
             a3 6e 73 70 a1 2f",
        );
        let msg = ClusterMessage::decode(expected.clone()).unwrap();
        assert!(msg.has_binary() && msg.sharded_uses_msgpack());
        assert_eq!(msg.encode_sharded().unwrap(), expected);
        // The same message without binary is JSON.
        let MessageBody::Broadcast { packet, .. } = &msg.body else {
            panic!()
        };
        let args: (String, Value) = packet.data.deserialize().unwrap();
        assert_eq!(args.1, Value::Binary(Bytes::from_static(&[1, 2, 3])));
    }

    #[test]
    fn absent_optional_fields_are_omitted_never_nil() {
        let req = Request::ServerSideEmit {
            uid: Some("AbCdEf".into()),
            request_id: None,
            data: Payload::json(&("ping", 1)).unwrap(),
        };
        assert_eq!(
            &req.encode().unwrap()[..],
            br#"{"uid":"AbCdEf","type":6,"data":["ping",1]}"#
        );
        // The emitter's socket operations have no uid.
        let req = Request::decode(Bytes::from_static(
            br#"{"type":2,"opts":{"rooms":["a"],"except":[]},"rooms":["b"]}"#,
        ))
        .unwrap();
        assert_eq!(req.uid(), None);
        assert_eq!(
            &req.encode().unwrap()[..],
            br#"{"type":2,"opts":{"rooms":["a"],"except":[]},"rooms":["b"]}"#
        );
        let msg = ClusterMessage::new(
            "u",
            "/",
            MessageBody::BroadcastAck {
                request_id: "r".into(),
                packet: None,
            },
        );
        assert_eq!(
            &msg.encode_sharded().unwrap()[..],
            br#"{"type":12,"data":{"requestId":"r"},"uid":"u","nsp":"/"}"#
        );
        let hb = ClusterMessage::new("u", "/", MessageBody::Heartbeat);
        assert_eq!(
            &hb.encode_sharded().unwrap()[..],
            br#"{"type":2,"uid":"u","nsp":"/"}"#
        );
        assert_eq!(
            ClusterMessage::decode(hb.encode_json().unwrap()).unwrap(),
            hb
        );
    }

    #[test]
    fn numbers_of_any_width_and_extra_fields_are_accepted() {
        // timeout 1000 as uint32, float64 and int16; an unknown flag and an unknown key.
        for timeout in ["ce000003e8", "cb408f400000000000", "d103e8"] {
            let bytes = unhex(&format!(
                "93 a1 75 82 a4 74797065 d0 02 a4 64617461 91 a1 78
                 84 a5 726f6f6d73 90 a6 657863657074 90 a5 666c616773 82 a7 74696d656f7574 {timeout} a3 666f6f c3
                 a5 6578747261 c0"
            ));
            let b = Broadcast::decode(bytes).unwrap();
            assert_eq!(b.opts.flags().timeout(), Some(1000));
            assert_eq!(b.nsp(), "/");
        }
    }

    #[test]
    fn a_room_that_is_not_a_string_matches_nothing_but_the_request_is_still_read() {
        // What Node publishes for `io.in(undefined).fetchSockets()` and a numeric room.
        let json = r#"{"uid":"AbCdEf","requestId":"XyZ123","type":5,"opts":{"rooms":[null,123],"except":[1.5]}}"#;
        let request = Request::decode(Bytes::from_static(json.as_bytes())).unwrap();
        let Request::RemoteFetch { opts, .. } = request else {
            panic!("{request:?}");
        };
        assert_eq!(opts.rooms, [NO_ROOM, "123"]);
        assert_eq!(opts.except, ["1.5"]);
    }

    #[test]
    fn channels_of_both_adapters() {
        let c = Channels::new("socket.io", "/chat", "AbCdEf");
        assert_eq!(
            c.subscriptions(),
            [
                "socket.io-request#/chat#",
                "socket.io-response#/chat#",
                "socket.io-response#/chat#AbCdEf#"
            ]
        );
        assert_eq!(c.broadcast_pattern(), "socket.io#/chat#*");
        assert_eq!(
            c.classify("socket.io#/chat#room1#"),
            ChannelKind::Broadcast {
                room: Some("room1")
            }
        );
        assert_eq!(
            c.classify("socket.io#/chat#"),
            ChannelKind::Broadcast { room: None }
        );
        assert_eq!(
            c.classify("socket.io-response#/chat#XyZ#"),
            ChannelKind::Response
        );
        assert_eq!(c.classify("socket.io#/#"), ChannelKind::Other);
        assert_eq!(
            c.response_channel_for(Some("XyZ"), true),
            "socket.io-response#/chat#XyZ#"
        );

        let s = ShardedChannels::new("socket.io", "/", "0123456789abcdef");
        let to = |room: &str, request_id: Option<&str>| {
            ClusterMessage::new(
                "u",
                "/",
                MessageBody::Broadcast {
                    packet: BroadcastPacket::event(Payload::json(&["x"]).unwrap(), None),
                    request_id: request_id.map(Into::into),
                    opts: BroadcastOptions::to_rooms([room]),
                },
            )
        };
        let dynamic = SubscriptionMode::Dynamic;
        assert_eq!(
            s.publish_channel(&to("room1", None), dynamic),
            "socket.io#/#room1#"
        );
        let sid = "abcdefghij0123456789";
        assert_eq!(s.publish_channel(&to(sid, None), dynamic), "socket.io#/#");
        assert_eq!(
            s.publish_channel(&to(sid, None), SubscriptionMode::DynamicPrivate),
            format!("socket.io#/#{sid}#")
        );
        assert_eq!(
            s.publish_channel(&to("room1", Some("r")), dynamic),
            "socket.io#/#"
        );
        assert_eq!(
            s.publish_channel(&to("room1", None), SubscriptionMode::Static),
            "socket.io#/#"
        );
    }

    fn flags() -> impl Strategy<Value = BroadcastFlags> {
        (
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
            proptest::option::of(0u64..(1 << 40)),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(v, c, t, e)| {
                let mut f = BroadcastFlags::new();
                if let Some(e) = e {
                    f.set(Flag::ExpectSingleResponse(e));
                }
                if let Some(v) = v {
                    f.set(Flag::Volatile(v));
                }
                if let Some(c) = c {
                    f.set(Flag::Compress(c));
                }
                if let Some(t) = t {
                    f.set(Flag::Timeout(t));
                }
                f
            })
    }

    fn arg() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| Value::Number(n.into())),
            (-1e300f64..1e300)
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".{0,40}".prop_map(Value::String),
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| Value::Binary(b.into())),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                // Distinct keys: a JavaScript object has no duplicates (a map keeps them in
                // insertion order, as the encoders do).
                proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn has_bin(v: &Value) -> bool {
        match v {
            Value::Binary(_) => true,
            Value::Array(items) => items.iter().any(has_bin),
            Value::Object(entries) => entries.iter().any(|(_, v)| has_bin(v)),
            _ => false,
        }
    }

    fn rooms() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec(".{0,24}", 0..4)
    }

    proptest! {
        #[test]
        fn classic_broadcast_round_trips(
            uid in "[A-Za-z0-9]{6}",
            args in proptest::collection::vec(arg(), 0..4),
            nsp in proptest::option::of("/[a-z]{0,8}"),
            id in proptest::option::of(0u64..(1 << 53)),
            rooms in rooms(),
            except in rooms(),
            flags in flags(),
        ) {
            let mut data = vec![Value::String("ev".into())];
            data.extend(args);
            let mut packet = BroadcastPacket::event(Payload::msgpack(&data).unwrap(), nsp);
            packet.id = id;
            let msg = Broadcast::new(uid, packet, BroadcastOptions::new(rooms, except, Some(flags)));
            let bytes = msg.encode().unwrap();
            prop_assert_eq!(Broadcast::decode(bytes.clone()).unwrap(), msg);
            // Any prefix is refused, never a panic.
            for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
                prop_assert!(Broadcast::decode(bytes.slice(..cut)).is_err());
            }
        }

        #[test]
        fn cluster_messages_round_trip(
            args in proptest::collection::vec(arg(), 0..4),
            rooms in rooms(),
            request_id in proptest::option::of("[0-9a-f]{16}"),
            flags in flags(),
        ) {
            let mut data = vec![Value::String("ev".into())];
            data.extend(args);
            let msg = ClusterMessage::new("0123456789abcdef", "/", MessageBody::Broadcast {
                packet: BroadcastPacket::event(Payload::msgpack(&data).unwrap(), None),
                request_id,
                opts: BroadcastOptions::new(rooms, Vec::new(), Some(flags)),
            });
            let bytes = msg.encode_sharded().unwrap();
            prop_assert_eq!(bytes.first() == Some(&b'{'), !msg.has_binary());
            let back = ClusterMessage::decode(bytes.clone()).unwrap();
            // JSON keeps the values, not the msgpack bytes: compare by encoding again.
            prop_assert_eq!(back.encode_sharded().unwrap(), bytes);
        }

        #[test]
        fn classic_requests_and_responses_round_trip(
            uid in proptest::option::of("[A-Za-z0-9]{6}"),
            id in "[A-Za-z0-9]{6}",
            rooms in rooms(),
            except in rooms(),
            close in any::<bool>(),
            args in proptest::collection::vec(arg(), 0..3),
            count in 0u64..(1 << 53),
        ) {
            let opts = BroadcastOptions::new(rooms.clone(), except, None);
            // JSON has no binary: take the arguments' JSON form.
            let json_args: Vec<Value> = args.iter().filter(|a| !has_bin(a)).cloned().collect();
            let requests = [
                Request::AllRooms { uid: uid.clone(), request_id: id.clone() },
                Request::RemoteJoin { uid: uid.clone(), opts: opts.clone(), rooms: rooms.clone() },
                Request::RemoteLeave { uid: uid.clone(), opts: opts.clone(), rooms: rooms.clone() },
                Request::RemoteDisconnect { uid: uid.clone(), opts: opts.clone(), close },
                Request::RemoteFetch { uid: uid.clone(), request_id: id.clone(), opts },
                Request::ServerSideEmit {
                    uid: uid.clone(),
                    request_id: close.then(|| id.clone()),
                    data: Payload::json(&json_args).unwrap(),
                },
                Request::Broadcast {
                    uid,
                    request_id: id.clone(),
                    packet: BroadcastPacket::event(Payload::msgpack(&args).unwrap(), Some("/".into())),
                    opts: BroadcastOptions::new(rooms.clone(), Vec::new(), Some(BroadcastFlags::new().with(Flag::Timeout(count)))),
                },
            ];
            for req in requests {
                let bytes = req.encode().unwrap();
                prop_assert_eq!(Request::decode(bytes).unwrap(), req);
            }
            let responses = [
                Response::AllRooms { request_id: id.clone(), rooms },
                Response::SocketIds { request_id: id.clone(), sockets: vec!["s".into()] },
                Response::Done { request_id: id.clone() },
                Response::ServerSideEmit { request_id: id.clone(), data: json_args.first().map(|a| Payload::json(a).unwrap()) },
                Response::BroadcastClientCount { request_id: id.clone(), client_count: count },
                Response::BroadcastAck { request_id: id, packet: args.first().map(|a| Payload::msgpack(a).unwrap()) },
            ];
            for resp in responses {
                let bytes = resp.encode().unwrap();
                prop_assert_eq!(Response::decode(bytes).unwrap(), resp);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let bytes = Bytes::from(bytes);
            let _ = Broadcast::decode(bytes.clone());
            let _ = Request::decode(bytes.clone());
            let _ = Response::decode(bytes.clone());
            let _ = ClusterMessage::decode(bytes);
        }
    }
}
