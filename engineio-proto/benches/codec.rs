//! Encode and decode costs of the packet and payload codecs.
//!
//! `cargo bench -p engineio-proto --bench codec -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use criterion::{Criterion, Throughput, criterion_main};
use engineio_proto::{Data, Packet, PacketType, WsMessage, payload};

const OPEN: &str = r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
/// `4` + 30 bytes of JSON-like text (a Socket.IO event).
const MESSAGE: &str = r#"42["chat",{"user":"ana","n":7}]"#;

fn binary_1k() -> Bytes {
    (0..1024u32).map(|i| (i * 31 % 251) as u8).collect()
}

fn ten_packets() -> Vec<Packet> {
    (0..10)
        .map(|i| match i % 5 {
            0 => Packet::ping(),
            1 => Packet::binary(Bytes::from_static(&[1, 2, 3, 4, 5, 6, 7, 8])),
            _ => Packet::message(format!(r#"2["event",{{"i":{i},"text":"hello"}}]"#)),
        })
        .collect()
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let open = Packet::new(PacketType::Open, Data::Text(ByteString::from_static(OPEN)));
    let message = Packet::message(&MESSAGE[1..]);
    let binary = Packet::binary(binary_1k());
    let packets = ten_packets();
    let mut out = BytesMut::with_capacity(4096);

    let mut bench_text = |name: &str, packet: &Packet| {
        g.throughput(Throughput::Bytes(packet.encoded_len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                black_box(packet).encode_text(&mut out);
                black_box(&out);
            });
        });
    };
    bench_text("open", &open);
    bench_text("text_message", &message);
    bench_text("binary_1k_base64", &binary);
    g.throughput(Throughput::Bytes(1024));
    g.bench_function("binary_1k_ws_raw", |b| {
        b.iter(|| black_box(black_box(&binary).to_ws_message(true)));
    });
    g.bench_function("payload_10_packets", |b| {
        b.iter(|| {
            out.clear();
            payload::encode(black_box(&packets), &mut out);
            black_box(&out);
        });
    });
    g.finish();
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    let text = |p: Packet| p.to_text();
    let open = text(Packet::new(
        PacketType::Open,
        Data::Text(ByteString::from_static(OPEN)),
    ));
    let message = ByteString::from_static(MESSAGE);
    let base64 = text(Packet::binary(binary_1k()));
    let raw = WsMessage::Binary(binary_1k());
    let mut body = BytesMut::new();
    payload::encode(&ten_packets(), &mut body);
    let body = ByteString::try_from(body.freeze()).expect("a payload is UTF-8");

    let mut bench_text = |name: &str, input: &ByteString| {
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function(name, |b| {
            // Cloning a ByteString bumps a reference count: no copy of the input.
            b.iter(|| black_box(Packet::decode_text(black_box(input).clone())));
        });
    };
    bench_text("open", &open);
    bench_text("text_message", &message);
    bench_text("binary_1k_base64", &base64);
    g.throughput(Throughput::Bytes(1024));
    g.bench_function("binary_1k_ws_raw", |b| {
        b.iter(|| black_box(Packet::decode_ws(black_box(&raw).clone())));
    });
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("payload_10_packets", |b| {
        b.iter(|| {
            for packet in payload::decode(black_box(&body).clone()) {
                black_box(packet).expect("the payload decodes");
            }
        });
    });
    g.finish();
}

#[allow(missing_docs)] // criterion_group! defines an undocumented `pub fn benches`
mod group {
    use super::{decode, encode};
    use criterion::criterion_group;

    criterion_group!(benches, encode, decode);
}

criterion_main!(group::benches);
