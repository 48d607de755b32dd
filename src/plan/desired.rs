//! The desired state in the shape the planner compares: request bodies as JSON, user
//! metadata, and the spec hashes of every eval and run. Built from a validated project
//! without I/O (data file hashes were taken when the project was loaded).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::canonical::{self, Canon};
use super::tags::Metadata;
use crate::api::wire::FileObject;
use crate::manifest::model::{Gate, RunDataSource, RunSource};
use crate::manifest::{self, Project};

#[derive(Debug, Clone)]
pub struct Desired {
    pub project: String,
    pub evals: BTreeMap<String, DesiredEval>,
    /// Keys of the project's other evals, left out because the user pointed at part of the
    /// project: the plan neither changes nor lists them.
    pub outside: BTreeSet<String>,
    /// What `--only` / `--exclude` aim at; also confines `--prune`.
    pub aim: super::Aim,
}

#[derive(Debug, Clone)]
pub struct DesiredEval {
    pub key: String,
    pub name: String,
    /// User metadata (no tags).
    pub metadata: Metadata,
    /// Request form, as written; shared with the plan's actions, not copied into them.
    pub data_source_config: Arc<Value>,
    pub testing_criteria: Arc<[Value]>,
    pub spec_hash: String,
    pub runs: BTreeMap<String, DesiredRun>,
    /// `protect: true`: never deleted or replaced without `--allow-replace KEY`.
    pub protect: bool,
    /// The id of an existing eval to adopt (`adopt:`).
    pub adopt: Option<String>,
    /// The item field `compare` pairs rows by (`pair_by: item.<field>` without `item.`).
    pub pair_by: Option<String>,
    /// Some of its runs were left out by `--only` / `--exclude`: its `evalctl_runs` tag is
    /// neither trusted nor written for a part of its runs.
    pub narrowed: bool,
}

#[derive(Debug, Clone)]
pub struct DesiredRun {
    pub key: String,
    pub name: String,
    pub metadata: Metadata,
    /// Request form; a `file` source stays `{type: file, path}` until apply uploads it.
    pub data_source: Arc<Value>,
    pub data_file: Option<DataFileRef>,
    pub spec_hash: String,
    pub gate: Option<Gate>,
}

/// A local data file a run uploads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFileRef {
    pub path: PathBuf,
    pub display: String,
    pub sha256: String,
    pub bytes: u64,
    #[serde(default)]
    pub rows: u64,
    /// The upload of this content already on the service, when the plan was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded: Option<String>,
}

/// Hex digits of the content hash in an upload's name.
const NAMED_HASH: usize = 24;

impl DataFileRef {
    /// The name the file is uploaded under: readable, and unique to its content, so an
    /// upload already on the service (from an earlier apply, or one whose answer was lost) is
    /// found again through the Files API.
    pub fn upload_name(&self) -> String {
        let stem = self
            .path
            .file_stem()
            .map_or_else(|| "data".into(), |s| s.to_string_lossy().to_string());
        let hash = self.sha256.get(..NAMED_HASH).unwrap_or(&self.sha256);
        format!("{stem}.evalctl-{hash}.jsonl")
    }

    /// An upload of this content that a run can use now.
    pub fn find_upload<'u>(&self, uploads: &'u [FileObject]) -> Option<&'u FileObject> {
        let name = self.upload_name();
        uploads
            .iter()
            .find(|u| u.filename == name && upload_state(&u.status) == UploadState::Ready)
    }
}

/// Where an upload is, by the Files API's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadState {
    /// `processed` (or `uploaded`, or no status: services that process nothing).
    Ready,
    /// `pending` or `running` (Azure processes uploads asynchronously), or a status the
    /// service may have added since: waited for, within a deadline.
    Processing,
    /// `error`, `deleting`, `deleted`: never to be used.
    Unusable,
}

pub fn upload_state(status: &str) -> UploadState {
    match status {
        "processed" | "uploaded" | "" => UploadState::Ready,
        "error" | "deleting" | "deleted" => UploadState::Unusable,
        _ => UploadState::Processing,
    }
}

/// The start of the content hash an upload's name records, if evalctl named it.
pub fn hash_in_upload_name(name: &str) -> Option<&str> {
    let (_, rest) = name.rsplit_once(".evalctl-")?;
    let hash = rest.strip_suffix(".jsonl")?;
    (hash.len() == NAMED_HASH && hash.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hash)
}

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl Desired {
    pub fn from_project(project: &Project) -> Desired {
        // Hashing every eval and run is the costly part of a plan's CPU time: all cores.
        let in_focus = |key: &String| project.focus.as_ref().is_none_or(|f| f.keys.contains(key));
        let evals: Vec<(String, DesiredEval)> = project
            .evals
            .par_iter()
            .filter(|(key, _)| in_focus(key))
            .map(|(key, eval)| (key.clone(), desired_eval(project, key, eval)))
            .collect();
        // Collected in key order, the map is built in one pass.
        let evals = BTreeMap::from_iter(evals);
        let outside = project
            .evals
            .keys()
            .filter(|key| !in_focus(key))
            .cloned()
            .collect();
        Desired {
            project: project.name.clone(),
            evals,
            outside,
            aim: super::Aim::default(),
        }
    }

    /// Whether an eval of the manifests adopts the eval `id`.
    pub fn adopts(&self, id: &str) -> bool {
        self.evals.values().any(|e| e.adopt.as_deref() == Some(id))
    }

    /// The part of the desired state `aim` takes: other evals join `outside`, runs it does
    /// not take are left out of their evals.
    pub fn aimed(mut self, aim: super::Aim) -> Desired {
        let keys: Vec<String> = self.evals.keys().cloned().collect();
        for key in keys {
            let Some(eval) = self.evals.get_mut(&key) else {
                continue;
            };
            if aim.takes_eval(&key, eval.runs.keys().map(String::as_str)) {
                let before = eval.runs.len();
                eval.runs.retain(|run_key, _| aim.takes_run(&key, run_key));
                eval.narrowed = eval.runs.len() < before;
            } else {
                self.evals.remove(&key);
                self.outside.insert(key);
            }
        }
        self.aim = aim;
        self
    }
}

fn desired_eval(project: &Project, key: &str, eval: &manifest::DesiredEval) -> DesiredEval {
    let spec = &eval.spec;
    let data_source_config = Arc::new(to_json(&spec.data_source_config));
    let testing_criteria: Arc<[Value]> = spec.testing_criteria.iter().map(to_json).collect();
    let spec_hash = canonical::eval_spec(&data_source_config, &testing_criteria).hash();
    let runs = spec
        .runs
        .iter()
        .map(|(run_key, run)| {
            let data_file = eval
                .run_files
                .get(run_key)
                .and_then(|path| project.data_files.get(path))
                .map(|f| DataFileRef {
                    path: f.path.clone(),
                    display: f.display.clone(),
                    sha256: f.sha256.clone(),
                    bytes: f.bytes,
                    rows: f.rows as u64,
                    uploaded: None,
                });
            let data_source = Arc::new(to_json(&run.data_source));
            let run_hash = run_spec_hash(
                &run.data_source,
                &data_source,
                data_file.as_ref(),
                &spec_hash,
            );
            let desired = DesiredRun {
                key: run_key.clone(),
                name: run.name.clone().unwrap_or_else(|| run_key.clone()),
                metadata: run.metadata.clone().unwrap_or_default(),
                data_source,
                data_file,
                spec_hash: run_hash,
                gate: run.gate.clone(),
            };
            (run_key.clone(), desired)
        })
        .collect();
    DesiredEval {
        key: key.to_string(),
        name: spec.name.clone().unwrap_or_else(|| key.to_string()),
        metadata: spec.metadata.clone().unwrap_or_default(),
        data_source_config,
        testing_criteria,
        spec_hash,
        runs,
        protect: spec.protect,
        adopt: spec.adopt.clone(),
        pair_by: spec
            .pair_by
            .as_deref()
            .and_then(|p| p.strip_prefix("item."))
            .map(String::from),
        narrowed: false,
    }
}

impl DesiredEval {
    /// The digest of the runs the manifests want on this eval, each by key and spec: what
    /// the `evalctl_runs` tag of its live eval says once they have all started.
    pub fn runs_digest(&self) -> String {
        let runs: Vec<Value> = self
            .runs
            .values()
            .map(|run| Value::from(vec![run.key.as_str(), run.spec_hash.as_str()]))
            .collect();
        canonical::hash(&Value::Array(runs))
    }

    /// Whether the tags of `remote` (its live eval) vouch for every run the manifests want:
    /// then a plan need not list its runs.
    pub fn runs_vouched_by(&self, remote: &Metadata) -> bool {
        remote.get(super::tags::RUNS) == Some(&self.runs_digest())
    }
}

/// A run's identity: its data source (a local file by its content, not its path or upload
/// id) and its eval's spec, so changed data or a replaced eval means a new run.
fn run_spec_hash(
    typed: &RunDataSource,
    data_source: &Value,
    file: Option<&DataFileRef>,
    eval_hash: &str,
) -> String {
    let is_file = matches!(typed, RunDataSource::Known(known) if matches!(known.source(), Some(RunSource::File { .. })));
    let data_source = match (is_file, file, data_source.as_object()) {
        (true, Some(file), Some(map)) => {
            let by_content = Canon::Object(vec![
                ("type", Canon::Str("file".into())),
                ("sha256", Canon::Str(file.sha256.as_str().into())),
            ]);
            let mut entries: Vec<(&str, Canon)> = map
                .iter()
                .filter(|(key, _)| key.as_str() != "source")
                .map(|(key, value)| (key.as_str(), Canon::Same(value)))
                .collect();
            entries.push(("source", by_content));
            Canon::Object(entries)
        }
        _ => Canon::Same(data_source),
    };
    Canon::Object(vec![
        ("data_source", data_source),
        ("eval_spec", Canon::Str(eval_hash.into())),
    ])
    .hash()
}

/// A run left out of a plan, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRun {
    pub eval_key: String,
    pub run_key: String,
    pub reason: String,
}

impl Desired {
    /// Leaves out the runs that need a model (model graders, or a data source that samples
    /// one): the embedded emulator grades only what needs no model unless it is given a
    /// model endpoint. Returns what was left out, for the user to see.
    pub fn without_model_runs(&mut self) -> Vec<SkippedRun> {
        let mut skipped = Vec::new();
        for eval in self.evals.values_mut() {
            let model_grader = eval
                .testing_criteria
                .iter()
                .filter_map(|g| g["type"].as_str())
                .find(|t| matches!(*t, "label_model" | "score_model"))
                .map(|t| format!("its eval has a `{t}` grader"));
            let eval_key = eval.key.clone();
            eval.runs.retain(|run_key, run| {
                let sampling = run.data_source["type"]
                    .as_str()
                    .filter(|t| matches!(*t, "completions" | "responses"));
                let reason = match (&model_grader, sampling) {
                    (Some(grader), _) => grader.clone(),
                    (None, Some(kind)) => format!("it samples a model (`{kind}` data source)"),
                    (None, None) => return true,
                };
                skipped.push(SkippedRun {
                    eval_key: eval_key.clone(),
                    run_key: run_key.clone(),
                    reason,
                });
                false
            });
        }
        skipped
    }
}
