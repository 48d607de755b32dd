//! `evalctl report`: one Markdown document for a pull-request comment: the gates' verdicts
//! first, the runs the manifests want (status, pass rate, gate; failed gates first), each
//! grader's pass rate folded, then the plan. It stays under the comment limit: the runs
//! take at most half of it (rows beyond are counted, not shown), the plan the rest.

use std::io::{self, Write};

use super::compare::{p_cell, rate_cell};
use super::markdown::{cell_code, code, escape, markdown_within, LIMIT};
use super::run_result::check_line;
use super::table::percent;
use super::Header;
use crate::api::wire::EvalRun;
use crate::compare::stats::Verdict as Change;
use crate::compare::RunComparison;
use crate::gate::{grader_results, ratio, Verdict};
use crate::plan::Plan;

/// A run the manifests want, as the service holds it.
#[derive(Debug, Clone)]
pub struct ReportedRun<'a> {
    pub eval_key: &'a str,
    pub run_key: &'a str,
    /// `None` when the plan starts it.
    pub run: Option<&'a EvalRun>,
    /// Whether its manifest gives it a gate.
    pub gated: bool,
    /// The gate's verdict, once the run has finished.
    pub verdict: Option<Verdict>,
    /// The run against the run of its key before it, when there is one.
    pub compared: Option<RunComparison>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum GateState {
    Failed,
    Pending,
    NotStarted,
    Passed,
    None,
}

impl ReportedRun<'_> {
    fn gate_state(&self) -> GateState {
        match (self.gated, self.run, &self.verdict) {
            (false, _, _) => GateState::None,
            (true, None, _) => GateState::NotStarted,
            (true, Some(_), None) => GateState::Pending,
            (true, Some(_), Some(v)) if v.passed() => GateState::Passed,
            (true, Some(_), Some(_)) => GateState::Failed,
        }
    }
}

pub fn report(
    plan: &Plan,
    header: &Header,
    runs: &[ReportedRun<'_>],
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut runs: Vec<&ReportedRun> = runs.iter().collect();
    runs.sort_by_key(|r| (r.gate_state(), r.eval_key, r.run_key));
    let mut head = format!(
        "## evalctl report for project {}\n\n{}\n\n",
        code(&plan.project),
        gates_line(&runs)
    );
    for refusal in &plan.refusals {
        head.push_str(&format!(
            "> **Refused:** {}\n\n",
            escape(&refusal.to_string())
        ));
    }
    let mut section = runs_section(&runs, LIMIT * 3 / 8);
    section.push_str(&changes_section(&runs, LIMIT / 8));
    write!(out, "{head}{section}")?;
    markdown_within(
        plan,
        header,
        LIMIT.saturating_sub(head.len() + section.len()),
        out,
    )
}

fn gates_line(runs: &[&ReportedRun]) -> String {
    let count = |state| runs.iter().filter(|r| r.gate_state() == state).count();
    let gated = runs.iter().filter(|r| r.gated).count();
    if gated == 0 {
        return "No run has a gate.".into();
    }
    let mut parts = vec![
        format!("{} failed", count(GateState::Failed)),
        format!("{} passed", count(GateState::Passed)),
    ];
    let waiting = count(GateState::Pending) + count(GateState::NotStarted);
    if waiting > 0 {
        parts.push(format!("{waiting} without a result yet"));
    }
    format!("**Gates: {}.**", parts.join(", "))
}

/// The runs table, the failed checks, and each grader's rates folded, within `budget` bytes.
fn runs_section(runs: &[&ReportedRun], budget: usize) -> String {
    if runs.is_empty() {
        return "The manifests want no runs.\n\n".into();
    }
    let mut failed: Vec<String> = Vec::new();
    for run in runs.iter().filter(|r| r.gate_state() == GateState::Failed) {
        for (scope, check) in run.verdict.iter().flat_map(|v| &v.checks) {
            if !check.passed() {
                failed.push(format!(
                    "- {}: {}\n",
                    code(&format!("{}/{}", run.eval_key, run.run_key)),
                    escape(&check_line(scope, check))
                ));
            }
        }
    }
    // The failed checks get a quarter of the room at most; the rest are counted.
    let mut failed_room = budget / 4;
    let shown_failed = take_within(&failed, &mut failed_room);
    let mut failed_text = failed[..shown_failed].concat();
    if shown_failed < failed.len() {
        failed_text.push_str(&format!(
            "- and {} more failed checks\n",
            failed.len() - shown_failed
        ));
    }
    let failed = failed_text;
    let rows: Vec<String> = runs.iter().map(|r| run_row(r)).collect();
    let graders: Vec<String> = runs.iter().flat_map(|r| grader_rows(r)).collect();
    let table_head = "### Runs\n\n| Run | Status | Passed | Gate |\n|:--|:--|--:|:--|\n";
    let graders_head = "<details><summary>Each grader's pass rate</summary>\n\n| Run | Grader | Passed |\n|:--|:--|--:|\n";
    let failed_part = if failed.is_empty() {
        String::new()
    } else {
        format!("\nFailed gate checks:\n\n{failed}")
    };
    let fixed = table_head.len() + graders_head.len() + failed_part.len() + 200;
    let mut room = budget.saturating_sub(fixed);
    let shown_rows = take_within(&rows, &mut room);
    let shown_graders = take_within(&graders, &mut room);
    let mut out = String::from(table_head);
    rows[..shown_rows].iter().for_each(|r| out.push_str(r));
    if shown_rows < rows.len() {
        out.push_str(&format!(
            "\n> {} more runs left out to keep this comment short (`evalctl runs -o json` lists them).\n",
            rows.len() - shown_rows
        ));
    }
    out.push_str(&failed_part);
    if !graders.is_empty() {
        out.push('\n');
        out.push_str(graders_head);
        graders[..shown_graders]
            .iter()
            .for_each(|r| out.push_str(r));
        if shown_graders < graders.len() {
            out.push_str(&format!(
                "\n> {} more rows left out.\n",
                graders.len() - shown_graders
            ));
        }
        out.push_str("\n</details>\n");
    }
    out.push('\n');
    out
}

/// Every run compared with the run of its key before it, regressions first, in `budget`.
fn changes_section(runs: &[&ReportedRun], budget: usize) -> String {
    let mut compared: Vec<&RunComparison> =
        runs.iter().filter_map(|r| r.compared.as_ref()).collect();
    if compared.is_empty() {
        return String::new();
    }
    let rank = |c: &RunComparison| match c.overall.verdict {
        Change::Regressed => 0,
        Change::Inconclusive => 1,
        Change::Improved => 2,
        Change::Unchanged => 3,
    };
    compared.sort_by_key(|c| (rank(c), c.eval_key.clone(), c.run_key.clone()));
    let rows: Vec<String> = compared
        .iter()
        .map(|c| {
            let o = &c.overall;
            let interval = match (o.ci_low, o.ci_high) {
                (Some(low), Some(high)) => format!("[{}, {}]", percent(low), percent(high)),
                _ => "-".into(),
            };
            let verdict = match o.verdict {
                Change::Regressed => "**regressed**",
                Change::Improved => "improved",
                Change::Unchanged => "unchanged",
                Change::Inconclusive => "inconclusive",
            };
            format!(
                "| {} | {} | {} | {} → {} | {interval} | {} | {verdict} |\n",
                cell_code(&format!("{}/{}", c.eval_key, c.run_key)),
                cell_code(&c.base.run_id),
                o.paired,
                rate_cell(o.base_pass_rate),
                rate_cell(o.new_pass_rate),
                p_cell(o.p_value)
            )
        })
        .collect();
    let head = "### Against the previous run\n\n| Run | Previous | Paired | Pass rate | 95% CI of the change | p | Verdict |\n|:--|:--|--:|:--|:--|--:|:--|\n";
    let mut room = budget.saturating_sub(head.len() + 120);
    let shown = take_within(&rows, &mut room);
    let mut out = format!("{head}{}", rows[..shown].concat());
    if shown < rows.len() {
        out.push_str(&format!(
            "\n> {} more comparisons left out (`evalctl compare` shows each).\n",
            rows.len() - shown
        ));
    }
    out.push_str("\nAll graders passing a row, paired rows, exact McNemar test (`evalctl compare EVAL RUN` for each grader).\n\n");
    out
}

/// How many of `rows` fit in `room`, which they use up.
fn take_within(rows: &[String], room: &mut usize) -> usize {
    let mut taken = 0;
    for row in rows {
        if row.len() > *room {
            break;
        }
        *room -= row.len();
        taken += 1;
    }
    taken
}

fn run_row(run: &ReportedRun) -> String {
    let name = cell_code(&format!("{}/{}", run.eval_key, run.run_key));
    let (status, passed) = match run.run {
        None => (
            "not started: this plan starts it".to_string(),
            "-".to_string(),
        ),
        Some(r) => {
            let counts = r.result_counts.unwrap_or_default();
            let passed = match counts.total {
                0 => "-".to_string(),
                total => format!(
                    "{} ({}/{total})",
                    percent(ratio(counts.passed, total)),
                    counts.passed
                ),
            };
            (escape(r.status.as_str()), passed)
        }
    };
    let gate = match run.gate_state() {
        GateState::Failed => "**FAILED**",
        GateState::Passed => "passed",
        GateState::Pending => "no result yet",
        GateState::NotStarted => "no result yet",
        GateState::None => "-",
    };
    format!("| {name} | {status} | {passed} | {gate} |\n")
}

fn grader_rows(run: &ReportedRun) -> Vec<String> {
    let name = cell_code(&format!("{}/{}", run.eval_key, run.run_key));
    run.run
        .map(grader_results)
        .unwrap_or_default()
        .iter()
        .map(|g| {
            format!(
                "| {name} | {} | {} ({}/{}) |\n",
                cell_code(&g.name),
                percent(ratio(g.passed, g.graded)),
                g.passed,
                g.graded
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::wire::ResultCounts;
    use crate::gate::{Check, Scope};

    #[test]
    fn a_report_of_many_failed_gates_stays_under_the_comment_limit() {
        let run = EvalRun {
            id: "evalrun_1".into(),
            result_counts: Some(ResultCounts {
                total: 10,
                passed: 1,
                failed: 9,
                ..ResultCounts::default()
            }),
            ..EvalRun::default()
        };
        let keys: Vec<String> = (0..400)
            .map(|i| format!("eval-with-a-long-key-{i:04}"))
            .collect();
        let failed = Verdict {
            checks: (0..4)
                .map(|g| {
                    let check = Check::Rate {
                        rate: 0.1,
                        min: 0.9,
                        passed: false,
                    };
                    (
                        Scope::Grader(format!("grader number {g} with a long name")),
                        check,
                    )
                })
                .collect(),
        };
        let runs: Vec<ReportedRun> = keys
            .iter()
            .map(|key| ReportedRun {
                eval_key: key,
                run_key: "nightly",
                run: Some(&run),
                gated: true,
                verdict: Some(failed.clone()),
                compared: None,
            })
            .collect();
        let plan = crate::render::fixture::plan();
        let mut out = Vec::new();
        report(&plan, &crate::render::fixture::header(), &runs, &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&out);
        assert!(text.len() < LIMIT, "{} bytes", text.len());
        assert!(text.contains("more failed checks\n"), "{text}");
        assert!(text.contains("more runs left out"), "{text}");
        assert!(text.contains("**Gates: 400 failed, 0 passed.**"));
    }
}
