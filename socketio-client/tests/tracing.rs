//! The driver's `tracing` output, seen by a plain subscriber: spans per Manager and per
//! connection, events for the handshake, the upgrade, namespace connections and refusals,
//! and disconnections with their reason.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socketio_client::{Manager, ManagerEvent, Options};
use socketio_server::{Config, SocketIo};
use tokio::net::TcpListener;
use tokio::time::timeout;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const T: Duration = Duration::from_secs(10);

/// Every span and event as one line: `name field=value …`.
#[derive(Clone, Default)]
struct Lines {
    lines: Arc<Mutex<Vec<String>>>,
    next: Arc<AtomicU64>,
}

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl Lines {
    fn push(&self, line: Line) {
        self.lines.lock().unwrap().push(line.0);
    }

    fn has(&self, parts: &[&str]) -> bool {
        let lines = self.lines.lock().unwrap();
        lines.iter().any(|l| parts.iter().all(|p| l.contains(p)))
    }
}

impl Subscriber for Lines {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("socketio_client")
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut line = Line(format!("span {}", span.metadata().name()));
        span.record(&mut line);
        self.push(line);
        Id::from_u64(self.next.fetch_add(1, Ordering::SeqCst) + 1)
    }

    fn record(&self, _span: &Id, values: &Record<'_>) {
        let mut line = Line("record".into());
        values.record(&mut line);
        self.push(line);
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = Line(format!("{} event", event.metadata().level()));
        event.record(&mut line);
        self.push(line);
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

#[tokio::test]
async fn the_driver_reports_its_connection_with_any_subscriber() {
    let lines = Lines::default();
    let _default = tracing::subscriber::set_default(lines.clone());
    let io = SocketIo::new(Config::default());
    io.of("/").on_connection(|_socket| async move {});
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { io.serve(listener).await });

    let manager = Manager::new(&format!("http://{addr}"), Options::default()).unwrap();
    let mut events = manager.subscribe();
    let main = manager.socket("/").unwrap();
    let nope = manager.socket("/nope").unwrap();
    main.connect().await.unwrap();
    timeout(T, async {
        while events.recv().await.unwrap() != ManagerEvent::Upgrade {}
    })
    .await
    .unwrap();
    nope.connect().await.unwrap();
    timeout(T, async {
        while !lines.has(&["namespace refused"]) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    main.disconnect().await.unwrap();
    timeout(T, async {
        while !lines.has(&["namespace disconnected"]) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();

    assert!(lines.has(&[
        "span socketio_client",
        &format!("url=http://{addr}/socket.io/")
    ]));
    assert!(lines.has(&["span connection", "id=1"]));
    assert!(lines.has(&["record", "sid="]));
    assert!(lines.has(&["record", "transport=\"websocket\""]));
    assert!(lines.has(&["DEBUG event", "handshake over polling"]));
    assert!(lines.has(&["INFO event", "open"]));
    assert!(lines.has(&["INFO event", "upgraded to WebSocket"]));
    assert!(lines.has(&["INFO event", "namespace connected", "nsp=/"]));
    assert!(lines.has(&[
        "WARN event",
        "namespace refused",
        "nsp=/nope",
        "Invalid namespace"
    ]));
    assert!(lines.has(&[
        "INFO event",
        "namespace disconnected",
        "reason=io client disconnect"
    ]));
}
