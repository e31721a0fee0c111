//! Conformance tooling shared by the fixture tests, the differential tests and the
//! `sio-wire` command-line tool.
//!
//! The fixtures in `fixtures/` are produced by the official Node parsers (see the crate's
//! `README.md`). This library holds the *canonical JSON form* those fixtures use, with
//! conversions both ways, so the tests and the tool read and write exactly the same format:
//!
//! - [`eio`]: Engine.IO packets (`{"type":"message","data":"hello"}`, binary as
//!   `{"binary_hex":"0102"}`, errors as `{"error":"parser error"}`), and the JSON-lines
//!   batch protocol of `node/diff-engineio.js`.
//! - [`sio`]: Socket.IO packets of both parsers (`{"type":2,"nsp":"/","data":["a"]}`,
//!   binary values as `{"binary_hex":"0102"}`), and the JSON-lines batch protocol of
//!   `node/diff-socketio.js`.
//! - [`hex`]: the lowercase hex used for binary values.
//! - [`node`] and [`redis`]: the prerequisites of the Node-backed and Redis-backed tests.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod eio;
pub mod hex;
pub mod interop_server;
pub mod node;
pub mod recovery_server;
pub mod redis;
pub mod sio;
pub mod test_server;

use std::fmt;

/// A JSON value that is not in the expected canonical form.
///
/// The message says what was expected, and where (`packets[2].data: ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError(String);

impl FormatError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The same error, with `context` put in front of the message (`context: message`).
    #[must_use]
    pub fn context(self, context: &str) -> Self {
        Self(format!("{context}: {}", self.0))
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FormatError {}
