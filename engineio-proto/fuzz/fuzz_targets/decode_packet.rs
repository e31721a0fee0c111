//! One packet from arbitrary input: as a text frame (when it is UTF-8) and as a binary
//! message. Whatever decodes must decode to the same packet again from its own encoding.
#![no_main]

use bytes::Bytes;
use bytestring::ByteString;
use engineio_proto::{Packet, WsMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    assert_eq!(Packet::decode_binary(bytes.clone()), Packet::binary(bytes.clone()));
    let Ok(text) = ByteString::try_from(bytes) else {
        return;
    };
    if let Ok(packet) = Packet::decode_text(text) {
        assert_eq!(Packet::decode_text(packet.to_text()).as_ref(), Ok(&packet));
        for supports_binary in [true, false] {
            let msg: WsMessage = packet.to_ws_message(supports_binary);
            assert_eq!(Packet::decode_ws(msg).as_ref(), Ok(&packet));
        }
    }
});
