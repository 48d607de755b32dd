//! `validate`'s problems for tools: one JSON document, or GitHub Actions workflow commands
//! (`::error file=...,line=...,col=...::message`) that annotate the pull request's files.

use std::io::{self, Write};

use serde_json::json;

use crate::manifest::{Diagnostic, Severity};

/// The problems and the verdict as one JSON document.
pub fn diagnostics_json(
    diagnostics: &[Diagnostic],
    project: Option<&str>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let count = |severity| {
        diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    };
    let listed: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|d| {
            let location = d.location.as_deref();
            json!({
                "severity": severity(d.severity),
                "message": d.message,
                "file": location.map(|l| &l.file),
                "line": location.map(|l| l.line),
                "column": location.map(|l| l.column),
                "path": d.path,
                "notes": d.notes,
            })
        })
        .collect();
    let document = json!({
        "valid": project.is_some(),
        "project": project,
        "errors": count(Severity::Error),
        "warnings": count(Severity::Warning),
        "diagnostics": listed,
    });
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// One workflow command per problem. The message carries the field path and notes on
/// further lines; values are escaped as the runner reads them, so a message can neither end
/// the command early nor start another.
pub fn diagnostics_github(diagnostics: &[Diagnostic], out: &mut dyn Write) -> io::Result<()> {
    for diagnostic in diagnostics {
        let mut properties = Vec::new();
        if let Some(location) = diagnostic.location.as_deref() {
            properties.push(format!("file={}", property(&location.file)));
            properties.push(format!("line={}", location.line));
            properties.push(format!("col={}", location.column));
        }
        properties.push(format!(
            "title={}",
            property(&format!(
                "evalctl: {}",
                diagnostic.path.as_deref().unwrap_or("manifest")
            ))
        ));
        let mut message = diagnostic.message.clone();
        for note in &diagnostic.notes {
            message.push('\n');
            message.push_str(note);
        }
        writeln!(
            out,
            "::{} {}::{}",
            severity(diagnostic.severity),
            properties.join(","),
            data(&message)
        )?;
    }
    Ok(())
}

/// A command's message, escaped as the Actions runner unescapes it.
fn data(text: &str) -> String {
    // Line by line: line breaks become the runner's `%0A`, other control characters escapes.
    text.split('\n')
        .map(|line| crate::shown::printable(line).replace('%', "%25"))
        .collect::<Vec<_>>()
        .join("%0A")
}

/// A command's property value: also `:` and `,`, which would end it.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_properties_cannot_break_out_of_their_command() {
        assert_eq!(data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(data("a\r\u{1b}[2J"), "a\\r\\u{1b}[2J");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
