//! Reading a received message: one validated tree, JSON or msgpack, navigated by key.
//!
//! A msgpack message is checked once as a whole (well-formed, nesting bounded, no trailing
//! bytes) and then read in place: a [`Node`] is a position in the buffer, and a value kept as
//! a [`Payload`] is a slice of it. A JSON message is parsed by `serde_json` (its recursion
//! limit bounds the nesting).

use bytes::Bytes;

use super::ClusterDecodeError as E;
use crate::Payload;
use crate::msgpack::{Kind, Reader};

/// A received message, parsed or validated.
pub(crate) enum Doc {
    Json(serde_json::Value),
    MsgPack(Bytes),
}

impl Doc {
    /// Sniffs the format as the adapters do (`{` first: JSON) and checks the whole message.
    pub(crate) fn parse(bytes: Bytes) -> Result<Self, E> {
        if bytes.first() == Some(&b'{') {
            return Self::json(&bytes);
        }
        Self::msgpack(bytes)
    }

    pub(crate) fn json(bytes: &[u8]) -> Result<Self, E> {
        serde_json::from_slice(bytes)
            .map(Self::Json)
            .map_err(|e| E::MalformedJson(e.to_string()))
    }

    pub(crate) fn msgpack(bytes: Bytes) -> Result<Self, E> {
        let mut r = Reader::new(&bytes);
        r.skip(0).map_err(mp_error)?;
        if r.pos != bytes.len() {
            return Err(E::MalformedMsgPack("trailing bytes"));
        }
        Ok(Self::MsgPack(bytes))
    }

    pub(crate) fn root(&self) -> Node<'_> {
        match self {
            Self::Json(v) => Node::Json(v),
            Self::MsgPack(b) => Node::Mp(b, 0),
        }
    }
}

fn mp_error(e: crate::DecodeError) -> E {
    match e {
        crate::DecodeError::NestingTooDeep => E::NestingTooDeep,
        crate::DecodeError::InvalidMsgPack(m) => E::MalformedMsgPack(m),
        _ => E::MalformedMsgPack("invalid"),
    }
}

/// What a value is, as JavaScript sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Shape<'a> {
    Null,
    Bool(bool),
    Number(f64),
    Str(&'a str),
    Bin,
    Array,
    Map,
    /// An extension type (a `Date`, `undefined` of notepack 2, …).
    Other,
}

impl Shape<'_> {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::Str(_) => "a string",
            Self::Bin => "binary",
            Self::Array => "an array",
            Self::Map => "an object",
            Self::Other => "an extension",
        }
    }
}

/// One value of a validated message.
#[derive(Clone, Copy)]
pub(crate) enum Node<'a> {
    Json(&'a serde_json::Value),
    /// The buffer and the position of the value's first byte.
    Mp(&'a Bytes, usize),
}

impl<'a> Node<'a> {
    pub(crate) fn shape(self) -> Result<Shape<'a>, E> {
        Ok(match self {
            Node::Json(v) => match v {
                serde_json::Value::Null => Shape::Null,
                serde_json::Value::Bool(b) => Shape::Bool(*b),
                serde_json::Value::Number(n) => Shape::Number(n.as_f64().unwrap_or(f64::NAN)),
                serde_json::Value::String(s) => Shape::Str(s),
                serde_json::Value::Array(_) => Shape::Array,
                serde_json::Value::Object(_) => Shape::Map,
            },
            Node::Mp(buf, pos) => {
                let mut r = Reader { buf, pos };
                let (kind, body) = r.head().map_err(mp_error)?;
                match kind {
                    Kind::Nil => Shape::Null,
                    Kind::Bool(b) => Shape::Bool(b),
                    Kind::Number(n) => Shape::Number(n),
                    Kind::Int(i) => Shape::Number(i as f64),
                    Kind::Str => Shape::Str(
                        std::str::from_utf8(&buf[body])
                            .map_err(|_| E::MalformedMsgPack("invalid UTF-8 in a string"))?,
                    ),
                    Kind::Bin => Shape::Bin,
                    Kind::Array(_) => Shape::Array,
                    Kind::Map(_) => Shape::Map,
                    Kind::Undefined | Kind::ArrayBuffer | Kind::Date(_) | Kind::Ext(_) => {
                        Shape::Other
                    }
                }
            }
        })
    }

    /// The items of an array.
    pub(crate) fn items(self, field: &'static str) -> Result<Vec<Self>, E> {
        match self {
            Node::Json(serde_json::Value::Array(items)) => {
                Ok(items.iter().map(Node::Json).collect())
            }
            Node::Json(_) => Err(self.wrong(field, "an array")),
            Node::Mp(buf, pos) => {
                let mut r = Reader { buf, pos };
                let (Kind::Array(n), _) = r.head().map_err(mp_error)? else {
                    return Err(self.wrong(field, "an array"));
                };
                let mut out = Vec::with_capacity((n as usize).min(64));
                for _ in 0..n {
                    out.push(Node::Mp(buf, r.pos));
                    r.skip(1).map_err(mp_error)?;
                }
                Ok(out)
            }
        }
    }

    /// The entries of an object whose keys are strings (other keys cannot be ours and are
    /// skipped).
    pub(crate) fn entries(self, field: &'static str) -> Result<Vec<(&'a str, Self)>, E> {
        match self {
            Node::Json(serde_json::Value::Object(m)) => {
                Ok(m.iter().map(|(k, v)| (k.as_str(), Node::Json(v))).collect())
            }
            Node::Json(_) => Err(self.wrong(field, "an object")),
            Node::Mp(buf, pos) => {
                let mut r = Reader { buf, pos };
                let (Kind::Map(n), _) = r.head().map_err(mp_error)? else {
                    return Err(self.wrong(field, "an object"));
                };
                let mut out = Vec::with_capacity((n as usize).min(64));
                for _ in 0..n {
                    let key = Node::Mp(buf, r.pos).shape()?;
                    r.skip(1).map_err(mp_error)?;
                    let value = Node::Mp(buf, r.pos);
                    r.skip(1).map_err(mp_error)?;
                    if let Shape::Str(k) = key {
                        out.push((k, value));
                    }
                }
                Ok(out)
            }
        }
    }

    /// The fields of an object, for lookups by key.
    pub(crate) fn object(self, field: &'static str) -> Result<Obj<'a>, E> {
        Ok(Obj(self.entries(field)?))
    }

    /// The value as a lazily read [`Payload`]: a slice of the message for msgpack, the JSON
    /// text written again as `JSON.stringify` would for JSON.
    pub(crate) fn payload(self) -> Result<Payload, E> {
        match self {
            Node::Json(v) => Payload::json(v).map_err(|e| E::MalformedJson(e.to_string())),
            Node::Mp(buf, pos) => {
                let mut r = Reader { buf, pos };
                r.skip(1).map_err(mp_error)?;
                Ok(Payload::from_wire_msgpack(buf.slice(pos..r.pos)))
            }
        }
    }

    pub(crate) fn str(self, field: &'static str) -> Result<&'a str, E> {
        match self.shape()? {
            Shape::Str(s) => Ok(s),
            _ => Err(self.wrong(field, "a string")),
        }
    }

    pub(crate) fn bool(self, field: &'static str) -> Result<bool, E> {
        match self.shape()? {
            Shape::Bool(b) => Ok(b),
            _ => Err(self.wrong(field, "a boolean")),
        }
    }

    /// A non-negative integral number (any integer width, or an integral float).
    pub(crate) fn uint(self, field: &'static str) -> Result<u64, E> {
        match self.shape()? {
            Shape::Number(n) if n.fract() == 0.0 && (0.0..=MAX_SAFE).contains(&n) => Ok(n as u64),
            _ => Err(self.wrong(field, "a non-negative integer")),
        }
    }

    pub(crate) fn strings(self, field: &'static str) -> Result<Vec<String>, E> {
        self.items(field)?
            .into_iter()
            .map(|n| n.str(field).map(str::to_owned))
            .collect()
    }

    /// Room names of broadcast options: Node code can smuggle a number (`socket.join(123)`)
    /// or `undefined` (`io.in(undefined)`, sent as `null`) into them. A number becomes its
    /// JavaScript string form; anything else [`super::NO_ROOM`], which no socket is in (Node
    /// matches none either), so that the operation still gets its answer.
    pub(crate) fn rooms(self, field: &'static str) -> Result<Vec<String>, E> {
        self.items(field)?
            .into_iter()
            .map(|n| {
                Ok(match n.shape()? {
                    Shape::Str(s) => s.to_owned(),
                    Shape::Number(x) if x.fract() == 0.0 && x.abs() < MAX_SAFE => {
                        format!("{}", x as i64)
                    }
                    Shape::Number(x) => format!("{x}"),
                    _ => super::NO_ROOM.to_owned(),
                })
            })
            .collect()
    }

    pub(crate) fn wrong(self, field: &'static str, expected: &'static str) -> E {
        E::WrongType {
            field,
            expected,
            found: self.shape().map_or("malformed", Shape::name),
        }
    }
}

/// 2^53: the largest integer a JavaScript number holds exactly.
pub(crate) const MAX_SAFE: f64 = 9_007_199_254_740_992.0;

/// The string-keyed entries of an object; the last of duplicate keys wins, as in JavaScript.
pub(crate) struct Obj<'a>(Vec<(&'a str, Node<'a>)>);

impl<'a> Obj<'a> {
    /// The value of `key`; `null` counts as present (Node tests `!== undefined`).
    pub(crate) fn get(&self, key: &str) -> Option<Node<'a>> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    pub(crate) fn req(&self, key: &'static str) -> Result<Node<'a>, E> {
        self.get(key).ok_or(E::MissingField(key))
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub(crate) fn entries(&self) -> &[(&'a str, Node<'a>)] {
        &self.0
    }
}
