//! The server API over loopback, with a raw WebSocket client speaking the protocol by hand.

use std::time::Duration;

use bytes::Bytes;
use socketio_server::{ConnectError, Socket, SocketIo, Spread, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::timeout;

mod common;

use common::{Client, WAIT, config, http_get, http_post, http_request, next, start};

#[tokio::test]
async fn a_middleware_refusal_reaches_the_client_as_connect_error_with_data() {
    let io = SocketIo::new(config());
    io.of("/mw").use_middleware(|_socket| async move {
        Err(
            ConnectError::new("not authorized").with_data(Value::Object(vec![(
                "content".into(),
                Value::String("please retry".into()),
            )])),
        )
    });
    let addr = start(&io).await;
    let mut client = Client::connect(addr).await;
    assert_eq!(
        client.join("/mw").await,
        r#"44/mw,{"message":"not authorized","data":{"content":"please retry"}}"#
    );
    // The connection stays open: another namespace still works.
    io.of("/").on_connection(|_| async {});
    assert!(client.join("/").await.starts_with(r#"40{"sid":"#));
}

#[tokio::test]
async fn a_middleware_sees_the_socket_id_and_joins_rooms_the_socket_is_in_once_connected() {
    let io = SocketIo::new(config());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = events.clone();
    io.of("/")
        .on_room_event(move |e| seen.lock().unwrap().push(format!("{e:?}")));
    let mw_tx = tx.clone();
    io.of("/").use_middleware(move |socket| {
        let tx = mw_tx.clone();
        async move {
            socket.join(["team", "refused-team"]);
            socket.leave("refused-team");
            tx.send(format!("middleware {} {:?}", socket.id(), socket.rooms()))
                .unwrap();
            if serde_json::to_string(&socket.handshake().auth)
                .unwrap()
                .contains("refuse")
            {
                socket.join("refused-room");
                return Err(ConnectError::new("no"));
            }
            Ok(())
        }
    });
    io.of("/").on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            tx.send(format!("connected {} {:?}", socket.id(), socket.rooms()))
                .unwrap();
        }
    });
    let addr = start(&io).await;
    let mut refused = Client::connect(addr).await;
    refused.send(r#"40{"refuse":true}"#).await;
    assert!(refused.recv().await.starts_with("44"));
    let mw = next(&mut rx).await;
    let refused_id = mw.split(' ').nth(1).unwrap();
    assert_eq!(
        mw,
        format!(r#"middleware {refused_id} ["{refused_id}", "team"]"#)
    );

    let mut client = Client::connect(addr).await;
    let reply = client.join("/").await;
    let mw = next(&mut rx).await;
    let connected = next(&mut rx).await;
    let id = mw.split(' ').nth(1).unwrap().to_owned();
    assert!(!id.is_empty(), "the middleware sees the socket's id");
    assert_eq!(mw, format!(r#"middleware {id} ["{id}", "team"]"#));
    assert_eq!(connected, format!(r#"connected {id} ["{id}", "team"]"#));
    assert_eq!(reply, format!(r#"40{{"sid":"{id}"}}"#));
    io.to("team").emit("hi", &()).unwrap();
    assert_eq!(client.recv().await, r#"42["hi"]"#);
    // The refused socket was never in a room: no room was created for it.
    let events = events.lock().unwrap().join(" ");
    assert!(!events.contains("refused"), "{events}");
    assert!(events.contains("team"), "{events}");
}

#[tokio::test]
async fn middlewares_run_in_order_and_can_attach_data_to_the_socket() {
    #[derive(Clone)]
    struct User(String);
    let io = SocketIo::new(config());
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.of("/")
        .use_middleware(|socket| async move {
            socket.extensions().insert(User("ada".into()));
            Ok(())
        })
        .use_middleware(|socket| async move {
            assert!(socket.extensions().get::<User>().is_some());
            Ok(())
        })
        .on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                let user = socket.extensions().get::<User>().cloned().unwrap();
                tx.send(user.0).unwrap();
            }
        });
    let addr = start(&io).await;
    let mut client = Client::connect(addr).await;
    assert!(client.join("/").await.starts_with(r#"40{"sid":"#));
    assert_eq!(timeout(WAIT, rx.recv()).await.unwrap().unwrap(), "ada");
}

#[tokio::test]
async fn the_socket_id_differs_from_the_engine_io_session_id() {
    let io = SocketIo::new(config());
    io.of("/").on_connection(|_| async {});
    let addr = start(&io).await;
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut client = Client { ws };
    let open = client.recv().await;
    let open: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    let reply = client.join("/").await;
    let reply: serde_json::Value = serde_json::from_str(&reply[2..]).unwrap();
    assert_eq!(reply["sid"].as_str().unwrap().len(), 20);
    assert_ne!(reply["sid"], open["sid"]);
}

#[tokio::test]
async fn an_emit_with_ack_resolves_with_the_clients_answer_or_times_out() {
    let io = SocketIo::new(config());
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.of("/").on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            let answered = socket
                .timeout(Duration::from_secs(2))
                .emit_with_ack("ask", &1)
                .await
                .and_then(|r| r.args::<(u32,)>());
            tx.send(format!("{answered:?}")).unwrap();
            let unanswered = socket
                .timeout(Duration::from_millis(100))
                .emit_with_ack("ask", &2)
                .await;
            tx.send(format!("{}", unanswered.unwrap_err())).unwrap();
        }
    });
    let addr = start(&io).await;
    let mut client = Client::connect(addr).await;
    client.join("/").await;
    assert_eq!(client.recv().await, r#"420["ask",1]"#);
    client.send("430[42]").await;
    assert_eq!(
        timeout(WAIT, rx.recv()).await.unwrap().unwrap(),
        "Ok((42,))"
    );
    assert_eq!(client.recv().await, r#"421["ask",2]"#);
    assert_eq!(
        timeout(WAIT, rx.recv()).await.unwrap().unwrap(),
        "operation has timed out"
    );
}

#[tokio::test]
async fn an_emit_with_ack_without_timeout_waits_until_the_socket_disconnects() {
    let io = SocketIo::new(config());
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.of("/").on_connection(move |socket| {
        let tx = tx.clone();
        // In a task of its own: the socket's queue (and a handler still running in it) goes
        // when the socket disconnects.
        tokio::spawn(async move {
            // Waiters that give up (their future dropped) are forgotten, not kept.
            for _ in 0..100 {
                let abandoned = socket.emit_with_ack("ignored", &());
                assert!(timeout(Duration::from_millis(1), abandoned).await.is_err());
            }
            let answered = socket.emit_with_ack("ask", &1).await;
            tx.send(format!("{:?}", answered.and_then(|r| r.args::<(u32,)>())))
                .unwrap();
            let unanswered = socket.emit_with_ack("ask", &2).await;
            tx.send(format!("{}", unanswered.unwrap_err())).unwrap();
        });
        async {}
    });
    let addr = start(&io).await;
    let mut client = Client::connect(addr).await;
    client.join("/").await;
    for id in 0..100 {
        assert_eq!(client.recv().await, format!(r#"42{id}["ignored"]"#));
    }
    assert_eq!(client.recv().await, r#"42100["ask",1]"#);
    client.send(r#"430[7]"#).await; // a late answer to an abandoned ack: ignored
    client.send(r#"43100[42]"#).await;
    assert_eq!(next(&mut rx).await, "Ok((42,))");
    assert_eq!(client.recv().await, r#"42101["ask",2]"#);
    // No deadline: only the socket leaving ends the wait.
    client.send("41").await;
    assert_eq!(next(&mut rx).await, "socket has been disconnected");
}

#[tokio::test]
async fn disconnect_reasons_are_the_reference_strings() {
    let io = SocketIo::new(config());
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.of("/").on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            socket.on_disconnect(move |_socket, reason| {
                let tx = tx.clone();
                async move { tx.send(reason).unwrap() }
            });
            socket.on("leave", |socket, _msg| async move { socket.disconnect() });
        }
    });
    let addr = start(&io).await;

    let mut client = Client::connect(addr).await;
    client.join("/").await;
    client.send("41").await;
    let got = next(&mut rx).await;
    assert_eq!(got, "client namespace disconnect");

    client.join("/").await;
    client.send(r#"42["leave"]"#).await;
    assert_eq!(client.recv().await, "41");
    let got = next(&mut rx).await;
    assert_eq!(got, "server namespace disconnect");

    client.join("/").await;
    drop(client);
    let got = next(&mut rx).await;
    assert_eq!(got, "transport close");

    let mut client = Client::connect(addr).await;
    client.join("/").await;
    io.close();
    let got = next(&mut rx).await;
    assert_eq!(got, "server shutting down");
    assert!(client.closed().await);
}

#[tokio::test]
async fn a_dynamic_namespace_accepts_the_names_its_function_accepts() {
    let io = SocketIo::new(config());
    io.of_dynamic(|name| {
        name.strip_prefix("/dyn-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
    .on_connection(|socket| async move {
        let _ = socket.emit("hello", &socket.ns().to_owned());
    });
    let addr = start(&io).await;
    let mut client = Client::connect(addr).await;
    assert!(
        client
            .join("/dyn-42")
            .await
            .starts_with(r#"40/dyn-42,{"sid":"#)
    );
    assert_eq!(client.recv().await, r#"42/dyn-42,["hello","/dyn-42"]"#);
    assert_eq!(
        client.join("/dyn-x").await,
        r#"44/dyn-x,{"message":"Invalid namespace"}"#
    );
}

#[tokio::test]
async fn a_dynamic_namespace_with_auth_accepts_the_connects_whose_auth_its_function_accepts() {
    let io = SocketIo::new(config());
    io.of_dynamic_with_auth(|name, auth| {
        let Some(team) = name.strip_prefix("/team-") else {
            return false;
        };
        auth.get("teams")
            .and_then(Value::as_array)
            .is_some_and(|teams| teams.iter().any(|t| t.as_str() == Some(team)))
    })
    .on_connection(|socket| async move {
        let _ = socket.emit("hello", &socket.ns().to_owned());
    });
    let addr = start(&io).await;
    let mut client = Client::connect(addr).await;
    client.send(r#"40/team-red,{"teams":["blue","red"]}"#).await;
    assert!(client.recv().await.starts_with(r#"40/team-red,{"sid":"#));
    assert_eq!(client.recv().await, r#"42/team-red,["hello","/team-red"]"#);
    client
        .send(r#"40/team-green,{"teams":["blue","red"]}"#)
        .await;
    assert_eq!(
        client.recv().await,
        r#"44/team-green,{"message":"Invalid namespace"}"#
    );
    client.send("40/team-blue,").await;
    assert_eq!(
        client.recv().await,
        r#"44/team-blue,{"message":"Invalid namespace"}"#,
        "no auth is {{}}"
    );
    // The namespace exists now: another CONNECT to it goes through whatever its auth, as
    // the reference's (the function creates children, it does not guard them).
    let mut other = Client::connect(addr).await;
    other.send(r#"40/team-red,{"teams":[]}"#).await;
    assert!(other.recv().await.starts_with(r#"40/team-red,{"sid":"#));
}

#[tokio::test]
async fn what_is_emitted_on_a_dynamic_parent_reaches_every_child_and_fetch_sockets_is_refused() {
    let io = SocketIo::new(config());
    let parent = io.of_dynamic(|name| name.starts_with("/ws-"));
    assert!(parent.name().starts_with("/_"), "{}", parent.name());
    parent.on_connection(|socket| async move { socket.join("members") });
    let addr = start(&io).await;
    let mut one = Client::connect(addr).await;
    one.join("/ws-1").await;
    let mut two = Client::connect(addr).await;
    two.join("/ws-2").await;
    // Broadcasts on the parent: every child, each packet in its child's namespace.
    parent.emit("all", &1).unwrap();
    assert_eq!(one.recv().await, r#"42/ws-1,["all",1]"#);
    assert_eq!(two.recv().await, r#"42/ws-2,["all",1]"#);
    let report = parent.to("members").emit("members", &()).unwrap();
    assert_eq!(report.delivered, 2);
    assert_eq!(one.recv().await, r#"42/ws-1,["members"]"#);
    assert_eq!(two.recv().await, r#"42/ws-2,["members"]"#);
    assert_eq!(
        parent
            .broadcast()
            .local()
            .fetch_sockets()
            .await
            .unwrap_err()
            .to_string(),
        "fetchSockets() is not supported on parent namespaces"
    );
    // A child is an ordinary namespace too.
    io.of("/ws-2").emit("only-two", &()).unwrap();
    assert_eq!(two.recv().await, r#"42/ws-2,["only-two"]"#);
    parent.disconnect_sockets(false);
    assert_eq!(one.recv().await, "41/ws-1,");
    assert_eq!(two.recv().await, "41/ws-2,");
}

#[tokio::test]
async fn of_with_a_name_a_regex_parent_matches_makes_its_child_and_new_namespaces_are_announced() {
    let io = SocketIo::new(config());
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.on_new_namespace(move |nsp| tx.send(nsp.name().to_owned()).unwrap());
    let parent = io.of_regex(regex::Regex::new(r"^/dynamic-\d+$").unwrap());
    parent.on_connection(|socket| async move {
        let _ = socket.emit("welcome", &socket.ns().to_owned());
    });
    io.of("/");
    io.of("/static");
    let child = io.of("/dynamic-101");
    assert_eq!(child.name(), "/dynamic-101");
    io.of("/dynamic-101");
    let addr = start(&io).await;
    let mut client = Client::connect(addr).await;
    client.join("/dynamic-101").await;
    assert_eq!(
        client.recv().await,
        r#"42/dynamic-101,["welcome","/dynamic-101"]"#
    );
    client.join("/dynamic-7").await;
    assert_eq!(
        client.recv().await,
        r#"42/dynamic-7,["welcome","/dynamic-7"]"#
    );
    // The child made by `of` is the parent's: its broadcasts reach it.
    parent.emit("from-parent", &()).unwrap();
    let mut got = vec![client.recv().await, client.recv().await];
    got.sort();
    assert_eq!(
        got,
        [
            r#"42/dynamic-101,["from-parent"]"#,
            r#"42/dynamic-7,["from-parent"]"#
        ]
    );
    let mut announced = Vec::new();
    for _ in 0..3 {
        announced.push(next(&mut rx).await);
    }
    assert_eq!(announced, ["/static", "/dynamic-101", "/dynamic-7"]);
}

#[tokio::test]
async fn with_cleanup_an_empty_child_namespace_goes_away_and_the_next_connect_makes_it_again() {
    let mut config = config();
    config.cleanup_empty_child_namespaces(true);
    let io = SocketIo::new(config);
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.on_new_namespace(move |nsp| tx.send(nsp.name().to_owned()).unwrap());
    let parent = io.of_dynamic(|name| name.starts_with("/doc-"));
    parent.on_connection(|_| async {});
    let addr = start(&io).await;
    let mut a = Client::connect(addr).await;
    a.join("/doc-1").await;
    let mut b = Client::connect(addr).await;
    b.join("/doc-1").await;
    assert_eq!(next(&mut rx).await, "/doc-1");
    a.send("41/doc-1,").await;
    b.send("41/doc-1,").await;
    // Its last socket left: the child is gone from the parent (no delivery) and the next
    // CONNECT makes a new one (announced again).
    let deadline = tokio::time::Instant::now() + WAIT;
    while parent.emit("x", &()).unwrap().delivered > 0 || !parent.adapter().sockets(&[]).is_empty()
    {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    a.join("/doc-1").await;
    assert_eq!(next(&mut rx).await, "/doc-1");
    parent.emit("again", &()).unwrap();
    // (`x` may have reached `a` before it left, and then its CONNECT reply comes after.)
    loop {
        let m = a.recv().await;
        if m != r#"42/doc-1,["x"]"# && !m.starts_with("40/doc-1,") {
            assert_eq!(m, r#"42/doc-1,["again"]"#);
            break;
        }
    }
}

#[tokio::test]
async fn every_connection_listener_of_a_namespace_runs_in_the_order_added() {
    let io = SocketIo::new(config());
    let (tx, mut rx) = mpsc::unbounded_channel();
    for label in ["first", "second"] {
        let tx = tx.clone();
        io.on_connection(move |socket| {
            let tx = tx.clone();
            async move { tx.send(format!("{label} {}", socket.connected())).unwrap() }
        });
    }
    let addr = start(&io).await;
    let mut client = Client::connect(addr).await;
    client.join("/").await;
    assert_eq!(received(&mut rx, 2).await, ["first true", "second true"]);
}

#[tokio::test]
async fn events_of_one_socket_are_handled_in_order_while_other_sockets_go_on() {
    let io = SocketIo::new(config());
    io.of("/").on_connection(|socket| async move {
        socket.on("slow", |socket, msg| async move {
            let (ms,): (u64,) = msg.args().unwrap();
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let _ = socket.emit("done", &ms);
        });
    });
    let addr = start(&io).await;
    let mut a = Client::connect(addr).await;
    a.join("/").await;
    let mut b = Client::connect(addr).await;
    b.join("/").await;
    a.send(r#"42["slow",300]"#).await;
    a.send(r#"42["slow",1]"#).await;
    b.send(r#"42["slow",1]"#).await;
    // b is not held up by a's slow handler...
    assert_eq!(b.recv().await, r#"42["done",1]"#);
    // ...and a's events finish in arrival order.
    assert_eq!(a.recv().await, r#"42["done",300]"#);
    assert_eq!(a.recv().await, r#"42["done",1]"#);
}

#[tokio::test]
async fn binary_arguments_deserialize_into_bytes_and_go_back_as_attachments() {
    let io = SocketIo::new(config());
    io.of("/").on_connection(|socket| async move {
        socket.on("upload", |socket, msg| async move {
            let (name, data): (String, Bytes) = msg.args().unwrap();
            let _ = socket.emit("stored", &(name, data.len(), data));
        });
    });
    let addr = start(&io).await;
    let mut client = Client::connect(addr).await;
    client.join("/").await;
    client
        .send(r#"451-["upload","a.bin",{"_placeholder":true,"num":0}]"#)
        .await;
    client.send_binary(&[1, 2, 3]).await;
    assert_eq!(
        client.recv().await,
        r#"451-["stored","a.bin",3,{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(client.recv().await, "<binary 010203>");
}

/// A server whose sockets get their listeners from `setup`, and a client joined to `/`.
async fn joined<F>(setup: F) -> (SocketIo, Client)
where
    F: Fn(Socket) + Send + Sync + 'static,
{
    let io = SocketIo::new(config());
    let setup = std::sync::Arc::new(setup);
    io.of("/").on_connection(move |socket| {
        let setup = setup.clone();
        async move { setup(socket) }
    });
    let addr = start(&io).await;
    let mut client = Client::connect(addr).await;
    client.join("/").await;
    (io, client)
}

/// A listener that reports `label: event args` on `tx`.
fn report(
    tx: &mpsc::UnboundedSender<String>,
    label: &'static str,
) -> impl Fn(Socket, socketio_server::Message) -> std::future::Ready<()> + Send + Sync + 'static {
    let tx = tx.clone();
    move |_socket, msg| {
        let args: Vec<Value> = msg.args().unwrap();
        let args = serde_json::to_string(&args).unwrap();
        tx.send(format!("{label}: {} {args}", msg.event())).unwrap();
        std::future::ready(())
    }
}

async fn received(rx: &mut mpsc::UnboundedReceiver<String>, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    for _ in 0..n {
        got.push(next(rx).await);
    }
    assert!(
        timeout(Duration::from_millis(100), rx.recv())
            .await
            .is_err(),
        "no more than {got:?}"
    );
    got
}

#[tokio::test]
async fn arg_reads_the_first_argument_whatever_follows_and_fails_without_one() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_io, mut client) = joined(move |socket| {
        let tx = tx.clone();
        socket.on("e", move |_socket, msg| {
            let got = match msg.arg::<String>() {
                Ok(text) => text,
                Err(e) => format!("error: {}", e.to_string().contains("length")),
            };
            tx.send(got).unwrap();
            std::future::ready(())
        });
    })
    .await;
    client.send(r#"42["e","first",{"more":1},2]"#).await;
    client.send(r#"42["e"]"#).await;
    assert_eq!(received(&mut rx, 2).await, ["first", "error: true"]);
}

#[tokio::test]
async fn on_any_sees_every_event_before_its_listeners_events_without_listeners_included() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_io, mut client) = joined(move |socket| {
        socket.on("known", report(&tx, "on"));
        socket.on_any(report(&tx, "any"));
        socket.prepend_any(report(&tx, "prepended any"));
    })
    .await;
    client.send(r#"42["known",1]"#).await;
    client.send(r#"42["unknown",2]"#).await;
    assert_eq!(
        received(&mut rx, 5).await,
        [
            "prepended any: known [1]",
            "any: known [1]",
            "on: known [1]",
            "prepended any: unknown [2]",
            "any: unknown [2]",
        ]
    );
}

#[tokio::test]
async fn an_event_calls_all_its_listeners_in_order_prepended_first_and_a_once_listener_once() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_io, mut client) = joined(move |socket| {
        socket.on("e", report(&tx, "first"));
        socket.once("e", report(&tx, "once"));
        socket.on("e", report(&tx, "last"));
        socket.prepend_listener("e", report(&tx, "prepended"));
        socket.prepend_once_listener("e", report(&tx, "prepended once"));
    })
    .await;
    client.send(r#"42["e",1]"#).await;
    client.send(r#"42["e",2]"#).await;
    assert_eq!(
        received(&mut rx, 8).await,
        [
            "prepended once: e [1]",
            "prepended: e [1]",
            "first: e [1]",
            "once: e [1]",
            "last: e [1]",
            "prepended: e [2]",
            "first: e [2]",
            "last: e [2]",
        ]
    );
}

#[tokio::test]
async fn off_removes_one_listener_and_remove_all_listeners_the_rest_of_the_event() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (ids_tx, mut ids_rx) = mpsc::unbounded_channel();
    let (_io, mut client) = joined(move |socket| {
        let a = socket.on("e", report(&tx, "a"));
        let b = socket.on("e", report(&tx, "b"));
        let d = socket.on_disconnect(|_, _| async {});
        let any = socket.on_any(report(&tx, "any"));
        let mut log = Vec::new();
        log.push(format!("listeners {}", socket.listeners("e") == [a, b]));
        log.push(format!(
            "off a from another event {}",
            socket.off("other", a)
        ));
        log.push(format!("off a {}", socket.off("e", a)));
        log.push(format!("off a again {}", socket.off("e", a)));
        log.push(format!("listeners {}", socket.listeners("e") == [b]));
        log.push(format!(
            "disconnect {}",
            socket.listeners("disconnect") == [d]
        ));
        log.push(format!("names {:?}", socket.event_names()));
        log.push(format!("off any {}", socket.off_any(any)));
        log.push(format!("any left {}", socket.listeners_any().len()));
        ids_tx.send(log).unwrap();
        let s = socket.clone();
        socket.on("clear", move |_, _| {
            s.remove_all_listeners(Some("e"));
            async {}
        });
    })
    .await;
    assert_eq!(
        timeout(WAIT, ids_rx.recv()).await.unwrap().unwrap(),
        [
            "listeners true",
            "off a from another event false",
            "off a true",
            "off a again false",
            "listeners true",
            "disconnect true",
            r#"names ["disconnect", "e"]"#,
            "off any true",
            "any left 0",
        ]
    );
    client.send(r#"42["e",1]"#).await;
    client.send(r#"42["clear"]"#).await;
    client.send(r#"42["e",2]"#).await;
    assert_eq!(received(&mut rx, 1).await, ["b: e [1]"]);
}

#[tokio::test]
async fn when_several_listeners_answer_an_event_only_the_first_acknowledgement_is_sent() {
    let (_io, mut client) = joined(|socket| {
        for answer in ["first", "second"] {
            socket.on("question", move |_socket, mut msg| async move {
                msg.ack(&(answer,)).unwrap();
            });
        }
        // An on_any listener holds a copy of the acknowledgement too (without answering).
        socket.on_any(|_socket, _msg| async move {});
    })
    .await;
    client.send(r#"42["question"]"#).await;
    client.send(r#"421["question"]"#).await;
    assert_eq!(client.recv().await, r#"431["first"]"#);
    client.send(r#"42["ping"]"#).await;
    assert!(
        timeout(Duration::from_millis(200), client.recv())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn an_async_event_middleware_rewrites_events_and_its_refusal_reaches_every_error_listener() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_io, mut client) = joined(move |socket| {
        socket.use_middleware(|_socket, mut msg| async move {
            // A middleware may wait (a database, a rate limiter) before deciding.
            tokio::time::sleep(Duration::from_millis(10)).await;
            match msg.event() {
                "forbidden" => Err("unauthorized event".into()),
                "shout" => {
                    let (text,): (String,) = msg.args()?;
                    msg.set_args(&(text.to_uppercase(), "!"))?;
                    Ok(msg)
                }
                "old-name" => {
                    msg.set_event("new-name")?;
                    Ok(msg)
                }
                _ => Ok(msg),
            }
        });
        socket.use_middleware(|_socket, msg| async move {
            // Runs after the first: sees its rewrite.
            let args: Vec<Value> = msg.args()?;
            if args.len() > 2 {
                return Err(format!("{} has too many arguments", msg.event()).into());
            }
            Ok(msg)
        });
        for label in ["error 1", "error 2"] {
            let tx = tx.clone();
            socket.on_error(move |_socket, error| {
                let tx = tx.clone();
                async move { tx.send(format!("{label}: {error}")).unwrap() }
            });
        }
        socket.on_any(report(&tx, "any"));
        socket.on("shout", report(&tx, "on"));
        socket.on("new-name", report(&tx, "on"));
        socket.on("forbidden", report(&tx, "on"));
    })
    .await;
    client.send(r#"42["forbidden"]"#).await;
    client.send(r#"42["shout","hi"]"#).await;
    client.send(r#"42["old-name",1,{"a":2}]"#).await;
    client.send(r#"42["plain",1,2,3]"#).await;
    assert_eq!(
        received(&mut rx, 10).await,
        [
            "any: forbidden []",
            "error 1: unauthorized event",
            "error 2: unauthorized event",
            r#"any: shout ["hi"]"#,
            r#"on: shout ["HI","!"]"#,
            r#"any: old-name [1,{"a":2}]"#,
            r#"on: new-name [1,{"a":2}]"#,
            "any: plain [1,2,3]",
            "error 1: plain has too many arguments",
            "error 2: plain has too many arguments",
        ]
    );
}

#[tokio::test]
async fn outgoing_listeners_see_the_emits_of_the_socket_and_not_broadcasts_nor_acks() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_io, mut client) = joined(move |socket| {
        let tx2 = tx.clone();
        let second = socket.on_any_outgoing(move |_socket, event, payload| {
            let args: Vec<Value> = payload.event_args().unwrap();
            tx2.send(format!(
                "out: {event} {}",
                serde_json::to_string(&args).unwrap()
            ))
            .unwrap();
        });
        let tx3 = tx.clone();
        socket.prepend_any_outgoing(move |_socket, event, _payload| {
            tx3.send(format!("first out: {event}")).unwrap();
        });
        assert_eq!(socket.listeners_any_outgoing().len(), 2);
        socket.on("go", move |socket, mut msg| async move {
            socket.emit("direct", &(1, "a")).unwrap();
            socket.emit_volatile("volatile", &()).unwrap();
            socket.broadcast().emit("broadcast", &()).unwrap();
            msg.ack(&("ack",)).unwrap();
            assert!(socket.off_any_outgoing(second));
            socket.emit("after off", &()).unwrap();
            socket.remove_any_outgoing_listeners();
            socket.emit("unseen", &()).unwrap();
        });
    })
    .await;
    client.send(r#"421["go"]"#).await;
    assert_eq!(
        received(&mut rx, 5).await,
        [
            "first out: direct",
            r#"out: direct [1,"a"]"#,
            "first out: volatile",
            "out: volatile []",
            "first out: after off",
        ]
    );
    // The client gets them all, the ack included (the volatile one unless the transport was
    // busy writing the one before: the listeners see it either way, as the reference's).
    let mut wire = Vec::new();
    while wire.last().map(String::as_str) != Some(r#"42["unseen"]"#) {
        wire.push(client.recv().await);
    }
    wire.retain(|m| m != r#"42["volatile"]"#);
    assert_eq!(
        wire,
        [
            r#"42["direct",1,"a"]"#,
            r#"431["ack"]"#,
            r#"42["after off"]"#,
            r#"42["unseen"]"#,
        ]
    );
}

#[tokio::test]
async fn an_asynchronous_allow_request_decides_after_awaiting_and_refuses_with_403() {
    let mut config = config();
    config.allow_request_async(|parts| {
        let token = parts.headers.get("x-token").cloned();
        async move {
            // As a lookup in a database would.
            tokio::time::sleep(Duration::from_millis(20)).await;
            match token {
                Some(t) if t == "good" => Ok(()),
                Some(_) => Err(Some("bad token".to_owned())),
                None => Err(None),
            }
        }
    });
    let io = SocketIo::new(config);
    let addr = start(&io).await;
    let path = "/socket.io/?EIO=4&transport=polling";
    let (status, _, body) = http_get(addr, path, "").await;
    assert_eq!(
        (status, body.as_str()),
        (403, r#"{"code":4,"message":"Forbidden"}"#)
    );
    let (status, _, body) = http_get(addr, path, "x-token: bad\r\n").await;
    assert_eq!(
        (status, body.as_str()),
        (403, r#"{"code":4,"message":"bad token"}"#)
    );
    let (status, _, body) = http_get(addr, path, "x-token: good\r\n").await;
    assert_eq!(status, 200);
    assert!(body.starts_with(r#"0{"sid":"#), "{body}");
}

#[tokio::test]
async fn every_refused_request_reaches_the_connection_error_listeners_with_its_code_and_request() {
    let mut config = config();
    config.allow_request(|parts| {
        if parts.headers.contains_key("x-banned") {
            Err(Some("banned".into()))
        } else {
            Ok(())
        }
    });
    let io = SocketIo::new(config);
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.on_connection_error(move |err| {
        let sid_query = err.request.uri.query().unwrap_or("").to_owned();
        tx.send(format!(
            "{} {} {} {sid_query} remote={}",
            err.code(),
            err.message(),
            err.request.method,
            err.request.remote.is_some()
        ))
        .unwrap();
    });
    let addr = start(&io).await;
    let ok = http_get(addr, "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(ok.0, 200);
    for (path, extra) in [
        ("/socket.io/?EIO=4&transport=polling&sid=nope", ""),
        ("/socket.io/?EIO=4&transport=carrier-pigeon", ""),
        ("/socket.io/?EIO=3&transport=polling", ""),
        ("/socket.io/?EIO=4&transport=polling", "x-banned: 1\r\n"),
    ] {
        let (status, _, _) = http_get(addr, path, extra).await;
        assert!(status == 400 || status == 403, "{path}: {status}");
    }
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(next(&mut rx).await);
    }
    assert_eq!(
        got,
        [
            "1 Session ID unknown GET EIO=4&transport=polling&sid=nope remote=true",
            "0 Transport unknown GET EIO=4&transport=carrier-pigeon remote=true",
            "5 Unsupported protocol version GET EIO=3&transport=polling remote=true",
            "4 banned GET EIO=4&transport=polling remote=true",
        ]
    );
    assert!(
        rx.try_recv().is_err(),
        "the accepted handshake is not an error"
    );
}

#[tokio::test]
async fn generate_id_chooses_the_session_id_and_a_bad_or_failed_choice_refuses_with_400() {
    let mut config = config();
    config.generate_id_async(|parts| {
        let wanted = parts
            .headers
            .get("x-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        async move { wanted.ok_or("no x-id header") }
    });
    let io = SocketIo::new(config);
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.on_connection_error(move |err| {
        tx.send(format!(
            "{} {} {:?}",
            err.code(),
            err.message(),
            err.rejection
        ))
        .unwrap();
    });
    let addr = start(&io).await;
    let handshake = "/socket.io/?EIO=4&transport=polling";
    let (status, _, body) = http_get(addr, handshake, "x-id: session-1\r\n").await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""sid":"session-1""#), "{body}");
    let (status, _, _) = http_get(addr, &format!("{handshake}&sid=session-1"), "").await;
    assert_eq!(status, 200, "the chosen id names the session");
    for extra in ["x-id: session-1\r\n", "x-id: not an id\r\n", ""] {
        let (status, _, body) = http_get(addr, handshake, extra).await;
        assert_eq!(
            (status, body.as_str()),
            (400, r#"{"code":3,"message":"Bad request"}"#),
            "{extra}"
        );
        assert_eq!(
            next(&mut rx).await,
            "3 Bad request BadRequest(IdGenerationError)"
        );
    }
}

#[tokio::test]
async fn the_conn_listeners_see_packets_in_and_out_heartbeats_drains_and_the_close() {
    use socketio_server::engine::{Data, Packet};
    fn show(packet: &Packet) -> String {
        match &packet.data {
            Data::Text(t) if t.is_empty() => format!("{:?}", packet.packet_type),
            Data::Text(t) => format!("{:?} {t}", packet.packet_type),
            Data::Binary(b) => format!("{:?} <{} bytes>", packet.packet_type, b.len()),
        }
    }
    let mut config = config();
    config.ping_interval(Duration::from_millis(200));
    let io = SocketIo::new(config);
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.of("/").on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            let conn = socket.conn();
            let t = tx.clone();
            conn.on_packet(move |p| t.send(format!("packet {}", show(p))).unwrap());
            let t = tx.clone();
            conn.on_packet_create(move |p| t.send(format!("packetCreate {}", show(p))).unwrap());
            let t = tx.clone();
            conn.on_heartbeat(move || t.send("heartbeat".to_owned()).unwrap());
            let t = tx.clone();
            let drain = conn.on_drain(move || t.send("drain".to_owned()).unwrap());
            let t = tx.clone();
            conn.on_close(move |reason| t.send(format!("close {}", reason.as_str())).unwrap());
            assert_eq!(conn.listeners("drain"), [drain]);
            tx.send(format!("id of {} characters", conn.id().len()))
                .unwrap();
            // (After the listeners: the emit reaches the connection after them.)
            socket.emit("ready", &()).unwrap();
        }
    });
    let addr = start(&io).await;
    let mut client = Client::connect(addr).await;
    client.join("/").await;
    assert_eq!(next(&mut rx).await, "id of 20 characters");
    assert_eq!(client.recv().await, r#"42["ready"]"#);
    client.send(r#"42["hi"]"#).await;
    // The server's ping, answered by hand.
    use futures_util::StreamExt;
    let ping = timeout(WAIT, client.ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ping.to_text().unwrap(), "2");
    client.send("3").await;
    client.ws.close(None).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..8 {
        got.push(next(&mut rx).await);
    }
    assert_eq!(
        got,
        [
            r#"packetCreate Message 2["ready"]"#,
            "drain",
            r#"packet Message 2["hi"]"#,
            "packetCreate Ping",
            "drain",
            "packet Pong",
            "heartbeat",
            "close transport close",
        ]
    );
}

#[tokio::test]
async fn the_conn_listeners_see_the_upgrade_start_with_the_probe_and_end_with_the_upgrade_packet() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as WsMsg;
    let io = SocketIo::new(config());
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.of("/").on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            let conn = socket.conn();
            let t = tx.clone();
            conn.on_upgrading(move |to| t.send(format!("upgrading to {to}")).unwrap());
            let t = tx.clone();
            conn.on_upgrade(move |to| t.send(format!("upgraded to {to}")).unwrap());
            tx.send(format!(
                "connected {} over {}",
                conn.id(),
                conn.transport_name()
            ))
            .unwrap();
        }
    });
    let addr = start(&io).await;
    let (_, _, open) = http_get(addr, "/socket.io/?EIO=4&transport=polling", "").await;
    let sid = open.split('"').nth(3).unwrap().to_owned();
    let session = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    assert_eq!(http_post(addr, &session, "40").await.0, 200);
    assert_eq!(next(&mut rx).await, format!("connected {sid} over polling"));
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket&sid={sid}");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.send(WsMsg::text("2probe")).await.unwrap();
    let pong = timeout(WAIT, ws.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(pong.to_text().unwrap(), "3probe");
    assert_eq!(next(&mut rx).await, "upgrading to websocket");
    ws.send(WsMsg::text("5")).await.unwrap();
    assert_eq!(next(&mut rx).await, "upgraded to websocket");
}

#[tokio::test]
async fn header_listeners_change_handshakes_and_every_response_but_refusals() {
    let io = SocketIo::new(config());
    io.on_initial_headers(|headers, request| {
        assert!(request.is_handshake());
        headers.append("set-cookie", http::HeaderValue::from_static("session=s1"));
    });
    io.on_headers(|headers, request| {
        let kind = if request.is_handshake() {
            "handshake"
        } else {
            "session"
        };
        headers.insert("x-seen", http::HeaderValue::from_static(kind));
    });
    let addr = start(&io).await;
    let base = "/socket.io/?EIO=4&transport=polling";
    let (status, head, body) = http_get(addr, base, "").await;
    assert_eq!(status, 200);
    let head = head.to_lowercase();
    assert!(head.contains("set-cookie: session=s1"), "{head}");
    assert!(head.contains("x-seen: handshake"), "{head}");
    let sid: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
    let sid = sid["sid"].as_str().unwrap();
    // A request of the session: `headers` only.
    let (status, _) = http_post(addr, &format!("{base}&sid={sid}"), "40").await;
    assert_eq!(status, 200);
    let (status, head, _) = http_get(addr, &format!("{base}&sid={sid}"), "").await;
    assert_eq!(status, 200);
    let head = head.to_lowercase();
    assert!(!head.contains("set-cookie"), "{head}");
    assert!(head.contains("x-seen: session"), "{head}");
    // A refusal: none.
    let (status, head, _) = http_get(addr, &format!("{base}&sid=nope"), "").await;
    assert_eq!(status, 400);
    assert!(!head.to_lowercase().contains("x-seen"), "{head}");
    // The WebSocket handshake too.
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (_ws, response) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(response.headers()["set-cookie"], "session=s1");
    assert_eq!(response.headers()["x-seen"], "handshake");
}

/// The response headers of a raw response head, lower-cased: `name: value` lines.
fn header_lines(head: &str) -> Vec<String> {
    head.lines().skip(1).map(str::to_lowercase).collect()
}

#[tokio::test]
async fn cors_takes_the_cors_packages_options_origins_credentials_exposed_headers_and_max_age() {
    let mut config = config();
    config.cors(
        socketio_server::Cors::origins(["https://a.example"])
            .with_credentials()
            .map(|layer| {
                layer
                    .max_age(Duration::from_secs(600))
                    .expose_headers([http::HeaderName::from_static("x-trace")])
            }),
    );
    let io = SocketIo::new(config);
    let addr = start(&io).await;
    let path = "/socket.io/?EIO=4&transport=polling";
    // A preflight from an allowed origin: 204, the origin sent back, credentials, max age,
    // the requested headers allowed.
    let (status, head, _) = http_request(
        addr,
        "OPTIONS",
        path,
        "Origin: https://a.example\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: x-token\r\n",
    )
    .await;
    assert_eq!(status, 204);
    let lines = header_lines(&head);
    for expected in [
        "access-control-allow-origin: https://a.example",
        "access-control-allow-credentials: true",
        "access-control-max-age: 600",
        "access-control-allow-headers: x-token",
        "access-control-allow-methods: get,head,put,patch,post,delete",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "{expected} in {lines:?}"
        );
    }
    // A handshake from an allowed origin: the origin and the exposed headers.
    let (status, head, _) = http_get(addr, path, "Origin: https://a.example\r\n").await;
    assert_eq!(status, 200);
    let lines = header_lines(&head);
    assert!(
        lines
            .iter()
            .any(|l| l == "access-control-allow-origin: https://a.example")
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "access-control-expose-headers: x-trace")
    );
    // Another origin: no allow-origin.
    let (_, head, _) = http_get(addr, path, "Origin: https://evil.example\r\n").await;
    assert!(
        !head.to_lowercase().contains("access-control-allow-origin"),
        "{head}"
    );
}

#[tokio::test]
async fn cors_origins_can_be_a_predicate_and_any_origin_with_credentials_sends_the_origin_back() {
    let mut config = config();
    config.cors(socketio_server::Cors::origin_predicate(
        |origin, _request| origin.as_bytes().ends_with(b".example.com"),
    ));
    let io = SocketIo::new(config);
    let addr = start(&io).await;
    let path = "/socket.io/?EIO=4&transport=polling";
    let (_, head, _) = http_get(addr, path, "Origin: https://app.example.com\r\n").await;
    assert!(
        header_lines(&head)
            .iter()
            .any(|l| l == "access-control-allow-origin: https://app.example.com")
    );
    let (_, head, _) = http_get(addr, path, "Origin: https://example.org\r\n").await;
    assert!(
        !head.to_lowercase().contains("access-control-allow-origin"),
        "{head}"
    );

    let mut config = self::config();
    config.cors(socketio_server::Cors::any().with_credentials());
    let io = SocketIo::new(config);
    let addr = start(&io).await;
    let (_, head, _) = http_get(addr, path, "Origin: https://b.example\r\n").await;
    let lines = header_lines(&head);
    assert!(
        lines
            .iter()
            .any(|l| l == "access-control-allow-origin: https://b.example"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "access-control-allow-credentials: true")
    );
}

#[tokio::test]
async fn the_cookie_option_takes_the_cookie_packages_attributes() {
    let mut config = config();
    config.cookie_with(
        cookie::Cookie::build(("sticky", ""))
            .path("/app")
            .domain("example.com")
            .secure(true)
            .http_only(false)
            .same_site(cookie::SameSite::Strict)
            .max_age(cookie::time::Duration::seconds(3600))
            .build(),
    );
    let io = SocketIo::new(config);
    let addr = start(&io).await;
    let (status, headers, body) = http_get(addr, "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, 200);
    let sid: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
    let line = headers
        .lines()
        .find(|l| l.to_lowercase().starts_with("set-cookie:"))
        .expect("a cookie");
    let parsed = cookie::Cookie::parse(line["set-cookie: ".len()..].to_owned()).unwrap();
    assert_eq!(parsed.name(), "sticky");
    assert_eq!(parsed.value(), sid["sid"].as_str().unwrap());
    assert_eq!(parsed.path(), Some("/app"));
    assert_eq!(parsed.domain(), Some("example.com"));
    assert_eq!(parsed.secure(), Some(true));
    assert_eq!(parsed.http_only(), None, "httpOnly off");
    assert_eq!(parsed.same_site(), Some(cookie::SameSite::Strict));
    assert_eq!(
        parsed.max_age(),
        Some(cookie::time::Duration::seconds(3600))
    );
}

#[tokio::test]
async fn allow_request_refuses_a_handshake_with_403_and_the_cookie_option_sets_a_cookie() {
    let mut config = config();
    config
        .allow_request(|parts| {
            if parts.headers.contains_key("x-token") {
                Ok(())
            } else {
                Err(Some("no token".into()))
            }
        })
        .cookie("io");
    let io = SocketIo::new(config);
    let addr = start(&io).await;
    let (status, _, body) = http_get(addr, "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, 403);
    assert_eq!(body, r#"{"code":4,"message":"no token"}"#);
    let (status, headers, body) = http_get(
        addr,
        "/socket.io/?EIO=4&transport=polling",
        "x-token: 1\r\n",
    )
    .await;
    assert_eq!(status, 200);
    let sid: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
    let line = header_lines(&headers)
        .into_iter()
        .find(|l| l.starts_with("set-cookie:"))
        .expect("a cookie");
    let mut attributes: Vec<&str> = line["set-cookie: ".len()..].split("; ").collect();
    attributes.sort_unstable();
    let value = format!("io={}", sid["sid"].as_str().unwrap().to_lowercase());
    let mut expected = vec![value.as_str(), "path=/", "httponly", "samesite=lax"];
    expected.sort_unstable();
    assert_eq!(attributes, expected);
}

#[tokio::test]
async fn the_tower_layer_serves_socket_io_in_front_of_an_axum_router() {
    let io = SocketIo::new(config());
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "app" }))
        .layer(io.layer());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (status, _, body) = http_get(addr, "/", "").await;
    assert_eq!((status, body.as_str()), (200, "app"));
    let (status, _, body) = http_get(addr, "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, 200);
    assert!(body.starts_with(r#"0{"sid":"#));
    // WebSocket upgrades go through axum too.
    io.of("/").on_connection(|_| async {});
    let mut client = Client::connect(addr).await;
    assert!(client.join("/").await.starts_with(r#"40{"sid":"#));
}

#[tokio::test]
async fn under_axum_with_connect_info_the_handshake_has_the_peer_address_issued_and_xdomain() {
    let io = SocketIo::new(config());
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.of("/").on_connection(move |socket| {
        let tx = tx.clone();
        async move {
            let h = socket.handshake();
            tx.send((h.address(), h.issued(), h.xdomain(), h.secure()))
                .unwrap();
        }
    });
    let app = axum::Router::new().layer(io.layer());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut client = Client::connect(addr).await;
    client.join("/").await;
    let (address, issued, xdomain, secure) = timeout(WAIT, rx.recv()).await.unwrap().unwrap();
    let address = address.expect("the peer address from ConnectInfo");
    assert!(address.ip().is_loopback());
    assert_ne!(
        address.port(),
        addr.port(),
        "the client's port, not the server's"
    );
    assert!(
        issued >= before && issued < before + 10_000,
        "{issued} vs {before}"
    );
    assert!(!xdomain, "no Origin header came");
    assert!(!secure, "plain HTTP");
}

#[tokio::test]
async fn a_request_marked_secure_by_the_stack_gives_a_secure_handshake() {
    let io = SocketIo::new(config());
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.of("/").on_connection(move |socket| {
        let tx = tx.clone();
        async move { tx.send(socket.handshake().secure()).unwrap() }
    });
    // (The TLS listener itself is the application's; the marker is what it adds.)
    let app = axum::Router::new()
        .layer(io.layer())
        .layer(axum::Extension(socketio_server::engine::Secure));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut client = Client::connect(addr).await;
    client.join("/").await;
    assert!(timeout(WAIT, rx.recv()).await.unwrap().unwrap());
}

#[tokio::test]
async fn what_javascript_sends_and_rust_cannot_hold_reaches_the_handler_as_the_nearest_value() {
    // A lone UTF-16 surrogate (a JavaScript string, not a Rust one) and a number beyond f64
    // (`Infinity` to JavaScript): U+FFFD and null, never an argument dropped without a word.
    let io = SocketIo::new(config());
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.of("/").on_connection(move |socket: Socket| {
        let tx = tx.clone();
        async move {
            socket.on("message", move |socket, mut msg| {
                let tx = tx.clone();
                async move {
                    let args: Vec<Value> = msg.args().unwrap();
                    tx.send(args.clone()).unwrap();
                    let _ = msg.ack(&Spread(&args));
                    let _ = socket.emit("echo", &Spread(&args));
                }
            });
        }
    });
    let addr = start(&io).await;
    let mut client = Client::connect(addr).await;
    assert!(client.join("/").await.starts_with("40{"));
    client
        .send(r#"42["message","\ud800",1e400,-1e999,"\udc00x","\ud83d\ude00",1.5]"#)
        .await;
    let args = timeout(WAIT, rx.recv()).await.unwrap().unwrap();
    assert_eq!(
        args,
        vec![
            Value::String("\u{fffd}".into()),
            Value::Null,
            Value::Null,
            Value::String("\u{fffd}x".into()),
            Value::String("😀".into()),
            Value::Number(serde_json::Number::from_f64(1.5).unwrap()),
        ]
    );
    assert_eq!(
        client.recv().await,
        r#"42["echo","�",null,null,"�x","😀",1.5]"#
    );
    // With an ack, and the connection goes on.
    client.send(r#"421["message",1e400]"#).await;
    assert_eq!(
        timeout(WAIT, rx.recv()).await.unwrap().unwrap(),
        vec![Value::Null]
    );
    let mut replies = vec![client.recv().await, client.recv().await];
    replies.sort();
    assert_eq!(replies, [r#"42["echo",null]"#, r#"431[null]"#]);
}

#[tokio::test]
async fn closing_the_server_stops_serve_and_frees_its_port() {
    let io = SocketIo::new(config());
    io.on_connection(|_| async {});
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = {
        let io = io.clone();
        tokio::spawn(async move { io.serve(listener).await })
    };
    let mut client = Client::connect(addr).await;
    assert!(client.join("/").await.starts_with("40{"));

    io.close();
    // The socket is told ("server shutting down" is a DISCONNECT, then the close).
    assert!(client.closed().await);
    timeout(WAIT, served)
        .await
        .expect("serve returns after close")
        .unwrap()
        .unwrap();
    // The port is free: a new server can listen on it, and the same io serve again.
    let listener = TcpListener::bind(addr).await.expect("the port is free");
    let served = {
        let io = io.clone();
        tokio::spawn(async move { io.serve(listener).await })
    };
    let mut client = Client::connect(addr).await;
    assert!(client.join("/").await.starts_with("40{"));
    served.abort();
}

#[tokio::test]
async fn the_main_namespace_shortcuts_reach_its_sockets() {
    let io = SocketIo::new(config());
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.use_middleware(|_socket| async { Ok(()) })
        .on_connection(move |socket| {
            let tx = tx.clone();
            async move {
                tx.send(socket.id().to_owned()).unwrap();
            }
        });
    let addr = start(&io).await;
    let mut a = Client::connect(addr).await;
    assert!(a.join("/").await.starts_with("40{"));
    next(&mut rx).await;
    let mut b = Client::connect(addr).await;
    assert!(b.join("/").await.starts_with("40{"));
    next(&mut rx).await;

    let sockets = io.fetch_sockets().await.unwrap();
    assert_eq!(sockets.len(), 2);
    io.sockets_join("all");
    io.within("all").emit("hello", &1).unwrap();
    assert_eq!(a.recv().await, r#"42["hello",1]"#);
    assert_eq!(b.recv().await, r#"42["hello",1]"#);
    // Both transports are idle, hence writable: a volatile message is not dropped.
    io.volatile().emit("v", &()).unwrap();
    assert_eq!(a.recv().await, r#"42["v"]"#);
    assert_eq!(b.recv().await, r#"42["v"]"#);
    // One of them joins "red" (which one is not known: the one that gets `red`).
    sockets[0].join("red");
    io.except("red").emit("not-red", &()).unwrap();
    io.to("red").emit("red", &()).unwrap();
    let mut got = [a.recv().await, b.recv().await];
    got.sort();
    assert_eq!(got, [r#"42["not-red"]"#, r#"42["red"]"#]);

    // Acknowledgements of every socket, with a deadline.
    let asked = tokio::spawn({
        let io = io.clone();
        async move {
            io.timeout(Duration::from_secs(5))
                .emit_with_ack("ask", &())
                .await
        }
    });
    for client in [&mut a, &mut b] {
        let ask = client.recv().await;
        let id = ask
            .strip_prefix("42")
            .and_then(|rest| rest.strip_suffix(r#"["ask"]"#))
            .unwrap_or_else(|| panic!("{ask}"));
        client.send(&format!("43{id}[\"ok\"]")).await;
    }
    let answers = timeout(WAIT, asked).await.unwrap().unwrap().unwrap();
    assert_eq!(answers.len(), 2);

    io.sockets_leave("all");
    io.disconnect_sockets(false);
    assert_eq!(a.recv().await, "41");
    assert_eq!(b.recv().await, "41");
}
