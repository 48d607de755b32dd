//! A run key's history: every run over time, across replacements, each with its pass rates
//! and its verdict against the run before it.

use serde::Serialize;
use serde_json::Value;

use super::runs::KeyedRun;
use super::stats::Verdict;
use super::{run_comparison, RunRef};
use crate::gate::{grader_results, ratio};
use crate::plan::tags;

/// One run in a key's history (`history -o json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub run_id: String,
    pub eval_id: String,
    /// `live` or `superseded`.
    pub eval_state: &'static str,
    pub created_at: i64,
    pub status: String,
    /// What changed since the run before: `eval replaced`, `data or settings changed`, or
    /// nothing.
    pub change: Option<&'static str>,
    /// Share of rows that passed every grader; `None` before results.
    pub pass_rate: Option<f64>,
    pub graders: Vec<GraderRate>,
    /// Against the run before, on every grader; `None` for the first, or without results.
    pub verdict: Option<Verdict>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraderRate {
    pub name: String,
    pub pass_rate: f64,
}

/// The history of `runs` (oldest first), each with its output items (empty when not fetched).
pub fn history(
    (eval_key, run_key): (&str, &str),
    pair_by: Option<&str>,
    runs: &[(KeyedRun<'_>, Vec<Value>)],
) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::with_capacity(runs.len());
    for (i, (keyed, items)) in runs.iter().enumerate() {
        let run = keyed.run;
        let counts = run.result_counts.unwrap_or_default();
        let previous = i.checked_sub(1).map(|p| &runs[p]);
        let change = previous.and_then(|(before, _)| {
            if before.eval.id != keyed.eval.id {
                Some("eval replaced")
            } else if before.run.metadata.get(tags::SPEC) != run.metadata.get(tags::SPEC) {
                Some("data or settings changed")
            } else {
                None
            }
        });
        let verdict = previous
            .filter(|(_, before_items)| !before_items.is_empty() && !items.is_empty())
            .map(|(before, before_items)| {
                run_comparison(
                    (eval_key, run_key),
                    pair_by,
                    (reference(before), before_items),
                    (reference(keyed), items),
                    &[],
                )
                .overall
                .verdict
            });
        entries.push(Entry {
            run_id: run.id.clone(),
            eval_id: keyed.eval.id.clone(),
            eval_state: if keyed.eval.is_superseded() {
                "superseded"
            } else {
                "live"
            },
            created_at: run.created_at,
            status: run.status.as_str().to_string(),
            change,
            pass_rate: (counts.total > 0).then(|| ratio(counts.passed, counts.total)),
            graders: grader_results(run)
                .into_iter()
                .map(|g| GraderRate {
                    pass_rate: ratio(g.passed, g.graded),
                    name: g.name,
                })
                .collect(),
            verdict,
        });
    }
    entries
}

fn reference(keyed: &KeyedRun<'_>) -> RunRef {
    RunRef {
        run_id: keyed.run.id.clone(),
        eval_id: keyed.eval.id.clone(),
        created_at: keyed.run.created_at,
    }
}

/// A pass-rate sparkline: one block per run, `·` where a run has no results.
pub fn sparkline(entries: &[Entry]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    entries
        .iter()
        .map(|e| match e.pass_rate {
            Some(rate) => BLOCKS[((rate.clamp(0.0, 1.0) * 7.0).round()) as usize],
            None => '·',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sparkline_spans_empty_to_full() {
        let entry = |rate| Entry {
            run_id: String::new(),
            eval_id: String::new(),
            eval_state: "live",
            created_at: 0,
            status: "completed".into(),
            change: None,
            pass_rate: rate,
            graders: Vec::new(),
            verdict: None,
        };
        let entries = [
            entry(Some(0.0)),
            entry(Some(0.5)),
            entry(None),
            entry(Some(1.0)),
        ];
        assert_eq!(sparkline(&entries), "▁▅·█");
    }
}
