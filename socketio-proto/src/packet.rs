//! Socket.IO packets: the type, the namespace, the ack id and the lazy payload.

use std::fmt;

use bytestring::ByteString;

use crate::payload::Payload;

/// The Socket.IO v5 packet types, as the application sees them.
///
/// On the wire the default parser also has BINARY_EVENT (5) and BINARY_ACK (6); they decode
/// to [`PacketKind::Event`] and [`PacketKind::Ack`] whose payload has attachments, as in the
/// reference, and encode back to 5/6 when the payload has attachments.
#[allow(clippy::exhaustive_enums)] // complete by definition: the five types of protocol v5
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PacketKind {
    /// `0`: connect to a namespace (client: optional auth object; server: `{"sid":…}`).
    Connect,
    /// `1`: leave a namespace. Carries no payload.
    Disconnect,
    /// `2` (or `5` with attachments): an event, `[name, ...args]`.
    Event,
    /// `3` (or `6` with attachments): the answer to an event with an ack id, `[...args]`.
    Ack,
    /// `4`: the server refused a namespace connection, `{"message":…,"data"?:…}`.
    ConnectError,
}

impl PacketKind {
    /// The type digit on the wire, without the binary variants.
    pub fn code(self) -> u8 {
        match self {
            Self::Connect => 0,
            Self::Disconnect => 1,
            Self::Event => 2,
            Self::Ack => 3,
            Self::ConnectError => 4,
        }
    }

    /// The kind for a msgpack `type` (`0..=4`).
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Connect,
            1 => Self::Disconnect,
            2 => Self::Event,
            3 => Self::Ack,
            4 => Self::ConnectError,
            _ => return None,
        })
    }
}

/// Event names that the protocol reserves; a decoder rejects an EVENT whose name is one of
/// them, and `emit` refuses them.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Returns the reserved name equal to `name`, if any.
pub(crate) fn reserved_event(name: &str) -> Option<&'static str> {
    RESERVED_EVENTS.iter().copied().find(|r| *r == name)
}

/// A namespace name, such as `/` or `/admin`.
///
/// Built by the parsers from the wire, or by [`Namespace::new`], which requires a leading `/`
/// and no `,` (the default parser ends the namespace at the first comma).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Namespace(ByteString);

impl Namespace {
    /// The main namespace, `/`.
    pub fn main() -> Self {
        Self(ByteString::from_static("/"))
    }

    /// A namespace from a name that starts with `/` and contains no `,`.
    pub fn new(name: impl Into<ByteString>) -> Result<Self, InvalidNamespace> {
        let name = name.into();
        if !name.starts_with('/') || name.contains(',') {
            return Err(InvalidNamespace);
        }
        Ok(Self(name))
    }

    /// A namespace exactly as a parser read it from the wire.
    pub(crate) fn from_wire(name: ByteString) -> Self {
        Self(name)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the main namespace `/`.
    pub fn is_main(&self) -> bool {
        &*self.0 == "/"
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Default for Namespace {
    fn default() -> Self {
        Self::main()
    }
}

/// A namespace name that does not start with `/` or contains a `,`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a namespace starts with '/' and contains no ','")]
pub struct InvalidNamespace;

/// An acknowledgement id: the number that pairs an EVENT with its ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AckId(u64);

impl AckId {
    /// An ack id with this value.
    pub fn new(id: u64) -> Self {
        Self(id)
    }

    /// The numeric value.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for AckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// One Socket.IO packet.
///
/// The payload stays in its wire form ([`Payload`]) until the application deserializes it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Packet {
    /// The packet type.
    pub kind: PacketKind,
    /// The namespace (`/` when the wire omits it).
    pub nsp: Namespace,
    /// The ack id, if any.
    pub id: Option<AckId>,
    /// The payload, if any.
    pub data: Option<Payload>,
}

impl Packet {
    /// A packet of this kind on this namespace, without id or payload.
    pub fn new(kind: PacketKind, nsp: Namespace) -> Self {
        Self {
            kind,
            nsp,
            id: None,
            data: None,
        }
    }

    /// A CONNECT packet, with an optional payload (auth from a client, `{"sid":…}` from a
    /// server).
    pub fn connect(nsp: Namespace, data: Option<Payload>) -> Self {
        Self {
            data,
            ..Self::new(PacketKind::Connect, nsp)
        }
    }

    /// A DISCONNECT packet.
    pub fn disconnect(nsp: Namespace) -> Self {
        Self::new(PacketKind::Disconnect, nsp)
    }

    /// An EVENT packet; `data` is `[name, ...args]`.
    pub fn event(nsp: Namespace, data: Payload, id: Option<AckId>) -> Self {
        Self {
            id,
            data: Some(data),
            ..Self::new(PacketKind::Event, nsp)
        }
    }

    /// An ACK packet; `data` is `[...args]`.
    pub fn ack(nsp: Namespace, id: AckId, data: Payload) -> Self {
        Self {
            id: Some(id),
            data: Some(data),
            ..Self::new(PacketKind::Ack, nsp)
        }
    }

    /// A CONNECT_ERROR packet; `data` is `{"message":…,"data"?:…}` in v5.
    pub fn connect_error(nsp: Namespace, data: Payload) -> Self {
        Self {
            data: Some(data),
            ..Self::new(PacketKind::ConnectError, nsp)
        }
    }

    /// Sets the ack id.
    pub fn with_id(mut self, id: Option<AckId>) -> Self {
        self.id = id;
        self
    }

    /// The number of binary attachments (default parser; always 0 for msgpack, which
    /// carries binary inline).
    pub fn attachments(&self) -> usize {
        self.data.as_ref().map_or(0, |d| d.attachments().len())
    }
}
