//! The server endpoint (Engine.IO session + Socket.IO connection) driven on a virtual
//! clock: connect with auth, reject, namespaces, events and acks both ways, cancelled acks,
//! typed reasons, the upgrade, the admission rule and frames shared between endpoints.

use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio_proto::{
    CloseReason as EngineCloseReason, HttpResponse, RequestId, ServerConfig as EngineConfig,
    ServerSession, SidGenerator, Transmit, TransportError, TransportKind, WsId, WsMessage,
};
use socketio_proto::endpoint::server::{
    AckDeadline, Admission, CloseReason, CommandError, Delivery, DisconnectReason, Event,
    ServerEndpoint, SlowClientPolicy, ack_frames, check_event_name, event_frames, frames_len,
};
use socketio_proto::server::ServerConfig;
use socketio_proto::{AckId, Namespace, ParserKind};

const WS: WsId = WsId(0);

/// The start of the virtual clock (the one reading of the real clock).
#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

/// One endpoint on a WebSocket session, with the wire on the client side.
struct Ws {
    ep: ServerEndpoint,
    now: Instant,
    /// Messages written on the WebSocket, text as `String`.
    sent: Vec<String>,
    closed_ws: Vec<(WsId, Option<u16>)>,
    events: Vec<Event>,
}

impl Ws {
    fn new() -> Self {
        Self::with(EngineConfig::default(), ServerConfig::default())
    }

    fn with(engine: EngineConfig, config: ServerConfig) -> Self {
        let now = start();
        let sid = SidGenerator::from_seed([3; 32]).generate();
        let session = ServerSession::new_websocket(sid, engine, WS, true, now);
        let mut s = Self {
            ep: ServerEndpoint::new(session, config, [9; 32], now),
            now,
            sent: Vec::new(),
            closed_ws: Vec::new(),
            events: Vec::new(),
        };
        s.drain();
        assert!(
            s.take()[0].starts_with("0{\"sid\":"),
            "the open packet first"
        );
        s
    }

    fn drain(&mut self) {
        while let Some(t) = self.ep.poll_transmit() {
            match t {
                Transmit::WebSocket { msg, .. } => self.sent.push(match msg {
                    WsMessage::Text(t) => t.to_string(),
                    WsMessage::Binary(b) => format!("<binary {}>", b.len()),
                }),
                Transmit::CloseWebSocket { ws, code } => self.closed_ws.push((ws, code)),
                other => panic!("unexpected {other:?}"),
            }
        }
        while let Some(e) = self.ep.poll_event() {
            self.events.push(e);
        }
    }

    fn recv(&mut self, text: &'static str) {
        self.ep
            .handle_ws_message(WS, WsMessage::Text(text.into()), self.now);
        self.drain();
    }

    fn take(&mut self) -> Vec<String> {
        std::mem::take(&mut self.sent)
    }

    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.ep.handle_timeout(self.now);
        self.drain();
    }

    /// CONNECT to `nsp`, accepted.
    fn join(&mut self, connect: &'static str) -> Namespace {
        self.recv(connect);
        let Some(Event::ConnectRequest { nsp, .. }) = self.take_events().pop() else {
            panic!("a connect request");
        };
        self.ep.accept(&nsp, self.now).unwrap();
        self.drain();
        assert!(self.take()[0].contains("{\"sid\":"));
        assert!(matches!(self.take_events()[..], [Event::Connected { .. }]));
        nsp
    }
}

fn main_nsp() -> Namespace {
    Namespace::main()
}

#[test]
fn connect_with_auth_then_accept_sends_the_socket_id() {
    let mut s = Ws::new();
    s.recv(r#"40{"token":"abc"}"#);
    let events = s.take_events();
    let [
        Event::ConnectRequest {
            nsp,
            auth: Some(auth),
        },
    ] = &events[..]
    else {
        panic!("{events:?}");
    };
    assert_eq!(nsp, &main_nsp());
    let auth: serde_json::Value = auth.deserialize().unwrap();
    assert_eq!(auth["token"], "abc");
    let sid = s.ep.accept(nsp, s.now).unwrap();
    s.drain();
    assert_eq!(s.take(), [format!("40{{\"sid\":\"{}\"}}", sid.as_str())]);
    assert!(matches!(&s.take_events()[..], [Event::Connected { sid: id, .. }] if *id == sid));
}

#[test]
fn reject_sends_connect_error_and_keeps_the_connection() {
    let mut s = Ws::new();
    s.recv("40/admin,");
    let nsp = Namespace::new("/admin").unwrap();
    s.ep.reject(
        &nsp,
        "not allowed",
        Some(&serde_json::json!({"why": 1})),
        s.now,
    )
    .unwrap();
    s.drain();
    assert_eq!(
        s.take(),
        [r#"44/admin,{"message":"not allowed","data":{"why":1}}"#]
    );
    assert!(!s.ep.is_closed());
    s.join("40");
}

#[test]
fn two_namespaces_each_get_their_events() {
    let mut s = Ws::new();
    let main = s.join("40");
    let admin = s.join("40/admin,");
    s.recv(r#"42/admin,["a",1]"#);
    s.recv(r#"42["b",2]"#);
    let events = s.take_events();
    let [
        Event::Event {
            nsp: n1, ack: None, ..
        },
        Event::Event {
            nsp: n2, ack: None, ..
        },
    ] = &events[..]
    else {
        panic!("{events:?}");
    };
    assert_eq!((n1, n2), (&admin, &main));
}

#[test]
fn an_event_with_an_ack_id_is_answered_through_the_endpoint() {
    let mut s = Ws::new();
    let nsp = s.join("40");
    s.recv(r#"421["question"]"#);
    let events = s.take_events();
    let [Event::Event { ack: Some(id), .. }] = &events[..] else {
        panic!("{events:?}");
    };
    assert_eq!(*id, AckId::new(1));
    s.ep.ack(&nsp, *id, &("answer", 42), s.now).unwrap();
    s.drain();
    assert_eq!(s.take(), [r#"431["answer",42]"#]);
}

#[test]
fn an_ack_without_deadline_waits_with_no_timer() {
    let mut s = Ws::new();
    let nsp = s.join("40");
    let ping = s.ep.poll_timeout();
    let id =
        s.ep.emit_with_ack(&nsp, &("q", 1), AckDeadline::None, s.now)
            .unwrap();
    s.drain();
    assert_eq!(s.take(), [r#"420["q",1]"#]);
    assert_eq!(s.ep.poll_timeout(), ping, "no deadline of its own");
    s.recv(r#"430["a"]"#);
    let events = s.take_events();
    assert!(
        matches!(&events[..], [Event::Ack { id: got, data: Some(_), .. }] if *got == id),
        "{events:?}"
    );
}

#[test]
fn an_ack_with_a_deadline_times_out_and_is_forgotten() {
    let mut s = Ws::new();
    let nsp = s.join("40");
    let deadline = AckDeadline::after(s.now, Some(Duration::from_millis(500)));
    let id = s.ep.emit_with_ack(&nsp, &("q",), deadline, s.now).unwrap();
    s.drain();
    assert_eq!(
        s.ep.poll_timeout(),
        Some(s.now + Duration::from_millis(500))
    );
    s.advance(Duration::from_millis(499));
    assert!(s.take_events().is_empty(), "not yet");
    s.advance(Duration::from_millis(1));
    assert!(matches!(&s.take_events()[..], [Event::AckTimeout { id: got, .. }] if *got == id));
    s.recv(r#"430["late"]"#);
    assert!(s.take_events().is_empty(), "a late answer is ignored");
}

#[test]
fn an_ack_whose_emitter_gave_up_is_forgotten() {
    let mut s = Ws::new();
    let nsp = s.join("40");
    let deadline = AckDeadline::after(s.now, Some(Duration::from_secs(1)));
    let id = s.ep.emit_with_ack(&nsp, &("q",), deadline, s.now).unwrap();
    s.drain();
    assert!(s.ep.cancel_ack(&nsp, id));
    assert!(!s.ep.cancel_ack(&nsp, id), "once");
    assert_eq!(s.ep.connection().pending_acks(), 0);
    s.advance(Duration::from_secs(1));
    s.recv(r#"430["late"]"#);
    s.recv("41");
    let events = s.take_events();
    assert!(
        matches!(&events[..], [Event::Disconnected { .. }]),
        "no timeout, answer or cancel event: {events:?}"
    );
}

#[test]
fn pending_acks_are_cancelled_when_the_client_leaves_the_namespace() {
    let mut s = Ws::new();
    let nsp = s.join("40");
    let a =
        s.ep.emit_with_ack(&nsp, &("q",), AckDeadline::None, s.now)
            .unwrap();
    let b =
        s.ep.emit_with_ack(
            &nsp,
            &("q",),
            AckDeadline::after(s.now, Some(Duration::from_secs(5))),
            s.now,
        )
        .unwrap();
    s.drain();
    s.recv("41");
    let events = s.take_events();
    let [
        Event::AckCancelled { id: x, .. },
        Event::AckCancelled { id: y, .. },
        Event::Disconnected { reason, .. },
    ] = &events[..]
    else {
        panic!("{events:?}");
    };
    assert_eq!((*x, *y), (a, b));
    assert_eq!(reason, &DisconnectReason::ClientNamespaceDisconnect);
    assert_eq!(reason.as_str(), "client namespace disconnect");
    assert_eq!(s.ep.connection().pending_acks(), 0);
}

#[test]
fn pending_acks_are_cancelled_and_reasons_typed_when_the_transport_closes() {
    let mut s = Ws::new();
    let nsp = s.join("40");
    let id =
        s.ep.emit_with_ack(&nsp, &("q",), AckDeadline::None, s.now)
            .unwrap();
    s.drain();
    s.ep.handle_ws_closed(WS, s.now);
    s.drain();
    let events = s.take_events();
    let [
        Event::AckCancelled { id: got, .. },
        Event::Disconnected { reason, .. },
        Event::Closed(CloseReason::Transport(EngineCloseReason::TransportClose)),
    ] = &events[..]
    else {
        panic!("{events:?}");
    };
    assert_eq!(*got, id);
    assert_eq!(
        reason,
        &DisconnectReason::Transport(EngineCloseReason::TransportClose)
    );
    assert_eq!(reason.as_str(), "transport close");
    assert!(s.ep.is_closed());
    assert_eq!(s.ep.poll_timeout(), None);
}

#[test]
fn a_ping_timeout_disconnects_with_ping_timeout() {
    let mut s = Ws::new();
    s.join("40");
    s.advance(Duration::from_secs(25));
    assert_eq!(s.take(), ["2"]);
    s.advance(Duration::from_secs(20));
    let events = s.take_events();
    assert!(
        matches!(&events[..], [Event::Disconnected { reason, .. }, Event::Closed(_)] if reason.as_str() == "ping timeout"),
        "{events:?}"
    );
}

#[test]
fn a_packet_that_does_not_decode_closes_with_forced_close() {
    let mut s = Ws::new();
    s.join("40");
    s.recv("4x");
    let events = s.take_events();
    assert!(
        matches!(
            &events[..],
            [
                Event::Disconnected {
                    reason: DisconnectReason::ForcedClose,
                    ..
                },
                Event::Closed(CloseReason::Decode(_))
            ]
        ),
        "{events:?}"
    );
    assert_eq!(s.closed_ws, [(WS, None)], "the session closes too");
    assert!(s.ep.is_closed());
}

#[test]
fn close_sends_disconnect_then_closes_the_session() {
    let mut s = Ws::new();
    let nsp = s.join("40/admin,");
    s.ep.close(s.now);
    s.drain();
    assert_eq!(s.take(), ["41/admin,"]);
    assert_eq!(s.closed_ws, [(WS, None)]);
    let events = s.take_events();
    assert!(
        matches!(&events[..], [Event::Disconnected { nsp: n, reason: DisconnectReason::ServerNamespaceDisconnect }, Event::Closed(CloseReason::ServerClose)] if *n == nsp),
        "{events:?}"
    );
    assert!(matches!(
        s.ep.disconnect(&nsp, s.now),
        Err(CommandError::Closed)
    ));
}

#[test]
fn shutdown_disconnects_with_server_shutting_down_and_sends_no_disconnect() {
    let mut s = Ws::new();
    s.join("40");
    s.ep.shutdown(s.now);
    s.drain();
    assert!(s.take().is_empty());
    let events = s.take_events();
    assert!(
        matches!(&events[..], [Event::Disconnected { reason, .. }, Event::Closed(CloseReason::ServerShutdown)] if reason.as_str() == "server shutting down"),
        "{events:?}"
    );
    assert!(s.ep.is_closed());
}

#[test]
fn the_connect_timeout_closes_the_session() {
    let mut s = Ws::with(
        EngineConfig::default(),
        ServerConfig::default().connect_timeout(Duration::from_secs(1)),
    );
    assert_eq!(s.ep.poll_timeout(), Some(s.now + Duration::from_secs(1)));
    s.advance(Duration::from_secs(1));
    assert!(matches!(
        &s.take_events()[..],
        [Event::Closed(CloseReason::ConnectTimeout)]
    ));
    assert!(s.ep.is_closed());
}

/// A polling endpoint and the answers to its requests.
struct Polling {
    ep: ServerEndpoint,
    now: Instant,
    next: u64,
}

impl Polling {
    fn new(engine: EngineConfig) -> Self {
        let now = start();
        let sid = SidGenerator::from_seed([4; 32]).generate();
        let session = ServerSession::new_polling(sid, engine, RequestId(0), now);
        let mut p = Self {
            ep: ServerEndpoint::new(session, ServerConfig::default(), [5; 32], now),
            now,
            next: 1,
        };
        p.answers();
        p
    }

    fn answers(&mut self) -> Vec<(RequestId, HttpResponse)> {
        let mut out = Vec::new();
        while let Some(t) = self.ep.poll_transmit() {
            match t {
                Transmit::Http { req, response } => out.push((req, response)),
                other => panic!("unexpected {other:?}"),
            }
        }
        out
    }

    fn req(&mut self) -> RequestId {
        self.next += 1;
        RequestId(self.next)
    }

    fn post(&mut self, body: &'static str) {
        let req = self.req();
        let _ = self.ep.handle_post(req, false, self.now);
        self.ep
            .handle_post_body(req, Bytes::from_static(body.as_bytes()), self.now);
        assert_eq!(self.answers(), [(req, HttpResponse::Ok)]);
    }

    fn poll(&mut self) -> String {
        let req = self.req();
        self.ep.handle_poll(req, self.now);
        let answers = self.answers();
        match &answers[..] {
            [(r, HttpResponse::Payload(body))] if *r == req => {
                String::from_utf8(body.to_vec()).unwrap()
            }
            other => panic!("{other:?}"),
        }
    }

    fn connect(&mut self) -> Namespace {
        self.post("40");
        let Some(Event::ConnectRequest { nsp, .. }) = self.ep.poll_event() else {
            panic!()
        };
        self.ep.accept(&nsp, self.now).unwrap();
        while self.ep.poll_event().is_some() {}
        assert!(self.poll().starts_with("40{\"sid\""));
        nsp
    }
}

#[test]
fn a_volatile_message_goes_only_when_the_transport_is_writable() {
    let mut p = Polling::new(EngineConfig::default());
    let nsp = p.connect();
    let frames = event_frames(ParserKind::Default, &nsp, "tick", &1).unwrap();
    assert_eq!(
        p.ep.send_frames(&frames, true, p.now),
        Delivery::Dropped,
        "no GET pending"
    );
    assert_eq!(p.ep.send_frames(&frames, false, p.now), Delivery::Queued);
    assert_eq!(p.poll(), r#"42["tick",1]"#);
    let get = p.req();
    p.ep.handle_poll(get, p.now);
    assert_eq!(
        p.ep.send_frames(&frames, true, p.now),
        Delivery::Queued,
        "a GET is pending"
    );
    assert!(
        matches!(&p.answers()[..], [(r, HttpResponse::Payload(b))] if *r == get && &b[..] == br#"42["tick",1]"#)
    );
}

#[test]
fn frames_past_max_buffered_close_the_connection_with_a_typed_reason() {
    let mut engine = EngineConfig::default();
    engine.max_buffered(20);
    let mut p = Polling::new(engine);
    let nsp = p.connect();
    let frames = event_frames(ParserKind::Default, &nsp, "tick", &"0123456789").unwrap();
    assert_eq!(p.ep.send_frames(&frames, false, p.now), Delivery::Queued);
    assert_eq!(p.ep.send_frames(&frames, false, p.now), Delivery::Closed);
    let mut events = Vec::new();
    while let Some(e) = p.ep.poll_event() {
        events.push(e);
    }
    let buffer_full = EngineCloseReason::TransportError(TransportError::BufferFull);
    assert!(
        matches!(&events[..], [Event::Disconnected { reason: DisconnectReason::Transport(r), .. }, Event::Closed(_)] if *r == buffer_full),
        "{events:?}"
    );
    assert_eq!(events.len(), 2);
    assert_eq!(
        DisconnectReason::Transport(buffer_full).as_str(),
        "transport error"
    );
    assert_eq!(p.ep.send_frames(&frames, true, p.now), Delivery::Closed);
}

#[test]
fn the_slow_client_input_closes_the_connection() {
    let mut s = Ws::new();
    s.join("40");
    s.ep.handle_slow_client(s.now);
    s.drain();
    assert!(s.ep.is_closed());
    assert!(
        matches!(&s.take_events()[..], [Event::Disconnected { reason, .. }, Event::Closed(_)] if reason.as_str() == "transport error")
    );
}

#[test]
fn the_upgrade_moves_the_connection_to_websocket() {
    let mut p = Polling::new(EngineConfig::default());
    let nsp = p.connect();
    let ws = WsId(7);
    p.ep.handle_ws_open(ws, true, p.now);
    p.ep.handle_ws_message(ws, WsMessage::Text("2probe".into()), p.now);
    assert_eq!(
        p.ep.poll_transmit(),
        Some(Transmit::WebSocket {
            ws,
            msg: WsMessage::Text("3probe".into())
        })
    );
    p.ep.handle_ws_message(ws, WsMessage::Text("5".into()), p.now);
    while p.ep.poll_transmit().is_some() {}
    assert_eq!(p.ep.session().transport(), TransportKind::WebSocket);
    p.ep.ack(&nsp, AckId::new(3), &(), p.now).unwrap();
    assert_eq!(
        p.ep.poll_transmit(),
        Some(Transmit::WebSocket {
            ws,
            msg: WsMessage::Text("433[]".into())
        })
    );
    p.ep.handle_ws_message(ws, WsMessage::Text(r#"42["over ws"]"#.into()), p.now);
    assert!(matches!(p.ep.poll_event(), Some(Event::Event { .. })));
}

#[test]
fn verify_checks_the_protocol_revision_and_the_transport() {
    use engineio_proto::{BadRequestReason, Rejection, SessionRequest};
    let p = Polling::new(EngineConfig::default());
    assert_eq!(p.ep.verify(SessionRequest::Poll, true), Ok(()));
    assert_eq!(
        p.ep.verify(SessionRequest::Poll, false),
        Err(Rejection::BadRequest(BadRequestReason::ProtocolMismatch))
    );
    let s = Ws::new();
    assert_eq!(
        s.ep.verify(SessionRequest::Post, true),
        Err(Rejection::BadRequest(BadRequestReason::TransportMismatch))
    );
}

#[test]
fn the_admission_rule() {
    use Admission::*;
    let (d, b) = (SlowClientPolicy::Disconnect, SlowClientPolicy::Backpressure);
    // Nothing in flight: anything goes, even past the limit or volatile.
    assert_eq!(Admission::decide(0, 1 << 30, false, 10, d), Queue);
    assert_eq!(Admission::decide(0, 5, true, 10, d), Queue);
    // Behind: volatile is dropped whatever the room.
    assert_eq!(Admission::decide(1, 1, true, 10, d), DropVolatile);
    assert_eq!(Admission::decide(1, 1, true, 10, b), DropVolatile);
    // Room left: queued; up to the limit included.
    assert_eq!(Admission::decide(5, 5, false, 10, d), Queue);
    // No room: the policy decides.
    assert_eq!(Admission::decide(5, 6, false, 10, d), SlowClient);
    assert_eq!(Admission::decide(5, 6, false, 10, b), Full);
}

#[test]
fn frames_are_encoded_once_and_shared_by_every_endpoint() {
    let nsp = main_nsp();
    let frames = event_frames(
        ParserKind::Default,
        &nsp,
        "news",
        &("hi", Bytes::from_static(b"\x01\x02")),
    )
    .unwrap();
    assert_eq!(frames.len(), 2, "the packet and its attachment");
    assert_eq!(
        frames_len(&frames),
        frames.iter().map(|f| f.len()).sum::<usize>()
    );
    let mut endpoints: Vec<Ws> = (0..3).map(|_| Ws::new()).collect();
    let mut texts = Vec::new();
    let mut binaries = Vec::new();
    for s in &mut endpoints {
        s.join("40");
        assert_eq!(s.ep.send_frames(&frames, false, s.now), Delivery::Queued);
        while let Some(t) = s.ep.poll_transmit() {
            match t {
                Transmit::WebSocket {
                    msg: WsMessage::Text(t),
                    ..
                } => texts.push(t),
                Transmit::WebSocket {
                    msg: WsMessage::Binary(b),
                    ..
                } => binaries.push(b),
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(texts.len(), 3);
    assert_eq!(
        &texts[0][..],
        r#"451-["news","hi",{"_placeholder":true,"num":0}]"#
    );
    // The same bytes, not copies.
    assert!(
        texts
            .iter()
            .all(|t| t.as_bytes().as_ptr() == texts[0].as_bytes().as_ptr())
    );
    assert!(binaries.iter().all(|b| b.as_ptr() == binaries[0].as_ptr()));
}

#[test]
fn reserved_event_names_are_refused_by_the_frame_encoder() {
    for name in [
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ] {
        assert!(
            matches!(check_event_name(name), Err(CommandError::ReservedEventName(n)) if n == name)
        );
        assert!(event_frames(ParserKind::Default, &main_nsp(), name, &()).is_err());
    }
    assert!(check_event_name("chat").is_ok());
}

#[test]
fn ack_frames_encode_an_ack_packet() {
    let frames = ack_frames(ParserKind::Default, &main_nsp(), AckId::new(12), &("ok",)).unwrap();
    assert_eq!(
        frames[..],
        [engineio_proto::Frame::Text(r#"4312["ok"]"#.into())]
    );
}

#[test]
fn memory_of_an_endpoint() {
    // What a connection's task holds for the protocol: the endpoint is the two machines it
    // held before, side by side (nothing added).
    let endpoint = size_of::<ServerEndpoint>();
    let session = size_of::<ServerSession>();
    let connection = size_of::<socketio_proto::server::ServerConnection>();
    println!(
        "ServerEndpoint {endpoint} B = ServerSession {session} B + ServerConnection {connection} B"
    );
    assert_eq!(endpoint, session + connection);
}

#[test]
fn the_msgpack_parser_goes_through_binary_messages_both_ways() {
    let mut s = Ws::with(
        EngineConfig::default(),
        ServerConfig::default().parser(ParserKind::MsgPack),
    );
    let mut connect = Vec::new();
    ParserKind::MsgPack
        .encode(
            &socketio_proto::Packet::connect(main_nsp(), None),
            &mut connect,
        )
        .unwrap();
    let [socketio_proto::EngineMessage::Binary(connect)] = &connect[..] else {
        panic!("msgpack packets are binary");
    };
    s.ep.handle_ws_message(WS, WsMessage::Binary(connect.clone()), s.now);
    s.drain();
    let Some(Event::ConnectRequest { nsp, .. }) = s.take_events().pop() else {
        panic!("a connect request");
    };
    s.ep.accept(&nsp, s.now).unwrap();
    s.drain();
    assert!(matches!(&s.take()[..], [b] if b.starts_with("<binary")));
    let frames = event_frames(ParserKind::MsgPack, &nsp, "news", &1).unwrap();
    assert!(matches!(frames[..], [engineio_proto::Frame::Binary(_)]));
    assert_eq!(s.ep.send_frames(&frames, false, s.now), Delivery::Queued);
    s.drain();
    assert_eq!(s.take().len(), 1);
}
