//! A problem found inside one YAML document, before it is tied to its file.

use super::diagnostic::{Diagnostic, Severity};
use super::node::FieldPath;
use super::source::{SourceFile, Span};

#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub severity: Severity,
    pub span: Span,
    pub path: FieldPath,
    pub message: String,
    pub notes: Vec<String>,
}

impl Finding {
    /// `path` is a `&FieldPath` or a `&Trail`.
    pub(crate) fn error(
        span: Span,
        path: impl Into<FieldPath>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            severity: Severity::Error,
            span,
            path: path.into(),
            message: message.into(),
            notes: Vec::new(),
        }
    }

    pub(crate) fn warning(
        span: Span,
        path: impl Into<FieldPath>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(span, path, message)
        }
    }

    pub(crate) fn note(mut self, note: impl Into<String>) -> Finding {
        self.notes.push(note.into());
        self
    }

    pub(crate) fn into_diagnostic(self, source: &SourceFile) -> Diagnostic {
        let mut diagnostic = match self.severity {
            Severity::Error => Diagnostic::error(self.message),
            Severity::Warning => Diagnostic::warning(self.message),
        }
        .at(Some(source.location(self.span)))
        .path(&self.path);
        diagnostic.notes = self.notes;
        diagnostic
    }
}
