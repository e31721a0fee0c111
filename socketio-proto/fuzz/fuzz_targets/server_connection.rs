//! The server state machine fed with arbitrary messages and clock ticks; the application
//! accepts every namespace and echoes every event with an ack.
#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_proto::server::{Event, ServerConfig, ServerConnection};
use socketio_proto::EngineMessage;

fuzz_target!(|data: &[u8]| {
    #[allow(clippy::disallowed_methods)]
    let mut now = Instant::now();
    let mut conn = ServerConnection::new(ServerConfig::default(), [0; 32], now);
    for chunk in data.split(|b| *b == 0xff) {
        let msg = match chunk.split_first() {
            Some((0, rest)) => EngineMessage::Binary(Bytes::copy_from_slice(rest)),
            Some((1, _)) => {
                now += Duration::from_secs(10);
                conn.handle_timeout(now);
                continue;
            }
            _ => match std::str::from_utf8(chunk) {
                Ok(s) => EngineMessage::from(s.to_owned()),
                Err(_) => continue,
            },
        };
        conn.handle_message(msg, now);
        while let Some(e) = conn.poll_event() {
            match e {
                Event::ConnectRequest { nsp, .. } => {
                    let _ = conn.accept(&nsp, now);
                }
                Event::Event { nsp, data, ack } => {
                    if let Some(id) = ack {
                        let args: Vec<serde_json::Value> = data.event_args().unwrap_or_default();
                        let _ = conn.ack(&nsp, id, &args);
                    }
                    let _ = conn.emit_payload(&nsp, data, Some(now + Duration::from_secs(5)));
                }
                _ => {}
            }
        }
        while conn.poll_transmit().is_some() {}
    }
});
