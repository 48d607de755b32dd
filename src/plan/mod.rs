//! The planner: desired state + fetched remote state -> `Plan`, as one pure, synchronous
//! function (no I/O, no async), so every decision can be tested with plain values. It
//! applies the ownership rules of the design §3 (only this project's live evals are
//! touched; superseded, foreign and untagged evals are left alone) and produces the actions
//! of §4 in a deterministic order.

pub mod canonical;
mod desired;
pub mod diff;
mod remote;
pub mod tags;

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use desired::{DataFileRef, Desired, DesiredEval, DesiredRun, SkippedRun};
pub use diff::Change;
pub use remote::{RemoteEval, RemoteRun};
use tags::Metadata;

use crate::manifest::model::Gate;

/// Options that change what is planned.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Delete managed evals whose key left the manifests.
    pub prune: bool,
}

/// What apply will do, and what it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub project: String,
    pub actions: Vec<Action>,
    /// Managed evals whose key left the manifests, kept because `--prune` was not given.
    pub kept: Vec<KeptEval>,
    /// Hash of the remote objects of this project that the plan was computed from: a saved
    /// plan is stale when it no longer matches.
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    CreateEval(NewEval),
    UpdateEval(UpdateEval),
    ReplaceEval(ReplaceEval),
    DeleteEval(DeleteEval),
    StartRun(StartRun),
}

/// An eval to create: the request body and its identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEval {
    pub key: String,
    pub name: String,
    /// User metadata plus evalctl's tags.
    pub metadata: Metadata,
    pub data_source_config: Arc<Value>,
    pub testing_criteria: Arc<[Value]>,
    pub spec_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateEval {
    pub key: String,
    pub id: String,
    /// The complete new name and metadata (the service replaces metadata as a whole).
    pub name: String,
    pub metadata: Metadata,
    pub changes: Vec<Change>,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplaceEval {
    pub key: String,
    /// The live eval that is kept, marked superseded, with its run history.
    pub old_id: String,
    pub old_name: String,
    /// Its metadata once marked superseded.
    pub superseded_metadata: Metadata,
    pub new: NewEval,
    /// The immutable fields that differ and force the replacement.
    pub forced_by: Vec<Change>,
    /// The name and user metadata that differ too (the new eval gets them; they force nothing).
    #[serde(default)]
    pub changes: Vec<Change>,
    #[serde(default)]
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteEval {
    pub key: String,
    pub id: String,
    pub name: String,
    pub runs: usize,
    #[serde(default)]
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartRun {
    pub eval_key: String,
    pub run_key: String,
    /// The eval to run on; `None` when it is created or replaced by this plan.
    pub eval_id: Option<String>,
    pub name: String,
    /// User metadata plus evalctl's tags.
    pub metadata: Metadata,
    /// Request form; a `file` source is uploaded and sent as `file_id` at apply.
    pub data_source: Arc<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_file: Option<DataFileRef>,
    pub spec_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<Gate>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptEval {
    pub key: String,
    pub id: String,
    pub name: String,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub runs: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for action in &self.actions {
            match action {
                Action::CreateEval(_) => s.create += 1,
                Action::UpdateEval(_) => s.update += 1,
                Action::ReplaceEval(_) => s.replace += 1,
                Action::DeleteEval(_) => s.delete += 1,
                Action::StartRun(_) => s.runs += 1,
            }
        }
        s
    }
}

/// Computes the plan. Pure: the same inputs always give the same plan.
pub fn plan(desired: &Desired, remote: &[RemoteEval], options: PlanOptions) -> Plan {
    let project = desired.project.as_str();
    let live = live_evals(remote, project);
    // Each eval's actions depend on that eval alone, so they are planned on all cores;
    // collecting keeps them in key order.
    let mut actions: Vec<Action> = desired
        .evals
        .par_iter()
        .flat_map_iter(|(key, eval)| eval_actions(key, eval, live.get(key.as_str()), project))
        .collect();
    let kept = plan_removed(desired, &live, options, &mut actions);
    Plan {
        project: project.to_string(),
        actions,
        kept,
        fingerprint: fingerprint(remote, project),
    }
}

/// The actions of one desired eval, given its live evals (newest, older duplicates).
fn eval_actions(
    key: &str,
    eval: &DesiredEval,
    live: Option<&(&RemoteEval, Vec<&RemoteEval>)>,
    project: &str,
) -> Vec<Action> {
    let mut actions = Vec::with_capacity(1 + eval.runs.len());
    match live {
        None => {
            actions.push(Action::CreateEval(new_eval(eval, project)));
            start_all_runs(eval, project, None, "new eval", &mut actions);
        }
        Some((current, duplicates)) => {
            actions.extend(duplicates.iter().map(|d| supersede_duplicate(d, key)));
            plan_existing(eval, current, project, &mut actions);
        }
    }
    actions
}

/// Live evals whose key left the manifests: deleted with `--prune`, else returned as kept.
fn plan_removed(
    desired: &Desired,
    live: &BTreeMap<&str, (&RemoteEval, Vec<&RemoteEval>)>,
    options: PlanOptions,
    actions: &mut Vec<Action>,
) -> Vec<KeptEval> {
    let mut kept = Vec::new();
    for (key, (current, duplicates)) in live {
        if desired.evals.contains_key(*key) || desired.outside.contains(*key) {
            continue;
        }
        if options.prune {
            // Older live duplicates of a removed key go too, or the next plan shows them.
            for eval in duplicates.iter().chain([current]) {
                actions.push(Action::DeleteEval(DeleteEval {
                    key: key.to_string(),
                    id: eval.id.clone(),
                    name: eval.name.clone(),
                    runs: eval.runs.len(),
                    reasons: vec!["not in the manifests, and --prune was given".into()],
                }));
            }
        } else {
            kept.push(KeptEval {
                key: key.to_string(),
                id: current.id.clone(),
                name: current.name.clone(),
            });
        }
    }
    kept
}

/// The live evals of this project by key: the newest one, and any older live duplicates
/// (left by a crash or by hand) that should be superseded.
fn live_evals<'r>(
    remote: &'r [RemoteEval],
    project: &str,
) -> BTreeMap<&'r str, (&'r RemoteEval, Vec<&'r RemoteEval>)> {
    let mut by_key: BTreeMap<&str, Vec<&RemoteEval>> = BTreeMap::new();
    for eval in remote.iter().filter(|e| e.is_live_in(project)) {
        if let Some(key) = eval.tag(tags::KEY) {
            by_key.entry(key).or_default().push(eval);
        }
    }
    by_key
        .into_iter()
        .map(|(key, mut evals)| {
            evals.sort_by(|a, b| {
                b.created_at
                    .cmp(&a.created_at)
                    .then_with(|| b.id.cmp(&a.id))
            });
            let newest = evals.remove(0);
            (key, (newest, evals))
        })
        .collect()
}

fn new_eval(eval: &DesiredEval, project: &str) -> NewEval {
    NewEval {
        key: eval.key.clone(),
        name: eval.name.clone(),
        metadata: tags::tagged(&eval.metadata, project, &eval.key, &eval.spec_hash),
        data_source_config: eval.data_source_config.clone(),
        testing_criteria: eval.testing_criteria.clone(),
        spec_hash: eval.spec_hash.clone(),
    }
}

fn superseded(metadata: &Metadata) -> Metadata {
    let mut metadata = metadata.clone();
    metadata.insert(tags::STATE.into(), tags::SUPERSEDED.into());
    metadata
}

fn supersede_duplicate(duplicate: &RemoteEval, key: &str) -> Action {
    Action::UpdateEval(UpdateEval {
        key: key.to_string(),
        id: duplicate.id.clone(),
        name: duplicate.name.clone(),
        metadata: superseded(&duplicate.metadata),
        changes: vec![Change {
            path: format!("metadata.{}", tags::STATE),
            old: None,
            new: Some(json!(tags::SUPERSEDED)),
        }],
        reasons: vec![format!(
            "an older live eval with key `{key}`: marked superseded, history kept"
        )],
    })
}

/// Plans an eval that exists: replace when its spec differs, else update what drifted,
/// then start the runs it lacks.
fn plan_existing(
    eval: &DesiredEval,
    current: &RemoteEval,
    project: &str,
    actions: &mut Vec<Action>,
) {
    let remote_spec = canonical::eval_spec(&current.data_source_config, &current.testing_criteria);
    if remote_spec.hash() != eval.spec_hash {
        // Only a replacement shows the spec's differences.
        let desired_spec = canonical::eval_spec(&eval.data_source_config, &eval.testing_criteria);
        let mut forced_by = Vec::new();
        diff::changes(
            "",
            &remote_spec.to_value(),
            &desired_spec.to_value(),
            &mut forced_by,
        );
        // The new eval's tags differ from the old one's by nature: only the user part counts.
        let (changes, drifted) = name_and_metadata_changes(
            (&current.name, &tags::user_part(&current.metadata)),
            (&eval.name, &eval.metadata),
        );
        let mut reasons = forcing_reasons(&forced_by);
        reasons.extend(drifted);
        actions.push(Action::ReplaceEval(ReplaceEval {
            key: eval.key.clone(),
            old_id: current.id.clone(),
            old_name: current.name.clone(),
            superseded_metadata: superseded(&current.metadata),
            new: new_eval(eval, project),
            forced_by,
            changes,
            reasons,
        }));
        start_all_runs(eval, project, None, "eval replaced", actions);
        return;
    }
    if let Some(update) = drift(eval, current, project) {
        actions.push(Action::UpdateEval(update));
    }
    for run in eval.runs.values() {
        let same_key: Vec<&RemoteRun> = current
            .runs
            .iter()
            .filter(|r| r.metadata.get(tags::KEY) == Some(&run.key))
            .collect();
        if same_key
            .iter()
            .any(|r| r.metadata.get(tags::SPEC) == Some(&run.spec_hash))
        {
            continue;
        }
        let reason = if same_key.is_empty() {
            "new run"
        } else {
            "run data or spec changed"
        };
        actions.push(Action::StartRun(start_run(
            eval,
            run,
            project,
            Some(current.id.clone()),
            reason,
        )));
    }
}

/// Name and metadata differences, including tags changed outside evalctl.
fn drift(eval: &DesiredEval, current: &RemoteEval, project: &str) -> Option<UpdateEval> {
    let wanted = tags::tagged(&eval.metadata, project, &eval.key, &eval.spec_hash);
    let (changes, reasons) =
        name_and_metadata_changes((&current.name, &current.metadata), (&eval.name, &wanted));
    (!changes.is_empty()).then(|| UpdateEval {
        key: eval.key.clone(),
        id: current.id.clone(),
        name: eval.name.clone(),
        metadata: wanted,
        changes,
        reasons,
    })
}

/// How the name and metadata go from `(old name, old metadata)` to the new ones, and why
/// in words: name changed, metadata changed, or evalctl's tags changed outside evalctl.
fn name_and_metadata_changes(
    (old_name, old): (&str, &Metadata),
    (new_name, new): (&str, &Metadata),
) -> (Vec<Change>, Vec<String>) {
    let mut changes = Vec::new();
    let mut reasons = Vec::new();
    if old_name != new_name {
        changes.push(Change {
            path: "name".into(),
            old: Some(json!(old_name)),
            new: Some(json!(new_name)),
        });
        reasons.push("name changed".to_string());
    }
    let mut keys: Vec<&String> = new.keys().chain(old.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (was, wanted) = (old.get(key), new.get(key));
        if was != wanted {
            changes.push(Change {
                path: format!("metadata.{key}"),
                old: was.map(|v| json!(v)),
                new: wanted.map(|v| json!(v)),
            });
            let reason = if key.starts_with("evalctl_") {
                "evalctl's tags were changed outside evalctl"
            } else {
                "metadata changed"
            };
            if !reasons.iter().any(|r| r == reason) {
                reasons.push(reason.to_string());
            }
        }
    }
    (changes, reasons)
}

/// `data_source_config changed` and/or `testing_criteria changed`, from the fields that
/// force a replacement, in their order.
fn forcing_reasons(forced_by: &[Change]) -> Vec<String> {
    let mut reasons: Vec<String> = Vec::new();
    for change in forced_by {
        let field = change.path.split(['.', '[']).next().unwrap_or(&change.path);
        let reason = match field {
            "" => "the spec changed".to_string(),
            field => format!("{field} changed"),
        };
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    reasons
}

fn start_all_runs(
    eval: &DesiredEval,
    project: &str,
    eval_id: Option<String>,
    reason: &str,
    actions: &mut Vec<Action>,
) {
    for run in eval.runs.values() {
        actions.push(Action::StartRun(start_run(
            eval,
            run,
            project,
            eval_id.clone(),
            reason,
        )));
    }
}

fn start_run(
    eval: &DesiredEval,
    run: &DesiredRun,
    project: &str,
    eval_id: Option<String>,
    reason: &str,
) -> StartRun {
    StartRun {
        eval_key: eval.key.clone(),
        run_key: run.key.clone(),
        eval_id,
        name: run.name.clone(),
        metadata: tags::tagged(&run.metadata, project, &run.key, &run.spec_hash),
        data_source: run.data_source.clone(),
        data_file: run.data_file.clone(),
        spec_hash: run.spec_hash.clone(),
        gate: run.gate.clone(),
        reason: reason.to_string(),
    }
}

/// Identity of the remote state a plan depends on: every eval of this project (live and
/// superseded) with its name, metadata, spec and runs.
pub fn fingerprint(remote: &[RemoteEval], project: &str) -> String {
    // Hashing each eval's spec is the costly part: all cores.
    let mut parts: Vec<(&str, Value)> = remote
        .par_iter()
        .filter(|e| e.managed_by(project))
        .map(|e| {
            let mut runs: Vec<(&str, &Metadata)> = e
                .runs
                .iter()
                .map(|r| (r.id.as_str(), &r.metadata))
                .collect();
            runs.sort();
            let part = json!({
                "id": e.id, "name": e.name, "metadata": e.metadata,
                "spec": canonical::eval_spec(&e.data_source_config, &e.testing_criteria).hash(),
                "runs": runs,
            });
            (e.id.as_str(), part)
        })
        .collect();
    parts.sort_by_key(|(id, _)| *id);
    canonical::hash(&Value::Array(
        parts.into_iter().map(|(_, part)| part).collect(),
    ))
}

#[cfg(test)]
mod tests;
