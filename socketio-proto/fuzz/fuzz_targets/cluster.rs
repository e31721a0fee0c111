//! What other nodes and Redis hand a server: every cluster message decoder (classic Redis
//! adapter broadcasts, requests and responses; `ClusterAdapter` messages in JSON and msgpack;
//! stream entries; recovery sessions and offsets), on any bytes. The first byte picks the
//! decoder, the rest is its input.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_proto::cluster::adapter::ClusterMessage;
use socketio_proto::cluster::{classic, streams};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let bytes = Bytes::copy_from_slice(rest);
    match which % 8 {
        0 => {
            if let Ok(b) = classic::Broadcast::decode(bytes) {
                let _ = b.encode();
            }
        }
        1 => {
            if let Ok(r) = classic::Request::decode(bytes) {
                let _ = r.encode();
            }
        }
        2 => {
            if let Ok(r) = classic::Response::decode(bytes) {
                let _ = r.encode();
            }
        }
        3 => {
            if let Ok(m) = ClusterMessage::decode(bytes) {
                let _ = m.encode_sharded();
                let _ = m.encode_msgpack();
                let _ = streams::encode_entry(&m, false);
            }
        }
        4 => {
            // Fields separated by 0xff: key, value, key, value, …
            let parts: Vec<&[u8]> = rest.split(|&b| b == 0xff).collect();
            let fields = parts.chunks_exact(2).filter_map(|kv| {
                Some((std::str::from_utf8(kv[0]).ok()?, kv[1]))
            });
            if let Ok(Some(m)) = streams::decode_entry(fields) {
                let _ = streams::encode_entry(&m, false);
                let _ = streams::missed_event("1-0", &m, "/", &["a".to_owned()]);
            }
        }
        5 => {
            if let Ok(s) = streams::decode_session(rest) {
                let _ = streams::encode_session(&s);
            }
            let _ = streams::restorable_in(rest, "/");
        }
        6 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = streams::parse_offset(text);
                let _ = streams::next_offset(text);
                let mut log = streams::DeliveryLog::default();
                let payload = socketio_proto::Payload::json(&("ev", 1)).unwrap();
                log.deliver(text, &[], &[], &payload);
                let _ = log.recovered("s", &["s".to_owned()], text);
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Ok(p) = socketio_proto::Payload::from_json_text(text.to_owned().into()) {
                    let _ = p.event_args_lossy::<Vec<socketio_proto::Value>>();
                }
            }
        }
    }
});
