//! The commands. Each writes its data to `out` and its diagnostics to `err`, so tests can
//! capture both; `validate` and `schema` need no service.

pub(crate) mod apply;
pub(crate) mod compare;
pub(crate) mod gc;
pub(crate) mod history;
pub(crate) mod import;
pub(crate) mod init;
pub(crate) mod plan;
pub(crate) mod report;
pub(crate) mod results;
pub(crate) mod runs;
mod session;
pub(crate) mod unlock;
mod wait;

use std::io::Write;
use std::path::Path;

use crate::manifest::{self, Project, Severity};
use crate::shown::count;
use crate::Error;

/// Loads a project, warnings made errors with `--strict`.
fn load(path: &Path, strict: bool) -> manifest::Loaded {
    let loaded = manifest::load(path);
    if strict {
        loaded.strict()
    } else {
        loaded
    }
}

/// Loads a project for a command that needs a valid one: prints every problem (warnings
/// too) and fails on errors.
pub(crate) fn load_valid(path: &Path, strict: bool, err: &mut dyn Write) -> Result<Project, Error> {
    let loaded = load(path, strict);
    for diagnostic in &loaded.diagnostics {
        writeln!(err, "{diagnostic}").map_err(Error::Output)?;
    }
    let (errors, warnings) = (
        loaded.count(Severity::Error),
        loaded.count(Severity::Warning),
    );
    loaded
        .project
        .ok_or(Error::InvalidManifests { errors, warnings })
}

/// `--prune` needs the whole project loaded: a manifest file given without an
/// `evalctl.yaml` to find the project by is read alone, and every eval defined elsewhere
/// would look removed and be deleted.
pub(crate) fn check_prune(prune: bool, project: &Project, path: &Path) -> Result<(), Error> {
    if prune && project.settings_file.is_none() && path.is_file() {
        return Err(Error::Usage(format!(
            "--prune needs the whole project, and `{}` has no evalctl.yaml to find it by: every eval defined elsewhere would be deleted",
            path.display()
        )));
    }
    Ok(())
}

/// Types only Foundry projects accept are errors for any other target, shown like the
/// manifests' other errors (file, line, column) before anything is asked of the service.
pub(crate) fn check_surface(
    project: &Project,
    target: crate::manifest::model::Target,
    err: &mut dyn Write,
) -> Result<(), Error> {
    if target == crate::manifest::model::Target::Foundry || project.project_only.is_empty() {
        return Ok(());
    }
    for diagnostic in &project.project_only {
        writeln!(err, "{diagnostic}").map_err(Error::Output)?;
    }
    Err(Error::ProjectOnlyTypes {
        target,
        count: project.project_only.len(),
    })
}

/// Stdout for a command whose work and exit code matter more than its printout: a reader
/// that went away (`evalctl apply --auto-approve | head`) neither stops the work nor turns
/// its exit code (a failed gate's 3, `plan --detailed-exitcode`'s 2) into a success.
pub(crate) struct Unbroken<'a>(pub &'a mut dyn Write);

impl Write for Unbroken<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self.0.write(bytes) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(bytes.len()),
            written => written,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            flushed => flushed,
        }
    }
}

/// Writes a file whole or not at all (a temporary file renamed into place), making its
/// directory when missing.
pub(crate) fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let fail = |source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let temporary = path.with_extension("tmp-evalctl");
    std::fs::write(&temporary, bytes).map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(fail)
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// Loads and validates a project; prints every problem, then a one-line summary (or, for
/// tools, a JSON document or GitHub annotations on stdout).
pub(crate) fn validate(
    args: &crate::cli::ValidateArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    use crate::cli::ValidateFormat;
    let loaded = load(&args.path, args.strict);
    let project = loaded.project.as_ref().map(|p| p.name.as_str());
    match args.output {
        ValidateFormat::Human => {
            for diagnostic in &loaded.diagnostics {
                writeln!(err, "{diagnostic}").map_err(Error::Output)?;
            }
        }
        ValidateFormat::Json => {
            crate::render::diagnostics_json(&loaded.diagnostics, project, out)
                .map_err(Error::Output)?;
        }
        ValidateFormat::Github => {
            crate::render::diagnostics_github(&loaded.diagnostics, out).map_err(Error::Output)?;
        }
    }
    let warnings = loaded.count(Severity::Warning);
    match &loaded.project {
        None => Err(Error::InvalidManifests {
            errors: loaded.count(Severity::Error),
            warnings,
        }),
        Some(project) => {
            let runs: usize = project.evals.values().map(|e| e.spec.runs.len()).sum();
            let mut summary = format!(
                "valid: project `{}`, {}, {}, {}",
                project.name,
                count(project.evals.len(), "eval", "evals"),
                count(runs, "run", "runs"),
                count(project.data_files.len(), "data file", "data files"),
            );
            if warnings > 0 {
                summary.push_str(&format!(" ({})", count(warnings, "warning", "warnings")));
            }
            // stdout is the document for tools; people still get the verdict.
            if args.output == ValidateFormat::Json {
                writeln!(err, "{summary}").map_err(Error::Output)?;
            } else {
                writeln!(out, "{summary}").map_err(Error::Output)?;
            }
            Ok(0)
        }
    }
}

/// Prints the JSON Schema of a manifest file.
pub(crate) fn schema(out: &mut dyn Write) -> Result<u8, Error> {
    let schema = manifest::manifest_schema();
    let text = serde_json::to_string_pretty(&schema).map_err(|e| Error::Output(e.into()))?;
    writeln!(out, "{text}").map_err(Error::Output)?;
    Ok(0)
}
