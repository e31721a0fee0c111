//! The client session, alone against scripted server input, and paired with the server
//! session over an in-memory wire on a virtual clock (no sockets, no sleeps).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio_proto::{
    ClientCloseReason, ClientConfig, ClientEvent, ClientSession, ClientTransmit, Data, Event,
    HttpResponse, PostAction, RequestId, ServerConfig, ServerSession, SidGenerator, Transmit,
    TransportKind, Transports, WsId, WsMessage,
};

const OPEN_POLLING: &[u8] = br#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":20}"#;

#[allow(clippy::disallowed_methods)] // the origin of the virtual clock, read once
fn origin() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn drain(client: &mut ClientSession) -> Vec<ClientTransmit> {
    std::iter::from_fn(|| client.poll_transmit()).collect()
}

fn events(client: &mut ClientSession) -> Vec<ClientEvent> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

fn opened_polling_client(config: ClientConfig, now: Instant) -> ClientSession {
    let mut client = ClientSession::new(config, now);
    assert_eq!(drain(&mut client), [ClientTransmit::Poll]);
    client.handle_poll_response(Bytes::from_static(OPEN_POLLING), now);
    client
}

#[test]
fn parses_the_handshake_and_starts_long_polling() {
    let now = origin();
    let mut client = opened_polling_client(ClientConfig::default().upgrade(false), now);
    let evs = events(&mut client);
    let [ClientEvent::Open(open)] = &evs[..] else {
        panic!("{evs:?}")
    };
    assert_eq!(open.sid, "lv_VI97HAXpY6yYWAAAC");
    assert_eq!(open.ping_interval, ms(300));
    assert_eq!(drain(&mut client), [ClientTransmit::Poll]);
    assert_eq!(client.poll_timeout(), Some(now + ms(500)));
}

#[test]
fn answers_a_ping_with_a_pong_reports_it_and_pushes_its_ping_timeout_back() {
    let now = origin();
    let mut client = opened_polling_client(ClientConfig::default().upgrade(false), now);
    drain(&mut client);
    events(&mut client);
    client.handle_poll_response(Bytes::from_static(b"2"), now + ms(300));
    assert_eq!(events(&mut client), [ClientEvent::Ping]);
    assert_eq!(
        drain(&mut client),
        [
            ClientTransmit::Post(Bytes::from_static(b"3")),
            ClientTransmit::Poll
        ]
    );
    assert_eq!(client.poll_timeout(), Some(now + ms(800)));
}

#[test]
fn closes_with_ping_timeout_when_the_server_stops_pinging() {
    let now = origin();
    let mut client = opened_polling_client(ClientConfig::default().upgrade(false), now);
    events(&mut client);
    client.handle_timeout(now + ms(499));
    assert!(events(&mut client).is_empty());
    client.handle_timeout(now + ms(500));
    assert_eq!(
        events(&mut client),
        [ClientEvent::Closed(ClientCloseReason::PingTimeout)]
    );
}

#[test]
fn rejects_a_first_packet_that_is_not_the_handshake() {
    let now = origin();
    let mut client = ClientSession::new(ClientConfig::default(), now);
    drain(&mut client);
    client.handle_poll_response(Bytes::from_static(b"4hello"), now);
    let evs = events(&mut client);
    assert!(
        matches!(
            &evs[..],
            [ClientEvent::Closed(ClientCloseReason::TransportError(_))]
        ),
        "{evs:?}"
    );
}

#[test]
fn bounds_each_post_by_the_servers_max_payload() {
    let now = origin();
    let mut client = opened_polling_client(ClientConfig::default().upgrade(false), now);
    drain(&mut client);
    for text in ["aaaaaaaa", "bbbbbbbb", "cccccccc", "dddddddd"] {
        client.send(Data::Text(text.into())).unwrap();
    }
    // The first send leaves at once; the rest wait for the POST to be answered.
    assert_eq!(
        drain(&mut client),
        [ClientTransmit::Post(Bytes::from_static(b"4aaaaaaaa"))]
    );
    client.handle_post_response(true, now);
    // maxPayload is 20: "4bbbbbbbb" (9) + separator + "4cccccccc" (9) = 19 fits, a third does not.
    assert_eq!(
        drain(&mut client),
        [ClientTransmit::Post(Bytes::from_static(
            b"4bbbbbbbb\x1e4cccccccc"
        ))]
    );
    client.handle_post_response(true, now);
    assert_eq!(
        drain(&mut client),
        [ClientTransmit::Post(Bytes::from_static(b"4dddddddd"))]
    );
}

#[test]
fn is_writable_only_when_open_and_no_post_is_in_flight() {
    let now = origin();
    let mut client = ClientSession::new(ClientConfig::default().upgrade(false), now);
    assert!(!client.is_writable(), "not before the handshake");
    drain(&mut client);
    client.handle_poll_response(Bytes::from_static(OPEN_POLLING), now);
    drain(&mut client);
    assert!(client.is_writable());
    client.send(Data::Text("a".into())).unwrap();
    assert!(!client.is_writable(), "a POST is in flight");
    client.handle_post_response(true, now);
    assert!(client.is_writable());
    client.close(now);
    assert!(!client.is_writable());
}

#[test]
fn a_close_packet_from_the_server_closes_with_transport_close() {
    let now = origin();
    let mut client = opened_polling_client(ClientConfig::default().upgrade(false), now);
    events(&mut client);
    client.handle_poll_response(Bytes::from_static(b"6\x1e1"), now);
    assert_eq!(
        events(&mut client),
        [ClientEvent::Closed(ClientCloseReason::TransportClose)]
    );
    assert_eq!(
        ClientCloseReason::TransportClose.as_str(),
        "transport close"
    );
}

#[test]
fn upgrades_by_probing_then_pausing_polling_then_sending_upgrade() {
    let now = origin();
    let mut client = opened_polling_client(ClientConfig::default(), now);
    assert_eq!(
        drain(&mut client),
        [ClientTransmit::OpenWebSocket, ClientTransmit::Poll]
    );
    client.handle_ws_open(now);
    assert_eq!(
        drain(&mut client),
        [ClientTransmit::WebSocket(WsMessage::Text("2probe".into()))]
    );
    client.send(Data::Text("during".into())).unwrap();
    assert_eq!(
        drain(&mut client),
        [ClientTransmit::Post(Bytes::from_static(b"4during"))]
    );
    client.handle_ws_message(WsMessage::Text("3probe".into()), now);
    // Paused: the GET and the POST in flight must finish before `5`.
    assert!(drain(&mut client).is_empty());
    client.handle_poll_response(Bytes::from_static(b"6"), now);
    assert!(drain(&mut client).is_empty(), "no new poll while paused");
    client.handle_post_response(true, now);
    assert_eq!(
        drain(&mut client),
        [ClientTransmit::WebSocket(WsMessage::Text("5".into()))]
    );
    assert_eq!(client.transport(), TransportKind::WebSocket);
    client
        .send(Data::Binary(Bytes::from_static(&[1, 2])))
        .unwrap();
    assert_eq!(
        drain(&mut client),
        [ClientTransmit::WebSocket(WsMessage::Binary(
            Bytes::from_static(&[1, 2])
        ))]
    );
    let evs = events(&mut client);
    assert!(evs.ends_with(&[ClientEvent::Upgrading, ClientEvent::Upgraded]));
}

#[test]
fn a_bad_probe_answer_fails_the_upgrade_and_polling_goes_on() {
    let now = origin();
    let mut client = opened_polling_client(ClientConfig::default(), now);
    drain(&mut client);
    client.handle_ws_open(now);
    drain(&mut client);
    client.handle_ws_message(WsMessage::Text("4nope".into()), now);
    assert_eq!(drain(&mut client), [ClientTransmit::CloseWebSocket]);
    assert!(events(&mut client).contains(&ClientEvent::UpgradeFailed));
    assert_eq!(client.transport(), TransportKind::Polling);
}

#[test]
fn a_forced_close_over_polling_posts_the_close_packet() {
    let now = origin();
    let mut client = opened_polling_client(ClientConfig::default().upgrade(false), now);
    drain(&mut client);
    client.send(Data::Text("last".into())).unwrap();
    drain(&mut client);
    client.send(Data::Text("after".into())).unwrap();
    client.close(now);
    assert!(drain(&mut client).is_empty(), "one POST at a time");
    client.handle_post_response(true, now);
    assert_eq!(
        drain(&mut client),
        [ClientTransmit::Post(Bytes::from_static(b"4after\x1e1"))]
    );
    assert!(events(&mut client).contains(&ClientEvent::Closed(ClientCloseReason::ForcedClose)));
}

/// A client session and a server session joined by an in-memory wire.
struct Pair {
    now: Instant,
    client: ClientSession,
    server: Option<ServerSession>,
    server_config: ServerConfig,
    next_id: u64,
    pending_get: Option<RequestId>,
    ws: Option<WsId>,
    server_received: Vec<Data>,
    client_received: Vec<Data>,
    client_events: Vec<ClientEvent>,
    server_events: Vec<Event>,
}

impl Pair {
    fn new(client: ClientConfig) -> Self {
        let now = origin();
        let mut server_config = ServerConfig::default();
        server_config.ping_interval(ms(300)).ping_timeout(ms(200));
        Self {
            now,
            client: ClientSession::new(client, now),
            server: None,
            server_config,
            next_id: 0,
            pending_get: None,
            ws: None,
            server_received: Vec::new(),
            client_received: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Moves everything in flight until both sides are quiet.
    fn drive(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.client.poll_transmit() {
                progressed = true;
                self.client_to_server(t);
            }
            while let Some(e) = self.client.poll_event() {
                progressed = true;
                match e {
                    ClientEvent::Message(d) => self.client_received.push(d),
                    other => self.client_events.push(other),
                }
            }
            if let Some(server) = &mut self.server {
                let transmits: Vec<_> = std::iter::from_fn(|| server.poll_transmit()).collect();
                let evs: Vec<_> = std::iter::from_fn(|| server.poll_event()).collect();
                progressed |= !transmits.is_empty() || !evs.is_empty();
                for t in transmits {
                    self.server_to_client(t);
                }
                for e in evs {
                    match e {
                        Event::Message(d) => self.server_received.push(d),
                        other => self.server_events.push(other),
                    }
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn client_to_server(&mut self, t: ClientTransmit) {
        let now = self.now;
        let id = self.id();
        match t {
            ClientTransmit::Poll => {
                self.pending_get = Some(RequestId(id));
                match &mut self.server {
                    None => {
                        let sid = SidGenerator::from_seed([9; 32]).generate();
                        self.server = Some(ServerSession::new_polling(
                            sid,
                            self.server_config.clone(),
                            RequestId(id),
                            now,
                        ));
                    }
                    Some(server) => server.handle_poll(RequestId(id), now),
                }
            }
            ClientTransmit::Post(body) => {
                let server = self.server.as_mut().expect("session exists");
                let req = RequestId(id);
                if let PostAction::ReadBody { .. } = server.handle_post(req, false, now) {
                    server.handle_post_body(req, body, now);
                }
            }
            ClientTransmit::OpenWebSocket => {
                let ws = WsId(id);
                self.ws = Some(ws);
                match &mut self.server {
                    None => {
                        let sid = SidGenerator::from_seed([9; 32]).generate();
                        self.server = Some(ServerSession::new_websocket(
                            sid,
                            self.server_config.clone(),
                            ws,
                            true,
                            now,
                        ));
                    }
                    Some(server) => server.handle_ws_open(ws, true, now),
                }
                self.client.handle_ws_open(now);
            }
            ClientTransmit::WebSocket(msg) => {
                let ws = self.ws.expect("a websocket is open");
                self.server
                    .as_mut()
                    .unwrap()
                    .handle_ws_message(ws, msg, now);
            }
            ClientTransmit::CloseWebSocket => {
                if let Some(ws) = self.ws.take() {
                    self.server.as_mut().unwrap().handle_ws_closed(ws, now);
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    fn server_to_client(&mut self, t: Transmit) {
        let now = self.now;
        match t {
            Transmit::Http { req, response } => match response {
                HttpResponse::Payload(body) if Some(req) == self.pending_get => {
                    self.pending_get = None;
                    self.client.handle_poll_response(body, now);
                }
                HttpResponse::Ok => self.client.handle_post_response(true, now),
                other => panic!("unexpected answer {other:?} to {req:?}"),
            },
            Transmit::WebSocket { ws, msg } if Some(ws) == self.ws => {
                self.client.handle_ws_message(msg, now);
            }
            Transmit::CloseWebSocket { ws, .. } if Some(ws) == self.ws => {
                self.ws = None;
                self.client.handle_ws_closed(now);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Runs both sides' timers up to `now + ms`.
    fn advance(&mut self, ms_: u64) {
        let target = self.now + ms(ms_);
        loop {
            let next = [
                self.client.poll_timeout(),
                self.server.as_ref().and_then(ServerSession::poll_timeout),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    self.client.handle_timeout(self.now);
                    if let Some(s) = &mut self.server {
                        s.handle_timeout(self.now);
                    }
                    self.drive();
                }
                _ => break,
            }
        }
        self.now = target;
    }
}

#[test]
fn a_client_and_a_server_upgrade_and_keep_every_message_in_order() {
    let mut pair = Pair::new(ClientConfig::default());
    pair.drive();
    let mut sent_by_client = Vec::new();
    let mut sent_by_server = Vec::new();
    for i in 0..40u8 {
        let c = Data::Text(format!("c{i}").into());
        pair.client.send(c.clone()).unwrap();
        sent_by_client.push(c);
        let s = Data::Binary(Bytes::from(vec![i; usize::from(i)]));
        pair.server.as_mut().unwrap().send(s.clone()).unwrap();
        sent_by_server.push(s);
        pair.drive();
        pair.advance(40);
    }
    assert_eq!(pair.client.transport(), TransportKind::WebSocket);
    assert_eq!(
        pair.server.as_ref().unwrap().transport(),
        TransportKind::WebSocket
    );
    assert!(pair.server_events.contains(&Event::Upgraded));
    assert_eq!(pair.server_received, sent_by_client);
    assert_eq!(pair.client_received, sent_by_server);
    // 1.6 s of heartbeats went by without a timeout on either side.
    assert!(pair.client.is_open());
    assert!(!pair.server.as_ref().unwrap().is_closed());
}

#[test]
fn a_websocket_only_client_opens_directly_on_websocket() {
    let config = ClientConfig::default().transports(Transports::WEBSOCKET);
    let mut pair = Pair::new(config);
    pair.drive();
    pair.client.send(Data::Text("hi".into())).unwrap();
    pair.drive();
    pair.advance(2000);
    assert_eq!(pair.server_received, [Data::Text("hi".into())]);
    assert!(pair.client.is_open());
    assert!(pair.client.is_writable(), "a WebSocket is always writable");
    assert_eq!(pair.client.handshake().unwrap().upgrades.len(), 0);
}

#[test]
fn a_server_close_reaches_the_client_over_polling() {
    let mut pair = Pair::new(ClientConfig::default().upgrade(false));
    pair.drive();
    pair.server.as_mut().unwrap().close(pair.now);
    pair.drive();
    assert!(
        pair.client_events
            .contains(&ClientEvent::Closed(ClientCloseReason::TransportClose))
    );
}

#[test]
fn queues_every_transmit_in_a_bounded_way_while_the_server_is_unreachable() {
    // Without answers from the server, the client never issues a second GET or POST.
    let now = origin();
    let mut client = opened_polling_client(ClientConfig::default().upgrade(false), now);
    drain(&mut client);
    for _ in 0..100 {
        client.send(Data::Text("x".into())).unwrap();
    }
    let transmits: VecDeque<_> = drain(&mut client).into();
    assert_eq!(transmits.len(), 1, "one POST in flight");
    assert_eq!(client.buffered_packets(), 99);
}
