//! Server configuration with the reference's names and defaults (PROTOCOL.md §1.10).

use std::time::Duration;

/// Which transports a server accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transports {
    /// HTTP long-polling.
    pub polling: bool,
    /// WebSocket.
    pub websocket: bool,
}

impl Transports {
    /// Both transports (the default).
    pub const BOTH: Self = Self {
        polling: true,
        websocket: true,
    };
    /// Polling only.
    pub const POLLING: Self = Self {
        polling: true,
        websocket: false,
    };
    /// WebSocket only.
    pub const WEBSOCKET: Self = Self {
        polling: false,
        websocket: true,
    };
}

impl Default for Transports {
    fn default() -> Self {
        Self::BOTH
    }
}

/// Engine.IO server options.
///
/// ```
/// use std::time::Duration;
/// use engineio_proto::ServerConfig;
///
/// let mut config = ServerConfig::default();
/// config.ping_interval(Duration::from_millis(300)).ping_timeout(Duration::from_millis(200));
/// assert_eq!(config.max_payload_len(), 1_000_000);
/// ```
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) upgrade_timeout: Duration,
    pub(crate) max_payload: usize,
    pub(crate) transports: Transports,
    pub(crate) allow_upgrades: bool,
    pub(crate) close_timeout: Duration,
    pub(crate) upgrade_noop_interval: Duration,
    pub(crate) max_buffered: usize,
    pub(crate) initial_packet: Option<crate::Frame>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            transports: Transports::BOTH,
            allow_upgrades: true,
            close_timeout: Duration::from_millis(30_000),
            upgrade_noop_interval: Duration::from_millis(100),
            max_buffered: 16 << 20,
            initial_packet: None,
        }
    }
}

impl ServerConfig {
    /// `pingInterval`: time between two pings of the server (default 25 s).
    pub fn ping_interval(&mut self, value: Duration) -> &mut Self {
        self.ping_interval = value;
        self
    }

    /// `pingTimeout`: time the server waits for a pong before closing (default 20 s).
    pub fn ping_timeout(&mut self, value: Duration) -> &mut Self {
        self.ping_timeout = value;
        self
    }

    /// `upgradeTimeout`: time an upgrade to WebSocket may take (default 10 s).
    pub fn upgrade_timeout(&mut self, value: Duration) -> &mut Self {
        self.upgrade_timeout = value;
        self
    }

    /// `maxHttpBufferSize`: largest POST body or WebSocket message accepted, in bytes
    /// (default 1 000 000), advertised to clients as `maxPayload`.
    pub fn max_payload(&mut self, bytes: usize) -> &mut Self {
        self.max_payload = bytes;
        self
    }

    /// `transports`: which transports are accepted (default both).
    pub fn transports(&mut self, value: Transports) -> &mut Self {
        self.transports = value;
        self
    }

    /// `allowUpgrades`: whether polling sessions may upgrade to WebSocket (default true).
    pub fn allow_upgrades(&mut self, value: bool) -> &mut Self {
        self.allow_upgrades = value;
        self
    }

    /// Time a polling session that is closing waits for a GET to deliver its close packet
    /// (the reference's `closeTimeout`, 30 s).
    pub fn close_timeout(&mut self, value: Duration) -> &mut Self {
        self.close_timeout = value;
        self
    }

    /// The most bytes a session buffers for a client that does not poll or read (default
    /// 16 MiB). A session whose buffer would grow past it is closed ("transport error")
    /// instead of holding more: memory stays bounded, and no message is dropped silently.
    /// (The reference has no such bound.)
    pub fn max_buffered(&mut self, bytes: usize) -> &mut Self {
        self.max_buffered = bytes;
        self
    }

    /// `initialPacket`: a `message` packet with this data sent to every new session right
    /// after the open packet (in the handshake's answer on long-polling). Default none.
    ///
    /// ```
    /// use engineio_proto::{Data, ServerConfig};
    ///
    /// let mut config = ServerConfig::default();
    /// config.initial_packet(Data::Text("welcome".into()));
    /// ```
    pub fn initial_packet(&mut self, data: crate::Data) -> &mut Self {
        self.initial_packet = Some(crate::Frame::message(data));
        self
    }

    /// The configured `pingInterval`.
    pub fn ping_interval_value(&self) -> Duration {
        self.ping_interval
    }

    /// The configured `pingTimeout`.
    pub fn ping_timeout_value(&self) -> Duration {
        self.ping_timeout
    }

    /// The configured `maxHttpBufferSize`.
    pub fn max_payload_len(&self) -> usize {
        self.max_payload
    }

    /// The accepted transports.
    pub fn transports_value(&self) -> Transports {
        self.transports
    }

    /// The `upgrades` a new session of this transport advertises.
    pub(crate) fn upgrades_for(&self, transport: crate::TransportKind) -> &'static [&'static str] {
        match transport {
            crate::TransportKind::Polling if self.allow_upgrades && self.transports.websocket => {
                &["websocket"]
            }
            crate::TransportKind::Polling | crate::TransportKind::WebSocket => &[],
        }
    }
}
