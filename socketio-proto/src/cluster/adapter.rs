//! The `ClusterAdapter` messages of `socket.io-adapter` 2.5.8 (CLUSTER.md §4), as the sharded
//! Redis adapter (`@socket.io/redis-adapter` 8.3.0 `createShardedAdapter`, §3) puts them on
//! the wire: `JSON.stringify(message)`, or `notepack.encode(message)` when the type is one
//! that may carry binary (3, 8, 9, 10, 12) and its data has binary (§3.3).
//!
//! Every message is `{type, data?, uid, nsp}` (keys in that order): `uid` is the sender's
//! adapter instance (16 hex characters from Node), `nsp` its namespace. A receiver drops
//! messages with its own `uid` or another `nsp` ([`ClusterMessage::is_for`]); responses
//! (types 8, 10, 11, 12) are matched by `requestId`.
//!
//! The Redis Streams and Postgres adapters carry the same message objects with their own
//! framing (§5.3, §6.2); that framing is not implemented here.
//!
//! ```
//! use socketio_proto::cluster::adapter::{ClusterMessage, MessageBody};
//! use socketio_proto::cluster::{BroadcastOptions, BroadcastPacket};
//! use socketio_proto::Payload;
//!
//! let msg = ClusterMessage::new(
//!     "0123456789abcdef",
//!     "/",
//!     MessageBody::Broadcast {
//!         packet: BroadcastPacket::event(Payload::json(&("hello", 1))?, None),
//!         request_id: None,
//!         opts: BroadcastOptions::to_rooms(["room1"]),
//!     },
//! );
//! let bytes = msg.encode_sharded()?;
//! assert_eq!(&bytes[..], br#"{"type":3,"data":{"packet":{"type":2,"data":["hello",1]},"opts":{"rooms":["room1"],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}"#);
//! assert_eq!(ClusterMessage::decode(bytes)?, msg);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use bytes::Bytes;

use super::node::{Doc, Node, Shape};
use super::writer::{Format, Writer};
use super::{
    BroadcastOptions, BroadcastPacket, ClusterDecodeError, DecodeResult, EncodeResult,
    SocketDetails, message_type, opt_str,
};
use crate::Payload;
use crate::msgpack::{Kind, Reader};

/// `MessageType` of `socket.io-adapter` (§4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageType {
    /// 1
    InitialHeartbeat = 1,
    /// 2
    Heartbeat = 2,
    /// 3
    Broadcast = 3,
    /// 4
    SocketsJoin = 4,
    /// 5
    SocketsLeave = 5,
    /// 6
    DisconnectSockets = 6,
    /// 7
    FetchSockets = 7,
    /// 8
    FetchSocketsResponse = 8,
    /// 9
    ServerSideEmit = 9,
    /// 10
    ServerSideEmitResponse = 10,
    /// 11
    BroadcastClientCount = 11,
    /// 12
    BroadcastAck = 12,
    /// 13
    AdapterClose = 13,
}

/// The `data` of a message, by type (§4.1); keys are encoded in the order Node builds them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MessageBody {
    /// 1, no data: a node announces itself (heartbeat adapters).
    InitialHeartbeat,
    /// 2, no data.
    Heartbeat,
    /// 3: `{packet, requestId?, opts}`; with a `requestId` it is a broadcast with acks.
    Broadcast {
        /// The packet (`{type, data}` from Node: no `nsp`).
        packet: BroadcastPacket,
        /// Present ⇔ acknowledgements are wanted.
        request_id: Option<String>,
        /// Rooms, exceptions, flags.
        opts: BroadcastOptions,
    },
    /// 4: `{opts, rooms}`.
    SocketsJoin {
        /// Which sockets.
        opts: BroadcastOptions,
        /// Rooms to join.
        rooms: Vec<String>,
    },
    /// 5: `{opts, rooms}`.
    SocketsLeave {
        /// Which sockets.
        opts: BroadcastOptions,
        /// Rooms to leave.
        rooms: Vec<String>,
    },
    /// 6: `{opts, close?}`.
    DisconnectSockets {
        /// Which sockets.
        opts: BroadcastOptions,
        /// Close the underlying connection too (`undefined` → omitted).
        close: Option<bool>,
    },
    /// 7: `{opts, requestId}`.
    FetchSockets {
        /// Which sockets.
        opts: BroadcastOptions,
        /// Matches the answer.
        request_id: String,
    },
    /// 8: `{requestId, sockets}`.
    FetchSocketsResponse {
        /// The request.
        request_id: String,
        /// The matching local sockets.
        sockets: Vec<SocketDetails>,
    },
    /// 9: `{requestId?, packet}`: `packet` is `[event, ...args]`.
    ServerSideEmit {
        /// Present ⇔ acknowledgements are wanted.
        request_id: Option<String>,
        /// `[event, ...args]`.
        packet: Payload,
    },
    /// 10: `{requestId, packet}`: one server's acknowledgement (first argument).
    ServerSideEmitResponse {
        /// The request.
        request_id: String,
        /// The argument; `None` when `undefined`.
        packet: Option<Payload>,
    },
    /// 11: `{requestId, clientCount}`.
    BroadcastClientCount {
        /// The request.
        request_id: String,
        /// Local clients reached.
        client_count: u64,
    },
    /// 12: `{requestId, packet}`: one client's acknowledgement (first argument).
    BroadcastAck {
        /// The request.
        request_id: String,
        /// The argument; `None` when `undefined`.
        packet: Option<Payload>,
    },
    /// 13, no data: the sender's adapter closed.
    AdapterClose,
}

impl MessageBody {
    /// The message type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::InitialHeartbeat => MessageType::InitialHeartbeat,
            Self::Heartbeat => MessageType::Heartbeat,
            Self::Broadcast { .. } => MessageType::Broadcast,
            Self::SocketsJoin { .. } => MessageType::SocketsJoin,
            Self::SocketsLeave { .. } => MessageType::SocketsLeave,
            Self::DisconnectSockets { .. } => MessageType::DisconnectSockets,
            Self::FetchSockets { .. } => MessageType::FetchSockets,
            Self::FetchSocketsResponse { .. } => MessageType::FetchSocketsResponse,
            Self::ServerSideEmit { .. } => MessageType::ServerSideEmit,
            Self::ServerSideEmitResponse { .. } => MessageType::ServerSideEmitResponse,
            Self::BroadcastClientCount { .. } => MessageType::BroadcastClientCount,
            Self::BroadcastAck { .. } => MessageType::BroadcastAck,
            Self::AdapterClose => MessageType::AdapterClose,
        }
    }

    /// Whether this is an answer to a request (types 8, 10, 11, 12): `onMessage` hands these
    /// to `onResponse`, which matches them by `requestId`.
    pub fn is_response(&self) -> bool {
        matches!(
            self,
            Self::FetchSocketsResponse { .. }
                | Self::ServerSideEmitResponse { .. }
                | Self::BroadcastClientCount { .. }
                | Self::BroadcastAck { .. }
        )
    }

    /// The payloads of the data (for the binary test).
    fn payloads(&self) -> Vec<&Payload> {
        match self {
            Self::Broadcast { packet, .. } => vec![&packet.data],
            Self::FetchSocketsResponse { sockets, .. } => sockets
                .iter()
                .flat_map(|s| std::iter::once(&s.handshake).chain(s.data.as_ref()))
                .collect(),
            Self::ServerSideEmit { packet, .. } => vec![packet],
            Self::ServerSideEmitResponse { packet, .. } | Self::BroadcastAck { packet, .. } => {
                packet.iter().collect()
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn decode(ty: f64, data: Option<Node<'_>>) -> DecodeResult<Self> {
        let no_data = match ty {
            1.0 => Some(Self::InitialHeartbeat),
            2.0 => Some(Self::Heartbeat),
            13.0 => Some(Self::AdapterClose),
            _ => None,
        };
        if let Some(body) = no_data {
            return Ok(body);
        }
        if !(3.0..=12.0).contains(&ty) || ty.fract() != 0.0 {
            return Err(ClusterDecodeError::UnknownType(ty));
        }
        let data = data.ok_or(ClusterDecodeError::MissingField("data"))?;
        let obj = data.object("data")?;
        let req_id =
            || -> DecodeResult<String> { Ok(obj.req("requestId")?.str("requestId")?.to_owned()) };
        let opts = || BroadcastOptions::decode(obj.req("opts")?);
        let rooms = || obj.req("rooms")?.strings("rooms");
        let arg = || obj.get("packet").map(Node::payload).transpose();
        Ok(match ty as u8 {
            3 => Self::Broadcast {
                packet: BroadcastPacket::decode(obj.req("packet")?)?,
                request_id: opt_str(&obj, "requestId")?,
                opts: opts()?,
            },
            4 => Self::SocketsJoin {
                opts: opts()?,
                rooms: rooms()?,
            },
            5 => Self::SocketsLeave {
                opts: opts()?,
                rooms: rooms()?,
            },
            6 => Self::DisconnectSockets {
                opts: opts()?,
                close: obj.get("close").map(|n| n.bool("close")).transpose()?,
            },
            7 => Self::FetchSockets {
                opts: opts()?,
                request_id: req_id()?,
            },
            8 => Self::FetchSocketsResponse {
                request_id: req_id()?,
                sockets: obj
                    .req("sockets")?
                    .items("sockets")?
                    .into_iter()
                    .map(SocketDetails::decode)
                    .collect::<DecodeResult<_>>()?,
            },
            9 => {
                let packet = obj.req("packet")?;
                if packet.shape()? != Shape::Array {
                    return Err(packet.wrong("packet", "an array"));
                }
                Self::ServerSideEmit {
                    request_id: opt_str(&obj, "requestId")?,
                    packet: packet.payload()?,
                }
            }
            10 => Self::ServerSideEmitResponse {
                request_id: req_id()?,
                packet: arg()?,
            },
            11 => Self::BroadcastClientCount {
                request_id: req_id()?,
                client_count: obj.req("clientCount")?.uint("clientCount")?,
            },
            _ => Self::BroadcastAck {
                request_id: req_id()?,
                packet: arg()?,
            },
        })
    }

    /// Writes `data`, or nothing for the types without data.
    pub(super) fn write(&self, w: &mut Writer) -> EncodeResult<()> {
        let request = |w: &mut Writer, id: &str| {
            w.key("requestId");
            w.str(id);
        };
        match self {
            Self::InitialHeartbeat | Self::Heartbeat | Self::AdapterClose => return Ok(()),
            Self::Broadcast {
                packet,
                request_id,
                opts,
            } => {
                w.map(2 + usize::from(request_id.is_some()));
                w.key("packet");
                packet.write(w)?;
                if let Some(id) = request_id {
                    request(w, id);
                }
                w.key("opts");
                opts.write(w);
            }
            Self::SocketsJoin { opts, rooms } | Self::SocketsLeave { opts, rooms } => {
                w.map(2);
                w.key("opts");
                opts.write(w);
                w.key("rooms");
                w.strings(rooms);
            }
            Self::DisconnectSockets { opts, close } => {
                w.map(1 + usize::from(close.is_some()));
                w.key("opts");
                opts.write(w);
                if let Some(close) = close {
                    w.key("close");
                    w.bool(*close);
                }
            }
            Self::FetchSockets { opts, request_id } => {
                w.map(2);
                w.key("opts");
                opts.write(w);
                request(w, request_id);
            }
            Self::FetchSocketsResponse {
                request_id,
                sockets,
            } => {
                w.map(2);
                request(w, request_id);
                w.key("sockets");
                w.array(sockets.len());
                for s in sockets {
                    s.write(w)?;
                }
                w.end(false);
            }
            Self::ServerSideEmit { request_id, packet } => {
                w.map(1 + usize::from(request_id.is_some()));
                if let Some(id) = request_id {
                    request(w, id);
                }
                w.key("packet");
                w.payload(packet)?;
            }
            Self::ServerSideEmitResponse { request_id, packet }
            | Self::BroadcastAck { request_id, packet } => {
                w.map(1 + usize::from(packet.is_some()));
                request(w, request_id);
                if let Some(p) = packet {
                    w.key("packet");
                    w.payload(p)?;
                }
            }
            Self::BroadcastClientCount {
                request_id,
                client_count,
            } => {
                w.map(2);
                request(w, request_id);
                w.key("clientCount");
                w.uint(*client_count);
            }
        }
        w.end(true);
        Ok(())
    }
}

/// One `ClusterAdapter` message or response: `{type, data?, uid, nsp}`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClusterMessage {
    /// The sender's adapter instance (`"emitter"` from the emitters).
    pub uid: String,
    /// The sender's namespace. Absent only from the Postgres emitter (§7.3), which this
    /// decoder refuses.
    pub nsp: String,
    /// The type and its data.
    pub body: MessageBody,
}

impl ClusterMessage {
    /// Builds a message.
    pub fn new(uid: impl Into<String>, nsp: impl Into<String>, body: MessageBody) -> Self {
        Self {
            uid: uid.into(),
            nsp: nsp.into(),
            body,
        }
    }

    /// Decodes a message as the sharded adapter does: JSON when it starts with `{`, notepack
    /// msgpack otherwise.
    pub fn decode(bytes: Bytes) -> DecodeResult<Self> {
        let doc = Doc::parse(bytes)?;
        let obj = doc.root().object("message")?;
        let ty = message_type(&obj)?;
        let body = MessageBody::decode(ty, obj.get("data"))?;
        Ok(Self {
            uid: obj.req("uid")?.str("uid")?.to_owned(),
            nsp: obj.req("nsp")?.str("nsp")?.to_owned(),
            body,
        })
    }

    /// Whether the adapter instance (`own_uid`, `own_nsp`) handles this message: not its
    /// own, and for its namespace.
    pub fn is_for(&self, own_uid: &str, own_nsp: &str) -> bool {
        self.uid != own_uid && self.nsp == own_nsp
    }

    /// Whether the data holds binary (`hasBinary(message.data)`): a `bin`, an `ArrayBuffer`
    /// or an extension other than a date in a msgpack payload, an attachment in a JSON one.
    pub fn has_binary(&self) -> bool {
        self.body.payloads().into_iter().any(payload_has_binary)
    }

    /// The format the sharded adapter uses: msgpack when the type may carry binary (3, 8, 9,
    /// 10, 12) and [`ClusterMessage::has_binary`], JSON otherwise.
    pub fn sharded_uses_msgpack(&self) -> bool {
        matches!(
            self.body.message_type(),
            MessageType::Broadcast
                | MessageType::BroadcastAck
                | MessageType::FetchSocketsResponse
                | MessageType::ServerSideEmit
                | MessageType::ServerSideEmitResponse
        ) && self.has_binary()
    }

    /// Encodes the message as the sharded adapter publishes it (§3.3).
    pub fn encode_sharded(&self) -> EncodeResult<Bytes> {
        if self.sharded_uses_msgpack() {
            self.encode_msgpack()
        } else {
            self.encode_json()
        }
    }

    /// `JSON.stringify(message)`.
    pub fn encode_json(&self) -> EncodeResult<Bytes> {
        self.encode(Format::Json)
    }

    /// `notepack.encode(message)`.
    pub fn encode_msgpack(&self) -> EncodeResult<Bytes> {
        self.encode(Format::MsgPack)
    }

    fn encode(&self, format: Format) -> EncodeResult<Bytes> {
        let mut w = Writer::new(format);
        let has_data = !matches!(
            self.body,
            MessageBody::InitialHeartbeat | MessageBody::Heartbeat | MessageBody::AdapterClose
        );
        w.map(3 + usize::from(has_data));
        w.key("type");
        w.uint(self.body.message_type() as u64);
        if has_data {
            w.key("data");
            self.body.write(&mut w)?;
        }
        w.key("uid");
        w.str(&self.uid);
        w.key("nsp");
        w.str(&self.nsp);
        w.end(true);
        Ok(w.finish())
    }
}

fn payload_has_binary(p: &Payload) -> bool {
    if let Some(bytes) = p.msgpack_bytes() {
        let mut r = Reader::new(bytes);
        while r.pos < bytes.len() {
            match r.head() {
                Ok((Kind::Bin | Kind::ArrayBuffer, _)) => return true,
                Ok((Kind::Ext(ty), _)) if ty != -1 => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    } else {
        !p.attachments().is_empty()
    }
}

/// How the sharded adapter subscribes to rooms (`subscriptionMode`, §3.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscriptionMode {
    /// Only the main and response channels.
    Static,
    /// Plus one channel per public room (the default).
    #[default]
    Dynamic,
    /// Plus one channel per room, socket ids included.
    DynamicPrivate,
}

/// The channels of one sharded adapter instance (§3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardedChannels {
    main: String,
    response: String,
}

impl ShardedChannels {
    /// The channels for `channel_prefix` (default `"socket.io"`), `nsp` and `uid`.
    pub fn new(channel_prefix: &str, nsp: &str, uid: &str) -> Self {
        let main = format!("{channel_prefix}#{nsp}#");
        Self {
            response: format!("{main}{uid}#"),
            main,
        }
    }

    /// `<prefix>#<nsp>#`: every message but responses and dynamic-room broadcasts; its
    /// `SHARDNUMSUB` is the server count.
    pub fn main(&self) -> &str {
        &self.main
    }

    /// `<prefix>#<nsp>#<uid>#`: responses to this node.
    pub fn response(&self) -> &str {
        &self.response
    }

    /// `<prefix>#<nsp>#<requesterUid>#`: where to answer a request from `requester_uid`.
    pub fn response_to(&self, requester_uid: &str) -> String {
        format!("{}{requester_uid}#", self.main)
    }

    /// `<prefix>#<nsp>#<room>#`: the dynamic channel of a room.
    pub fn room(&self, room: &str) -> String {
        format!("{}{room}#", self.main)
    }

    /// The channel Node publishes `message` on (`computeChannel`): a room's dynamic channel
    /// for a broadcast without ack to exactly one room (in `Dynamic` mode only when the room
    /// does not look like a socket id, i.e. is not 20 UTF-16 units long), the main channel
    /// otherwise.
    pub fn publish_channel(&self, message: &ClusterMessage, mode: SubscriptionMode) -> String {
        if let MessageBody::Broadcast {
            request_id: None,
            opts,
            ..
        } = &message.body
        {
            if let [room] = opts.rooms.as_slice() {
                let dynamic = match mode {
                    SubscriptionMode::Static => false,
                    SubscriptionMode::Dynamic => room.encode_utf16().count() != 20,
                    SubscriptionMode::DynamicPrivate => true,
                };
                if dynamic {
                    return self.room(room);
                }
            }
        }
        self.main.clone()
    }
}
