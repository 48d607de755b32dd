//! What the terminal gets: ANSI colors only when the caller asked for them (it knows about
//! TTYs and `NO_COLOR`), and text from the service or the manifests with control characters
//! escaped, so a name or prompt holding an escape sequence cannot repaint the reviewer's
//! screen or hide a line of the plan.

use std::borrow::Cow;

use crate::shown::shorten_to;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Color {
    Red,
    Green,
    Yellow,
    Magenta,
    Cyan,
    Bold,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Color::Red => "31",
            Color::Green => "32",
            Color::Yellow => "33",
            Color::Magenta => "35",
            Color::Cyan => "36",
            Color::Bold => "1",
        }
    }
}

/// `text` in `color` when `enabled`, else `text` unchanged.
pub(crate) fn paint(text: &str, color: Color, enabled: bool) -> Cow<'_, str> {
    if enabled {
        Cow::Owned(format!("\x1b[{}m{text}\x1b[0m", color.code()))
    } else {
        Cow::Borrowed(text)
    }
}

/// Characters of one value or line shown; the JSON output has everything.
const MAX_SHOWN: usize = 1_000;

/// `text` with control characters (tabs aside) written as escapes such as `\u{1b}`, and cut
/// when longer than a screen can usefully show.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    let text = shorten_to(text, MAX_SHOWN);
    if !text.chars().any(is_unsafe) {
        return text;
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

/// A key in backticks, or as a quoted string when backticks would not delimit it safely.
pub(crate) fn key(text: &str) -> String {
    if text.is_empty() || text.contains('`') || text.chars().any(is_unsafe) {
        serde_json::Value::String(text.to_string()).to_string()
    } else {
        ["`", text, "`"].concat()
    }
}

fn is_unsafe(c: char) -> bool {
    c.is_control() && c != '\t'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_sent() {
        assert_eq!(printable("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(key("evil\x1b"), "\"evil\\u001b\"");
        assert_eq!(key("plain-key"), "`plain-key`");
    }

    #[test]
    fn long_text_is_cut() {
        let long = "x".repeat(5_000);
        let shown = printable(&long);
        assert!(shown.ends_with("… (4000 more characters)"), "{shown}");
    }

    #[test]
    fn no_color_means_no_escape_codes() {
        assert_eq!(paint("x", Color::Red, false), "x");
        assert_eq!(paint("x", Color::Red, true), "\x1b[31mx\x1b[0m");
    }
}
