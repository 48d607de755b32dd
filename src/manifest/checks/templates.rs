//! Template references (`{{item.x}}`, `{{sample.output_text}}`): every reference must name a
//! field that will exist when the service renders it, so a typo fails `validate` instead of
//! grading every row as empty text.

use serde_json::{Map, Value};

use crate::manifest::diagnostic::{did_you_mean, one_of};
use crate::manifest::finding::Finding;
use crate::manifest::node::{FieldPath, Node};
use crate::manifest::source::{SourceFile, Span};
use crate::template::references;

/// Fields of the sample namespace the service provides (EVALS-API §4, observed schema), and
/// those Foundry projects add for agent targets (FOUNDRY.md §2.1).
const SAMPLE_FIELDS: [&str; 8] = [
    "output_text",
    "output_json",
    "output_tools",
    "choices",
    "model",
    "output_items",
    "tool_calls",
    "tool_definitions",
];

/// Which namespaces a template may use, and what `item` looks like.
pub(crate) struct Namespaces<'a> {
    /// The eval's `item_schema`, when it is a custom config (else `item` is unchecked).
    pub item_schema: Option<&'a Value>,
    /// Whether `sample.*` is available, and if not, the reason to show.
    pub sample: SampleAccess,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SampleAccess {
    Available,
    /// Allowed because a run samples a model, but the eval's schema will not declare it.
    OnlyThroughSamplingRun,
    Unavailable,
    /// Run input templates render before any sample exists.
    NotYet,
}

/// Checks every reference in one template string found at `path`.
pub(crate) fn check(
    text: &str,
    node: &Node,
    path: &FieldPath,
    ns: &Namespaces<'_>,
    source: &SourceFile,
    out: &mut Vec<Finding>,
) {
    for reference in references(text) {
        let problem = match reference.namespace() {
            "item" => check_item(&reference.segments[1..], ns.item_schema),
            "sample" => check_sample(&reference.segments[1..], ns.sample),
            other => Some(
                Problem::error(format!(
                    "unknown template namespace `{other}` in `{{{{{}}}}}`",
                    reference.expr
                ))
                .note(
                    "templates can use `item` (the data row) and `sample` (the model's output)"
                        .to_string(),
                ),
            ),
        };
        if let Some(problem) = problem {
            let span = reference_span(source, node.span, reference.expr);
            let mut finding = match problem.warning {
                false => Finding::error(span, path, problem.message),
                true => Finding::warning(span, path, problem.message),
            };
            finding.notes = problem.notes;
            out.push(finding);
        }
    }
}

struct Problem {
    message: String,
    notes: Vec<String>,
    warning: bool,
}

impl Problem {
    fn error(message: String) -> Problem {
        Problem {
            message,
            notes: Vec::new(),
            warning: false,
        }
    }

    fn note(mut self, note: String) -> Problem {
        self.notes.push(note);
        self
    }
}

/// Points at the expression inside the scalar when it can be found on the scalar's lines.
fn reference_span(source: &SourceFile, scalar: Span, expr: &str) -> Span {
    let first = scalar.line as usize;
    for line in first..=(scalar.end_line as usize).max(first) {
        let text = source.line_text(line);
        let from = if line == first {
            (scalar.col as usize).saturating_sub(1)
        } else {
            0
        };
        let skip: usize = text.chars().take(from).map(char::len_utf8).sum();
        if let Some(byte) = text.get(skip..).and_then(|t| t.find(expr)) {
            let col = text[..skip + byte].chars().count() + 1;
            return Span::new(line, col, line, col + expr.chars().count());
        }
    }
    scalar
}

fn check_sample(segments: &[&str], access: SampleAccess) -> Option<Problem> {
    let field = segments.first().copied().unwrap_or("");
    match access {
        SampleAccess::NotYet => {
            return Some(Problem::error("`sample` is not available here: run input messages are rendered before the model answers".into()));
        }
        SampleAccess::Unavailable => {
            return Some(Problem::error(format!("`sample.{field}` is used, but this eval has no samples"))
                .note("help: set `include_sample_schema: true` in `data_source_config`, or add a `completions` or `responses` run".into()));
        }
        _ => {}
    }
    if !SAMPLE_FIELDS.contains(&field) {
        let problem = Problem::error(format!("unknown sample field `{field}`"))
            .note(format!("expected one of {}", one_of(SAMPLE_FIELDS)));
        return Some(match did_you_mean(field, SAMPLE_FIELDS) {
            Some(close) => problem.note(format!("help: did you mean `sample.{close}`?")),
            None => problem,
        });
    }
    (access == SampleAccess::OnlyThroughSamplingRun).then(|| Problem {
        message: format!(
            "`sample.{field}` relies on a sampling run, but `include_sample_schema` is not `true`"
        ),
        notes: vec![
            "help: set `include_sample_schema: true` so the eval's schema declares `sample`".into(),
        ],
        warning: true,
    })
}

/// Walks `item_schema` along the reference. Stops (accepting) where the schema does not say
/// what is inside (no `properties`, combinators, references it cannot follow).
fn check_item(segments: &[&str], item_schema: Option<&Value>) -> Option<Problem> {
    let root = item_schema?;
    let mut schema = root;
    // The path walked so far, as messages show it: only built for a problem.
    let walked = |depth: usize| {
        std::iter::once("item")
            .chain(segments[..depth].iter().copied())
            .collect::<Vec<_>>()
            .join(".")
    };
    for (depth, &segment) in segments.iter().enumerate() {
        schema = resolve_local(root, schema);
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            match properties.get(segment) {
                Some(next) => schema = next,
                None => match schema.get("additionalProperties").filter(|a| a.is_object()) {
                    Some(next) => schema = next,
                    None => return Some(absent_field(&walked(depth), segment, properties)),
                },
            }
        } else if let Some(items) = schema
            .get("items")
            .filter(|_| segment.parse::<usize>().is_ok())
        {
            schema = items;
        } else if let Some(kind) = schema
            .get("type")
            .and_then(Value::as_str)
            .filter(|t| !["object", "array"].contains(t))
        {
            return Some(Problem::error(format!(
                "`{}` is {kind} in `item_schema`; it has no field `{segment}`",
                walked(depth)
            )));
        } else {
            return None;
        }
    }
    None
}

fn absent_field(walked: &str, segment: &str, properties: &Map<String, Value>) -> Problem {
    let names: Vec<&str> = properties.keys().map(String::as_str).collect();
    let problem = Problem::error(format!(
        "`{walked}.{segment}` is not a field of `item_schema`"
    ));
    match did_you_mean(segment, names.iter().copied()) {
        Some(close) => problem.note(format!("help: did you mean `{walked}.{close}`?")),
        None if names.is_empty() => problem,
        None => problem.note(format!("`{walked}` has {}", one_of(names.iter().copied()))),
    }
}

fn resolve_local<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
        .unwrap_or(schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "answer": {"type": "string"},
            "meta": {"type": "object", "properties": {"lang": {"type": "string"}}},
            "free": {"type": "object"}
        }})
    }

    fn item(path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('.').collect();
        check_item(&segments, Some(&schema()))
            .map(|p| format!("{} {}", p.message, p.notes.join(" ")))
    }

    #[test]
    fn accepts_declared_and_open_fields() {
        assert_eq!(item("answer"), None);
        assert_eq!(item("meta.lang"), None);
        assert_eq!(item("free.anything"), None);
    }

    #[test]
    fn names_absent_fields_with_a_suggestion() {
        let message = item("anwser").unwrap_or_default();
        assert!(
            message.contains("`item.anwser` is not a field"),
            "{message}"
        );
        assert!(message.contains("did you mean `item.answer`"), "{message}");
        assert!(item("meta.langs")
            .unwrap_or_default()
            .contains("item.meta.lang"));
        assert!(item("answer.x").unwrap_or_default().contains("is string"));
    }
}
