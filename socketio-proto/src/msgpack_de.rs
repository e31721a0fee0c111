//! Reads a msgpack payload into any serde type, showing each value as JavaScript sees what
//! `socket.io-msgpack-parser` (with `notepack.io` 2.2) decodes:
//!
//! | msgpack | JavaScript | serde |
//! |---|---|---|
//! | `d4 00 xx` (`undefined`) in a map | the property is absent | the entry is skipped (an `Option` field is `None`) |
//! | `undefined` elsewhere | `undefined` (`null` for a JSON peer) | unit / `None` |
//! | `bin` | `Buffer` | bytes (or a sequence of `u8`) |
//! | `ext` of type 0 with data | `ArrayBuffer` | bytes |
//! | `d7 00` + int64 | `Date` | its ISO 8601 string, as `JSON.stringify` writes it; the milliseconds for a number type; `null` when out of range |
//! | any other extension | `[type, Buffer]` | a sequence `(type, bytes)`; a typed [`PayloadError::UnsupportedExtension`] for a scalar type |
//! | a map key that is not a string | the key as `String(key)` | that string |
//!
//! Strings and byte strings borrow from the payload. Nesting is bounded as when decoding.

use std::ops::Range;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use crate::error::PayloadError;
use crate::json::writer::write_js_f64;
use crate::msgpack::{Kind, MAX_DEPTH, Reader};

/// Deserializes the whole of `bytes` (one msgpack value) with `read`.
pub(crate) fn read<'de, T>(
    bytes: &'de [u8],
    read: impl FnOnce(ValueDe<'_, 'de>) -> Result<T, PayloadError>,
) -> Result<T, PayloadError> {
    let mut r = Reader::new(bytes);
    let out = read(ValueDe {
        r: &mut r,
        depth: 1,
    })?;
    if r.pos != bytes.len() {
        return Err(PayloadError::Deserialize("trailing bytes".into()));
    }
    Ok(out)
}

fn invalid(e: crate::DecodeError) -> PayloadError {
    PayloadError::Deserialize(e.to_string())
}

/// Whether the value at the reader's position is `undefined` (`fixext 1` of type 0).
fn at_undefined(r: &Reader<'_>) -> bool {
    r.buf.get(r.pos) == Some(&0xd4) && r.buf.get(r.pos + 1) == Some(&0x00)
}

/// Whether the value at the reader's position is `nil` or `undefined`.
fn at_nullish(r: &Reader<'_>) -> bool {
    r.buf.get(r.pos) == Some(&0xc0) || at_undefined(r)
}

/// One value at the reader's position.
pub(crate) struct ValueDe<'r, 'de> {
    r: &'r mut Reader<'de>,
    depth: usize,
}

impl<'de> ValueDe<'_, 'de> {
    fn str_at(&self, body: Range<usize>) -> Result<&'de str, PayloadError> {
        let buf: &'de [u8] = self.r.buf;
        std::str::from_utf8(&buf[body])
            .map_err(|_| PayloadError::Deserialize("invalid UTF-8 in a string".into()))
    }

    fn nested(&mut self) -> Result<ValueDe<'_, 'de>, PayloadError> {
        if self.depth >= MAX_DEPTH {
            return Err(invalid(crate::DecodeError::NestingTooDeep));
        }
        Ok(ValueDe {
            r: self.r,
            depth: self.depth + 1,
        })
    }

    /// Hands the value whose head was just read to `visitor`. `any` is false when the type
    /// asked for a scalar, where an extension has no meaning.
    fn visit<V: Visitor<'de>>(
        mut self,
        kind: Kind,
        body: Range<usize>,
        any: bool,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        let buf: &'de [u8] = self.r.buf;
        match kind {
            Kind::Nil | Kind::Undefined => visitor.visit_unit(),
            Kind::Bool(b) => visitor.visit_bool(b),
            Kind::Int(i) => {
                if let Ok(u) = u64::try_from(i) {
                    visitor.visit_u64(u)
                } else if let Ok(s) = i64::try_from(i) {
                    visitor.visit_i64(s)
                } else {
                    visitor.visit_f64(i as f64)
                }
            }
            Kind::Number(n) => visitor.visit_f64(n),
            Kind::Str => visitor.visit_borrowed_str(self.str_at(body)?),
            Kind::Bin | Kind::ArrayBuffer => visitor.visit_borrowed_bytes(&buf[body]),
            Kind::Date(ms) => match iso_date(ms) {
                Some(s) => visitor.visit_string(s),
                None => visitor.visit_unit(),
            },
            Kind::Ext(ext_type) if any => visitor.visit_seq(ExtSeq {
                ext_type,
                data: &buf[body],
                next: 0,
            }),
            Kind::Ext(ext_type) => Err(PayloadError::UnsupportedExtension { ext_type }),
            Kind::Array(n) => {
                let mut seq = SeqAcc {
                    de: self.nested()?,
                    remaining: n,
                };
                let out = visitor.visit_seq(&mut seq)?;
                if seq.remaining != 0 {
                    return Err(de::Error::invalid_length(n as usize, &"fewer elements"));
                }
                Ok(out)
            }
            Kind::Map(n) => {
                let mut map = MapAcc {
                    de: self.nested()?,
                    remaining: n,
                };
                let out = visitor.visit_map(&mut map)?;
                if map.remaining != 0 {
                    return Err(de::Error::invalid_length(n as usize, &"fewer entries"));
                }
                Ok(out)
            }
        }
    }

    fn head(&mut self) -> Result<(Kind, Range<usize>), PayloadError> {
        self.r.head().map_err(invalid)
    }

    /// A scalar hint: a `Date` is its milliseconds, anything else as for `any`.
    fn number<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, PayloadError> {
        match self.head()? {
            (Kind::Date(ms), _) => visitor.visit_i64(ms),
            (kind, body) => self.visit(kind, body, false, visitor),
        }
    }

    fn scalar<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, PayloadError> {
        let (kind, body) = self.head()?;
        self.visit(kind, body, false, visitor)
    }
}

macro_rules! numbers {
    ($($name:ident)*) => {$(
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
            self.number(visitor)
        }
    )*};
}

macro_rules! scalars {
    ($($name:ident)*) => {$(
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
            self.scalar(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDe<'_, 'de> {
    type Error = PayloadError;

    fn deserialize_any<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, PayloadError> {
        let (kind, body) = self.head()?;
        self.visit(kind, body, true, visitor)
    }

    numbers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    scalars! {
        deserialize_bool deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_unit deserialize_identifier
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
        if at_nullish(self.r) {
            self.r.skip(self.depth).map_err(invalid)?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, PayloadError> {
        let buf: &'de [u8] = self.r.buf;
        match self.head()? {
            // `Vec<u8>` and friends read binary as a sequence of bytes.
            (Kind::Bin | Kind::ArrayBuffer, body) => visitor.visit_seq(
                de::value::SeqDeserializer::<_, PayloadError>::new(buf[body].iter().copied()),
            ),
            (kind, body) => self.visit(kind, body, true, visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        self.scalar(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        self.deserialize_any(visitor)
    }

    /// As serde_json: a unit variant is a string, another variant a map of one entry.
    fn deserialize_enum<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        match self.head()? {
            (Kind::Str, body) => {
                let s = self.str_at(body)?;
                visitor.visit_enum(s.into_deserializer())
            }
            (Kind::Map(1), _) => visitor.visit_enum(EnumAcc { de: self.nested()? }),
            _ => Err(de::Error::custom(
                "expected an enum: a string or a map with one entry",
            )),
        }
    }

    /// Skips the value, whatever it is (an unknown field may hold any extension).
    fn deserialize_ignored_any<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        self.r.skip(self.depth).map_err(invalid)?;
        visitor.visit_unit()
    }
}

struct SeqAcc<'r, 'de> {
    de: ValueDe<'r, 'de>,
    remaining: u32,
}

impl<'de> de::SeqAccess<'de> for SeqAcc<'_, 'de> {
    type Error = PayloadError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, PayloadError> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        seed.deserialize(ValueDe {
            r: self.de.r,
            depth: self.de.depth,
        })
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining as usize)
    }
}

struct MapAcc<'r, 'de> {
    de: ValueDe<'r, 'de>,
    remaining: u32,
}

impl<'de> de::MapAccess<'de> for MapAcc<'_, 'de> {
    type Error = PayloadError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, PayloadError> {
        let depth = self.de.depth;
        loop {
            if self.remaining == 0 {
                return Ok(None);
            }
            self.remaining -= 1;
            let key_at = self.de.r.pos;
            self.de.r.skip(depth).map_err(invalid)?;
            if at_undefined(self.de.r) {
                // `{key: undefined}`: JavaScript has no such property.
                self.de.r.skip(depth).map_err(invalid)?;
                continue;
            }
            self.de.r.pos = key_at;
            return seed
                .deserialize(KeyDe {
                    r: self.de.r,
                    depth,
                })
                .map(Some);
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, PayloadError> {
        seed.deserialize(ValueDe {
            r: self.de.r,
            depth: self.de.depth,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining as usize)
    }
}

/// A map key, as the JavaScript property name `String(key)` (numbers in JavaScript's
/// notation); a type that asks for a number reads a numeric key, or parses a string key.
struct KeyDe<'r, 'de> {
    r: &'r mut Reader<'de>,
    depth: usize,
}

impl<'de> KeyDe<'_, 'de> {
    fn number<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
        let start = self.r.pos;
        let (kind, body) = self.r.head().map_err(invalid)?;
        let buf: &'de [u8] = self.r.buf;
        match kind {
            Kind::Str => {
                let s = std::str::from_utf8(&buf[body])
                    .map_err(|_| PayloadError::Deserialize("invalid UTF-8 in a key".into()))?;
                if let Ok(u) = s.parse::<u64>() {
                    visitor.visit_u64(u)
                } else if let Ok(i) = s.parse::<i64>() {
                    visitor.visit_i64(i)
                } else if let Ok(f) = s.parse::<f64>() {
                    visitor.visit_f64(f)
                } else {
                    visitor.visit_borrowed_str(s)
                }
            }
            _ => {
                self.r.pos = start;
                ValueDe {
                    r: self.r,
                    depth: self.depth,
                }
                .scalar(visitor)
            }
        }
    }
}

impl<'de> de::Deserializer<'de> for KeyDe<'_, 'de> {
    type Error = PayloadError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
        let start = self.r.pos;
        let (kind, body) = self.r.head().map_err(invalid)?;
        let buf: &'de [u8] = self.r.buf;
        let name = match kind {
            Kind::Str => {
                let s = std::str::from_utf8(&buf[body])
                    .map_err(|_| PayloadError::Deserialize("invalid UTF-8 in a key".into()))?;
                return visitor.visit_borrowed_str(s);
            }
            Kind::Int(i) => i.to_string(),
            Kind::Number(n) => {
                let mut s = String::new();
                write_js_f64(&mut s, n);
                if s == "null" {
                    s = if n.is_nan() {
                        "NaN".into()
                    } else if n > 0.0 {
                        "Infinity".into()
                    } else {
                        "-Infinity".into()
                    };
                }
                s
            }
            Kind::Bool(b) => b.to_string(),
            Kind::Nil => "null".into(),
            Kind::Undefined => "undefined".into(),
            Kind::Bin => String::from_utf8_lossy(&buf[body]).into_owned(),
            Kind::ArrayBuffer => "[object ArrayBuffer]".into(),
            Kind::Date(ms) => iso_date(ms).unwrap_or_else(|| "Invalid Date".into()),
            Kind::Ext(_) | Kind::Array(_) | Kind::Map(_) => {
                self.r.pos = start;
                self.r.skip(self.depth).map_err(invalid)?;
                "[object Object]".into()
            }
        };
        visitor.visit_string(name)
    }

    numbers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool char str string bytes byte_buf option unit unit_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct EnumAcc<'r, 'de> {
    de: ValueDe<'r, 'de>,
}

impl<'de> de::EnumAccess<'de> for EnumAcc<'_, 'de> {
    type Error = PayloadError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), PayloadError> {
        let v = seed.deserialize(KeyDe {
            r: self.de.r,
            depth: self.de.depth,
        })?;
        Ok((v, self))
    }
}

impl<'de> de::VariantAccess<'de> for EnumAcc<'_, 'de> {
    type Error = PayloadError;

    fn unit_variant(self) -> Result<(), PayloadError> {
        de::Deserialize::deserialize(self.de)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, PayloadError> {
        seed.deserialize(self.de)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        de::Deserializer::deserialize_seq(self.de, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        de::Deserializer::deserialize_any(self.de, visitor)
    }
}

/// An extension seen as JavaScript's `[type, Buffer]`.
struct ExtSeq<'de> {
    ext_type: i8,
    data: &'de [u8],
    next: u8,
}

impl<'de> de::SeqAccess<'de> for ExtSeq<'de> {
    type Error = PayloadError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, PayloadError> {
        self.next += 1;
        match self.next {
            1 => seed
                .deserialize(i64::from(self.ext_type).into_deserializer())
                .map(Some),
            2 => seed
                .deserialize(de::value::BorrowedBytesDeserializer::new(self.data))
                .map(Some),
            _ => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(2usize.saturating_sub(usize::from(self.next)))
    }
}

/// `Date.prototype.toISOString` of `ms` milliseconds since the epoch, or `None` for an
/// invalid date (beyond ±8.64e15 ms), which `JSON.stringify` writes as `null`.
pub(crate) fn iso_date(ms: i64) -> Option<String> {
    const MAX: i64 = 8_640_000_000_000_000;
    if !(-MAX..=MAX).contains(&ms) {
        return None;
    }
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", -year)
    } else {
        format!("+{year:06}")
    };
    Some(format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    ))
}

#[cfg(test)]
mod tests {
    use super::iso_date;

    #[test]
    fn dates_are_written_as_to_iso_string_does() {
        assert_eq!(iso_date(0).as_deref(), Some("1970-01-01T00:00:00.000Z"));
        assert_eq!(
            iso_date(1_700_000_000_123).as_deref(),
            Some("2023-11-14T22:13:20.123Z")
        );
        assert_eq!(iso_date(-1).as_deref(), Some("1969-12-31T23:59:59.999Z"));
        assert_eq!(
            iso_date(951_782_400_000).as_deref(),
            Some("2000-02-29T00:00:00.000Z")
        );
        assert_eq!(
            iso_date(-62_198_755_200_000).as_deref(),
            Some("-000001-01-01T00:00:00.000Z")
        );
        assert_eq!(
            iso_date(8_640_000_000_000_000).as_deref(),
            Some("+275760-09-13T00:00:00.000Z")
        );
        assert_eq!(iso_date(8_640_000_000_000_001), None);
    }
}
