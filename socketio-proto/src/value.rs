//! A dynamic value that keeps binary data: what a JavaScript peer can send as an argument.

use std::fmt;

use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// Any argument of an event: JSON, plus binary (`Buffer`/`ArrayBuffer` on the JavaScript
/// side). Deserializing an event's arguments into `Vec<Value>` and emitting them again keeps
/// binary as binary (sent as attachments, or inline with msgpack).
///
/// ```
/// use socketio_proto::Value;
///
/// let v: Value = serde_json::from_str(r#"{"a":[1,"x",null]}"#).unwrap();
/// assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"a":[1,"x",null]}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
#[allow(clippy::exhaustive_enums)] // the JSON model plus binary: complete
pub enum Value {
    /// `null` (and `undefined`).
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// Binary data.
    Binary(Bytes),
    /// An array.
    Array(Vec<Self>),
    /// An object, keys in order.
    Object(Vec<(String, Self)>),
}

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The binary data, if this is binary.
    pub fn as_binary(&self) -> Option<&Bytes> {
        match self {
            Self::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The member `key` of an object (the first, should a peer send it twice); `None` for
    /// a missing member or a value that is not an object.
    ///
    /// ```
    /// use socketio_proto::Value;
    ///
    /// let auth = Value::from(serde_json::json!({ "token": "abc" }));
    /// assert_eq!(auth.get("token").and_then(Value::as_str), Some("abc"));
    /// assert_eq!(auth.get("user"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<&Self> {
        match self {
            Self::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&[Self]> {
        match self {
            Self::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The number as an `i64`, if this is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The number as an `f64`, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

/// Builds a [`Value`] with JSON's syntax, binary included: objects `{"key": value, …}`,
/// arrays `[…]`, `null`, and any expression that converts into a `Value` (strings,
/// numbers, booleans, `bytes::Bytes`, `Vec<u8>`, `serde_json::Value`, another `Value`).
/// A value of more than one token (a call, a negative number) goes in parentheses.
///
/// ```
/// use bytes::Bytes;
/// use socketio_proto::{Value, value};
///
/// let data = Bytes::from_static(&[1, 2, 3]);
/// let name = String::from("a.bin");
/// let upload = value!({
///     "name": name,
///     "size": (data.len() as u64),
///     "data": data,
///     "tags": ["x", null, (-1), 2.5],
///     "meta": { "draft": true },
/// });
/// assert_eq!(upload.get("size").and_then(Value::as_i64), Some(3));
/// assert_eq!(upload.get("data").and_then(Value::as_binary).map(|b| b.len()), Some(3));
/// assert_eq!(upload.get("tags").and_then(Value::as_array).map(|t| t.len()), Some(4));
/// ```
#[macro_export]
macro_rules! value {
    (null) => {
        $crate::Value::Null
    };
    ([ $($item:tt),* $(,)? ]) => {
        $crate::Value::Array(::std::vec![ $( $crate::value!($item) ),* ])
    };
    ({ $($key:literal : $item:tt),* $(,)? }) => {
        $crate::Value::Object(::std::vec![
            $( (::std::string::String::from($key), $crate::value!($item)) ),*
        ])
    };
    ($other:expr) => {
        $crate::Value::from($other)
    };
}

/// A JSON value, as the same value without binary (object keys in their order).
///
/// ```
/// use bytes::Bytes;
/// use socketio_proto::Value;
///
/// // JSON from `serde_json::json!`, with binary next to it.
/// let mut upload = Value::from(serde_json::json!({ "name": "a.bin", "size": 3 }));
/// if let Value::Object(entries) = &mut upload {
///     entries.push(("data".to_owned(), Bytes::from_static(&[1, 2, 3]).into()));
/// }
/// ```
impl From<serde_json::Value> for Value {
    fn from(value: serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => Self::Null,
            serde_json::Value::Bool(b) => Self::Bool(b),
            serde_json::Value::Number(n) => Self::Number(n),
            serde_json::Value::String(s) => Self::String(s),
            serde_json::Value::Array(items) => {
                Self::Array(items.into_iter().map(Self::from).collect())
            }
            serde_json::Value::Object(map) => {
                Self::Object(map.into_iter().map(|(k, v)| (k, Self::from(v))).collect())
            }
        }
    }
}

impl From<Bytes> for Value {
    fn from(bytes: Bytes) -> Self {
        Self::Binary(bytes)
    }
}

impl From<Vec<u8>> for Value {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Binary(Bytes::from(bytes))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::String(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::String(s.to_owned())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Self::Number(n.into())
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Self::Number(n.into())
    }
}

/// A number; `NaN` and the infinities (not numbers in JSON) are `null`, as
/// `JSON.stringify` writes them.
impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Self::Number(n.into())
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Self::Number(n.into())
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        serde_json::Number::from_f64(n).map_or(Self::Null, Self::Number)
    }
}

impl From<Vec<Self>> for Value {
    fn from(items: Vec<Self>) -> Self {
        Self::Array(items)
    }
}

impl FromIterator<(String, Self)> for Value {
    /// An object with these entries, in order.
    fn from_iter<I: IntoIterator<Item = (String, Self)>>(entries: I) -> Self {
        Self::Object(entries.into_iter().collect())
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => s.serialize_unit(),
            Self::Bool(b) => s.serialize_bool(*b),
            Self::Number(n) => n.serialize(s),
            Self::String(v) => s.serialize_str(v),
            Self::Binary(b) => s.serialize_bytes(b),
            Self::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Binary(Bytes::copy_from_slice(v)))
    }

    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Binary(v.into()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some((k, v)) = map.next_entry::<KeyString, Value>()? {
            entries.push((k.0, v));
        }
        Ok(Value::Object(entries))
    }
}

/// An object key: a string, or a number/bool written as a string (msgpack allows them).
struct KeyString(String);

impl<'de> Deserialize<'de> for KeyString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyString, E> {
                Ok(KeyString(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<KeyString, E> {
                Ok(KeyString(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KeyString, E> {
                Ok(KeyString(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KeyString, E> {
                Ok(KeyString(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<KeyString, E> {
                Ok(KeyString(v.to_string()))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<KeyString, E> {
                std::str::from_utf8(v)
                    .map(|s| KeyString(s.to_owned()))
                    .map_err(|_| E::custom("binary object key"))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod conversion_tests {
    use super::*;

    #[test]
    fn json_converts_in_order_and_binary_goes_next_to_it() {
        let json = serde_json::json!({"z": 1, "a": [true, null, "s", 1.5]});
        let value = Value::from(json.clone());
        assert_eq!(serde_json::to_value(&value).unwrap(), json);
        let Value::Object(entries) = &value else {
            panic!("{value:?}")
        };
        assert_eq!(entries[0].0, "z", "keys keep their order");
        let upload: Value = [
            ("meta".to_owned(), value),
            ("data".to_owned(), Bytes::from_static(b"\x01").into()),
        ]
        .into_iter()
        .collect();
        let Value::Object(entries) = upload else {
            panic!()
        };
        assert_eq!(entries[1].1.as_binary(), Some(&Bytes::from_static(b"\x01")));
    }

    #[test]
    fn scalars_convert_and_a_number_json_cannot_hold_is_null() {
        assert_eq!(Value::from("a"), Value::String("a".into()));
        assert_eq!(Value::from(true), Value::Bool(true));
        assert_eq!(Value::from(-3i64), Value::Number((-3).into()));
        assert_eq!(Value::from(f64::NAN), Value::Null);
        assert_eq!(
            Value::from(vec![1u8, 2]),
            Value::Binary(Bytes::from_static(&[1, 2]))
        );
        assert_eq!(
            Value::from(vec![Value::Null]),
            Value::Array(vec![Value::Null])
        );
    }
}
