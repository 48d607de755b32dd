//! Problems found while loading and validating manifests, and their rendering. Every problem
//! carries where it is (file, line, column, and the source line to underline) and, where it
//! concerns a field, the field path, so a user can fix all of them from one run.

use std::fmt;

use crate::shown::{printable, shorten_to};

/// How bad a problem is: errors fail `validate` (exit 1), warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// A place in a file: 1-based line and column (in characters), the width to underline, and
/// the text of that line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub width: usize,
    pub line_text: String,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Boxed: diagnostics travel in `Result`s, and most of their size is the location.
    pub location: Option<Box<Location>>,
    /// The field path, e.g. `evals.mmlu.testing_criteria[0].operation`.
    pub path: Option<String>,
    /// Further lines: where a duplicate was first defined, a hint.
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub(crate) fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            location: None,
            path: None,
            notes: Vec::new(),
        }
    }

    pub(crate) fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    pub(crate) fn at(mut self, location: Option<Location>) -> Self {
        self.location = location.map(Box::new);
        self
    }

    pub(crate) fn path(mut self, path: impl fmt::Display) -> Self {
        let path = path.to_string();
        self.path = (!path.is_empty()).then_some(path);
        self
    }

    pub(crate) fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    /// Renders in the style of rustc and just: the message, the place, the underlined line,
    /// then the field path and notes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // A message may quote a value of any length (a pasted file as a `type:`): cut.
        writeln!(f, "{label}: {}", shown(&self.message))?;
        let gutter = self
            .location
            .as_ref()
            .map_or(1, |l| l.line.to_string().len());
        let pad = " ".repeat(gutter);
        if let Some(loc) = &self.location {
            writeln!(f, "{pad}--> {}:{}:{}", loc.file, loc.line, loc.column)?;
            if !loc.line_text.is_empty() {
                let (text, column, width) = excerpt(&loc.line_text, loc.column, loc.width);
                writeln!(f, "{pad} |")?;
                writeln!(f, "{} | {}", loc.line, printable(text.trim_end()))?;
                let marker_pad = " ".repeat(column.saturating_sub(1));
                writeln!(f, "{pad} | {marker_pad}{}", "^".repeat(width.max(1)))?;
            }
        }
        if let Some(path) = &self.path {
            writeln!(f, "{pad} = field: {path}")?;
        }
        for note in &self.notes {
            writeln!(f, "{pad} = {}", shown(note))?;
        }
        Ok(())
    }
}

/// Longest message or note shown.
const MESSAGE_CHARS: usize = 500;

/// A message or note for the terminal: it may quote a manifest's or a data file's text.
fn shown(text: &str) -> String {
    printable(&shorten_to(text, MESSAGE_CHARS)).into_owned()
}

/// Widest source excerpt shown; longer lines (minified JSON, generated files) are cut to a
/// window around the column.
const EXCERPT_CHARS: usize = 100;

/// The part of `line` to show, and the column and underline width within it.
fn excerpt(line: &str, column: usize, width: usize) -> (String, usize, usize) {
    let chars: Vec<char> = line
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    if chars.len() <= EXCERPT_CHARS {
        return (chars.into_iter().collect(), column, width);
    }
    let start = column
        .saturating_sub(1)
        .saturating_sub(EXCERPT_CHARS / 2)
        .min(chars.len());
    let end = (start + EXCERPT_CHARS).min(chars.len());
    let mut text = String::new();
    let mut shift = start;
    if start > 0 {
        text.push('…');
        shift -= 1;
    }
    text.extend(&chars[start..end]);
    if end < chars.len() {
        text.push('…');
    }
    let column = column.saturating_sub(shift).max(1);
    let width = width.min(EXCERPT_CHARS.saturating_sub(column) + 2);
    (text, column, width)
}

/// The closest of `candidates` to `found`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    found: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::normalized_damerau_levenshtein(found, c), c))
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The one of `known` that `found` is a typo of: differing in case only, or within two
/// edits. Stricter than `did_you_mean`: a match here turns a value evalctl would pass through
/// into an error.
pub(crate) fn typo_of<'a>(found: &str, known: &[&'a str]) -> Option<&'a str> {
    // Two edits change the length by two at most; a longer value is no typo, and comparing
    // it would cost its length times each name's.
    let close_in_length = |name: &str| found.chars().count().abs_diff(name.chars().count()) <= 2;
    known
        .iter()
        .filter(|name| close_in_length(name))
        .map(|name| (strsim::damerau_levenshtein(found, name), *name))
        .filter(|(edits, name)| *edits <= 2 || found.eq_ignore_ascii_case(name))
        .min_by_key(|(edits, _)| *edits)
        .map(|(_, name)| name)
}

/// `` `a`, `b` or `c` `` for messages that list what was expected.
pub(crate) fn one_of<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| format!("`{i}`")).collect();
    match items.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["operation", "input", "reference", "name"];
        assert_eq!(did_you_mean("operaton", fields), Some("operation"));
        assert_eq!(did_you_mean("colour", fields), None);
    }

    #[test]
    fn cuts_long_lines_to_a_window_around_the_column() {
        let line = format!("{}X{}", "a".repeat(500), "b".repeat(500));
        let (text, column, width) = excerpt(&line, 501, 1);
        assert!(text.chars().count() <= EXCERPT_CHARS + 2);
        assert_eq!(text.chars().nth(column - 1), Some('X'));
        assert_eq!(width, 1);
    }

    #[test]
    fn typos_are_two_edits_or_a_case_away() {
        let known = ["string_check", "custom", "jsonl", "label_model"];
        assert_eq!(typo_of("string_chek", &known), Some("string_check"));
        assert_eq!(typo_of("String_Check", &known), Some("string_check"));
        assert_eq!(typo_of("costum", &known), Some("custom"));
        assert_eq!(typo_of("jsnol", &known), Some("jsonl"));
        assert_eq!(typo_of("azure_ai_evaluator", &known), None);
        assert_eq!(typo_of(&"x".repeat(1 << 20), &known), None);
    }

    #[test]
    fn lists_alternatives_in_prose() {
        assert_eq!(one_of(["eq", "ne", "like"]), "`eq`, `ne` or `like`");
        assert_eq!(one_of(["eq"]), "`eq`");
    }
}
