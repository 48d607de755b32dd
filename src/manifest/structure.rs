//! Structural validation: walks the JSON Schema generated from the typed model over a YAML
//! tree and reports every mismatch at once (typed deserialization stops at the first), with
//! messages written for people: unknown fields with "did you mean", enums listed, tagged
//! unions chosen by their `type` so errors speak of the grader the user meant.
//!
//! Every value of every manifest is checked, so the schema is compiled once, when the
//! `Structure` is made, into one `Shape` per distinct schema node: references followed,
//! unions flattened and their tags found, the kinds a node accepts as a bitset. The walk then
//! never looks a key up in the schema; only wording a problem (the kinds expected, the known
//! field names) reads the schema again.

use std::collections::HashMap;

use serde_json::Value;

use super::diagnostic::{did_you_mean, one_of};
use super::finding::Finding;
use super::node::{Node, NodeValue, Trail};

/// A schema as produced by schemars (the root holds `$defs`), compiled for checking.
pub(crate) struct Structure<'s> {
    shapes: Vec<Shape<'s>>,
    root: Id,
}

/// Index of a `Shape` in `Structure::shapes`.
type Id = usize;

/// One schema node, references followed.
struct Shape<'s> {
    /// Kept to word messages, which are rare: the walk itself needs only `kinds` and `rule`.
    schema: &'s Value,
    kinds: Kinds,
    rule: Rule<'s>,
}

enum Rule<'s> {
    /// The schema `false`.
    Never,
    Union(Union<'s>),
    Plain(Constraints<'s>),
}

/// What a schema other than a union asks of a value of a kind it accepts.
struct Constraints<'s> {
    /// `enum`, of which only the strings are compared.
    allowed: Option<Vec<&'s str>>,
    constant: Option<&'s str>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    /// Sorted by name, for binary search.
    properties: Vec<(&'s str, Id)>,
    additional: Additional,
    required: Vec<&'s str>,
    items: Option<Id>,
    min_items: Option<u64>,
    max_items: Option<u64>,
}

/// What `additionalProperties` makes of a field not in `properties`.
#[derive(Clone, Copy)]
enum Additional {
    /// `false`: reported as unknown, with the known names.
    Unknown,
    Checked(Id),
    /// Absent or `true`.
    Unchecked,
}

/// `anyOf`/`oneOf` branches, flattened (a union of unions is one list).
struct Union<'s> {
    branches: Vec<Id>,
    accepts_null: bool,
    /// Set when every branch but `null` is a string constant: an enum whose values carry
    /// descriptions, which schemars writes as a union of consts.
    constants: Option<Vec<&'s str>>,
    /// Branches identified by their `type` constant.
    tagged: Vec<(&'s str, Id)>,
    /// The pass-through branch for a `type` evalctl does not know.
    fallback: Option<Id>,
}

/// The kinds of YAML value a schema accepts, one bit each.
#[derive(Clone, Copy)]
struct Kinds(u8);

impl Kinds {
    const NULL: u8 = 1;
    const BOOL: u8 = 1 << 1;
    const INT: u8 = 1 << 2;
    const FLOAT: u8 = 1 << 3;
    const STR: u8 = 1 << 4;
    const SEQ: u8 = 1 << 5;
    const MAP: u8 = 1 << 6;
    const ANY: Kinds = Kinds(u8::MAX);

    /// A schema that names no type accepts every kind; one naming only types evalctl does
    /// not know accepts none.
    fn of_schema(schema: &Value) -> Kinds {
        let types = schema_types(schema);
        if types.is_empty() {
            return Kinds::ANY;
        }
        Kinds(types.iter().fold(0, |bits, t| {
            bits | match *t {
                "null" => Kinds::NULL,
                "boolean" => Kinds::BOOL,
                "integer" => Kinds::INT,
                "number" => Kinds::INT | Kinds::FLOAT,
                "string" => Kinds::STR,
                "array" => Kinds::SEQ,
                "object" => Kinds::MAP,
                _ => 0,
            }
        }))
    }

    fn accepts(self, node: &Node) -> bool {
        let kind = match node.value {
            NodeValue::Null => Kinds::NULL,
            NodeValue::Bool(_) => Kinds::BOOL,
            NodeValue::Int(_) => Kinds::INT,
            NodeValue::Float(_) => Kinds::FLOAT,
            NodeValue::Str { .. } => Kinds::STR,
            NodeValue::Seq(_) => Kinds::SEQ,
            NodeValue::Map(_) => Kinds::MAP,
        };
        self.has(kind)
    }

    fn has(self, kind: u8) -> bool {
        self.0 & kind != 0
    }
}

impl<'s> Structure<'s> {
    pub(crate) fn new(root: &'s Value) -> Self {
        let mut compiler = Compiler {
            root,
            shapes: Vec::new(),
            ids: HashMap::new(),
        };
        let root = compiler.shape(root);
        Structure {
            shapes: compiler.shapes,
            root,
        }
    }

    /// Every structural problem of `node` against the root schema.
    pub(crate) fn check_document(&self, node: &Node) -> Vec<Finding> {
        let mut out = Vec::new();
        self.check(node, self.root, &Trail::Root, &mut out);
        out
    }

    fn check(&self, node: &Node, id: Id, path: &Trail<'_>, out: &mut Vec<Finding>) {
        let shape = &self.shapes[id];
        let rule = match &shape.rule {
            Rule::Never => {
                out.push(Finding::error(node.span, path, "no value is allowed here"));
                return;
            }
            Rule::Union(union) => {
                self.check_union(node, union, path, out);
                return;
            }
            Rule::Plain(rule) => rule,
        };
        if !shape.kinds.accepts(node) {
            let expected = expected_kinds(shape.schema);
            out.push(Finding::error(
                node.span,
                path,
                format!("expected {expected}, found {}", node.kind()),
            ));
            return;
        }
        check_value(node, rule, path, out);
        match &node.value {
            NodeValue::Map(_) => self.check_object(node, shape.schema, rule, path, out),
            NodeValue::Seq(items) => self.check_array(node, items, rule, path, out),
            _ => {}
        }
    }

    fn check_object(
        &self,
        node: &Node,
        schema: &'s Value,
        rule: &Constraints<'s>,
        path: &Trail<'_>,
        out: &mut Vec<Finding>,
    ) {
        // A misspelt field is one mistake: report it once, not also as the field it meant.
        let mut meant = Vec::new();
        for entry in node.entries() {
            let entry_path = path.key(&entry.key);
            let known = rule
                .properties
                .binary_search_by(|(name, _)| (*name).cmp(entry.key.as_str()))
                .ok()
                .map(|i| rule.properties[i].1);
            match (known, rule.additional) {
                (Some(sub), _) | (None, Additional::Checked(sub)) => {
                    self.check(&entry.value, sub, &entry_path, out)
                }
                (None, Additional::Unknown) => {
                    let names = property_names(schema);
                    meant.extend(did_you_mean(&entry.key, names.iter().copied()));
                    out.push(unknown_field(
                        entry.key_span,
                        &entry_path,
                        &entry.key,
                        &names,
                    ));
                }
                (None, Additional::Unchecked) => {}
            }
        }
        for name in &rule.required {
            if node.get(name).is_none() && !meant.contains(name) {
                out.push(Finding::error(
                    node.span,
                    path,
                    format!("missing field `{name}`"),
                ));
            }
        }
    }

    fn check_array(
        &self,
        node: &Node,
        items: &[Node],
        rule: &Constraints<'s>,
        path: &Trail<'_>,
        out: &mut Vec<Finding>,
    ) {
        if let (Some(min), Some(max)) = (rule.min_items, rule.max_items) {
            if min == max && items.len() as u64 != min {
                out.push(Finding::error(
                    node.span,
                    path,
                    format!("expected a list of {min} items, found {}", items.len()),
                ));
            }
        } else if let Some(min) = rule.min_items.filter(|&m| (items.len() as u64) < m) {
            out.push(Finding::error(
                node.span,
                path,
                format!("expected at least {min} items, found {}", items.len()),
            ));
        }
        if let Some(item_shape) = rule.items {
            for (i, item) in items.iter().enumerate() {
                self.check(item, item_shape, &path.index(i), out);
            }
        }
    }

    /// Objects with a `type` field are matched to the branch with that `type` (or to the
    /// pass-through branch for types evalctl does not know); anything else to the branch
    /// that fits best.
    fn check_union(
        &self,
        node: &Node,
        union: &Union<'s>,
        path: &Trail<'_>,
        out: &mut Vec<Finding>,
    ) {
        if matches!(node.value, NodeValue::Null) && union.accepts_null {
            return;
        }
        if let Some(constants) = &union.constants {
            match node.as_str() {
                Some(found) if constants.contains(&found) => {}
                Some(found) => out.push(unknown_value(node, path, found, constants)),
                None => out.push(Finding::error(
                    node.span,
                    path,
                    format!("expected a string, found {}", node.kind()),
                )),
            }
            return;
        }
        if !union.tagged.is_empty() && matches!(node.value, NodeValue::Map(_)) {
            self.check_tagged(node, union, path, out);
            return;
        }
        let fits = |b: &&Id| self.shapes[**b].kinds.accepts(node);
        let mut candidates = union.branches.iter().filter(fits);
        match (candidates.next(), candidates.next()) {
            (None, _) => {
                let expected: Vec<String> = union
                    .branches
                    .iter()
                    .map(|&b| expected_kinds(self.shapes[b].schema))
                    .collect();
                let mut expected: Vec<&str> = expected.iter().map(String::as_str).collect();
                expected.dedup();
                out.push(Finding::error(
                    node.span,
                    path,
                    format!("expected {}, found {}", expected.join(" or "), node.kind()),
                ));
            }
            // The only candidate's problems are the fewest.
            (Some(&only), None) => self.check(node, only, path, out),
            (Some(_), Some(_)) => {
                self.check_closest(node, union.branches.iter().filter(fits), path, out)
            }
        }
    }

    /// Reports the problems of the candidate with the fewest (none if one fits).
    fn check_closest<'b>(
        &self,
        node: &Node,
        candidates: impl Iterator<Item = &'b Id>,
        path: &Trail<'_>,
        out: &mut Vec<Finding>,
    ) {
        let mut best: Option<Vec<Finding>> = None;
        for &candidate in candidates {
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
        union: &Union<'s>,
        path: &Trail<'_>,
        out: &mut Vec<Finding>,
    ) {
        let names = || union.tagged.iter().map(|(t, _)| *t);
        let type_path = path.key("type");
        let Some(type_node) = node.get("type") else {
            out.push(
                Finding::error(node.span, path, "missing field `type`")
                    .note(format!("expected `type` to be one of {}", one_of(names()))),
            );
            return;
        };
        let Some(t) = type_node.as_str() else {
            out.push(Finding::error(
                type_node.span,
                &type_path,
                format!("expected a string, found {}", type_node.kind()),
            ));
            return;
        };
        let branch = union
            .tagged
            .iter()
            .find(|(name, _)| *name == t)
            .map(|(_, branch)| *branch)
            .or(union.fallback);
        match branch {
            Some(branch) => self.check(node, branch, path, out),
            None => {
                let names: Vec<&str> = names().collect();
                out.push(unknown_value(type_node, &type_path, t, &names));
            }
        }
    }
}

/// Builds the shapes of a schema, each distinct schema node once.
struct Compiler<'s> {
    root: &'s Value,
    shapes: Vec<Shape<'s>>,
    /// By the address of the schema node, references followed.
    ids: HashMap<*const Value, Id>,
}

impl<'s> Compiler<'s> {
    fn shape(&mut self, schema: &'s Value) -> Id {
        let schema = self.resolve(schema);
        if let Some(&id) = self.ids.get(&std::ptr::from_ref(schema)) {
            return id;
        }
        let id = self.shapes.len();
        self.ids.insert(schema, id);
        // Registered before its parts are compiled, so a recursive schema refers to itself;
        // the rule is filled in below.
        self.shapes.push(Shape {
            schema,
            kinds: Kinds::of_schema(schema),
            rule: Rule::Never,
        });
        let rule = if schema == &Value::Bool(false) {
            Rule::Never
        } else if let Some(branches) = union_branches(schema) {
            Rule::Union(self.union(branches))
        } else {
            Rule::Plain(self.constraints(schema))
        };
        self.shapes[id].rule = rule;
        id
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

    fn constraints(&mut self, schema: &'s Value) -> Constraints<'s> {
        let mut properties: Vec<(&str, Id)> = schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, sub)| (name.as_str(), self.shape(sub)))
            .collect();
        properties.sort_unstable_by_key(|(name, _)| *name);
        let additional = match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => Additional::Unknown,
            Some(sub @ Value::Object(_)) => Additional::Checked(self.shape(sub)),
            _ => Additional::Unchecked,
        };
        let strings = |key: &str| -> Option<Vec<&'s str>> {
            schema
                .get(key)
                .and_then(Value::as_array)
                .map(|values| values.iter().filter_map(Value::as_str).collect())
        };
        let number = |key: &str| schema.get(key).and_then(Value::as_f64);
        let count = |key: &str| schema.get(key).and_then(Value::as_u64);
        Constraints {
            allowed: strings("enum"),
            constant: schema.get("const").and_then(Value::as_str),
            minimum: number("minimum"),
            maximum: number("maximum"),
            properties,
            additional,
            required: strings("required").unwrap_or_default(),
            items: schema.get("items").map(|items| self.shape(items)),
            min_items: count("minItems"),
            max_items: count("maxItems"),
        }
    }

    fn union(&mut self, branches: &'s [Value]) -> Union<'s> {
        let flat = self.flatten(branches);
        let constants: Vec<&str> = flat
            .iter()
            .filter_map(|b| b.get("const").and_then(Value::as_str))
            .collect();
        let is_enum = !constants.is_empty()
            && constants.len() == flat.iter().filter(|b| !is_null_type(b)).count();
        let ids: Vec<Id> = flat.iter().map(|b| self.shape(b)).collect();
        let tagged = flat
            .iter()
            .zip(&ids)
            .filter_map(|(b, &id)| tag_of(b).map(|t| (t, id)))
            .collect();
        let fallback = flat
            .iter()
            .zip(&ids)
            .find(|(b, _)| {
                tag_of(b).is_none() && b.get("properties").and_then(|p| p.get("type")).is_some()
            })
            .map(|(_, &id)| id);
        Union {
            accepts_null: ids.iter().any(|&id| self.shapes[id].kinds.has(Kinds::NULL)),
            branches: ids,
            constants: is_enum.then_some(constants),
            tagged,
            fallback,
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

fn property_names(schema: &Value) -> Vec<&str> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map_or(Vec::new(), |p| p.keys().map(String::as_str).collect())
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
fn check_value(node: &Node, rule: &Constraints<'_>, path: &Trail<'_>, out: &mut Vec<Finding>) {
    if let (Some(allowed), Some(found)) = (&rule.allowed, node.as_str()) {
        if !allowed.contains(&found) {
            out.push(unknown_value(node, path, found, allowed));
        }
    }
    if let (Some(expected), Some(found)) = (rule.constant, node.as_str()) {
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
        let (min, max) = (rule.minimum, rule.maximum);
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
