//! The default parser with binary attachments: the input is split on 0xff bytes into
//! messages; a chunk starting with 0x00 is binary, any other chunk is text (if UTF-8).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_proto::{DecoderConfig, EngineMessage, ParserKind};

fuzz_target!(|data: &[u8]| {
    let config = DecoderConfig::default().max_attachments(4).max_attachment_bytes(1024);
    let mut d = ParserKind::Default.decoder(config);
    for chunk in data.split(|b| *b == 0xff) {
        let msg = match chunk.split_first() {
            Some((0, rest)) => EngineMessage::Binary(Bytes::copy_from_slice(rest)),
            _ => match std::str::from_utf8(chunk) {
                Ok(s) => EngineMessage::from(s.to_owned()),
                Err(_) => continue,
            },
        };
        if let Ok(Some(p)) = d.decode(msg) {
            if let Some(payload) = &p.data {
                let _ = payload.event_args::<Vec<bytes::Bytes>>();
                let _ = payload.to_canonical_json();
            }
        }
    }
});
