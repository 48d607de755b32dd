//! A JSON value as a reviewer reads it: indented like the YAML manifests it came from, one
//! field a line, strings quoted, short lists of scalars on one line, and multi-line strings
//! (prompts) as blocks of their own lines rather than one line of `\n`s. The lines read as
//! YAML, so a create shows what a manifest would say.

use serde_json::Value;

/// Lists of scalars up to this many characters stay on one line.
const INLINE: usize = 80;
/// Mappings of scalars up to this many characters stay on one line.
const INLINE_MAPPING: usize = 60;

/// The lines of `value` at `indent` spaces. A scalar is one line.
pub(crate) fn outline(value: &Value, indent: usize) -> Vec<String> {
    lines_of(value, indent, Style::Shown)
}

/// The lines of `value` as a manifest file holds them: YAML that reads back to exactly
/// `value` (`evalctl import` writes it), so a multi-line string is a block only where the
/// block gives back every character, and quoted otherwise.
pub(crate) fn manifest_lines(value: &Value, indent: usize) -> Vec<String> {
    lines_of(value, indent, Style::Exact)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// For a reviewer: prompts as blocks of their lines.
    Shown,
    /// For a file read back: blocks only where they are exact.
    Exact,
}

fn lines_of(value: &Value, indent: usize, style: Style) -> Vec<String> {
    let mut lines = Vec::new();
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, field) in map {
                push_field(&mut lines, indent, &key_text(key), field, style);
            }
        }
        Value::Array(items) if !items.is_empty() && inline(value).is_none() => {
            for item in items {
                push_item(&mut lines, indent, item, style);
            }
        }
        other => lines.push(format!("{}{}", pad(indent), scalar(other))),
    }
    lines
}

/// A multi-line string as a block: its header (`|` or `|-`) and its lines, when `style`
/// allows one for `text`.
fn block(text: &str, style: Style) -> Option<(&'static str, Vec<&str>)> {
    if !text.contains('\n') {
        return None;
    }
    if style == Style::Shown {
        return Some(("|", text.lines().collect()));
    }
    // `|` keeps one final line break, `|-` none; leading blanks, trailing blanks and
    // control characters would not come back as they were.
    let (header, body) = match text.strip_suffix('\n') {
        Some(body) if !body.ends_with('\n') => ("|", body),
        Some(_) => return None,
        None => ("|-", text),
    };
    let lines: Vec<&str> = body.split('\n').collect();
    let exact = lines.first().is_some_and(|first| !first.is_empty())
        && lines.iter().all(|line| {
            !line.starts_with([' ', '\t'])
                && !line.ends_with([' ', '\t'])
                && !line.chars().any(|c| c.is_control() && c != '\t')
        });
    exact.then_some((header, lines))
}

/// A block's lines under `at` plus `extra` spaces; in a file, an empty line stays empty.
fn push_block(lines: &mut Vec<String>, at: &str, extra: &str, body: &[&str], style: Style) {
    lines.extend(
        body.iter()
            .map(|line| match line.is_empty() && style == Style::Exact {
                true => String::new(),
                false => format!("{at}{extra}{line}"),
            }),
    );
}

/// `label: value`, with the value on the same line when it fits there.
fn push_field(lines: &mut Vec<String>, indent: usize, label: &str, value: &Value, style: Style) {
    let at = pad(indent);
    match value {
        Value::String(text) if block(text, style).is_some() => {
            let (header, body) = block(text, style).unwrap_or_default();
            lines.push(format!("{at}{label}: {header}"));
            push_block(lines, &at, "  ", &body, style);
        }
        Value::Object(map) if !map.is_empty() => match inline(value) {
            Some(one_line) => lines.push(format!("{at}{label}: {one_line}")),
            None => {
                lines.push(format!("{at}{label}:"));
                lines.extend(lines_of(value, indent + 2, style));
            }
        },
        Value::Array(items) if !items.is_empty() => match inline(value) {
            Some(one_line) => lines.push(format!("{at}{label}: {one_line}")),
            None => {
                lines.push(format!("{at}{label}:"));
                lines.extend(lines_of(value, indent + 2, style));
            }
        },
        scalar_value => lines.push(format!("{at}{label}: {}", scalar(scalar_value))),
    }
}

/// `- item`: an object's first field on the dash's line, the others under it.
fn push_item(lines: &mut Vec<String>, indent: usize, item: &Value, style: Style) {
    let at = pad(indent);
    let nested = match item {
        Value::Object(map) if !map.is_empty() => lines_of(item, indent + 2, style),
        Value::String(text) if block(text, style).is_some() => {
            let (header, body) = block(text, style).unwrap_or_default();
            lines.push(format!("{at}- {header}"));
            push_block(lines, &at, "    ", &body, style);
            return;
        }
        Value::Array(_)
            if inline(item).is_none() && item.as_array().is_some_and(|a| !a.is_empty()) =>
        {
            lines.push(format!("{at}-"));
            lines.extend(lines_of(item, indent + 2, style));
            return;
        }
        other => {
            let shown = inline(other).unwrap_or_else(|| scalar(other));
            lines.push(format!("{at}- {shown}"));
            return;
        }
    };
    for (i, line) in nested.into_iter().enumerate() {
        if i == 0 {
            lines.push(format!("{at}- {}", &line[indent + 2..]));
        } else {
            lines.push(line);
        }
    }
}

/// A list of scalars, or a small mapping of scalars (`{type: "string"}`, as a schema's
/// properties are), as one line, when it is short.
fn inline(value: &Value) -> Option<String> {
    let is_scalar = |v: &Value| !matches!(v, Value::Object(_) | Value::Array(_));
    let text = match value {
        Value::Array(items) if items.iter().all(is_scalar) => format!(
            "[{}]",
            items.iter().map(scalar).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) if map.values().all(is_scalar) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(key, field)| format!("{}: {}", key_text(key), scalar(field)))
                .collect();
            let text = format!("{{{}}}", fields.join(", "));
            return (text.chars().count() <= INLINE_MAPPING).then_some(text);
        }
        _ => return None,
    };
    (text.chars().count() <= INLINE).then_some(text)
}

/// A scalar (or an empty object or list) as JSON: strings quoted, so `"1"` and `1` differ.
fn scalar(value: &Value) -> String {
    value.to_string()
}

/// A key as written plainly when YAML would read it back the same, else quoted.
fn key_text(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
        && !key.starts_with([' ', '-'])
        && !key.ends_with(' ');
    if plain {
        key.to_string()
    } else {
        Value::String(key.to_string()).to_string()
    }
}

fn pad(indent: usize) -> String {
    " ".repeat(indent)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_like_the_manifest_it_came_from() {
        let grader = json!({
            "type": "label_model",
            "name": "judge",
            "input": [
                {"role": "system", "content": "Be strict.\nReply with one word."},
                {"role": "user", "content": "{{item.question}}"}
            ],
            "labels": ["correct", "incorrect"],
            "passing_labels": ["correct"],
            "metadata": {},
            "weird key:": 1
        });
        assert_eq!(
            outline(&grader, 0).join("\n"),
            r#"type: "label_model"
name: "judge"
input:
  - role: "system"
    content: |
      Be strict.
      Reply with one word.
  - role: "user"
    content: "{{item.question}}"
labels: ["correct", "incorrect"]
passing_labels: ["correct"]
metadata: {}
"weird key:": 1"#
        );
    }

    #[test]
    fn long_lists_and_nested_lists_take_a_line_an_item() {
        let long: Vec<String> = (0..20).map(|i| format!("property_{i}")).collect();
        let lines = outline(&json!({"required": long, "m": [[1, 2], [3]]}), 2);
        assert_eq!(lines[0], "  required:");
        assert_eq!(lines[1], "    - \"property_0\"");
        assert!(lines.contains(&"  m:".to_string()));
        assert!(lines.contains(&"    - [1, 2]".to_string()));
    }
}
