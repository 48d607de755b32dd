//! YAML text -> `Node` trees, one per document, built from saphyr's event stream so that
//! every node keeps its position. Also where the hostile inputs stop: duplicate keys,
//! nesting depth, and alias expansion ("billion laughs") are bounded here, before any
//! recursive code sees the tree.

use std::borrow::Cow;
use std::collections::HashMap;

use compact_str::CompactString;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YamlSpan};

use super::diagnostic::Diagnostic;
use super::node::{resolve_plain, Entry, Node, NodeValue};
use super::source::{SourceFile, Span};

/// Deeper than this is refused: no manifest needs it, and recursion over it could overflow.
pub(crate) const MAX_DEPTH: usize = 100;
/// At most this many nodes per file, counting every alias expansion.
pub(crate) const MAX_NODES: usize = 1_000_000;

/// The documents of one file, and the problems found while reading them. When `fatal` is
/// set the documents are incomplete and must not be validated further.
pub(crate) struct Parsed {
    pub documents: Vec<Node>,
    pub diagnostics: Vec<Diagnostic>,
    pub fatal: bool,
}

enum Frame {
    Seq {
        span: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        span: Span,
        anchor: usize,
        entries: Vec<Entry>,
        key: Option<(CompactString, Span)>,
    },
}

struct Builder<'a> {
    source: &'a SourceFile,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    documents: Vec<Node>,
    root: Option<Node>,
    diagnostics: Vec<Diagnostic>,
}

pub(crate) fn parse(source: &SourceFile) -> Parsed {
    let mut builder = Builder {
        source,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        documents: Vec::new(),
        root: None,
        diagnostics: Vec::new(),
    };
    let mut parser = Parser::new_from_str(&source.text);
    let fatal = loop {
        match parser.next_event() {
            None | Some(Ok((Event::StreamEnd, _))) => break false,
            Some(Ok((event, span))) => {
                if let Err(diagnostic) = builder.event(event, span) {
                    builder.diagnostics.push(diagnostic);
                    break true;
                }
            }
            Some(Err(error)) => {
                let m = error.marker();
                let span = Span::point(m.line(), m.col() + 1);
                let mut diagnostic = Diagnostic::error(format!("invalid YAML: {}", error.info()))
                    .at(Some(source.location(span)));
                if error.info().contains("tab") {
                    diagnostic =
                        diagnostic.note("help: YAML indentation must use spaces, not tabs");
                }
                builder.diagnostics.push(diagnostic);
                break true;
            }
        }
    };
    Parsed {
        documents: builder.documents,
        diagnostics: builder.diagnostics,
        fatal,
    }
}

fn convert(span: YamlSpan) -> Span {
    Span::new(
        span.start.line(),
        span.start.col() + 1,
        span.end.line(),
        span.end.col() + 1,
    )
}

impl Builder<'_> {
    fn error_at(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(message).at(Some(self.source.location(span)))
    }

    fn event(&mut self, event: Event<'_>, yaml_span: YamlSpan) -> Result<(), Diagnostic> {
        let span = convert(yaml_span);
        match event {
            Event::DocumentStart(_) => self.root = None,
            Event::DocumentEnd => {
                let root = self.root.take().unwrap_or(Node {
                    value: NodeValue::Null,
                    span,
                });
                self.documents.push(root);
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar_value(text, style, tag.as_deref().map(|t| t.suffix.as_str()));
                let node = Node { value, span };
                self.count(1, span)?;
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.complete(node)?;
            }
            Event::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id) else {
                    return Err(self.error_at(span, "alias to an unknown anchor"));
                };
                let (node, size) = (node.clone(), *size);
                self.count(size, span)?;
                self.complete(node)?;
            }
            Event::SequenceStart(anchor, _) => self.push(
                Frame::Seq {
                    span,
                    anchor,
                    items: Vec::with_capacity(4),
                },
                span,
            )?,
            Event::MappingStart(anchor, _) => self.push(
                Frame::Map {
                    span,
                    anchor,
                    entries: Vec::with_capacity(8),
                    key: None,
                },
                span,
            )?,
            Event::SequenceEnd | Event::MappingEnd => self.close(span)?,
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn count(&mut self, size: usize, span: Span) -> Result<(), Diagnostic> {
        self.nodes += size;
        if self.nodes > MAX_NODES {
            return Err(self
                .error_at(span, format!("document too large: more than {MAX_NODES} values after expanding aliases"))
                .note("help: this looks like an alias bomb (\"billion laughs\"); write the values out or use fewer nested aliases"));
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame, span: Span) -> Result<(), Diagnostic> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error_at(span, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.count(1, span)?;
        self.stack.push(frame);
        Ok(())
    }

    fn close(&mut self, end: Span) -> Result<(), Diagnostic> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        let (node, anchor) = match frame {
            Frame::Seq {
                span,
                anchor,
                items,
            } => (
                Node {
                    value: NodeValue::Seq(items),
                    span: extend(span, end),
                },
                anchor,
            ),
            Frame::Map {
                span,
                anchor,
                entries,
                ..
            } => {
                let entries = self.merge_and_check_duplicates(entries);
                (
                    Node {
                        value: NodeValue::Map(entries),
                        span: extend(span, end),
                    },
                    anchor,
                )
            }
        };
        if anchor > 0 {
            let size = node.size();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        self.complete(node)
    }

    /// Hands a finished node to its parent: a sequence item, a mapping key, or a mapping value.
    fn complete(&mut self, node: Node) -> Result<(), Diagnostic> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some((name, key_span)) => entries.push(Entry {
                    key: name,
                    key_span,
                    value: node,
                }),
                None => {
                    let span = node.span;
                    let name = key_text(node).ok_or_else(|| {
                        self.error_at(
                            span,
                            "mapping keys must be plain values, not lists or mappings",
                        )
                    })?;
                    if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                        *key = Some((name, span));
                    }
                }
            },
        }
        Ok(())
    }

    /// Applies `<<` merge keys and reports keys defined twice in one mapping (the later one
    /// is kept, as YAML loaders that accept duplicates do; the error fails validation anyway).
    fn merge_and_check_duplicates(&mut self, entries: Vec<Entry>) -> Vec<Entry> {
        // Most mappings merge nothing: keep their entries where they are.
        let (merges, mut own): (Vec<Entry>, Vec<Entry>) = if entries.iter().any(|e| e.key == "<<") {
            entries.into_iter().partition(|e| e.key == "<<")
        } else {
            (Vec::new(), entries)
        };
        report_duplicates(self.source, &own, &mut self.diagnostics);
        for merge in merges {
            let sources = match merge.value.value {
                NodeValue::Seq(items) => items,
                _ => vec![merge.value],
            };
            for source in sources {
                if let NodeValue::Map(inherited) = source.value {
                    for entry in inherited {
                        if !own.iter().any(|e| e.key == entry.key) {
                            own.push(entry);
                        }
                    }
                } else {
                    let d = self.error_at(source.span, "`<<` merges only mappings");
                    self.diagnostics.push(d);
                }
            }
        }
        own
    }
}

/// Whether two entries of a mapping have the same key.
pub(crate) fn has_duplicate_keys(entries: &[Entry]) -> bool {
    // Manifest mappings are small: comparing pairs beats sorting a copy of the keys, and
    // comparing short fingerprints of the keys first beats comparing their texts.
    if entries.len() > 16 {
        let mut keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        keys.sort_unstable();
        return keys.windows(2).any(|pair| pair[0] == pair[1]);
    }
    let mut prints = [0u64; 16];
    for (print, entry) in prints.iter_mut().zip(entries) {
        *print = fingerprint(&entry.key);
    }
    (1..entries.len())
        .any(|i| (0..i).any(|j| prints[j] == prints[i] && entries[j].key == entries[i].key))
}

/// Reports keys defined twice in one mapping, with where each was first defined.
fn report_duplicates(source: &SourceFile, entries: &[Entry], diagnostics: &mut Vec<Diagnostic>) {
    if !has_duplicate_keys(entries) {
        return;
    }
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_unstable_by(|&a, &b| entries[a].key.cmp(&entries[b].key).then(a.cmp(&b)));
    for pair in order.windows(2) {
        let (first, second) = (&entries[pair[0]], &entries[pair[1]]);
        if first.key == second.key {
            let first_loc = source.location(first.key_span);
            let diagnostic = Diagnostic::error(format!("duplicate key `{}`", second.key))
                .at(Some(source.location(second.key_span)))
                .note(format!(
                    "first defined at {}:{}:{}",
                    first_loc.file, first_loc.line, first_loc.column
                ));
            diagnostics.push(diagnostic);
        }
    }
}

/// The length and first bytes of a key: equal keys have equal fingerprints.
fn fingerprint(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let mut head = [0u8; 8];
    let n = bytes.len().min(7);
    head[..n].copy_from_slice(&bytes[..n]);
    head[7] = bytes.len() as u8;
    u64::from_le_bytes(head)
}

fn extend(start: Span, end: Span) -> Span {
    Span {
        end_line: end.end_line,
        end_col: end.end_col,
        ..start
    }
}

fn key_text(node: Node) -> Option<CompactString> {
    match node.value {
        NodeValue::Null => Some(CompactString::default()),
        NodeValue::Bool(b) => Some(b.to_string().into()),
        NodeValue::Int(i) => Some(i.to_string().into()),
        NodeValue::Float(x) => Some(x.to_string().into()),
        NodeValue::Str { text, .. } => Some(text),
        NodeValue::Seq(_) | NodeValue::Map(_) => None,
    }
}

fn scalar_value(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&str>) -> NodeValue {
    match (style, tag) {
        (ScalarStyle::Plain, tag) if tag != Some("str") => resolve_plain(text),
        _ => NodeValue::Str {
            text: text.into(),
            plain: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Parsed {
        parse(&SourceFile::new(
            "t.yaml".into(),
            "t.yaml".into(),
            text.into(),
        ))
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let parsed = parse_str("evals:\n  a:\n    name: \"x\"\n");
        assert!(parsed.diagnostics.is_empty());
        let root = &parsed.documents[0];
        let a = root.get("evals").and_then(|e| e.get("a")).unwrap();
        assert_eq!(a.entries()[0].key_span.line, 3);
        assert_eq!(a.entries()[0].key_span.col, 5);
        assert_eq!(a.entries()[0].value.span.col, 11);
    }

    #[test]
    fn reports_duplicate_keys_with_both_places() {
        let parsed = parse_str("a: 1\nb: 2\na: 3\n");
        let message = parsed.diagnostics[0].to_string();
        assert!(message.contains("duplicate key `a`"), "{message}");
        assert!(message.contains("first defined at t.yaml:1:1"), "{message}");
        assert_eq!(
            parsed.documents[0].get("a").map(|n| n.value.clone()),
            Some(NodeValue::Int(3))
        );
    }

    #[test]
    fn keys_alike_in_length_and_first_bytes_are_not_duplicates() {
        let parsed =
            parse_str("reference_a: 1\nreference_b: 2\nx: {longer_key_1: 1, longer_key_2: 2}\n");
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let parsed = parse_str("x: {longer_key_1: 1, y: 0, longer_key_1: 2}\n");
        assert_eq!(parsed.diagnostics.len(), 1);
        assert!(parsed.diagnostics[0].message.contains("`longer_key_1`"));
    }

    #[test]
    fn merges_mappings_without_overriding_own_keys() {
        let parsed = parse_str("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n");
        let c = parsed.documents[0].get("c").unwrap();
        assert_eq!(c.to_json(), serde_json::json!({"y": 3, "x": 1}));
    }

    #[test]
    fn stops_alias_bombs() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let parsed = parse_str(&text);
        assert!(parsed.fatal);
        assert!(parsed.diagnostics[0]
            .message
            .contains("after expanding aliases"));
    }

    /// A tree as a reviewer checks it: one line per node, its key, span and value.
    fn outline(node: &Node, label: &str, depth: usize, out: &mut String) {
        let Span {
            line,
            col,
            end_line,
            end_col,
        } = node.span;
        let value = match &node.value {
            NodeValue::Seq(_) => "[".to_string(),
            NodeValue::Map(_) => "{".to_string(),
            other => format!("{other:?}"),
        };
        out.push_str(&format!(
            "{}{label} @{line}:{col}-{end_line}:{end_col} {value}\n",
            "  ".repeat(depth)
        ));
        match &node.value {
            NodeValue::Seq(items) => {
                for item in items {
                    outline(item, "-", depth + 1, out);
                }
            }
            NodeValue::Map(entries) => {
                for entry in entries {
                    let key = format!(
                        "{:?} @{}:{}",
                        entry.key.as_str(),
                        entry.key_span.line,
                        entry.key_span.col
                    );
                    outline(&entry.value, &key, depth + 1, out);
                }
            }
            _ => {}
        }
    }

    /// Every document's outline, then every problem, as `validate` prints them.
    fn read(text: &str) -> String {
        let parsed = parse_str(text);
        let mut out = String::new();
        for document in &parsed.documents {
            outline(document, "document", 0, &mut out);
        }
        for diagnostic in &parsed.diagnostics {
            out.push_str(&diagnostic.to_string());
        }
        if parsed.fatal {
            out.push_str("(fatal)\n");
        }
        out
    }

    // The corpus the retired fast reader was once compared on, kept as fixtures: the
    // constructs manifests are written in, with the spans every later error points at.
    #[test]
    fn reads_the_yaml_fixtures() {
        insta::glob!(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/yaml"),
            "*.yaml",
            |path| {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                insta::assert_snapshot!(read(&text));
            }
        );
    }

    #[test]
    fn reads_the_small_cases_at_the_edges_of_everyday_yaml() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/yaml/edges.json"
        );
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let cases: Vec<String> = serde_json::from_str(&text).unwrap_or_default();
        assert!(cases.len() > 100, "{path}");
        let all: String = cases
            .iter()
            .map(|case| format!("=== {case:?}\n{}", read(case)))
            .collect();
        insta::assert_snapshot!(all);
    }

    #[test]
    fn stops_deep_nesting_in_block_and_flow_style() {
        let block: String = (0..200)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        let flow = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        for text in [block, flow] {
            let parsed = parse_str(&text);
            assert!(parsed.fatal);
            let message = &parsed.diagnostics[0].message;
            assert!(
                message.contains("nesting deeper than") || message.contains("recursion limit"),
                "{message}"
            );
        }
    }
}
