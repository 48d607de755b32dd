//! Which two runs a comparison takes: every run of a run key across the live eval and its
//! superseded predecessors, newest first; by default the newest against the completed one
//! before it.

use crate::api::wire::{EvalRun, RunStatus};
use crate::plan::{run_key_of, RemoteEval};

/// A run of the key, and the eval it ran on.
#[derive(Debug, Clone, Copy)]
pub struct KeyedRun<'a> {
    pub eval: &'a RemoteEval,
    pub run: &'a EvalRun,
}

/// The runs of `run_key` on `evals` (one eval key's, live and superseded), newest first.
pub fn runs_of_key<'a>(evals: &[&'a RemoteEval], run_key: &str) -> Vec<KeyedRun<'a>> {
    let mut runs: Vec<KeyedRun> = evals
        .iter()
        .flat_map(|eval| {
            eval.runs
                .iter()
                .filter(|run| run_key_of(run) == Some(run_key))
                .map(move |run| KeyedRun { eval, run })
        })
        .collect();
    runs.sort_by(|a, b| (b.run.created_at, &b.run.id).cmp(&(a.run.created_at, &a.run.id)));
    runs
}

/// A run named on the command line: the id of any run of the eval key (whatever its run
/// key), else a run key, whose newest completed run it names.
pub fn named<'a>(all: &[&'a RemoteEval], name: &str) -> Option<KeyedRun<'a>> {
    let by_id = all.iter().find_map(|eval| {
        eval.runs
            .iter()
            .find(|run| run.id == name)
            .map(|run| KeyedRun { eval, run })
    });
    by_id.or_else(|| newest_completed(&runs_of_key(all, name)))
}

/// The newest completed run in `runs` (newest first).
pub fn newest_completed<'a>(runs: &[KeyedRun<'a>]) -> Option<KeyedRun<'a>> {
    runs.iter()
        .find(|k| k.run.status == RunStatus::Completed)
        .copied()
}

/// The completed run before `new` in `runs` (newest first). Runs made in one second are
/// ordered by id, which the service does not promise to be in time order; a run is never
/// its own baseline.
pub fn previous_completed<'a>(runs: &[KeyedRun<'a>], new: &EvalRun) -> Option<KeyedRun<'a>> {
    runs.iter()
        .skip_while(|k| k.run.id != new.id)
        .skip(1)
        .find(|k| k.run.status == RunStatus::Completed)
        .copied()
}
