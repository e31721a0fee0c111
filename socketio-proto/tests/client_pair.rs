//! The client machine against the server machine: two machines, an in-memory wire and a
//! virtual clock (quinn's `Pair` style), for both parsers.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use socketio_proto::client::{self, ClientConfig, ClientConnection, V2_SERVER_ERROR};
use socketio_proto::server::{self, ServerConfig, ServerConnection};
use socketio_proto::{AckId, EngineMessage, Namespace, ParserKind};

/// Where the virtual clock starts: any instant will do, time only moves by `advance`.
#[allow(clippy::disallowed_methods)]
fn epoch() -> Instant {
    Instant::now()
}

struct Pair {
    client: ClientConnection,
    server: ServerConnection,
    now: Instant,
    client_events: Vec<client::Event>,
    server_events: Vec<server::Event>,
}

impl Pair {
    fn new(parser: ParserKind) -> Self {
        let now = epoch();
        Self {
            client: ClientConnection::new(ClientConfig::default().parser(parser)),
            server: ServerConnection::new(ServerConfig::default().parser(parser), [1; 32], now),
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// Moves messages both ways until both machines are quiet; the server accepts every
    /// namespace but `/forbidden`.
    fn drive(&mut self) {
        loop {
            let mut moved = false;
            while let Some(m) = self.client.poll_transmit() {
                self.server.handle_message(m, self.now);
                moved = true;
            }
            while let Some(e) = self.server.poll_event() {
                if let server::Event::ConnectRequest { nsp, .. } = &e {
                    if nsp.as_str() == "/forbidden" {
                        self.server
                            .reject(nsp, "not authorized", Some(&json!({"retry": false})))
                            .unwrap();
                    } else {
                        self.server.accept(nsp, self.now).unwrap();
                    }
                }
                self.server_events.push(e);
                moved = true;
            }
            while let Some(m) = self.server.poll_transmit() {
                self.client.handle_message(m, self.now);
                moved = true;
            }
            while let Some(e) = self.client.poll_event() {
                self.client_events.push(e);
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }
}

fn for_both_parsers(test: impl Fn(ParserKind)) {
    test(ParserKind::Default);
    test(ParserKind::MsgPack);
}

#[test]
fn connects_to_a_namespace_with_auth_and_learns_its_socket_id() {
    for_both_parsers(|parser| {
        let mut p = Pair::new(parser);
        let admin = Namespace::new("/admin").unwrap();
        p.client
            .connect(&admin, Some(&json!({"token": "abc"})))
            .unwrap();
        p.drive();
        let server::Event::ConnectRequest { auth, .. } = &p.server_events[0] else {
            panic!()
        };
        let auth: Value = auth.as_ref().unwrap().deserialize().unwrap();
        assert_eq!(auth, json!({"token": "abc"}));
        let client::Event::Connected { nsp, sid, pid } = &p.client_events[0] else {
            panic!()
        };
        assert_eq!((nsp, sid.len(), pid), (&admin, 20, &None));
        assert!(p.client.is_connected(&admin));
    });
}

#[test]
fn buffers_events_emitted_while_connecting_and_sends_them_once_connected() {
    for_both_parsers(|parser| {
        let mut p = Pair::new(parser);
        let main = Namespace::main();
        p.client.connect(&main, None::<&()>).unwrap();
        p.client.emit(&main, &("early", 1), None, p.now).unwrap();
        p.drive();
        let names: Vec<_> = p
            .server_events
            .iter()
            .filter_map(|e| match e {
                server::Event::Event { data, .. } => {
                    data.event_name().unwrap().as_str().map(str::to_owned)
                }
                _ => None,
            })
            .collect();
        assert_eq!(names, ["early"]);
    });
}

#[test]
fn receives_connect_error_with_message_and_data() {
    for_both_parsers(|parser| {
        let mut p = Pair::new(parser);
        let nsp = Namespace::new("/forbidden").unwrap();
        p.client.connect(&nsp, None::<&()>).unwrap();
        p.drive();
        let client::Event::ConnectError { message, data, .. } = &p.client_events[0] else {
            panic!("{:?}", p.client_events)
        };
        assert_eq!(message, "not authorized");
        assert_eq!(data, &Some(json!({"retry": false}).into()));
        assert!(!p.client.is_connected(&nsp));
    });
}

#[test]
fn allocates_ack_ids_per_socket_and_receives_the_answer() {
    for_both_parsers(|parser| {
        let mut p = Pair::new(parser);
        let main = Namespace::main();
        p.client.connect(&main, None::<&()>).unwrap();
        p.drive();
        let t = Some(Duration::from_secs(1));
        assert_eq!(
            p.client.emit(&main, &("q", 1), t, p.now).unwrap(),
            Some(AckId::new(0))
        );
        assert_eq!(
            p.client.emit(&main, &("q", 2), t, p.now).unwrap(),
            Some(AckId::new(1))
        );
        p.drive();
        let asks: Vec<(AckId, i64)> = p
            .server_events
            .iter()
            .filter_map(|e| match e {
                server::Event::Event {
                    data,
                    ack: Some(id),
                    ..
                } => Some((*id, data.event_args::<(i64,)>().unwrap().0)),
                _ => None,
            })
            .collect();
        for (id, n) in asks {
            p.server.ack(&main, id, &(n * 10,)).unwrap();
        }
        p.drive();
        let answers: Vec<(AckId, i64)> = p
            .client_events
            .iter()
            .filter_map(|e| match e {
                client::Event::Ack { id, data, .. } => Some((
                    *id,
                    data.as_ref().unwrap().deserialize::<(i64,)>().unwrap().0,
                )),
                _ => None,
            })
            .collect();
        assert_eq!(answers, [(AckId::new(0), 10), (AckId::new(1), 20)]);
        assert_eq!(p.client.poll_timeout(), None, "answered acks are forgotten");
    });
}

#[test]
fn times_out_an_unanswered_ack() {
    let mut p = Pair::new(ParserKind::Default);
    let main = Namespace::main();
    p.client.connect(&main, None::<&()>).unwrap();
    p.drive();
    p.client
        .emit(&main, &("q",), Some(Duration::from_millis(250)), p.now)
        .unwrap();
    let deadline = p.client.poll_timeout().unwrap();
    p.client.handle_timeout(deadline);
    assert!(matches!(
        p.client.poll_event(),
        Some(client::Event::AckTimeout { .. })
    ));
}

#[test]
fn answers_the_servers_acks() {
    let mut p = Pair::new(ParserKind::Default);
    let main = Namespace::main();
    p.client.connect(&main, None::<&()>).unwrap();
    p.drive();
    p.server
        .emit(&main, &("ask",), Some(Duration::from_secs(1)), p.now)
        .unwrap();
    p.drive();
    let ack = p.client_events.iter().find_map(|e| match e {
        client::Event::Event { ack, .. } => *ack,
        _ => None,
    });
    p.client
        .ack(&main, ack.unwrap(), &(json!({"ok": true}),))
        .unwrap();
    p.drive();
    assert!(
        p.server_events
            .iter()
            .any(|e| matches!(e, server::Event::Ack { .. }))
    );
}

#[test]
fn ends_the_socket_when_the_server_disconnects_it() {
    let mut p = Pair::new(ParserKind::Default);
    let main = Namespace::main();
    p.client.connect(&main, None::<&()>).unwrap();
    p.drive();
    p.server.disconnect(&main).unwrap();
    p.drive();
    assert!(matches!(
        p.client_events.last(),
        Some(client::Event::Disconnected { .. })
    ));
    assert!(!p.client.is_connected(&main));
}

#[test]
fn reports_a_v2_server_when_the_connect_reply_has_no_sid() {
    let mut c = ClientConnection::new(ClientConfig::default());
    c.connect(&Namespace::main(), None::<&()>).unwrap();
    let _ = c.poll_transmit();
    c.handle_message(EngineMessage::from("0"), epoch());
    let Some(client::Event::ConnectError { message, .. }) = c.poll_event() else {
        panic!()
    };
    assert_eq!(message, V2_SERVER_ERROR);
}

#[test]
fn delivers_events_received_before_the_connect_reply_after_it() {
    let mut c = ClientConnection::new(ClientConfig::default());
    c.connect(&Namespace::main(), None::<&()>).unwrap();
    let now = epoch();
    c.handle_message(EngineMessage::from(r#"2["missed",1]"#), now);
    c.handle_message(EngineMessage::from(r#"0{"sid":"abc","pid":"p"}"#), now);
    assert!(matches!(
        c.poll_event(),
        Some(client::Event::Connected { pid: Some(_), .. })
    ));
    assert!(matches!(c.poll_event(), Some(client::Event::Event { .. })));
}

#[test]
fn closes_on_a_parse_error() {
    let mut c = ClientConnection::new(ClientConfig::default());
    c.handle_message(EngineMessage::from("9"), epoch());
    assert!(matches!(c.poll_event(), Some(client::Event::Closed(_))));
    assert!(c.is_closed());
}
