//! `evalctl runs`: one row per run of the project's evals, live and superseded, with its
//! counts and report link.

use std::io::{self, Write};

use super::table::{percent, utc, write_table};
use crate::api::wire::EvalRun;
use crate::gate::ratio;
use crate::plan::{run_key_of, RemoteEval};

const HEADER: [&str; 12] = [
    "EVAL",
    "STATE",
    "RUN",
    "RUN ID",
    "STATUS",
    "CREATED",
    "PASSED",
    "FAILED",
    "ERRORED",
    "TOTAL",
    "PASS RATE",
    "REPORT",
];

/// The runs of `evals` (in the order given), oldest first within an eval.
pub fn runs_table(evals: &[&RemoteEval], out: &mut dyn Write) -> io::Result<()> {
    let rows: Vec<Vec<String>> = evals
        .iter()
        .flat_map(|eval| eval.runs.iter().map(move |run| row(eval, run)))
        .collect();
    if rows.is_empty() {
        return writeln!(out, "No runs.");
    }
    write_table(out, &HEADER, &rows)
}

fn row(eval: &RemoteEval, run: &EvalRun) -> Vec<String> {
    let counts = run.result_counts.unwrap_or_default();
    let rate = match counts.total {
        0 => "-".to_string(),
        total => percent(ratio(counts.passed, total)),
    };
    let state = if eval.is_superseded() {
        "superseded"
    } else {
        "live"
    };
    vec![
        eval.key().unwrap_or("").to_string(),
        state.to_string(),
        run_key_of(run).unwrap_or("-").to_string(),
        run.id.clone(),
        run.status.to_string(),
        utc(run.created_at),
        counts.passed.to_string(),
        counts.failed.to_string(),
        counts.errored.to_string(),
        counts.total.to_string(),
        rate,
        run.report_url.clone().unwrap_or_else(|| "-".into()),
    ]
}
