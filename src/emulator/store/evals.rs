//! Evals in the store: create, get, update (moving the eval to the end of the `updated_at`
//! order), delete (with its runs and their output items) and list.

use std::sync::Arc;

use super::disk::{EVALS, ITEMS, RUNS};
use super::{EvalEntry, Store};
use crate::emulator::encoded::Encoded;
use crate::emulator::errors::ApiError;
use crate::emulator::eval_request::{EvalUpdate, NewEval};
use crate::emulator::ids;
use crate::emulator::objects::Eval;
use crate::emulator::pagination::{bad_cursor, range_after, take_page, ListParams};

impl Store {
    pub(crate) fn create_eval(&mut self, new: NewEval) -> Result<Eval, ApiError> {
        let seq = self.next_seq();
        let created_at = ids::now();
        let id = ids::make("eval_", created_at, seq);
        let eval = new.into_eval(id, created_at, self.project);
        let entry = EvalEntry::new(eval.clone(), seq);
        self.persist(|disk| disk.put_json(EVALS, &eval.id, &entry))?;
        self.insert_eval(seq, entry);
        Ok(eval)
    }

    pub(crate) fn insert_eval(&mut self, seq: u64, entry: EvalEntry) {
        self.eval_ids.insert(entry.eval.id.clone(), seq);
        self.by_update.insert(entry.update_seq, seq);
        self.evals.insert(seq, entry);
    }

    pub(crate) fn eval_entry(&self, id: &str) -> Result<&EvalEntry, ApiError> {
        self.eval_ids
            .get(id)
            .and_then(|seq| self.evals.get(seq))
            .ok_or_else(|| ApiError::not_found("eval", id))
    }

    pub(crate) fn eval(&self, id: &str) -> Result<&Eval, ApiError> {
        self.eval_entry(id).map(|entry| &entry.eval)
    }

    pub(crate) fn update_eval(&mut self, id: &str, update: EvalUpdate) -> Result<Eval, ApiError> {
        let seq = *self
            .eval_ids
            .get(id)
            .ok_or_else(|| ApiError::not_found("eval", id))?;
        let update_seq = self.next_seq();
        let mut entry = self.evals[&seq].clone();
        update.apply(&mut entry.eval, ids::now())?;
        entry.encode();
        let old_update = std::mem::replace(&mut entry.update_seq, update_seq);
        self.persist(|disk| disk.put_json(EVALS, id, &entry))?;
        self.by_update.remove(&old_update);
        self.by_update.insert(update_seq, seq);
        let eval = entry.eval.clone();
        self.evals.insert(seq, entry);
        Ok(eval)
    }

    /// Deletes an eval and everything under it; returns the ids of its runs, whose work the
    /// caller stops.
    pub(crate) fn delete_eval(&mut self, id: &str) -> Result<Vec<String>, ApiError> {
        let seq = *self
            .eval_ids
            .get(id)
            .ok_or_else(|| ApiError::not_found("eval", id))?;
        let run_ids: Vec<String> = self.evals[&seq].runs.values().cloned().collect();
        // The eval's file goes first: runs left behind by a crash here belong to no eval and
        // are dropped when the store is loaded.
        self.persist(|disk| {
            disk.remove_json(EVALS, id)?;
            run_ids.iter().try_for_each(|run| {
                disk.remove_json(ITEMS, run)?;
                disk.remove_json(RUNS, run)
            })
        })?;
        if let Some(entry) = self.evals.remove(&seq) {
            self.by_update.remove(&entry.update_seq);
        }
        self.eval_ids.remove(id);
        for run in &run_ids {
            self.runs.remove(run);
        }
        Ok(run_ids)
    }

    /// One page of evals, by `created_at` or `updated_at`.
    pub(crate) fn list_evals(
        &self,
        params: &ListParams,
    ) -> Result<(Vec<Arc<Encoded>>, bool), ApiError> {
        let by_update = params.filter("order_by") == Some("updated_at");
        let (page, has_more) = if by_update {
            let after = match &params.after {
                Some(after) => Some(
                    self.eval_ids
                        .get(after)
                        .map(|seq| self.evals[seq].update_seq)
                        .ok_or_else(|| bad_cursor(after))?,
                ),
                None => None,
            };
            let seqs = range_after(&self.by_update, after, params.order).map(|(_, seq)| seq);
            take_page(seqs.filter_map(|seq| self.evals.get(seq)), params.limit)
        } else {
            let after = params.after_seq()?;
            let entries = range_after(&self.evals, after, params.order).map(|(_, e)| e);
            take_page(entries, params.limit)
        };
        Ok((
            page.into_iter().filter_map(|e| e.wire.clone()).collect(),
            has_more,
        ))
    }
}
