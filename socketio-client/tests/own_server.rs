//! The client against our own server (`socketio-server`) over loopback, in the three
//! transport modes.

use std::time::Duration;

use bytes::Bytes;
use socketio_client::{
    ClientBuilder, DisconnectReason, Manager, Options, ParserKind, TransportMode,
};
use socketio_server::{Config, SocketIo, Spread, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::timeout;

const T: Duration = Duration::from_secs(10);

async fn start_server(parser: ParserKind) -> String {
    let mut config = Config::default();
    config
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .parser(parser);
    let io = SocketIo::new(config);
    io.of("/").on_connection(|socket| async move {
        let _ = socket.emit("auth", &socket.handshake().auth);
        socket.on("echo", |socket, msg| async move {
            let args: Vec<Value> = msg.args().unwrap_or_default();
            let _ = socket.emit("echo-back", &Spread(&args));
        });
        socket.on("add", |_socket, mut msg| async move {
            let (a, b): (i64, i64) = msg.args().unwrap_or((0, 0));
            let _ = msg.ack(&(a + b,));
        });
        socket.on("ask-me", |socket, _msg| async move {
            let reply = socket
                .timeout(Duration::from_secs(5))
                .emit_with_ack("question", &("what?",))
                .await;
            let answer: (String,) = match reply {
                Ok(r) => r.args().unwrap_or_else(|_| ("bad".into(),)),
                Err(_) => ("timeout".into(),),
            };
            let _ = socket.emit("answer", &answer);
        });
        socket.on("kick-me", |socket, _msg| async move {
            socket.disconnect();
        });
        socket.on("message", |socket, msg| async move {
            let args: Vec<Value> = msg.args().unwrap_or_default();
            let _ = socket.send(&Spread(&args));
        });
    });
    io.of("/admin").on_connection(|socket| async move {
        let _ = socket.emit("welcome", &socket.ns().to_owned());
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { io.serve(listener).await });
    format!("http://{addr}")
}

fn collect(
    socket: &socketio_client::Socket,
    events: &[&str],
) -> mpsc::UnboundedReceiver<(String, Vec<Value>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    for ev in events {
        let tx = tx.clone();
        socket.on(ev.to_string(), move |_s, msg| {
            let tx = tx.clone();
            async move {
                let args: Vec<Value> = msg.args().unwrap();
                let _ = tx.send((msg.event().to_owned(), args));
            }
        });
    }
    rx
}

async fn scenario(mode: TransportMode, parser: ParserKind) {
    let url = start_server(parser).await;
    let (tx_disc, mut rx_disc) = mpsc::unbounded_channel();
    let socket = ClientBuilder::new(&format!("{url}/"))
        .options(|o| {
            o.transports(mode).parser(parser);
        })
        .auth(&serde_json::json!({"token": "abc"}))
        .on("question", |_socket, msg| async move {
            assert!(msg.needs_ack());
            let (q,): (String,) = msg.args().unwrap();
            msg.ack(&format!("answer to {q}")).await.unwrap();
        })
        .on_disconnect(move |_s, reason| {
            let tx = tx_disc.clone();
            async move {
                let _ = tx.send(reason);
            }
        })
        .connect()
        .await
        .expect("connect");
    assert!(socket.connected());
    assert!(socket.id().is_some());
    let mut rx = collect(&socket, &["auth", "echo-back", "answer"]);
    // `auth` may have arrived before the handler was registered: re-ask with echo instead.
    socket
        .emit(
            "echo",
            &(
                "x",
                1,
                Bytes::from_static(&[1, 2, 3]),
                serde_json::json!({"k": [true]}),
                Bytes::from_static(&[4]),
            ),
        )
        .await
        .unwrap();
    let (ev, args) = loop {
        let got = timeout(T, rx.recv()).await.unwrap().unwrap();
        if got.0 != "auth" {
            break got;
        }
    };
    assert_eq!(ev, "echo-back");
    assert_eq!(args.len(), 5);
    assert_eq!(args[0].as_str(), Some("x"));
    assert_eq!(args[2].as_binary(), Some(&Bytes::from_static(&[1, 2, 3])));
    assert_eq!(args[4].as_binary(), Some(&Bytes::from_static(&[4])));

    // Binary both ways, typed (this listener in place of the first: listeners add up).
    let (tx_bin, mut rx_bin) = mpsc::unbounded_channel();
    socket.remove_all_listeners(Some("echo-back"));
    socket.on("echo-back", move |_s, msg| {
        let tx = tx_bin.clone();
        async move {
            let args: (String, i32, Bytes, serde_json::Value, Bytes) = msg.args().unwrap();
            let _ = tx.send(args);
        }
    });
    socket
        .emit(
            "echo",
            &(
                "y",
                2,
                Bytes::from_static(&[9, 8]),
                serde_json::Value::Null,
                Bytes::from_static(b"z"),
            ),
        )
        .await
        .unwrap();
    let got = timeout(T, rx_bin.recv()).await.unwrap().unwrap();
    assert_eq!(got.2, Bytes::from_static(&[9, 8]));
    assert_eq!(got.4, Bytes::from_static(b"z"));

    // Our ack request, typed answer.
    let (sum,): (i64,) = timeout(T, socket.emit_with_ack("add", &(2, 3)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sum, 5);

    // The server's emitWithAck answered by our handler.
    socket.emit("ask-me", &()).await.unwrap();
    let (ev, args) = timeout(T, rx.recv()).await.unwrap().unwrap();
    assert_eq!(ev, "answer");
    assert_eq!(args[0].as_str(), Some("answer to what?"));

    // Server-side disconnect: "io server disconnect", no reconnection.
    socket.emit("kick-me", &()).await.unwrap();
    let reason = timeout(T, rx_disc.recv()).await.unwrap().unwrap();
    assert_eq!(reason, DisconnectReason::IoServerDisconnect);
    assert_eq!(reason.as_str(), "io server disconnect");
    assert!(!socket.active());
    assert!(!socket.connected());
}

#[tokio::test]
async fn polling_only_against_our_server() {
    scenario(TransportMode::Polling, ParserKind::Default).await;
}

#[tokio::test]
async fn websocket_only_against_our_server() {
    scenario(TransportMode::WebSocket, ParserKind::Default).await;
}

#[tokio::test]
async fn upgrade_against_our_server() {
    scenario(TransportMode::Both, ParserKind::Default).await;
}

#[tokio::test]
async fn msgpack_parser_against_our_server() {
    scenario(TransportMode::Both, ParserKind::MsgPack).await;
}

#[tokio::test]
async fn two_namespaces_share_one_engine_connection() {
    let url = start_server(ParserKind::Default).await;
    let manager = Manager::new(&url, Options::default()).unwrap();
    let mut events = manager.subscribe();
    let main = manager.socket("/").unwrap();
    let admin = manager.socket("/admin").unwrap();
    let mut rx = collect(&admin, &["welcome"]);
    main.connect().await.unwrap();
    admin.connect().await.unwrap();
    let (_, args) = timeout(T, rx.recv()).await.unwrap().unwrap();
    assert_eq!(args[0].as_str(), Some("/admin"));
    let (sum,): (i64,) = timeout(T, main.emit_with_ack("add", &(40, 2)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sum, 42);
    // One `open` only: both namespaces ride on the same Engine.IO connection.
    let mut opens = 0;
    while let Ok(ev) = events.try_recv() {
        if ev == socketio_client::ManagerEvent::Open {
            opens += 1;
        }
    }
    assert_eq!(opens, 1);
    admin.disconnect().await.unwrap();
    assert!(
        main.connected()
            || timeout(T, main.emit_with_ack::<_, (i64,)>("add", &(1, 1)))
                .await
                .is_ok()
    );
}

#[tokio::test]
async fn unknown_namespace_is_a_connect_error_from_the_server() {
    let url = start_server(ParserKind::Default).await;
    let err = ClientBuilder::new(&format!("{url}/nope"))
        .connect()
        .await
        .unwrap_err();
    match err {
        socketio_client::ClientError::Connect(e) => {
            assert_eq!(e.message, "Invalid namespace");
            assert!(e.is_from_server());
        }
        e => panic!("{e}"),
    }
}

/// Our server with connection state recovery on: `hello` on connection (the client's first
/// offset: without one, there is nothing to recover from, as with Node), and
/// `drop-transport` (n) closes the client's connection, then emits `missed` 1..=n to its id
/// while it is away.
async fn start_recovery_server(parser: ParserKind) -> String {
    let mut config = Config::default();
    config
        .parser(parser)
        .connection_state_recovery(socketio_server::RecoveryConfig::default());
    let io = SocketIo::new(config);
    let server = io.clone();
    io.of("/").on_connection(move |socket| {
        let io = server.clone();
        async move {
            let _ = socket.emit("hello", &());
            socket.on("drop-transport", move |socket, msg| {
                let io = io.clone();
                async move {
                    let (n,): (u32,) = msg.args().unwrap_or((0,));
                    let id = socket.id().to_owned();
                    socket.close_transport();
                    // Its own task: the handlers of a socket end with it.
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        for k in 1..=n {
                            let _ = io.to(id.as_str()).emit("missed", &k);
                        }
                    });
                }
            });
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { io.serve(listener).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn our_server_recovers_the_session_and_replays_the_missed_events_before_connect() {
    for parser in [ParserKind::Default, ParserKind::MsgPack] {
        let url = start_recovery_server(parser).await;
        let mut options = Options::default();
        options
            .parser(parser)
            // Reconnect after the server emitted the missed events.
            .reconnection_delay(Duration::from_millis(500))
            .randomization_factor(0.0);
        let manager = Manager::new(&url, options).unwrap();
        let socket = manager.socket("/").unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let t = tx.clone();
        socket.on("missed", move |_s, msg| {
            let t = t.clone();
            async move {
                // The server appended its offset: [n, offset].
                let (n, offset): (u32, String) = msg.args().unwrap();
                assert!(!offset.is_empty());
                let _ = t.send(format!("missed {n}"));
            }
        });
        let t = tx.clone();
        socket.on_connect(move |s| {
            let t = t.clone();
            async move {
                let _ = t.send(format!("connect recovered={}", s.recovered()));
            }
        });
        socket.connect().await.unwrap();
        assert_eq!(
            timeout(T, rx.recv()).await.unwrap().unwrap(),
            "connect recovered=false"
        );
        let sid = socket.id().unwrap();
        socket.emit("drop-transport", &3).await.unwrap();
        let mut got = Vec::new();
        while got.len() < 4 {
            match timeout(T, rx.recv()).await {
                Ok(Some(event)) => got.push(event),
                _ => panic!("{parser:?}: only {got:?}"),
            }
        }
        assert_eq!(
            got,
            ["missed 1", "missed 2", "missed 3", "connect recovered=true"],
            "{parser:?}"
        );
        assert!(socket.recovered());
        assert_eq!(socket.id().as_deref(), Some(sid.as_str()));
        let _ = manager.close().await;
    }
}

#[tokio::test]
async fn listeners_come_off_by_id_and_every_listener_of_connect_and_disconnect_runs() {
    let url = start_server(ParserKind::Default).await;
    let manager = Manager::new(&url, Options::default()).unwrap();
    let socket = manager.socket("/").unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    for label in ["connect 1", "connect 2"] {
        let tx = tx.clone();
        socket.on_connect(move |_s| {
            let _ = tx.send(label.to_owned());
            async {}
        });
    }
    let mut ids = Vec::new();
    for label in ["disconnect 1", "disconnect 2", "disconnect 3"] {
        let tx = tx.clone();
        ids.push(socket.on_disconnect(move |_s, r| {
            let _ = tx.send(format!("{label}: {}", r.as_str()));
            async {}
        }));
    }
    assert!(socket.off("disconnect", ids[1]));
    assert!(!socket.off("disconnect", ids[1]));
    assert_eq!(socket.listeners("disconnect"), [ids[0], ids[2]]);
    let a = socket.on("echo-back", |_s, _m| async {});
    let b = socket.on("echo-back", |_s, _m| async {});
    assert!(
        !socket.off("auth", a),
        "an id of another event removes nothing"
    );
    assert_eq!(socket.listeners("echo-back"), [a, b]);
    socket.remove_all_listeners(Some("echo-back"));
    assert!(socket.listeners("echo-back").is_empty());
    let any = socket.on_any(|_s, _m| async {});
    assert_eq!(socket.listeners_any(), [any]);
    socket.remove_any_listeners();
    assert!(socket.listeners_any().is_empty());

    socket.connect().await.unwrap();
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(timeout(T, rx.recv()).await.unwrap().unwrap());
    }
    assert_eq!(got, ["connect 1", "connect 2"]);
    socket.emit("kick-me", &()).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(timeout(T, rx.recv()).await.unwrap().unwrap());
    }
    assert_eq!(
        got,
        [
            "disconnect 1: io server disconnect",
            "disconnect 3: io server disconnect"
        ]
    );
}

#[tokio::test]
async fn our_server_answers_send_with_send() {
    let url = start_server(ParserKind::Default).await;
    let manager = Manager::new(&url, Options::default()).unwrap();
    let socket = manager.socket("/").unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<Value>>();
    socket.on("message", move |_s, msg| {
        let _ = tx.send(msg.args().unwrap());
        async {}
    });
    socket.connect().await.unwrap();
    socket.send(&("hello", 1)).await.unwrap();
    let args = timeout(T, rx.recv()).await.unwrap().unwrap();
    assert_eq!(
        args,
        [Value::String("hello".into()), Value::Number(1.into())]
    );
}

#[tokio::test]
async fn arg_reads_the_first_argument_of_an_event_with_several() {
    let url = start_server(ParserKind::MsgPack).await;
    let mut options = Options::default();
    options.parser(ParserKind::MsgPack);
    let manager = Manager::new(&url, options).unwrap();
    let socket = manager.socket("/").unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    socket.on("echo-back", move |_s, msg| {
        let _ = tx.send(msg.arg::<String>().unwrap());
        async {}
    });
    socket.connect().await.unwrap();
    socket
        .emit("echo", &("first", 2, Bytes::from_static(b"x")))
        .await
        .unwrap();
    assert_eq!(timeout(T, rx.recv()).await.unwrap().unwrap(), "first");
}

/// A loopback port with nothing listening (bound, then released).
async fn free_port() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn connect_keeps_trying_a_server_that_is_not_up_yet_and_reports_each_failure() {
    let addr = free_port().await;
    let (tx, mut errors) = mpsc::unbounded_channel::<bool>();
    let client = ClientBuilder::new(&format!("http://{addr}/"))
        .options(|o| {
            o.reconnection_delay(Duration::from_millis(50))
                .reconnection_delay_max(Duration::from_millis(100));
        })
        .on_connect_error(move |_s, e| {
            let _ = tx.send(e.is_from_server());
            async {}
        })
        .connect();
    let connecting = tokio::spawn(client);
    // Two failures at least, then the server comes up on that port.
    for _ in 0..2 {
        let from_server = timeout(T, errors.recv()).await.unwrap().unwrap();
        assert!(!from_server, "a connection failure, not a refusal");
    }
    let io = SocketIo::new(Config::default());
    io.of("/").on_connection(|_| async {});
    let listener = TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move { io.serve(listener).await });
    let socket = timeout(T, connecting).await.unwrap().unwrap().unwrap();
    assert!(socket.connected());
}

#[tokio::test]
async fn connect_gives_up_once_the_reconnection_attempts_are_used_up_or_without_reconnection() {
    let addr = free_port().await;
    let url = format!("http://{addr}/");
    let result = timeout(
        T,
        ClientBuilder::new(&url)
            .options(|o| {
                o.reconnection_attempts(Some(2))
                    .reconnection_delay(Duration::from_millis(20))
                    .reconnection_delay_max(Duration::from_millis(20));
            })
            .connect(),
    )
    .await
    .unwrap();
    assert!(
        matches!(result, Err(socketio_client::ClientError::Connect(ref e)) if !e.is_from_server()),
        "{result:?}"
    );
    let result = timeout(
        T,
        ClientBuilder::new(&url)
            .options(|o| {
                o.reconnection(false);
            })
            .connect(),
    )
    .await
    .unwrap();
    assert!(
        matches!(result, Err(socketio_client::ClientError::Connect(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn the_server_socket_sees_its_transport_and_the_upgrade_to_websocket() {
    let io = SocketIo::new(Config::default());
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    io.of("/").on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            tx.send(format!("connected over {}", socket.transport_name()))
                .unwrap();
            let tx = tx.clone();
            socket.on_upgrade(move |socket| {
                let tx = tx.clone();
                async move {
                    tx.send(format!("upgraded to {}", socket.transport_name()))
                        .unwrap();
                }
            });
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { io.serve(listener).await });
    let manager = Manager::new(&format!("http://{addr}"), Options::default()).unwrap();
    let socket = manager.socket("/").unwrap();
    socket.connect().await.unwrap();
    assert_eq!(
        timeout(T, rx.recv()).await.unwrap().unwrap(),
        "connected over polling"
    );
    assert_eq!(
        timeout(T, rx.recv()).await.unwrap().unwrap(),
        "upgraded to websocket"
    );
}

#[tokio::test]
async fn a_session_id_chosen_by_generate_id_carries_the_connection_through_polling_and_the_upgrade()
{
    let mut config = Config::default();
    let n = std::sync::atomic::AtomicU32::new(0);
    config.generate_id(move |parts| {
        let user = parts.headers.get("x-user").and_then(|v| v.to_str().ok());
        let n = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok::<_, std::convert::Infallible>(format!("{}.{n}", user.unwrap_or("anonymous")))
    });
    let io = SocketIo::new(config);
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    io.of("/").on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.on_upgrade(move |socket| {
                let tx = tx.clone();
                async move {
                    tx.send(format!("upgraded {}", socket.transport_name()))
                        .unwrap();
                }
            });
            socket.on("echo", |socket, msg| async move {
                let _ = socket.emit("echo-back", &msg.arg::<String>().unwrap());
            });
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { io.serve(listener).await });
    let mut options = Options::default();
    options.header(
        http::HeaderName::from_static("x-user"),
        http::HeaderValue::from_static("alice"),
    );
    let manager = Manager::new(&format!("http://{addr}"), options).unwrap();
    let socket = manager.socket("/").unwrap();
    let (back_tx, mut back) = mpsc::unbounded_channel::<String>();
    socket.on("echo-back", move |_socket, msg| {
        let back_tx = back_tx.clone();
        async move {
            back_tx.send(msg.arg::<String>().unwrap()).unwrap();
        }
    });
    let mut events = manager.subscribe();
    socket.connect().await.unwrap();
    while timeout(T, events.recv()).await.unwrap().unwrap() != socketio_client::ManagerEvent::Open {
    }
    assert_eq!(manager.engine_id().as_deref(), Some("alice.0"));
    assert_eq!(
        timeout(T, rx.recv()).await.unwrap().unwrap(),
        "upgraded websocket"
    );
    socket.emit("echo", &("after the upgrade",)).await.unwrap();
    assert_eq!(
        timeout(T, back.recv()).await.unwrap().unwrap(),
        "after the upgrade"
    );
}

#[tokio::test]
async fn without_a_trailing_slash_and_with_sub_protocols_our_server_answers_with_the_first() {
    let io = SocketIo::new(Config::default());
    io.of("/").on_connection(|_socket| async {});
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    io.on_initial_headers(move |response, request| {
        let protocol = response
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        tx.send(format!(
            "{} {} t={}",
            request.uri.path(),
            protocol,
            request
                .uri
                .query()
                .unwrap_or("")
                .split('&')
                .any(|pair| pair.starts_with("t="))
        ))
        .unwrap();
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { io.serve(listener).await });
    let mut options = Options::default();
    options
        .transports(TransportMode::WebSocket)
        .add_trailing_slash(false)
        .protocols(["chat.v1", "chat.v0"]);
    let manager = Manager::new(&format!("http://{addr}"), options).unwrap();
    let socket = manager.socket("/").unwrap();
    let (connected_tx, mut connected) = mpsc::unbounded_channel::<()>();
    socket.on_connect(move |_socket| {
        let _ = connected_tx.send(());
        async {}
    });
    socket.connect().await.unwrap();
    timeout(T, connected.recv()).await.unwrap().unwrap();
    assert_eq!(
        timeout(T, rx.recv()).await.unwrap().unwrap(),
        "/socket.io chat.v1 t=false"
    );
}

#[tokio::test]
async fn a_listener_holding_a_weak_socket_lets_the_client_end_when_its_handles_are_dropped() {
    let io = SocketIo::new(Config::default());
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    io.of("/").on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            let _ = socket.emit("hello", &());
            socket.on_disconnect(move |_socket, reason| {
                let _ = tx.send(reason.as_str().to_owned());
                async {}
            });
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { io.serve(listener).await });
    let manager = Manager::new(&format!("http://{addr}"), Options::default()).unwrap();
    let socket = manager.socket("/").unwrap();
    let weak = socket.downgrade();
    let (hello_tx, mut hello) = mpsc::unbounded_channel::<bool>();
    socket.on("hello", move |_socket, _msg| {
        let weak = weak.clone();
        let hello_tx = hello_tx.clone();
        async move {
            let _ = hello_tx.send(weak.upgrade().is_some());
        }
    });
    socket.connect().await.unwrap();
    assert!(
        timeout(T, hello.recv()).await.unwrap().unwrap(),
        "alive while the application holds it"
    );
    drop(socket);
    drop(manager);
    let reason = timeout(T, rx.recv()).await.unwrap().unwrap();
    assert!(
        reason == "client namespace disconnect" || reason == "transport close",
        "{reason}"
    );
}

/// Our server with the `cookie` option; the `Cookie` header of every request of a session
/// (not handshakes) goes to the returned channel, with the transport.
async fn cookie_server() -> (String, mpsc::UnboundedReceiver<(String, String)>) {
    let mut config = Config::default();
    config.cookie("io");
    let io = SocketIo::new(config);
    io.of("/").on_connection(|socket| async move {
        socket.on("echo", |socket, _msg| async move {
            let _ = socket.emit("echo-back", &());
        });
    });
    let (tx, rx) = mpsc::unbounded_channel();
    io.on_headers(move |_headers, request| {
        if request.is_handshake() {
            return;
        }
        let query = request.uri.query().unwrap_or("").to_owned();
        let transport = if query.contains("transport=websocket") {
            "websocket"
        } else {
            "polling"
        };
        let cookie = request
            .headers
            .get("cookie")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let _ = tx.send((transport.to_owned(), cookie));
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { io.serve(listener).await });
    (format!("http://{addr}"), rx)
}

#[tokio::test]
async fn with_credentials_the_client_sends_back_the_cookies_the_server_set_polling_and_websocket() {
    let (url, mut requests) = cookie_server().await;
    let mut options = Options::default();
    options.with_credentials(true);
    let manager = Manager::new(&url, options).unwrap();
    let mut events = manager.subscribe();
    let socket = manager.socket("/").unwrap();
    socket.connect().await.unwrap();
    while timeout(T, events.recv()).await.unwrap().unwrap() != socketio_client::ManagerEvent::Open {
    }
    let sid = manager.engine_id().expect("the engine id");
    // Every request of the session, polling ones and the upgrade's WebSocket, carries it.
    let (mut polling, mut websocket) = (false, false);
    while !(polling && websocket) {
        let (transport, cookie) = timeout(T, requests.recv()).await.unwrap().unwrap();
        assert_eq!(cookie, format!("io={sid}"), "{transport}");
        polling |= transport == "polling";
        websocket |= transport == "websocket";
    }
}

#[tokio::test]
async fn without_credentials_no_cookie_goes_back() {
    let (url, mut requests) = cookie_server().await;
    let mut options = Options::default();
    options.transports(TransportMode::Polling);
    let manager = Manager::new(&url, options).unwrap();
    let socket = manager.socket("/").unwrap();
    socket.connect().await.unwrap();
    let (_, cookie) = timeout(T, requests.recv()).await.unwrap().unwrap();
    assert_eq!(cookie, "");
}

#[tokio::test]
async fn close_and_disconnect_return_once_done() {
    let io = SocketIo::new(Config::default());
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    io.of("/").on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.on_disconnect(move |_s, reason| {
                let _ = tx.send(reason);
                async {}
            });
        }
    });
    io.of("/admin").on_connection(|_| async {});
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = io.clone();
    tokio::spawn(async move { server.serve(listener).await });
    let manager = Manager::new(&format!("http://{addr}"), Options::default()).unwrap();
    let mut events = manager.subscribe();
    let main = manager.socket("/").unwrap();
    let admin = manager.socket("/admin").unwrap();
    main.connect().await.unwrap();
    admin.connect().await.unwrap();
    timeout(T, async {
        while !(main.connected() && admin.connected()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    // DISCONNECT handed over: the server sees it (the other namespace keeps the connection).
    timeout(T, main.disconnect()).await.unwrap().unwrap();
    assert!(!main.connected());
    let reason = timeout(T, rx.recv()).await.unwrap().unwrap();
    assert_eq!(reason, "client namespace disconnect");
    assert_eq!(io.connection_count(), 1);
    // Closed when close returns: the Manager reports no transport any more.
    timeout(T, manager.close()).await.unwrap().unwrap();
    assert_eq!(manager.transport_name(), None);
    let mut closed = false;
    while let Ok(event) = events.try_recv() {
        closed |= matches!(event, socketio_client::ManagerEvent::Close(_));
    }
    assert!(closed, "the close event came before close returned");
}
