//! Deserializing the configuration from a parsed [`toml::Value`] with errors that describe what
//! is wrong without quoting any value.
//!
//! serde's default messages quote the value at fault (`invalid type: string "..."`), and in a
//! configuration file that value may be a secret written under the wrong key or in the wrong
//! shape (`api_keys = ["..."]`). Every message serde builds from a value goes through
//! [`Error`]'s `invalid_type`, `invalid_value` and `unknown_variant`, which here name the kind of
//! value found (`a string`) and what was expected, never the value. Key names are kept: they are
//! what the message must point at.
//!
//! Messages made with `Error::custom` (by a hand-written `Deserialize`) are passed on as written:
//! such code must not put the value in its message, and loading drops those messages for the
//! keys that hold secrets.

use std::fmt;

use serde::de::value::{MapDeserializer, SeqDeserializer, StringDeserializer};
use serde::de::{self, Expected, IntoDeserializer, Unexpected, Visitor};

/// A deserializer over one TOML value: strings, integers, floats, booleans, datetimes (as
/// RFC 3339 strings), arrays and tables.
pub(super) struct ValueDeserializer(pub(super) toml::Value);

/// A deserialization error whose message quotes no value.
#[derive(Debug)]
pub(super) struct Error {
    message: String,
    /// Built by serde from the kind of value found, not from free text.
    value_free: bool,
}

impl Error {
    fn value_free(message: String) -> Self {
        Error {
            message,
            value_free: true,
        }
    }

    /// Whether the message was built here, from the kind of value only (not by
    /// `Error::custom`).
    pub(super) fn is_value_free(&self) -> bool {
        self.value_free
    }

    /// The message.
    pub(super) fn into_message(self) -> String {
        self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            message: msg.to_string(),
            value_free: false,
        }
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Error::value_free(format!(
            "invalid type: expected {exp}, found {}",
            kind(&unexp)
        ))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Error::value_free(format!(
            "invalid value: expected {exp}, found {} (value not shown)",
            kind(&unexp)
        ))
    }

    fn invalid_length(len: usize, exp: &dyn Expected) -> Self {
        Error::value_free(format!("invalid length {len}, expected {exp}"))
    }

    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        Error::value_free(format!("unknown value, expected {}", one_of(expected)))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Error::value_free(format!(
            "unknown key `{field}`, expected {}",
            one_of(expected)
        ))
    }

    fn missing_field(field: &'static str) -> Self {
        Error::value_free(format!("missing key `{field}`"))
    }

    fn duplicate_field(field: &'static str) -> Self {
        Error::value_free(format!("duplicate key `{field}`"))
    }
}

/// What kind of value `unexp` is, without the value.
fn kind(unexp: &Unexpected<'_>) -> &'static str {
    match unexp {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "an integer",
        Unexpected::Float(_) => "a float",
        Unexpected::Char(_) => "a character",
        Unexpected::Str(_) => "a string",
        Unexpected::Bytes(_) => "bytes",
        Unexpected::Unit => "nothing",
        Unexpected::Option => "an optional value",
        Unexpected::NewtypeStruct => "a newtype struct",
        Unexpected::Seq => "an array",
        Unexpected::Map => "a table",
        Unexpected::Enum => "an enum",
        Unexpected::UnitVariant
        | Unexpected::NewtypeVariant
        | Unexpected::TupleVariant
        | Unexpected::StructVariant => "an enum variant",
        Unexpected::Other(_) => "another kind of value",
    }
}

/// `one of `a`, `b``, or `nothing` for an empty list (names from the code, not from the file).
fn one_of(names: &[&str]) -> String {
    match names {
        [] => "nothing".to_owned(),
        [one] => format!("`{one}`"),
        _ => format!("one of `{}`", names.join("`, `")),
    }
}

impl<'de> de::Deserializer<'de> for ValueDeserializer {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            toml::Value::String(s) => visitor.visit_string(s),
            toml::Value::Integer(i) => visitor.visit_i64(i),
            toml::Value::Float(f) => visitor.visit_f64(f),
            toml::Value::Boolean(b) => visitor.visit_bool(b),
            toml::Value::Datetime(d) => visitor.visit_string(d.to_string()),
            toml::Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter().map(ValueDeserializer));
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            toml::Value::Table(table) => {
                let mut map = MapDeserializer::new(
                    table
                        .into_iter()
                        .map(|(key, value)| (key, ValueDeserializer(value))),
                );
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    // TOML has no null: a value that is present is `Some`.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            toml::Value::String(s) => {
                let variant: StringDeserializer<Error> = s.into_deserializer();
                visitor.visit_enum(variant)
            }
            other => ValueDeserializer(other).deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, Error> for ValueDeserializer {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}
