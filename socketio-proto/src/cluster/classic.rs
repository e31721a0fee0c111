//! The classic Redis adapter: `@socket.io/redis-adapter` 8.3.0 `createAdapter` (CLUSTER.md
//! §2), and the `@socket.io/redis-emitter` 5.1.0 messages it receives (§7.1).
//!
//! Three kinds of messages, each on its own channels ([`Channels`]):
//!
//! - [`Broadcast`]: `[uid, packet, {rooms, except, flags}]` in notepack msgpack, on
//!   `<key>#<nsp>#` or, for exactly one room, `<key>#<nsp>#<room>#`;
//! - [`Request`]: on `<key>-request#<nsp>#`, JSON except BROADCAST (msgpack);
//! - [`Response`]: on `<key>-response#<nsp>#` (or `<key>-response#<nsp>#<requesterUid>#`),
//!   JSON except BROADCAST_ACK (msgpack).
//!
//! Requests and responses are sniffed as the adapter does: a first byte `{` is JSON,
//! anything else msgpack.
//!
//! # Who acts on what (the uid rule)
//!
//! The publisher receives its own messages back from Redis. Node skips them as follows, and
//! a Rust node must do the same to stay in step ([`Broadcast::is_echo`],
//! [`Request::is_ignored_by`]):
//! - a broadcast whose `uid` is its own is dropped (the publisher already delivered locally);
//! - SOCKETS, ALL_ROOMS, REMOTE_FETCH and BROADCAST requests are dropped when their
//!   `requestId` is one of the node's own pending requests (not by uid);
//! - SERVER_SIDE_EMIT is dropped when its `uid` is the node's own;
//! - REMOTE_JOIN, REMOTE_LEAVE and REMOTE_DISCONNECT are applied by **every** node, the sender
//!   included: Node's originator does not apply them when publishing but on their echo.
//!
//! ```
//! use socketio_proto::cluster::classic::{Request, Response};
//! use socketio_proto::cluster::BroadcastOptions;
//!
//! let req = Request::decode(br#"{"uid":"AbCdEf","requestId":"XyZ123","type":5,"opts":{"rooms":["room1"],"except":[]}}"#.to_vec().into())?;
//! let Request::RemoteFetch { request_id, opts, .. } = &req else { panic!() };
//! assert_eq!((request_id.as_str(), opts.rooms.as_slice()), ("XyZ123", &["room1".to_owned()][..]));
//! assert!(req.is_ignored_by("other", |id| id == "XyZ123"));
//!
//! let answer = Response::AllRooms { request_id: "XyZ123".into(), rooms: vec!["room1".into()] };
//! assert_eq!(&answer.encode()?[..], br#"{"requestId":"XyZ123","rooms":["room1"]}"#);
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

/// The adapter's default key (channel prefix).
pub const DEFAULT_KEY: &str = "socket.io";

/// The uid the Redis emitter puts in its broadcasts and SERVER_SIDE_EMIT requests.
pub const EMITTER_UID: &str = "emitter";

/// The channels of one adapter instance (one namespace of one node), §2.2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channels {
    broadcast: String,
    request: String,
    response: String,
    specific_response: String,
}

/// What a channel a message arrived on is for, from one adapter instance's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelKind<'a> {
    /// A broadcast: `room` is `None` on `<key>#<nsp>#`, the room of `<key>#<nsp>#<room>#`
    /// otherwise (a receiver that has no such room drops the message without decoding it).
    Broadcast {
        /// The room of a per-room channel.
        room: Option<&'a str>,
    },
    /// The request channel.
    Request,
    /// A response channel (the common one or a node's specific one).
    Response,
    /// Not a channel of this namespace: ignore.
    Other,
}

impl Channels {
    /// The channels for `key` (default [`DEFAULT_KEY`]), the namespace `nsp` and the adapter
    /// instance `uid`.
    pub fn new(key: &str, nsp: &str, uid: &str) -> Self {
        let response = format!("{key}-response#{nsp}#");
        Self {
            broadcast: format!("{key}#{nsp}#"),
            request: format!("{key}-request#{nsp}#"),
            specific_response: format!("{response}{uid}#"),
            response,
        }
    }

    /// `<key>#<nsp>#`: broadcasts to zero or several rooms.
    pub fn broadcast(&self) -> &str {
        &self.broadcast
    }

    /// `<key>#<nsp>#<room>#`: broadcasts to exactly one room.
    pub fn room(&self, room: &str) -> String {
        format!("{}{room}#", self.broadcast)
    }

    /// The channel a broadcast with `opts` is published on: the room's channel for exactly
    /// one room, [`Channels::broadcast`] otherwise.
    pub fn broadcast_channel(&self, opts: &BroadcastOptions) -> String {
        match opts.rooms.as_slice() {
            [room] => self.room(room),
            _ => self.broadcast.clone(),
        }
    }

    /// The pattern to `PSUBSCRIBE`: `<key>#<nsp>#*`.
    pub fn broadcast_pattern(&self) -> String {
        format!("{}*", self.broadcast)
    }

    /// `<key>-request#<nsp>#`: every request. Its subscriber count is the server count, so a
    /// node subscribes to it exactly once.
    pub fn request(&self) -> &str {
        &self.request
    }

    /// `<key>-response#<nsp>#`: the common response channel.
    pub fn response(&self) -> &str {
        &self.response
    }

    /// `<key>-response#<nsp>#<uid>#`: this node's own response channel.
    pub fn specific_response(&self) -> &str {
        &self.specific_response
    }

    /// The channels to `SUBSCRIBE` (always all three).
    pub fn subscriptions(&self) -> [&str; 3] {
        [&self.request, &self.response, &self.specific_response]
    }

    /// Where to publish the answer to a request from `requester_uid`: the requester's
    /// specific channel when `publish_on_specific_response_channel` is set (the adapter
    /// option), the common one otherwise. SERVER_SIDE_EMIT answers always go to the common
    /// one ([`Channels::response`]).
    pub fn response_channel_for(
        &self,
        requester_uid: Option<&str>,
        publish_on_specific_response_channel: bool,
    ) -> String {
        if publish_on_specific_response_channel {
            // Node writes `${uid}` even when it is undefined.
            format!("{}{}#", self.response, requester_uid.unwrap_or("undefined"))
        } else {
            self.response.clone()
        }
    }

    /// Classifies the channel a message arrived on, as the adapter's handlers do (prefix
    /// tests, responses before requests).
    pub fn classify<'a>(&self, channel: &'a str) -> ChannelKind<'a> {
        if channel.starts_with(&self.response) {
            ChannelKind::Response
        } else if channel.starts_with(&self.request) {
            ChannelKind::Request
        } else if let Some(rest) = channel.strip_prefix(&self.broadcast) {
            // `channel.slice(prefix.length, -1)`
            let room = rest.get(..rest.len().saturating_sub(1)).unwrap_or("");
            ChannelKind::Broadcast {
                room: (!room.is_empty()).then_some(room),
            }
        } else {
            ChannelKind::Other
        }
    }
}

/// The broadcast message, §2.3: `[uid, packet, {rooms, except, flags}]` in notepack msgpack
/// (an array, not a map). The adapter publishes it before delivering locally, unless
/// `flags.local`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Broadcast {
    /// The publishing adapter instance (`"emitter"` from the Redis emitter).
    pub uid: String,
    /// The packet (`nsp` set by the classic adapter and the emitter).
    pub packet: BroadcastPacket,
    /// Rooms, exceptions and flags: `{rooms, except, flags}` from the adapter,
    /// `{rooms, flags, except}` from the emitter ([`super::KeyOrder`]).
    pub opts: BroadcastOptions,
}

impl Broadcast {
    /// Builds a broadcast message.
    pub fn new(uid: String, packet: BroadcastPacket, opts: BroadcastOptions) -> Self {
        Self { uid, packet, opts }
    }

    /// Decodes a message received on a broadcast channel. Elements after the third are
    /// ignored, as by Node.
    pub fn decode(bytes: Bytes) -> DecodeResult<Self> {
        let doc = Doc::msgpack(bytes)?;
        let root = doc.root();
        let items = root.items("message")?;
        let [uid, packet, opts, ..] = items.as_slice() else {
            return Err(ClusterDecodeError::WrongType {
                field: "message",
                expected: "an array [uid, packet, opts]",
                found: "a shorter array",
            });
        };
        Ok(Self {
            uid: uid.str("uid")?.to_owned(),
            packet: BroadcastPacket::decode(*packet)?,
            opts: BroadcastOptions::decode(*opts)?,
        })
    }

    /// Encodes the message as the adapter does (a `flags` object is always written: `{}`
    /// when [`BroadcastOptions::flags`] is `None`).
    pub fn encode(&self) -> EncodeResult<Bytes> {
        let mut w = Writer::new(Format::MsgPack);
        w.array(3);
        w.str(&self.uid);
        self.packet.write(&mut w)?;
        let mut opts = self.opts.clone();
        opts.flags.get_or_insert_with(Default::default);
        opts.write(&mut w);
        w.end(false);
        Ok(w.finish())
    }

    /// Whether the receiver `own_uid` published this message itself (it must then drop it).
    pub fn is_echo(&self, own_uid: &str) -> bool {
        self.uid == own_uid
    }

    /// The namespace the packet is for: its `nsp`, `"/"` when absent (a receiver drops
    /// packets for another namespace).
    pub fn nsp(&self) -> &str {
        self.packet.nsp.as_deref().unwrap_or("/")
    }
}

/// The request types of §2.5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestType {
    /// 0, `SOCKETS` (sent by ≤ 7.x only).
    Sockets = 0,
    /// 1, `ALL_ROOMS`.
    AllRooms = 1,
    /// 2, `REMOTE_JOIN`.
    RemoteJoin = 2,
    /// 3, `REMOTE_LEAVE`.
    RemoteLeave = 3,
    /// 4, `REMOTE_DISCONNECT`.
    RemoteDisconnect = 4,
    /// 5, `REMOTE_FETCH`.
    RemoteFetch = 5,
    /// 6, `SERVER_SIDE_EMIT` (request and response).
    ServerSideEmit = 6,
    /// 7, `BROADCAST` (broadcast with acks).
    Broadcast = 7,
    /// 8, `BROADCAST_CLIENT_COUNT` (response).
    BroadcastClientCount = 8,
    /// 9, `BROADCAST_ACK` (response).
    BroadcastAck = 9,
}

/// A request on `<key>-request#<nsp>#`, §2.5. JSON, except [`Request::Broadcast`] (msgpack).
/// Fields are encoded in the order the adapter builds them; `uid` and an optional
/// `request_id` are omitted when `None` (the emitter sends no uid for socket operations).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Request {
    /// 0: `{uid, requestId, type, rooms}`: the ids of the local sockets in `rooms` (≤ 7.x).
    Sockets {
        /// The requester.
        uid: Option<String>,
        /// Matches the answers.
        request_id: String,
        /// Rooms to list.
        rooms: Vec<String>,
    },
    /// 1: `{uid, requestId, type}`: every local room name.
    AllRooms {
        /// The requester.
        uid: Option<String>,
        /// Matches the answers.
        request_id: String,
    },
    /// 2: `{uid, type, opts:{rooms, except}, rooms}`: make the matching sockets join `rooms`.
    RemoteJoin {
        /// The sender (absent from the emitter).
        uid: Option<String>,
        /// Which sockets.
        opts: BroadcastOptions,
        /// Rooms to join.
        rooms: Vec<String>,
    },
    /// 3: `{uid, type, opts, rooms}`: make the matching sockets leave `rooms`.
    RemoteLeave {
        /// The sender (absent from the emitter).
        uid: Option<String>,
        /// Which sockets.
        opts: BroadcastOptions,
        /// Rooms to leave.
        rooms: Vec<String>,
    },
    /// 4: `{uid, type, opts, close}`: disconnect the matching sockets (`close`: also close
    /// the underlying connection).
    RemoteDisconnect {
        /// The sender (absent from the emitter).
        uid: Option<String>,
        /// Which sockets.
        opts: BroadcastOptions,
        /// Close the Engine.IO connection too.
        close: bool,
    },
    /// 5: `{uid, requestId, type, opts}`: the details of the matching local sockets.
    RemoteFetch {
        /// The requester.
        uid: Option<String>,
        /// Matches the answers.
        request_id: String,
        /// Which sockets.
        opts: BroadcastOptions,
    },
    /// 6: `{uid, requestId?, type, data}`: `[event, ...args]` for the other servers'
    /// listeners; with a `requestId`, each answers once.
    ServerSideEmit {
        /// The sender (`"emitter"` from the emitter).
        uid: Option<String>,
        /// Present when the sender wants acknowledgements.
        request_id: Option<String>,
        /// `[event, ...args]` (JSON).
        data: Payload,
    },
    /// 7 (msgpack): `{uid, requestId, type, packet, opts}`: a broadcast with acks.
    Broadcast {
        /// The requester.
        uid: Option<String>,
        /// Matches the answers.
        request_id: String,
        /// The packet.
        packet: BroadcastPacket,
        /// Rooms, exceptions and flags (`timeout`).
        opts: BroadcastOptions,
    },
    /// REMOTE_JOIN / REMOTE_LEAVE / REMOTE_DISCONNECT in the legacy form of ≤ 6.x
    /// (`{uid, requestId, type, sid, room}` or `{…, sid, close}`), still handled by 8.3.0:
    /// acts on one local socket and answers `{requestId}` ([`Response::Done`]).
    LegacySocketOp {
        /// The requester.
        uid: Option<String>,
        /// Matches the answer.
        request_id: Option<String>,
        /// [`RequestType::RemoteJoin`], [`RequestType::RemoteLeave`] or
        /// [`RequestType::RemoteDisconnect`].
        op: RequestType,
        /// The socket.
        sid: String,
        /// The room to join or leave.
        room: Option<String>,
        /// For a disconnect: close the connection too.
        close: Option<bool>,
    },
}

impl Request {
    /// Decodes a message from the request channel (JSON when it starts with `{`, msgpack
    /// otherwise). An unknown `type` is a [`ClusterDecodeError::UnknownType`] (Node ignores
    /// it).
    pub fn decode(bytes: Bytes) -> DecodeResult<Self> {
        let doc = Doc::parse(bytes)?;
        let obj = doc.root().object("message")?;
        let ty = message_type(&obj)?;
        let uid = opt_str(&obj, "uid")?;
        let req_id = |key| -> DecodeResult<String> { Ok(obj.req(key)?.str(key)?.to_owned()) };
        let opts = || BroadcastOptions::decode(obj.req("opts")?);
        let legacy = |op| -> DecodeResult<Self> {
            Ok(Self::LegacySocketOp {
                uid: uid.clone(),
                request_id: opt_str(&obj, "requestId")?,
                op,
                sid: req_id("sid")?,
                room: opt_str(&obj, "room")?,
                close: obj.get("close").map(|n| n.bool("close")).transpose()?,
            })
        };
        // Node takes the legacy form when `request.opts` is falsy.
        let has_opts = match obj.get("opts") {
            None => false,
            Some(n) => !matches!(n.shape()?, Shape::Null | Shape::Bool(false)),
        };
        Ok(match ty {
            0.0 => Self::Sockets {
                request_id: req_id("requestId")?,
                rooms: obj
                    .get("rooms")
                    .map_or(Ok(Vec::new()), |n| n.strings("rooms"))?,
                uid,
            },
            1.0 => Self::AllRooms {
                request_id: req_id("requestId")?,
                uid,
            },
            2.0 | 3.0 if !has_opts => legacy(if ty == 2.0 {
                RequestType::RemoteJoin
            } else {
                RequestType::RemoteLeave
            })?,
            4.0 if !has_opts => legacy(RequestType::RemoteDisconnect)?,
            2.0 => Self::RemoteJoin {
                opts: opts()?,
                rooms: obj.req("rooms")?.strings("rooms")?,
                uid,
            },
            3.0 => Self::RemoteLeave {
                opts: opts()?,
                rooms: obj.req("rooms")?.strings("rooms")?,
                uid,
            },
            4.0 => Self::RemoteDisconnect {
                opts: opts()?,
                // `socket.disconnect(undefined)` is `close = false`.
                close: obj.get("close").map_or(Ok(false), |n| n.bool("close"))?,
                uid,
            },
            5.0 => Self::RemoteFetch {
                request_id: req_id("requestId")?,
                opts: opts()?,
                uid,
            },
            6.0 => {
                let data = obj.req("data")?;
                if data.shape()? != Shape::Array {
                    return Err(data.wrong("data", "an array"));
                }
                Self::ServerSideEmit {
                    request_id: opt_str(&obj, "requestId")?,
                    data: data.payload()?,
                    uid,
                }
            }
            7.0 => Self::Broadcast {
                request_id: req_id("requestId")?,
                packet: BroadcastPacket::decode(obj.req("packet")?)?,
                opts: opts()?,
                uid,
            },
            other => return Err(ClusterDecodeError::UnknownType(other)),
        })
    }

    /// The request type.
    pub fn request_type(&self) -> RequestType {
        match self {
            Self::Sockets { .. } => RequestType::Sockets,
            Self::AllRooms { .. } => RequestType::AllRooms,
            Self::RemoteJoin { .. } => RequestType::RemoteJoin,
            Self::RemoteLeave { .. } => RequestType::RemoteLeave,
            Self::RemoteDisconnect { .. } => RequestType::RemoteDisconnect,
            Self::RemoteFetch { .. } => RequestType::RemoteFetch,
            Self::ServerSideEmit { .. } => RequestType::ServerSideEmit,
            Self::Broadcast { .. } => RequestType::Broadcast,
            Self::LegacySocketOp { op, .. } => *op,
        }
    }

    /// The sender's uid, when present.
    pub fn uid(&self) -> Option<&str> {
        match self {
            Self::Sockets { uid, .. }
            | Self::AllRooms { uid, .. }
            | Self::RemoteJoin { uid, .. }
            | Self::RemoteLeave { uid, .. }
            | Self::RemoteDisconnect { uid, .. }
            | Self::RemoteFetch { uid, .. }
            | Self::ServerSideEmit { uid, .. }
            | Self::Broadcast { uid, .. }
            | Self::LegacySocketOp { uid, .. } => uid.as_deref(),
        }
    }

    /// The request id, when present.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Sockets { request_id, .. }
            | Self::AllRooms { request_id, .. }
            | Self::RemoteFetch { request_id, .. }
            | Self::Broadcast { request_id, .. } => Some(request_id),
            Self::ServerSideEmit { request_id, .. } | Self::LegacySocketOp { request_id, .. } => {
                request_id.as_deref()
            }
            Self::RemoteJoin { .. } | Self::RemoteLeave { .. } | Self::RemoteDisconnect { .. } => {
                None
            }
        }
    }

    /// Whether the adapter instance `own_uid`, whose pending requests (and broadcast-with-ack
    /// requests) are recognized by `is_own_request`, ignores this request: see the module
    /// docs. REMOTE_JOIN/LEAVE/DISCONNECT are never ignored.
    pub fn is_ignored_by(&self, own_uid: &str, is_own_request: impl Fn(&str) -> bool) -> bool {
        match self {
            Self::Sockets { request_id, .. }
            | Self::AllRooms { request_id, .. }
            | Self::RemoteFetch { request_id, .. }
            | Self::Broadcast { request_id, .. } => is_own_request(request_id),
            Self::ServerSideEmit { uid, .. } => uid.as_deref() == Some(own_uid),
            Self::RemoteJoin { .. }
            | Self::RemoteLeave { .. }
            | Self::RemoteDisconnect { .. }
            | Self::LegacySocketOp { .. } => false,
        }
    }

    /// Encodes the request as the adapter publishes it: JSON, or msgpack for
    /// [`Request::Broadcast`].
    pub fn encode(&self) -> EncodeResult<Bytes> {
        let format = match self {
            Self::Broadcast { .. } => Format::MsgPack,
            _ => Format::Json,
        };
        let mut w = Writer::new(format);
        let uid = self.uid();
        let ty = self.request_type() as u64;
        let head = |w: &mut Writer, extra: usize, request_id: Option<&str>| {
            w.map(usize::from(uid.is_some()) + usize::from(request_id.is_some()) + 1 + extra);
            if let Some(uid) = uid {
                w.key("uid");
                w.str(uid);
            }
            if let Some(id) = request_id {
                w.key("requestId");
                w.str(id);
            }
            w.key("type");
            w.uint(ty);
        };
        match self {
            Self::Sockets {
                request_id, rooms, ..
            } => {
                head(&mut w, 1, Some(request_id));
                w.key("rooms");
                w.strings(rooms);
            }
            Self::AllRooms { request_id, .. } => head(&mut w, 0, Some(request_id)),
            Self::RemoteJoin { opts, rooms, .. } | Self::RemoteLeave { opts, rooms, .. } => {
                head(&mut w, 2, None);
                w.key("opts");
                opts.write(&mut w);
                w.key("rooms");
                w.strings(rooms);
            }
            Self::RemoteDisconnect { opts, close, .. } => {
                head(&mut w, 2, None);
                w.key("opts");
                opts.write(&mut w);
                w.key("close");
                w.bool(*close);
            }
            Self::RemoteFetch {
                request_id, opts, ..
            } => {
                head(&mut w, 1, Some(request_id));
                w.key("opts");
                opts.write(&mut w);
            }
            Self::ServerSideEmit {
                request_id, data, ..
            } => {
                head(&mut w, 1, request_id.as_deref());
                w.key("data");
                w.payload(data)?;
            }
            Self::Broadcast {
                request_id,
                packet,
                opts,
                ..
            } => {
                head(&mut w, 2, Some(request_id));
                w.key("packet");
                packet.write(&mut w)?;
                w.key("opts");
                opts.write(&mut w);
            }
            Self::LegacySocketOp {
                request_id,
                sid,
                room,
                close,
                ..
            } => {
                head(
                    &mut w,
                    1 + usize::from(room.is_some()) + usize::from(close.is_some()),
                    request_id.as_deref(),
                );
                w.key("sid");
                w.str(sid);
                if let Some(room) = room {
                    w.key("room");
                    w.str(room);
                }
                if let Some(close) = close {
                    w.key("close");
                    w.bool(*close);
                }
            }
        }
        w.end(true);
        Ok(w.finish())
    }
}

/// A response on a response channel, §2.5. JSON, except [`Response::BroadcastAck`]
/// (msgpack). Responses are matched to requests by `requestId` only; the untyped ones
/// (SOCKETS, ALL_ROOMS, REMOTE_FETCH, legacy) are told apart here by their keys.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Response {
    /// `{requestId, sockets: [sid...]}`: answer to [`Request::Sockets`].
    SocketIds {
        /// The request.
        request_id: String,
        /// Local socket ids.
        sockets: Vec<String>,
    },
    /// `{requestId, rooms: [...]}`: answer to [`Request::AllRooms`] (every local room,
    /// socket-id rooms included).
    AllRooms {
        /// The request.
        request_id: String,
        /// Local room names.
        rooms: Vec<String>,
    },
    /// `{requestId, sockets: [details...]}`: answer to [`Request::RemoteFetch`]. An empty
    /// `sockets` array decodes as this variant.
    FetchSockets {
        /// The request.
        request_id: String,
        /// The matching local sockets.
        sockets: Vec<SocketDetails>,
    },
    /// `{requestId}`: answer to a [`Request::LegacySocketOp`] (or any answer without a
    /// known body; Node counts it as an answer).
    Done {
        /// The request.
        request_id: String,
    },
    /// `{type: 6, requestId, data}`: one server's acknowledgement of a SERVER_SIDE_EMIT (its
    /// first argument; `None` when `undefined`). Always on the common response channel.
    ServerSideEmit {
        /// The request.
        request_id: String,
        /// The acknowledgement's first argument (JSON).
        data: Option<Payload>,
    },
    /// `{type: 8, requestId, clientCount}`: how many local clients a BROADCAST reached;
    /// exactly one per responding node, 0 included.
    BroadcastClientCount {
        /// The request.
        request_id: String,
        /// Clients the packet was sent to.
        client_count: u64,
    },
    /// `{type: 9, requestId, packet}` (msgpack): one client's acknowledgement (its first
    /// argument; `None` when `undefined`, which notepack omits).
    BroadcastAck {
        /// The request.
        request_id: String,
        /// The acknowledgement's first argument.
        packet: Option<Payload>,
    },
}

impl Response {
    /// Decodes a message from a response channel.
    pub fn decode(bytes: Bytes) -> DecodeResult<Self> {
        let doc = Doc::parse(bytes)?;
        let obj = doc.root().object("message")?;
        let request_id = obj.req("requestId")?.str("requestId")?.to_owned();
        if obj.has("type") {
            return Ok(match message_type(&obj)? {
                6.0 => Self::ServerSideEmit {
                    request_id,
                    data: obj.get("data").map(Node::payload).transpose()?,
                },
                8.0 => Self::BroadcastClientCount {
                    request_id,
                    client_count: obj.req("clientCount")?.uint("clientCount")?,
                },
                9.0 => Self::BroadcastAck {
                    request_id,
                    packet: obj.get("packet").map(Node::payload).transpose()?,
                },
                other => return Err(ClusterDecodeError::UnknownType(other)),
            });
        }
        if let Some(rooms) = obj.get("rooms") {
            return Ok(Self::AllRooms {
                request_id,
                rooms: rooms.strings("rooms")?,
            });
        }
        let Some(sockets) = obj.get("sockets") else {
            return Ok(Self::Done { request_id });
        };
        let items = sockets.items("sockets")?;
        if let Some(first) = items.first() {
            if let Shape::Str(_) = first.shape()? {
                return Ok(Self::SocketIds {
                    request_id,
                    sockets: sockets.strings("sockets")?,
                });
            }
        }
        Ok(Self::FetchSockets {
            request_id,
            sockets: items
                .into_iter()
                .map(SocketDetails::decode)
                .collect::<DecodeResult<_>>()?,
        })
    }

    /// The request this answers.
    pub fn request_id(&self) -> &str {
        match self {
            Self::SocketIds { request_id, .. }
            | Self::AllRooms { request_id, .. }
            | Self::FetchSockets { request_id, .. }
            | Self::Done { request_id }
            | Self::ServerSideEmit { request_id, .. }
            | Self::BroadcastClientCount { request_id, .. }
            | Self::BroadcastAck { request_id, .. } => request_id,
        }
    }

    /// Encodes the response as the adapter publishes it.
    pub fn encode(&self) -> EncodeResult<Bytes> {
        let format = match self {
            Self::BroadcastAck { .. } => Format::MsgPack,
            _ => Format::Json,
        };
        let mut w = Writer::new(format);
        let typed = |w: &mut Writer, ty: u64, request_id: &str, has_body: bool| {
            w.map(2 + usize::from(has_body));
            w.key("type");
            w.uint(ty);
            w.key("requestId");
            w.str(request_id);
        };
        match self {
            Self::SocketIds {
                request_id,
                sockets,
            } => {
                w.map(2);
                w.key("requestId");
                w.str(request_id);
                w.key("sockets");
                w.strings(sockets);
            }
            Self::AllRooms { request_id, rooms } => {
                w.map(2);
                w.key("requestId");
                w.str(request_id);
                w.key("rooms");
                w.strings(rooms);
            }
            Self::FetchSockets {
                request_id,
                sockets,
            } => {
                w.map(2);
                w.key("requestId");
                w.str(request_id);
                w.key("sockets");
                w.array(sockets.len());
                for s in sockets {
                    s.write(&mut w)?;
                }
                w.end(false);
            }
            Self::Done { request_id } => {
                w.map(1);
                w.key("requestId");
                w.str(request_id);
            }
            Self::ServerSideEmit { request_id, data } => {
                typed(&mut w, 6, request_id, data.is_some());
                if let Some(data) = data {
                    w.key("data");
                    w.payload(data)?;
                }
            }
            Self::BroadcastClientCount {
                request_id,
                client_count,
            } => {
                typed(&mut w, 8, request_id, true);
                w.key("clientCount");
                w.uint(*client_count);
            }
            Self::BroadcastAck { request_id, packet } => {
                typed(&mut w, 9, request_id, packet.is_some());
                if let Some(p) = packet {
                    w.key("packet");
                    w.payload(p)?;
                }
            }
        }
        w.end(true);
        Ok(w.finish())
    }
}
