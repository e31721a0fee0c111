//! The open (handshake) packet, PROTOCOL.md §1.3.

use std::time::Duration;

use bytes::{BufMut, BytesMut};
use bytestring::ByteString;
use serde::Deserialize;

use crate::error::HandshakeError;
use crate::frame::Frame;
use crate::packet::{Data, Packet, PacketType};
use crate::sid::Sid;

/// The data of an `open` packet: exactly the five keys the official suites check.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OpenPacket {
    /// The session id (a client accepts any string the server chose).
    pub sid: String,
    /// Transports this session may upgrade to: `["websocket"]` on polling, `[]` on WebSocket.
    pub upgrades: Vec<String>,
    /// Milliseconds between two pings of the server.
    #[serde(with = "millis")]
    pub ping_interval: Duration,
    /// Milliseconds the server waits for a pong.
    #[serde(with = "millis")]
    pub ping_timeout: Duration,
    /// Largest payload, in bytes, the server accepts.
    pub max_payload: u64,
}

impl OpenPacket {
    /// The open packet a server sends for `sid`.
    pub fn new(
        sid: &Sid,
        upgrades: &[&str],
        ping_interval: Duration,
        ping_timeout: Duration,
        max_payload: u64,
    ) -> Self {
        Self {
            sid: sid.as_str().to_owned(),
            upgrades: upgrades.iter().map(|&u| u.to_owned()).collect(),
            ping_interval,
            ping_timeout,
            max_payload,
        }
    }

    /// Serializes the packet's JSON data, keys in the reference's order:
    /// `{"sid":…,"upgrades":[…],"pingInterval":…,"pingTimeout":…,"maxPayload":…}`.
    #[allow(
        clippy::expect_used,
        reason = "an invariant of our own encoding, said at the call; never peer input"
    )]
    pub fn to_json(&self) -> ByteString {
        let mut out = BytesMut::with_capacity(128);
        write_json(
            &mut out,
            &self.sid,
            self.upgrades.iter().map(String::as_str),
            self.ping_interval,
            self.ping_timeout,
            self.max_payload,
        );
        // Only valid UTF-8 (JSON of UTF-8 strings and ASCII digits) was written.
        ByteString::try_from(out.freeze()).expect("valid UTF-8")
    }

    /// The `open` packet's frame (`0{"sid":…}`), written in one buffer: what a server sends
    /// at each handshake, without building the packet's strings first.
    #[allow(
        clippy::expect_used,
        reason = "an invariant of our own encoding, said at the call; never peer input"
    )]
    pub(crate) fn frame(
        sid: &Sid,
        upgrades: &[&str],
        ping_interval: Duration,
        ping_timeout: Duration,
        max_payload: u64,
    ) -> Frame {
        let mut out = BytesMut::with_capacity(128);
        out.put_u8(b'0');
        write_json(
            &mut out,
            sid.as_str(),
            upgrades.iter().copied(),
            ping_interval,
            ping_timeout,
            max_payload,
        );
        // '0' and valid UTF-8, as above.
        Frame::Text(ByteString::try_from(out.freeze()).expect("valid UTF-8"))
    }

    /// This handshake as an `open` packet.
    pub fn to_packet(&self) -> Packet {
        Packet::new(PacketType::Open, Data::Text(self.to_json()))
    }

    /// Reads the handshake from the first packet a client receives.
    pub fn from_packet(packet: &Packet) -> Result<Self, HandshakeError> {
        match (&packet.packet_type, &packet.data) {
            (PacketType::Open, Data::Text(json)) => Ok(serde_json::from_str(json)?),
            _ => Err(HandshakeError::NotOpen),
        }
    }
}

/// The packet's JSON data, keys in the reference's order.
fn write_json<'a>(
    out: &mut BytesMut,
    sid: &str,
    upgrades: impl Iterator<Item = &'a str>,
    ping_interval: Duration,
    ping_timeout: Duration,
    max_payload: u64,
) {
    let mut digits = itoa::Buffer::new();
    out.put_slice(b"{\"sid\":");
    put_json_string(out, sid);
    out.put_slice(b",\"upgrades\":[");
    for (i, u) in upgrades.enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        put_json_string(out, u);
    }
    out.put_slice(b"],\"pingInterval\":");
    out.put_slice(digits.format(ping_interval.as_millis()).as_bytes());
    out.put_slice(b",\"pingTimeout\":");
    out.put_slice(digits.format(ping_timeout.as_millis()).as_bytes());
    out.put_slice(b",\"maxPayload\":");
    out.put_slice(digits.format(max_payload).as_bytes());
    out.put_u8(b'}');
}

#[allow(
    clippy::expect_used,
    reason = "an invariant of our own encoding, said at the call; never peer input"
)]
fn put_json_string(out: &mut BytesMut, s: &str) {
    // Nothing to escape (a session id, a transport name): written as is.
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.put_u8(b'"');
        out.put_slice(s.as_bytes());
        out.put_u8(b'"');
        return;
    }
    // serde_json escapes exactly as JSON.stringify does for these strings.
    let quoted = serde_json::to_string(s).expect("a str always serializes");
    out.put_slice(quoted.as_bytes());
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        // JSON numbers from JS may be written as floats (`25000.0` never occurs, but 2.5e4 may).
        let ms = f64::deserialize(d)?;
        if !(0.0..=f64::from(u32::MAX)).contains(&ms) {
            return Err(serde::de::Error::custom("duration out of range"));
        }
        Ok(Duration::from_millis(ms as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_exactly_the_five_keys_in_the_reference_order() {
        let sid = Sid::parse("lv_VI97HAXpY6yYWAAAC").unwrap();
        let open = OpenPacket::new(
            &sid,
            &["websocket"],
            Duration::from_millis(25_000),
            Duration::from_millis(20_000),
            1_000_000,
        );
        assert_eq!(
            &*open.to_packet().to_text(),
            r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
        assert_eq!(OpenPacket::from_packet(&open.to_packet()).unwrap(), open);
    }

    #[test]
    fn the_servers_open_frame_is_the_open_packets_encoding() {
        let sid = Sid::parse("lv_VI97HAXpY6yYWAAAC").unwrap();
        for upgrades in [&["websocket"][..], &[]] {
            let (interval, timeout) = (Duration::from_millis(300), Duration::from_millis(200));
            let open = OpenPacket::new(&sid, upgrades, interval, timeout, 5);
            assert_eq!(
                OpenPacket::frame(&sid, upgrades, interval, timeout, 5),
                Frame::from_packet(&open.to_packet())
            );
        }
    }

    #[test]
    fn strings_that_need_it_are_escaped_as_json_stringify_does() {
        let mut out = BytesMut::new();
        put_json_string(&mut out, "a\"b\\c\u{1}d/é");
        assert_eq!(&out[..], "\"a\\\"b\\\\c\\u0001d/é\"".as_bytes());
    }

    #[test]
    fn a_client_rejects_a_first_packet_that_is_not_open() {
        assert!(matches!(
            OpenPacket::from_packet(&Packet::message("{}")),
            Err(HandshakeError::NotOpen)
        ));
        assert!(matches!(
            OpenPacket::from_packet(&Packet::new(
                PacketType::Open,
                Data::Text("{\"sid\":1}".into())
            )),
            Err(HandshakeError::InvalidJson(_))
        ));
    }
}
