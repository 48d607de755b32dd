//! What the terminal gets: ANSI colors only when the caller asked for them (it knows about
//! TTYs and `NO_COLOR`), and text from the service or the manifests with control characters
//! escaped, so a name or prompt holding an escape sequence cannot repaint the reviewer's
//! screen or hide a line of the plan.

use std::borrow::Cow;

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

pub(crate) use crate::shown::printable;

/// A key in backticks, or as a quoted string when backticks would not delimit it safely.
pub(crate) fn key(text: &str) -> String {
    if text.is_empty() || text.contains('`') || printable(text) != text {
        serde_json::Value::String(text.to_string()).to_string()
    } else {
        ["`", text, "`"].concat()
    }
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
    fn no_color_means_no_escape_codes() {
        assert_eq!(paint("x", Color::Red, false), "x");
        assert_eq!(paint("x", Color::Red, true), "\x1b[31mx\x1b[0m");
    }
}
