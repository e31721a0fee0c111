//! The client endpoint against the server endpoint (`socketio_proto::endpoint::server`),
//! joined by an in-memory wire on a virtual clock: no sockets, no sleeps (quinn's `Pair`
//! style). The whole stack of both sides, in one process.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use engineio_proto::{
    ClientTransmit, Frame, HttpResponse, PostAction, RequestId, ServerConfig, ServerSession,
    SidGenerator, Transmit as EioTransmit, TransportKind, WsId,
};
use serde_json::{Value, json};
use socketio_proto::args::{AckData, EventData};
use socketio_proto::endpoint::client::{
    AckHandle, AckMode, AckOutcome, Auth, ClientEndpoint, ClientEndpointConfig, CloseReason,
    ConnectError, ConnectionId, DisconnectReason, EmitError, EmitOptions, Event, ManagerEvent,
    OpenError, SocketEvent, TransportMode,
};
use socketio_proto::endpoint::server::{Delivery, ServerEndpoint};
use socketio_proto::server;
use socketio_proto::{AckId, EngineMessage, Namespace, ParserKind, Payload};

/// Where the virtual clock starts: any instant will do, time only moves by `advance`.
#[allow(clippy::disallowed_methods)]
fn epoch() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn nsp(name: &str) -> Namespace {
    Namespace::new(name.to_owned()).unwrap()
}

fn event(name: &str, args: Value) -> Payload {
    event_with(ParserKind::Default, name, args)
}

fn event_with(parser: ParserKind, name: &str, args: Value) -> Payload {
    Payload::new(parser, &EventData { name, args: &args }).unwrap()
}

/// The server side of one Engine.IO connection.
struct Server {
    /// The client's id for this connection.
    conn: ConnectionId,
    ep: ServerEndpoint,
    ws: Option<WsId>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Request {
    Get,
    Post,
}

/// What the test server does with a CONNECT.
#[derive(Clone, Debug)]
enum Admission {
    Accept,
    Reject,
    /// Answer by hand, as a server with connection state recovery: replay these events
    /// (with offsets) and reply with this pid.
    Recover {
        pid: &'static str,
        replay: Vec<&'static str>,
        recovered: bool,
    },
}

struct Pair {
    now: Instant,
    start: Instant,
    client: ClientEndpoint,
    server: Option<Server>,
    servers_opened: u8,
    next_id: u64,
    requests: BTreeMap<RequestId, (ConnectionId, Request)>,
    /// While set, new connections fail (the server is unreachable).
    refuse: bool,
    /// While set, the server never answers the handshake.
    mute: bool,
    admission: BTreeMap<Namespace, Admission>,
    /// Each deferred auth asked for is answered with `{"n": count}`.
    auth_calls: u64,
    /// (time since start, event)
    events: Vec<(Duration, Event)>,
    /// What the server application saw: (namespace, event) for events, and CONNECT auths.
    server_events: Vec<server::Event>,
    connect_auths: Vec<(Namespace, Option<Value>)>,
    parser: ParserKind,
}

impl Pair {
    fn new(config: ClientEndpointConfig) -> Self {
        let now = epoch();
        let parser = config.parser;
        Self {
            now,
            start: now,
            client: ClientEndpoint::new(config, || 0.25),
            server: None,
            servers_opened: 0,
            next_id: 0,
            requests: BTreeMap::new(),
            refuse: false,
            mute: false,
            admission: BTreeMap::new(),
            auth_calls: 0,
            events: Vec::new(),
            server_events: Vec::new(),
            connect_auths: Vec::new(),
            parser,
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Moves everything in flight until both sides are quiet.
    fn drive(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.client.poll_transmit() {
                progressed = true;
                self.client_to_server(t.connection, t.sid.is_some(), t.action);
            }
            while let Some(e) = self.client.poll_event() {
                progressed = true;
                if let Event::AuthNeeded { nsp, request } = &e {
                    self.auth_calls += 1;
                    let auth = json!({ "n": self.auth_calls });
                    self.client.provide_auth(nsp, *request, auth, self.now);
                }
                self.events.push((self.elapsed(), e));
            }
            progressed |= self.run_server();
            if !progressed {
                break;
            }
        }
    }

    fn run_server(&mut self) -> bool {
        let now = self.now;
        let Some(server) = &mut self.server else {
            return false;
        };
        let mut progressed = false;
        let mut to_client = Vec::new();
        loop {
            let mut moved = false;
            while let Some(e) = server.ep.poll_event() {
                moved = true;
                if let server::Event::ConnectRequest { nsp, auth } = &e {
                    let auth = auth.as_ref().map(|a| a.deserialize::<Value>().unwrap());
                    self.connect_auths.push((nsp.clone(), auth));
                    match self
                        .admission
                        .get(nsp)
                        .cloned()
                        .unwrap_or(Admission::Accept)
                    {
                        Admission::Accept => {
                            server.ep.accept(nsp, now).unwrap();
                        }
                        Admission::Reject => {
                            let data = json!({"retry": false});
                            server
                                .ep
                                .reject(nsp, "not authorized", Some(&data), now)
                                .unwrap();
                        }
                        Admission::Recover {
                            pid,
                            replay,
                            recovered,
                        } => {
                            // Hand-written packets: the endpoint has no session store.
                            let prefix = if nsp.as_str() == "/" {
                                String::new()
                            } else {
                                format!("{},", nsp.as_str())
                            };
                            let replayed: Vec<Frame> = replay
                                .iter()
                                .enumerate()
                                .map(|(i, ev)| {
                                    let text = format!("2{prefix}[\"{ev}\",{i},\"off-{ev}\"]");
                                    EngineMessage::from(text).into()
                                })
                                .collect();
                            let sid = if recovered { "same-sid" } else { "new-sid" };
                            let reply = format!("0{prefix}{{\"sid\":\"{sid}\",\"pid\":\"{pid}\"}}");
                            let reply: Frame = EngineMessage::from(reply).into();
                            let mut send = |frames: &[Frame]| {
                                let sent = server.ep.send_frames(frames, false, now);
                                assert_eq!(sent, Delivery::Queued);
                            };
                            if recovered {
                                send(&replayed);
                            }
                            send(&[reply]);
                            if !recovered {
                                send(&replayed);
                            }
                        }
                    }
                }
                self.server_events.push(e);
            }
            while let Some(t) = server.ep.poll_transmit() {
                moved = true;
                to_client.push(t);
            }
            if !moved {
                break;
            }
            progressed = true;
        }
        let conn = server.conn;
        let ws = server.ws;
        for t in to_client {
            self.server_to_client(conn, ws, t);
        }
        progressed
    }

    fn client_to_server(&mut self, conn: ConnectionId, has_sid: bool, action: ClientTransmit) {
        let now = self.now;
        let id = self.id();
        let current = self.server.as_ref().is_some_and(|s| s.conn == conn);
        match action {
            ClientTransmit::Poll if !has_sid => {
                if self.refuse {
                    return self.client.handle_poll_error(conn, now);
                }
                if self.mute {
                    return;
                }
                self.requests.insert(RequestId(id), (conn, Request::Get));
                let engine =
                    ServerSession::new_polling(self.sid(), server_config(), RequestId(id), now);
                self.open_server(conn, engine, None);
            }
            ClientTransmit::OpenWebSocket if !has_sid => {
                if self.refuse {
                    return self.client.handle_ws_error(conn, now);
                }
                let ws = WsId(id);
                let engine =
                    ServerSession::new_websocket(self.sid(), server_config(), ws, true, now);
                self.open_server(conn, engine, Some(ws));
                self.client.handle_ws_open(conn, now);
            }
            ClientTransmit::Poll if current => {
                self.requests.insert(RequestId(id), (conn, Request::Get));
                self.server_mut().ep.handle_poll(RequestId(id), now);
            }
            ClientTransmit::Post(body) if current => {
                self.requests.insert(RequestId(id), (conn, Request::Post));
                let ep = &mut self.server_mut().ep;
                if let PostAction::ReadBody { .. } = ep.handle_post(RequestId(id), false, now) {
                    ep.handle_post_body(RequestId(id), body, now);
                }
            }
            ClientTransmit::OpenWebSocket if current => {
                let ws = WsId(id);
                let server = self.server_mut();
                server.ws = Some(ws);
                server.ep.handle_ws_open(ws, true, now);
                self.client.handle_ws_open(conn, now);
            }
            ClientTransmit::WebSocket(msg) if current => {
                let server = self.server_mut();
                let ws = server.ws.expect("a websocket is open");
                server.ep.handle_ws_message(ws, msg, now);
            }
            ClientTransmit::CloseWebSocket if current => {
                let server = self.server_mut();
                if let Some(ws) = server.ws.take() {
                    server.ep.handle_ws_closed(ws, now);
                }
            }
            // A connection the server no longer has: a POST fails, the rest is lost.
            ClientTransmit::Post(_) => self.client.handle_post_response(conn, false, now),
            other => {
                let _ = other;
            }
        }
    }

    fn server_to_client(&mut self, conn: ConnectionId, ws: Option<WsId>, t: EioTransmit) {
        let now = self.now;
        match t {
            EioTransmit::Http { req, response } => {
                let Some((conn, kind)) = self.requests.remove(&req) else {
                    return;
                };
                match (kind, response) {
                    (Request::Get, HttpResponse::Payload(body)) => {
                        self.client.handle_poll_response(conn, body, now);
                    }
                    (Request::Get, _) => self.client.handle_poll_error(conn, now),
                    (Request::Post, HttpResponse::Ok) => {
                        self.client.handle_post_response(conn, true, now);
                    }
                    (Request::Post, _) => self.client.handle_post_response(conn, false, now),
                }
            }
            EioTransmit::WebSocket { ws: w, msg } if Some(w) == ws || ws.is_none() => {
                self.client.handle_ws_message(conn, msg, now);
            }
            EioTransmit::CloseWebSocket { ws: w, .. } if Some(w) == ws => {
                if let Some(s) = &mut self.server {
                    s.ws = None;
                }
                self.client.handle_ws_closed(conn, now);
            }
            EioTransmit::WebSocket { .. } | EioTransmit::CloseWebSocket { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    fn sid(&mut self) -> engineio_proto::Sid {
        self.servers_opened += 1;
        SidGenerator::from_seed([self.servers_opened; 32]).generate()
    }

    fn open_server(&mut self, conn: ConnectionId, engine: ServerSession, ws: Option<WsId>) {
        let ep = ServerEndpoint::new(
            engine,
            server::ServerConfig::default().parser(self.parser),
            [self.servers_opened; 32],
            self.now,
        );
        self.server = Some(Server { conn, ep, ws });
    }

    fn server_mut(&mut self) -> &mut Server {
        self.server.as_mut().expect("a server session")
    }

    /// The network drops: the server forgets the session, the client's requests in flight
    /// fail, and new connections are refused until `refuse` is cleared.
    fn lose_transport(&mut self) {
        let now = self.now;
        self.refuse = true;
        let Some(server) = self.server.take() else {
            return;
        };
        let conn = server.conn;
        if server.ws.is_some() && server.ep.session().transport() == TransportKind::WebSocket {
            self.client.handle_ws_error(conn, now);
        } else {
            let gets: Vec<RequestId> = self
                .requests
                .iter()
                .filter(|(_, (c, k))| *c == conn && *k == Request::Get)
                .map(|(r, _)| *r)
                .collect();
            for r in gets {
                self.requests.remove(&r);
                self.client.handle_poll_error(conn, now);
            }
        }
        self.drive();
    }

    /// Runs both sides' timers up to `now + by`.
    fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        loop {
            let next = [
                self.client.poll_timeout(),
                self.server.as_ref().and_then(|s| s.ep.poll_timeout()),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    let now = self.now;
                    self.client.handle_timeout(now);
                    if let Some(s) = &mut self.server {
                        s.ep.handle_timeout(now);
                    }
                    self.drive();
                    let next = self.client.poll_timeout();
                    assert!(next.is_none_or(|t| t > now), "poll_timeout must move on");
                }
                _ => break,
            }
        }
        self.now = target;
        self.drive();
    }

    // ---- commands and observations ----

    fn connect(&mut self, name: &str, auth: Auth) {
        self.client.connect(&nsp(name), auth, self.now);
        self.drive();
    }

    fn emit(
        &mut self,
        name: &str,
        ev: &str,
        args: Value,
        options: EmitOptions,
    ) -> Option<AckHandle> {
        let handle = self
            .client
            .emit(
                &nsp(name),
                event_with(self.parser, ev, args),
                options,
                self.now,
            )
            .unwrap();
        self.drive();
        handle
    }

    /// Events of the Manager, in order.
    fn manager_events(&self) -> Vec<ManagerEvent> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Manager(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    /// Events of the socket `name`, in order.
    fn socket_events(&self, name: &str) -> Vec<SocketEvent> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Socket { nsp, event } if nsp.as_str() == name => Some(event.clone()),
                _ => None,
            })
            .collect()
    }

    fn ack_outcomes(&self) -> Vec<(AckHandle, AckOutcome)> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Socket {
                    event: SocketEvent::Ack { handle, outcome },
                    ..
                } => Some((*handle, outcome.clone())),
                _ => None,
            })
            .collect()
    }

    /// What the server application received: (namespace, event name, first argument, ack).
    fn received(&self) -> Vec<(String, String, Value, Option<AckId>)> {
        self.server_events
            .iter()
            .filter_map(|e| match e {
                server::Event::Event { nsp, data, ack } => {
                    let args: Vec<Value> = data.deserialize().unwrap();
                    let name = args[0].as_str().unwrap().to_owned();
                    let first = args.get(1).cloned().unwrap_or(Value::Null);
                    Some((nsp.as_str().to_owned(), name, first, *ack))
                }
                _ => None,
            })
            .collect()
    }

    fn received_names(&self) -> Vec<String> {
        self.received().into_iter().map(|(_, n, _, _)| n).collect()
    }

    /// Times (since start) of the `reconnect_attempt` events.
    fn attempt_times(&self) -> Vec<u64> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                Event::Manager(ManagerEvent::ReconnectAttempt(_)) => Some(t.as_millis() as u64),
                _ => None,
            })
            .collect()
    }
}

fn server_config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.ping_interval(ms(2000)).ping_timeout(ms(1000));
    config
}

fn polling() -> ClientEndpointConfig {
    ClientEndpointConfig::default().transports(TransportMode::Polling)
}

fn is_connect(e: &SocketEvent) -> bool {
    matches!(e, SocketEvent::Connect { .. })
}

// ---- connection and namespaces ----

#[test]
fn connects_with_auth_and_reports_open_then_connect() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::Value(json!({"token": "abc"})));
    assert_eq!(p.connect_auths, [(nsp("/"), Some(json!({"token": "abc"})))]);
    assert_eq!(p.manager_events(), [ManagerEvent::Open]);
    let evs = p.socket_events("/");
    let [
        SocketEvent::Connect {
            sid,
            pid: None,
            recovered: false,
        },
    ] = &evs[..]
    else {
        panic!("{evs:?}")
    };
    assert_eq!(p.client.socket_id(&nsp("/")), Some(sid.as_str()));
    assert!(p.client.is_connected(&nsp("/")));
}

#[test]
fn multiplexes_two_namespaces_on_one_engine_io_connection() {
    let mut p = Pair::new(ClientEndpointConfig::default());
    p.connect("/", Auth::None);
    p.connect("/admin", Auth::Value(json!({"role": "admin"})));
    assert_eq!(p.servers_opened, 1, "one Engine.IO connection");
    assert!(p.client.is_connected(&nsp("/")) && p.client.is_connected(&nsp("/admin")));
    p.emit("/admin", "hello", json!(1), EmitOptions::default());
    p.emit("/", "hello", json!(2), EmitOptions::default());
    let got: Vec<(String, Value)> = p
        .received()
        .into_iter()
        .map(|(n, _, a, _)| (n, a))
        .collect();
    assert_eq!(got, [("/admin".into(), json!(1)), ("/".into(), json!(2))]);
}

#[test]
fn a_deferred_auth_is_asked_for_at_every_connect() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::Deferred);
    assert_eq!(p.connect_auths, [(nsp("/"), Some(json!({"n": 1})))]);
    p.lose_transport();
    p.refuse = false;
    p.advance(ms(1000));
    assert!(p.client.is_connected(&nsp("/")));
    assert_eq!(p.connect_auths[1], (nsp("/"), Some(json!({"n": 2}))));
}

#[test]
fn a_connect_error_from_the_server_makes_the_socket_inactive() {
    let mut p = Pair::new(polling());
    p.admission.insert(nsp("/forbidden"), Admission::Reject);
    p.connect("/forbidden", Auth::None);
    let evs = p.socket_events("/forbidden");
    assert_eq!(
        evs,
        [SocketEvent::ConnectError(ConnectError::Server {
            message: "not authorized".into(),
            data: Some(json!({"retry": false}).into()),
        })]
    );
    assert!(!p.client.is_active(&nsp("/forbidden")));
    assert_eq!(
        p.client.connection(),
        None,
        "the last active socket left: closed"
    );
}

#[test]
fn the_upgrade_moves_the_connection_to_websocket() {
    let mut p = Pair::new(ClientEndpointConfig::default());
    p.connect("/", Auth::None);
    assert_eq!(p.client.transport(), Some(TransportKind::WebSocket));
    assert_eq!(
        p.manager_events(),
        [ManagerEvent::Open, ManagerEvent::Upgrade]
    );
    p.emit("/", "after", json!(1), EmitOptions::default());
    assert_eq!(p.received_names(), ["after"]);
}

#[test]
fn remember_upgrade_opens_the_next_connection_over_websocket_until_a_transport_error() {
    let config = ClientEndpointConfig::default().remember_upgrade(true);
    let mut p = Pair::new(config);
    p.connect("/", Auth::None);
    assert_eq!(p.client.transport(), Some(TransportKind::WebSocket));
    // The server closes cleanly: the next connection starts on WebSocket.
    let now = p.now;
    p.server_mut().ep.close_session(now);
    p.drive();
    assert_eq!(
        p.socket_events("/").last(),
        Some(&SocketEvent::Disconnect(DisconnectReason::TransportClose))
    );
    p.advance(ms(1000));
    assert!(p.client.is_connected(&nsp("/")));
    assert_eq!(p.client.transport(), Some(TransportKind::WebSocket));
    assert!(
        !p.manager_events().ends_with(&[ManagerEvent::Upgrade]),
        "no upgrade needed"
    );
    // A transport error forgets it: polling first again.
    p.lose_transport();
    p.refuse = false;
    p.advance(ms(1000));
    assert!(p.client.is_connected(&nsp("/")));
    assert_eq!(p.manager_events().last(), Some(&ManagerEvent::Upgrade));
}

#[test]
fn the_open_timeout_fails_the_connection_with_timeout() {
    let mut p = Pair::new(polling().reconnection(false));
    p.mute = true;
    p.connect("/", Auth::None);
    p.advance(ms(19_999));
    assert!(p.manager_events().is_empty());
    p.advance(ms(1));
    assert_eq!(
        p.manager_events(),
        [ManagerEvent::Error(OpenError::Timeout)]
    );
    assert_eq!(
        p.socket_events("/"),
        [SocketEvent::ConnectError(ConnectError::Open(
            OpenError::Timeout
        ))]
    );
    assert_eq!(ConnectError::Open(OpenError::Timeout).message(), "timeout");
}

// ---- acks ----

#[test]
fn an_ack_is_answered_with_the_servers_arguments() {
    let mut p = Pair::new(ClientEndpointConfig::default());
    p.connect("/", Auth::None);
    let h = p.emit(
        "/",
        "q",
        json!(1),
        EmitOptions::with_ack(AckMode::Deadline(ms(500))),
    );
    let (_, _, _, id) = p.received()[0].clone();
    let now = p.now;
    p.server_mut()
        .ep
        .ack(&nsp("/"), id.unwrap(), &("yes",), now)
        .unwrap();
    p.drive();
    let outcomes = p.ack_outcomes();
    let [(got, AckOutcome::Answered(answer))] = &outcomes[..] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(*got, h.unwrap());
    assert_eq!(answer.deserialize::<Value>().unwrap(), json!(["yes"]));
    p.advance(ms(1000));
    assert_eq!(p.ack_outcomes().len(), 1, "answered once, never timed out");
}

#[test]
fn an_ack_with_a_deadline_times_out_and_one_without_never_does() {
    let mut p = Pair::new(ClientEndpointConfig::default());
    p.connect("/", Auth::None);
    let timed = p.emit(
        "/",
        "q",
        json!(1),
        EmitOptions::with_ack(AckMode::Deadline(ms(500))),
    );
    let open = p.emit(
        "/",
        "q",
        json!(2),
        EmitOptions::with_ack(AckMode::NoDeadline),
    );
    p.advance(ms(499));
    assert!(p.ack_outcomes().is_empty());
    p.advance(ms(1));
    assert_eq!(p.ack_outcomes(), [(timed.unwrap(), AckOutcome::TimedOut)]);
    p.advance(ms(60_000));
    assert_eq!(p.ack_outcomes().len(), 1, "no deadline, no timeout");
    // A late answer to the timed-out ack is ignored; the other is still answered.
    for (_, _, _, id) in p.received() {
        let now = p.now;
        p.server_mut()
            .ep
            .ack(&nsp("/"), id.unwrap(), &("late",), now)
            .unwrap();
    }
    p.drive();
    let outcomes = p.ack_outcomes();
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[1].0, open.unwrap());
    assert!(matches!(outcomes[1].1, AckOutcome::Answered(_)));
}

#[test]
fn acks_in_flight_are_cancelled_when_the_connection_is_lost() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    let h = p.emit(
        "/",
        "q",
        json!(1),
        EmitOptions::with_ack(AckMode::NoDeadline),
    );
    p.lose_transport();
    assert_eq!(p.ack_outcomes(), [(h.unwrap(), AckOutcome::Cancelled)]);
}

#[test]
fn the_client_answers_an_ack_the_server_asked_for() {
    let mut p = Pair::new(ClientEndpointConfig::default());
    p.connect("/", Auth::None);
    let now = p.now;
    let deadline = server::AckDeadline::after(now, Some(ms(1000)));
    let id = Some(
        p.server_mut()
            .ep
            .emit_with_ack(&nsp("/"), &("ask", 7), deadline, now)
            .unwrap(),
    );
    p.drive();
    let evs = p.socket_events("/");
    let Some(SocketEvent::Event { ack: Some(ack), .. }) = evs.last() else {
        panic!("{evs:?}")
    };
    let payload = Payload::new(ParserKind::Default, &AckData(&("answer",))).unwrap();
    p.client.ack(&nsp("/"), *ack, payload, p.now);
    p.drive();
    let answered = p
        .server_events
        .iter()
        .any(|e| matches!(e, server::Event::Ack { id: got, .. } if Some(*got) == id));
    assert!(answered, "{:?}", p.server_events);
}

// ---- reconnection ----

#[test]
fn a_transport_loss_disconnects_and_follows_the_backoff_schedule() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    p.lose_transport();
    assert_eq!(
        p.socket_events("/").last(),
        Some(&SocketEvent::Disconnect(DisconnectReason::TransportError))
    );
    assert_eq!(
        p.manager_events().last(),
        Some(&ManagerEvent::Close(CloseReason::TransportError))
    );
    p.advance(ms(30_000));
    // rand 0.25 with the defaults: 875, 1750, 3500, 5000, 5000, … after each failure.
    let times = p.attempt_times();
    let gaps: Vec<u64> = std::iter::once(times[0])
        .chain(times.windows(2).map(|w| w[1] - w[0]))
        .take(5)
        .collect();
    assert_eq!(gaps, [875, 1750, 3500, 5000, 5000]);
    let attempts: Vec<u32> = p
        .manager_events()
        .iter()
        .filter_map(|e| match e {
            ManagerEvent::ReconnectAttempt(n) => Some(*n),
            _ => None,
        })
        .take(3)
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
}

#[test]
fn the_setters_at_run_time_change_the_next_delays_and_keep_the_attempts_made() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    p.lose_transport();
    // Attempt 1 at 875 ms fails; then the delays shrink and the attempts are capped.
    p.advance(ms(875));
    p.client.reconfigure(|c| {
        c.reconnection_delay = ms(100);
        c.reconnection_delay_max = ms(100);
        c.reconnection_attempts = Some(3);
    });
    p.advance(ms(10_000));
    let times = p.attempt_times();
    // Attempt 2 was scheduled before the change (1750 ms later); attempt 3 uses the new
    // delays (the third delay, 400 ms less its jitter, capped at 100 ms), and it is the last
    // of three: the attempts made before the change count.
    assert_eq!(times, [875, 875 + 1750, 875 + 1750 + 100]);
    assert!(p.manager_events().contains(&ManagerEvent::ReconnectFailed));
}

#[test]
fn turning_reconnection_off_at_run_time_cancels_the_waiting_attempt() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    p.lose_transport();
    p.client.reconfigure(|c| c.reconnection = false);
    p.advance(ms(60_000));
    assert_eq!(p.attempt_times(), Vec::<u64>::new());
    assert!(!p.client.is_connected(&nsp("/")));
}

#[test]
fn an_observed_endpoint_reports_every_packet_decoded_before_the_sockets_see_it() {
    let mut p = Pair::new(polling());
    p.client.observe_packets(true);
    p.connect("/", Auth::None);
    let packets: Vec<String> = p
        .manager_events()
        .iter()
        .filter_map(|e| match e {
            ManagerEvent::Packet(packet) => Some(format!("{:?} {}", packet.kind, packet.nsp)),
            _ => None,
        })
        .collect();
    assert_eq!(packets, ["Connect /"]);
}

#[test]
fn a_reconnection_rejoins_the_namespaces_and_reports_reconnect() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    p.connect("/admin", Auth::None);
    p.lose_transport();
    p.advance(ms(875));
    assert!(matches!(
        p.manager_events().last(),
        Some(ManagerEvent::ReconnectError(OpenError::Transport(_)))
    ));
    p.refuse = false;
    p.advance(ms(1750));
    assert!(p.manager_events().ends_with(&[
        ManagerEvent::ReconnectAttempt(2),
        ManagerEvent::Open,
        ManagerEvent::Reconnect(2),
    ]));
    assert!(p.client.is_connected(&nsp("/")) && p.client.is_connected(&nsp("/admin")));
    assert_eq!(
        p.socket_events("/admin")
            .iter()
            .filter(|e| is_connect(e))
            .count(),
        2
    );
}

#[test]
fn a_new_auth_is_sent_from_the_next_reconnection_on() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::Value(json!({"v": 1})));
    p.client.set_auth(&nsp("/"), Auth::Value(json!({"v": 2})));
    p.drive();
    assert!(
        p.client.is_connected(&nsp("/")),
        "nothing changes until then"
    );
    assert_eq!(p.connect_auths.len(), 1);
    p.lose_transport();
    p.refuse = false;
    p.advance(ms(875));
    assert!(p.client.is_connected(&nsp("/")));
    assert_eq!(
        p.connect_auths,
        [
            (nsp("/"), Some(json!({"v": 1}))),
            (nsp("/"), Some(json!({"v": 2})))
        ]
    );
}

#[test]
fn reconnect_failed_comes_after_the_last_attempt() {
    let mut p = Pair::new(polling().reconnection_attempts(Some(2)));
    p.connect("/", Auth::None);
    p.lose_transport();
    p.advance(ms(60_000));
    let tail: Vec<ManagerEvent> = p
        .manager_events()
        .into_iter()
        .filter(|e| !matches!(e, ManagerEvent::Error(_)))
        .collect();
    assert!(
        matches!(
            &tail[..],
            [
                ManagerEvent::Open,
                ManagerEvent::Close(CloseReason::TransportError),
                ManagerEvent::ReconnectAttempt(1),
                ManagerEvent::ReconnectError(_),
                ManagerEvent::ReconnectAttempt(2),
                // socket.io-client's order: `reconnect()` gives up before `reconnect_error`.
                ManagerEvent::ReconnectFailed,
                ManagerEvent::ReconnectError(_),
            ]
        ),
        "{tail:?}"
    );
    assert_eq!(p.client.poll_timeout(), None, "nothing scheduled any more");
}

#[test]
fn a_server_disconnect_is_not_followed_by_a_reconnection() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    let now = p.now;
    p.server_mut().ep.disconnect(&nsp("/"), now).unwrap();
    p.drive();
    assert_eq!(
        p.socket_events("/").last(),
        Some(&SocketEvent::Disconnect(
            DisconnectReason::IoServerDisconnect
        ))
    );
    assert!(!p.client.is_active(&nsp("/")));
    p.advance(ms(10_000));
    assert!(p.attempt_times().is_empty());
}

#[test]
fn a_client_disconnect_sends_disconnect_and_closes_the_idle_connection() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    p.client.disconnect(&nsp("/"), p.now);
    p.drive();
    assert_eq!(
        p.socket_events("/").last(),
        Some(&SocketEvent::Disconnect(
            DisconnectReason::IoClientDisconnect
        ))
    );
    assert!(
        p.server_events
            .iter()
            .any(|e| matches!(e, server::Event::Disconnected { .. }))
    );
    assert_eq!(
        p.manager_events().last(),
        Some(&ManagerEvent::Close(CloseReason::ForcedClose))
    );
    assert_eq!(p.client.connection(), None);
    p.advance(ms(10_000));
    assert!(p.attempt_times().is_empty());
}

// ---- offline buffer and volatile ----

#[test]
fn emits_while_disconnected_are_buffered_bounded_and_delivered_once_in_order() {
    let mut p = Pair::new(polling().max_buffered(3));
    p.connect("/", Auth::None);
    p.lose_transport();
    for n in 0..3 {
        p.emit("/", &format!("e{n}"), json!(n), EmitOptions::default());
    }
    let full = p.client.emit(
        &nsp("/"),
        event("e3", json!(3)),
        EmitOptions::default(),
        p.now,
    );
    assert!(matches!(full, Err(EmitError::BufferFull)));
    // Volatile is dropped while disconnected, not buffered.
    p.emit("/", "volatile", json!(0), EmitOptions::volatile());
    assert_eq!(p.client.buffered(&nsp("/")), 3);
    p.refuse = false;
    p.advance(ms(875));
    assert!(p.client.is_connected(&nsp("/")));
    assert_eq!(p.received_names(), ["e0", "e1", "e2"]);
    p.advance(ms(10_000));
    assert_eq!(p.received_names(), ["e0", "e1", "e2"], "once");
}

#[test]
fn a_buffered_emit_whose_ack_times_out_is_dropped() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    p.lose_transport();
    let h = p.emit(
        "/",
        "late",
        json!(0),
        EmitOptions::with_ack(AckMode::Deadline(ms(500))),
    );
    p.advance(ms(500));
    assert_eq!(p.ack_outcomes(), [(h.unwrap(), AckOutcome::TimedOut)]);
    p.refuse = false;
    p.advance(ms(875));
    assert!(p.client.is_connected(&nsp("/")));
    assert!(p.received_names().is_empty());
}

#[test]
fn a_volatile_emit_is_dropped_while_a_post_is_in_flight() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    let now = p.now;
    // Two emits before the wire moves: the first POST is in flight for the second.
    p.client
        .emit(&nsp("/"), event("a", json!(1)), EmitOptions::default(), now)
        .unwrap();
    p.client
        .emit(
            &nsp("/"),
            event("b", json!(2)),
            EmitOptions::volatile(),
            now,
        )
        .unwrap();
    p.drive();
    p.emit("/", "c", json!(3), EmitOptions::volatile());
    assert_eq!(p.received_names(), ["a", "c"]);
}

// ---- retries ----

#[test]
fn retries_resend_the_head_until_acked_in_order() {
    let config = polling().retries(2).ack_timeout(Some(ms(100)));
    let mut p = Pair::new(config);
    p.connect("/", Auth::None);
    let first = p.emit(
        "/",
        "one",
        json!(1),
        EmitOptions::with_ack(AckMode::NoDeadline),
    );
    p.emit("/", "two", json!(2), EmitOptions::default());
    assert_eq!(p.received_names(), ["one"], "one at a time");
    p.advance(ms(100));
    assert_eq!(
        p.received_names(),
        ["one", "one"],
        "sent again after ackTimeout"
    );
    let (_, _, _, id) = p.received()[1].clone();
    let now = p.now;
    p.server_mut()
        .ep
        .ack(&nsp("/"), id.unwrap(), &("ok",), now)
        .unwrap();
    p.drive();
    let outcomes = p.ack_outcomes();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].0, first.unwrap());
    assert!(matches!(outcomes[0].1, AckOutcome::Answered(_)));
    assert_eq!(p.received_names(), ["one", "one", "two"]);
}

#[test]
fn retries_give_up_after_the_last_try_with_a_timeout() {
    let config = polling().retries(2).ack_timeout(Some(ms(100)));
    let mut p = Pair::new(config);
    p.connect("/", Auth::None);
    let h = p.emit(
        "/",
        "one",
        json!(1),
        EmitOptions::with_ack(AckMode::NoDeadline),
    );
    p.emit("/", "two", json!(2), EmitOptions::default());
    p.advance(ms(300));
    assert_eq!(p.received_names(), ["one", "one", "one", "two"]);
    assert_eq!(p.ack_outcomes(), [(h.unwrap(), AckOutcome::TimedOut)]);
}

// ---- recovery ----

#[test]
fn recovery_sends_pid_and_offset_on_reconnect_and_reports_recovered() {
    let mut p = Pair::new(polling());
    p.admission.insert(
        nsp("/"),
        Admission::Recover {
            pid: "p1",
            replay: vec!["first"],
            recovered: false,
        },
    );
    p.connect("/", Auth::Value(json!({"token": "t"})));
    assert!(matches!(
        p.socket_events("/")[..],
        [
            SocketEvent::Connect {
                recovered: false,
                ..
            },
            SocketEvent::Event { .. }
        ]
    ));
    p.lose_transport();
    p.admission.insert(
        nsp("/"),
        Admission::Recover {
            pid: "p1",
            replay: vec!["missed1", "missed2"],
            recovered: true,
        },
    );
    p.refuse = false;
    p.advance(ms(875));
    assert_eq!(
        p.connect_auths.last(),
        Some(&(
            nsp("/"),
            Some(json!({"pid": "p1", "offset": "off-first", "token": "t"}))
        ))
    );
    // The replayed events come before `connect`.
    let evs = p.socket_events("/");
    let tail = &evs[evs.len() - 3..];
    assert!(matches!(tail[0], SocketEvent::Event { .. }));
    assert!(matches!(tail[1], SocketEvent::Event { .. }));
    assert_eq!(
        tail[2],
        SocketEvent::Connect {
            sid: "same-sid".into(),
            pid: Some("p1".into()),
            recovered: true
        }
    );
    assert!(p.client.is_recovered(&nsp("/")));
}

// ---- more transports and closes ----

#[test]
fn websocket_only_opens_the_connection_over_websocket() {
    let config = ClientEndpointConfig::default().transports(TransportMode::WebSocket);
    let mut p = Pair::new(config);
    p.connect("/", Auth::None);
    assert_eq!(p.client.transport(), Some(TransportKind::WebSocket));
    assert_eq!(p.manager_events(), [ManagerEvent::Open]);
    p.emit("/", "over-ws", json!(1), EmitOptions::default());
    assert_eq!(p.received_names(), ["over-ws"]);
}

#[test]
fn a_silent_server_is_detected_by_the_ping_timeout_and_reconnected() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    // The server vanishes without a word: requests in flight never complete.
    p.server = None;
    p.refuse = false;
    p.advance(ms(2999));
    assert!(p.client.is_connected(&nsp("/")));
    p.advance(ms(1));
    assert_eq!(
        p.socket_events("/").last(),
        Some(&SocketEvent::Disconnect(DisconnectReason::PingTimeout))
    );
    assert_eq!(
        p.manager_events().last(),
        Some(&ManagerEvent::Close(CloseReason::PingTimeout))
    );
    p.advance(ms(875));
    assert!(p.client.is_connected(&nsp("/")), "reconnected");
}

#[test]
fn a_packet_that_does_not_decode_closes_with_parse_error_and_reconnects() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    let now = p.now;
    let garbage: Frame = EngineMessage::from("9garbage").into();
    let sent = p.server_mut().ep.send_frames(&[garbage], false, now);
    assert_eq!(sent, Delivery::Queued);
    p.drive();
    assert_eq!(
        p.socket_events("/").last(),
        Some(&SocketEvent::Disconnect(DisconnectReason::ParseError))
    );
    assert!(
        matches!(
            &p.manager_events()[..],
            [
                ..,
                ManagerEvent::ProtocolViolation(_),
                ManagerEvent::Close(CloseReason::ParseError)
            ]
        ),
        "{:?}",
        p.manager_events()
    );
    assert!(
        p.server.as_ref().unwrap().ep.session().is_closed(),
        "close packet sent"
    );
    p.refuse = false;
    p.advance(ms(875));
    assert!(p.client.is_connected(&nsp("/")));
}

#[test]
fn a_close_during_a_post_in_flight_sends_the_close_packet_after_it() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    let (now, main) = (p.now, nsp("/"));
    let first = p.client.connection().unwrap();
    p.client
        .emit(&main, event("last", json!(1)), EmitOptions::default(), now)
        .unwrap();
    p.client.disconnect(&main, now); // the POST of "last" is still in flight
    assert_eq!(p.client.connection(), None);
    assert!(
        p.client.is_live(first),
        "its close packet is still to deliver"
    );
    p.drive();
    assert!(
        !p.client.is_live(first),
        "delivered: nothing more to do on it"
    );
    assert_eq!(p.received_names(), ["last"]);
    assert!(
        p.server_events
            .iter()
            .any(|e| matches!(e, server::Event::Disconnected { .. }))
    );
    let server = p.server.as_ref().unwrap();
    assert_eq!(server.conn, first);
    assert!(
        server.ep.session().is_closed(),
        "the close packet followed the POST"
    );
}

#[test]
fn the_retry_queue_is_delivered_at_least_once_across_a_reconnection() {
    let config = polling().retries(1).ack_timeout(Some(ms(10_000)));
    let mut p = Pair::new(config);
    p.connect("/", Auth::None);
    let h = p.emit(
        "/",
        "one",
        json!(1),
        EmitOptions::with_ack(AckMode::NoDeadline),
    );
    p.lose_transport();
    p.emit("/", "two", json!(2), EmitOptions::default());
    assert!(p.ack_outcomes().is_empty(), "the queue keeps its head");
    p.refuse = false;
    p.advance(ms(875));
    // Unanswered on the lost connection: sent again, first, on the new one.
    assert_eq!(p.received_names(), ["one", "one"]);
    let id = p
        .server_events
        .iter()
        .rev()
        .find_map(|e| match e {
            server::Event::Event { ack, .. } => *ack,
            _ => None,
        })
        .unwrap();
    let now = p.now;
    p.server_mut().ep.ack(&nsp("/"), id, &("ok",), now).unwrap();
    p.drive();
    assert!(matches!(
        &p.ack_outcomes()[..],
        [(got, AckOutcome::Answered(_))] if Some(*got) == h
    ));
    assert_eq!(p.received_names().last().map(String::as_str), Some("two"));
}

#[test]
fn the_msgpack_parser_carries_auth_events_and_acks() {
    let mut p = Pair::new(ClientEndpointConfig::default().parser(ParserKind::MsgPack));
    p.connect("/", Auth::Value(json!({"token": "m"})));
    assert_eq!(p.connect_auths, [(nsp("/"), Some(json!({"token": "m"})))]);
    let h = p.emit(
        "/",
        "q",
        json!(5),
        EmitOptions::with_ack(AckMode::NoDeadline),
    );
    let (_, name, first, id) = p.received()[0].clone();
    assert_eq!((name.as_str(), first), ("q", json!(5)));
    let now = p.now;
    p.server_mut()
        .ep
        .ack(&nsp("/"), id.unwrap(), &("ok",), now)
        .unwrap();
    p.drive();
    let outcomes = p.ack_outcomes();
    let [(got, AckOutcome::Answered(answer))] = &outcomes[..] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(Some(*got), h);
    assert_eq!(answer.deserialize::<Value>().unwrap(), json!(["ok"]));
}

#[test]
fn the_endpoint_can_move_into_a_driver_task() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<ClientEndpoint>();
    assert_send::<Event>();
}

#[test]
fn results_of_an_abandoned_connection_are_ignored() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    let old = p.client.connection().unwrap();
    p.lose_transport();
    p.refuse = false;
    p.advance(ms(875));
    let new = p.client.connection().unwrap();
    assert_ne!(old, new);
    assert!(!p.client.is_live(old) && p.client.is_live(new));
    let before = p.events.len();
    let now = p.now;
    p.client.handle_poll_error(old, now);
    p.client.handle_ws_error(old, now);
    p.client.handle_post_response(old, false, now);
    p.drive();
    assert_eq!(p.events.len(), before, "no event");
    assert!(p.client.is_connected(&nsp("/")));
}

#[test]
fn an_emit_with_a_reserved_event_name_is_refused() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    let now = p.now;
    let refused = p.client.emit(
        &nsp("/"),
        event("disconnect", json!(1)),
        EmitOptions::default(),
        now,
    );
    assert!(matches!(refused, Err(EmitError::Invalid(_))), "{refused:?}");
}

#[test]
fn an_engine_io_packet_that_does_not_decode_is_a_protocol_violation() {
    let mut p = Pair::new(polling());
    p.connect("/", Auth::None);
    let (conn, now) = (p.client.connection().unwrap(), p.now);
    p.client
        .handle_poll_response(conn, bytes::Bytes::from_static(b"x garbage"), now);
    p.drive();
    let events = p.manager_events();
    assert!(
        matches!(
            &events[..],
            [.., ManagerEvent::ProtocolViolation(detail), ManagerEvent::Close(CloseReason::TransportError)]
                if !detail.is_empty()
        ),
        "{events:?}"
    );
}
