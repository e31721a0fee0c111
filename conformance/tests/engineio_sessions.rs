//! Replays the scripted Engine.IO session exchanges of `fixtures/engineio-session/` against
//! `engineio_proto::ServerSession` on a virtual clock. The format is documented in
//! `conformance/README.md` ("Engine.IO session fixtures").

use std::collections::VecDeque;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio_proto::{
    Event, HttpResponse, Method, PostAction, RequestHead, RequestId, ServerConfig, ServerSession,
    SessionRequest, SidGenerator, Transmit, WsId, WsMessage, classify,
};
use serde_json::{Value, json};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Bytes {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex fixture"))
        .collect::<Vec<_>>()
        .into()
}

/// One fixture run: the session, the virtual clock, and the log of what it put out.
struct Replay {
    name: String,
    origin: Instant,
    now: Instant,
    session: Option<ServerSession>,
    config: ServerConfig,
    log: VecDeque<Value>,
}

impl Replay {
    fn session(&mut self) -> &mut ServerSession {
        self.session.as_mut().expect("the fixture opens a session")
    }

    /// Drains the session into the log, echoing messages like the official suite's server.
    fn drive(&mut self) {
        let Some(session) = &mut self.session else {
            return;
        };
        loop {
            let mut progressed = false;
            while let Some(t) = session.poll_transmit() {
                progressed = true;
                self.log.push_back(transmit_json(t));
            }
            while let Some(e) = session.poll_event() {
                progressed = true;
                match e {
                    Event::Message(data) => {
                        let _ = session.send(data);
                    }
                    Event::Upgrading => self.log.push_back(json!({"event": "upgrading"})),
                    Event::Upgraded => self.log.push_back(json!({"event": "upgraded"})),
                    Event::Closed(reason) => {
                        self.log.push_back(json!({"closed": reason.as_str()}));
                    }
                    other => panic!("{}: unexpected event {other:?}", self.name),
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn advance_to(&mut self, ms: u64) {
        let target = self.origin + Duration::from_millis(ms);
        assert!(target >= self.now, "{}: time goes forward", self.name);
        while let Some(t) = self.session.as_ref().and_then(ServerSession::poll_timeout) {
            if t > target {
                break;
            }
            self.now = self.now.max(t);
            let now = self.now;
            self.session().handle_timeout(now);
            self.drive();
        }
        self.now = target;
    }

    fn step(&mut self, step: &Value) {
        if let Some(at) = step.get("at").and_then(Value::as_u64) {
            self.advance_to(at);
        }
        let now = self.now;
        let id = |key: &str| step.get(key).and_then(Value::as_u64);
        if let Some(expected) = step.get("expect") {
            let got = self.log.pop_front();
            check(&self.name, expected, got.as_ref());
        } else if step.get("expect_nothing").is_some() {
            assert!(
                self.log.is_empty(),
                "{}: expected nothing, got {:?}",
                self.name,
                self.log
            );
        } else if let Some(req) = step.get("request") {
            let method = Method::from_name(req["method"].as_str().unwrap());
            let query = req["query"].as_str().unwrap();
            let upgrade = req["websocket_upgrade"].as_bool().unwrap();
            let head = RequestHead::new(method, query, upgrade);
            let rejection = classify(&head, &self.config).expect_err(&self.name);
            let expected = &step["expect_reject"];
            assert_eq!(
                json!({"code": rejection.code(), "status": rejection.status()}),
                *expected,
                "{}: {query}",
                self.name
            );
        } else if let Some(g) = id("get") {
            self.session().handle_poll(RequestId(g), now);
        } else if let Some(p) = id("post") {
            let req = RequestId(p);
            let octet = step.get("octet_stream").is_some();
            if let PostAction::ReadBody { limit } = self.session().handle_post(req, octet, now) {
                let body = step["body"].as_str().unwrap().as_bytes();
                // The driver reads at most limit + 1 bytes.
                let body = Bytes::copy_from_slice(&body[..body.len().min(limit + 1)]);
                self.session().handle_post_body(req, body, now);
            }
        } else if let Some(a) = id("abort") {
            self.session().handle_request_aborted(RequestId(a), now);
        } else if let Some(o) = id("other_method") {
            self.session().handle_other_method(RequestId(o));
        } else if let Some(w) = id("ws_open") {
            self.session().handle_ws_open(WsId(w), true, now);
        } else if let Some(w) = id("ws_message") {
            let msg = match (step.get("text"), step.get("binary_hex")) {
                (Some(t), _) => WsMessage::Text(t.as_str().unwrap().to_owned().into()),
                (None, Some(h)) => WsMessage::Binary(unhex(h.as_str().unwrap())),
                (None, None) => panic!("{}: ws_message needs text or binary_hex", self.name),
            };
            self.session().handle_ws_message(WsId(w), msg, now);
        } else if let Some(w) = id("ws_closed") {
            self.session().handle_ws_closed(WsId(w), now);
        } else if step.get("server_close").is_some() {
            self.session().close(now);
        } else if let Some(g) = id("driver_get") {
            // What a driver answers to a new GET: `verify` first, then the session.
            let expected = step["expect_status"].as_u64().unwrap();
            let status = match self.session().verify(SessionRequest::Poll, true) {
                Err(rejection) => u64::from(rejection.status()),
                Ok(()) => {
                    self.session().handle_poll(RequestId(g), now);
                    self.drive();
                    match self.log.pop_back() {
                        Some(v) => v.get("status").and_then(Value::as_u64).unwrap_or(200),
                        None => 200,
                    }
                }
            };
            assert_eq!(status, expected, "{}: driver status", self.name);
        } else if step.as_object().is_none_or(|o| o.keys().any(|k| k != "at")) {
            panic!("{}: unknown step {step}", self.name);
        }
        self.drive();
    }
}

fn transmit_json(t: Transmit) -> Value {
    match t {
        Transmit::Http { req, response } => match response {
            HttpResponse::Payload(body) => json!({
                "http": req.0,
                "body": String::from_utf8(body.to_vec()).expect("payloads are text"),
            }),
            HttpResponse::Ok => json!({"http": req.0, "ok": true}),
            HttpResponse::Status(s) => json!({"http": req.0, "status": s}),
            HttpResponse::Reject(r) => json!({
                "http": req.0,
                "reject": {"code": r.code(), "status": r.status()},
            }),
            other => panic!("unexpected response {other:?}"),
        },
        Transmit::WebSocket { ws, msg } => match msg {
            WsMessage::Text(t) => json!({"ws": ws.0, "text": &*t}),
            WsMessage::Binary(b) => json!({"ws": ws.0, "binary_hex": hex(&b)}),
        },
        Transmit::CloseWebSocket { ws, code } => json!({"ws_close": ws.0, "code": code}),
        other => panic!("unexpected transmit {other:?}"),
    }
}

/// Compares one logged output with its expectation. `open` expectations check an open
/// packet's fields, the sid being any 20-character id.
fn check(name: &str, expected: &Value, got: Option<&Value>) {
    let Some(got) = got else {
        panic!("{name}: expected {expected}, got nothing");
    };
    if let Some(open) = expected.get("open") {
        let (channel, body_key) = if expected.get("http").is_some() {
            ("http", "body")
        } else {
            ("ws", "text")
        };
        assert_eq!(got.get(channel), expected.get(channel), "{name}: {got}");
        let body = got[body_key].as_str().unwrap();
        let json: Value = serde_json::from_str(body.strip_prefix('0').expect("open")).unwrap();
        let object = json.as_object().unwrap();
        assert_eq!(object.len(), 5, "{name}: exactly five keys in {body}");
        assert_eq!(object["sid"].as_str().map(str::len), Some(20), "{name}");
        for (key, value) in open.as_object().unwrap() {
            assert_eq!(&object[key], value, "{name}: {key}");
        }
        return;
    }
    assert_eq!(got, expected, "{name}");
}

fn config_from(value: &Value) -> ServerConfig {
    let ms = |key: &str| value.get(key).and_then(Value::as_u64);
    let mut config = ServerConfig::default();
    if let Some(v) = ms("pingInterval") {
        config.ping_interval(Duration::from_millis(v));
    }
    if let Some(v) = ms("pingTimeout") {
        config.ping_timeout(Duration::from_millis(v));
    }
    if let Some(v) = ms("upgradeTimeout") {
        config.upgrade_timeout(Duration::from_millis(v));
    }
    if let Some(v) = ms("maxPayload") {
        config.max_payload(usize::try_from(v).unwrap());
    }
    config
}

#[allow(clippy::disallowed_methods)] // the origin of the virtual clock, read once
fn origin() -> Instant {
    Instant::now()
}

fn replay(path: &Path) -> usize {
    let fixture: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let name = format!(
        "{} ({})",
        fixture["name"].as_str().unwrap(),
        path.file_name().unwrap().to_string_lossy()
    );
    let config = config_from(&fixture["config"]);
    let origin = origin();
    let sid = SidGenerator::from_seed([11; 32]).generate();
    let session = match fixture["transport"].as_str() {
        Some("polling") => Some(ServerSession::new_polling(
            sid,
            config.clone(),
            RequestId(0),
            origin,
        )),
        Some("websocket") => Some(ServerSession::new_websocket(
            sid,
            config.clone(),
            WsId(0),
            true,
            origin,
        )),
        None => None,
        Some(other) => panic!("{name}: unknown transport {other}"),
    };
    let mut replay = Replay {
        name,
        origin,
        now: origin,
        session,
        config,
        log: VecDeque::new(),
    };
    replay.drive();
    let steps = fixture["steps"].as_array().unwrap();
    for step in steps {
        replay.step(step);
    }
    assert!(
        replay.log.is_empty(),
        "{}: unchecked output {:?}",
        replay.name,
        replay.log
    );
    steps.len()
}

#[test]
fn every_scripted_session_exchange_replays_against_the_server_session() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/engineio-session");
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 25,
        "one fixture per official suite case at least"
    );
    let steps: usize = paths.iter().map(|p| replay(p)).sum();
    eprintln!(
        "replayed {} Engine.IO session fixtures ({steps} steps)",
        paths.len()
    );
}
