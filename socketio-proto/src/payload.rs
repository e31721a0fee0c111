//! Lazy packet payloads: kept in wire form, deserialized on demand.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use bytestring::ByteString;
use serde::Serialize;
use serde::de::{self, Deserialize, DeserializeOwned, IgnoredAny, SeqAccess, Visitor};

use crate::ParserKind;
use crate::error::{DecodeError, EncodeError, PayloadError};
use crate::json::value_de::{SkipFirst, ValueDe};
use crate::json::{self, writer};

/// The payload of a packet, still in its wire form.
///
/// Decoding a packet validates the payload (as the reference does) but builds no tree: the
/// JSON text (default parser) or the msgpack bytes (msgpack parser) are a slice of the
/// received message. [`Payload::deserialize`], [`Payload::event_name`] and
/// [`Payload::event_args`] read it into any serde type when the application asks. Binary
/// attachments of the default parser are kept as [`Bytes`] ([`Payload::attachments`]) and are
/// handed to `bytes::Bytes` (or `Vec<u8>`, `serde_bytes`…) fields of the user type in place of
/// their placeholders. A msgpack payload reads as JavaScript sees what `notepack.io` decodes:
/// `undefined` is an absent key in an object and `null` (or `None`) elsewhere, a `Date` its
/// ISO 8601 string (or its milliseconds for a number type), an `ArrayBuffer` bytes, another
/// extension `[type, bytes]` (or [`PayloadError::UnsupportedExtension`] for a scalar type).
///
/// ```
/// use socketio_proto::{DecoderConfig, EngineMessage, ParserKind};
///
/// // What the Node server writes for socket.emit("x", {a: undefined, b: 1}, [1, undefined])
/// let bytes = b"\x83\xa4type\x02\xa4data\x93\xa1x\x82\xa1a\xd4\x00\x00\xa1b\x01\x92\x01\xd4\x00\x00\xa3nsp\xa1/";
/// let packet = ParserKind::MsgPack
///     .decoder(DecoderConfig::default())
///     .decode(EngineMessage::Binary(bytes::Bytes::from_static(bytes)))?
///     .expect("one packet");
/// let (obj, arr): (serde_json::Value, Vec<Option<u8>>) = packet.data.unwrap().event_args()?;
/// assert_eq!(obj, serde_json::json!({"b": 1}));
/// assert_eq!(arr, [Some(1), None]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct Payload {
    repr: Repr,
}

#[derive(Clone, PartialEq)]
enum Repr {
    Json {
        text: ByteString,
        attachments: Vec<Bytes>,
    },
    MsgPack(Bytes),
}

/// The name of a JSON event payload read without a parser, when it is a string without
/// escapes (nearly always): the text was checked to be JSON, so what follows it needs no
/// look.
fn plain_json_event_name(text: &str) -> Option<&str> {
    let rest = text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .strip_prefix('[')?;
    let rest = rest
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .strip_prefix('"')?;
    let end = rest.find(|c: char| c == '"' || c == '\\' || c < ' ')?;
    (rest.as_bytes()[end] == b'"').then(|| &rest[..end])
}

/// An event name: a string, or a number (the reference accepts both).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventName<'a> {
    /// A string name.
    Str(Cow<'a, str>),
    /// A numeric name.
    Number(f64),
}

impl EventName<'_> {
    /// The name if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            Self::Number(_) => None,
        }
    }
}

impl Payload {
    /// Serializes `value` for `parser`.
    pub fn new<T: Serialize + ?Sized>(parser: ParserKind, value: &T) -> Result<Self, EncodeError> {
        match parser {
            ParserKind::Default => Self::json(value),
            ParserKind::MsgPack => Self::msgpack(value),
        }
    }

    /// Serializes `value` as JSON for the default parser, exactly as `JSON.stringify` would
    /// write it. Byte strings (`serialize_bytes`, e.g. a `bytes::Bytes` field) become
    /// attachments, numbered in traversal order.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, EncodeError> {
        let mut text = String::with_capacity(64);
        let mut attachments = Vec::new();
        writer::write_json(value, &mut text, &mut attachments)
            .map_err(|e| EncodeError::Serialize(e.0))?;
        Ok(Self::from_wire_json(ByteString::from(text), attachments))
    }

    /// Serializes `value` as msgpack for the msgpack parser (structs as maps, byte strings
    /// as `bin`, like `notepack.io` with `Buffer`s).
    pub fn msgpack<T: Serialize + ?Sized>(value: &T) -> Result<Self, EncodeError> {
        let mut buf = Vec::with_capacity(64);
        let mut ser = rmp_serde::Serializer::new(&mut buf).with_struct_map();
        value
            .serialize(&mut ser)
            .map_err(|e| EncodeError::Serialize(e.to_string()))?;
        Ok(Self::from_wire_msgpack(Bytes::from(buf)))
    }

    /// A JSON payload from text that is already serialized (for example to broadcast one
    /// encoding to many connections). The text is checked to be one JSON value.
    pub fn from_json_text(text: ByteString) -> Result<Self, DecodeError> {
        json::shape(&text)?;
        Ok(Self::from_wire_json(text, Vec::new()))
    }

    pub(crate) fn from_wire_json(text: ByteString, attachments: Vec<Bytes>) -> Self {
        Self {
            repr: Repr::Json { text, attachments },
        }
    }

    /// The same value with its placeholders numbered `0, 1, …` in traversal order, one
    /// attachment each, as the reference's encoder writes a decoded packet again (a repeated
    /// attachment is sent twice, an unused one dropped).
    pub(crate) fn renumbered(self) -> Self {
        let Repr::Json { text, attachments } = &self.repr else {
            return self;
        };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
            return self;
        };
        let renumber = crate::canonical::WithAttachments {
            value: &value,
            attachments,
        };
        Self::json(&renumber).unwrap_or(self)
    }

    pub(crate) fn from_wire_msgpack(bytes: Bytes) -> Self {
        Self {
            repr: Repr::MsgPack(bytes),
        }
    }

    /// The bytes the payload holds on the wire: its JSON text or msgpack bytes, plus its
    /// binary attachments (what the bounds on queued and stored events count).
    pub fn wire_len(&self) -> usize {
        match &self.repr {
            Repr::Json { text, attachments } => {
                text.len() + attachments.iter().map(Bytes::len).sum::<usize>()
            }
            Repr::MsgPack(bytes) => bytes.len(),
        }
    }

    /// The parser this payload belongs to.
    pub fn format(&self) -> ParserKind {
        match self.repr {
            Repr::Json { .. } => ParserKind::Default,
            Repr::MsgPack(_) => ParserKind::MsgPack,
        }
    }

    /// The binary attachments, in `num` order (default parser only; empty for msgpack).
    pub fn attachments(&self) -> &[Bytes] {
        match &self.repr {
            Repr::Json { attachments, .. } => attachments,
            Repr::MsgPack(_) => &[],
        }
    }

    /// The JSON text, with placeholders (default parser).
    pub fn json_text(&self) -> Option<&ByteString> {
        match &self.repr {
            Repr::Json { text, .. } => Some(text),
            Repr::MsgPack(_) => None,
        }
    }

    /// The msgpack encoding of the payload value (msgpack parser).
    pub fn msgpack_bytes(&self) -> Option<&Bytes> {
        match &self.repr {
            Repr::Json { .. } => None,
            Repr::MsgPack(b) => Some(b),
        }
    }

    /// Deserializes the whole payload into `T`.
    ///
    /// Strings borrow from the payload where the format allows (`&str`, `Cow<str>`), except in
    /// binary packets, where the JSON is first read into a tree to put the attachments back.
    pub fn deserialize<'de, T: Deserialize<'de>>(&'de self) -> Result<T, PayloadError> {
        self.with_deserializer(DeserializeWith(std::marker::PhantomData))
    }

    /// The event name: the first element of an EVENT payload.
    pub fn event_name(&self) -> Result<EventName<'_>, PayloadError> {
        if let Repr::Json { text, .. } = &self.repr {
            if let Some(name) = plain_json_event_name(text) {
                return Ok(EventName::Str(Cow::Borrowed(name)));
            }
        }
        self.with_deserializer(EventNameReader)
    }

    /// Deserializes the event arguments (every element after the name) into `T`, typically a
    /// tuple or a `Vec`. Arguments that `T` does not read are ignored, as JavaScript ignores
    /// extra arguments.
    pub fn event_args<'de, T: Deserialize<'de>>(&'de self) -> Result<T, PayloadError> {
        self.with_deserializer(SkipFirstReader(std::marker::PhantomData))
    }

    /// [`Payload::deserialize`] into an owned type, accepting what JavaScript's `JSON.parse`
    /// accepts and Rust cannot hold: when the payload does not deserialize because of a lone
    /// UTF-16 surrogate escape or a number beyond `f64`, it is read again with U+FFFD for the
    /// surrogate and `null` for the number (what the reference writes when it sends such a
    /// number on). The first try is the plain one: a payload without either costs nothing
    /// more.
    ///
    /// ```
    /// use socketio_proto::Payload;
    ///
    /// let p = Payload::from_json_text(r#"["message","\ud800",1e400]"#.into()).unwrap();
    /// let args: (String, Option<f64>) = p.event_args_lossy().unwrap();
    /// assert_eq!(args, ("\u{fffd}".to_owned(), None));
    /// ```
    pub fn deserialize_lossy<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        self.deserialize()
            .or_else(|e| self.repaired().ok_or(e)?.deserialize())
    }

    /// [`Payload::event_args`] with the leniency of [`Payload::deserialize_lossy`].
    pub fn event_args_lossy<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        self.event_args()
            .or_else(|e| self.repaired().ok_or(e)?.event_args())
    }

    /// The JSON payload with what Rust cannot hold made representable (`None`: nothing of
    /// the kind, or not JSON).
    fn repaired(&self) -> Option<Self> {
        match &self.repr {
            Repr::Json { text, attachments } => json::repair(text)
                .map(|text| Self::from_wire_json(ByteString::from(text), attachments.clone())),
            Repr::MsgPack(_) => None,
        }
    }

    fn with_deserializer<'de, R: Reader<'de>>(
        &'de self,
        reader: R,
    ) -> Result<R::Out, PayloadError> {
        match &self.repr {
            Repr::Json { text, attachments } if attachments.is_empty() => {
                let mut de = serde_json::Deserializer::from_str(text);
                let out = reader.read(&mut de).map_err(deser_error)?;
                de.end().map_err(deser_error)?;
                Ok(out)
            }
            Repr::Json { text, attachments } => {
                let value: serde_json::Value = serde_json::from_str(text).map_err(deser_error)?;
                reader.read(ValueDe {
                    value: &value,
                    attachments,
                })
            }
            Repr::MsgPack(bytes) => crate::msgpack_de::read(bytes, |de| reader.read(de)),
        }
    }
}

fn deser_error(e: impl fmt::Display) -> PayloadError {
    PayloadError::Deserialize(e.to_string())
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Json { text, attachments } => f
                .debug_struct("Payload")
                .field("json", &&**text)
                .field("attachments", attachments)
                .finish(),
            Repr::MsgPack(b) => f.debug_struct("Payload").field("msgpack", b).finish(),
        }
    }
}

/// Something to read from any of the payload deserializers.
trait Reader<'de> {
    type Out;
    fn read<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Out, D::Error>;
}

struct DeserializeWith<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Reader<'de> for DeserializeWith<T> {
    type Out = T;
    fn read<D: de::Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::deserialize(d)
    }
}

struct SkipFirstReader<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Reader<'de> for SkipFirstReader<T> {
    type Out = T;
    fn read<D: de::Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::deserialize(SkipFirst(d))
    }
}

struct EventNameReader;

impl<'de> Reader<'de> for EventNameReader {
    type Out = EventName<'de>;
    fn read<D: de::Deserializer<'de>>(self, d: D) -> Result<EventName<'de>, D::Error> {
        d.deserialize_seq(EventNameSeq)
    }
}

struct EventNameSeq;

impl<'de> Visitor<'de> for EventNameSeq {
    type Value = EventName<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array with an event name first")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventName<'de>, A::Error> {
        let name = seq
            .next_element::<NameElem<'de>>()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(name.0)
    }
}

struct NameElem<'a>(EventName<'a>);

impl<'de> Deserialize<'de> for NameElem<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NameVisitor)
    }
}

struct NameVisitor;

impl<'de> Visitor<'de> for NameVisitor {
    type Value = NameElem<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a number")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(NameElem(EventName::Str(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(NameElem(EventName::Str(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(NameElem(EventName::Str(Cow::Owned(v))))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(NameElem(EventName::Number(v as f64)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(NameElem(EventName::Number(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(NameElem(EventName::Number(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_reading_repairs_a_binary_packet_too_and_leaves_other_errors_alone() {
        let text = ByteString::from(r#"["m","\ud800",{"_placeholder":true,"num":0},1e400]"#);
        let payload = Payload::from_wire_json(text, vec![Bytes::from_static(b"\x01\x02")]);
        assert!(
            payload
                .event_args::<(String, Bytes, Option<f64>)>()
                .is_err()
        );
        let (s, b, n): (String, Bytes, Option<f64>) = payload.event_args_lossy().unwrap();
        assert_eq!((s.as_str(), &b[..], n), ("\u{fffd}", &[1u8, 2][..], None));
        // A type mismatch is still an error, with the first reading's message.
        let plain = Payload::from_json_text(r#"["m","x"]"#.into()).unwrap();
        assert!(plain.event_args_lossy::<(u32,)>().is_err());
    }
    /// The name read without a parser is the one the parser reads, and every name it
    /// cannot read plainly (escapes, numbers, not a string) is left to the parser.
    #[test]
    fn the_event_name_read_without_a_parser_is_the_parsers() {
        for text in [
            r#"["chat",1]"#,
            r#" [ "chat" , {"a":"b"}]"#,
            "[\n\"chat\"]",
            r#"["é ☃"]"#,
            r#"[""]"#,
            r#"["a\"b"]"#,
            r#"["a\u0041"]"#,
            r#"["\\"]"#,
            r#"[1.5]"#,
            r#"[null]"#,
            r#"[]"#,
            r#"{"a":1}"#,
            r#""chat""#,
        ] {
            let payload = Payload::from_json_text(text.into()).unwrap();
            let parsed = payload.with_deserializer(EventNameReader);
            match payload.event_name() {
                Ok(name) => assert_eq!(name, parsed.unwrap(), "{text}"),
                Err(_) => assert!(parsed.is_err(), "{text}"),
            }
            if let Some(plain) = plain_json_event_name(text) {
                assert!(!plain.contains('\\'), "{text}");
            }
        }
    }
}
