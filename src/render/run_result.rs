//! A run `apply --wait` waited for: its counts, each grader's pass rate, the service's error
//! and report link, and every check of its gate with the verdict already decided
//! (`gate::judge`).

use std::io::{self, Write};

use super::table::percent;
use super::terminal::printable;
use crate::api::wire::EvalRun;
use crate::gate::{grader_results, ratio, Check, Scope, Verdict};
use crate::shown::shorten;

pub fn run_result(
    eval_key: &str,
    run_key: &str,
    run: &EvalRun,
    verdict: Option<&Verdict>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let counts = run.result_counts.unwrap_or_default();
    // Only a Foundry project skips rows; elsewhere the line stays as it always was.
    let skipped = match counts.skipped {
        0 => String::new(),
        n => format!(", {n} skipped"),
    };
    writeln!(
        out,
        "{eval_key}/{run_key} ({}): {}: {} passed, {} failed, {} errored{skipped} of {} ({})",
        printable(&run.id),
        printable(run.status.as_str()),
        counts.passed,
        counts.failed,
        counts.errored,
        counts.total,
        percent(ratio(counts.passed, counts.total))
    )?;
    if let Some(error) = &run.error {
        let said = format!("{}: {}", error.code, error.message);
        writeln!(out, "  error: {}", printable(&shorten(&said)))?;
    }
    for grader in grader_results(run) {
        writeln!(
            out,
            "  {}: {}/{} passed ({})",
            printable(&shorten(&grader.name)),
            grader.passed,
            grader.graded,
            percent(ratio(grader.passed, grader.graded))
        )?;
    }
    if let Some(url) = &run.report_url {
        writeln!(out, "  report: {}", printable(&shorten(url)))?;
    }
    for (scope, check) in verdict.map_or(&[][..], |v| &v.checks) {
        writeln!(out, "  {}", check_line(scope, check))?;
    }
    Ok(())
}

fn signed(change: f64) -> String {
    match change > 0.0 {
        true => format!("+{}", percent(change)),
        false => percent(change),
    }
}

/// `gate overall: pass rate 80.6% (minimum 70.0%): passed`.
pub(crate) fn check_line(scope: &Scope, check: &Check) -> String {
    let what = match scope {
        Scope::Overall => "overall".to_string(),
        Scope::Grader(name) => printable(name).into_owned(),
    };
    match check {
        Check::Rate { rate, min, passed } => format!(
            "gate {what}: pass rate {} (minimum {}): {}",
            percent(*rate),
            percent(*min),
            if *passed { "passed" } else { "FAILED" }
        ),
        Check::NoResults => {
            format!("gate {what}: FAILED: the run has no results for grader `{what}`")
        }
        Check::Regression {
            baseline,
            drop,
            max_drop,
            p_value,
            alpha,
            passed,
        } => format!(
            "gate {what}: pass rate {} against run {} (a drop over {} fails when p < {alpha}), p = {p_value:.4}: {}",
            signed(-drop),
            printable(baseline),
            percent(*max_drop),
            if *passed { "passed" } else { "FAILED" }
        ),
        Check::NoBaseline => {
            format!("gate {what}: no earlier completed run to compare with: passed")
        }
    }
}
