//! Codec benchmarks: encode and decode, framing only and with a typed serde payload, for
//! CONNECT, EVENT, EVENT with ack, ACK and BINARY_EVENT with one 1 KiB attachment, with
//! both parsers.
//!
//! `cargo bench -p socketio-proto --bench codec`

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_main};
use serde::{Deserialize, Serialize};
use socketio_proto::{AckId, DecoderConfig, EngineMessage, Namespace, Packet, ParserKind, Payload};

#[derive(Serialize, Deserialize)]
struct Auth<'a> {
    token: &'a str,
}

fn cases(parser: ParserKind) -> Vec<(&'static str, Packet)> {
    let main = Namespace::main();
    let attachment = Bytes::from(vec![7u8; 1024]);
    vec![
        (
            "connect",
            Packet::connect(
                Namespace::new("/admin").unwrap(),
                Some(Payload::new(parser, &Auth { token: "123" }).unwrap()),
            ),
        ),
        (
            "event",
            Packet::event(
                main.clone(),
                Payload::new(parser, &("message", "hello", 1)).unwrap(),
                None,
            ),
        ),
        (
            "event_ack",
            Packet::event(
                main.clone(),
                Payload::new(parser, &("message", "hello", 1)).unwrap(),
                Some(AckId::new(12)),
            ),
        ),
        (
            "ack",
            Packet::ack(
                main.clone(),
                AckId::new(12),
                Payload::new(parser, &("ok", 1)).unwrap(),
            ),
        ),
        (
            "binary_event_1k",
            Packet::event(
                main,
                Payload::new(parser, &("file", attachment)).unwrap(),
                None,
            ),
        ),
    ]
}

fn typed_payload(parser: ParserKind, name: &str) -> Payload {
    match name {
        "connect" => Payload::new(parser, &Auth { token: "123" }).unwrap(),
        "event" | "event_ack" => Payload::new(parser, &("message", "hello", 1)).unwrap(),
        "ack" => Payload::new(parser, &("ok", 1)).unwrap(),
        _ => Payload::new(parser, &("file", Bytes::from_static(&[7u8; 1024]))).unwrap(),
    }
}

fn typed_read(name: &str, p: &Packet) {
    let data = p.data.as_ref().unwrap();
    match name {
        "connect" => {
            black_box(data.deserialize::<Auth<'_>>().unwrap());
        }
        "event" | "event_ack" => {
            let n = data.event_name().unwrap();
            black_box(n);
            black_box(data.event_args::<(&str, u32)>().unwrap());
        }
        "ack" => {
            black_box(data.deserialize::<(&str, u32)>().unwrap());
        }
        _ => {
            black_box(data.event_args::<(Bytes,)>().unwrap());
        }
    }
}

fn bench(c: &mut Criterion) {
    for (parser, pname) in [
        (ParserKind::Default, "default"),
        (ParserKind::MsgPack, "msgpack"),
    ] {
        for (name, packet) in cases(parser) {
            let mut out = Vec::with_capacity(2);
            c.bench_function(&format!("{pname}/encode/{name}/framing"), |b| {
                b.iter(|| {
                    out.clear();
                    parser.encode(black_box(&packet), &mut out).unwrap();
                    black_box(&out);
                })
            });
            c.bench_function(&format!("{pname}/encode/{name}/typed"), |b| {
                b.iter(|| {
                    let mut p = packet.clone();
                    p.data = Some(typed_payload(parser, name));
                    out.clear();
                    parser.encode(black_box(&p), &mut out).unwrap();
                    black_box(&out);
                })
            });
            let mut wire: Vec<EngineMessage> = Vec::new();
            parser.encode(&packet, &mut wire).unwrap();
            let mut decoder = parser.decoder(DecoderConfig::default());
            c.bench_function(&format!("{pname}/decode/{name}/framing"), |b| {
                b.iter(|| {
                    let mut last = None;
                    for m in &wire {
                        last = decoder.decode(black_box(m.clone())).unwrap();
                    }
                    black_box(last)
                })
            });
            c.bench_function(&format!("{pname}/decode/{name}/typed"), |b| {
                b.iter(|| {
                    let mut last = None;
                    for m in &wire {
                        last = decoder.decode(black_box(m.clone())).unwrap();
                    }
                    typed_read(name, last.as_ref().unwrap());
                })
            });
        }
    }
}

#[allow(missing_docs)] // criterion_group! defines an undocumented `pub fn benches`
mod group {
    use criterion::criterion_group;

    use super::bench;

    criterion_group!(benches, bench);
}

criterion_main!(group::benches);
