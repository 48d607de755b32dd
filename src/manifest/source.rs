//! A loaded text file and the mapping from positions to `Location`s that diagnostics show.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::diagnostic::Location;

/// A region of a source file: 1-based lines and columns (columns in characters). Every node
/// of every YAML tree holds two, so they are kept small: a manifest has at most 4 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub line: u32,
    pub col: u32,
    pub end_line: u32,
    pub end_col: u32,
}

/// A line or column as a span holds it (saturating: a larger one cannot be read anyway).
fn position(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Span {
    pub(crate) fn new(line: usize, col: usize, end_line: usize, end_col: usize) -> Span {
        Span {
            line: position(line),
            col: position(col),
            end_line: position(end_line),
            end_col: position(end_col),
        }
    }

    pub(crate) fn point(line: usize, col: usize) -> Span {
        Span::new(line, col, line, col + 1)
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
        // Lines as YAML counts them: a lone `\r` ends one too, as `\n` and `\r\n` do.
        let line_starts = self.line_starts.get_or_init(|| {
            let bytes = self.text.as_bytes();
            std::iter::once(0)
                .chain(bytes.iter().enumerate().filter_map(|(i, &b)| {
                    let ends = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
                    ends.then_some(i + 1)
                }))
                .collect()
        });
        let Some(&start) = line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    pub(crate) fn location(&self, span: Span) -> Location {
        let (line, col) = (span.line as usize, span.col as usize);
        let line_text = self.line_text(line).to_string();
        let line_len = line_text.chars().count();
        let width = if span.end_line == span.line && span.end_col > span.col {
            (span.end_col - span.col) as usize
        } else {
            (line_len + 1).saturating_sub(col).max(1)
        };
        Location {
            file: self.display.clone(),
            line,
            column: col,
            width,
            line_text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SourceFile;

    #[test]
    fn a_lone_carriage_return_ends_a_line_as_yaml_has_it() {
        let source = SourceFile::new(
            "a.yaml".into(),
            "a.yaml".into(),
            "a: 1\rb: [\r\nc: 2\n".into(),
        );
        assert_eq!(source.line_text(1), "a: 1");
        assert_eq!(source.line_text(2), "b: [");
        assert_eq!(source.line_text(3), "c: 2");
    }
}
