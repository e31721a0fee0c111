//! A polling payload from arbitrary bytes (a POST body). The decoder yields at most one
//! error, last; a payload that decodes re-encodes to one that decodes to the same packets.
#![no_main]

use bytes::{Bytes, BytesMut};
use engineio_proto::payload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let results: Vec<_> = payload::decode_bytes(Bytes::copy_from_slice(data)).collect();
    assert!(!results.is_empty());
    if let Some(i) = results.iter().position(Result::is_err) {
        assert_eq!(i, results.len() - 1, "nothing after the first error");
        return;
    }
    let packets: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    let mut out = BytesMut::new();
    payload::encode(&packets, &mut out);
    let again: Result<Vec<_>, _> = payload::decode_bytes(out.freeze()).collect();
    assert_eq!(again, Ok(packets));
});
