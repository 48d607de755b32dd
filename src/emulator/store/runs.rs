//! Runs in the store as the API sees them: create, get, list (with the `status` filter),
//! cancel and delete. The runner's hooks are in [`progress`](super::progress), output items
//! in [`items`](super::items).

use super::disk::{ITEMS, RUNS};
use super::{RunEntry, Store};
use crate::emulator::errors::ApiError;
use crate::emulator::ids;
use crate::emulator::objects::{
    EvalRun, Metadata, ProjectFields, ResultCounts, RunError, RunStatus,
};
use crate::emulator::pagination::{range_after, take_page, ListParams};
use crate::emulator::run_request::NewRun;

impl Store {
    pub(crate) fn create_run(
        &mut self,
        eval_id: &str,
        new: NewRun,
        report_base: &str,
    ) -> Result<EvalRun, ApiError> {
        self.eval_entry(eval_id)?;
        let seq = self.next_seq();
        let created_at = ids::now();
        let id = ids::make("evalrun_", created_at, seq);
        let run = EvalRun {
            object: "eval.run".into(),
            report_url: format!("{report_base}/evaluations/{eval_id}?run_id={id}"),
            id,
            eval_id: eval_id.to_string(),
            name: new.name,
            status: RunStatus::Queued,
            // The spec's `model` is a string: a run that samples nothing has an empty one.
            model: Some(new.model.unwrap_or_default()),
            created_at,
            result_counts: ResultCounts {
                skipped: self.project.then_some(0),
                ..ResultCounts::default()
            },
            per_model_usage: None,
            per_testing_criteria_results: None,
            data_source: new.data_source,
            metadata: new.metadata,
            error: self.project.then(|| RunError::in_project(None)),
            project: self.project.then(|| ProjectFields {
                modified_at: created_at,
                created_by: None,
                properties: Metadata::from([("eval_id".into(), eval_id.to_string())]),
            }),
        };
        self.persist(|disk| disk.put_json(RUNS, &run.id, &run))?;
        self.insert_run(RunEntry::new(run.clone()));
        Ok(run)
    }

    /// Adds a run to the indexes (also used when loading).
    pub(crate) fn insert_run(&mut self, entry: RunEntry) -> bool {
        let Some(seq) = ids::seq_of(&entry.run.id) else {
            return false;
        };
        let Some(eval_seq) = self.eval_ids.get(&entry.run.eval_id) else {
            return false;
        };
        if let Some(eval) = self.evals.get_mut(eval_seq) {
            eval.runs.insert(seq, entry.run.id.clone());
        }
        self.runs.insert(entry.run.id.clone(), entry);
        true
    }

    pub(crate) fn run_entry(&self, eval_id: &str, run_id: &str) -> Result<&RunEntry, ApiError> {
        self.eval_entry(eval_id)?;
        self.runs
            .get(run_id)
            .filter(|entry| entry.run.eval_id == eval_id)
            .ok_or_else(|| ApiError::not_found("run", run_id))
    }

    pub(crate) fn run(&self, eval_id: &str, run_id: &str) -> Result<&EvalRun, ApiError> {
        self.run_entry(eval_id, run_id).map(|entry| &entry.run)
    }

    pub(crate) fn list_runs(
        &self,
        eval_id: &str,
        params: &ListParams,
    ) -> Result<(Vec<EvalRun>, bool), ApiError> {
        let eval = self.eval_entry(eval_id)?;
        let after = params.after_seq()?;
        let status = params.filter("status");
        let runs = range_after(&eval.runs, after, params.order)
            .filter_map(|(_, id)| self.runs.get(id))
            .filter(|entry| status.is_none_or(|s| entry.run.status.name() == s));
        let (page, has_more) = take_page(runs, params.limit);
        Ok((page.into_iter().map(|e| e.run.clone()).collect(), has_more))
    }

    /// Cancels a queued or running run; a canceled run is returned as it is, a finished one is
    /// a 400 (the work it did cannot be undone).
    pub(crate) fn cancel_run(&mut self, eval_id: &str, run_id: &str) -> Result<EvalRun, ApiError> {
        let status = self.run(eval_id, run_id)?.status;
        match status {
            RunStatus::Canceled => {}
            RunStatus::Completed | RunStatus::Failed => {
                return Err(ApiError::invalid_value(
                    "run_id",
                    format!(
                        "Run '{run_id}' is already {} and cannot be canceled.",
                        status.name()
                    ),
                ))
            }
            RunStatus::Queued | RunStatus::InProgress => {
                self.finish_run(run_id, RunStatus::Canceled, None)?;
            }
        }
        self.run(eval_id, run_id).cloned()
    }

    pub(crate) fn delete_run(&mut self, eval_id: &str, run_id: &str) -> Result<(), ApiError> {
        self.run_entry(eval_id, run_id)?;
        self.persist(|disk| {
            disk.remove_json(ITEMS, run_id)?;
            disk.remove_json(RUNS, run_id)
        })?;
        self.runs.remove(run_id);
        if let (Some(seq), Some(eval_seq)) = (ids::seq_of(run_id), self.eval_ids.get(eval_id)) {
            if let Some(eval) = self.evals.get_mut(eval_seq) {
                eval.runs.remove(&seq);
            }
        }
        Ok(())
    }
}
