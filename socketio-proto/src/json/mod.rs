//! JSON support for the default parser: payload validation without building a tree, the
//! `JSON.stringify`-compatible writer, and deserialization with attachments put back in place
//! of their placeholders.

pub(crate) mod value_de;
pub(crate) mod writer;

use std::cell::Cell;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use crate::error::DecodeError;
use crate::packet::{PacketKind, reserved_event};

/// The top-level shape of a payload, as far as the validation rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Object,
    Array(First),
    String,
    Other,
}

/// The first element of an array payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum First {
    Empty,
    Number,
    Name(Option<&'static str>),
    Other,
}

fn map_json_error(e: &serde_json::Error) -> DecodeError {
    if e.to_string().starts_with("recursion limit exceeded") {
        DecodeError::NestingTooDeep
    } else {
        DecodeError::MalformedPayload { format: "JSON" }
    }
}

/// Parses `text` fully (rejecting anything that is not one JSON value, or that nests deeper
/// than 128 levels) and returns its shape. Allocates nothing.
pub(crate) fn shape(text: &str) -> Result<Shape, DecodeError> {
    check_depth(text)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let shape = de
        .deserialize_any(ShapeVisitor)
        .map_err(|e| map_json_error(&e))?;
    de.end().map_err(|e| map_json_error(&e))?;
    Ok(shape)
}

/// What JavaScript's `JSON.parse` accepts and Rust cannot hold, made representable, for a
/// second try when a payload that passed validation does not deserialize: a lone UTF-16
/// surrogate escape (`"\ud800"`, a JavaScript string but not a Rust one) becomes U+FFFD, as
/// any lossy UTF-16 conversion does, and a number beyond `f64` (`1e400`, `Infinity` to
/// JavaScript) becomes `null`, which is what the reference writes when it sends it on
/// (`JSON.stringify(Infinity)`). `None` when there is nothing of the kind (the error is
/// another one). Expects text that is valid JSON otherwise; never panics on any text.
pub(crate) fn repair(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let hex4 = |at: usize| -> Option<u32> {
        let digits = b.get(at..at + 4)?;
        digits
            .iter()
            .try_fold(0u32, |acc, &d| Some(acc * 16 + char::from(d).to_digit(16)?))
    };
    let mut out = String::new();
    let mut last = 0;
    let replace = |out: &mut String, start: usize, end: usize, with: &str, last: &mut usize| {
        out.push_str(&text[*last..start]);
        out.push_str(with);
        *last = end;
    };
    let (mut i, mut in_string) = (0, false);
    while i < b.len() {
        match (in_string, b[i]) {
            (true, b'\\') if b.get(i + 1) == Some(&b'u') => {
                let Some(unit) = hex4(i + 2) else {
                    i += 2;
                    continue;
                };
                let paired = (0xD800..0xDC00).contains(&unit)
                    && b.get(i + 6..i + 8) == Some(b"\\u")
                    && hex4(i + 8).is_some_and(|low| (0xDC00..0xE000).contains(&low));
                if paired {
                    i += 12;
                } else {
                    if (0xD800..0xE000).contains(&unit) {
                        replace(&mut out, i, i + 6, "\\ufffd", &mut last);
                    }
                    i += 6;
                }
            }
            (true, b'\\') => i += 2,
            (true, b'"') => {
                in_string = false;
                i += 1;
            }
            (false, b'"') => {
                in_string = true;
                i += 1;
            }
            (false, b'-' | b'0'..=b'9') => {
                let start = i;
                while i < b.len() && matches!(b[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                if text[start..i].parse::<f64>().is_ok_and(f64::is_infinite) {
                    replace(&mut out, start, i, "null", &mut last);
                }
            }
            _ => i += 1,
        }
    }
    (last > 0).then(|| {
        out.push_str(&text[last..]);
        out
    })
}

/// The deepest JSON nesting accepted (`serde_json`'s own limit).
pub(crate) const MAX_DEPTH: usize = 127;

/// Rejects JSON that nests deeper than [`MAX_DEPTH`]. Skipping values does not recurse, so
/// the bound is checked here: a count of brackets first, a precise scan only when needed.
fn check_depth(text: &str) -> Result<(), DecodeError> {
    let b = text.as_bytes();
    if b.iter().filter(|&&c| c == b'[' || c == b'{').count() <= MAX_DEPTH {
        return Ok(());
    }
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for &c in b {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(DecodeError::NestingTooDeep);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Checks the payload rules of `socket.io-parser`'s `isPayloadValid` for `kind`.
pub(crate) fn check_shape(kind: PacketKind, shape: Shape) -> Result<(), DecodeError> {
    let invalid = |expected| Err(DecodeError::InvalidPayload { kind, expected });
    match (kind, shape) {
        (PacketKind::Connect, Shape::Object) => Ok(()),
        (PacketKind::Connect, _) => invalid("an object"),
        (PacketKind::Disconnect, _) => invalid("absent"),
        (PacketKind::Event, Shape::Array(First::Number | First::Name(None))) => Ok(()),
        (PacketKind::Event, Shape::Array(First::Name(Some(name)))) => {
            Err(DecodeError::ReservedEventName(name))
        }
        (PacketKind::Event, Shape::Array(_)) => Err(DecodeError::InvalidEventName),
        (PacketKind::Event, _) => invalid("an array with the event name first"),
        (PacketKind::Ack, Shape::Array(_)) => Ok(()),
        (PacketKind::Ack, _) => invalid("an array"),
        (PacketKind::ConnectError, Shape::Object | Shape::String) => Ok(()),
        (PacketKind::ConnectError, _) => invalid("a string or an object"),
    }
}

/// Checks every `{"_placeholder":true,"num":N}` object of a binary packet's JSON: `N` must
/// be an integer in `0..attachments`. Objects whose `_placeholder` is not `true` are plain
/// data, as in the reference.
///
/// Returns whether the placeholders are canonical: `0, 1, …, attachments - 1`, each once, in
/// traversal order, as an encoder writes them.
pub(crate) fn check_placeholders(text: &str, attachments: usize) -> Result<bool, DecodeError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let next = Cell::new(0);
    let in_order = Cell::new(true);
    let scanned = PlaceholderScan {
        attachments,
        next: &next,
        in_order: &in_order,
    }
    .deserialize(&mut de)
    .map_err(|e| map_json_error(&e))?;
    if scanned.bad {
        Err(DecodeError::IllegalPlaceholder)
    } else {
        Ok(in_order.get() && next.get() == attachments)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::String)
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let first = seq
            .next_element::<FirstElem>()?
            .map_or(First::Empty, |f| f.0);
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Shape::Array(first))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Shape::Object)
    }
}

struct FirstElem(First);

impl<'de> de::Deserialize<'de> for FirstElem {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FirstVisitor)
    }
}

struct FirstVisitor;

impl<'de> Visitor<'de> for FirstVisitor {
    type Value = FirstElem;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<FirstElem, E> {
        Ok(FirstElem(First::Other))
    }
    fn visit_i64<E>(self, _: i64) -> Result<FirstElem, E> {
        Ok(FirstElem(First::Number))
    }
    fn visit_u64<E>(self, _: u64) -> Result<FirstElem, E> {
        Ok(FirstElem(First::Number))
    }
    fn visit_f64<E>(self, _: f64) -> Result<FirstElem, E> {
        Ok(FirstElem(First::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<FirstElem, E> {
        Ok(FirstElem(First::Name(reserved_event(v))))
    }
    fn visit_unit<E>(self) -> Result<FirstElem, E> {
        Ok(FirstElem(First::Other))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstElem, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(FirstElem(First::Other))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FirstElem, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(FirstElem(First::Other))
    }
}

/// What a placeholder scan learned about one value.
#[derive(Clone, Copy)]
struct Scanned {
    /// An invalid placeholder is in this value (and would be visited by `reconstructPacket`).
    bad: bool,
    atom: Atom,
}

#[derive(Clone, Copy, PartialEq)]
enum Atom {
    True,
    Number(f64),
    Other,
}

impl Scanned {
    const fn plain(atom: Atom) -> Self {
        Self { bad: false, atom }
    }
}

#[derive(Clone, Copy)]
struct PlaceholderScan<'a> {
    attachments: usize,
    /// The `num` the next placeholder has when they are canonical.
    next: &'a Cell<usize>,
    in_order: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for PlaceholderScan<'_> {
    type Value = Scanned;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Scanned, D::Error> {
        d.deserialize_any(self)
    }
}

#[derive(PartialEq)]
enum Key {
    Placeholder,
    Num,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "_placeholder" => Key::Placeholder,
                    "num" => Key::Num,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> Visitor<'de> for PlaceholderScan<'_> {
    type Value = Scanned;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Scanned, E> {
        Ok(Scanned::plain(if v { Atom::True } else { Atom::Other }))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scanned, E> {
        Ok(Scanned::plain(Atom::Number(v as f64)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scanned, E> {
        Ok(Scanned::plain(Atom::Number(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Scanned, E> {
        Ok(Scanned::plain(Atom::Number(v)))
    }
    fn visit_str<E>(self, _: &str) -> Result<Scanned, E> {
        Ok(Scanned::plain(Atom::Other))
    }
    fn visit_unit<E>(self) -> Result<Scanned, E> {
        Ok(Scanned::plain(Atom::Other))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scanned, A::Error> {
        let mut bad = false;
        while let Some(s) = seq.next_element_seed(self)? {
            bad |= s.bad;
        }
        Ok(Scanned {
            bad,
            atom: Atom::Other,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scanned, A::Error> {
        // Duplicate keys: the last one wins, as with JSON.parse.
        let mut nested_bad = false;
        let mut is_placeholder = false;
        let mut num = None;
        let next_before = self.next.get();
        while let Some(key) = map.next_key::<Key>()? {
            let value = map.next_value_seed(self)?;
            nested_bad |= value.bad;
            match key {
                Key::Placeholder => is_placeholder = value.atom == Atom::True,
                Key::Num => {
                    num = match value.atom {
                        Atom::Number(n) => Some(n),
                        _ => None,
                    }
                }
                Key::Other => {}
            }
        }
        let bad = if is_placeholder {
            // `reconstructPacket` replaces the whole object and does not look inside it.
            if self.next.get() != next_before || num != Some(next_before as f64) {
                self.in_order.set(false);
            }
            self.next.set(next_before + 1);
            !num.is_some_and(|n| n >= 0.0 && n.fract() == 0.0 && n < self.attachments as f64)
        } else {
            nested_bad
        };
        Ok(Scanned {
            bad,
            atom: Atom::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::repair;

    #[test]
    fn a_lone_surrogate_becomes_u_fffd_and_a_number_beyond_f64_null_and_nothing_else_changes() {
        assert_eq!(
            repair(r#"["m","\ud800",1e400,-1E+999,"\udc00x",{"k":[2e308]}]"#).as_deref(),
            Some(r#"["m","\ufffd",null,null,"\ufffdx",{"k":[null]}]"#)
        );
        // A pair is a character; an escaped backslash before `u` is no escape; numbers in
        // strings are text; finite numbers stay.
        for unchanged in [
            r#"["m","\ud83d\ude00"]"#,
            r#"["m","\\ud800"]"#,
            r#"["m","1e400"]"#,
            r#"["m",1e308,-0.5,12]"#,
        ] {
            assert_eq!(repair(unchanged), None, "{unchanged}");
        }
        // A high surrogate followed by another high one: both replaced.
        assert_eq!(
            repair(r#"["\ud800\ud800"]"#).as_deref(),
            Some(r#"["\ufffd\ufffd"]"#)
        );
    }

    proptest::proptest! {
        #[test]
        fn repair_never_panics_on_any_text(text in ".{0,64}") {
            let _ = repair(&text);
        }

        #[test]
        fn repair_never_panics_on_escape_soup(text in r#"[\\u"0-9a-fA-FdD\-e+.\[\],]{0,48}"#) {
            let _ = repair(&text);
        }
    }
}
