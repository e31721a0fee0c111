//! Endpoints: the Engine.IO session and the Socket.IO connection of one side composed into
//! one Sans-IO machine, so that a driver feeds one object, drains one set of outputs and
//! sleeps until one deadline.
//!
//! - [`server`]: one server connection ([`server::ServerEndpoint`]), plus the frames every
//!   emit, ack answer and broadcast sends and the admission rule of a client's buffer.

pub mod server;
