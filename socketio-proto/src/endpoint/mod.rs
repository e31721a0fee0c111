//! Endpoints: the two Sans-IO machines of one side composed, with every decision the
//! reference makes around them, so that a driver only does I/O, timers and callbacks.
//!
//! (doc to be written)

mod backoff;
mod client;
mod reason;

pub use backoff::{Backoff, RandomSource, ReconnectSchedule, SeededRandom};
pub use client::{
    AckHandle, AckMode, Auth, AuthRequest, ClientEndpoint, ClientEndpointConfig, ConnectionId,
    EmitError, EmitOptions, Event, ManagerEvent, SocketEvent, Transmit, TransportMode,
};
pub use reason::{AckOutcome, CloseReason, ConnectError, DisconnectReason, OpenError};
