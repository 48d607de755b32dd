//! One changed field as a reviewer reads it: short scalars inline (`"eq" -> "ne"`),
//! multi-line strings and JSON objects and arrays as a line diff of their text, so a long
//! prompt changed in one line shows that line and not the whole prompt twice.

use serde_json::Value;

use super::outline::outline;
use super::text_diff::{self, DiffLine, LineKind};
use crate::plan::Change;
use crate::shown::shorten_to;

/// Shown for the side of a change where the field does not exist.
pub(crate) const ABSENT: &str = "(absent)";

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldChange {
    pub path: String,
    pub body: ChangeBody,
    /// The field cannot change in place: this change is why the eval is replaced.
    pub forces_replacement: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ChangeBody {
    /// Both sides as one-line JSON (strings quoted) or `ABSENT`.
    Inline {
        old: String,
        new: String,
    },
    Diff(Vec<DiffLine>),
}

impl FieldChange {
    pub(crate) fn new(path: &str, old: Option<&Value>, new: Option<&Value>) -> FieldChange {
        FieldChange {
            path: path.to_string(),
            body: body(old, new),
            forces_replacement: false,
        }
    }

    pub(crate) fn from_change(change: &Change) -> FieldChange {
        FieldChange::new(&change.path, change.old.as_ref(), change.new.as_ref())
    }

    pub(crate) fn forcing(mut self) -> FieldChange {
        self.forces_replacement = true;
        self
    }
}

/// A value added or removed as a whole (a new schema property, a new grader) is shown by
/// itself, as one line when short, else as its lines marked `+` or `-`: there is nothing to
/// diff it against, and a hunk header would only say so.
const SHORT: usize = 100;

fn body(old: Option<&Value>, new: Option<&Value>) -> ChangeBody {
    match (old, new) {
        (None, Some(value)) => return whole(value, LineKind::Added, |text| (ABSENT.into(), text)),
        (Some(value), None) => {
            return whole(value, LineKind::Removed, |text| (text, ABSENT.into()))
        }
        _ => {}
    }
    if needs_diff(old) || needs_diff(new) {
        let lines = text_diff::unified(&as_text(old), &as_text(new));
        if !lines.is_empty() {
            return ChangeBody::Diff(lines);
        }
    }
    let (old, new) = around_the_difference(inline(old), inline(new));
    ChangeBody::Inline { old, new }
}

/// One-line values longer than this are shown as a window where they first differ.
const WINDOW: usize = 160;

/// Both sides from a little before where they first differ, each cut to `WINDOW`, so a
/// long one-line prompt changed near its end shows the change, not two equal beginnings.
fn around_the_difference(old: String, new: String) -> (String, String) {
    if old.chars().count() <= WINDOW && new.chars().count() <= WINDOW {
        return (old, new);
    }
    let same = old
        .chars()
        .zip(new.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let start = same.saturating_sub(WINDOW / 4);
    let window = |text: &str| {
        let rest: String = text.chars().skip(start).collect();
        let lead = if start > 0 { "…" } else { "" };
        format!("{lead}{}", shorten_to(&rest, WINDOW))
    };
    (window(&old), window(&new))
}

fn whole(value: &Value, kind: LineKind, sides: fn(String) -> (String, String)) -> ChangeBody {
    let one_line = value.to_string();
    if !needs_diff(Some(value)) || one_line.chars().count() <= SHORT {
        let (old, new) = sides(one_line);
        return ChangeBody::Inline { old, new };
    }
    let lines = match value {
        Value::String(text) => text.lines().map(String::from).collect(),
        other => outline(other, 0),
    };
    ChangeBody::Diff(
        lines
            .into_iter()
            .map(|text| DiffLine { kind, text })
            .collect(),
    )
}

fn needs_diff(value: Option<&Value>) -> bool {
    match value {
        Some(Value::String(s)) => s.contains('\n'),
        Some(Value::Object(_) | Value::Array(_)) => true,
        _ => false,
    }
}

/// The text a line diff compares: strings as written, JSON pretty-printed, nothing as empty.
fn as_text(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string()),
    }
}

/// One-line JSON (a string gets quotes and escapes), or `ABSENT`.
pub(crate) fn inline(value: Option<&Value>) -> String {
    value.map_or_else(|| ABSENT.to_string(), Value::to_string)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn short_scalars_stay_inline() {
        let change = FieldChange::new("operation", Some(&json!("eq")), Some(&json!("ne")));
        let expected = ChangeBody::Inline {
            old: "\"eq\"".into(),
            new: "\"ne\"".into(),
        };
        assert_eq!(change.body, expected);
        let added = FieldChange::new("x", None, Some(&json!(3)));
        let expected = ChangeBody::Inline {
            old: ABSENT.into(),
            new: "3".into(),
        };
        assert_eq!(added.body, expected);
    }

    #[test]
    fn objects_and_multi_line_strings_are_diffed() {
        let objects = FieldChange::new("c", Some(&json!({"a": 1})), Some(&json!({"a": 2})));
        assert!(matches!(objects.body, ChangeBody::Diff(_)));
        let text = FieldChange::new("p", Some(&json!("a\nb")), Some(&json!("a\nc")));
        assert!(matches!(text.body, ChangeBody::Diff(_)));
    }

    #[test]
    fn a_value_added_or_removed_whole_is_shown_by_itself_not_as_a_hunk() {
        let property = FieldChange::new("p.city", None, Some(&json!({"type": "string"})));
        let expected = ChangeBody::Inline {
            old: ABSENT.into(),
            new: "{\"type\":\"string\"}".into(),
        };
        assert_eq!(property.body, expected);
        let long = json!({"type": "string_check", "name": "a long grader name, longer than a line", "input": "{{item.a}}", "reference": "{{item.b}}"});
        let ChangeBody::Diff(lines) = FieldChange::new("g", Some(&long), None).body else {
            panic!("a long value takes lines");
        };
        assert!(
            lines.iter().all(|l| l.kind == LineKind::Removed),
            "{lines:?}"
        );
        assert_eq!(lines[0].text, "type: \"string_check\"");
    }

    #[test]
    fn a_long_one_line_value_is_shown_where_it_changed() {
        let head = "Grade the answer. ".repeat(30);
        let change = FieldChange::new(
            "prompt",
            Some(&json!(format!("{head}Be strict."))),
            Some(&json!(format!("{head}Be lenient."))),
        );
        let ChangeBody::Inline { old, new } = change.body else {
            panic!("one line stays inline");
        };
        assert!(old.starts_with('…') && old.contains("Be strict."), "{old}");
        assert!(new.starts_with('…') && new.contains("Be lenient."), "{new}");
        assert!(new.chars().count() < 200, "{new}");
    }

    #[test]
    fn a_change_in_the_final_newline_alone_is_shown_inline() {
        let change = FieldChange::new("p", Some(&json!("a\nb")), Some(&json!("a\nb\n")));
        let expected = ChangeBody::Inline {
            old: "\"a\\nb\"".into(),
            new: "\"a\\nb\\n\"".into(),
        };
        assert_eq!(change.body, expected);
    }
}
