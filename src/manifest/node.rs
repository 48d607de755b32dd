//! The YAML document tree that validation works on: every value and every mapping key keeps
//! its span, so any problem found later (in the structure, a template, a data row) can point
//! at the exact place in the file. Typed values are read from it directly (`typed.rs`).

use std::fmt;

// Keys and most scalars of a manifest are short: kept inline, a large project's trees are built
// and freed with a fraction of the allocations.
use compact_str::CompactString;

#[cfg(test)]
use serde_json::{Map, Number, Value};

use super::source::Span;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub value: NodeValue,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// `plain` is true for unquoted scalars, whose type is re-resolved after interpolation.
    Str {
        text: CompactString,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: CompactString,
    pub key_span: Span,
    pub value: Node,
}

/// One step of a field path. Keys are short: kept inline, so the checks' paths are extended
/// and cloned without allocating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(CompactString),
    Index(usize),
}

/// A field path such as `evals.mmlu.testing_criteria[0].operation`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    pub(crate) fn key(&self, key: &str) -> FieldPath {
        self.then(Segment::Key(key.into()))
    }

    pub(crate) fn index(&self, index: usize) -> FieldPath {
        self.then(Segment::Index(index))
    }

    fn then(&self, segment: Segment) -> FieldPath {
        let mut segments = Vec::with_capacity(self.0.len() + 1);
        segments.extend_from_slice(&self.0);
        segments.push(segment);
        FieldPath(segments)
    }
}

impl From<&FieldPath> for FieldPath {
    fn from(path: &FieldPath) -> FieldPath {
        path.clone()
    }
}

/// A field path while a tree is walked, kept on the stack: a walk visits every value of every
/// manifest, and only the few with a problem need their path as a `FieldPath`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Trail<'a> {
    Root,
    Key(&'a Trail<'a>, &'a str),
    Index(&'a Trail<'a>, usize),
}

impl<'a> Trail<'a> {
    pub(crate) fn key(&'a self, key: &'a str) -> Trail<'a> {
        Trail::Key(self, key)
    }

    pub(crate) fn index(&'a self, index: usize) -> Trail<'a> {
        Trail::Index(self, index)
    }

    fn push_onto(&self, path: &mut FieldPath) {
        match *self {
            Trail::Root => {}
            Trail::Key(parent, key) => {
                parent.push_onto(path);
                path.0.push(Segment::Key(key.into()));
            }
            Trail::Index(parent, index) => {
                parent.push_onto(path);
                path.0.push(Segment::Index(index));
            }
        }
    }
}

impl From<&Trail<'_>> for FieldPath {
    fn from(trail: &Trail<'_>) -> FieldPath {
        let mut path = FieldPath::default();
        trail.push_onto(&mut path);
        path
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let plain = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
                    if plain {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl Node {
    pub(crate) fn entries(&self) -> &[Entry] {
        match &self.value {
            NodeValue::Map(entries) => entries,
            _ => &[],
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        // The last entry wins, as in the typed value (duplicates are reported separately).
        self.entries()
            .iter()
            .rev()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }

    /// The child that `segment` names, if there is one.
    fn child(&self, segment: &Segment) -> Option<&Node> {
        match segment {
            Segment::Key(k) => self.get(k),
            Segment::Index(i) => match &self.value {
                NodeValue::Seq(items) => items.get(*i),
                _ => None,
            },
        }
    }

    /// The node at the path given by `segments`, if it exists.
    pub(crate) fn find_segments(&self, segments: &[Segment]) -> Option<&Node> {
        segments
            .iter()
            .try_fold(self, |node, segment| node.child(segment))
    }

    /// The best span for a problem at the path given by `segments`: the node itself, else
    /// its nearest ancestor.
    pub(crate) fn span_at(&self, segments: &[Segment]) -> Span {
        let mut node = self;
        for segment in segments {
            match node.child(segment) {
                Some(child) => node = child,
                None => break,
            }
        }
        node.span
    }

    /// The span of the key at the end of the path (for problems with the key itself).
    pub(crate) fn key_span_at(&self, segments: &[Segment]) -> Span {
        let Some((Segment::Key(last), parent)) = segments.split_last() else {
            return self.span_at(segments);
        };
        self.find_segments(parent)
            .and_then(|p| p.entries().iter().rev().find(|e| e.key == *last))
            .map_or_else(|| self.span_at(segments), |e| e.key_span)
    }

    /// What kind of value this is, as messages name it.
    pub(crate) fn kind(&self) -> &'static str {
        match &self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::Str { .. } => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str { text, .. } => Some(text),
            _ => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::Number((*i).into()),
            NodeValue::Float(x) => Number::from_f64(*x).map_or(Value::Null, Value::Number),
            NodeValue::Str { text, .. } => Value::String(text.to_string()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => {
                let mut map = Map::with_capacity(entries.len());
                for entry in entries {
                    map.insert(entry.key.to_string(), entry.value.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// The number of nodes in this tree (used to bound alias expansion).
    pub(crate) fn size(&self) -> usize {
        1 + match &self.value {
            NodeValue::Seq(items) => items.iter().map(Node::size).sum(),
            NodeValue::Map(entries) => entries.iter().map(|e| e.value.size()).sum(),
            _ => 0,
        }
    }
}

/// Resolves an unquoted scalar by the YAML 1.2 core schema (so `yes` stays a string).
/// `.inf` and `.nan` stay strings: JSON cannot carry them and no manifest field wants them.
pub(crate) fn resolve_plain(text: impl AsRef<str> + Into<CompactString>) -> NodeValue {
    match text.as_ref() {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        _ => {}
    }
    // Only a digit, a sign or a point can start a number: most plain scalars are words.
    if !text
        .as_ref()
        .starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'))
    {
        return NodeValue::Str {
            text: text.into(),
            plain: true,
        };
    }
    if let Some(i) = parse_int(text.as_ref()) {
        return NodeValue::Int(i);
    }
    if looks_like_float(text.as_ref()) {
        if let Ok(x) = text.as_ref().parse::<f64>() {
            if x.is_finite() {
                return NodeValue::Float(x);
            }
        }
    }
    NodeValue::Str {
        text: text.into(),
        plain: true,
    }
}

fn parse_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn looks_like_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = mantissa.bytes().filter(|&b| b == b'.').count() <= 1
        && mantissa.bytes().any(|b| b.is_ascii_digit())
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_core_schema_scalars() {
        assert_eq!(resolve_plain("42"), NodeValue::Int(42));
        assert_eq!(resolve_plain("-0.5"), NodeValue::Float(-0.5));
        assert_eq!(resolve_plain("1e3"), NodeValue::Float(1000.0));
        assert_eq!(resolve_plain("true"), NodeValue::Bool(true));
        assert_eq!(resolve_plain("~"), NodeValue::Null);
        for s in ["yes", "on", "1.2.3", ".inf", "0x", "e5"] {
            assert!(matches!(resolve_plain(s), NodeValue::Str { .. }), "{s}");
        }
    }

    #[test]
    fn displays_paths_like_the_design() {
        let path = FieldPath::default()
            .key("evals")
            .key("mmlu-string-check")
            .key("testing_criteria")
            .index(0)
            .key("operation");
        assert_eq!(
            path.to_string(),
            "evals.mmlu-string-check.testing_criteria[0].operation"
        );
        assert_eq!(
            FieldPath::default()
                .key("metadata")
                .key("my key")
                .to_string(),
            "metadata.\"my key\""
        );
    }
}
