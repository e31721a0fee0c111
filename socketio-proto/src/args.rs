//! Event arguments, the convention of the server and client crates: `emit("event", &data)`
//! sends `data` as one argument, or each element of a tuple as its own argument
//! (`&("a", 1)` → `["event","a",1]`, `&()` → no argument), or each element of a slice with
//! [`Spread`].

use serde::ser::{self, Impossible, Serialize, SerializeSeq, SerializeTuple, Serializer};

/// `[name, ...args]` for an EVENT packet: serialize it with [`crate::Payload::new`].
///
/// ```
/// use socketio_proto::args::EventData;
///
/// let data = EventData { name: "chat", args: &("hi", 1) };
/// assert_eq!(serde_json::to_string(&data).unwrap(), r#"["chat","hi",1]"#);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EventData<'a, T: ?Sized> {
    /// The event name.
    pub name: &'a str,
    /// The arguments (one value, or a tuple spread into several, or `()` for none).
    pub args: &'a T,
}

impl<T: Serialize + ?Sized> Serialize for EventData<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        seq.serialize_element(self.name)?;
        append_args(&mut seq, self.args)?;
        seq.end()
    }
}

/// `[...args]` for an ACK packet (same argument convention as [`EventData`]).
#[derive(Debug, Clone, Copy)]
pub struct AckData<'a, T: ?Sized>(pub &'a T);

impl<T: Serialize + ?Sized> Serialize for AckData<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        append_args(&mut seq, self.0)?;
        seq.end()
    }
}

fn append_args<Q: SerializeSeq, T: Serialize + ?Sized>(
    seq: &mut Q,
    args: &T,
) -> Result<(), Q::Error> {
    match args.serialize(Shape) {
        Err(ShapeOf::Tuple) => args.serialize(Flatten(seq)),
        Err(ShapeOf::Unit) => Ok(()),
        Ok(()) | Err(ShapeOf::Other) => seq.serialize_element(args),
    }
}

/// What a value serializes as, found without serializing it (every method stops at once).
#[derive(Debug)]
enum ShapeOf {
    Tuple,
    Unit,
    Other,
}

impl std::fmt::Display for ShapeOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for ShapeOf {}

impl ser::Error for ShapeOf {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Self::Other
    }
}

struct Shape;

macro_rules! other {
    ($($name:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $arg),*) -> Result<(), ShapeOf> { Err(ShapeOf::Other) })*
    };
}

impl Serializer for Shape {
    type Ok = ();
    type Error = ShapeOf;
    type SerializeSeq = Impossible<(), ShapeOf>;
    type SerializeTuple = Impossible<(), ShapeOf>;
    type SerializeTupleStruct = Impossible<(), ShapeOf>;
    type SerializeTupleVariant = Impossible<(), ShapeOf>;
    type SerializeMap = Impossible<(), ShapeOf>;
    type SerializeStruct = Impossible<(), ShapeOf>;
    type SerializeStructVariant = Impossible<(), ShapeOf>;

    other!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_unit(self) -> Result<(), ShapeOf> {
        Err(ShapeOf::Unit)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), ShapeOf> {
        Err(ShapeOf::Other)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), ShapeOf> {
        Err(ShapeOf::Other)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), ShapeOf> {
        Err(ShapeOf::Other)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, ShapeOf> {
        Err(ShapeOf::Other)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, ShapeOf> {
        Err(ShapeOf::Tuple)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, ShapeOf> {
        Err(ShapeOf::Other)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ShapeOf> {
        Err(ShapeOf::Other)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, ShapeOf> {
        Err(ShapeOf::Other)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, ShapeOf> {
        Err(ShapeOf::Other)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ShapeOf> {
        Err(ShapeOf::Other)
    }
}

/// Serializes a tuple's elements into an enclosing sequence.
struct Flatten<'a, Q>(&'a mut Q);

impl<Q: SerializeSeq> SerializeTuple for Flatten<'_, Q> {
    type Ok = ();
    type Error = Q::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Q::Error> {
        self.0.serialize_element(value)
    }
    fn end(self) -> Result<(), Q::Error> {
        Ok(())
    }
}

macro_rules! not_a_tuple {
    ($($name:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $arg),*) -> Result<(), Q::Error> { Err(ser::Error::custom("not a tuple")) })*
    };
}

impl<'a, Q: SerializeSeq> Serializer for Flatten<'a, Q> {
    type Ok = ();
    type Error = Q::Error;
    type SerializeSeq = Impossible<(), Q::Error>;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Impossible<(), Q::Error>;
    type SerializeTupleVariant = Impossible<(), Q::Error>;
    type SerializeMap = Impossible<(), Q::Error>;
    type SerializeStruct = Impossible<(), Q::Error>;
    type SerializeStructVariant = Impossible<(), Q::Error>;

    not_a_tuple!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Q::Error> {
        Err(ser::Error::custom("not a tuple"))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Q::Error> {
        Err(ser::Error::custom("not a tuple"))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Q::Error> {
        Err(ser::Error::custom("not a tuple"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Q::Error> {
        Err(ser::Error::custom("not a tuple"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Q::Error> {
        Ok(self)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Q::Error> {
        Err(ser::Error::custom("not a tuple"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Q::Error> {
        Err(ser::Error::custom("not a tuple"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Q::Error> {
        Err(ser::Error::custom("not a tuple"))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Q::Error> {
        Err(ser::Error::custom("not a tuple"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Q::Error> {
        Err(ser::Error::custom("not a tuple"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event<T: Serialize + ?Sized>(args: &T) -> String {
        serde_json::to_string(&EventData { name: "ev", args }).unwrap()
    }

    #[test]
    fn a_tuple_is_spread_into_arguments() {
        assert_eq!(event(&("a", 1)), r#"["ev","a",1]"#);
        assert_eq!(event(&(1,)), r#"["ev",1]"#);
    }

    #[test]
    fn the_unit_value_means_no_argument() {
        assert_eq!(event(&()), r#"["ev"]"#);
    }

    #[test]
    fn any_other_value_is_one_argument() {
        assert_eq!(event(&"hi"), r#"["ev","hi"]"#);
        assert_eq!(event(&vec![1, 2]), r#"["ev",[1,2]]"#);
        assert_eq!(event(&serde_json::json!({"a": 1})), r#"["ev",{"a":1}]"#);
    }

    #[test]
    fn spread_sends_each_element_as_an_argument() {
        assert_eq!(event(&Spread(&[1, 2])), r#"["ev",1,2]"#);
        assert_eq!(event(&Spread::<u8>(&[])), r#"["ev"]"#);
    }

    #[test]
    fn an_ack_spreads_a_tuple_too() {
        assert_eq!(
            serde_json::to_string(&AckData(&("x", 2))).unwrap(),
            r#"["x",2]"#
        );
        assert_eq!(serde_json::to_string(&AckData(&())).unwrap(), "[]");
    }
}

/// Sends each element of a slice as its own argument: `socket.emit("ev", &Spread(&args))`
/// is JavaScript's `socket.emit("ev", ...args)`.
///
/// ```
/// use socketio_proto::{Spread, Value};
///
/// let args = vec![Value::Bool(true), Value::String("x".into())];
/// let spread = Spread(&args);
/// # let _ = spread;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Spread<'a, T>(pub &'a [T]);

impl<T: Serialize> Serialize for Spread<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut tuple = s.serialize_tuple(self.0.len())?;
        for item in self.0 {
            tuple.serialize_element(item)?;
        }
        tuple.end()
    }
}

/// The first argument of an event or an acknowledgement, the others ignored: what a
/// JavaScript listener `(value) => …` reads, without the 1-tuple `(T,)` (which refuses
/// extra arguments).
///
/// ```
/// use socketio_proto::{Payload, args::First};
///
/// let payload = Payload::from_json_text(r#"["chat","hello",{"extra":1}]"#.into()).unwrap();
/// let First(text): First<String> = payload.event_args().unwrap();
/// assert_eq!(text, "hello");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct First<T>(pub T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for First<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FirstVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for FirstVisitor<T> {
            type Value = First<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("at least one argument")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let first = seq
                    .next_element::<T>()?
                    .ok_or_else(|| serde::de::Error::invalid_length(0, &self))?;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }

        deserializer.deserialize_seq(FirstVisitor(std::marker::PhantomData))
    }
}
