//! The planner: desired state + fetched remote state -> `Plan`, as one pure, synchronous
//! function (no I/O, no async), so every decision can be tested with plain values. It
//! applies the ownership rules of the design §3 (only this project's live evals are
//! touched; superseded, foreign and untagged evals are left alone) and produces the actions
//! of §4 in a deterministic order.

mod aim;
pub mod canonical;
mod desired;
pub mod diff;
pub mod gc;
mod reason;
mod remote;
pub mod tags;

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use aim::{Aim, AimPatterns, BadPattern};
pub use desired::{
    hash_in_upload_name, upload_state, DataFileRef, Desired, DesiredEval, DesiredRun, SkippedRun,
    UploadState,
};
pub use diff::Change;
pub use reason::{DataChange, DataVersion, Reason, RunChange};
pub use remote::{live_by_key, run_key_of, Live, RemoteEval};
use tags::Metadata;

use crate::api::wire::{EvalRun, FileObject};
use crate::manifest::model::Gate;

/// What the planner compares the manifests with: the service's evals (and the runs of the
/// project's live ones), and the uploaded files when runs with local data are to start.
#[derive(Debug, Clone, Default)]
pub struct Remote {
    pub evals: Vec<RemoteEval>,
    pub uploads: Vec<FileObject>,
}

/// Options that change what is planned.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Delete managed evals whose key left the manifests.
    pub prune: bool,
    /// The most evals `--prune` may delete [default: 5, or 20% of the project's live evals,
    /// whichever is larger].
    pub max_delete: Option<usize>,
    /// Protected evals (`protect: true`) the user allows to be replaced or deleted.
    pub allow_replace: Vec<String>,
}

/// Why a plan must not be applied as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum Refusal {
    #[error("eval `{key}` adopts {id}, which {why}; nothing is applied")]
    CannotAdopt {
        key: String,
        id: String,
        why: String,
    },
    #[error("eval `{key}` is protected, and the plan would {action} it; nothing is applied")]
    Protected {
        key: String,
        action: ProtectedAction,
    },
    #[error("the plan deletes {deletes} evals, more than {} ({limit}); nothing is applied", if *.explicit { "--max-delete" } else { "the default limit of 5 or 20% of the project, whichever is larger" })]
    TooManyDeletes {
        deletes: usize,
        limit: usize,
        explicit: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtectedAction {
    Replace,
    Delete,
}

impl std::fmt::Display for ProtectedAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProtectedAction::Replace => "replace",
            ProtectedAction::Delete => "delete",
        })
    }
}

/// `--max-delete`'s default for a project with `live` live evals.
pub fn default_max_delete(live: usize) -> usize {
    (live / 5).max(5)
}

/// What apply will do, and what it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub project: String,
    pub actions: Vec<Action>,
    /// Managed evals whose key left the manifests, kept because `--prune` was not given.
    pub kept: Vec<KeptEval>,
    /// Run keys with more than one run of one spec on a live eval (started by another tool,
    /// or by applies before they took a lease): the newest counts, the others are reported.
    #[serde(default)]
    pub duplicate_runs: Vec<DuplicateRuns>,
    /// The `--only` / `--exclude` the plan was made with: a saved plan keeps them.
    #[serde(default)]
    pub aim: AimPatterns,
    /// Why the plan must not be applied (a saved one included); empty when it may be.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refusals: Vec<Refusal>,
    /// The `evalctl_runs` tags apply writes once an eval's runs have started (or were found
    /// all there), so that later plans need not list them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<RunsRecord>,
    /// The evals whose runs the plan listed (the others' tags vouched for them): a saved
    /// plan lists the same to tell whether it is stale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listed_runs_of: Vec<String>,
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
    /// An existing eval named by `adopt:`, tagged for the project in place.
    AdoptEval(UpdateEval),
}

/// The kinds of action; `Display` is the design's symbol (§4), the one place it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Create,
    Update,
    Replace,
    Delete,
    Run,
    Adopt,
}

impl ActionKind {
    pub fn symbol(self) -> &'static str {
        match self {
            ActionKind::Create => "+",
            ActionKind::Update => "~",
            ActionKind::Replace => "-/+",
            ActionKind::Delete => "-",
            ActionKind::Run => ">",
            ActionKind::Adopt => "<=",
        }
    }
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.symbol())
    }
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::CreateEval(_) => ActionKind::Create,
            Action::UpdateEval(_) => ActionKind::Update,
            Action::ReplaceEval(_) => ActionKind::Replace,
            Action::DeleteEval(_) => ActionKind::Delete,
            Action::StartRun(_) => ActionKind::Run,
            Action::AdoptEval(_) => ActionKind::Adopt,
        }
    }

    /// The key of the eval the action is about.
    pub fn eval_key(&self) -> &str {
        match self {
            Action::CreateEval(new) => &new.key,
            Action::UpdateEval(update) | Action::AdoptEval(update) => &update.key,
            Action::ReplaceEval(replace) => &replace.key,
            Action::DeleteEval(delete) => &delete.key,
            Action::StartRun(run) => &run.eval_key,
        }
    }
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
    pub reasons: Vec<Reason>,
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
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteEval {
    pub key: String,
    pub id: String,
    pub name: String,
    pub runs: usize,
    #[serde(default)]
    pub reasons: Vec<Reason>,
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
    /// The eval's `pair_by` field, for a regression gate judged after a saved plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair_by: Option<String>,
    pub reason: Reason,
}

/// An eval's `evalctl_runs` tag to write once its runs in the plan have all started: its
/// complete name and metadata (the service replaces metadata as a whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunsRecord {
    pub eval_key: String,
    /// `None` when the eval is created or replaced by this plan.
    pub eval_id: Option<String>,
    pub name: String,
    pub metadata: Metadata,
}

/// The runs of one run key and spec on a live eval, when there is more than one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateRuns {
    pub eval_key: String,
    pub run_key: String,
    pub eval_id: String,
    /// The run the plan counts.
    pub newest: String,
    /// The other runs of the same key and spec, newest first.
    pub others: Vec<String>,
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
    #[serde(default, skip_serializing_if = "is_zero")]
    pub adopt: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for action in &self.actions {
            match action.kind() {
                ActionKind::Create => s.create += 1,
                ActionKind::Update => s.update += 1,
                ActionKind::Replace => s.replace += 1,
                ActionKind::Delete => s.delete += 1,
                ActionKind::Run => s.runs += 1,
                ActionKind::Adopt => s.adopt += 1,
            }
        }
        s
    }
}

/// Computes the plan. Pure: the same inputs always give the same plan.
pub fn plan(desired: &Desired, remote: &Remote, options: PlanOptions) -> Plan {
    let project = desired.project.as_str();
    let live = live_by_key(&remote.evals, project);
    let context = Context {
        project,
        uploads: &remote.uploads,
        remote: &remote.evals,
    };
    // Each eval's actions depend on that eval alone, so they are planned on all cores;
    // collecting keeps them in key order.
    let planned: Vec<(Vec<Action>, Option<RunsRecord>)> = desired
        .evals
        .par_iter()
        .map(|(key, eval)| eval_actions(key, eval, live.get(key.as_str()), &context))
        .collect();
    let mut actions = Vec::with_capacity(planned.iter().map(|(a, _)| a.len()).sum());
    let mut records = Vec::new();
    for (eval_actions, record) in planned {
        actions.extend(eval_actions);
        records.extend(record);
    }
    let kept = plan_removed(desired, &live, &options, &mut actions);
    let refusals = refusals(desired, &live, &actions, &options, &remote.evals);
    let fingerprint = fingerprint(&remote.evals, project, &adopted_ids(&actions));
    Plan {
        refusals,
        project: project.to_string(),
        actions,
        kept,
        duplicate_runs: duplicate_runs(desired, &live),
        aim: desired.aim.patterns.clone(),
        records,
        listed_runs_of: listed_runs_of(&remote.evals),
        fingerprint,
    }
}

/// What every eval's planning reads besides the eval itself.
struct Context<'a> {
    project: &'a str,
    uploads: &'a [FileObject],
    /// Every eval listed, for `adopt:` to find its eval by id.
    remote: &'a [RemoteEval],
}

/// What the guards refuse: a protected eval replaced or deleted without `--allow-replace`,
/// and more deletions than `--max-delete`.
fn refusals(
    desired: &Desired,
    live: &BTreeMap<&str, Live<'_>>,
    actions: &[Action],
    options: &PlanOptions,
    remote: &[RemoteEval],
) -> Vec<Refusal> {
    let allowed = |key: &str| options.allow_replace.iter().any(|k| k == key);
    let mut refusals: Vec<Refusal> = actions
        .iter()
        .filter_map(|action| {
            let (key, action, protected) = match action {
                // Protected when the manifest says so, or the live eval's tag does (an edit that
                // drops `protect:` and changes a grader at once does not slip through).
                Action::ReplaceEval(r) => (
                    &r.key,
                    ProtectedAction::Replace,
                    desired.evals.get(&r.key).is_some_and(|e| e.protect)
                        || live
                            .get(r.key.as_str())
                            .is_some_and(|l| l.newest.tag(tags::PROTECT) == Some("true")),
                ),
                Action::DeleteEval(d) => (
                    &d.key,
                    ProtectedAction::Delete,
                    live.get(d.key.as_str())
                        .is_some_and(|l| l.newest.tag(tags::PROTECT) == Some("true")),
                ),
                _ => return None,
            };
            (protected && !allowed(key)).then(|| Refusal::Protected {
                key: key.clone(),
                action,
            })
        })
        .collect();
    refusals.dedup();
    refusals.extend(adoption_refusals(desired, live, remote));
    let deletes = actions
        .iter()
        .filter(|a| a.kind() == ActionKind::Delete)
        .count();
    let limit = options
        .max_delete
        .unwrap_or_else(|| default_max_delete(live.len()));
    if deletes > limit {
        refusals.push(Refusal::TooManyDeletes {
            deletes,
            limit,
            explicit: options.max_delete.is_some(),
        });
    }
    refusals
}

/// `adopt:` naming an eval the service does not hold, or one another project manages. An
/// eval this project manages already makes `adopt:` inert.
fn adoption_refusals(
    desired: &Desired,
    live: &BTreeMap<&str, Live<'_>>,
    remote: &[RemoteEval],
) -> Vec<Refusal> {
    desired
        .evals
        .values()
        .filter(|eval| !live.contains_key(eval.key.as_str()))
        .filter_map(|eval| {
            let id = eval.adopt.as_deref()?;
            let others = desired
                .evals
                .values()
                .filter(|other| other.key != eval.key && other.adopt.as_deref() == Some(id));
            if let Some(other) = others.map(|o| o.key.as_str()).min() {
                return Some(Refusal::CannotAdopt {
                    key: eval.key.clone(),
                    id: id.to_string(),
                    why: format!("eval `{other}` adopts too"),
                });
            }
            let why = match remote.iter().find(|r| r.id == id) {
                None => "the service does not hold".to_string(),
                Some(found) => match found.tag(tags::PROJECT) {
                    Some(other) if other != desired.project => {
                        format!("project `{other}` manages")
                    }
                    _ => return None,
                },
            };
            Some(Refusal::CannotAdopt {
                key: eval.key.clone(),
                id: id.to_string(),
                why,
            })
        })
        .collect()
}

/// The evals whose runs were listed, by id.
fn listed_runs_of(remote: &[RemoteEval]) -> Vec<String> {
    let mut ids: Vec<String> = remote
        .iter()
        .filter(|e| e.runs_listed)
        .map(|e| e.id.clone())
        .collect();
    ids.sort();
    ids
}

/// Every run key of the manifests with more than one run of its spec on its live eval.
fn duplicate_runs(desired: &Desired, live: &BTreeMap<&str, Live<'_>>) -> Vec<DuplicateRuns> {
    let mut found = Vec::new();
    for (key, eval) in &desired.evals {
        let Some(live) = live.get(key.as_str()) else {
            continue;
        };
        for run in eval.runs.values() {
            let mut same: Vec<&EvalRun> = live
                .newest
                .runs_of_key(&run.key)
                .filter(|r| r.metadata.get(tags::SPEC) == Some(&run.spec_hash))
                .collect();
            if same.len() < 2 {
                continue;
            }
            same.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
            found.push(DuplicateRuns {
                eval_key: key.clone(),
                run_key: run.key.clone(),
                eval_id: live.newest.id.clone(),
                newest: same[0].id.clone(),
                others: same[1..].iter().map(|r| r.id.clone()).collect(),
            });
        }
    }
    found
}

/// Whether the planner would start a run with a local data file: only then does it need the
/// service's uploads (to say whether the file is there already, and what the last run used).
pub fn starts_runs_with_files(desired: &Desired, remote: &[RemoteEval]) -> bool {
    let live = live_by_key(remote, &desired.project);
    desired.evals.values().any(|eval| {
        eval.runs.values().any(|run| {
            run.data_file.is_some()
                && live.get(eval.key.as_str()).is_none_or(|live| {
                    live.newest.runs_listed
                        && live
                            .newest
                            .run_with_spec(&run.key, &run.spec_hash)
                            .is_none()
                })
        })
    })
}

/// The actions of one desired eval, given its live evals, and the `evalctl_runs` tag to
/// record once its runs have started.
fn eval_actions(
    key: &str,
    eval: &DesiredEval,
    live: Option<&Live<'_>>,
    context: &Context<'_>,
) -> (Vec<Action>, Option<RunsRecord>) {
    let mut actions = Vec::with_capacity(1 + eval.runs.len());
    let adopted = eval
        .adopt
        .as_deref()
        .and_then(|id| context.remote.iter().find(|r| r.id == id))
        .filter(|remote| !remote.metadata.contains_key(tags::PROJECT));
    match (live, adopted) {
        (None, Some(adopted)) => adopt(eval, adopted, context, &mut actions),
        (None, None) => {
            actions.push(Action::CreateEval(new_eval(eval, context.project)));
            start_all_runs(eval, context, None, &Reason::NewEval, &mut actions);
        }
        (Some(live), _) => {
            actions.extend(live.older.iter().map(|d| supersede_duplicate(d, key)));
            plan_existing(eval, live.newest, context, &mut actions);
        }
    }
    let current = live.map(|l| l.newest).or(adopted);
    let record = runs_tag(eval, current, &mut actions);
    (actions, record)
}

/// Where the eval's `evalctl_runs` tag gets the digest of the runs the manifests want: in
/// the eval's own write (create, replace, update, adopt) when no run is to start, else in a
/// record written once the runs have started, so the tag never vouches for a run a crash
/// kept from starting. Nothing when the tag vouches already.
fn runs_tag(
    eval: &DesiredEval,
    current: Option<&RemoteEval>,
    actions: &mut [Action],
) -> Option<RunsRecord> {
    if eval.narrowed {
        // A tag for part of the runs would make the next whole plan list them again.
        return None;
    }
    let digest = eval.runs_digest();
    let vouched = current.is_some_and(|c| c.tag(tags::RUNS) == Some(digest.as_str()));
    let starts = actions.iter().any(|a| a.kind() == ActionKind::Run);
    let current_id = current.map(|c| c.id.as_str());
    let own = actions.iter_mut().find_map(|action| match action {
        Action::CreateEval(new) => Some((None, &new.name, &mut new.metadata)),
        Action::ReplaceEval(replace) => Some((None, &replace.new.name, &mut replace.new.metadata)),
        Action::UpdateEval(update) | Action::AdoptEval(update)
            if Some(update.id.as_str()) == current_id =>
        {
            Some((Some(update.id.clone()), &update.name, &mut update.metadata))
        }
        _ => None,
    });
    match own {
        Some((_, _, metadata)) if !starts => {
            metadata.insert(tags::RUNS.into(), digest);
            None
        }
        Some((eval_id, name, metadata)) => Some(RunsRecord {
            eval_key: eval.key.clone(),
            eval_id,
            name: name.clone(),
            metadata: tags::with_runs_digest(metadata, Some(&digest)),
        }),
        None if vouched => None,
        None => current.map(|current| RunsRecord {
            eval_key: eval.key.clone(),
            eval_id: Some(current.id.clone()),
            name: current.name.clone(),
            metadata: tags::with_runs_digest(&current.metadata, Some(&digest)),
        }),
    }
}

/// An eval no project manages, named by `adopt:`: tagged in place when its spec is the
/// manifest's (its id and runs kept), else replaced, the old one kept as superseded with its
/// runs and now tagged as this project's history.
fn adopt(
    eval: &DesiredEval,
    adopted: &RemoteEval,
    context: &Context<'_>,
    actions: &mut Vec<Action>,
) {
    let start = actions.len();
    plan_existing(eval, adopted, context, actions);
    let remote_spec =
        canonical::eval_spec(&adopted.data_source_config, &adopted.testing_criteria).hash();
    for action in &mut actions[start..] {
        match action {
            Action::UpdateEval(update) if update.id == adopted.id => {
                update.reasons = vec![Reason::Adopted];
                *action = Action::AdoptEval(update.clone());
            }
            Action::ReplaceEval(replace) => {
                let history = tags::tagged(
                    &tags::user_part(&adopted.metadata),
                    context.project,
                    &eval.key,
                    &remote_spec,
                );
                replace.superseded_metadata = superseded(&history);
                replace.reasons.push(Reason::Adopted);
            }
            _ => {}
        }
    }
}

/// Live evals whose key left the manifests: deleted with `--prune`, else returned as kept.
fn plan_removed(
    desired: &Desired,
    live: &BTreeMap<&str, Live<'_>>,
    options: &PlanOptions,
    actions: &mut Vec<Action>,
) -> Vec<KeptEval> {
    let mut kept = Vec::new();
    for (key, live) in live {
        let aimed_at = desired.aim.takes_whole_eval(key);
        if desired.evals.contains_key(*key) || desired.outside.contains(*key) || !aimed_at {
            continue;
        }
        if options.prune {
            // Older live duplicates of a removed key go too, or the next plan shows them.
            for eval in live.older.iter().chain([&live.newest]) {
                actions.push(Action::DeleteEval(DeleteEval {
                    key: key.to_string(),
                    id: eval.id.clone(),
                    name: eval.name.clone(),
                    runs: eval.runs.len(),
                    reasons: vec![Reason::Pruned],
                }));
            }
        } else {
            kept.push(KeptEval {
                key: key.to_string(),
                id: live.newest.id.clone(),
                name: live.newest.name.clone(),
            });
        }
    }
    kept
}

fn new_eval(eval: &DesiredEval, project: &str) -> NewEval {
    NewEval {
        key: eval.key.clone(),
        name: eval.name.clone(),
        metadata: tags::tagged_eval(
            &eval.metadata,
            project,
            &eval.key,
            &eval.spec_hash,
            eval.protect,
        ),
        data_source_config: eval.data_source_config.clone(),
        testing_criteria: eval.testing_criteria.clone(),
        spec_hash: eval.spec_hash.clone(),
    }
}

/// A superseded eval's metadata: its runs are history, so it has no `evalctl_runs` tag
/// (which leaves room for `evalctl_state` within the service's 16 pairs).
fn superseded(metadata: &Metadata) -> Metadata {
    let mut metadata = tags::with_runs_digest(metadata, None);
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
        reasons: vec![Reason::OlderDuplicate {
            key: key.to_string(),
        }],
    })
}

/// Plans an eval that exists: replace when its spec differs, else update what drifted,
/// then start the runs it lacks.
fn plan_existing(
    eval: &DesiredEval,
    current: &RemoteEval,
    context: &Context<'_>,
    actions: &mut Vec<Action>,
) {
    let project = context.project;
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
        start_all_runs(eval, context, None, &Reason::EvalReplaced, actions);
        return;
    }
    if let Some(update) = drift(eval, current, project) {
        actions.push(Action::UpdateEval(update));
    }
    if !current.runs_listed {
        // The fetch left them unlisted because the eval's `evalctl_runs` tag vouches for
        // every run the manifests want.
        debug_assert!(eval.runs_vouched_by(&current.metadata));
        return;
    }
    for run in eval.runs.values() {
        if current
            .run_for(&run.key, &run.spec_hash, &run.data_source)
            .is_some()
        {
            continue;
        }
        let reason = match current.newest_run_of_key(&run.key) {
            None => Reason::NewRun,
            Some(previous) => Reason::RunChanged(run_change(run, previous, context.uploads)),
        };
        actions.push(Action::StartRun(start_run(
            eval,
            run,
            context,
            Some(current.id.clone()),
            &reason,
        )));
    }
}

/// How a run differs from the newest earlier run of its key: the data file's versions (the
/// earlier one known by the content hash its upload is named after, and the rows it graded),
/// and the data source's other fields that differ.
fn run_change(run: &DesiredRun, previous: &EvalRun, uploads: &[FileObject]) -> RunChange {
    let before_source = &previous.data_source["source"];
    let data = run.data_file.as_ref().and_then(|file| {
        let earlier_upload = before_source["id"]
            .as_str()
            .and_then(|id| uploads.iter().find(|u| u.id == id));
        let before = DataVersion {
            sha256: earlier_upload
                .and_then(|u| hash_in_upload_name(&u.filename))
                .map(String::from),
            rows: previous
                .result_counts
                .filter(|counts| counts.total > 0)
                .map(|counts| counts.total),
        };
        let known_same = before
            .sha256
            .as_deref()
            .is_some_and(|start| file.sha256.starts_with(start));
        (!known_same).then(|| DataChange {
            file: file.display.clone(),
            before,
            after: DataVersion {
                sha256: Some(file.sha256.clone()),
                rows: Some(file.rows),
            },
        })
    });
    // Fields the manifest sets that the service echoes otherwise; a field it does not echo
    // is not known to differ.
    let fields = run
        .data_source
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(field, value)| {
            let echoed = previous.data_source.get(field.as_str());
            field.as_str() != "source"
                && echoed
                    .is_some_and(|echoed| setting_text(field, echoed) != setting_text(field, value))
        })
        .map(|(field, _)| field.clone())
        .collect();
    RunChange { data, fields }
}

/// A data source setting as compared: by value (key order and number spelling aside), and
/// template messages in their canonical form, since the service echoes them expanded.
fn setting_text(field: &str, value: &Value) -> String {
    let template = value.get("template").and_then(Value::as_array);
    match (field, template) {
        ("input_messages", Some(messages)) => {
            let messages: Vec<String> = messages
                .iter()
                .map(|m| canonical::message_canonical(m).text())
                .collect();
            format!("{}:[{}]", value["type"], messages.join(","))
        }
        _ => canonical::canonical_json(value),
    }
}

/// Name and metadata differences, including tags changed outside evalctl.
fn drift(eval: &DesiredEval, current: &RemoteEval, project: &str) -> Option<UpdateEval> {
    let wanted = tags::tagged_eval(
        &eval.metadata,
        project,
        &eval.key,
        &eval.spec_hash,
        eval.protect,
    );
    // The `evalctl_runs` tag is apply's bookkeeping, not something the manifests say: it is
    // kept as it is (`runs_tag` sets it) and never shown as a change.
    let (changes, reasons) = name_and_metadata_changes(
        (
            &current.name,
            &tags::with_runs_digest(&current.metadata, None),
        ),
        (&eval.name, &wanted),
    );
    let wanted = tags::with_runs_digest(&wanted, current.tag(tags::RUNS));
    (!changes.is_empty()).then(|| UpdateEval {
        key: eval.key.clone(),
        id: current.id.clone(),
        name: eval.name.clone(),
        metadata: wanted,
        changes,
        reasons,
    })
}

/// How the name and metadata go from `(old name, old metadata)` to the new ones, and why:
/// name changed, metadata changed, or evalctl's tags changed outside evalctl.
fn name_and_metadata_changes(
    (old_name, old): (&str, &Metadata),
    (new_name, new): (&str, &Metadata),
) -> (Vec<Change>, Vec<Reason>) {
    let mut changes = Vec::new();
    let mut reasons = Vec::new();
    if old_name != new_name {
        changes.push(Change {
            path: "name".into(),
            old: Some(json!(old_name)),
            new: Some(json!(new_name)),
        });
        reasons.push(Reason::NameChanged);
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
            let reason = if key == tags::PROTECT {
                Reason::ProtectChanged
            } else if key.starts_with("evalctl_") {
                Reason::TagsChangedOutside
            } else {
                Reason::MetadataChanged
            };
            if !reasons.contains(&reason) {
                reasons.push(reason);
            }
        }
    }
    (changes, reasons)
}

/// `data_source_config changed` and/or `testing_criteria changed`, from the fields that
/// force a replacement, in their order.
fn forcing_reasons(forced_by: &[Change]) -> Vec<Reason> {
    let mut reasons: Vec<Reason> = Vec::new();
    for change in forced_by {
        let field = change.path.split(['.', '[']).next().unwrap_or(&change.path);
        let reason = match field {
            "" => Reason::SpecChanged,
            field => Reason::FieldChanged(field.to_string()),
        };
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    reasons
}

fn start_all_runs(
    eval: &DesiredEval,
    context: &Context<'_>,
    eval_id: Option<String>,
    reason: &Reason,
    actions: &mut Vec<Action>,
) {
    for run in eval.runs.values() {
        actions.push(Action::StartRun(start_run(
            eval,
            run,
            context,
            eval_id.clone(),
            reason,
        )));
    }
}

fn start_run(
    eval: &DesiredEval,
    run: &DesiredRun,
    context: &Context<'_>,
    eval_id: Option<String>,
    reason: &Reason,
) -> StartRun {
    let data_file = run.data_file.clone().map(|mut file| {
        file.uploaded = file.find_upload(context.uploads).map(|u| u.id.clone());
        file
    });
    StartRun {
        eval_key: eval.key.clone(),
        run_key: run.key.clone(),
        eval_id,
        name: run.name.clone(),
        metadata: tags::tagged(&run.metadata, context.project, &run.key, &run.spec_hash),
        data_source: run.data_source.clone(),
        data_file,
        spec_hash: run.spec_hash.clone(),
        gate: run.gate.clone(),
        pair_by: eval.pair_by.clone(),
        reason: reason.clone(),
    }
}

/// The evals a plan adopts (tagged in place, or kept as history by a replacement): not yet
/// the project's, yet what the plan was computed from.
pub fn adopted_ids(actions: &[Action]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::AdoptEval(adopt) => Some(adopt.id.as_str()),
            Action::ReplaceEval(replace) if replace.reasons.contains(&Reason::Adopted) => {
                Some(replace.old_id.as_str())
            }
            _ => None,
        })
        .collect()
}

/// Identity of the remote state a plan depends on: every eval of this project (live and
/// superseded) and every eval it adopts, with its name, metadata, spec and runs.
pub fn fingerprint(remote: &[RemoteEval], project: &str, adopted: &[&str]) -> String {
    // Hashing each eval's spec is the costly part: all cores.
    let mut parts: Vec<(&str, Value)> = remote
        .par_iter()
        .filter(|e| e.managed_by(project) || adopted.contains(&e.id.as_str()))
        .map(|e| {
            // An adopted eval's runs are listed for planning only; its tags say whether
            // someone took it meanwhile.
            let listed = if e.managed_by(project) {
                &e.runs[..]
            } else {
                &[]
            };
            let mut runs: Vec<(&str, &Metadata)> = listed
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
