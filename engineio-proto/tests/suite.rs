//! One test per case of the official Engine.IO v4 test suite
//! (`docs/engine.io-protocol/v4-test-suite/test-suite.js`, PROTOCOL.md §3.3), driving the
//! session state machine directly on a virtual clock, plus the server behaviours of
//! PROTOCOL.md §1.4–§1.8 that the suite does not reach.
//!
//! The harness plays the official suite's server: it echoes every message back, with
//! `pingInterval` 300 ms and `pingTimeout` 200 ms.

mod harness;

use std::time::Duration;

use bytes::Bytes;
use engineio_proto::{
    BadRequestReason, CloseReason, Data, Event, HttpResponse, Method, Rejection, RequestHead,
    Route, TransportError, TransportKind, WsMessage, classify,
};
use harness::{Harness, text};

fn rejection_for(method: Method, query: &str, websocket_upgrade: bool) -> Rejection {
    let head = RequestHead::new(method, query, websocket_upgrade);
    classify(&head, &Harness::suite_config()).expect_err("request must be rejected")
}

fn assert_open_packet(body: &str, upgrades: &[&str]) {
    let json = body.strip_prefix('0').expect("open packet starts with 0");
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    let object = value.as_object().unwrap();
    let mut keys: Vec<_> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert!(object["sid"].is_string());
    assert_eq!(object["upgrades"], serde_json::json!(upgrades));
    assert_eq!(object["pingInterval"], 300);
    assert_eq!(object["pingTimeout"], 200);
    assert_eq!(object["maxPayload"], 1_000_000);
}

mod handshake {
    use super::*;

    mod http_long_polling {
        use super::*;

        #[test]
        fn successfully_opens_a_session() {
            let head = RequestHead::new(Method::Get, "EIO=4&transport=polling", false);
            assert_eq!(
                classify(&head, &Harness::suite_config()),
                Ok(Route::Handshake {
                    transport: TransportKind::Polling,
                    supports_binary: true
                })
            );
            let mut h = Harness::polling();
            let body = h.take_open_response();
            assert_open_packet(&body, &["websocket"]);
        }

        #[test]
        fn fails_with_an_invalid_eio_query_parameter() {
            for query in ["transport=polling", "EIO=abc&transport=polling"] {
                let rejection = rejection_for(Method::Get, query, false);
                assert_eq!(rejection.status(), 400);
                assert_eq!(rejection, Rejection::UnsupportedProtocolVersion);
            }
        }

        #[test]
        fn fails_with_an_invalid_transport_query_parameter() {
            for query in ["EIO=4", "EIO=4&transport=abc"] {
                let rejection = rejection_for(Method::Get, query, false);
                assert_eq!(rejection.status(), 400);
                assert_eq!(rejection, Rejection::UnknownTransport);
            }
        }

        #[test]
        fn fails_with_an_invalid_request_method() {
            for method in [Method::Post, Method::from_name("PUT")] {
                let rejection = rejection_for(method, "EIO=4&transport=polling", false);
                assert_eq!(rejection.status(), 400);
                assert_eq!(rejection, Rejection::BadHandshakeMethod);
            }
        }
    }

    mod websocket {
        use super::*;

        #[test]
        fn successfully_opens_a_session() {
            let head = RequestHead::new(Method::Get, "EIO=4&transport=websocket", true);
            assert_eq!(
                classify(&head, &Harness::suite_config()),
                Ok(Route::Handshake {
                    transport: TransportKind::WebSocket,
                    supports_binary: true
                })
            );
            let mut h = Harness::websocket();
            let ws = h.ws;
            let first = h.ws_messages(ws);
            assert_eq!(first.len(), 1, "only the open packet is sent on connect");
            assert_open_packet(&text(&first[0]), &[]);
        }

        #[test]
        fn fails_with_an_invalid_eio_query_parameter() {
            for query in ["transport=websocket", "EIO=abc&transport=websocket"] {
                assert_eq!(
                    rejection_for(Method::Get, query, true),
                    Rejection::UnsupportedProtocolVersion
                );
            }
        }

        #[test]
        fn fails_with_an_invalid_transport_query_parameter() {
            for query in ["EIO=4", "EIO=4&transport=abc"] {
                assert_eq!(
                    rejection_for(Method::Get, query, true),
                    Rejection::UnknownTransport
                );
            }
        }
    }
}

mod message {
    use super::*;

    mod http_long_polling {
        use super::*;

        #[test]
        fn sends_and_receives_a_payload_containing_one_plain_text_packet() {
            let mut h = Harness::polling_opened();
            let post = h.post("4hello");
            assert_eq!(h.response(post), Some(HttpResponse::Ok));
            let get = h.get();
            assert_eq!(h.payload(get), "4hello");
        }

        #[test]
        fn sends_and_receives_a_payload_containing_several_plain_text_packets() {
            let mut h = Harness::polling_opened();
            let post = h.post("4test1\x1e4test2\x1e4test3");
            assert_eq!(h.response(post), Some(HttpResponse::Ok));
            let get = h.get();
            assert_eq!(h.payload(get), "4test1\x1e4test2\x1e4test3");
        }

        #[test]
        fn sends_and_receives_a_payload_containing_plain_text_and_binary_packets() {
            let mut h = Harness::polling_opened();
            let post = h.post("4hello\x1ebAQIDBA==");
            assert_eq!(h.response(post), Some(HttpResponse::Ok));
            let get = h.get();
            assert_eq!(h.payload(get), "4hello\x1ebAQIDBA==");
        }

        #[test]
        fn closes_the_session_upon_invalid_packet_format() {
            let mut h = Harness::polling_opened();
            let post = h.post("abc");
            assert_eq!(h.response(post), Some(HttpResponse::Status(400)));
            assert!(matches!(
                h.closed_reason(),
                Some(CloseReason::ParseError(_))
            ));
            assert_eq!(h.driver_status_for_poll(), 400);
        }

        #[test]
        fn closes_the_session_upon_duplicate_poll_requests() {
            let mut h = Harness::polling_opened();
            let first = h.get();
            h.advance(5);
            let second = h.get();
            assert_eq!(h.response(second), Some(HttpResponse::Status(400)));
            assert_eq!(h.payload(first), "1");
            assert_eq!(
                h.closed_reason(),
                Some(CloseReason::TransportError(TransportError::PollOverlap))
            );
            assert_eq!(h.driver_status_for_poll(), 400);
        }

        #[test]
        fn closes_the_session_upon_cancelled_polling_request() {
            let mut h = Harness::polling_opened();
            let get = h.get();
            h.advance(5);
            h.abort(get);
            assert_eq!(
                h.closed_reason(),
                Some(CloseReason::TransportError(
                    TransportError::PollClosedPrematurely
                ))
            );
            assert_eq!(h.driver_status_for_poll(), 400);
        }
    }

    mod websocket {
        use super::*;

        #[test]
        fn sends_and_receives_a_plain_text_packet() {
            let mut h = Harness::websocket_opened();
            let ws = h.ws;
            h.ws_send(ws, WsMessage::Text("4hello".into()));
            assert_eq!(h.ws_messages(ws), [WsMessage::Text("4hello".into())]);
        }

        #[test]
        fn sends_and_receives_a_binary_packet() {
            let mut h = Harness::websocket_opened();
            let ws = h.ws;
            let bytes = Bytes::from_static(&[1, 2, 3, 4]);
            h.ws_send(ws, WsMessage::Binary(bytes.clone()));
            assert_eq!(h.ws_messages(ws), [WsMessage::Binary(bytes)]);
        }

        #[test]
        fn closes_the_session_upon_invalid_packet_format() {
            let mut h = Harness::websocket_opened();
            let ws = h.ws;
            h.ws_send(ws, WsMessage::Text("abc".into()));
            assert_eq!(h.ws_close(ws), Some(None));
            assert!(matches!(
                h.closed_reason(),
                Some(CloseReason::ParseError(_))
            ));
        }
    }
}

mod heartbeat {
    use super::*;

    mod http_long_polling {
        use super::*;

        #[test]
        fn sends_ping_pong_packets() {
            let mut h = Harness::polling_opened();
            for _ in 0..3 {
                let get = h.get();
                assert_eq!(h.response(get), None, "the poll waits for the ping");
                h.advance(300);
                assert_eq!(h.payload(get), "2");
                let post = h.post("3");
                assert_eq!(h.response(post), Some(HttpResponse::Ok));
            }
            assert_eq!(h.closed_reason(), None);
        }

        #[test]
        fn closes_the_session_upon_ping_timeout() {
            let mut h = Harness::polling_opened();
            h.advance(499);
            assert_eq!(
                h.closed_reason(),
                None,
                "no grace period, but no early close"
            );
            h.advance(1);
            assert_eq!(h.closed_reason(), Some(CloseReason::PingTimeout));
            assert_eq!(h.driver_status_for_poll(), 400);
        }
    }

    mod websocket {
        use super::*;

        #[test]
        fn sends_ping_pong_packets() {
            let mut h = Harness::websocket_opened();
            let ws = h.ws;
            for _ in 0..3 {
                h.advance(300);
                assert_eq!(h.ws_messages(ws), [WsMessage::Text("2".into())]);
                h.ws_send(ws, WsMessage::Text("3".into()));
            }
            h.advance(250);
            assert_eq!(h.closed_reason(), None);
        }

        #[test]
        fn closes_the_session_upon_ping_timeout() {
            let mut h = Harness::websocket_opened();
            let ws = h.ws;
            h.advance(500);
            assert_eq!(h.ws_messages(ws), [WsMessage::Text("2".into())]);
            assert_eq!(h.ws_close(ws), Some(None));
            assert_eq!(h.closed_reason(), Some(CloseReason::PingTimeout));
        }
    }
}

mod close {
    use super::*;

    mod http_long_polling {
        use super::*;

        #[test]
        fn forcefully_closes_the_session() {
            let mut h = Harness::polling_opened();
            let get = h.get();
            let post = h.post("1");
            assert_eq!(h.response(post), Some(HttpResponse::Ok));
            assert_eq!(h.payload(get), "6");
            assert_eq!(h.closed_reason(), Some(CloseReason::TransportClose));
            assert_eq!(h.driver_status_for_poll(), 400);
        }
    }

    mod websocket {
        use super::*;

        #[test]
        fn forcefully_closes_the_session() {
            let mut h = Harness::websocket_opened();
            let ws = h.ws;
            h.ws_send(ws, WsMessage::Text("1".into()));
            // The reference only closes through the ping timeout; we close at once.
            assert_eq!(h.ws_close(ws), Some(None));
            assert_eq!(h.closed_reason(), Some(CloseReason::TransportClose));
        }
    }
}

mod upgrade {
    use super::*;

    #[test]
    fn successfully_upgrades_from_http_long_polling_to_websocket() {
        let mut h = Harness::polling_opened();
        let ws = h.open_ws();
        h.ws_send(ws, WsMessage::Text("2probe".into()));
        assert_eq!(h.ws_messages(ws), [WsMessage::Text("3probe".into())]);
        assert_eq!(h.take_event(), Some(Event::Upgrading));
        let get = h.get();
        h.advance(100);
        assert_eq!(h.payload(get), "6");
        h.ws_send(ws, WsMessage::Text("5".into()));
        assert_eq!(h.take_event(), Some(Event::Upgraded));
        h.ws_send(ws, WsMessage::Text("4hello".into()));
        assert_eq!(h.ws_messages(ws), [WsMessage::Text("4hello".into())]);
    }

    #[test]
    fn ignores_http_requests_with_same_sid_after_upgrade() {
        let mut h = Harness::polling_opened();
        let ws = h.upgrade();
        let get = h.get();
        assert_eq!(
            h.response(get),
            Some(HttpResponse::Reject(Rejection::BadRequest(
                BadRequestReason::TransportMismatch
            )))
        );
        assert_eq!(h.driver_status_for_poll(), 400);
        h.ws_send(ws, WsMessage::Text("4hello".into()));
        assert_eq!(h.ws_messages(ws), [WsMessage::Text("4hello".into())]);
    }

    #[test]
    fn ignores_websocket_connection_with_same_sid_after_upgrade() {
        let mut h = Harness::polling_opened();
        let ws = h.upgrade();
        let second = h.open_ws();
        assert_eq!(h.ws_close(second), Some(None));
        h.ws_send(ws, WsMessage::Text("4hello".into()));
        assert_eq!(h.ws_messages(ws), [WsMessage::Text("4hello".into())]);
    }
}

/// Server behaviours of PROTOCOL.md §1.4–§1.8 beyond the official suite.
mod reference_behaviour {
    use super::*;

    #[test]
    fn an_observed_session_reports_packets_received_and_created_heartbeats_and_drains() {
        let mut h = Harness::websocket_opened();
        let ws = h.ws;
        assert_eq!(h.take_event(), None, "nothing is reported unless observed");
        h.session.observe(true);
        // A message in, echoed by the harness: received, then created and flushed.
        h.ws_send(ws, WsMessage::Text("4hello".into()));
        let mut events = Vec::new();
        while let Some(e) = h.take_event() {
            events.push(e);
        }
        assert_eq!(
            events,
            [
                Event::Packet(engineio_proto::Packet::message("hello")),
                Event::PacketCreate(engineio_proto::Packet::message("hello")),
                Event::Drain,
            ]
        );
        assert_eq!(h.ws_messages(ws).len(), 1);
        // The ping, then the client's pong: a heartbeat.
        h.advance(300);
        assert_eq!(
            h.take_event(),
            Some(Event::PacketCreate(engineio_proto::Packet::ping()))
        );
        assert_eq!(h.take_event(), Some(Event::Drain));
        h.ws_send(ws, WsMessage::Text("3".into()));
        assert_eq!(
            h.take_event(),
            Some(Event::Packet(engineio_proto::Packet::pong()))
        );
        assert_eq!(h.take_event(), Some(Event::Heartbeat));
        // Off again: nothing more.
        h.session.observe(false);
        h.ws_send(ws, WsMessage::Text("4again".into()));
        assert_eq!(h.take_event(), None);
    }

    #[test]
    fn on_polling_an_observed_session_drains_when_a_poll_takes_the_packets() {
        let mut h = Harness::polling_opened();
        h.session.observe(true);
        h.server_send("queued");
        assert_eq!(
            h.take_event(),
            Some(Event::PacketCreate(engineio_proto::Packet::message(
                "queued"
            )))
        );
        assert_eq!(h.take_event(), None, "no poll yet: nothing drained");
        let get = h.get();
        assert_eq!(h.payload(get), "4queued");
        assert_eq!(h.take_event(), Some(Event::Drain));
    }

    #[test]
    fn the_initial_packet_follows_the_open_packet_on_both_transports() {
        let mut config = Harness::suite_config();
        config.initial_packet(Data::Text("welcome".into()));
        let mut polling = Harness::polling_with(config.clone());
        let body = polling.take_open_response();
        let (open, initial) = body.split_once('\x1e').expect("two packets");
        assert_open_packet(open, &["websocket"]);
        assert_eq!(initial, "4welcome");

        let mut ws = Harness::websocket_with(config);
        let id = ws.ws;
        let messages: Vec<String> = ws.ws_messages(id).iter().map(text).collect();
        assert_eq!(messages.len(), 2);
        assert_open_packet(&messages[0], &[]);
        assert_eq!(messages[1], "4welcome");
    }

    #[test]
    fn a_post_body_over_max_payload_is_answered_413_and_the_session_is_kept() {
        let mut config = Harness::suite_config();
        config.max_payload(10);
        let mut h = Harness::polling_with(config);
        h.take_open_response();
        let post = h.post("4123456789A");
        assert_eq!(h.response(post), Some(HttpResponse::Status(413)));
        let post = h.post("412345678");
        assert_eq!(h.response(post), Some(HttpResponse::Ok));
        let get = h.get();
        assert_eq!(h.payload(get), "412345678");
    }

    #[test]
    fn a_websocket_message_over_max_payload_closes_with_1009() {
        let mut config = Harness::suite_config();
        config.max_payload(10);
        let mut h = Harness::websocket_with(config);
        let ws = h.ws;
        h.ws_messages(ws);
        h.ws_send(ws, WsMessage::Text("4123456789".into()));
        assert_eq!(h.ws_messages(ws), [WsMessage::Text("4123456789".into())]);
        h.ws_send(ws, WsMessage::Text("4123456789A".into()));
        assert_eq!(h.ws_close(ws), Some(Some(1009)));
        assert_eq!(
            h.closed_reason(),
            Some(CloseReason::TransportError(TransportError::MessageTooLarge))
        );
    }

    #[test]
    fn a_client_that_does_not_poll_is_closed_when_its_buffer_would_pass_max_buffered() {
        let mut config = Harness::suite_config();
        config.max_buffered(10);
        let mut h = Harness::polling_with(config);
        h.take_open_response();
        h.server_send("12345678"); // 9 bytes buffered
        assert_eq!(h.closed_reason(), None);
        assert!(h.session.send(Data::Text("x".into())).is_err() || h.closed_reason().is_some());
        h.drive();
        assert_eq!(
            h.closed_reason(),
            Some(CloseReason::TransportError(TransportError::BufferFull))
        );
    }

    #[test]
    fn an_overlapping_post_is_answered_400_and_closes_the_session() {
        let mut h = Harness::polling_opened();
        let get = h.get();
        let first = h.post_head();
        let second = h.post_head();
        assert_eq!(h.response(second), Some(HttpResponse::Status(400)));
        assert_eq!(h.payload(get), "1");
        assert_eq!(
            h.closed_reason(),
            Some(CloseReason::TransportError(TransportError::PostOverlap))
        );
        h.post_body(first, "4late");
        assert_eq!(
            h.response(first),
            Some(HttpResponse::Reject(Rejection::UnknownSid))
        );
    }

    #[test]
    fn an_octet_stream_post_is_answered_400_and_closes_the_session() {
        let mut h = Harness::polling_opened();
        let req = h.post_octet_stream();
        assert_eq!(h.response(req), Some(HttpResponse::Status(400)));
        assert_eq!(
            h.closed_reason(),
            Some(CloseReason::TransportError(TransportError::InvalidContent))
        );
    }

    #[test]
    fn another_method_with_a_sid_is_answered_500_and_the_session_is_kept() {
        let mut h = Harness::polling_opened();
        let req = h.other_method();
        assert_eq!(h.response(req), Some(HttpResponse::Status(500)));
        assert_eq!(h.closed_reason(), None);
    }

    #[test]
    fn packets_before_a_bad_record_are_processed() {
        let mut h = Harness::polling_opened();
        let get = h.get();
        let post = h.post("4x\x1eabc");
        assert_eq!(h.received, [Data::Text("x".into())]);
        assert_eq!(h.payload(get), "1");
        assert_eq!(h.response(post), Some(HttpResponse::Status(400)));
        assert!(matches!(
            h.closed_reason(),
            Some(CloseReason::ParseError(_))
        ));
    }

    #[test]
    fn a_ping_from_the_client_closes_the_session() {
        let mut h = Harness::polling_opened();
        let post = h.post("2");
        assert_eq!(h.response(post), Some(HttpResponse::Ok));
        assert_eq!(
            h.closed_reason(),
            Some(CloseReason::TransportError(
                TransportError::InvalidHeartbeatDirection
            ))
        );
        assert_eq!(h.driver_status_for_poll(), 400);
    }

    #[test]
    fn the_next_ping_goes_out_ping_interval_after_the_pong() {
        let mut h = Harness::websocket_opened();
        let ws = h.ws;
        h.advance(300);
        assert_eq!(h.ws_messages(ws), [WsMessage::Text("2".into())]);
        h.advance(150);
        h.ws_send(ws, WsMessage::Text("3".into()));
        h.advance(299);
        assert!(h.ws_messages(ws).is_empty());
        h.advance(1);
        assert_eq!(h.ws_messages(ws), [WsMessage::Text("2".into())]);
    }

    #[test]
    fn the_first_other_packet_while_awaiting_a_pong_refreshes_the_ping_timeout_once() {
        let mut h = Harness::websocket_opened();
        let ws = h.ws;
        h.advance(300); // ping sent, pong due at 500
        h.advance(150);
        h.ws_send(ws, WsMessage::Text("4a".into())); // pong now due at 650
        h.advance(100);
        h.ws_send(ws, WsMessage::Text("4b".into())); // no second refresh
        h.advance(99);
        assert_eq!(h.closed_reason(), None);
        h.advance(1);
        assert_eq!(h.closed_reason(), Some(CloseReason::PingTimeout));
    }

    #[test]
    fn the_ping_waits_in_the_buffer_until_a_poll_comes() {
        let mut h = Harness::polling_opened();
        h.advance(300);
        h.advance(100);
        let get = h.get();
        assert_eq!(h.payload(get), "2");
    }

    #[test]
    fn a_server_close_without_a_pending_poll_delivers_noop_and_close_to_the_next_poll() {
        let mut h = Harness::polling_opened();
        h.server_close();
        assert_eq!(
            h.closed_reason(),
            None,
            "closing until the close packet is delivered"
        );
        let get = h.get();
        assert_eq!(h.payload(get), "6\x1e1");
        assert_eq!(h.closed_reason(), Some(CloseReason::ForcedClose));
    }

    #[test]
    fn a_server_close_delivers_the_buffer_then_the_close_packet_on_the_next_poll() {
        let mut h = Harness::polling_opened();
        h.server_send("bye");
        h.server_close();
        let get = h.get();
        assert_eq!(h.payload(get), "4bye");
        assert_eq!(h.closed_reason(), None);
        let get = h.get();
        assert_eq!(h.payload(get), "6\x1e1");
        assert_eq!(h.closed_reason(), Some(CloseReason::ForcedClose));
    }

    #[test]
    fn a_server_close_with_a_pending_poll_answers_it_with_close() {
        let mut h = Harness::polling_opened();
        let get = h.get();
        h.server_close();
        assert_eq!(h.payload(get), "1");
        assert_eq!(h.closed_reason(), Some(CloseReason::ForcedClose));
    }

    #[test]
    fn a_closing_session_closes_after_the_close_timeout_without_a_poll() {
        let mut config = Harness::suite_config();
        config
            .ping_interval(Duration::from_secs(100))
            .close_timeout(Duration::from_millis(1000));
        let mut h = Harness::polling_with(config);
        h.take_open_response();
        h.server_close();
        h.advance(999);
        assert_eq!(h.closed_reason(), None);
        h.advance(1);
        assert_eq!(h.closed_reason(), Some(CloseReason::ForcedClose));
    }

    #[test]
    fn a_server_close_on_websocket_closes_the_socket() {
        let mut h = Harness::websocket_opened();
        let ws = h.ws;
        h.server_send("bye");
        h.server_close();
        assert_eq!(h.ws_messages(ws), [WsMessage::Text("4bye".into())]);
        assert_eq!(h.ws_close(ws), Some(None));
        assert_eq!(h.closed_reason(), Some(CloseReason::ForcedClose));
    }

    #[test]
    fn buffered_packets_move_to_the_websocket_after_the_upgrade() {
        let mut h = Harness::polling_opened();
        let ws = h.open_ws();
        h.ws_send(ws, WsMessage::Text("2probe".into()));
        h.ws_messages(ws);
        h.server_send("queued");
        h.ws_send(ws, WsMessage::Text("5".into()));
        assert_eq!(h.ws_messages(ws), [WsMessage::Text("4queued".into())]);
    }

    #[test]
    fn a_pending_poll_gets_the_close_packet_when_the_upgrade_completes() {
        let mut h = Harness::polling_opened();
        let ws = h.open_ws();
        h.ws_send(ws, WsMessage::Text("2probe".into()));
        let get = h.get();
        h.ws_send(ws, WsMessage::Text("5".into()));
        assert_eq!(h.payload(get), "1");
        assert_eq!(h.closed_reason(), None);
    }

    #[test]
    fn a_packet_other_than_the_probe_fails_the_upgrade_and_polling_goes_on() {
        let mut h = Harness::polling_opened();
        let ws = h.open_ws();
        h.ws_send(ws, WsMessage::Text("4hello".into()));
        assert_eq!(h.ws_close(ws), Some(None));
        let post = h.post("4still polling");
        assert_eq!(h.response(post), Some(HttpResponse::Ok));
        let get = h.get();
        assert_eq!(h.payload(get), "4still polling");
    }

    #[test]
    fn an_upgrade_not_completed_in_time_is_abandoned() {
        let mut config = Harness::suite_config();
        config
            .ping_interval(Duration::from_secs(100))
            .upgrade_timeout(Duration::from_millis(1000));
        let mut h = Harness::polling_with(config);
        h.take_open_response();
        let ws = h.open_ws();
        h.advance(1000);
        assert_eq!(h.ws_close(ws), Some(None));
        assert_eq!(h.closed_reason(), None);
        let post = h.post("4x");
        assert_eq!(h.response(post), Some(HttpResponse::Ok));
    }

    #[test]
    fn a_second_websocket_during_an_upgrade_is_closed() {
        let mut h = Harness::polling_opened();
        let _probe = h.open_ws();
        let second = h.open_ws();
        assert_eq!(h.ws_close(second), Some(None));
    }

    #[test]
    fn a_websocket_session_never_accepts_an_upgrade() {
        let mut h = Harness::websocket_opened();
        let second = h.open_ws();
        assert_eq!(h.ws_close(second), Some(None));
    }

    #[test]
    fn the_client_closing_the_websocket_closes_the_session() {
        let mut h = Harness::websocket_opened();
        let ws = h.ws;
        h.ws_closed(ws);
        assert_eq!(h.closed_reason(), Some(CloseReason::TransportClose));
        assert_eq!(CloseReason::TransportClose.as_str(), "transport close");
    }

    #[test]
    fn binary_goes_as_base64_text_to_a_websocket_client_without_binary_support() {
        let mut h = Harness::websocket_b64();
        let ws = h.ws;
        h.ws_messages(ws);
        h.ws_send(ws, WsMessage::Binary(Bytes::from_static(&[1, 2, 3, 4])));
        assert_eq!(h.ws_messages(ws), [WsMessage::Text("bAQIDBA==".into())]);
    }

    #[test]
    fn a_request_with_another_eio_revision_is_a_protocol_mismatch() {
        let h = Harness::polling_opened();
        assert_eq!(
            h.session
                .verify(engineio_proto::SessionRequest::Poll, false),
            Err(Rejection::BadRequest(BadRequestReason::ProtocolMismatch))
        );
    }

    #[test]
    fn close_reasons_use_the_reference_strings() {
        assert_eq!(CloseReason::PingTimeout.as_str(), "ping timeout");
        assert_eq!(CloseReason::ForcedClose.as_str(), "forced close");
        assert_eq!(
            CloseReason::TransportError(TransportError::PollOverlap).as_str(),
            "transport error"
        );
        assert_eq!(
            TransportError::PollOverlap.to_string(),
            "overlap from client"
        );
    }
}
