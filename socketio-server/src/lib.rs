//! A Socket.IO v5 / Engine.IO v4 server on tokio and hyper.
//!
//! The protocol decisions live in the Sans-IO crates `engineio-proto` and `socketio-proto`;
//! this crate drives them: one task per connection, HTTP long-polling and WebSocket over
//! hyper, and a tower `Service` to mount the server in axum or any tower stack.
//!
//! - [`engine`]: the Engine.IO layer alone (raw messages), like Node's `engine.io`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod engine;
