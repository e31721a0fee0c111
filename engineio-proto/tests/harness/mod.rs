//! A driver for one [`ServerSession`] on a virtual clock: it plays the official suite's
//! echo server and records what the session puts on the wire.

#![allow(dead_code, unreachable_pub)] // a test helper module: each test file uses a part of it

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio_proto::{
    CloseReason, Data, Event, HttpResponse, PostAction, RequestId, ServerConfig, ServerSession,
    SessionRequest, SidGenerator, Transmit, WsId, WsMessage,
};

/// The text of a WebSocket message.
pub fn text(msg: &WsMessage) -> String {
    match msg {
        WsMessage::Text(t) => t.to_string(),
        WsMessage::Binary(b) => panic!("expected text, got binary {b:?}"),
    }
}

pub struct Harness {
    pub now: Instant,
    pub session: ServerSession,
    pub ws: WsId,
    next_id: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    closed: Option<CloseReason>,
    /// Every message the session delivered, in order.
    pub received: Vec<Data>,
}

impl Harness {
    /// The configuration of the official suite's server.
    pub fn suite_config() -> ServerConfig {
        let mut config = ServerConfig::default();
        config
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(200));
        config
    }

    #[allow(clippy::disallowed_methods)] // the origin of the virtual clock, read once
    fn origin() -> Instant {
        Instant::now()
    }

    fn with(session: impl FnOnce(Instant) -> ServerSession) -> Self {
        let now = Self::origin();
        let mut h = Self {
            now,
            session: session(now),
            ws: WsId(1000),
            next_id: 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            closed: None,
            received: Vec::new(),
        };
        h.drive();
        h
    }

    /// A session opened by a polling handshake (request 0), open packet not yet taken.
    pub fn polling_with(config: ServerConfig) -> Self {
        let sid = SidGenerator::from_seed([3; 32]).generate();
        Self::with(|now| ServerSession::new_polling(sid, config, RequestId(0), now))
    }

    pub fn polling() -> Self {
        Self::polling_with(Self::suite_config())
    }

    /// A polling session whose open packet was delivered.
    pub fn polling_opened() -> Self {
        let mut h = Self::polling();
        h.take_open_response();
        h
    }

    pub fn websocket_with(config: ServerConfig) -> Self {
        let sid = SidGenerator::from_seed([4; 32]).generate();
        Self::with(|now| ServerSession::new_websocket(sid, config, WsId(1000), true, now))
    }

    pub fn websocket() -> Self {
        Self::websocket_with(Self::suite_config())
    }

    pub fn websocket_b64() -> Self {
        let sid = SidGenerator::from_seed([5; 32]).generate();
        Self::with(|now| {
            ServerSession::new_websocket(sid, Self::suite_config(), WsId(1000), false, now)
        })
    }

    /// A WebSocket session whose open packet was taken.
    pub fn websocket_opened() -> Self {
        let mut h = Self::websocket();
        let ws = h.ws;
        assert_eq!(h.ws_messages(ws).len(), 1);
        h
    }

    /// The body of the handshake response.
    pub fn take_open_response(&mut self) -> String {
        self.payload(RequestId(0))
    }

    /// Drains the session; echoes messages like the suite's server.
    pub fn drive(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.session.poll_transmit() {
                self.transmits.push_back(t);
                progressed = true;
            }
            while let Some(e) = self.session.poll_event() {
                progressed = true;
                match e {
                    Event::Message(data) => {
                        self.received.push(data.clone());
                        let _ = self.session.send(data);
                    }
                    Event::Closed(reason) => {
                        assert!(self.closed.is_none(), "closed twice");
                        self.closed = Some(reason);
                    }
                    other => self.events.push_back(other),
                }
            }
            if !progressed {
                break;
            }
        }
    }

    /// Moves the virtual clock `ms` forward, running every timer due on the way.
    pub fn advance(&mut self, ms: u64) {
        let target = self.now + Duration::from_millis(ms);
        while let Some(t) = self.session.poll_timeout() {
            if t > target {
                break;
            }
            self.now = self.now.max(t);
            self.session.handle_timeout(self.now);
            self.drive();
        }
        self.now = target;
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn get(&mut self) -> RequestId {
        let req = RequestId(self.id());
        self.session.handle_poll(req, self.now);
        self.drive();
        req
    }

    pub fn post_head(&mut self) -> RequestId {
        let req = RequestId(self.id());
        let action = self.session.handle_post(req, false, self.now);
        self.drive();
        if let PostAction::ReadBody { limit } = action {
            assert_eq!(limit, self.session.max_payload());
        }
        req
    }

    pub fn post_body(&mut self, req: RequestId, body: &str) {
        self.session
            .handle_post_body(req, Bytes::copy_from_slice(body.as_bytes()), self.now);
        self.drive();
    }

    pub fn post(&mut self, body: &str) -> RequestId {
        let req = self.post_head();
        if self.response_pending(req) {
            self.post_body(req, body);
        }
        req
    }

    pub fn post_octet_stream(&mut self) -> RequestId {
        let req = RequestId(self.id());
        assert_eq!(
            self.session.handle_post(req, true, self.now),
            PostAction::Answered
        );
        self.drive();
        req
    }

    pub fn other_method(&mut self) -> RequestId {
        let req = RequestId(self.id());
        self.session.handle_other_method(req);
        self.drive();
        req
    }

    pub fn abort(&mut self, req: RequestId) {
        self.session.handle_request_aborted(req, self.now);
        self.drive();
    }

    pub fn open_ws(&mut self) -> WsId {
        let ws = WsId(self.id());
        self.session.handle_ws_open(ws, true, self.now);
        self.drive();
        ws
    }

    pub fn ws_send(&mut self, ws: WsId, msg: WsMessage) {
        self.session.handle_ws_message(ws, msg, self.now);
        self.drive();
    }

    pub fn ws_closed(&mut self, ws: WsId) {
        self.session.handle_ws_closed(ws, self.now);
        self.drive();
    }

    /// Upgrades a polling session to a new WebSocket, as the suite does.
    pub fn upgrade(&mut self) -> WsId {
        let ws = self.open_ws();
        self.ws_send(ws, WsMessage::Text("2probe".into()));
        assert_eq!(self.ws_messages(ws), [WsMessage::Text("3probe".into())]);
        self.ws_send(ws, WsMessage::Text("5".into()));
        assert_eq!(self.take_event(), Some(Event::Upgrading));
        assert_eq!(self.take_event(), Some(Event::Upgraded));
        ws
    }

    pub fn server_send(&mut self, text: &str) {
        self.session
            .send(Data::Text(text.to_owned().into()))
            .unwrap();
        self.drive();
    }

    pub fn server_close(&mut self) {
        self.session.close(self.now);
        self.drive();
    }

    fn response_pending(&self, req: RequestId) -> bool {
        !self
            .transmits
            .iter()
            .any(|t| matches!(t, Transmit::Http { req: r, .. } if *r == req))
    }

    /// Takes the answer to `req`, if it was given.
    pub fn response(&mut self, req: RequestId) -> Option<HttpResponse> {
        let i = self
            .transmits
            .iter()
            .position(|t| matches!(t, Transmit::Http { req: r, .. } if *r == req))?;
        match self.transmits.remove(i) {
            Some(Transmit::Http { response, .. }) => Some(response),
            _ => unreachable!(),
        }
    }

    /// Takes the 200 payload answering `req`, as text.
    pub fn payload(&mut self, req: RequestId) -> String {
        match self.response(req) {
            Some(HttpResponse::Payload(body)) => String::from_utf8(body.to_vec()).unwrap(),
            other => panic!("expected a payload for {req:?}, got {other:?}"),
        }
    }

    /// Takes every message sent on `ws` so far.
    pub fn ws_messages(&mut self, ws: WsId) -> Vec<WsMessage> {
        let mut out = Vec::new();
        self.transmits.retain(|t| match t {
            Transmit::WebSocket { ws: w, msg } if *w == ws => {
                out.push(msg.clone());
                false
            }
            _ => true,
        });
        out
    }

    /// Takes the close of `ws`: `Some(code)` if the session closed it.
    pub fn ws_close(&mut self, ws: WsId) -> Option<Option<u16>> {
        let i = self
            .transmits
            .iter()
            .position(|t| matches!(t, Transmit::CloseWebSocket { ws: w, .. } if *w == ws))?;
        match self.transmits.remove(i) {
            Some(Transmit::CloseWebSocket { code, .. }) => Some(code),
            _ => unreachable!(),
        }
    }

    pub fn take_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    pub fn closed_reason(&self) -> Option<CloseReason> {
        self.closed
    }

    /// The HTTP status a driver answers to a new poll with this session's sid: it checks
    /// the session with `verify`, then hands the request over.
    pub fn driver_status_for_poll(&mut self) -> u16 {
        if let Err(rejection) = self.session.verify(SessionRequest::Poll, true) {
            return rejection.status();
        }
        let req = self.get();
        match self.response(req) {
            None | Some(HttpResponse::Payload(_)) | Some(HttpResponse::Ok) => 200,
            Some(HttpResponse::Status(s)) => s,
            Some(HttpResponse::Reject(r)) => r.status(),
            Some(other) => panic!("unexpected {other:?}"),
        }
    }
}
