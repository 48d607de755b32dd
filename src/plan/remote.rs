//! What the service holds, as fetched by the client: evals with their runs. Also the rules
//! that read it, written once for the planner, `apply --wait`, `runs` and `results`: which
//! eval of a key is the live one, and which run of it a manifest's run is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::tags::{self, Metadata};
use crate::api::wire::EvalRun;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteEval {
    pub id: String,
    pub name: String,
    pub metadata: Metadata,
    /// Response form, as the service returns it.
    pub data_source_config: Value,
    pub testing_criteria: Vec<Value>,
    pub created_at: i64,
    /// Runs, oldest first; fetched only for the evals a command looks at.
    pub runs: Vec<EvalRun>,
    /// Whether `runs` were listed. A plan leaves them unlisted when the eval's
    /// `evalctl_runs` tag vouches for the runs the manifests want.
    #[serde(default)]
    pub runs_listed: bool,
}

impl RemoteEval {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// The eval key evalctl tagged it with.
    pub fn key(&self) -> Option<&str> {
        self.tag(tags::KEY)
    }

    /// Whether this project manages the eval (superseded ones included).
    pub fn managed_by(&self, project: &str) -> bool {
        self.tag(tags::PROJECT) == Some(project)
    }

    pub fn is_superseded(&self) -> bool {
        self.tag(tags::STATE) == Some(tags::SUPERSEDED)
    }

    /// Whether this is one of the project's live evals: the ones the planner compares, and
    /// whose runs must therefore be fetched. Any state but `superseded` (one set by hand)
    /// is live, and the plan puts the tag right.
    pub fn is_live_in(&self, project: &str) -> bool {
        self.managed_by(project) && !self.is_superseded()
    }

    /// The runs evalctl started for `run_key`, oldest first.
    pub fn runs_of_key<'a>(&'a self, run_key: &'a str) -> impl Iterator<Item = &'a EvalRun> {
        self.runs
            .iter()
            .filter(move |r| run_key_of(r) == Some(run_key))
    }

    /// The newest run of `run_key`.
    pub fn newest_run_of_key<'a>(&'a self, run_key: &'a str) -> Option<&'a EvalRun> {
        newest(self.runs_of_key(run_key))
    }

    /// The newest run of `run_key` with this spec hash: the run a manifest's run is, once
    /// started. A run is never started twice while one exists, whatever its status.
    pub fn run_with_spec<'a>(
        &'a self,
        run_key: &'a str,
        spec_hash: &'a str,
    ) -> Option<&'a EvalRun> {
        newest(
            self.runs_of_key(run_key)
                .filter(|r| r.metadata.get(tags::SPEC).map(String::as_str) == Some(spec_hash)),
        )
    }
}

impl RemoteEval {
    /// The run that is the manifest's run `run_key`: the newest evalctl started with this
    /// spec, else one made outside evalctl under its name and data (an adopted eval's).
    /// Written once for the planner, `apply --wait`, `report` and `results`.
    pub fn run_for<'a>(
        &'a self,
        run_key: &'a str,
        spec_hash: &'a str,
        data_source: &Value,
    ) -> Option<&'a EvalRun> {
        self.run_with_spec(run_key, spec_hash)
            .or_else(|| self.untagged_run_like(run_key, data_source))
    }

    /// The newest run of `run_key`, or else the newest run made outside evalctl under that
    /// name: what `results EVAL RUN_KEY` shows.
    pub fn newest_run_named<'a>(&'a self, run_key: &'a str) -> Option<&'a EvalRun> {
        self.newest_run_of_key(run_key).or_else(|| {
            newest(
                self.runs
                    .iter()
                    .filter(|r| run_key_of(r).is_none() && r.name == run_key),
            )
        })
    }

    /// A run made outside evalctl (no tags: an adopted eval's history) that is the
    /// manifest's run `run_key`: named so, on the same data source (settings, and inline rows
    /// or upload id; a local file to upload is never known to be the same).
    pub fn untagged_run_like<'a>(
        &'a self,
        run_key: &str,
        data_source: &Value,
    ) -> Option<&'a EvalRun> {
        let wanted = super::canonical::canonical_json(&without_nulls(data_source));
        self.runs.iter().rev().find(|run| {
            run_key_of(run).is_none()
                && run.name == run_key
                && super::canonical::canonical_json(&without_nulls(&run.data_source)) == wanted
        })
    }
}

/// A value without its null fields, at every level: the service echoes absent settings as
/// `null`.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// The run key evalctl tagged a run with.
pub fn run_key_of(run: &EvalRun) -> Option<&str> {
    run.metadata.get(tags::KEY).map(String::as_str)
}

/// The live evals of one key: the newest is the one the manifests are compared with; older
/// ones (left by a crash, or made by hand) are to be marked superseded.
#[derive(Debug, Clone)]
pub struct Live<'r> {
    pub newest: &'r RemoteEval,
    pub older: Vec<&'r RemoteEval>,
}

/// The project's live evals by key.
pub fn live_by_key<'r>(remote: &'r [RemoteEval], project: &str) -> BTreeMap<&'r str, Live<'r>> {
    let mut by_key: BTreeMap<&str, Vec<&RemoteEval>> = BTreeMap::new();
    for eval in remote.iter().filter(|e| e.is_live_in(project)) {
        if let Some(key) = eval.key() {
            by_key.entry(key).or_default().push(eval);
        }
    }
    by_key
        .into_iter()
        .filter_map(|(key, mut evals)| {
            evals.sort_by(|a, b| newest_first(a.created_at, &a.id, b.created_at, &b.id));
            let newest = evals.first().copied()?;
            let older = evals.split_off(1);
            Some((key, Live { newest, older }))
        })
        .collect()
}

fn newest<'a>(runs: impl Iterator<Item = &'a EvalRun>) -> Option<&'a EvalRun> {
    runs.min_by(|a, b| newest_first(a.created_at, &a.id, b.created_at, &b.id))
}

/// Newest first: by creation time, then by id (ids made in one second sort by sequence).
fn newest_first(a_time: i64, a_id: &str, b_time: i64, b_id: &str) -> std::cmp::Ordering {
    b_time.cmp(&a_time).then_with(|| b_id.cmp(a_id))
}
