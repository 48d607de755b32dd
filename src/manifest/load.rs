//! Reading a project from disk: find the manifest files, read each one (refusing what is too
//! large or not UTF-8), parse, interpolate, check the structure and deserialize every
//! document, then merge the evals of all files, reporting a key defined twice with both
//! places.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::Value;

use super::diagnostic::Diagnostic;
use super::finding::Finding;
use super::interpolate::{interpolate, Env};
use super::model::{ManifestFile, Settings};
use super::node::{FieldPath, Node, NodeValue, Trail};
use super::source::{SourceFile, Span};
use super::structure::Structure;
use super::typed::from_node;
use super::yaml;

/// Manifests are written by people; anything larger is almost certainly data that belongs in
/// a JSONL file (and would make every plan slow).
pub(crate) const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
pub(crate) const SETTINGS_FILES: [&str; 2] = ["evalctl.yaml", "evalctl.yml"];

/// One parsed manifest document, and what it deserialized to when it is structurally clean.
pub(crate) struct Document {
    pub file: usize,
    pub node: Node,
    pub manifest: Option<ManifestFile>,
}

/// Where an eval was defined.
pub(crate) struct EvalOrigin {
    pub document: usize,
    /// Its entry in the document's `evals` mapping: the last of its key there, the one its
    /// typed value is read from.
    pub entry: usize,
    pub key_span: Span,
}

/// Everything read from disk, before the semantic checks.
pub(crate) struct Sources {
    /// The project root on disk (canonical).
    pub root: PathBuf,
    /// How the root is shown in messages (as the user wrote it).
    pub root_display: String,
    pub settings: Settings,
    /// The `evalctl.yaml` that marks the root, when there is one.
    pub settings_file: Option<PathBuf>,
    pub files: Vec<SourceFile>,
    pub documents: Vec<Document>,
    pub evals: BTreeMap<String, EvalOrigin>,
    pub diagnostics: Vec<Diagnostic>,
    /// The part of the project the user named, when not the whole of it.
    pub focus: Option<Focus>,
}

/// A project root (on disk and as shown), its manifest files (as shown, on disk), and which
/// of them the user pointed at when that is not the whole project.
struct Discovered {
    root: PathBuf,
    root_display: String,
    files: Vec<(String, PathBuf)>,
    focus: Option<Focus>,
}

/// The part of a project a path names: a file or a directory below the root.
pub(crate) struct Focus {
    /// As the user wrote it.
    pub shown: String,
    /// Canonical; a manifest is in focus when its canonical path starts with it.
    pub path: PathBuf,
}

/// Finds the project root and its manifest files, as git and cargo find theirs: the nearest
/// directory, from the given one (or the given file's) upward, that holds `evalctl.yaml`.
/// The whole project is loaded, so that keys are checked across all its files; a path below
/// the root narrows only what is planned. Without an `evalctl.yaml` anywhere, the given
/// directory is the project, or the given file alone.
fn discover(path: &Path) -> Result<Discovered, Diagnostic> {
    let metadata = std::fs::metadata(path)
        .map_err(|e| Diagnostic::error(format!("cannot read `{}`: {}", path.display(), e)))?;
    let shown = display_path(path);
    let start = if metadata.is_dir() {
        path
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    };
    let canonical_start = std::fs::canonicalize(start)
        .map_err(|e| Diagnostic::error(format!("cannot read `{}`: {}", start.display(), e)))?;
    let Some((levels_up, root)) = find_root(&canonical_start) else {
        let files = if metadata.is_dir() {
            list_manifests(path, &shown, false)?
        } else {
            vec![(shown, path.to_path_buf())]
        };
        return Ok(Discovered {
            root: start.to_path_buf(),
            root_display: display_path(start),
            files,
            focus: None,
        });
    };
    let root_display = display_path(&up(start, levels_up));
    // A project marked by its evalctl.yaml may hold no eval yet (`evalctl import` fills it).
    let mut files = list_manifests(root, &root_display, true)?;
    let target = std::fs::canonicalize(path)
        .map_err(|e| Diagnostic::error(format!("cannot read `{shown}`: {e}")))?;
    let focus = (target != root).then(|| Focus {
        shown: shown.clone(),
        path: target.clone(),
    });
    // A file the walk skips (in a hidden directory, say) is still read when named.
    if !metadata.is_dir() && !files.iter().any(|(_, f)| same_file(f, &target)) {
        files.push((shown, path.to_path_buf()));
    }
    Ok(Discovered {
        root: root.to_path_buf(),
        root_display,
        files,
        focus,
    })
}

/// YAML files never read as manifests, wherever they are: the pipeline Azure DevOps reads from
/// a repository's root, often the root of an evals repository too.
const NOT_MANIFESTS: [&str; 2] = ["azure-pipelines.yml", "azure-pipelines.yaml"];

/// Why the `exclude:` of `evalctl.yaml` gives no set of globs.
#[derive(Debug, thiserror::Error)]
enum BadExclude {
    #[error("`exclude` pattern `{pattern}` is not a glob: {kind}")]
    Pattern {
        index: usize,
        pattern: String,
        kind: globset::ErrorKind,
    },
    /// Each pattern is a glob, but together they are too large to match with.
    #[error("`exclude` patterns cannot be matched together: {0}")]
    Set(globset::Error),
}

impl BadExclude {
    /// The error at its place in `document` of `source`.
    fn located(&self, document: &Node, source: &SourceFile) -> Diagnostic {
        let exclude = FieldPath::default().key("exclude");
        let finding = match self {
            BadExclude::Pattern { index, .. } => {
                let path = exclude.index(*index);
                Finding::error(document.span_at(&path.0), path, self.to_string())
                    .note("help: `*` matches within a directory, `**` across them")
            }
            BadExclude::Set(_) => {
                Finding::error(document.key_span_at(&exclude.0), exclude, self.to_string())
            }
        };
        finding.into_diagnostic(source)
    }
}

/// The `exclude:` globs of `evalctl.yaml`.
fn exclude_globs(exclude: &[String]) -> Result<globset::GlobSet, BadExclude> {
    let mut globs = globset::GlobSetBuilder::new();
    for (index, pattern) in exclude.iter().enumerate() {
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| BadExclude::Pattern {
                index,
                pattern: pattern.clone(),
                kind: e.kind().clone(),
            })?;
        globs.add(glob);
    }
    globs.build().map_err(BadExclude::Set)
}

/// The files that are manifests: not named in `NOT_MANIFESTS`, and not matched by an
/// `exclude:` glob of `evalctl.yaml` (relative to the root, `/`-separated).
fn not_excluded(
    files: Vec<(String, PathBuf)>,
    root: &Path,
    globs: &globset::GlobSet,
) -> Vec<(String, PathBuf)> {
    files
        .into_iter()
        .filter(|(_, path)| {
            let named = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let relative = std::fs::canonicalize(path)
                .ok()
                .and_then(|p| p.strip_prefix(root).ok().map(Path::to_path_buf));
            let relative = relative.map(|r| r.to_string_lossy().replace('\\', "/"));
            !NOT_MANIFESTS.contains(&named) && !relative.is_some_and(|r| globs.is_match(r))
        })
        .collect()
}

/// Whether `dir` is a project's root: it holds `evalctl.yaml`.
fn marks_project(dir: &Path) -> bool {
    SETTINGS_FILES.iter().any(|f| dir.join(f).is_file())
}

/// The nearest directory from `start` upward that marks a project, and how many levels up
/// it is. The search stops at a repository's root (a directory with `.git`): a project is
/// never found above the repository it is used from.
fn find_root(start: &Path) -> Option<(usize, &Path)> {
    for (levels, dir) in start.ancestors().enumerate() {
        if marks_project(dir) {
            return Some((levels, dir));
        }
        if dir.join(".git").exists() {
            return None;
        }
    }
    None
}

fn list_manifests(
    dir: &Path,
    shown: &str,
    may_be_empty: bool,
) -> Result<Vec<(String, PathBuf)>, Diagnostic> {
    let mut files = Vec::new();
    walk(dir, shown, &mut files)
        .map_err(|e| Diagnostic::error(format!("cannot list `{shown}`: {e}")))?;
    if files.is_empty() && !may_be_empty {
        return Err(Diagnostic::error(format!(
            "no manifests in `{shown}`: expected *.yaml or *.yml files"
        )));
    }
    Ok(files)
}

fn same_file(a: &Path, b: &Path) -> bool {
    std::fs::canonicalize(a).is_ok_and(|a| a == b)
}

/// `dir` then `levels` times `..`, written as short as the path allows (`a/b` up 1 is `a`).
fn up(dir: &Path, levels: usize) -> PathBuf {
    let mut out: Vec<std::path::Component> = dir
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    for _ in 0..levels {
        match out.last() {
            Some(std::path::Component::Normal(_)) => {
                out.pop();
            }
            _ => out.push(std::path::Component::ParentDir),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

fn display_path(path: &Path) -> String {
    let shown = path.display().to_string();
    let trimmed = shown
        .strip_prefix("./")
        .unwrap_or(&shown)
        .trim_end_matches('/');
    if trimmed.is_empty() {
        ".".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Collects `*.yaml`/`*.yml` below `dir` in a stable order, skipping hidden entries (such as
/// `.evalctl/`, where the local target keeps its state), the settings file, and directories
/// that are projects of their own (they hold an `evalctl.yaml`).
fn walk(dir: &Path, shown: &str, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| (e.file_name(), e)))
        .collect::<Result<_, _>>()?;
    entries.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
    for (name, entry) in entries {
        let name = name.to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let child = if shown == "." {
            name.clone()
        } else {
            format!("{shown}/{name}")
        };
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            if !marks_project(&path) {
                walk(&path, &child, out)?;
            }
        } else if (name.ends_with(".yaml") || name.ends_with(".yml"))
            && !SETTINGS_FILES.contains(&name.as_str())
        {
            out.push((child, path));
        }
    }
    Ok(())
}

/// The location of a problem with a file as a whole (it is not read, so no line is shown).
fn whole_file(display: &str) -> super::diagnostic::Location {
    super::diagnostic::Location {
        file: display.to_string(),
        line: 1,
        column: 1,
        width: 1,
        line_text: String::new(),
    }
}

/// Reads a text file, refusing files over `limit` bytes and bytes that are not UTF-8 (with
/// the line and column of the first bad byte).
pub(crate) fn read_text(
    display: &str,
    path: &Path,
    limit: u64,
    too_large_hint: &str,
) -> Result<String, Diagnostic> {
    let fail = |e: std::io::Error| Diagnostic::error(format!("cannot read `{display}`: {e}"));
    let too_large = |size: String| {
        Diagnostic::error(format!(
            "`{display}` is {size} MiB; the limit is {} MiB",
            limit / 1048576
        ))
        .at(Some(whole_file(display)))
        .note(too_large_hint)
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    let size = file.metadata().map_err(fail)?.len();
    if size > limit {
        return Err(too_large(format!("{:.1}", size as f64 / 1048576.0)));
    }
    // Read through `Take` into a buffer of the file's size: `File::read_to_end` would ask
    // for the size again (two more system calls a file, thousands in a large project), and
    // the limit holds for a file that grew since.
    let mut bytes = Vec::with_capacity(size as usize);
    std::io::Read::read_to_end(&mut std::io::Read::take(&file, limit + 1), &mut bytes)
        .map_err(fail)?;
    if bytes.len() as u64 > limit {
        // It grew while it was read; only the first bytes past the limit were read.
        return Err(too_large(format!("over {}", limit / 1048576)));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let text = String::from_utf8_lossy(valid);
        let line = text.matches('\n').count() + 1;
        let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let line_text = String::from_utf8_lossy(e.as_bytes())
            .lines()
            .nth(line - 1)
            .unwrap_or("")
            .to_string();
        Diagnostic::error(format!("`{display}` is not valid UTF-8"))
            .at(Some(super::diagnostic::Location {
                file: display.to_string(),
                line,
                column,
                width: 1,
                line_text,
            }))
            .note("help: save the file as UTF-8")
    })
}

pub(crate) fn read_sources(path: &Path, env: Env<'_>) -> Sources {
    let mut sources = Sources {
        root: PathBuf::new(),
        root_display: String::new(),
        settings: Settings::default(),
        settings_file: None,
        files: Vec::new(),
        documents: Vec::new(),
        evals: BTreeMap::new(),
        diagnostics: Vec::new(),
        focus: None,
    };
    let Discovered {
        root,
        root_display,
        files,
        focus,
    } = match discover(path) {
        Ok(found) => found,
        Err(diagnostic) => {
            sources.diagnostics.push(diagnostic);
            return sources;
        }
    };
    sources.root = std::fs::canonicalize(&root).unwrap_or(root);
    sources.root_display = root_display;
    sources.focus = focus;
    // With an `exclude:` glob that is not one, which files are manifests is not known.
    let Some((settings, globs)) = read_settings(&mut sources, env) else {
        return sources;
    };
    sources.settings = settings;
    let files = not_excluded(files, &sources.root, &globs);
    let schema = super::manifest_schema();
    let structure = Structure::new(&schema);
    for parsed in parse_all(files, &structure, env) {
        sources.diagnostics.extend(parsed.diagnostics);
        let Some(source) = parsed.source else {
            continue;
        };
        let file = sources.files.len();
        sources.files.push(source);
        for (node, manifest) in parsed.documents {
            let document = sources.documents.len();
            register_evals(&mut sources, document, file, &node);
            sources.documents.push(Document {
                file,
                node,
                manifest,
            });
        }
    }
    sources
}

/// One file read, parsed and checked on its own (so files can be done in parallel).
struct ParsedFile {
    source: Option<SourceFile>,
    documents: Vec<(Node, Option<ManifestFile>)>,
    diagnostics: Vec<Diagnostic>,
}

/// Parses the files on all cores; the result keeps the files' order.
fn parse_all(
    files: Vec<(String, PathBuf)>,
    structure: &Structure<'_>,
    env: Env<'_>,
) -> Vec<ParsedFile> {
    files
        .into_par_iter()
        .map(|(display, path)| parse_manifest(display, path, structure, env))
        .collect()
}

fn parse_manifest(
    display: String,
    path: PathBuf,
    structure: &Structure<'_>,
    env: Env<'_>,
) -> ParsedFile {
    let (source, documents, mut diagnostics) =
        parse_file(display, path, structure, env, Contents::Manifest);
    let documents = match &source {
        None => Vec::new(),
        Some(source) => documents
            .into_iter()
            .map(|CheckedDocument { node, clean }| {
                let manifest = clean
                    .then(|| from_node::<ManifestFile>(&node))
                    .and_then(|typed| {
                        // The structure check should have caught this; say what serde found.
                        typed
                            .map_err(|e| {
                                diagnostics.push(
                                    Diagnostic::error(format!("invalid manifest: {e}"))
                                        .at(Some(source.location(node.span))),
                                )
                            })
                            .ok()
                    });
                (node, manifest)
            })
            .collect(),
    };
    ParsedFile {
        source,
        documents,
        diagnostics,
    }
}

fn read_settings(sources: &mut Sources, env: Env<'_>) -> Option<(Settings, globset::GlobSet)> {
    let Some((name, path)) = SETTINGS_FILES
        .iter()
        .map(|name| (*name, sources.root.join(name)))
        .find(|(_, path)| path.is_file())
    else {
        return Some((Settings::default(), globset::GlobSet::empty()));
    };
    sources.settings_file = Some(path.clone());
    let display = if sources.root_display == "." {
        name.to_string()
    } else {
        format!("{}/{name}", sources.root_display)
    };
    let schema = Value::from(schemars::schema_for!(Settings));
    let structure = Structure::new(&schema);
    let (source, documents, diagnostics) =
        parse_file(display, path, &structure, env, Contents::Settings);
    sources.diagnostics.extend(diagnostics);
    let clean = documents.iter().find(|document| document.clean);
    // Settings with errors are taken as the defaults, but not an `exclude:` among them: the
    // files it meant to leave out would be read as manifests, each with errors of its own.
    let excludes = documents.iter().any(|d| d.node.get("exclude").is_some());
    if clean.is_none() && excludes {
        sources.files.extend(source);
        return None;
    }
    let settings: Settings = clean
        .and_then(|document| from_node(&document.node).ok())
        .unwrap_or_default();
    let globs = exclude_globs(&settings.exclude);
    if let Err(bad) = &globs {
        let diagnostic = match (clean, &source) {
            (Some(document), Some(source)) => bad.located(&document.node, source),
            _ => Diagnostic::error(bad.to_string()),
        };
        sources.diagnostics.push(diagnostic);
    }
    sources.files.extend(source);
    Some((settings, globs.ok()?))
}

/// A document of a file, and whether it passed the structure check.
struct CheckedDocument {
    node: Node,
    clean: bool,
}

/// What a file holds: an empty manifest is a mistake, empty settings are the defaults.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Contents {
    Manifest,
    Settings,
}

/// Reads, parses, interpolates and structure-checks one file. Returns the file (unless it
/// could not be read), its documents, and problems.
fn parse_file(
    display: String,
    path: PathBuf,
    structure: &Structure<'_>,
    env: Env<'_>,
    contents: Contents,
) -> (Option<SourceFile>, Vec<CheckedDocument>, Vec<Diagnostic>) {
    let hint =
        "help: put rows in a JSONL file and reference it with `source: {type: file, path: ...}`";
    let text = match read_text(&display, &path, MAX_MANIFEST_BYTES, hint) {
        Ok(text) => text,
        Err(diagnostic) => return (None, Vec::new(), vec![diagnostic]),
    };
    let source = SourceFile::new(display, path, text);
    let parsed = yaml::parse(&source);
    let mut diagnostics = parsed.diagnostics;
    if parsed.fatal {
        return (Some(source), Vec::new(), diagnostics);
    }
    let documents: Vec<Node> = parsed
        .documents
        .into_iter()
        .filter(|d| !matches!(d.value, NodeValue::Null))
        .collect();
    if documents.is_empty() && contents == Contents::Manifest {
        let end = Span::point(source.text.lines().count().max(1), 1);
        diagnostics.push(
            Finding::error(
                end,
                FieldPath::default(),
                "empty manifest: expected a mapping with `evals`",
            )
            .into_diagnostic(&source),
        );
    }
    // Only `${` is expanded (and `$${` unescaped), and it can only reach a value through the
    // text itself or an escape in a quoted scalar; most manifests have neither (a `$schema`
    // comment is no variable), and then there is nothing to walk for.
    let variables = source.text.contains("${") || source.text.contains('\\');
    let mut checked = Vec::new();
    for mut node in documents {
        let mut findings = Vec::new();
        if variables {
            interpolate(&mut node, env, &Trail::Root, &mut findings);
        }
        findings.extend(structure.check_document(&node));
        let clean = !findings
            .iter()
            .any(|f| f.severity == super::diagnostic::Severity::Error);
        diagnostics.extend(findings.into_iter().map(|f| f.into_diagnostic(&source)));
        checked.push(CheckedDocument { node, clean });
    }
    (Some(source), checked, diagnostics)
}

/// Records where each eval is defined (also in documents with structural errors, so their
/// other problems are still found), reporting keys defined twice.
fn register_evals(sources: &mut Sources, document: usize, file: usize, node: &Node) {
    let evals_path = FieldPath::default().key("evals");
    let Some(evals) = node.get("evals") else {
        return;
    };
    for (index, entry) in evals.entries().iter().enumerate() {
        let key = &entry.key;
        if let Some(first) = sources.evals.get_mut(key.as_str()) {
            if first.document == document {
                first.entry = index;
            }
            let first_file = &sources.files[sources
                .documents
                .get(first.document)
                .map_or(file, |d| d.file)];
            let first_location = first_file.location(first.key_span);
            let diagnostic = Finding::error(
                entry.key_span,
                evals_path.key(key),
                format!("eval `{key}` is defined twice"),
            )
            .note(format!(
                "first defined at {}:{}:{}",
                first_location.file, first_location.line, first_location.column
            ))
            .into_diagnostic(&sources.files[file]);
            sources.diagnostics.push(diagnostic);
        } else {
            sources.evals.insert(
                key.to_string(),
                EvalOrigin {
                    document,
                    entry: index,
                    key_span: entry.key_span,
                },
            );
        }
    }
}
