//! The service's `{{ namespace.path }}` templates, shared by the manifest validator (which checks
//! that every reference names a field that will exist) and the emulator (which renders them
//! against a data row). evalctl never rewrites these templates; they belong to the service.

use serde_json::Value;

/// One `{{ ... }}` occurrence inside a template string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference<'a> {
    /// Byte range of the whole `{{ ... }}` in the template string.
    pub start: usize,
    pub end: usize,
    /// The trimmed expression between the braces, e.g. `item.answer`.
    pub expr: &'a str,
    /// The expression split into segments: `item.choices[0].text` -> `item`, `choices`, `0`, `text`.
    pub segments: Vec<&'a str>,
}

impl Reference<'_> {
    /// The namespace, e.g. `item` or `sample`.
    pub fn namespace(&self) -> &str {
        self.segments.first().copied().unwrap_or("")
    }
}

/// Finds every `{{ ... }}` in `text`. An unterminated `{{` is not a reference (the service
/// treats it as literal text).
pub fn references(text: &str) -> Vec<Reference<'_>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = find_pair(text, from, b'{') {
        let Some(close) = find_pair(text, open + 2, b'}') else {
            break;
        };
        let expr = text[open + 2..close].trim();
        found.push(Reference {
            start: open,
            end: close + 2,
            segments: split_path(expr),
            expr,
        });
        from = close + 2;
    }
    found
}

/// Where `{{` (or `}}`) first occurs in `text` at or after `from`. Templates are checked by
/// the thousand in a large project: a byte search, rather than a general substring search
/// set up anew for every string.
fn find_pair(text: &str, from: usize, brace: u8) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = from;
    while let Some(i) = bytes.get(at..)?.iter().position(|&b| b == brace) {
        if bytes.get(at + i + 1) == Some(&brace) {
            return Some(at + i);
        }
        at += i + 1;
    }
    None
}

/// Splits `a.b[0].c` into `a`, `b`, `0`, `c`.
fn split_path(expr: &str) -> Vec<&str> {
    expr.split(['.', '[', ']'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_matches(['"', '\'']))
        .collect()
}

/// Looks a reference up in a JSON context such as `{"item": {...}, "sample": {...}}`.
pub fn lookup<'a>(context: &'a Value, segments: &[&str]) -> Option<&'a Value> {
    segments
        .iter()
        .try_fold(context, |value, segment| match value {
            Value::Object(map) => map.get(*segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

/// Renders a template against a context. Strings are inserted as they are, other values as
/// JSON; a reference that resolves to nothing renders as the empty string, as the service does
/// for missing optional fields.
pub fn render(text: &str, context: &Value) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for reference in references(text) {
        out.push_str(&text[last..reference.start]);
        match lookup(context, &reference.segments) {
            Some(Value::String(s)) => out.push_str(s),
            Some(Value::Null) | None => {}
            Some(other) => out.push_str(&other.to_string()),
        }
        last = reference.end;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_references_with_and_without_spaces() {
        let refs = references("Q: {{item.question}} A: {{ sample.output_text }} {{ unterminated");
        let exprs: Vec<_> = refs.iter().map(|r| r.expr).collect();
        assert_eq!(exprs, ["item.question", "sample.output_text"]);
        assert_eq!(refs[1].namespace(), "sample");
        let odd = references("a{b {{{item.x}}} }{ {{item.y}}}");
        let spans: Vec<_> = odd.iter().map(|r| (r.start, r.end, r.expr)).collect();
        assert_eq!(spans, [(4, 15, "{item.x"), (20, 30, "item.y")]);
    }

    #[test]
    fn splits_indexes_into_segments() {
        let refs = references("{{sample.choices[0].message.content}}");
        assert_eq!(
            refs[0].segments,
            ["sample", "choices", "0", "message", "content"]
        );
    }

    #[test]
    fn renders_strings_numbers_and_missing_fields() {
        let ctx = json!({"item": {"a": "x", "n": 3, "nested": {"b": [1, 2]}}});
        assert_eq!(
            render(
                "{{item.a}}-{{ item.n }}-{{item.nested.b[1]}}-{{item.none}}",
                &ctx
            ),
            "x-3-2-"
        );
    }
}
