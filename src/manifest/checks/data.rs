//! Run data on disk (`source: {type: file, path}`) and inline rows (`file_content`): paths
//! must stay inside the project (symlinks included), files must exist and be JSONL with one
//! `{"item": ..., "sample"?: ...}` object per line, and every `item` must match the eval's
//! `item_schema`, checked with a real JSON Schema validator. A bad row in a file is reported
//! with the data file's name and line.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::manifest::diagnostic::{Diagnostic, Location};
use crate::manifest::load::read_text;
use crate::shown::count;

/// At most this many row problems are listed per data file and eval; the rest are counted.
const MAX_ROW_PROBLEMS: usize = 10;
/// JSONL data can be large, but not unbounded: the service's own upload limit is lower.
const MAX_DATA_BYTES: u64 = 1024 * 1024 * 1024;

/// A data file a run uploads: what the plan needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// Canonical path on disk.
    pub path: PathBuf,
    /// As shown to users (`examples/data/mmlu.jsonl`).
    pub display: String,
    /// Hex SHA-256 of the bytes: the content identity used by plans and upload dedup.
    pub sha256: String,
    pub bytes: u64,
    pub rows: usize,
}

/// A parsed data file: its rows' `item`s with their line numbers.
pub(crate) struct Rows {
    pub file: DataFile,
    text: String,
    items: Vec<(usize, Value)>,
}

impl Rows {
    fn location(&self, line: usize) -> Location {
        let line_text = self.text.lines().nth(line - 1).unwrap_or("").to_string();
        Location {
            file: self.file.display.clone(),
            line,
            column: 1,
            width: 1,
            line_text,
        }
    }
}

/// Resolves a `file` source path written in `manifest_dir` (canonical) against the project
/// root (canonical). Returns the canonical path and how to show it.
pub(crate) fn resolve(
    manifest_dir: &Path,
    written: &str,
    root: &Path,
    root_display: &str,
) -> Result<(PathBuf, String), String> {
    let relative = Path::new(written);
    if relative.is_absolute() {
        return Err(format!("data file path `{written}` must be relative to the manifest, so the project works on every machine"));
    }
    let lexical = normalize(&manifest_dir.join(relative));
    if !lexical.starts_with(root) {
        return Err(format!(
            "data file path `{written}` leaves the project root"
        ));
    }
    let canonical = std::fs::canonicalize(&lexical)
        .map_err(|_| format!("data file `{written}` does not exist"))?;
    if !canonical.starts_with(root) {
        return Err(format!(
            "data file path `{written}` leads outside the project root (through a symbolic link)"
        ));
    }
    if !canonical.is_file() {
        return Err(format!("data file path `{written}` is not a file"));
    }
    let inside = canonical
        .strip_prefix(root)
        .unwrap_or(&canonical)
        .display()
        .to_string();
    let display = if root_display == "." {
        inside
    } else {
        format!("{root_display}/{inside}")
    };
    Ok((canonical, display))
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Reads and parses a JSONL data file; syntax problems are reported here, once per file.
/// The rows that parse are kept even when others do not, so that their schema problems are
/// reported in the same run: a user fixes every bad row at once. `None` when the file
/// cannot be read at all.
pub(crate) fn read_rows(path: &Path, display: &str) -> (Option<Rows>, Vec<Diagnostic>) {
    let hint = "help: split the data into several files and runs";
    let text = match read_text(display, path, MAX_DATA_BYTES, hint) {
        Ok(text) => text,
        Err(diagnostic) => return (None, vec![diagnostic]),
    };
    let sha256 = format!("{:x}", Sha256::digest(text.as_bytes()));
    let mut rows = Rows {
        file: DataFile {
            path: path.to_path_buf(),
            display: display.to_string(),
            sha256,
            bytes: text.len() as u64,
            rows: 0,
        },
        items: Vec::new(),
        text: String::new(),
    };
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_row(line) {
            Ok(item) => rows.items.push((index + 1, item)),
            Err((column, message)) => problems.push((index + 1, column, message)),
        }
    }
    rows.text = text;
    rows.file.rows = rows.items.len() + problems.len();
    let mut diagnostics: Vec<Diagnostic> = problems
        .iter()
        .take(MAX_ROW_PROBLEMS)
        .map(|(line, column, message)| {
            let mut location = rows.location(*line);
            location.column = *column;
            location.width = 1;
            Diagnostic::error(message.clone()).at(Some(location))
        })
        .collect();
    if problems.len() > MAX_ROW_PROBLEMS {
        let more = count(problems.len() - MAX_ROW_PROBLEMS, "more row", "more rows");
        let verb = if problems.len() - MAX_ROW_PROBLEMS == 1 {
            "is"
        } else {
            "are"
        };
        let first_left_out = problems[MAX_ROW_PROBLEMS].0;
        diagnostics.push(
            Diagnostic::error(format!("{more} of `{display}` {verb} not valid"))
                .at(Some(rows.location(first_left_out))),
        );
    }
    if rows.file.rows == 0 {
        diagnostics.push(
            Diagnostic::error(format!("data file `{display}` has no rows"))
                .at(Some(rows.location(1)))
                .note(r#"help: write one row per line, as {"item": {...}}"#),
        );
    }
    (Some(rows), diagnostics)
}

/// One JSONL line -> its `item`, or the column and message of the problem.
fn parse_row(line: &str) -> Result<Value, (usize, String)> {
    let value: Value = serde_json::from_str(line).map_err(|e| {
        let message = e.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m)
            .to_string();
        (
            char_column(line, e.column()),
            format!("invalid JSON in data row: {message}"),
        )
    })?;
    let Value::Object(mut row) = value else {
        return Err((
            1,
            "expected a JSON object `{\"item\": {...}}` in data row".into(),
        ));
    };
    if let Some(extra) = row.keys().find(|k| *k != "item" && *k != "sample") {
        return Err((
            1,
            format!(
                "unknown field `{extra}` in data row: rows have `item` and optionally `sample`"
            ),
        ));
    }
    if row.get("sample").is_some_and(|sample| !sample.is_object()) {
        return Err((1, "`sample` of a data row must be an object".into()));
    }
    match row.remove("item") {
        Some(item @ Value::Object(_)) => Ok(item),
        Some(_) => Err((1, "`item` of a data row must be an object".into())),
        None => Err((1, "missing field `item` in data row".into())),
    }
}

/// The column, counted in characters as every other place is, of serde_json's `byte_column`
/// (1-based, in bytes) in `line`: the character that byte belongs to.
fn char_column(line: &str, byte_column: usize) -> usize {
    let byte = byte_column.saturating_sub(1);
    line.char_indices()
        .take_while(|(at, _)| *at <= byte)
        .count()
        .max(1)
}

/// Validates every row's item against a compiled `item_schema`.
pub(crate) fn check_rows(
    rows: &Rows,
    validator: &jsonschema::Validator,
    out: &mut Vec<Diagnostic>,
) {
    let mut reported = 0;
    let mut more = 0;
    // The first row left out: where the summary of the rest points.
    let mut first_left_out = None;
    for (line, item) in &rows.items {
        let errors: Vec<String> = validator.iter_errors(item).map(|e| describe(&e)).collect();
        if errors.is_empty() {
            continue;
        }
        if reported == MAX_ROW_PROBLEMS {
            more += 1;
            first_left_out.get_or_insert(*line);
            continue;
        }
        reported += 1;
        let mut diagnostic = Diagnostic::error(format!(
            "data row does not match `item_schema`: {}",
            errors[0]
        ))
        .at(Some(rows.location(*line)));
        diagnostic.notes = errors[1..].to_vec();
        out.push(diagnostic);
    }
    if more > 0 {
        let verb = if more == 1 { "does" } else { "do" };
        out.push(
            Diagnostic::error(format!(
                "{} of `{}` {verb} not match `item_schema`",
                count(more, "more row", "more rows"),
                rows.file.display
            ))
            .at(first_left_out.map(|line| rows.location(line))),
        );
    }
}

/// A validator error as one line: what is wrong and where in the item.
pub(crate) fn describe(error: &jsonschema::ValidationError<'_>) -> String {
    let pointer = error.instance_path().as_str();
    let at = if pointer.is_empty() {
        "item".to_string()
    } else {
        format!("item{}", pointer.replace('/', "."))
    };
    format!("{error} (at `{at}`)")
}

/// Reads each data file once, however many runs use it; shared by the threads that check
/// evals in parallel (the first to ask reads the file, the others wait for it).
#[derive(Default)]
pub(crate) struct DataCache {
    files: Mutex<BTreeMap<PathBuf, Slot>>,
}

/// One file's rows once read (`None` when it could not be read); filled by the first thread.
type Slot = Arc<OnceLock<Option<Arc<Rows>>>>;

impl DataCache {
    /// The parsed rows of a file, reading it the first time (problems go to `out` once).
    pub(crate) fn rows(
        &self,
        path: &Path,
        display: &str,
        out: &mut Vec<Diagnostic>,
    ) -> Option<Arc<Rows>> {
        let cell = Arc::clone(
            self.files
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(path.to_path_buf())
                .or_default(),
        );
        cell.get_or_init(|| {
            let (rows, problems) = read_rows(path, display);
            out.extend(problems);
            rows.map(Arc::new)
        })
        .clone()
    }

    pub(crate) fn into_files(self) -> BTreeMap<PathBuf, DataFile> {
        self.files
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .into_iter()
            .filter_map(|(path, cell)| Some((path, cell.get()?.as_ref()?.file.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::parse_row;

    #[test]
    fn a_json_error_is_placed_at_its_character_not_its_byte() {
        // serde_json counts bytes: `é` is two of them, one character.
        let line = r#"{"item": {"é": 1}} x"#;
        let column = parse_row(line).err().map(|(column, _)| column);
        assert_eq!(
            column,
            Some(line.chars().position(|c| c == 'x').unwrap_or(0) + 1)
        );
        // Cut short after a non-ASCII character: placed at that character, as after an ASCII
        // one, not one past the end.
        for line in [r#"{"item": "abc"#, r#"{"item": "abé"#] {
            let column = parse_row(line).err().map(|(column, _)| column);
            assert_eq!(column, Some(line.chars().count()), "{line}");
        }
    }
}
