//! Semantic checks of the merged manifests, after the structure is known to be right: keys,
//! metadata limits and reserved keys, grader consistency, template references, gates, run
//! sources and their data. Every problem is reported; nothing stops at the first.

mod data;
mod graders;
mod partial;
mod runs;
mod schemas;
mod templates;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use data::DataCache;
pub use data::DataFile;
use partial::PartialEval;
use schemas::{ItemSchema, SchemaCache};
use templates::{Namespaces, SampleAccess};

use super::diagnostic::{did_you_mean, one_of, typo_of, Diagnostic};
use super::finding::Finding;
use super::load::{EvalOrigin, Sources};
use super::model::open::KnownTypes;
use super::model::Unrecognized;
use super::model::{
    DataSourceConfig, Grader, KnownDataSourceConfig, KnownGrader, KnownRunDataSource, Metadata,
    RunDataSource, RunSource,
};
use super::node::{FieldPath, Node, Segment};
use super::source::{SourceFile, Span};
use crate::shown::shorten;

/// Metadata keys starting with this are evalctl's ownership tags (design §3).
pub const RESERVED_PREFIX: &str = "evalctl_";
/// The service's limits on metadata (EVALS-API §1).
pub const MAX_METADATA_PAIRS: usize = 16;
pub const MAX_METADATA_KEY_CHARS: usize = 64;
pub const MAX_METADATA_VALUE_CHARS: usize = 512;
/// Pairs evalctl writes itself: project, key, spec, and on evals `evalctl_runs` while live or
/// `evalctl_state` once superseded (never both).
pub const EVAL_RESERVED_PAIRS: usize = 4;
pub const RUN_RESERVED_PAIRS: usize = 3;

/// What the checks learned that the plan needs: the data files and which run uses which.
pub(crate) struct Checked {
    pub data_files: BTreeMap<PathBuf, DataFile>,
    pub run_files: BTreeMap<(String, String), PathBuf>,
    /// Where the manifests use types only Foundry projects accept: errors for any other
    /// target, decided once the target is known.
    pub project_only: Vec<Diagnostic>,
}

/// What the threads checking evals share: each data file read once, each distinct
/// `item_schema` compiled once.
#[derive(Default)]
struct Shared {
    data: DataCache,
    schemas: SchemaCache,
}

pub(crate) fn check(sources: &Sources) -> (Vec<Diagnostic>, Checked) {
    let shared = Shared::default();
    // Evals are checked on all cores; results are gathered in key order so the output does
    // not depend on which thread finished first.
    let checked: Vec<EvalChecked> = sources
        .evals
        .par_iter()
        .map(|(key, origin)| check_eval(sources, key, origin, &shared))
        .collect();
    let mut diagnostics = Vec::new();
    let mut run_files = BTreeMap::new();
    let mut project_only = Vec::new();
    for eval in checked {
        diagnostics.extend(eval.diagnostics);
        run_files.extend(eval.run_files);
        project_only.extend(eval.project_only);
    }
    (
        diagnostics,
        Checked {
            data_files: shared.data.into_files(),
            run_files,
            project_only,
        },
    )
}

/// What checking one eval found.
#[derive(Default)]
struct EvalChecked {
    diagnostics: Vec<Diagnostic>,
    run_files: RunFiles,
    project_only: Vec<Diagnostic>,
}

/// The data file of each run with a `file` source, by (eval key, run key).
type RunFiles = BTreeMap<(String, String), PathBuf>;

fn check_eval(sources: &Sources, key: &str, origin: &EvalOrigin, shared: &Shared) -> EvalChecked {
    let document = &sources.documents[origin.document];
    let base = FieldPath::default().key("evals").key(key);
    // By its index: looking each key up would take time quadratic in a file of many evals.
    let entry = document
        .node
        .get("evals")
        .and_then(|evals| evals.entries().get(origin.entry));
    let Some(node) = entry.map(|e| &e.value) else {
        return Default::default();
    };
    let eval = match document.manifest.as_ref().and_then(|m| m.evals.get(key)) {
        Some(spec) => PartialEval::from_spec(spec),
        None => PartialEval::read(node),
    };
    let source = &sources.files[document.file];
    let mut checker = EvalChecker {
        key,
        eval: &eval,
        doc: &document.node,
        eval_node: node,
        source,
        root: &sources.root,
        root_display: &sources.root_display,
        base,
        findings: Vec::new(),
        data: Vec::new(),
        run_files: BTreeMap::new(),
        project_only: Vec::new(),
    };
    checker.check(shared);
    let diagnose = |findings: Vec<Finding>| -> Vec<Diagnostic> {
        findings
            .into_iter()
            .map(|f| f.into_diagnostic(source))
            .collect()
    };
    let mut diagnostics = diagnose(checker.findings);
    diagnostics.extend(checker.data);
    EvalChecked {
        diagnostics,
        run_files: checker.run_files,
        project_only: diagnose(checker.project_only),
    }
}

/// Whether `key` is a valid eval or run key: `[a-z0-9][a-z0-9._-]{0,62}`.
pub fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && key.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

struct EvalChecker<'a> {
    key: &'a str,
    eval: &'a PartialEval<'a>,
    doc: &'a Node,
    /// The eval's own node, at `base` in `doc`: the checks look things up from it, since a
    /// file may define thousands of evals and searching its `evals` for every look-up would
    /// make checking such a file quadratic.
    eval_node: &'a Node,
    source: &'a SourceFile,
    root: &'a Path,
    root_display: &'a str,
    base: FieldPath,
    findings: Vec<Finding>,
    /// Problems located in data files rather than in the manifest.
    data: Vec<Diagnostic>,
    run_files: RunFiles,
    /// Types only Foundry projects accept, where they are used.
    project_only: Vec<Finding>,
}

impl<'a> EvalChecker<'a> {
    /// Where to look `path` up, and its segments from there: from the eval's own node when
    /// it is below the eval (a file may hold a thousand evals), else from the document.
    fn locate<'p>(&self, path: &'p FieldPath) -> (&'a Node, &'p [Segment]) {
        let depth = self.base.0.len();
        if path.0.len() > depth && path.0[..depth] == self.base.0[..] {
            (self.eval_node, &path.0[depth..])
        } else {
            (self.doc, &path.0[..])
        }
    }

    fn find(&self, path: &FieldPath) -> Option<&'a Node> {
        let (node, segments) = self.locate(path);
        node.find_segments(segments)
    }

    fn span_of(&self, path: &FieldPath) -> Span {
        let (node, segments) = self.locate(path);
        node.span_at(segments)
    }

    fn key_span_of(&self, path: &FieldPath) -> Span {
        let (node, segments) = self.locate(path);
        node.key_span_at(segments)
    }

    fn error(&mut self, path: &FieldPath, message: impl Into<String>) -> &mut Finding {
        let span = self.span_of(path);
        self.findings.push(Finding::error(span, path, message));
        let last = self.findings.len() - 1;
        &mut self.findings[last]
    }

    /// An object of a `type` evalctl does not know, at `path`. A type this close to a known
    /// one is a typo, and an error: passed through, it would be refused by the service
    /// half-way through an apply, and evalctl's own checks of it (its data rows, say) would
    /// silently not run. Any other type may be one the service added since: it is passed
    /// through with a warning.
    fn unknown_type<K: KnownTypes>(&mut self, path: &FieldPath, other: &Unrecognized<K>) {
        let type_path = path.key("type");
        let span = self.span_of(&type_path);
        let kind = shorten(&other.kind);
        let finding = match typo_of(&other.kind, K::NAMES) {
            Some(known) => Finding::error(
                span,
                &type_path,
                format!("unknown {} type `{kind}`", K::FAMILY),
            )
            .note(format!("help: did you mean `{known}`?")),
            None => Finding::warning(
                span,
                &type_path,
                format!(
                    "{} type `{kind}` is not known to evalctl; it is passed through verbatim",
                    K::FAMILY
                ),
            ),
        };
        self.findings.push(finding);
    }

    /// Notes a type only Foundry projects accept, at the `type` of the object at `path`.
    pub(super) fn project_only(&mut self, path: &FieldPath, kind: &str) {
        let type_path = path.key("type");
        let span = self.span_of(&type_path);
        self.project_only.push(
            Finding::error(
                span,
                &type_path,
                format!("`{kind}` is a Foundry project type: Azure OpenAI resources and OpenAI do not accept it"),
            )
            .note("help: use `--target foundry` (a project endpoint, `.../api/projects/<project>`), or remove it"),
        );
    }

    fn check(&mut self, shared: &Shared) {
        let base = self.base.clone();
        self.check_key(self.key, &base, "eval");
        let eval = self.eval;
        let reserved = EVAL_RESERVED_PAIRS + usize::from(eval.protect);
        self.check_metadata(eval.metadata(), &base.key("metadata"), reserved);
        let item_schema = self.check_config(&shared.schemas);
        let schema = item_schema.as_deref();
        let validator = schema.and_then(|s| s.validator.as_ref().ok());
        let namespaces = Namespaces {
            item_schema: schema.map(|s| &s.schema),
            sample: self.sample_access(),
        };
        self.check_graders(&namespaces);
        if let Some(pair_by) = eval.pair_by {
            self.check_pair_by(pair_by, namespaces.item_schema, &base.key("pair_by"));
        }
        for (run_key, run) in &eval.runs {
            self.check_run(run_key, run, &namespaces, validator, &shared.data);
        }
    }

    /// `pair_by: item.<field>`, a field the item schema declares when it declares any.
    fn check_pair_by(
        &mut self,
        pair_by: &str,
        item_schema: Option<&serde_json::Value>,
        path: &FieldPath,
    ) {
        let Some(field) = pair_by
            .strip_prefix("item.")
            .filter(|f| !f.is_empty() && !f.contains('.'))
        else {
            self.error(path, format!("expected `item.<field>`, found `{pair_by}`"))
                .notes
                .push("help: name a field of the item that identifies a row across data versions, e.g. `item.id`".into());
            return;
        };
        let properties = item_schema
            .and_then(|s| s.get("properties"))
            .and_then(serde_json::Value::as_object);
        if properties.is_some_and(|p| !p.contains_key(field)) {
            self.error(
                path,
                format!("`{field}` is not a property of the item schema"),
            );
        }
    }

    fn check_key(&mut self, key: &str, path: &FieldPath, what: &str) {
        if !is_valid_key(key) {
            let span = self.key_span_of(path);
            self.findings.push(
                Finding::error(span, path, format!("invalid {what} key `{key}`"))
                    .note("keys are 1 to 63 characters of a-z, 0-9, `.`, `_` and `-`, starting with a letter or digit"),
            );
        }
    }

    fn check_metadata(&mut self, metadata: Option<&Metadata>, path: &FieldPath, reserved: usize) {
        let Some(metadata) = metadata else { return };
        let allowed = MAX_METADATA_PAIRS - reserved;
        if metadata.len() > allowed {
            self.error(path, format!("metadata has {} pairs; at most {allowed} are allowed", metadata.len()))
                .notes
                .push(format!("the service allows {MAX_METADATA_PAIRS}, and evalctl uses {reserved} for its ownership tags"));
        }
        for (key, value) in metadata {
            let reserved = key.starts_with(RESERVED_PREFIX);
            let key_chars = key.chars().count();
            let value_chars = value.chars().count();
            if !reserved
                && key_chars <= MAX_METADATA_KEY_CHARS
                && value_chars <= MAX_METADATA_VALUE_CHARS
            {
                continue;
            }
            let key_path = path.key(key);
            let key_span = self.key_span_of(&key_path);
            if reserved {
                self.findings.push(Finding::error(key_span, &key_path, format!("metadata key `{key}` is reserved: keys starting with `{RESERVED_PREFIX}` are evalctl's ownership tags")));
            }
            if key_chars > MAX_METADATA_KEY_CHARS {
                self.findings.push(Finding::error(key_span, &key_path, format!("metadata key is {key_chars} characters; at most {MAX_METADATA_KEY_CHARS} are allowed")));
            }
            if value_chars > MAX_METADATA_VALUE_CHARS {
                self.error(&key_path, format!("metadata value is {value_chars} characters; at most {MAX_METADATA_VALUE_CHARS} are allowed"));
            }
        }
    }

    fn sample_access(&self) -> SampleAccess {
        let samples = match self.eval.config() {
            Some(DataSourceConfig::Known(KnownDataSourceConfig::Custom(custom))) => {
                custom.include_sample_schema == Some(true)
            }
            _ => true,
        };
        let sampling_run = self.eval.runs.values().any(
            |run| matches!(run.data_source(), Some(RunDataSource::Known(known)) if known.samples()),
        );
        match (samples, sampling_run) {
            (true, _) => SampleAccess::Available,
            (false, true) => SampleAccess::OnlyThroughSamplingRun,
            (false, false) => SampleAccess::Unavailable,
        }
    }

    /// Checks the data source config; returns its compiled `item_schema` for template and
    /// row checks.
    fn check_config(&mut self, schemas: &SchemaCache) -> Option<Arc<ItemSchema>> {
        let path = self.base.key("data_source_config");
        match self.eval.config()? {
            DataSourceConfig::Unrecognized(other) => {
                self.unknown_type(&path, other);
                None
            }
            DataSourceConfig::Known(KnownDataSourceConfig::AzureAiSource(_)) => {
                self.project_only(&path, "azure_ai_source");
                None
            }
            DataSourceConfig::Known(KnownDataSourceConfig::Custom(custom)) => {
                let compiled = schemas.get(&custom.item_schema);
                if let Err(error) = &compiled.validator {
                    self.error(
                        &path.key("item_schema"),
                        format!("`item_schema` is not a valid JSON Schema: {error}"),
                    );
                }
                Some(compiled)
            }
            DataSourceConfig::Known(_) => None,
        }
    }
}
