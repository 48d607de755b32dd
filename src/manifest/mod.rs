//! Manifests: load YAML files or directories, interpolate `${VAR}`, check structure against
//! the schema generated from the typed model, run the semantic checks, and produce the
//! validated desired state (`Project`) or every problem found.

pub(crate) mod checks;
pub mod diagnostic;
pub(crate) mod finding;
pub mod import;
pub(crate) mod interpolate;
pub(crate) mod load;
pub mod model;
pub(crate) mod node;
pub(crate) mod source;
pub(crate) mod structure;
pub(crate) mod typed;
pub(crate) mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use checks::{is_valid_key, DataFile};
pub use diagnostic::{Diagnostic, Severity};
use model::{EvalSpec, Target};

/// The validated desired state of a project.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project root on disk (canonical).
    pub root: PathBuf,
    /// The ownership tag (`evalctl.yaml` `project:`, else the root directory's name).
    pub name: String,
    /// Where the name comes from: only a declared one is stable across clones.
    pub named_by: NamedBy,
    /// The `evalctl.yaml` that marks the root; without one, only the given directory or
    /// file was loaded.
    pub settings_file: Option<PathBuf>,
    /// The default target from `evalctl.yaml`.
    pub target: Option<Target>,
    /// The kind of credential `evalctl.yaml` insists on.
    pub auth: Option<model::AuthKind>,
    pub evals: BTreeMap<String, DesiredEval>,
    /// Every data file a run uploads, by canonical path.
    pub data_files: BTreeMap<PathBuf, DataFile>,
    /// The evals the user pointed at (a file or directory below the root), when not all.
    pub focus: Option<Focus>,
    /// Where the manifests use types only Foundry projects accept (located errors for any
    /// other target).
    pub project_only: Vec<Diagnostic>,
}

/// Where a project's name comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedBy {
    /// `project:` in `evalctl.yaml`.
    Settings,
    /// The root directory's name: it changes with the clone, so remote targets refuse it.
    Directory,
}

/// Part of a project: the evals defined under a path below its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Focus {
    /// The path as the user wrote it.
    pub path: String,
    /// The keys of the evals defined in the manifests under it.
    pub keys: BTreeSet<String>,
}

/// One eval as the manifests want it.
#[derive(Debug, Clone)]
pub struct DesiredEval {
    pub spec: EvalSpec,
    /// The manifest file it is defined in, as shown to users.
    pub file: String,
    /// The data file of each run with a `file` source, by run key.
    pub run_files: BTreeMap<String, PathBuf>,
}

/// The outcome of loading: the project when there is no error, and every problem found.
#[derive(Debug)]
pub struct Loaded {
    pub project: Option<Project>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// `--strict`: every warning is an error, so the project is not valid when there is one.
    pub fn strict(mut self) -> Loaded {
        for diagnostic in &mut self.diagnostics {
            if diagnostic.severity == Severity::Warning {
                diagnostic.severity = Severity::Error;
                diagnostic
                    .notes
                    .push("an error because of --strict (a warning otherwise)".into());
                self.project = None;
            }
        }
        self
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// The JSON Schema of a manifest file, as `evalctl schema` prints it.
pub fn manifest_schema() -> serde_json::Value {
    serde_json::Value::from(schemars::schema_for!(model::ManifestFile))
}

/// Loads and validates the project at `path` (a directory, or one manifest file), reading
/// `${VAR}`s from the process environment.
pub fn load(path: &Path) -> Loaded {
    load_with_env(path, &|name| std::env::var(name).ok())
}

/// `load` with the environment given explicitly.
pub fn load_with_env(path: &Path, env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Loaded {
    let mut sources = load::read_sources(path, env);
    let (semantic, checked) = checks::check(&sources);
    let mut diagnostics = std::mem::take(&mut sources.diagnostics);
    diagnostics.extend(semantic);
    sort(&mut diagnostics);
    let has_errors = diagnostics.iter().any(|d| d.severity == Severity::Error);
    let project = (!has_errors).then(|| build_project(sources, checked));
    Loaded {
        project,
        diagnostics,
    }
}

/// The project of error-free sources, moving each eval out of the document that defines it.
fn build_project(sources: load::Sources, checked: checks::Checked) -> Project {
    let load::Sources {
        root,
        settings,
        settings_file,
        files,
        documents,
        evals: origins,
        focus,
        ..
    } = sources;
    let focus = focus.map(|focus| focused(&focus, &files, &documents, &origins));
    let (trees, mut documents): (Vec<node::Node>, Vec<(usize, Option<model::ManifestFile>)>) =
        documents
            .into_iter()
            .map(|d| (d.node, (d.file, d.manifest)))
            .unzip();
    let mut run_files: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for ((eval, run), path) in checked.run_files {
        run_files.entry(eval).or_default().insert(run, path);
    }
    // In key order, so the map is built in one pass rather than by a search per insert.
    let mut evals = Vec::with_capacity(origins.len());
    for (key, origin) in origins {
        let (file, manifest) = &mut documents[origin.document];
        let Some(spec) = manifest.as_mut().and_then(|m| m.evals.remove(&key)) else {
            continue;
        };
        let run_files = run_files.remove(&key).unwrap_or_default();
        let file = files[*file].display.clone();
        evals.push((
            key,
            DesiredEval {
                spec,
                file,
                run_files,
            },
        ));
    }
    let evals = BTreeMap::from_iter(evals);
    // Freeing a large project's YAML trees takes a noticeable part of a plan's time: on all
    // cores.
    rayon::join(
        || trees.into_par_iter().for_each(drop),
        || drop((files, documents)),
    );
    let (name, named_by) = match settings.project.clone() {
        Some(name) => (name, NamedBy::Settings),
        None => (directory_name(&root), NamedBy::Directory),
    };
    Project {
        root,
        name,
        named_by,
        settings_file,
        target: settings.target,
        auth: settings.auth,
        evals,
        data_files: checked.data_files,
        focus,
        project_only: checked.project_only,
    }
}

/// The name a project gets from its directory when `evalctl.yaml` does not give one.
pub(crate) fn directory_name(root: &Path) -> String {
    root.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_string())
}

/// The keys of the evals defined in the manifests under the focused path.
fn focused(
    focus: &load::Focus,
    files: &[source::SourceFile],
    documents: &[load::Document],
    origins: &BTreeMap<String, load::EvalOrigin>,
) -> Focus {
    let inside: Vec<bool> = files
        .iter()
        .map(|file| std::fs::canonicalize(&file.path).is_ok_and(|p| p.starts_with(&focus.path)))
        .collect();
    let keys = origins
        .iter()
        .filter(|(_, origin)| {
            documents
                .get(origin.document)
                .is_some_and(|d| inside.get(d.file) == Some(&true))
        })
        .map(|(key, _)| key.clone())
        .collect();
    Focus {
        path: focus.shown.clone(),
        keys,
    }
}

/// Problems in file order, then by position; problems without a place first.
fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            d.location
                .as_ref()
                .map(|l| (l.file.clone(), l.line, l.column))
        };
        key(a).cmp(&key(b))
    });
}
