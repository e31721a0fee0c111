//! The whole Sans-IO client (the Manager, its Engine.IO session and the sockets multiplexed
//! on it) driven by an arbitrary, hostile server: poll answers and WebSocket messages made of
//! well-formed and broken packets, transport failures, answers for connections long gone,
//! application commands and timeouts on a virtual clock that only moves forward. Whatever
//! the server sends, the client must never panic, and its outputs must be drainable.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use bytestring::ByteString;
use engineio_proto::WsMessage;
use libfuzzer_sys::fuzz_target;
use socketio_proto::endpoint::client::{
    AckMode, Auth, ClientEndpoint, ClientEndpointConfig, ConnectionId, EmitOptions, Event,
    SeededRandom, SocketEvent, TransportMode,
};
use socketio_proto::{Namespace, ParserKind, Payload};

#[path = "../../../engineio-proto/fuzz/input.rs"]
mod input;

use input::Input;

impl Input<'_> {
    /// An Engine.IO packet a server would send, often well-formed and meaningful to the
    /// Socket.IO layer.
    fn packet(&mut self) -> String {
        const PACKETS: [&str; 24] = [
            r#"0{"sid":"s1","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#,
            r#"0{"sid":"s2","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":100}"#,
            r#"0{"sid":"s3"}"#,
            "2",
            "3probe",
            "6",
            "1",
            r#"40{"sid":"a"}"#,
            r#"40/chat,{"sid":"b","pid":"p","offset":"o"}"#,
            r#"44{"message":"refused","data":{"x":1}}"#,
            "44/chat,{\"message\":\"no\"}",
            "41",
            "41/chat,",
            r#"42["hello",1,{"a":[2]}]"#,
            r#"421["ask",true]"#,
            r#"42/chat,7["e","x"]"#,
            "430[1]",
            "431[]",
            r#"43/chat,0["ok"]"#,
            r#"451-["bin",{"_placeholder":true,"num":0}]"#,
            r#"461-0[{"_placeholder":true,"num":0}]"#,
            r#"452-["two",{"_placeholder":true,"num":1}]"#,
            "bAQID",
            r#"42["x","offset-1"]"#,
        ];
        let pick = self.byte();
        match PACKETS.get(usize::from(pick)) {
            Some(p) => {
                let p = (*p).to_owned();
                if self.byte() < 32 {
                    // A well-formed packet cut short.
                    let cut = usize::from(self.byte()) % (p.len() + 1);
                    String::from_utf8_lossy(&p.as_bytes()[..cut]).into_owned()
                } else {
                    p
                }
            }
            None => String::from_utf8_lossy(self.chunk()).into_owned(),
        }
    }

    /// A polling answer: packets joined by `\x1e`, or raw bytes.
    fn body(&mut self) -> Bytes {
        if self.bit() {
            let n = self.byte() % 6;
            let records: Vec<String> = (0..n).map(|_| self.packet()).collect();
            Bytes::from(records.join("\u{1e}"))
        } else {
            Bytes::copy_from_slice(self.chunk())
        }
    }

    fn nsp(&mut self) -> Namespace {
        match self.byte() % 3 {
            0 => Namespace::main(),
            1 => Namespace::new("/chat").unwrap_or_else(|_| Namespace::main()),
            _ => Namespace::new("/other").unwrap_or_else(|_| Namespace::main()),
        }
    }
}

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    // The clock is read once, as the origin of the virtual time; the endpoint never sees it.
    #[allow(clippy::disallowed_methods)]
    *START.get_or_init(Instant::now)
}

/// Drains the outputs (bounded: an endpoint producing output forever is a bug too); returns
/// the connections the endpoint asked transports of, and the acks the server asked for.
fn drain(
    client: &mut ClientEndpoint,
    connections: &mut Vec<ConnectionId>,
    asked: &mut Vec<(Namespace, socketio_proto::AckId)>,
) {
    for _ in 0..10_000 {
        let Some(t) = client.poll_transmit() else {
            break;
        };
        if !connections.contains(&t.connection) {
            connections.push(t.connection);
        }
    }
    for _ in 0..10_000 {
        let Some(e) = client.poll_event() else { break };
        match e {
            Event::Socket {
                nsp,
                event: SocketEvent::Event { ack: Some(id), .. },
            } => asked.push((nsp, id)),
            Event::AuthNeeded { .. } | Event::Manager(_) | Event::Socket { .. } | _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut now = start();
    let config = ClientEndpointConfig::default()
        .transports(match input.byte() % 3 {
            0 => TransportMode::Both,
            1 => TransportMode::Polling,
            _ => TransportMode::WebSocket,
        })
        .remember_upgrade(input.bit())
        .max_buffered(usize::from(input.byte() % 8))
        .retries(u32::from(input.byte() % 3))
        .reconnection_attempts(Some(u32::from(input.byte() % 4)))
        .ack_timeout(
            input
                .bit()
                .then(|| Duration::from_millis(u64::from(input.u16()))),
        );
    let mut config = config;
    config.parser = if input.bit() {
        ParserKind::MsgPack
    } else {
        ParserKind::Default
    };
    let parser = config.parser;
    let mut client = ClientEndpoint::new(config, SeededRandom::new(u64::from(input.byte())));
    client.connect(&Namespace::main(), Auth::None, now);
    let mut connections = Vec::new();
    let mut asked = Vec::new();

    while !input.is_empty() {
        drain(&mut client, &mut connections, &mut asked);
        // A connection the endpoint asked for, maybe closed long ago (or one never seen).
        let conn = match connections.len() {
            0 => ConnectionId(u64::from(input.byte())),
            n => connections[usize::from(input.byte()) % n],
        };
        match input.byte() % 20 {
            0..=3 => client.handle_poll_response(conn, input.body(), now),
            4 => client.handle_poll_error(conn, now),
            5 => client.handle_post_response(conn, input.bit(), now),
            6 => client.handle_ws_open(conn, now),
            7..=9 => {
                let msg = WsMessage::Text(ByteString::from(input.packet()));
                client.handle_ws_message(conn, msg, now);
            }
            10 => {
                let msg = WsMessage::Binary(Bytes::copy_from_slice(input.chunk()));
                client.handle_ws_message(conn, msg, now);
            }
            11 => client.handle_ws_closed(conn, now),
            12 => client.handle_ws_error(conn, now),
            13 => {
                now += Duration::from_millis(u64::from(input.u16()) * 16);
                client.handle_timeout(now);
            }
            14 => {
                // Straight to the next deadline, as a driver's timer would.
                if let Some(deadline) = client.poll_timeout() {
                    now = now.max(deadline);
                }
                client.handle_timeout(now);
            }
            15 => {
                let nsp = input.nsp();
                let options = match input.byte() % 4 {
                    0 => EmitOptions::default(),
                    1 => EmitOptions::volatile(),
                    2 => EmitOptions::with_ack(AckMode::NoDeadline),
                    _ => EmitOptions::with_ack(AckMode::Deadline(Duration::from_millis(
                        u64::from(input.u16()),
                    ))),
                };
                let bin = Bytes::copy_from_slice(input.chunk());
                if let Ok(payload) = Payload::new(parser, &("event", input.byte(), bin)) {
                    let _ = client.emit(&nsp, payload, options, now);
                }
            }
            16 => {
                if let Some((nsp, id)) = asked.pop() {
                    if let Ok(payload) = Payload::new(parser, &[input.byte()]) {
                        client.ack(&nsp, id, payload, now);
                    }
                }
            }
            17 => {
                let nsp = input.nsp();
                client.connect(
                    &nsp,
                    Auth::Value(serde_json::json!({"t": input.byte()})),
                    now,
                );
            }
            18 => {
                let nsp = input.nsp();
                client.disconnect(&nsp, now);
            }
            _ => client.close(now),
        }
    }
    drain(&mut client, &mut connections, &mut asked);
    // Then let the timers run: every state must take them, whatever came before.
    for _ in 0..16 {
        match client.poll_timeout() {
            Some(deadline) => {
                now = now.max(deadline);
                client.handle_timeout(now);
                drain(&mut client, &mut connections, &mut asked);
            }
            None => break,
        }
    }
});
