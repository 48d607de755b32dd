//! `evalctl runs`: one row per run of the project's evals, live and superseded, with its
//! counts and report link.

use std::io::{self, Write};

use super::table::{percent, utc, write_table};
use crate::api::wire::{grader_name, EvalRun};
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
    let rows = rows(evals);
    if rows.is_empty() {
        return writeln!(out, "No runs.");
    }
    write_table(out, &HEADER, &rows)
}

/// The same rows as CSV, with the table's columns (lower-case, `_` for spaces).
pub fn runs_csv(evals: &[&RemoteEval], out: &mut dyn Write) -> io::Result<()> {
    let header = HEADER.map(|h| h.to_lowercase().replace(' ', "_"));
    super::csv::write_records(std::iter::once(header.to_vec()).chain(rows(evals)), out)
}

/// One JSON object per run, for scripts: the table's facts unformatted (times in Unix
/// seconds, rates as fractions of 1), and each grader's counts under the name the manifest
/// gave it.
pub fn runs_json(evals: &[&RemoteEval], out: &mut dyn Write) -> io::Result<()> {
    let runs: Vec<serde_json::Value> = evals
        .iter()
        .flat_map(|eval| eval.runs.iter().map(move |run| run_json(eval, run)))
        .collect();
    serde_json::to_writer_pretty(&mut *out, &runs)?;
    writeln!(out)
}

fn run_json(eval: &RemoteEval, run: &EvalRun) -> serde_json::Value {
    let counts = run.result_counts.unwrap_or_default();
    let graders: Vec<serde_json::Value> = run
        .per_testing_criteria_results
        .iter()
        .flatten()
        .map(|c| {
            serde_json::json!({
                "name": grader_name(&c.testing_criteria),
                "passed": c.passed,
                "failed": c.failed,
            })
        })
        .collect();
    serde_json::json!({
        "eval_key": eval.key(),
        "eval_id": eval.id,
        "state": state(eval),
        "run_key": run_key_of(run),
        "id": run.id,
        "name": run.name,
        "status": run.status.as_str(),
        "created_at": run.created_at,
        "result_counts": counts,
        "pass_rate": (counts.total > 0).then(|| ratio(counts.passed, counts.total)),
        "graders": graders,
        "error": run.error,
        "report_url": run.report_url,
    })
}

fn rows(evals: &[&RemoteEval]) -> Vec<Vec<String>> {
    evals
        .iter()
        .flat_map(|eval| eval.runs.iter().map(move |run| row(eval, run)))
        .collect()
}

fn state(eval: &RemoteEval) -> &'static str {
    if eval.is_superseded() {
        "superseded"
    } else {
        "live"
    }
}

fn row(eval: &RemoteEval, run: &EvalRun) -> Vec<String> {
    let counts = run.result_counts.unwrap_or_default();
    let rate = match counts.total {
        0 => "-".to_string(),
        total => percent(ratio(counts.passed, total)),
    };
    vec![
        eval.key().unwrap_or("").to_string(),
        state(eval).to_string(),
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
