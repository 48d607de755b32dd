//! Text from manifests and from the service as people are shown it: control characters
//! escaped, so a name or a row holding an escape sequence cannot repaint the screen or forge
//! a line; long values cut, saying how much was left out (a value may be a pasted file or a
//! hostile answer); and counts with their nouns in agreement.

use std::borrow::Cow;

/// Characters of one value shown in a message or a human output.
pub(crate) const MAX_SHOWN: usize = 200;

/// `text`, or its first `MAX_SHOWN` characters and how many more there were.
pub(crate) fn shorten(text: &str) -> Cow<'_, str> {
    shorten_to(text, MAX_SHOWN)
}

/// `text`, or its first `max` characters and how many more there were.
pub(crate) fn shorten_to(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => {
            let more = count(
                text[cut..].chars().count(),
                "more character",
                "more characters",
            );
            Cow::Owned(format!("{}… ({more})", &text[..cut]))
        }
    }
}

/// `text` with control characters (tabs aside) written as escapes such as `\u{1b}`.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if is_unsafe(c) {
                    c.escape_debug().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

fn is_unsafe(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// A string as a JSON literal: quoted, with newlines and control characters escaped, and
/// cut when long.
pub(crate) fn quoted(text: &str) -> String {
    json_escaped(&serde_json::Value::String(shorten(text).into_owned()).to_string())
}

/// JSON text with DEL and the C1 controls (U+007F to U+009F) escaped too: serde_json leaves
/// them raw, and a terminal acts on some (U+009B starts a control sequence).
pub(crate) fn json_escaped(json: &str) -> String {
    json.chars()
        .map(|c| match c {
            '\u{7f}'..='\u{9f}' => format!("\\u{:04x}", u32::from(c)),
            c => c.to_string(),
        })
        .collect()
}

/// `1 run`, `3 runs`: a count and its noun, agreeing.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_and_says_how_much_is_left_out() {
        assert_eq!(shorten_to("short", 5), "short");
        assert_eq!(shorten_to("ééééé", 3), "ééé… (2 more characters)");
        let long = "x".repeat(1_048_576);
        let shown = shorten(&long);
        assert!(shown.len() < 300, "{}", shown.len());
        assert!(shown.ends_with("(1048376 more characters)"), "{shown}");
    }
}
