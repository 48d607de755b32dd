//! A loaded text file and the mapping from positions to `Location`s that diagnostics show.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::diagnostic::Location;

/// A region of a source file: 1-based lines and columns (columns in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub line: usize,
    pub col: usize,
    pub end_line: usize,
    pub end_col: usize,
}

impl Span {
    pub(crate) fn point(line: usize, col: usize) -> Span {
        Span {
            line,
            col,
            end_line: line,
            end_col: col + 1,
        }
    }
}

/// A text file as it was read, with its name as the user should see it.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// The path as shown in messages (relative to where the user pointed evalctl).
    pub display: String,
    /// The path on disk.
    pub path: PathBuf,
    pub text: String,
    /// Where each line starts, found when a line is first shown: most files have nothing to
    /// show.
    line_starts: OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub(crate) fn new(display: String, path: PathBuf, text: String) -> SourceFile {
        SourceFile {
            display,
            path,
            text,
            line_starts: OnceLock::new(),
        }
    }

    /// The text of a 1-based line, without its line break.
    pub(crate) fn line_text(&self, line: usize) -> &str {
        let line_starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let Some(&start) = line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    pub(crate) fn location(&self, span: Span) -> Location {
        let line_text = self.line_text(span.line).to_string();
        let line_len = line_text.chars().count();
        let width = if span.end_line == span.line && span.end_col > span.col {
            span.end_col - span.col
        } else {
            (line_len + 1).saturating_sub(span.col).max(1)
        };
        Location {
            file: self.display.clone(),
            line: span.line,
            column: span.col,
            width,
            line_text,
        }
    }
}
