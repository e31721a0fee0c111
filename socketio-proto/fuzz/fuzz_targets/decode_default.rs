//! The default parser's text decoder, and the lazy payload readers, on any UTF-8 input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio_proto::{DecoderConfig, EngineMessage, ParserKind};

fuzz_target!(|data: &str| {
    let mut d = ParserKind::Default.decoder(DecoderConfig::default());
    if let Ok(Some(p)) = d.decode(EngineMessage::from(data.to_owned())) {
        if let Some(payload) = &p.data {
            let _ = payload.event_name();
            let _ = payload.deserialize::<serde_json_value::Any>();
            let _ = payload.to_canonical_json();
        }
        let mut out = Vec::new();
        let _ = ParserKind::Default.encode(&p, &mut out);
    }
});

mod serde_json_value {
    /// Accepts anything, so that deserialization walks the whole payload.
    pub(crate) type Any = Vec<serde::de::IgnoredAny>;
}
