//! Replays the cluster adapter fixtures recorded from the official Node adapters on a real
//! Redis (`node/gen-cluster.js`, see the README) against `socketio_proto::cluster`: every
//! message decodes to the recorded value, and our encoder gives back the recorded bytes.
//! Hand-written bad inputs must give typed errors. When Node, the pinned packages and Redis
//! are there, the fixtures are also regenerated and compared byte for byte.

use std::path::PathBuf;
use std::process::Command;

use bytes::Bytes;
use conformance::{hex, node, sio};
use serde_json::{Value, json};
use socketio_proto::Payload;
use socketio_proto::cluster::adapter::{
    ClusterMessage, MessageBody, ShardedChannels, SubscriptionMode,
};
use socketio_proto::cluster::classic::{Broadcast, ChannelKind, Channels, Request, Response};
use socketio_proto::cluster::streams;
use socketio_proto::cluster::{
    BroadcastFlags, BroadcastOptions, BroadcastPacket, ClusterDecodeError, Flag, SocketDetails,
};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("cluster")
}

fn load(file: &str) -> Vec<Value> {
    let path = fixtures_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture file is JSON")
}

fn view(p: &Payload) -> Value {
    sio::payload_view(p).expect("payload reads as a value")
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().map(|s| Value::String(s.clone())).collect())
}

fn flags_view(f: &BroadcastFlags) -> Value {
    let mut m = serde_json::Map::new();
    for flag in f.iter() {
        let (k, v) = match flag {
            Flag::Volatile(b) => ("volatile", json!(b)),
            Flag::Compress(b) => ("compress", json!(b)),
            Flag::Local(b) => ("local", json!(b)),
            Flag::Broadcast(b) => ("broadcast", json!(b)),
            Flag::Binary(b) => ("binary", json!(b)),
            Flag::Timeout(t) => ("timeout", json!(t)),
            Flag::ExpectSingleResponse(b) => ("expectSingleResponse", json!(b)),
            other => panic!("unknown flag {other:?}"),
        };
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

fn opts_view(o: &BroadcastOptions) -> Value {
    let mut v = json!({"rooms": strings(&o.rooms), "except": strings(&o.except)});
    if let Some(f) = &o.flags {
        v["flags"] = flags_view(f);
    }
    v
}

fn packet_view(p: &BroadcastPacket) -> Value {
    let mut v = json!({"type": p.kind.code(), "data": view(&p.data)});
    if let Some(id) = p.id {
        v["id"] = json!(id);
    }
    if let Some(nsp) = &p.nsp {
        v["nsp"] = json!(nsp);
    }
    v
}

fn socket_view(s: &SocketDetails) -> Value {
    // The typed handshake writes Node's object back exactly.
    let typed = s.handshake().expect("a Node handshake");
    assert_eq!(typed.to_payload().expect("handshake"), s.handshake);
    assert_eq!(typed.address, "127.0.0.1");
    let mut v = json!({"id": s.id, "handshake": view(&s.handshake), "rooms": strings(&s.rooms)});
    if let Some(d) = &s.data {
        v["data"] = view(d);
    }
    v
}

fn insert_opt(v: &mut Value, key: &str, value: Option<&str>) {
    if let Some(x) = value {
        v[key] = json!(x);
    }
}

fn request_view(r: &Request) -> Value {
    let mut v = json!({"type": r.request_type() as u8});
    insert_opt(&mut v, "uid", r.uid());
    insert_opt(&mut v, "requestId", r.request_id());
    match r {
        Request::Sockets { rooms, .. } => v["rooms"] = strings(rooms),
        Request::AllRooms { .. } => {}
        Request::RemoteJoin { opts, rooms, .. } | Request::RemoteLeave { opts, rooms, .. } => {
            v["opts"] = opts_view(opts);
            v["rooms"] = strings(rooms);
        }
        Request::RemoteDisconnect { opts, close, .. } => {
            v["opts"] = opts_view(opts);
            v["close"] = json!(close);
        }
        Request::RemoteFetch { opts, .. } => v["opts"] = opts_view(opts),
        Request::ServerSideEmit { data, .. } => v["data"] = view(data),
        Request::Broadcast { packet, opts, .. } => {
            v["packet"] = packet_view(packet);
            v["opts"] = opts_view(opts);
        }
        Request::LegacySocketOp {
            sid, room, close, ..
        } => {
            v["sid"] = json!(sid);
            insert_opt(&mut v, "room", room.as_deref());
            if let Some(c) = close {
                v["close"] = json!(c);
            }
        }
        other => panic!("unknown request {other:?}"),
    }
    v
}

fn response_view(r: &Response) -> Value {
    let mut v = json!({"requestId": r.request_id()});
    match r {
        Response::SocketIds { sockets, .. } => v["sockets"] = strings(sockets),
        Response::AllRooms { rooms, .. } => v["rooms"] = strings(rooms),
        Response::FetchSockets { sockets, .. } => {
            v["sockets"] = sockets.iter().map(socket_view).collect();
        }
        Response::Done { .. } => {}
        Response::ServerSideEmit { data, .. } => {
            v["type"] = json!(6);
            if let Some(d) = data {
                v["data"] = view(d);
            }
        }
        Response::BroadcastClientCount { client_count, .. } => {
            v["type"] = json!(8);
            v["clientCount"] = json!(client_count);
        }
        Response::BroadcastAck { packet, .. } => {
            v["type"] = json!(9);
            if let Some(p) = packet {
                v["packet"] = view(p);
            }
        }
        other => panic!("unknown response {other:?}"),
    }
    v
}

fn message_bytes(case: &Value) -> Bytes {
    if let Some(text) = case["json"].as_str() {
        Bytes::from(text.to_owned())
    } else {
        Bytes::from(
            hex::decode(case["binary_hex"].as_str().expect("json or binary_hex")).expect("hex"),
        )
    }
}

/// Compares as JavaScript values (numbers by value, keys in any order).
fn same(ours: &Value, reference: &Value) -> bool {
    sio::js_normalize(ours) == sio::js_normalize(reference)
}

#[test]
fn classic_fixtures_decode_and_encode_like_the_reference() {
    let cases = load("classic.json");
    let (mut broadcasts, mut requests, mut responses, mut channels, mut silent) = (0, 0, 0, 0, 0);
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        if case["op"] == "channels" {
            let c = Channels::new(
                case["key"].as_str().expect("key"),
                case["nsp"].as_str().expect("nsp"),
                case["uid"].as_str().expect("uid"),
            );
            assert_eq!(c.broadcast(), case["channel"], "{name}");
            assert_eq!(c.request(), case["requestChannel"], "{name}");
            assert_eq!(c.response(), case["responseChannel"], "{name}");
            assert_eq!(
                c.specific_response(),
                case["specificResponseChannel"],
                "{name}"
            );
            channels += 1;
            continue;
        }
        let Some(channel) = case["channel"].as_str() else {
            silent += 1;
            continue;
        };
        let bytes = message_bytes(case);
        let expected = &case["value"];
        // Which namespace's channel is it?
        let (chans, kind) = ["/chat", "/"]
            .iter()
            .map(|nsp| Channels::new("fixture", nsp, "someone"))
            .map(|c| {
                let kind = c.classify(channel);
                (c, kind)
            })
            .find(|(_, k)| *k != ChannelKind::Other)
            .unwrap_or_else(|| panic!("{name}: channel {channel} of no namespace"));
        let (ours, encoded) = match kind {
            ChannelKind::Broadcast { room } => {
                broadcasts += 1;
                let b = Broadcast::decode(bytes.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(
                    room.map(str::to_owned),
                    (b.opts.rooms.len() == 1).then(|| b.opts.rooms[0].clone()),
                    "{name}: room channel"
                );
                assert_eq!(chans.broadcast_channel(&b.opts), channel, "{name}");
                assert!(b.is_echo(expected[0].as_str().expect("uid")), "{name}");
                assert!(!b.is_echo("someone"), "{name}");
                let v = json!([b.uid, packet_view(&b.packet), opts_view(&b.opts)]);
                (v, b.encode().expect("encode"))
            }
            ChannelKind::Request => {
                requests += 1;
                let r = Request::decode(bytes.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
                (request_view(&r), r.encode().expect("encode"))
            }
            ChannelKind::Response => {
                responses += 1;
                let r = Response::decode(bytes.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
                (response_view(&r), r.encode().expect("encode"))
            }
            other => panic!("{name}: {other:?}"),
        };
        assert!(
            same(&ours, expected),
            "{name}: decoded\n{ours}\nexpected\n{expected}"
        );
        assert_eq!(
            hex::encode(&encoded),
            hex::encode(&bytes),
            "{name}: encoding differs"
        );
    }
    eprintln!(
        "classic fixtures: {broadcasts} broadcasts, {requests} requests, {responses} responses, \
         {channels} channel sets, {silent} operations that publish nothing"
    );
    assert!(broadcasts >= 11 && requests >= 17 && responses >= 10 && channels == 4);
}

/// The variant name of an error (`WrongType { .. }` → `WrongType`).
fn variant(e: &ClusterDecodeError) -> String {
    format!("{e:?}")
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn bad_inputs_give_typed_errors() {
    let cases = load("bad.json");
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        let bytes = message_bytes(case);
        let err = match case["kind"].as_str().expect("kind") {
            "broadcast" => Broadcast::decode(bytes).err(),
            "request" => Request::decode(bytes).err(),
            "response" => Response::decode(bytes).err(),
            "cluster" => ClusterMessage::decode(bytes).err(),
            other => panic!("{name}: kind {other}"),
        };
        let err = err.unwrap_or_else(|| panic!("{name}: decoded"));
        assert_eq!(
            variant(&err),
            case["error"].as_str().expect("error"),
            "{name}: {err}"
        );
    }
    assert!(cases.len() >= 60);
}

#[test]
fn json_only_messages_refuse_binary() {
    let data = Payload::msgpack(&("ev", Bytes::from_static(&[1, 2]))).expect("payload");
    let req = Request::ServerSideEmit {
        uid: Some("uidA00".into()),
        request_id: None,
        data,
    };
    assert_eq!(
        req.encode(),
        Err(socketio_proto::cluster::ClusterEncodeError::BinaryInJson)
    );
    // Without binary, a msgpack payload is written as JSON.
    let data = Payload::msgpack(&("ev", 1.5, [1, 2])).expect("payload");
    let req = Request::ServerSideEmit {
        uid: Some("uidA00".into()),
        request_id: Some("REQ001".into()),
        data,
    };
    assert_eq!(
        &req.encode().expect("encode")[..],
        br#"{"uid":"uidA00","requestId":"REQ001","type":6,"data":["ev",1.5,[1,2]]}"#
    );
}

#[test]
fn regenerating_with_node_and_redis_reproduces_the_fixtures() {
    let what = "cluster fixture regeneration (node/gen-cluster.js, node/gen-streams.js)";
    if !node::ready(
        what,
        &[
            "@socket.io/redis-adapter",
            "@socket.io/redis-streams-adapter",
            "redis",
            "socket.io",
            "socket.io-client",
        ],
    ) {
        return;
    }
    if !conformance::redis::ready(what) {
        return;
    }
    let out = std::env::temp_dir().join(format!("cluster-fixtures-{}", std::process::id()));
    let status = Command::new("node")
        .arg(node::dir().join("gen-cluster.js"))
        .arg(&out)
        .status()
        .expect("run node");
    assert!(status.success(), "gen-cluster.js failed");
    let status = Command::new("node")
        .arg(node::dir().join("gen-streams.js"))
        .arg(&out)
        .status()
        .expect("run node");
    assert!(status.success(), "gen-streams.js failed");
    for file in ["classic.json", "sharded.json", "streams.json"] {
        let ours = std::fs::read(out.join(file)).expect("generated file");
        let committed = std::fs::read(fixtures_dir().join(file)).expect("committed file");
        assert!(
            ours == committed,
            "conformance/fixtures/cluster/{file} differs from what gen-cluster.js produces now"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

fn cluster_view(m: &ClusterMessage) -> Value {
    let mut v = json!({"type": m.body.message_type() as u8, "uid": m.uid, "nsp": m.nsp});
    let data = match &m.body {
        MessageBody::InitialHeartbeat | MessageBody::Heartbeat | MessageBody::AdapterClose => None,
        MessageBody::Broadcast {
            packet,
            request_id,
            opts,
        } => {
            let mut d = json!({"packet": packet_view(packet), "opts": opts_view(opts)});
            insert_opt(&mut d, "requestId", request_id.as_deref());
            Some(d)
        }
        MessageBody::SocketsJoin { opts, rooms } | MessageBody::SocketsLeave { opts, rooms } => {
            Some(json!({"opts": opts_view(opts), "rooms": strings(rooms)}))
        }
        MessageBody::DisconnectSockets { opts, close } => {
            let mut d = json!({"opts": opts_view(opts)});
            if let Some(c) = close {
                d["close"] = json!(c);
            }
            Some(d)
        }
        MessageBody::FetchSockets { opts, request_id } => {
            Some(json!({"opts": opts_view(opts), "requestId": request_id}))
        }
        MessageBody::FetchSocketsResponse {
            request_id,
            sockets,
        } => Some(
            json!({"requestId": request_id, "sockets": sockets.iter().map(socket_view).collect::<Vec<_>>()}),
        ),
        MessageBody::ServerSideEmit { request_id, packet } => {
            let mut d = json!({"packet": view(packet)});
            insert_opt(&mut d, "requestId", request_id.as_deref());
            Some(d)
        }
        MessageBody::ServerSideEmitResponse { request_id, packet }
        | MessageBody::BroadcastAck { request_id, packet } => {
            let mut d = json!({"requestId": request_id});
            if let Some(p) = packet {
                d["packet"] = view(p);
            }
            Some(d)
        }
        MessageBody::BroadcastClientCount {
            request_id,
            client_count,
        } => Some(json!({"requestId": request_id, "clientCount": client_count})),
        other => panic!("unknown body {other:?}"),
    };
    if let Some(d) = data {
        v["data"] = d;
    }
    v
}

#[test]
fn sharded_fixtures_decode_and_encode_like_the_reference() {
    let cases = load("sharded.json");
    let mut requester = std::collections::HashMap::new();
    let (mut messages, mut responses, mut binary, mut channels) = (0, 0, 0, 0);
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        if case["op"] == "channels" {
            let (nsp, uid) = (
                case["nsp"].as_str().expect("nsp"),
                case["uid"].as_str().expect("uid"),
            );
            let c = ShardedChannels::new(case["key"].as_str().expect("key"), nsp, uid);
            assert_eq!(c.main(), case["channel"], "{name}");
            assert_eq!(c.response(), case["responseChannel"], "{name}");
            if name.starts_with("channels of A") {
                requester.insert(nsp.to_owned(), uid.to_owned());
            }
            channels += 1;
            continue;
        }
        let Some(channel) = case["channel"].as_str() else {
            continue;
        };
        let bytes = message_bytes(case);
        let msg = ClusterMessage::decode(bytes.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ours = cluster_view(&msg);
        assert!(
            same(&ours, &case["value"]),
            "{name}: decoded\n{ours}\nexpected\n{}",
            case["value"]
        );
        let encoded = msg.encode_sharded().expect("encode");
        assert_eq!(
            hex::encode(&encoded),
            hex::encode(&bytes),
            "{name}: encoding differs"
        );
        assert_eq!(
            msg.sharded_uses_msgpack(),
            case.get("binary_hex").is_some(),
            "{name}"
        );
        binary += usize::from(msg.sharded_uses_msgpack());
        let chans = ShardedChannels::new("fixture", &msg.nsp, "someone");
        let expected_channel = if msg.body.is_response() {
            responses += 1;
            chans.response_to(&requester[&msg.nsp])
        } else {
            messages += 1;
            chans.publish_channel(&msg, SubscriptionMode::Dynamic)
        };
        assert_eq!(expected_channel, channel, "{name}: channel");
        let a_uid = &requester[&msg.nsp];
        assert_eq!(msg.is_for(a_uid, &msg.nsp), msg.uid != *a_uid, "{name}");
        assert!(!msg.is_for("someone", "/other"), "{name}");
    }
    eprintln!(
        "sharded fixtures: {messages} messages, {responses} responses ({binary} in msgpack), \
         {channels} channel sets"
    );
    assert!(messages >= 15 && responses >= 10 && binary >= 3 && channels == 4);
}

/// `streams.json`, recorded from `@socket.io/redis-streams-adapter` 0.3.1 by
/// `node/gen-streams.js`.
fn streams_fixture() -> Value {
    let text = std::fs::read_to_string(fixtures_dir().join("streams.json")).expect("streams.json");
    serde_json::from_str(&text).expect("streams.json is JSON")
}

#[test]
fn every_recorded_stream_entry_decodes_and_encodes_back_to_the_same_fields() {
    let fixture = streams_fixture();
    let entries = fixture["entries"].as_array().expect("entries");
    assert!(entries.len() >= 9);
    for entry in entries {
        let name = entry["name"].as_str().expect("name");
        let fields: Vec<(String, String)> = entry["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| {
                (
                    f[0].as_str().expect("key").to_owned(),
                    f[1].as_str().expect("value").to_owned(),
                )
            })
            .collect();
        let message = streams::decode_entry(fields.iter().map(|(k, v)| (k.as_str(), v.as_bytes())))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: skipped"));
        let again: Vec<(String, String)> = streams::encode_entry(&message, false)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(again, fields, "{name}");
    }
}

#[test]
fn a_recorded_recovery_session_decodes_and_encodes_back_to_the_same_value() {
    let fixture = streams_fixture();
    for case in fixture["sessions"].as_array().expect("sessions") {
        let value = case["value"].as_str().expect("value");
        let session = streams::decode_session(value.as_bytes()).expect("decodes");
        let expected = &case["session"];
        assert_eq!(session.sid, expected["sid"].as_str().expect("sid"));
        assert_eq!(session.pid, expected["pid"].as_str().expect("pid"));
        let rooms: Vec<&str> = expected["rooms"]
            .as_array()
            .expect("rooms")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(session.rooms, rooms);
        assert_eq!(
            serde_json::to_value(&session.data).expect("data"),
            expected["data"]
        );
        assert_eq!(streams::encode_session(&session).expect("encodes"), value);
    }
}
