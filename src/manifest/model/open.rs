//! Objects told apart by their `type` (graders, data source configs, run data sources), and
//! those of a `type` evalctl does not know yet (a new grader, a Foundry data source), kept
//! verbatim so a new service feature never blocks a user; validation warns about them.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::value::MapAccessDeserializer;
use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The `type` values of one family of objects that evalctl models.
pub trait KnownTypes {
    /// What the family is called in messages and schema names, e.g. `grader`.
    const FAMILY: &'static str;
    const NAMES: &'static [&'static str];
}

/// An object whose `type` is not one of `K::NAMES`, passed through as it was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Unrecognized<K> {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
    #[serde(skip)]
    marker: PhantomData<K>,
}

impl<K> Unrecognized<K> {
    pub(crate) fn new(kind: &str, fields: Map<String, Value>) -> Self {
        Unrecognized {
            kind: kind.to_string(),
            fields,
            marker: PhantomData,
        }
    }
}

/// Declares a family of objects told apart by `type`, from one list of the known names and
/// the variants they name: the names evalctl knows (`KnownTypes` of the known enum), and
/// reading the family with `deserialize_tagged`, every other name passed through.
macro_rules! type_tagged {
    ($family:ident, $known:ident, $what:literal, { $($name:literal => $variant:ident),+ $(,)? }) => {
        impl $crate::manifest::model::open::KnownTypes for $known {
            const FAMILY: &'static str = $what;
            const NAMES: &'static [&'static str] = &[$($name),+];
        }

        // Every variant has its name in the list: a variant added without one does not
        // compile (it would be read as an unknown type and passed through unchecked).
        const _: () = {
            #[allow(dead_code)]
            fn named(known: &$known) -> &'static str {
                match known {
                    $($known::$variant(_) => $name,)+
                }
            }
        };

        impl<'de> serde::Deserialize<'de> for $family {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::manifest::model::open::deserialize_tagged(deserializer)
            }
        }

        impl $crate::manifest::model::open::TypeTagged for $family {
            fn from_fields<'de, D: serde::Deserializer<'de>>(
                kind: &str,
                fields: D,
            ) -> Result<Self, D::Error> {
                let known = match kind {
                    $($name => $known::$variant(serde::Deserialize::deserialize(fields)?),)+
                    _ => {
                        let fields = serde::Deserialize::deserialize(fields)?;
                        let passed = $crate::manifest::model::open::Unrecognized::new(kind, fields);
                        return Ok($family::Unrecognized(passed));
                    }
                };
                Ok($family::Known(known))
            }
        }
    };
}
pub(crate) use type_tagged;

/// A family of objects told apart by `type`, read by `deserialize_tagged`.
pub(crate) trait TypeTagged: Sized {
    /// The object of type `kind` from its other fields: a known type, or one passed through.
    fn from_fields<'de, D: Deserializer<'de>>(kind: &str, fields: D) -> Result<Self, D::Error>;
}

/// Reads an object of a `TypeTagged` family. serde's untagged and internally tagged enums
/// copy every object into a buffer (twice, nested) before choosing its type; manifests put
/// `type` first, and then the other fields are read straight into the chosen type. Objects
/// with `type` further down are read into a JSON object first (which is laxer about enums
/// written as one-key maps; the structure check has refused those before). A known type
/// whose fields do not fit is an error, never an object passed through.
pub(crate) fn deserialize_tagged<'de, T: TypeTagged, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_map(TaggedVisitor(PhantomData))
}

struct TaggedVisitor<T>(PhantomData<T>);

impl<'de, T: TypeTagged> Visitor<'de> for TaggedVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a `type`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut before = Map::new();
        while let Some(Text(key)) = map.next_key()? {
            if key != "type" {
                before.insert(key.into_owned(), map.next_value()?);
                continue;
            }
            let Text(kind) = map.next_value()?;
            if before.is_empty() {
                return T::from_fields(&kind, MapAccessDeserializer::new(map));
            }
            while let Some((key, value)) = map.next_entry()? {
                before.insert(key, value);
            }
            return T::from_fields(&kind, Value::Object(before)).map_err(A::Error::custom);
        }
        Err(A::Error::missing_field("type"))
    }
}

/// A string, borrowed when the deserializer can lend it (the YAML tree can).
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }

            fn visit_str<E>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text.to_string())))
            }

            fn visit_string<E>(self, text: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

impl<K: KnownTypes> JsonSchema for Unrecognized<K> {
    fn schema_name() -> Cow<'static, str> {
        Cow::Owned(format!("Unrecognized_{}", K::FAMILY.replace(' ', "_")))
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // Excluding the known names keeps editors strict about typos in known objects.
        json_schema!({
            "description": format!("A {} type evalctl does not know yet; passed through verbatim.", K::FAMILY),
            "type": "object",
            "properties": { "type": { "type": "string", "not": { "enum": K::NAMES } } },
            "required": ["type"]
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{
        DataSourceConfig, Grader, KnownDataSourceConfig, KnownGrader, KnownRunDataSource,
        RunDataSource,
    };
    use super::*;

    /// Whether `value` reads as an object passed through (`Some(true)`), a known one
    /// (`Some(false)`), or not at all.
    fn passed_through<T: for<'de> Deserialize<'de>>(
        value: Value,
        unrecognized: fn(&T) -> bool,
    ) -> Option<bool> {
        serde_json::from_value::<T>(value)
            .ok()
            .map(|t| unrecognized(&t))
    }

    #[test]
    fn every_known_type_name_is_read_as_known_or_refused() {
        fn check<T: for<'de> Deserialize<'de>>(names: &[&str], unrecognized: fn(&T) -> bool) {
            for name in names {
                let read = passed_through(json!({"type": name}), unrecognized);
                assert_ne!(read, Some(true), "`{name}` was passed through");
            }
            let other =
                passed_through(json!({"x": 1, "type": "brand_new", "y": [2]}), unrecognized);
            assert_eq!(other, Some(true), "an unknown type is passed through");
        }
        check::<Grader>(KnownGrader::NAMES, |g| matches!(g, Grader::Unrecognized(_)));
        check::<DataSourceConfig>(KnownDataSourceConfig::NAMES, |c| {
            matches!(c, DataSourceConfig::Unrecognized(_))
        });
        check::<RunDataSource>(KnownRunDataSource::NAMES, |d| {
            matches!(d, RunDataSource::Unrecognized(_))
        });
    }

    #[test]
    fn type_is_found_wherever_it_is_written() {
        let first: Grader = serde_json::from_value(json!({"type": "string_check", "name": "n", "input": "a", "reference": "b", "operation": "eq"}))
            .unwrap_or_else(|e| panic!("{e}"));
        let last: Grader = serde_json::from_value(json!({"name": "n", "input": "a", "reference": "b", "operation": "eq", "type": "string_check"}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first, last);
        assert!(matches!(first, Grader::Known(KnownGrader::StringCheck(_))));
        let unknown: Grader = serde_json::from_value(json!({"a": 1, "type": "new_grader", "b": 2}))
            .unwrap_or_else(|e| panic!("{e}"));
        let Grader::Unrecognized(unknown) = unknown else {
            panic!("passed through")
        };
        assert_eq!(unknown.kind, "new_grader");
        assert_eq!(Value::Object(unknown.fields), json!({"a": 1, "b": 2}));
        let misspelt = serde_json::from_value::<Grader>(
            json!({"type": "string_check", "name": "n", "input": "a", "reference": "b", "operaton": "eq"}),
        );
        assert!(
            misspelt.is_err(),
            "a known type with a bad field is refused"
        );
        assert!(serde_json::from_value::<Grader>(json!({"name": "n"})).is_err());
    }
}
