//! A run key's history: every run over time, across replacements, each with its pass rates
//! and its verdict against the completed run before it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::pairing::Row;
use super::runs::{previous_completed, KeyedRun};
use super::stats::Verdict;
use super::{run_comparison, RunRef, ALPHA};
use crate::api::wire::RunStatus;
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
    /// Against the completed run before it, on every grader; `None` for the first, or for a
    /// run that did not complete.
    pub verdict: Option<Verdict>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraderRate {
    pub name: String,
    pub pass_rate: f64,
}

/// The runs whose rows a history of the newest `shown` of `runs` (newest first) compares:
/// each completed one, and the completed run before it (which may be older than those shown).
pub fn compared_runs<'a>(runs: &[KeyedRun<'a>], shown: usize) -> Vec<KeyedRun<'a>> {
    let mut needed: Vec<KeyedRun<'a>> = Vec::new();
    for keyed in runs.iter().take(shown) {
        if keyed.run.status != RunStatus::Completed {
            continue;
        }
        let baseline = previous_completed(runs, keyed.run);
        for run in std::iter::once(*keyed).chain(baseline) {
            if !needed.iter().any(|k| k.run.id == run.run.id) {
                needed.push(run);
            }
        }
    }
    needed
}

/// The history of the newest `shown` of `runs` (every run of the key, newest first), oldest
/// first: each with what changed since the run before it, and its verdict against the
/// completed run before it, from `rows` (by run id; a run without rows has no verdict).
pub fn history(
    keys: (&str, &str),
    pair_by: Option<&str>,
    runs: &[KeyedRun<'_>],
    shown: usize,
    rows: &BTreeMap<String, Vec<Row>>,
) -> Vec<Entry> {
    let mut entries: Vec<Entry> = runs
        .iter()
        .enumerate()
        .take(shown)
        .map(|(i, keyed)| {
            let run = keyed.run;
            let counts = run.result_counts.unwrap_or_default();
            let change = runs.get(i + 1).and_then(|before| {
                if before.eval.id != keyed.eval.id {
                    Some("eval replaced")
                } else if before.run.metadata.get(tags::SPEC) != run.metadata.get(tags::SPEC) {
                    Some("data or settings changed")
                } else {
                    None
                }
            });
            let verdict = previous_completed(runs, run)
                .filter(|_| run.status == RunStatus::Completed)
                .and_then(|base| {
                    let (base_rows, new_rows) = (rows.get(&base.run.id)?, rows.get(&run.id)?);
                    let compared = run_comparison(
                        keys,
                        (pair_by, ALPHA),
                        (reference(&base), base_rows),
                        (reference(keyed), new_rows),
                        &[],
                    );
                    Some(compared.overall.verdict)
                });
            Entry {
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
            }
        })
        .collect();
    entries.reverse();
    entries
}

fn reference(keyed: &KeyedRun<'_>) -> RunRef {
    RunRef {
        run_id: keyed.run.id.clone(),
        eval_id: keyed.eval.id.clone(),
        created_at: keyed.run.created_at,
        status: keyed.run.status.clone(),
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
    use crate::api::wire::EvalRun;
    use crate::plan::RemoteEval;
    use serde_json::json;

    #[test]
    fn a_run_is_judged_against_the_completed_run_before_it_even_outside_those_shown() {
        let eval = RemoteEval {
            id: "eval_1".into(),
            name: "qa".into(),
            metadata: Default::default(),
            data_source_config: json!({}),
            testing_criteria: Vec::new(),
            created_at: 0,
            runs: Vec::new(),
            runs_listed: true,
        };
        let run = |id: &str, at: i64, status: RunStatus| EvalRun {
            id: id.into(),
            created_at: at,
            status,
            ..EvalRun::default()
        };
        // Newest first: C completed, B failed, A completed.
        let (a, b, c) = (
            run("a", 1, RunStatus::Completed),
            run("b", 2, RunStatus::Failed),
            run("c", 3, RunStatus::Completed),
        );
        let runs: Vec<KeyedRun> = [&c, &b, &a]
            .into_iter()
            .map(|run| KeyedRun { eval: &eval, run })
            .collect();
        // Two shown (C and B): C's baseline A is fetched too, B (failed) is not.
        let needed: Vec<&str> = compared_runs(&runs, 2)
            .iter()
            .map(|k| k.run.id.as_str())
            .collect();
        assert_eq!(needed, ["c", "a"]);
        let items: Vec<serde_json::Value> = (0..10)
            .map(|i| {
                json!({"id": format!("i{i}"), "datasource_item": {"n": i},
                "results": [{"name": "g-1", "passed": true}]})
            })
            .collect();
        let rows: BTreeMap<String, Vec<Row>> = ["a", "c"]
            .into_iter()
            .map(|id| (id.to_string(), super::super::pairing::rows(&items, None)))
            .collect();
        let entries = history(("qa", "r"), None, &runs, 2, &rows);
        let shown: Vec<(&str, Option<Verdict>)> = entries
            .iter()
            .map(|e| (e.run_id.as_str(), e.verdict))
            .collect();
        assert_eq!(shown, [("b", None), ("c", Some(Verdict::Unchanged))]);
    }

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
