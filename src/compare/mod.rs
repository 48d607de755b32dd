//! Comparing two runs of one run key (issue H): pairing their rows, and the statistics that
//! say whether the newer one got worse. Pure: the commands fetch, this decides.

pub mod history;
pub mod pairing;
pub mod runs;
pub mod stats;

use serde::Serialize;

use crate::api::wire::RunStatus;
use pairing::{compare, pair, Comparison, Row};

/// A run as a comparison names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRef {
    pub run_id: String,
    pub eval_id: String,
    pub created_at: i64,
    pub status: RunStatus,
}

/// A row that passed in the base run and failed in the new one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegressedItem {
    /// The new run's output item.
    pub id: String,
    /// What paired it: the `pair_by` field's value, or the row's content.
    pub pair_key: String,
}

/// Two runs of a run key compared, grader by grader and overall (`compare -o json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunComparison {
    pub eval_key: String,
    pub run_key: String,
    pub pair_by: Option<String>,
    /// Rows (of either run) that lack the `pair_by` field, and so pair by their content.
    pub keyed_by_content: usize,
    /// The significance level of the verdicts.
    pub alpha: f64,
    pub base: RunRef,
    pub new: RunRef,
    /// Rows paired, and rows of each run that could not be.
    pub paired_rows: usize,
    pub unpaired_base: usize,
    pub unpaired_new: usize,
    pub graders: Vec<Comparison>,
    pub overall: Comparison,
    /// Rows that failed some grader in the new run where every grader passed them before,
    /// at most `REGRESSED_SHOWN`.
    pub regressed_items: Vec<RegressedItem>,
    pub regressed_total: usize,
}

/// Regressed rows listed at most.
pub const REGRESSED_SHOWN: usize = 20;

/// The significance level of a comparison's verdict unless a gate or `--alpha` names one.
pub const ALPHA: f64 = 0.05;

/// Compares the output items of two runs. `graders` is the new eval's grader names in its
/// order; a grader only one run has is compared on the rows it graded.
pub fn run_comparison(
    (eval_key, run_key): (&str, &str),
    (pair_by, alpha): (Option<&str>, f64),
    (base, base_rows): (RunRef, &[Row]),
    (new, new_rows): (RunRef, &[Row]),
    graders: &[String],
) -> RunComparison {
    let pairing = pair(base_rows, new_rows);
    let mut names: Vec<String> = graders.to_vec();
    for row in base_rows.iter().chain(new_rows) {
        for name in row.outcomes.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    let graders = names
        .iter()
        .map(|name| compare(base_rows, new_rows, &pairing, Some(name), alpha))
        .collect();
    let overall = compare(base_rows, new_rows, &pairing, None, alpha);
    let regressed: Vec<RegressedItem> = overall
        .regressed
        .iter()
        .map(|&j| RegressedItem {
            id: new_rows[j].id.clone(),
            pair_key: new_rows[j].label.clone(),
        })
        .collect();
    RunComparison {
        eval_key: eval_key.to_string(),
        run_key: run_key.to_string(),
        pair_by: pair_by.map(|f| format!("item.{f}")),
        keyed_by_content: match pair_by {
            Some(_) => base_rows
                .iter()
                .chain(new_rows)
                .filter(|r| !r.keyed_by_field)
                .count(),
            None => 0,
        },
        alpha,
        base,
        new,
        paired_rows: pairing.pairs.len(),
        unpaired_base: pairing.unpaired_base,
        unpaired_new: pairing.unpaired_new,
        graders,
        overall,
        regressed_total: regressed.len(),
        regressed_items: regressed.into_iter().take(REGRESSED_SHOWN).collect(),
    }
}
