//! `evalctl init [DIR]`: a new project that works at once: `evalctl.yaml` with the project's
//! name declared (from the directory's name) and the target left to choose, one example eval
//! over a small JSONL file, and the manifest JSON Schema beside them, so the `$schema`
//! comment gives editors completion outside this repository too. Nothing is overwritten: when
//! any of the files exists, none is written.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::manifest;
use crate::Error;

const SETTINGS: &str = "evalctl.yaml";
const SCHEMA: &str = "evalctl.schema.json";
const MANIFEST: &str = "evals/example.yaml";
const DATA: &str = "data/example.jsonl";

pub(crate) fn init(dir: &Path, err: &mut dyn Write) -> Result<u8, Error> {
    let name = project_name(dir);
    let files = [
        (
            SETTINGS,
            settings(&name),
            "the project's name and default target",
        ),
        (MANIFEST, EXAMPLE.to_string(), "an example eval"),
        (DATA, ROWS.to_string(), "its data"),
        (SCHEMA, schema()?, "the manifest JSON Schema, for editors"),
    ];
    let taken: Vec<String> = files
        .iter()
        .map(|(file, _, _)| dir.join(file))
        .filter(|path| path.exists())
        .map(|path| format!("`{}`", path.display()))
        .collect();
    if !taken.is_empty() {
        return Err(Error::Usage(format!(
            "not initializing `{}`: {} already {}; nothing was written",
            dir.display(),
            taken.join(", "),
            if taken.len() == 1 { "exists" } else { "exist" }
        )));
    }
    for (file, text, _) in &files {
        write_new(&dir.join(file), text)?;
    }
    let mut said = format!("Initialized project `{name}` in `{}`:\n", dir.display());
    for (file, _, what) in &files {
        said.push_str(&format!("  {file:<20}  {what}\n"));
    }
    said.push_str(&format!(
        "Try it on the embedded emulator: evalctl apply {} --target local --wait\n",
        dir.display()
    ));
    err.write_all(said.as_bytes()).map_err(Error::Output)?;
    Ok(0)
}

/// The directory's name, as a project would be named without `evalctl.yaml`.
fn project_name(dir: &Path) -> String {
    let absolute = std::fs::canonicalize(dir)
        .or_else(|_| std::path::absolute(dir))
        .unwrap_or_else(|_| dir.to_path_buf());
    manifest::directory_name(&absolute)
}

fn settings(name: &str) -> String {
    // A name as a YAML string: quoted as JSON, which YAML reads alike.
    let quoted = serde_json::Value::String(name.to_string());
    format!(
        "# The project's name: evalctl tags every eval and run it manages with it, and finds them\n\
         # by it. Keep it when the project moves or is cloned elsewhere; a remote target needs it.\n\
         project: {quoted}\n\
         # The default target: local (the embedded emulator), azure, foundry or openai.\n\
         # target: azure\n"
    )
}

fn schema() -> Result<String, Error> {
    let text = serde_json::to_string_pretty(&manifest::manifest_schema())
        .map_err(|e| Error::Output(e.into()))?;
    Ok(text + "\n")
}

/// Creates `path` (and its directory), refusing to replace a file made since the check.
fn write_new(path: &PathBuf, text: &str) -> Result<(), Error> {
    let fail = |source| Error::WriteFile {
        path: path.clone(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)
}

const EXAMPLE: &str = r#"# yaml-language-server: $schema=../evalctl.schema.json
#
# An example eval: every row of data/example.jsonl is graded by a string check, and the run's
# gate fails `evalctl apply --wait` (exit 3) when fewer than 80% of the rows pass.
evals:
  example:
    name: Example string check
    metadata: { owner: me }
    data_source_config:
      type: custom
      item_schema:
        type: object
        properties:
          question: { type: string }
          answer: { type: string }
          completion: { type: string }
        required: [question, answer, completion]
    testing_criteria:
      - type: string_check
        name: exact
        input: "{{item.completion}}"
        reference: "{{item.answer}}"
        operation: eq
    runs:
      baseline:
        data_source:
          type: jsonl
          source: { type: file, path: ../data/example.jsonl }
        gate:
          min_pass_rate: 0.8
"#;

const ROWS: &str = r#"{"item": {"question": "2 + 2", "answer": "4", "completion": "4"}}
{"item": {"question": "The capital of France", "answer": "Paris", "completion": "Paris"}}
{"item": {"question": "H2O is", "answer": "water", "completion": "water"}}
{"item": {"question": "The largest planet", "answer": "Jupiter", "completion": "Saturn"}}
{"item": {"question": "10 / 2", "answer": "5", "completion": "5"}}
"#;
