//! Structural validation: walks the JSON Schema generated from the typed model over a YAML
//! tree and reports every mismatch at once (typed deserialization stops at the first), with
//! messages written for people: unknown fields with "did you mean", enums listed, tagged
//! unions chosen by their `type` so errors speak of the grader the user meant.

use serde_json::Value;

use super::diagnostic::{did_you_mean, one_of};
use super::finding::Finding;
use super::node::{Node, NodeValue, Trail};

/// A schema as produced by schemars: the root holds `$defs`.
pub(crate) struct Structure<'s> {
    root: &'s Value,
}

impl<'s> Structure<'s> {
    pub(crate) fn new(root: &'s Value) -> Self {
        Structure { root }
    }

    /// Every structural problem of `node` against the root schema.
    pub(crate) fn check_document(&self, node: &Node) -> Vec<Finding> {
        let mut out = Vec::new();
        self.check(node, self.root, &Trail::Root, &mut out);
        out
    }

    fn resolve(&self, mut schema: &'s Value) -> &'s Value {
        while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let pointer = reference.trim_start_matches('#');
            match self.root.pointer(pointer) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    fn check(&self, node: &Node, schema: &'s Value, path: &Trail<'_>, out: &mut Vec<Finding>) {
        let schema = self.resolve(schema);
        if schema == &Value::Bool(false) {
            out.push(Finding::error(node.span, path, "no value is allowed here"));
            return;
        }
        if let Some(branches) = union_branches(schema) {
            self.check_union(node, branches, path, out);
            return;
        }
        if !accepts_kind(schema, node) {
            let expected = expected_kinds(schema);
            out.push(Finding::error(
                node.span,
                path,
                format!("expected {expected}, found {}", node.kind()),
            ));
            return;
        }
        check_value(node, schema, path, out);
        match &node.value {
            NodeValue::Map(_) => self.check_object(node, schema, path, out),
            NodeValue::Seq(items) => self.check_array(node, items, schema, path, out),
            _ => {}
        }
    }

    fn check_object(
        &self,
        node: &Node,
        schema: &'s Value,
        path: &Trail<'_>,
        out: &mut Vec<Finding>,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let names = || -> Vec<&str> {
            properties.map_or(Vec::new(), |p| p.keys().map(String::as_str).collect())
        };
        let additional = schema.get("additionalProperties");
        // A misspelt field is one mistake: report it once, not also as the field it meant.
        let mut meant = Vec::new();
        for entry in node.entries() {
            let entry_path = path.key(&entry.key);
            if let Some(sub) = properties.and_then(|p| p.get(&entry.key)) {
                self.check(&entry.value, sub, &entry_path, out);
            } else if additional == Some(&Value::Bool(false)) {
                let names = names();
                meant.extend(did_you_mean(&entry.key, names.iter().copied()));
                out.push(unknown_field(
                    entry.key_span,
                    &entry_path,
                    &entry.key,
                    &names,
                ));
            } else if let Some(sub) = additional.filter(|a| a.is_object()) {
                self.check(&entry.value, sub, &entry_path, out);
            }
        }
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = required.as_str() {
                if node.get(name).is_none() && !meant.contains(&name) {
                    out.push(Finding::error(
                        node.span,
                        path,
                        format!("missing field `{name}`"),
                    ));
                }
            }
        }
    }

    fn check_array(
        &self,
        node: &Node,
        items: &[Node],
        schema: &'s Value,
        path: &Trail<'_>,
        out: &mut Vec<Finding>,
    ) {
        let count = |key: &str| schema.get(key).and_then(Value::as_u64);
        if let (Some(min), Some(max)) = (count("minItems"), count("maxItems")) {
            if min == max && items.len() as u64 != min {
                out.push(Finding::error(
                    node.span,
                    path,
                    format!("expected a list of {min} items, found {}", items.len()),
                ));
            }
        } else if let Some(min) = count("minItems").filter(|&m| (items.len() as u64) < m) {
            out.push(Finding::error(
                node.span,
                path,
                format!("expected at least {min} items, found {}", items.len()),
            ));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                self.check(item, item_schema, &path.index(i), out);
            }
        }
    }

    /// Checks a node against `anyOf`/`oneOf` branches. Objects with a `type` field are
    /// matched to the branch with that `type` (or to the pass-through branch for types
    /// evalctl does not know); anything else to the branch that fits best.
    fn check_union(
        &self,
        node: &Node,
        branches: &'s [Value],
        path: &Trail<'_>,
        out: &mut Vec<Finding>,
    ) {
        let branches = self.flatten(branches);
        if matches!(node.value, NodeValue::Null) && branches.iter().any(|b| accepts_kind(b, node)) {
            return;
        }
        let constants: Vec<&str> = branches
            .iter()
            .filter_map(|b| b.get("const").and_then(Value::as_str))
            .collect();
        if !constants.is_empty()
            && constants.len() == branches.iter().filter(|b| !is_null_type(b)).count()
        {
            // An enum whose values carry descriptions: schemars writes it as a union of consts.
            match node.as_str() {
                Some(found) if constants.contains(&found) => {}
                Some(found) => out.push(unknown_value(node, path, found, &constants)),
                None => out.push(Finding::error(
                    node.span,
                    path,
                    format!("expected a string, found {}", node.kind()),
                )),
            }
            return;
        }
        let tagged: Vec<(&str, &Value)> = branches
            .iter()
            .filter_map(|b| tag_of(b).map(|t| (t, *b)))
            .collect();
        if !tagged.is_empty() && matches!(node.value, NodeValue::Map(_)) {
            self.check_tagged(node, &tagged, &branches, path, out);
            return;
        }
        let candidates: Vec<&Value> = branches
            .iter()
            .copied()
            .filter(|b| accepts_kind(b, node))
            .collect();
        if candidates.is_empty() {
            let expected: Vec<String> = branches.iter().map(|b| expected_kinds(b)).collect();
            let mut expected: Vec<&str> = expected.iter().map(String::as_str).collect();
            expected.dedup();
            out.push(Finding::error(
                node.span,
                path,
                format!("expected {}, found {}", expected.join(" or "), node.kind()),
            ));
            return;
        }
        let mut best: Option<Vec<Finding>> = None;
        for candidate in candidates {
            let mut attempt = Vec::new();
            self.check(node, candidate, path, &mut attempt);
            if attempt.is_empty() {
                return;
            }
            if best.as_ref().is_none_or(|b| attempt.len() < b.len()) {
                best = Some(attempt);
            }
        }
        out.extend(best.unwrap_or_default());
    }

    fn check_tagged(
        &self,
        node: &Node,
        tagged: &[(&str, &'s Value)],
        branches: &[&'s Value],
        path: &Trail<'_>,
        out: &mut Vec<Finding>,
    ) {
        let names: Vec<&str> = tagged.iter().map(|(t, _)| *t).collect();
        let fallback = branches.iter().find(|b| {
            tag_of(b).is_none() && b.get("properties").and_then(|p| p.get("type")).is_some()
        });
        let type_path = path.key("type");
        match node.get("type") {
            Some(type_node) => match type_node.as_str() {
                Some(t) => match tagged.iter().find(|(name, _)| *name == t) {
                    Some((_, branch)) => self.check(node, branch, path, out),
                    None => match fallback {
                        Some(branch) => self.check(node, branch, path, out),
                        None => out.push(unknown_value(type_node, &type_path, t, &names)),
                    },
                },
                None => out.push(Finding::error(
                    type_node.span,
                    &type_path,
                    format!("expected a string, found {}", type_node.kind()),
                )),
            },
            None => out.push(
                Finding::error(node.span, path, "missing field `type`").note(format!(
                    "expected `type` to be one of {}",
                    one_of(names.iter().copied())
                )),
            ),
        }
    }

    /// Resolves references and lifts nested unions, so a union of unions is one flat list.
    fn flatten(&self, branches: &'s [Value]) -> Vec<&'s Value> {
        let mut flat = Vec::new();
        for branch in branches {
            let branch = self.resolve(branch);
            match union_branches(branch) {
                Some(inner) if branch.get("type").is_none() => flat.extend(self.flatten(inner)),
                _ => flat.push(branch),
            }
        }
        flat
    }
}

fn is_null_type(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

fn union_branches(schema: &Value) -> Option<&[Value]> {
    schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
}

/// The `type` constant that identifies a tagged-union branch.
fn tag_of(schema: &Value) -> Option<&str> {
    let tag = schema.get("properties")?.get("type")?;
    tag.get("const").and_then(Value::as_str).or_else(|| {
        match tag.get("enum")?.as_array()?.as_slice() {
            [only] => only.as_str(),
            _ => None,
        }
    })
}

fn schema_types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ if schema.get("properties").is_some() => vec!["object"],
        _ => Vec::new(),
    }
}

fn accepts_kind(schema: &Value, node: &Node) -> bool {
    let types = schema_types(schema);
    types.is_empty()
        || types.iter().any(|t| {
            matches!(
                (*t, &node.value),
                ("null", NodeValue::Null)
                    | ("boolean", NodeValue::Bool(_))
                    | ("integer", NodeValue::Int(_))
                    | ("number", NodeValue::Int(_) | NodeValue::Float(_))
                    | ("string", NodeValue::Str { .. })
                    | ("array", NodeValue::Seq(_))
                    | ("object", NodeValue::Map(_))
            )
        })
}

fn expected_kinds(schema: &Value) -> String {
    let names: Vec<&str> = schema_types(schema)
        .into_iter()
        .filter(|t| *t != "null")
        .map(|t| match t {
            "boolean" => "a boolean",
            "integer" => "an integer",
            "number" => "a number",
            "string" => "a string",
            "array" => "a list",
            "object" => "a mapping",
            _ => "a value",
        })
        .collect();
    if names.is_empty() {
        "a value".to_string()
    } else {
        names.join(" or ")
    }
}

/// Checks of the value itself: enums, constants, numeric ranges.
fn check_value(node: &Node, schema: &Value, path: &Trail<'_>, out: &mut Vec<Finding>) {
    if let (Some(allowed), Some(found)) =
        (schema.get("enum").and_then(Value::as_array), node.as_str())
    {
        let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
        if !names.contains(&found) {
            out.push(unknown_value(node, path, found, &names));
        }
    }
    if let (Some(expected), Some(found)) =
        (schema.get("const").and_then(Value::as_str), node.as_str())
    {
        if expected != found {
            out.push(unknown_value(node, path, found, &[expected]));
        }
    }
    let number = match node.value {
        NodeValue::Int(i) => Some(i as f64),
        NodeValue::Float(x) => Some(x),
        _ => None,
    };
    if let Some(x) = number {
        let min = schema.get("minimum").and_then(Value::as_f64);
        let max = schema.get("maximum").and_then(Value::as_f64);
        let out_of_range = min.is_some_and(|m| x < m) || max.is_some_and(|m| x > m);
        if out_of_range {
            let range = match (min, max) {
                (Some(a), Some(b)) => format!("from {a} to {b}"),
                (Some(a), None) => format!("of at least {a}"),
                (None, Some(b)) => format!("of at most {b}"),
                (None, None) => String::new(),
            };
            out.push(Finding::error(
                node.span,
                path,
                format!("expected a number {range}, found {x}"),
            ));
        }
    }
}

fn unknown_field(
    span: super::source::Span,
    path: &Trail<'_>,
    key: &str,
    names: &[&str],
) -> Finding {
    let finding = Finding::error(span, path, format!("unknown field `{key}`"));
    match did_you_mean(key, names.iter().copied()) {
        Some(close) => finding.note(format!("help: did you mean `{close}`?")),
        None if names.is_empty() => finding,
        None => finding.note(format!("expected one of {}", one_of(names.iter().copied()))),
    }
}

fn unknown_value(node: &Node, path: &Trail<'_>, found: &str, names: &[&str]) -> Finding {
    let finding = Finding::error(node.span, path, format!("unknown value `{found}`"))
        .note(format!("expected one of {}", one_of(names.iter().copied())));
    match did_you_mean(found, names.iter().copied()) {
        Some(close) => finding.note(format!("help: did you mean `{close}`?")),
        None => finding,
    }
}
