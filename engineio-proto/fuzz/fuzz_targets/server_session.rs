//! A server session driven by an arbitrary sequence of inputs read from the fuzz bytes:
//! polls, POSTs with arbitrary bodies, WebSocket opens, messages and closes, application
//! sends and closes, and timeouts on a virtual clock that only moves forward. Whatever the
//! client does, the session must never panic, and all its outputs must be drainable.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use bytestring::ByteString;
use engineio_proto::{
    Data, PostAction, RequestId, ServerConfig, ServerSession, SidGenerator, WsId, WsMessage,
};
use libfuzzer_sys::fuzz_target;

#[path = "../input.rs"]
mod input;

use input::Input;

impl Input<'_> {
    /// Text a client would send, often a well-formed packet.
    fn text(&mut self) -> ByteString {
        const PACKETS: [&str; 12] = [
            "2probe", "3probe", "5", "3", "2", "1", "6", "4hello", "b", "bAQID", "4", "0",
        ];
        let pick = self.byte();
        match PACKETS.get(usize::from(pick)) {
            Some(p) => ByteString::from_static(p),
            None => ByteString::from(String::from_utf8_lossy(self.chunk()).into_owned()),
        }
    }

    /// A POST body: well-formed payloads joined by `\x1e`, or raw bytes.
    fn body(&mut self) -> Bytes {
        if self.bit() {
            let n = self.byte() % 6;
            let records: Vec<ByteString> = (0..n).map(|_| self.text()).collect();
            let records: Vec<&str> = records.iter().map(|r| &**r).collect();
            Bytes::from(records.join("\u{1e}"))
        } else {
            Bytes::copy_from_slice(self.chunk())
        }
    }
}

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    // The clock is read once, as the origin of the virtual time; the session never sees it.
    #[allow(clippy::disallowed_methods)]
    *START.get_or_init(Instant::now)
}

fn drain(session: &mut ServerSession) {
    // Bounded: a session that produced output forever would be a bug too.
    for _ in 0..10_000 {
        if session.poll_transmit().is_none() {
            break;
        }
    }
    for _ in 0..10_000 {
        if session.poll_event().is_none() {
            break;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut now = start();
    let mut config = ServerConfig::default();
    if input.bit() {
        config.max_payload(usize::from(input.byte()));
    }
    if input.bit() {
        config.allow_upgrades(false);
    }
    let sid = SidGenerator::from_seed([7; 32]).generate();
    let mut next_req = 1;
    let mut next_ws = 1;
    let mut session = if input.bit() {
        ServerSession::new_polling(sid, config, RequestId(0), now)
    } else {
        ServerSession::new_websocket(sid, config, WsId(0), input.bit(), now)
    };
    let mut pending_posts: Vec<RequestId> = Vec::new();

    while !input.is_empty() {
        drain(&mut session);
        // A request or WebSocket id seen before (maybe already answered or closed).
        let old_req = RequestId(u64::from(input.byte()) % next_req);
        let old_ws = WsId(u64::from(input.byte()) % next_ws);
        match input.byte() % 18 {
            0 | 1 => {
                session.handle_poll(RequestId(next_req), now);
                next_req += 1;
            }
            2 => {
                let req = RequestId(next_req);
                next_req += 1;
                if let PostAction::ReadBody { .. } = session.handle_post(req, input.bit(), now) {
                    pending_posts.push(req);
                }
            }
            3 | 4 => {
                if let Some(req) = pending_posts.pop() {
                    session.handle_post_body(req, input.body(), now);
                }
            }
            5 => session.handle_other_method(RequestId(next_req)),
            6 => match pending_posts.pop() {
                Some(req) => session.handle_request_aborted(req, now),
                None => session.handle_request_aborted(old_req, now),
            },
            7 => {
                session.handle_ws_open(WsId(next_ws), input.bit(), now);
                next_ws += 1;
            }
            8 | 9 => {
                let msg = WsMessage::Text(input.text());
                session.handle_ws_message(old_ws, msg, now);
            }
            10 => {
                let msg = WsMessage::Binary(Bytes::copy_from_slice(input.chunk()));
                session.handle_ws_message(old_ws, msg, now);
            }
            11 => session.handle_ws_oversized(old_ws, now),
            12 => session.handle_ws_closed(old_ws, now),
            13 => session.handle_ws_error(old_ws, now),
            14 => {
                now += Duration::from_millis(u64::from(input.u16()) * 16);
                session.handle_timeout(now);
            }
            15 => {
                // Straight to the next deadline, as a driver's timer would.
                if let Some(deadline) = session.poll_timeout() {
                    now = now.max(deadline);
                }
                session.handle_timeout(now);
            }
            16 => {
                let data = if input.bit() {
                    Data::Binary(Bytes::copy_from_slice(input.chunk()))
                } else {
                    Data::Text(input.text())
                };
                let _ = session.send(data);
            }
            _ => session.close(now),
        }
        let _ = session.is_closed();
        let _ = session.buffered_bytes();
    }
    drain(&mut session);
    // Then let the timers run: every state must take them, whatever came before.
    for _ in 0..16 {
        match session.poll_timeout() {
            Some(deadline) => {
                now = now.max(deadline);
                session.handle_timeout(now);
                drain(&mut session);
            }
            None => break,
        }
    }
});
