//! Typed values read straight from a YAML `Node` tree. Going through `serde_json::Value`
//! first would copy every manifest once more on the way to its typed form; this reads the
//! tree in place, with the same meaning: the last of duplicate keys wins (duplicates are
//! reported by the parser), and numbers are those the YAML scalars resolved to.

use serde::de::value::{Error, MapDeserializer, SeqDeserializer};
use serde::de::{self, Deserialize, IntoDeserializer, Visitor};

use super::node::{Entry, Node, NodeValue};
use super::yaml::has_duplicate_keys;

/// `T` from `node`.
pub(crate) fn from_node<'de, T: Deserialize<'de>>(node: &'de Node) -> Result<T, Error> {
    T::deserialize(Typed { node })
}

/// A node read as a typed value.
#[derive(Clone, Copy)]
struct Typed<'de> {
    node: &'de Node,
}

/// The entries of a mapping, the last of each key only.
fn last_of_each_key(entries: &[Entry]) -> impl Iterator<Item = (&str, &Node)> {
    // Keys are compared pairwise only in a mapping that has a key twice (an error the parser
    // reports): a large mapping (a file of a thousand evals) is then not quadratic.
    let duplicates = has_duplicate_keys(entries);
    entries
        .iter()
        .enumerate()
        .filter(move |(i, entry)| {
            !duplicates || !entries[i + 1..].iter().any(|later| later.key == entry.key)
        })
        .map(|(_, entry)| (entry.key.as_str(), &entry.value))
}

impl<'de> IntoDeserializer<'de, Error> for Typed<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Typed<'de> {
    fn at(self, node: &'de Node) -> Typed<'de> {
        Typed { node }
    }
}

impl<'de> de::Deserializer<'de> for Typed<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.value {
            NodeValue::Null => visitor.visit_unit(),
            NodeValue::Bool(b) => visitor.visit_bool(*b),
            NodeValue::Int(i) => visitor.visit_i64(*i),
            NodeValue::Float(x) => visitor.visit_f64(*x),
            NodeValue::Str { text, .. } => visitor.visit_borrowed_str(text),
            NodeValue::Seq(items) => {
                let mut seq = SeqDeserializer::new(items.iter().map(|item| self.at(item)));
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            NodeValue::Map(entries) => {
                let entries = last_of_each_key(entries);
                let mut map = MapDeserializer::new(entries.map(|(key, node)| (key, self.at(node))));
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node.value {
            NodeValue::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.node.value {
            // A unit variant, written as its name.
            NodeValue::Str { text, .. } => {
                visitor.visit_enum(de::value::BorrowedStrDeserializer::new(text))
            }
            _ => Err(de::Error::invalid_type(
                unexpected(self.node),
                &"a variant name",
            )),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

fn unexpected(node: &Node) -> de::Unexpected<'_> {
    match &node.value {
        NodeValue::Null => de::Unexpected::Unit,
        NodeValue::Bool(b) => de::Unexpected::Bool(*b),
        NodeValue::Int(i) => de::Unexpected::Signed(*i),
        NodeValue::Float(x) => de::Unexpected::Float(*x),
        NodeValue::Str { text, .. } => de::Unexpected::Str(text),
        NodeValue::Seq(_) => de::Unexpected::Seq,
        NodeValue::Map(_) => de::Unexpected::Map,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::model::ManifestFile;
    use crate::manifest::source::SourceFile;

    fn tree(text: &str) -> Node {
        let source = SourceFile::new("t.yaml".into(), "t.yaml".into(), text.into());
        crate::manifest::yaml::parse(&source).documents.remove(0)
    }

    #[test]
    fn reads_the_examples_as_the_json_route_does() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/evals");
        let files: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        assert!(files.len() >= 4, "the examples are found");
        for file in files {
            let node = tree(&std::fs::read_to_string(file.path()).unwrap_or_default());
            let direct: Result<ManifestFile, _> = from_node(&node);
            let through_json: Result<ManifestFile, _> = serde_json::from_value(node.to_json());
            let (Ok(direct), Ok(through_json)) = (direct, through_json) else {
                panic!("both routes read {}", file.path().display());
            };
            assert!(!direct.evals.is_empty());
            assert_eq!(
                serde_json::to_value(&direct).ok(),
                serde_json::to_value(&through_json).ok()
            );
        }
    }

    #[test]
    fn the_last_duplicate_key_wins_and_numbers_keep_their_kind() {
        let node = tree("a: 1\nb: [1, 2.5, x, null, true]\na: 2\n");
        let value: serde_json::Value = from_node(&node).unwrap_or_default();
        assert_eq!(
            value,
            serde_json::json!({"b": [1, 2.5, "x", null, true], "a": 2})
        );
        assert_eq!(value, node.to_json());
    }

    #[test]
    fn the_last_duplicate_key_wins_in_a_flow_mapping_deep_in_the_file() {
        let node = tree("x:\n  - {a: 1, b: 2, a: 3}\n");
        let value: serde_json::Value = from_node(&node).unwrap_or_default();
        let inner: Vec<(&String, &serde_json::Value)> =
            value["x"][0].as_object().into_iter().flatten().collect();
        assert_eq!(
            format!("{inner:?}"),
            r#"[("b", Number(2)), ("a", Number(3))]"#
        );
    }

    #[test]
    fn the_last_duplicate_key_wins_in_a_large_mapping() {
        // Over 16 keys, duplicates are found by sorting: the same answer as in a small one.
        let mut text: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k3: last\nk39: [x]\n");
        let node = tree(&text);
        let value: serde_json::Value = from_node(&node).unwrap_or_default();
        assert_eq!(value, node.to_json());
        let keys: Vec<_> = value
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys.len(), 40);
        assert_eq!((keys[0].as_str(), keys[38].as_str()), ("k0", "k3"));
        assert_eq!(
            (value["k3"].clone(), value["k39"].clone()),
            ("last".into(), serde_json::json!(["x"]))
        );
    }
}
