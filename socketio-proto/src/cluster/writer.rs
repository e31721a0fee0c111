//! Writing a message as Node does: compact `JSON.stringify` text, or `notepack.io` 3.0.1
//! msgpack (smallest integer forms, `str8` for 32..=255 bytes, `bin` for binary, every
//! non-integral number as float64).

use bytes::Bytes;

use super::ClusterEncodeError;
use crate::json::writer::{write_js_f64, write_str_literal};
use crate::{Payload, Value};

/// The wire format of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    MsgPack,
}

/// A writer for one message. JSON needs separators; msgpack needs the lengths up front, so
/// both are given: `map(n)` then `n` times `key` + a value, then `end()`.
pub(crate) struct Writer {
    format: Format,
    json: String,
    mp: Vec<u8>,
    /// For JSON: whether each open container already has an element.
    stack: Vec<bool>,
    /// For JSON: a key was just written, its value needs no separator.
    after_key: bool,
}

impl Writer {
    pub(crate) fn new(format: Format) -> Self {
        Self {
            format,
            json: String::new(),
            mp: Vec::new(),
            stack: Vec::new(),
            after_key: false,
        }
    }

    pub(crate) fn finish(self) -> Bytes {
        match self.format {
            Format::Json => Bytes::from(self.json.into_bytes()),
            Format::MsgPack => Bytes::from(self.mp),
        }
    }

    /// A comma before every element of a container but the first (keys handle their own).
    fn element(&mut self) {
        if std::mem::take(&mut self.after_key) {
            return;
        }
        if self.format == Format::Json {
            if let Some(has) = self.stack.last_mut() {
                if *has {
                    self.json.push(',');
                }
                *has = true;
            }
        }
    }

    pub(crate) fn map(&mut self, len: usize) {
        self.element();
        match self.format {
            Format::Json => self.json.push('{'),
            // Writing to a Vec cannot fail.
            Format::MsgPack => drop(rmp::encode::write_map_len(&mut self.mp, len as u32)),
        }
        self.stack.push(false);
    }

    pub(crate) fn array(&mut self, len: usize) {
        self.element();
        match self.format {
            Format::Json => self.json.push('['),
            Format::MsgPack => drop(rmp::encode::write_array_len(&mut self.mp, len as u32)),
        }
        self.stack.push(false);
    }

    /// Closes the innermost map or array.
    pub(crate) fn end(&mut self, map: bool) {
        self.stack.pop();
        if self.format == Format::Json {
            self.json.push(if map { '}' } else { ']' });
        }
    }

    /// A key of the current map; the value follows.
    pub(crate) fn key(&mut self, key: &str) {
        self.element();
        match self.format {
            Format::Json => {
                write_str_literal(&mut self.json, key);
                self.json.push(':');
            }
            Format::MsgPack => drop(rmp::encode::write_str(&mut self.mp, key)),
        }
        self.after_key = true;
    }

    fn scalar(&mut self) {
        self.element();
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.scalar();
        match self.format {
            Format::Json => write_str_literal(&mut self.json, s),
            Format::MsgPack => drop(rmp::encode::write_str(&mut self.mp, s)),
        }
    }

    pub(crate) fn uint(&mut self, n: u64) {
        self.scalar();
        match self.format {
            Format::Json => self.json.push_str(&n.to_string()),
            Format::MsgPack => drop(rmp::encode::write_uint(&mut self.mp, n)),
        }
    }

    pub(crate) fn bool(&mut self, b: bool) {
        self.scalar();
        match self.format {
            Format::Json => self.json.push_str(if b { "true" } else { "false" }),
            Format::MsgPack => drop(rmp::encode::write_bool(&mut self.mp, b)),
        }
    }

    pub(crate) fn null(&mut self) {
        self.scalar();
        match self.format {
            Format::Json => self.json.push_str("null"),
            Format::MsgPack => drop(rmp::encode::write_nil(&mut self.mp)),
        }
    }

    /// A JavaScript number, as notepack writes it: integral and safe → the smallest integer
    /// form; anything else float64.
    pub(crate) fn number(&mut self, n: f64) {
        self.scalar();
        match self.format {
            Format::Json => write_js_f64(&mut self.json, n),
            Format::MsgPack => write_mp_number(&mut self.mp, n),
        }
    }

    pub(crate) fn strings(&mut self, items: &[String]) {
        self.array(items.len());
        for s in items {
            self.str(s);
        }
        self.end(false);
    }

    /// A value kept as a payload: copied as is when it is already in this format, written
    /// again through [`Value`] otherwise.
    pub(crate) fn payload(&mut self, p: &Payload) -> Result<(), ClusterEncodeError> {
        match (self.format, p.msgpack_bytes(), p.json_text()) {
            (Format::MsgPack, Some(bytes), _) => {
                self.scalar();
                self.mp.extend_from_slice(bytes);
                Ok(())
            }
            (Format::Json, _, Some(text)) if p.attachments().is_empty() => {
                self.scalar();
                self.json.push_str(text);
                Ok(())
            }
            _ => {
                let v: Value = p
                    .deserialize()
                    .map_err(|e| ClusterEncodeError::Payload(e.to_string()))?;
                self.value(&v)
            }
        }
    }

    /// A dynamic value. Binary cannot be written as JSON by us (Node would write
    /// `{"type":"Buffer","data":[…]}`, which the receiver no longer reads as binary).
    pub(crate) fn value(&mut self, v: &Value) -> Result<(), ClusterEncodeError> {
        match v {
            Value::Null => self.null(),
            Value::Bool(b) => self.bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    self.uint(u);
                } else if let Some(i) = n.as_i64() {
                    self.scalar();
                    match self.format {
                        Format::Json => self.json.push_str(&i.to_string()),
                        Format::MsgPack => drop(rmp::encode::write_sint(&mut self.mp, i)),
                    }
                } else {
                    self.number(n.as_f64().unwrap_or(f64::NAN));
                }
            }
            Value::String(s) => self.str(s),
            Value::Binary(b) => {
                if self.format == Format::Json {
                    return Err(ClusterEncodeError::BinaryInJson);
                }
                self.scalar();
                drop(rmp::encode::write_bin(&mut self.mp, b));
            }
            Value::Array(items) => {
                self.array(items.len());
                for item in items {
                    self.value(item)?;
                }
                self.end(false);
            }
            Value::Object(entries) => {
                self.map(entries.len());
                for (k, item) in entries {
                    self.key(k);
                    self.value(item)?;
                }
                self.end(true);
            }
        }
        Ok(())
    }
}

/// A JavaScript number as `notepack.io` 3.0.1 writes it: an integral number in the int64
/// range as the smallest integer form (positive: fixint, uint8..uint64; negative: fixint,
/// int8..int64), anything else (fractions, NaN, ±Infinity, huge values) as float64.
pub(crate) fn write_mp_number(out: &mut Vec<u8>, n: f64) {
    // Writing to a Vec cannot fail.
    if n.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&n) {
        drop(rmp::encode::write_uint(out, n as u64));
    } else if n.fract() == 0.0 && (-9_223_372_036_854_775_808.0..0.0).contains(&n) {
        drop(rmp::encode::write_sint(out, n as i64));
    } else {
        drop(rmp::encode::write_f64(out, n));
    }
}
