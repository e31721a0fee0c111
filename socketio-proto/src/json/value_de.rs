//! Deserializes a JSON tree into a user type, handing each `{"_placeholder":true,"num":N}`
//! object over as the bytes of attachment `N` (`visit_bytes`, or a sequence of `u8` when the
//! type asks for one). Used only for binary packets; plain packets deserialize straight from
//! the text.

use bytes::Bytes;
use serde::de::value::{MapAccessDeserializer, SeqDeserializer, StrDeserializer};
use serde::de::{self, DeserializeSeed, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;

use crate::error::PayloadError;

/// The attachment a placeholder object stands for, if `v` is one.
pub(crate) fn placeholder<'a>(v: &Value, attachments: &'a [Bytes]) -> Option<&'a Bytes> {
    let obj = v.as_object()?;
    if obj.get("_placeholder")? != &Value::Bool(true) {
        return None;
    }
    let n = obj.get("num")?.as_f64()?;
    if n < 0.0 || n.fract() != 0.0 {
        return None;
    }
    attachments.get(n as usize)
}

#[derive(Clone, Copy)]
pub(crate) struct ValueDe<'a> {
    pub(crate) value: &'a Value,
    pub(crate) attachments: &'a [Bytes],
}

impl<'a> ValueDe<'a> {
    fn child(self, value: &'a Value) -> Self {
        Self {
            value,
            attachments: self.attachments,
        }
    }
}

impl<'de> de::Deserializer<'de> for ValueDe<'_> {
    type Error = PayloadError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
        if let Some(bytes) = placeholder(self.value, self.attachments) {
            return visitor.visit_bytes(bytes);
        }
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => visitor.visit_seq(Seq {
                iter: items.iter(),
                de: self,
            }),
            Value::Object(map) => visitor.visit_map(Map {
                iter: map.iter(),
                value: None,
                de: self,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
        if self.value.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
        if let Some(bytes) = placeholder(self.value, self.attachments) {
            return visitor.visit_seq(SeqDeserializer::<_, PayloadError>::new(
                bytes.iter().copied(),
            ));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        match self.value {
            Value::String(s) => visitor.visit_enum(StrDeserializer::<PayloadError>::new(s)),
            Value::Object(map) => visitor.visit_enum(MapAccessDeserializer::new(Map {
                iter: map.iter(),
                value: None,
                de: self,
            })),
            _ => Err(de::Error::custom("expected an enum")),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct map struct identifier ignored_any
    }
}

struct Seq<'a> {
    iter: std::slice::Iter<'a, Value>,
    de: ValueDe<'a>,
}

impl<'de> de::SeqAccess<'de> for Seq<'_> {
    type Error = PayloadError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, PayloadError> {
        match self.iter.next() {
            Some(v) => seed.deserialize(self.de.child(v)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct Map<'a> {
    iter: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
    de: ValueDe<'a>,
}

impl<'de> de::MapAccess<'de> for Map<'_> {
    type Error = PayloadError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, PayloadError> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(StrDeserializer::<PayloadError>::new(k))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, PayloadError> {
        match self.value.take() {
            Some(v) => seed.deserialize(self.de.child(v)),
            None => Err(de::Error::custom("value requested before key")),
        }
    }
}

/// Deserializes the elements after the first of an array (the arguments after an event
/// name), ignoring elements the type does not read.
pub(crate) struct SkipFirst<D>(pub(crate) D);

impl<'de, D: de::Deserializer<'de>> de::Deserializer<'de> for SkipFirst<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_seq(SkipFirstVisitor(visitor))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct SkipFirstVisitor<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for SkipFirstVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<V::Value, A::Error> {
        let _name = seq.next_element::<de::IgnoredAny>()?;
        let mut done = false;
        let value = self.0.visit_seq(Lenient {
            inner: &mut seq,
            done: &mut done,
        })?;
        if !done {
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        }
        Ok(value)
    }
}

/// Forwards a sequence, remembering its end so that the caller can drain what is left.
struct Lenient<'s, A> {
    inner: &'s mut A,
    done: &'s mut bool,
}

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for Lenient<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        if *self.done {
            return Ok(None);
        }
        let next = self.inner.next_element_seed(seed)?;
        *self.done = next.is_none();
        Ok(next)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}
