//! The official Socket.IO v5 test suite (`docs/socket.io-protocol/v5-test-suite`), the cases
//! that concern the protocol layer, replayed on a virtual clock against `ServerConnection`
//! driven by the suite's reference server logic. Then the reference behaviours captured by
//! the probes (PROTOCOL §4.3).

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use socketio_proto::server::{
    CloseReason, DisconnectReason, Event, ServerConfig, ServerConnection, Violation,
};
use socketio_proto::{AckId, DecodeError, EngineMessage, Namespace, PacketKind, ParserKind};

/// Where the virtual clock starts: any instant will do, time only moves by `advance`.
#[allow(clippy::disallowed_methods)]
fn epoch() -> Instant {
    Instant::now()
}

/// One argument of an event: JSON, or binary data (an attachment).
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum Arg {
    Json(Value),
    Bin(Bytes),
}

impl Serialize for Arg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Json(v) => v.serialize(s),
            Self::Bin(b) => s.serialize_bytes(b),
        }
    }
}

/// The reference test server: namespaces `/` and `/custom`; on connection, emits
/// `auth` with the handshake auth; echoes `message` as `message-back`; answers
/// `message-with-ack` with its arguments. Connect timeout 1000 ms.
struct Suite {
    conn: ServerConnection,
    now: Instant,
    wire: Vec<EngineMessage>,
    disconnects: Vec<(Namespace, DisconnectReason)>,
    closed: Option<CloseReason>,
}

impl Suite {
    fn new() -> Self {
        Self::with(ServerConfig::default().connect_timeout(Duration::from_millis(1000)))
    }

    fn with(config: ServerConfig) -> Self {
        let now = epoch();
        Self {
            conn: ServerConnection::new(config, [42; 32], now),
            now,
            wire: Vec::new(),
            disconnects: Vec::new(),
            closed: None,
        }
    }

    fn send(&mut self, msg: impl Into<EngineMessage>) {
        self.conn.handle_message(msg.into(), self.now);
        self.run();
    }

    fn send_bin(&mut self, b: &'static [u8]) {
        self.send(EngineMessage::Binary(Bytes::from_static(b)));
    }

    fn advance(&mut self, ms: u64) {
        let target = self.now + Duration::from_millis(ms);
        while let Some(t) = self.conn.poll_timeout().filter(|t| *t <= target) {
            self.now = t.max(self.now);
            self.conn.handle_timeout(self.now);
            self.run();
        }
        self.now = target;
    }

    fn run(&mut self) {
        while let Some(e) = self.conn.poll_event() {
            match e {
                Event::ConnectRequest { nsp, auth } => {
                    if self.conn.is_closed() {
                        // A request queued before the connection closed: nothing to answer.
                    } else if nsp.is_main() || nsp.as_str() == "/custom" {
                        self.conn.accept(&nsp, self.now).unwrap();
                        let auth: Value = auth.map_or(Value::Object(Default::default()), |a| {
                            a.deserialize().unwrap()
                        });
                        self.conn
                            .emit(&nsp, &("auth", auth), None, self.now)
                            .unwrap();
                    } else {
                        self.conn
                            .reject(&nsp, "Invalid namespace", None::<&()>)
                            .unwrap();
                    }
                }
                Event::Event { nsp, data, ack } => {
                    let name = data.event_name().unwrap();
                    let args: Vec<Arg> = data.event_args().unwrap();
                    match (name.as_str(), ack) {
                        (Some("message"), _) => {
                            let mut back = vec![Arg::Json("message-back".into())];
                            back.extend(args);
                            self.conn.emit(&nsp, &back, None, self.now).unwrap();
                        }
                        (Some("message-with-ack"), Some(id)) => {
                            self.conn.ack(&nsp, id, &args).unwrap();
                        }
                        _ => {}
                    }
                }
                Event::Disconnected { nsp, reason } => self.disconnects.push((nsp, reason)),
                Event::Closed(r) => self.closed = Some(r),
                _ => {}
            }
        }
        while let Some(m) = self.conn.poll_transmit() {
            self.wire.push(m);
        }
    }

    fn take(&mut self) -> Vec<EngineMessage> {
        std::mem::take(&mut self.wire)
    }

    /// Connects to `/` as `initSocketIOConnection()` does (`40` on the wire) and drops the two
    /// replies. Messages here are Engine.IO message data: the wire's leading `4` is not part
    /// of them.
    fn init() -> Self {
        let mut s = Self::new();
        s.send("0");
        assert_eq!(s.take().len(), 2);
        s
    }
}

fn text(s: &str) -> EngineMessage {
    EngineMessage::from(s.to_owned())
}

fn bin(b: &[u8]) -> EngineMessage {
    EngineMessage::Binary(Bytes::copy_from_slice(b))
}

/// Checks a CONNECT reply: `prefix` then an object with exactly the key `sid`, a string.
fn assert_connect_reply(msg: &EngineMessage, prefix: &str) -> String {
    let t = msg.as_text().expect("text");
    let json = t
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{t} starts with {prefix}"));
    let v: Value = serde_json::from_str(json).unwrap();
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 1, "exactly the key sid: {t}");
    obj["sid"].as_str().expect("sid is a string").to_owned()
}

// ---- describe("connect") --------------------------------------------------------------

#[test]
fn should_allow_connection_to_the_main_namespace() {
    let mut s = Suite::new();
    s.send("0");
    let out = s.take();
    let sid = assert_connect_reply(&out[0], "0");
    assert_eq!(sid.len(), 20);
    assert_eq!(out[1], text(r#"2["auth",{}]"#));
}

#[test]
fn should_allow_connection_to_the_main_namespace_with_a_payload() {
    let mut s = Suite::new();
    s.send(r#"0{"token":"123"}"#);
    let out = s.take();
    assert_connect_reply(&out[0], "0");
    assert_eq!(out[1], text(r#"2["auth",{"token":"123"}]"#));
}

#[test]
fn should_allow_connection_to_a_custom_namespace() {
    let mut s = Suite::new();
    s.send("0/custom,");
    let out = s.take();
    assert_connect_reply(&out[0], "0/custom,");
    assert_eq!(out[1], text(r#"2/custom,["auth",{}]"#));
}

#[test]
fn should_allow_connection_to_a_custom_namespace_with_a_payload() {
    let mut s = Suite::new();
    s.send(r#"0/custom,{"token":"abc"}"#);
    let out = s.take();
    assert_connect_reply(&out[0], "0/custom,");
    assert_eq!(out[1], text(r#"2/custom,["auth",{"token":"abc"}]"#));
}

#[test]
fn should_disallow_connection_to_an_unknown_namespace() {
    let mut s = Suite::new();
    s.send("0/random");
    assert_eq!(
        s.take(),
        [text(r#"4/random,{"message":"Invalid namespace"}"#)]
    );
    assert_eq!(s.closed, None, "the connection stays open");
}

#[test]
fn should_disallow_connection_with_an_invalid_handshake() {
    let mut s = Suite::new();
    s.send("abc");
    assert_eq!(
        s.closed,
        Some(CloseReason::Decode(DecodeError::UnknownPacketType('a')))
    );
    assert!(s.take().is_empty());
}

#[test]
fn should_close_the_connection_if_no_handshake_is_received() {
    let mut s = Suite::new();
    s.advance(999);
    assert_eq!(s.closed, None);
    s.advance(1);
    assert_eq!(s.closed, Some(CloseReason::ConnectTimeout));
}

// ---- describe("disconnect") -----------------------------------------------------------

#[test]
fn should_disconnect_from_the_main_namespace() {
    let mut s = Suite::init();
    s.send("1");
    assert!(s.take().is_empty(), "nothing is sent back");
    assert_eq!(s.closed, None, "the Engine.IO session is kept");
    assert_eq!(
        s.disconnects,
        [(
            Namespace::main(),
            DisconnectReason::ClientNamespaceDisconnect
        )]
    );
    assert_eq!(s.disconnects[0].1.as_str(), "client namespace disconnect");
}

#[test]
fn should_connect_then_disconnect_from_a_custom_namespace() {
    let mut s = Suite::init();
    s.send("0/custom");
    assert_eq!(s.take().len(), 2);
    s.send("1/custom");
    s.send(r#"2["message","message to main namespace"]"#);
    assert_eq!(
        s.take(),
        [text(r#"2["message-back","message to main namespace"]"#)]
    );
}

// ---- describe("message") --------------------------------------------------------------

#[test]
fn should_send_a_plain_text_packet() {
    let mut s = Suite::init();
    s.send(r#"2["message",1,"2",{"3":[true]}]"#);
    assert_eq!(s.take(), [text(r#"2["message-back",1,"2",{"3":[true]}]"#)]);
}

#[test]
fn should_send_a_packet_with_binary_attachments() {
    let mut s = Suite::init();
    s.send(r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#);
    s.send_bin(&[1, 2, 3]);
    s.send_bin(&[4, 5, 6]);
    assert_eq!(
        s.take(),
        [
            text(
                r#"52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
            ),
            bin(&[1, 2, 3]),
            bin(&[4, 5, 6]),
        ]
    );
}

#[test]
fn should_send_a_plain_text_packet_with_an_ack() {
    let mut s = Suite::init();
    s.send(r#"2456["message-with-ack",1,"2",{"3":[false]}]"#);
    assert_eq!(s.take(), [text(r#"3456[1,"2",{"3":[false]}]"#)]);
}

#[test]
fn should_send_a_packet_with_binary_attachments_and_an_ack() {
    let mut s = Suite::init();
    s.send(
        r#"52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    );
    s.send_bin(&[1, 2, 3]);
    s.send_bin(&[4, 5, 6]);
    assert_eq!(
        s.take(),
        [
            text(r#"62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#),
            bin(&[1, 2, 3]),
            bin(&[4, 5, 6]),
        ]
    );
}

#[test]
fn should_close_the_connection_upon_invalid_format_unknown_packet_type() {
    let mut s = Suite::init();
    s.send("abc");
    assert!(matches!(
        s.closed,
        Some(CloseReason::Decode(DecodeError::UnknownPacketType(_)))
    ));
    assert_eq!(s.disconnects[0].1.as_str(), "forced close");
}

#[test]
fn should_close_the_connection_upon_invalid_format_invalid_payload_format() {
    let mut s = Suite::init();
    s.send("2{}");
    assert!(matches!(
        s.closed,
        Some(CloseReason::Decode(DecodeError::InvalidPayload { .. }))
    ));
}

#[test]
fn should_close_the_connection_upon_invalid_format_invalid_ack_id() {
    let mut s = Suite::init();
    s.send(r#"2abc["message-with-ack",1,"2",{"3":[false]}]"#);
    assert!(matches!(s.closed, Some(CloseReason::Decode(_))));
}

// ---- reference behaviours (probes) ------------------------------------------------------

#[test]
fn gives_each_socket_a_random_id_that_differs_per_connection_and_namespace() {
    let mut a = Suite::new();
    a.send("0");
    a.send("0/custom,");
    let out = a.take();
    let sid_main = assert_connect_reply(&out[0], "0");
    let sid_custom = assert_connect_reply(&out[2], "0/custom,");
    assert_ne!(sid_main, sid_custom);
    let mut b = Suite::with(ServerConfig::default());
    b.conn = ServerConnection::new(ServerConfig::default(), [7; 32], b.now);
    b.send("0");
    assert_ne!(assert_connect_reply(&b.take()[0], "0"), sid_main);
}

#[test]
fn closes_the_connection_upon_duplicate_connect() {
    let mut s = Suite::init();
    s.send("0");
    assert_eq!(
        s.closed,
        Some(CloseReason::Violation(Violation::DuplicateConnect))
    );
    assert_eq!(s.disconnects[0].1.as_str(), "forced server close");
}

#[test]
fn closes_the_connection_upon_an_event_before_connect() {
    let mut s = Suite::new();
    s.send(r#"2["message"]"#);
    assert_eq!(
        s.closed,
        Some(CloseReason::Violation(Violation::NotConnected(
            PacketKind::Event
        )))
    );
}

#[test]
fn closes_the_connection_upon_an_event_for_a_namespace_not_joined() {
    let mut s = Suite::init();
    s.send(r#"2/custom,["message"]"#);
    assert!(matches!(
        s.closed,
        Some(CloseReason::Violation(Violation::NotConnected(_)))
    ));
}

#[test]
fn closes_the_connection_upon_an_event_after_disconnect() {
    let mut s = Suite::init();
    s.send("1");
    s.send(r#"2["message","x"]"#);
    assert!(matches!(
        s.closed,
        Some(CloseReason::Violation(Violation::NotConnected(_)))
    ));
}

#[test]
fn closes_the_connection_upon_a_connect_error_from_the_client() {
    let mut s = Suite::init();
    s.send(r#"4{"message":"x"}"#);
    assert_eq!(
        s.closed,
        Some(CloseReason::Violation(Violation::ClientConnectError))
    );
}

#[test]
fn closes_the_connection_upon_plaintext_while_expecting_an_attachment() {
    let mut s = Suite::init();
    s.send(r#"51-["message",{"_placeholder":true,"num":0}]"#);
    s.send(r#"2["message"]"#);
    assert_eq!(
        s.closed,
        Some(CloseReason::Decode(DecodeError::UnexpectedText))
    );
}

#[test]
fn closes_the_connection_upon_binary_without_a_header() {
    let mut s = Suite::init();
    s.send_bin(&[1, 2]);
    assert_eq!(
        s.closed,
        Some(CloseReason::Decode(DecodeError::UnexpectedBinary))
    );
}

#[test]
fn accepts_an_event_without_payload_and_keeps_the_connection() {
    let mut s = Suite::init();
    s.send("2");
    s.send(r#"2["message","after"]"#);
    assert_eq!(s.take(), [text(r#"2["message-back","after"]"#)]);
    assert_eq!(s.closed, None);
}

#[test]
fn ignores_an_ack_with_an_unknown_id() {
    let mut s = Suite::init();
    s.send("3999[]");
    s.send(r#"2["message","after"]"#);
    assert_eq!(s.take(), [text(r#"2["message-back","after"]"#)]);
}

#[test]
fn allocates_server_ack_ids_from_a_counter_per_namespace() {
    let mut s = Suite::init();
    s.send("0/custom,");
    s.take();
    let t = Some(Duration::from_secs(5));
    let nsp = Namespace::main();
    let custom = Namespace::new("/custom").unwrap();
    assert_eq!(
        s.conn.emit(&nsp, &("with-ack", 1), t, s.now).unwrap(),
        Some(AckId::new(0))
    );
    assert_eq!(
        s.conn.emit(&nsp, &("with-ack", 2), t, s.now).unwrap(),
        Some(AckId::new(1))
    );
    assert_eq!(
        s.conn.emit(&custom, &("x",), t, s.now).unwrap(),
        Some(AckId::new(0))
    );
    s.run();
    assert_eq!(
        s.take(),
        [
            text(r#"20["with-ack",1]"#),
            text(r#"21["with-ack",2]"#),
            text(r#"2/custom,0["x"]"#)
        ]
    );
}

#[test]
fn delivers_the_client_ack_once_and_forgets_it() {
    let mut s = Suite::init();
    let nsp = Namespace::main();
    let id = s
        .conn
        .emit(&nsp, &("ask",), Some(Duration::from_secs(5)), s.now)
        .unwrap();
    assert_eq!(id, Some(AckId::new(0)));
    s.conn.handle_message(text(r#"30[{"ok":true}]"#), s.now);
    match s.conn.poll_event() {
        Some(Event::Ack { id, data, .. }) => {
            assert_eq!(id, AckId::new(0));
            let (v,): (Value,) = data.unwrap().deserialize().unwrap();
            assert_eq!(v, serde_json::json!({"ok": true}));
        }
        other => panic!("{other:?}"),
    }
    s.conn.handle_message(text(r#"30[{"ok":true}]"#), s.now);
    assert!(
        s.conn.poll_event().is_none(),
        "an ack callback runs at most once"
    );
    assert_eq!(s.conn.pending_acks(), 0);
}

#[test]
fn removes_expired_acks_at_their_deadline() {
    let mut s = Suite::init();
    let nsp = Namespace::main();
    s.conn
        .emit(
            &nsp,
            &("with-timeout",),
            Some(Duration::from_millis(500)),
            s.now,
        )
        .unwrap();
    assert_eq!(s.conn.pending_acks(), 1);
    let deadline = s.conn.poll_timeout().unwrap();
    assert_eq!(deadline, s.now + Duration::from_millis(500));
    s.conn.handle_timeout(s.now + Duration::from_millis(499));
    assert!(s.conn.poll_event().is_none(), "early calls are harmless");
    s.conn.handle_timeout(deadline);
    assert!(
        matches!(s.conn.poll_event(), Some(Event::AckTimeout { id, .. }) if id == AckId::new(0))
    );
    assert_eq!(s.conn.pending_acks(), 0);
    s.conn.handle_message(text("30[]"), s.now);
    assert!(s.conn.poll_event().is_none(), "a late answer is ignored");
}

#[test]
fn sends_disconnect_when_the_server_disconnects_a_socket() {
    let mut s = Suite::init();
    s.conn.disconnect(&Namespace::main()).unwrap();
    s.run();
    assert_eq!(s.take(), [text("1")]);
    assert_eq!(s.disconnects[0].1.as_str(), "server namespace disconnect");
}

#[test]
fn sends_connect_error_with_message_and_data() {
    let mut s = Suite::new();
    s.conn.handle_message(text("0/mw,"), s.now);
    let Some(Event::ConnectRequest { nsp, .. }) = s.conn.poll_event() else {
        panic!()
    };
    s.conn
        .reject(
            &nsp,
            "not authorized",
            Some(&serde_json::json!({"content": "please retry"})),
        )
        .unwrap();
    s.run();
    assert_eq!(
        s.take(),
        [text(
            r#"4/mw,{"message":"not authorized","data":{"content":"please retry"}}"#
        )]
    );
}

#[test]
fn refuses_to_emit_a_reserved_event_name() {
    let mut s = Suite::init();
    let e = s
        .conn
        .emit(&Namespace::main(), &("disconnect",), None, s.now);
    assert!(e.is_err());
}

#[test]
fn keeps_the_connection_when_a_joined_namespace_beats_the_connect_timeout() {
    let mut s = Suite::init();
    s.advance(5000);
    assert_eq!(s.closed, None);
}

#[test]
fn bounds_the_number_of_namespaces() {
    let mut s = Suite::with(ServerConfig::default().max_namespaces(2));
    s.conn.handle_message(text("0/a"), s.now);
    s.conn.handle_message(text("0/b"), s.now);
    s.conn.handle_message(text("0/c"), s.now);
    s.run();
    assert_eq!(
        s.closed,
        Some(CloseReason::Violation(Violation::TooManyNamespaces))
    );
}

#[test]
fn counts_the_attachments_held_and_closes_when_the_servers_budget_is_exceeded() {
    let mut s = Suite::init();
    s.send(text(
        r#"52-["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    ));
    assert_eq!(s.conn.attachment_bytes_held(), 0);
    s.send(bin(&[1; 300]));
    assert_eq!(s.conn.attachment_bytes_held(), 300);
    // The driver finds the server over its budget: the connection closes, its bytes freed.
    s.conn.handle_attachments_over_budget(200);
    s.run();
    assert_eq!(s.conn.attachment_bytes_held(), 0);
    assert_eq!(
        s.closed,
        Some(CloseReason::Decode(DecodeError::AttachmentsTooLarge {
            max: 200
        }))
    );
}

#[test]
fn frees_the_attachments_held_when_the_packet_completes() {
    let mut s = Suite::init();
    s.send(text(r#"51-["e",{"_placeholder":true,"num":0}]"#));
    s.send(bin(&[1; 300]));
    assert_eq!(s.conn.attachment_bytes_held(), 0);
    assert_eq!(s.closed, None);
}

#[test]
fn speaks_msgpack_when_configured() {
    let mut s = Suite::with(ServerConfig::default().parser(ParserKind::MsgPack));
    // {"type":0,"nsp":"/"}
    s.send(bin(&[
        0x82, 0xa4, b't', b'y', b'p', b'e', 0x00, 0xa3, b'n', b's', b'p', 0xa1, b'/',
    ]));
    let out = s.take();
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|m| m.as_binary().is_some()));
    let mut d = ParserKind::MsgPack.decoder(Default::default());
    let p = d.decode(out[1].clone()).unwrap().unwrap();
    assert_eq!(
        p.data.unwrap().to_canonical_json(),
        serde_json::json!(["auth", {}])
    );
}

#[test]
fn closing_the_connection_disconnects_every_joined_namespace_first() {
    let mut s = Suite::init();
    s.send("0/custom");
    s.take();
    s.conn.close();
    s.run();
    // Each socket gets a DISCONNECT, so that the client sees "io server disconnect" and does
    // not reconnect, then the connection closes.
    assert_eq!(s.take(), [text("1"), text("1/custom,")]);
    assert_eq!(
        s.disconnects,
        [
            (
                Namespace::main(),
                DisconnectReason::ServerNamespaceDisconnect
            ),
            (
                Namespace::new("/custom".to_owned()).unwrap(),
                DisconnectReason::ServerNamespaceDisconnect
            ),
        ]
    );
    assert_eq!(s.closed, Some(CloseReason::ServerClose));
}
