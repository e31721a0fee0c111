//! The canonical JSON form of a packet, for fixtures and differential tests.
//!
//! ```json
//! {"type": 2, "nsp": "/admin", "id": 12, "data": ["a", {"binary_hex": "0102"}]}
//! ```
//! - `type` is `0..=4` (binary packets of the default parser are EVENT/ACK, as the Node
//!   decoder emits them); `id` and `data` are present only when the packet has them;
//! - binary values (attachments, msgpack `bin` and `ArrayBuffer` extensions) are
//!   `{"binary_hex": "…"}`;
//! - numbers are JavaScript numbers: a number is an integer when it is integral and within
//!   ±2^53, and a float otherwise (see [`canonical_number`]); `undefined` is dropped from
//!   objects and `null` in arrays, as `JSON.stringify` does.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq};
use serde_json::{Map, Number, Value};

use crate::ParserKind;
use crate::error::EncodeError;
use crate::json::value_de::placeholder;
use crate::msgpack::{Kind, Reader};
use crate::packet::{AckId, Namespace, Packet, PacketKind};
use crate::payload::Payload;

impl Packet {
    /// The canonical JSON form of this packet (see the module docs of [`crate::canonical`]).
    pub fn to_canonical_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), Value::from(self.kind.code()));
        m.insert("nsp".into(), Value::from(self.nsp.as_str()));
        if let Some(id) = self.id {
            m.insert("id".into(), canonical_number(id.get() as f64));
        }
        if let Some(data) = &self.data {
            m.insert("data".into(), data.to_canonical_json());
        }
        Value::Object(m)
    }

    /// Builds a packet for `parser` from its canonical JSON form, serializing the data as the
    /// Node encoders would (binary values become attachments or `bin`).
    pub fn from_canonical_json(parser: ParserKind, value: &Value) -> Result<Self, EncodeError> {
        let obj = value
            .as_object()
            .ok_or(EncodeError::InvalidCanonical("not an object"))?;
        let code = obj
            .get("type")
            .and_then(Value::as_u64)
            .ok_or(EncodeError::InvalidCanonical("type"))?;
        let kind = match code {
            5 => PacketKind::Event,
            6 => PacketKind::Ack,
            c => u8::try_from(c)
                .ok()
                .and_then(PacketKind::from_code)
                .ok_or(EncodeError::InvalidCanonical("type"))?,
        };
        let nsp = match obj.get("nsp") {
            None => Namespace::main(),
            Some(Value::String(s)) => Namespace::from_wire(s.as_str().into()),
            Some(_) => return Err(EncodeError::InvalidCanonical("nsp")),
        };
        let id = match obj.get("id") {
            None | Some(Value::Null) => None,
            Some(v) => Some(AckId::new(
                v.as_u64()
                    .or_else(|| {
                        v.as_f64()
                            .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                            .map(|f| f as u64)
                    })
                    .ok_or(EncodeError::InvalidCanonical("id"))?,
            )),
        };
        let data = match obj.get("data") {
            None => None,
            // socket.io-parser writes no payload for `data: null` (`null != obj.data`);
            // notepack.io writes nil.
            Some(Value::Null) if parser == ParserKind::Default => None,
            Some(d) => Some(Payload::new(parser, &CanonicalData(d, parser))?),
        };
        Ok(Self {
            kind,
            nsp,
            id,
            data,
        })
    }
}

impl Payload {
    /// The canonical JSON form of the payload value (binary as `{"binary_hex": …}`).
    pub fn to_canonical_json(&self) -> Value {
        if let Some(text) = self.json_text() {
            let Ok(v) = serde_json::from_str::<Value>(text) else {
                return Value::Null;
            };
            return json_to_canonical(&v, self.attachments());
        }
        match self.msgpack_bytes() {
            Some(b) => {
                let mut r = Reader::new(b);
                msgpack_to_canonical(&mut r, 0).unwrap_or(Value::Null)
            }
            None => Value::Null,
        }
    }
}

/// A JavaScript number in canonical form: an integer when integral and within ±2^53, else a
/// float (`NaN` and infinities, which JSON cannot carry, are `null`).
pub fn canonical_number(x: f64) -> Value {
    const SAFE: f64 = 9_007_199_254_740_992.0;
    if x.fract() == 0.0 && x.abs() <= SAFE {
        if x < 0.0 {
            Value::from(x as i64)
        } else {
            Value::from(x as u64)
        }
    } else {
        Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

/// Normalizes every number of a JSON value to its canonical form (see [`canonical_number`]),
/// so that values from JSON texts written by different encoders compare equal.
pub fn canonicalize(v: &Value) -> Value {
    json_to_canonical(v, &[])
}

fn hex(bytes: &[u8]) -> Value {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(H[usize::from(b >> 4)]));
        s.push(char::from(H[usize::from(b & 15)]));
    }
    let mut m = Map::new();
    m.insert("binary_hex".into(), Value::String(s));
    Value::Object(m)
}

fn json_to_canonical(v: &Value, attachments: &[bytes::Bytes]) -> Value {
    if !attachments.is_empty() {
        if let Some(b) = placeholder(v, attachments) {
            return hex(b);
        }
    }
    match v {
        Value::Number(n) => canonical_number(n.as_f64().unwrap_or(f64::NAN)),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| json_to_canonical(x, attachments))
                .collect(),
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), json_to_canonical(x, attachments)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Reads one msgpack value as JavaScript's `JSON.stringify(notepack.decode(...))` would show
/// it. `None` stands for `undefined`.
fn msgpack_to_canonical(r: &mut Reader<'_>, depth: usize) -> Option<Value> {
    let (kind, body) = r.head().ok()?;
    let bytes = &r.buf[body];
    Some(match kind {
        Kind::Nil => Value::Null,
        Kind::Bool(b) => Value::Bool(b),
        Kind::Int(i) => canonical_number(i as f64),
        Kind::Number(n) => canonical_number(n),
        Kind::Str => Value::String(String::from_utf8_lossy(bytes).into_owned()),
        Kind::Bin | Kind::ArrayBuffer => hex(bytes),
        Kind::Undefined => return None,
        Kind::Date(ms) => {
            let mut m = Map::new();
            // An invalid date (beyond ±8.64e15 ms) has the time NaN, which JSON writes null.
            let valid = crate::msgpack_de::iso_date(ms).is_some();
            m.insert(
                "date_ms".into(),
                if valid { Value::from(ms) } else { Value::Null },
            );
            Value::Object(m)
        }
        Kind::Ext(t) => Value::Array(vec![Value::from(t), hex(bytes)]),
        Kind::Array(n) => {
            if depth >= crate::msgpack::MAX_DEPTH {
                return Some(Value::Null);
            }
            let mut a = Vec::new();
            for _ in 0..n {
                a.push(msgpack_to_canonical(r, depth + 1).unwrap_or(Value::Null));
            }
            Value::Array(a)
        }
        Kind::Map(n) => {
            if depth >= crate::msgpack::MAX_DEPTH {
                return Some(Value::Null);
            }
            let mut m = Map::new();
            for _ in 0..n {
                let key = match msgpack_to_canonical(r, depth + 1) {
                    Some(Value::String(s)) => s,
                    Some(Value::Number(n)) => n.to_string(),
                    Some(Value::Bool(b)) => b.to_string(),
                    Some(Value::Null) => "null".into(),
                    None => "undefined".into(),
                    Some(_) => "[object Object]".into(),
                };
                match msgpack_to_canonical(r, depth + 1) {
                    Some(v) => {
                        // JavaScript keeps the first position of a key and the last value.
                        m.insert(key, v);
                    }
                    None => {
                        m.shift_remove(&key);
                    }
                }
            }
            Value::Object(m)
        }
    })
}

/// Serializes a canonical data value for a parser: `{"binary_hex": …}` objects become byte
/// strings, and integral numbers are written as integers where the Node encoder writes them
/// so: JSON up to ±2^53 (beyond, `JSON.stringify` prints the float's shortest digits),
/// msgpack up to ±2^63 (`notepack.io` writes integral numbers as integers).
struct CanonicalData<'a>(&'a Value, ParserKind);

fn unhex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    let d = |c: u8| (c as char).to_digit(16).map(|x| x as u8);
    b.chunks(2)
        .map(|p| Some(d(p[0])? << 4 | d(p[1])?))
        .collect()
}

impl Serialize for CanonicalData<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    s.serialize_u64(u)
                } else if let Some(i) = n.as_i64() {
                    s.serialize_i64(i)
                } else {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    let max = match self.1 {
                        ParserKind::MsgPack => 9.2e18,
                        _ => 9_007_199_254_740_992.0,
                    };
                    if f.fract() == 0.0 && f.abs() <= max {
                        s.serialize_i64(f as i64)
                    } else {
                        s.serialize_f64(f)
                    }
                }
            }
            Value::String(x) => s.serialize_str(x),
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(&CanonicalData(x, self.1))?;
                }
                seq.end()
            }
            Value::Object(o) => {
                if o.len() == 1 {
                    if let Some(bytes) = o.get("binary_hex").and_then(Value::as_str).and_then(unhex)
                    {
                        return s.serialize_bytes(&bytes);
                    }
                }
                let mut map = s.serialize_map(Some(o.len()))?;
                for (k, x) in o {
                    map.serialize_entry(k, &CanonicalData(x, self.1))?;
                }
                map.end()
            }
        }
    }
}

/// Serializes a JSON tree whose placeholders stand for `attachments`, writing each
/// placeholder as the bytes of its attachment.
pub(crate) struct WithAttachments<'a> {
    pub(crate) value: &'a Value,
    pub(crate) attachments: &'a [bytes::Bytes],
}

impl Serialize for WithAttachments<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Some(b) = placeholder(self.value, self.attachments) {
            return s.serialize_bytes(b);
        }
        let child = |value| WithAttachments {
            value,
            attachments: self.attachments,
        };
        match self.value {
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(&child(x))?;
                }
                seq.end()
            }
            Value::Object(o) => {
                let mut map = s.serialize_map(Some(o.len()))?;
                for (k, x) in o {
                    map.serialize_entry(k, &child(x))?;
                }
                map.end()
            }
            other => CanonicalData(other, ParserKind::Default).serialize(s),
        }
    }
}
