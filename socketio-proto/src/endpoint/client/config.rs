//! The options of the client endpoint, with socket.io-client's names and defaults
//! (PROTOCOL.md §5.2).

use std::time::Duration;

use super::AckMode;
use crate::decoder::ParserKind;

/// Which transports the client may use (`transports`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportMode {
    /// `["polling", "websocket"]`: start on polling, upgrade to WebSocket (the default).
    Both,
    /// `["polling"]`.
    Polling,
    /// `["websocket"]`.
    WebSocket,
}

/// The options of a [`ClientEndpoint`](super::ClientEndpoint), with socket.io-client's names
/// and defaults.
///
/// ```
/// use std::time::Duration;
/// use socketio_proto::endpoint::client::{ClientEndpointConfig, TransportMode};
///
/// let config = ClientEndpointConfig::default()
///     .transports(TransportMode::WebSocket)
///     .reconnection_attempts(Some(5))
///     .retries(3)
///     .ack_timeout(Some(Duration::from_secs(2)));
/// assert_eq!(config.reconnection_delay, Duration::from_millis(1000));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientEndpointConfig {
    /// `transports` (default [`TransportMode::Both`]).
    pub transports: TransportMode,
    /// `upgrade` (default true): upgrade from polling to WebSocket when offered.
    pub upgrade: bool,
    /// `rememberUpgrade` (default false): after a WebSocket worked, open the next
    /// connection directly over WebSocket (forgotten after any transport error).
    pub remember_upgrade: bool,
    /// `timeout` (default 20 s): the handshake must complete within it, else
    /// [`OpenError::Timeout`](super::OpenError::Timeout). `None` is `timeout: false`.
    pub timeout: Option<Duration>,
    /// `reconnection` (default true).
    pub reconnection: bool,
    /// `reconnectionAttempts` (default `None`: `Infinity`).
    pub reconnection_attempts: Option<u32>,
    /// `reconnectionDelay` (default 1000 ms).
    pub reconnection_delay: Duration,
    /// `reconnectionDelayMax` (default 5000 ms).
    pub reconnection_delay_max: Duration,
    /// `randomizationFactor` (default 0.5).
    pub randomization_factor: f64,
    /// The most emits a socket keeps while it is not connected (default 1024); further
    /// emits are refused with [`EmitError::BufferFull`](super::EmitError::BufferFull).
    /// Bounds the retry queue too.
    pub max_buffered: usize,
    /// `retries` (default 0: off): every non-volatile emit is queued and sent one at a time
    /// with an ack (deadline [`ack_timeout`](Self::ack_timeout)), and sent again when that
    /// ack times out, up to `retries` more times: at-least-once delivery, in order.
    pub retries: u32,
    /// `ackTimeout` (default none): the deadline of each try of the retry queue. The
    /// default deadline of an emit with an ack is the driver's choice
    /// ([`AckMode::Deadline`](super::AckMode::Deadline)).
    pub ack_timeout: Option<Duration>,
    /// The parser (default: `socket.io-parser`).
    pub parser: ParserKind,
}

impl Default for ClientEndpointConfig {
    fn default() -> Self {
        Self {
            transports: TransportMode::Both,
            upgrade: true,
            remember_upgrade: false,
            timeout: Some(Duration::from_millis(20_000)),
            reconnection: true,
            reconnection_attempts: None,
            reconnection_delay: Duration::from_millis(1000),
            reconnection_delay_max: Duration::from_millis(5000),
            randomization_factor: 0.5,
            max_buffered: 1024,
            retries: 0,
            ack_timeout: None,
            parser: ParserKind::Default,
        }
    }
}

impl ClientEndpointConfig {
    /// Sets [`transports`](Self::transports).
    pub fn transports(mut self, transports: TransportMode) -> Self {
        self.transports = transports;
        self
    }

    /// Sets [`upgrade`](Self::upgrade).
    pub fn upgrade(mut self, upgrade: bool) -> Self {
        self.upgrade = upgrade;
        self
    }

    /// Sets [`remember_upgrade`](Self::remember_upgrade).
    pub fn remember_upgrade(mut self, remember: bool) -> Self {
        self.remember_upgrade = remember;
        self
    }

    /// Sets [`timeout`](Self::timeout).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`reconnection`](Self::reconnection).
    pub fn reconnection(mut self, reconnection: bool) -> Self {
        self.reconnection = reconnection;
        self
    }

    /// Sets [`reconnection_attempts`](Self::reconnection_attempts).
    pub fn reconnection_attempts(mut self, attempts: Option<u32>) -> Self {
        self.reconnection_attempts = attempts;
        self
    }

    /// Sets [`reconnection_delay`](Self::reconnection_delay).
    pub fn reconnection_delay(mut self, delay: Duration) -> Self {
        self.reconnection_delay = delay;
        self
    }

    /// Sets [`reconnection_delay_max`](Self::reconnection_delay_max).
    pub fn reconnection_delay_max(mut self, delay: Duration) -> Self {
        self.reconnection_delay_max = delay;
        self
    }

    /// Sets [`randomization_factor`](Self::randomization_factor).
    pub fn randomization_factor(mut self, factor: f64) -> Self {
        self.randomization_factor = factor;
        self
    }

    /// Sets [`max_buffered`](Self::max_buffered).
    pub fn max_buffered(mut self, max: usize) -> Self {
        self.max_buffered = max;
        self
    }

    /// Sets [`retries`](Self::retries).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Sets [`ack_timeout`](Self::ack_timeout).
    pub fn ack_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// The ack of an emit that asks for one without a timeout of its own (`emitWithAck`
    /// without `timeout()`): [`ack_timeout`](Self::ack_timeout) as its deadline, or none.
    /// With [`retries`](Self::retries) the queue applies `ackTimeout` to each try, so the
    /// ack itself has no deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use socketio_proto::endpoint::client::{AckMode, ClientEndpointConfig};
    ///
    /// let config = ClientEndpointConfig::default().ack_timeout(Some(Duration::from_secs(2)));
    /// assert_eq!(config.default_ack_mode(), AckMode::Deadline(Duration::from_secs(2)));
    /// assert_eq!(config.retries(3).default_ack_mode(), AckMode::NoDeadline);
    /// ```
    pub fn default_ack_mode(&self) -> AckMode {
        match self.ack_timeout {
            Some(t) if self.retries == 0 => AckMode::Deadline(t),
            Some(_) | None => AckMode::NoDeadline,
        }
    }

    /// Sets [`parser`](Self::parser).
    pub fn parser(mut self, parser: ParserKind) -> Self {
        self.parser = parser;
        self
    }
}
