//! The hooks the background runner moves a run through: start (`in_progress`, per-grader
//! counts at zero), one graded row at a time, and finish (written with its output items). A
//! row is recorded only while its run is still `in_progress`, so a cancel freezes the counts.

use std::sync::Arc;

use serde_json::Value;

use super::disk::{ITEMS, RUNS};
use super::{RunEntry, Store};
use crate::emulator::encoded::{self, Encoded};
use crate::emulator::errors::ApiError;
use crate::emulator::ids;
use crate::emulator::objects::{
    CriteriaResult, EvalRun, ItemStatus, ModelUsage, OutputItem, RunError, RunStatus,
};

/// What grading one row produced.
#[derive(Debug, Clone)]
pub(crate) struct RowOutcome {
    pub(crate) index: u64,
    pub(crate) item: Value,
    pub(crate) sample: Value,
    pub(crate) results: Vec<Value>,
    /// Per grader, in testing-criteria order: passed, failed, or `None` when it errored.
    pub(crate) verdicts: Vec<Option<bool>>,
    /// Model calls made for this row.
    pub(crate) usage: Vec<ModelUsage>,
}

impl RowOutcome {
    fn status(&self) -> ItemStatus {
        if self.verdicts.iter().any(Option::is_none) {
            ItemStatus::Error
        } else if self.verdicts.iter().all(|v| *v == Some(true)) {
            ItemStatus::Pass
        } else {
            ItemStatus::Fail
        }
    }
}

impl Store {
    /// A run by id alone, for the background runner.
    pub(crate) fn run_by_id(&self, run_id: &str) -> Option<&RunEntry> {
        self.runs.get(run_id)
    }

    /// Moves a queued run to `in_progress`; false when it is no longer queued.
    pub(crate) fn start_run(&mut self, run_id: &str, graders: &[String]) -> Result<bool, ApiError> {
        let Some(entry) = self.runs.get(run_id) else {
            return Ok(false);
        };
        if entry.run.status != RunStatus::Queued {
            return Ok(false);
        }
        let mut run = entry.run.clone();
        run.status = RunStatus::InProgress;
        touch(&mut run);
        run.per_model_usage = Some(Vec::new());
        run.per_testing_criteria_results = Some(
            graders
                .iter()
                .map(|id| CriteriaResult {
                    testing_criteria: id.clone(),
                    passed: 0,
                    failed: 0,
                    errored: self.project.then_some(0),
                    skipped: self.project.then_some(0),
                })
                .collect(),
        );
        self.persist(|disk| disk.put_json(RUNS, run_id, &run))?;
        if let Some(entry) = self.runs.get_mut(run_id) {
            entry.run = run;
        }
        Ok(true)
    }

    /// Records one graded row; false when the run stopped (canceled or deleted) meanwhile.
    pub(crate) fn record_row(&mut self, run_id: &str, outcome: RowOutcome) -> bool {
        let seq = self.next_seq();
        let Some(entry) = self.runs.get_mut(run_id) else {
            return false;
        };
        if entry.run.status != RunStatus::InProgress {
            return false;
        }
        let status = outcome.status();
        count_row(&mut entry.run, &outcome, status);
        let created_at = ids::now();
        let item = OutputItem {
            object: "eval.run.output_item".into(),
            id: ids::make("outputitem_", created_at, seq),
            created_at,
            run_id: run_id.to_string(),
            eval_id: entry.run.eval_id.clone(),
            status,
            datasource_item_id: outcome.index,
            datasource_item: outcome.item,
            results: outcome.results,
            sample: outcome.sample,
        };
        let Ok(encoded) = Encoded::new(&item.id, &item) else {
            return false;
        };
        let position = entry.items.len();
        match status {
            ItemStatus::Pass => entry.passed.push(position),
            ItemStatus::Fail => entry.failed.push(position),
            ItemStatus::Error => {}
        }
        entry.items.push(Arc::new(encoded));
        entry.item_seqs.push(seq);
        true
    }

    /// Ends a queued or running run with `status`, and writes it with its output items.
    pub(crate) fn finish_run(
        &mut self,
        run_id: &str,
        status: RunStatus,
        error: Option<RunError>,
    ) -> Result<(), ApiError> {
        let Some(entry) = self.runs.get(run_id) else {
            return Ok(());
        };
        if entry.run.status.is_terminal() {
            return Ok(());
        }
        let mut run = entry.run.clone();
        run.status = status;
        run.error = match self.project {
            true => Some(RunError::in_project(error)),
            false => error,
        };
        touch(&mut run);
        let items = encoded::array(entry.items.iter().map(|item| item.as_ref()));
        self.persist(|disk| {
            disk.put(ITEMS, &format!("{run_id}.json"), &items)?;
            disk.put_json(RUNS, run_id, &run)
        })?;
        if let Some(entry) = self.runs.get_mut(run_id) {
            entry.run = run;
        }
        Ok(())
    }
}

/// A project's run records when it last changed.
fn touch(run: &mut EvalRun) {
    if let Some(project) = &mut run.project {
        project.modified_at = ids::now();
    }
}

fn count_row(run: &mut EvalRun, outcome: &RowOutcome, status: ItemStatus) {
    let counts = &mut run.result_counts;
    counts.total += 1;
    match status {
        ItemStatus::Pass => counts.passed += 1,
        ItemStatus::Fail => counts.failed += 1,
        ItemStatus::Error => counts.errored += 1,
    }
    if let Some(per_grader) = &mut run.per_testing_criteria_results {
        for (result, verdict) in per_grader.iter_mut().zip(&outcome.verdicts) {
            match verdict {
                Some(true) => result.passed += 1,
                Some(false) => result.failed += 1,
                None => {
                    if let Some(errored) = &mut result.errored {
                        *errored += 1;
                    }
                }
            }
        }
    }
    let usage = run.per_model_usage.get_or_insert_with(Vec::new);
    for call in &outcome.usage {
        match usage.iter_mut().find(|u| u.model_name == call.model_name) {
            Some(total) => {
                total.invocation_count += call.invocation_count;
                total.prompt_tokens += call.prompt_tokens;
                total.completion_tokens += call.completion_tokens;
                total.total_tokens += call.total_tokens;
                total.cached_tokens += call.cached_tokens;
            }
            None => usage.push(call.clone()),
        }
    }
}
