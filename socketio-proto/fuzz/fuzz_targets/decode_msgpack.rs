//! The msgpack parser on any bytes.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_proto::{DecoderConfig, EngineMessage, ParserKind};

fuzz_target!(|data: &[u8]| {
    let mut d = ParserKind::MsgPack.decoder(DecoderConfig::default());
    if let Ok(Some(p)) = d.decode(EngineMessage::Binary(Bytes::copy_from_slice(data))) {
        if let Some(payload) = &p.data {
            let _ = payload.event_name();
            let _ = payload.to_canonical_json();
            // The serde view: dynamic values, and typed ones that skip and reject.
            let _ = payload.deserialize::<socketio_proto::Value>();
            let _ = payload.event_args::<(Option<String>, std::collections::BTreeMap<String, i64>)>();
            let _ = payload.event_args::<Vec<Option<bytes::Bytes>>>();
        }
        let mut out = Vec::new();
        let _ = ParserKind::MsgPack.encode(&p, &mut out);
    }
});
