//! `evalctl compare`: two runs of a run key side by side, per grader and overall, for people
//! (a table), for tools (JSON with the documented field names, rates as fractions of 1) and
//! for a pull request (Markdown).

use std::io::{self, Write};

use super::markdown::{cell_code, code, escape};
use super::table::{percent, utc, write_table};
use super::terminal::printable;
use crate::compare::pairing::{Comparison, Method};
use crate::compare::stats::min_discordant;
use crate::compare::{RunComparison, RunRef};
use crate::shown::count;

pub fn comparison_json(compared: &RunComparison, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, compared)?;
    writeln!(out)
}

pub fn comparison_human(c: &RunComparison, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{}/{}: run {} against run {}",
        printable(&c.eval_key),
        printable(&c.run_key),
        printable(&run_words(&c.new)),
        printable(&run_words(&c.base)),
    )?;
    writeln!(out, "{}", printable(&pairing_line(c)))?;
    writeln!(out)?;
    let header = [
        "GRADER",
        "PAIRED",
        "BASE",
        "NEW",
        "DELTA",
        "95% CI",
        "PASS->FAIL",
        "FAIL->PASS",
        "P",
        "VERDICT",
    ];
    let rows: Vec<Vec<String>> = c
        .graders
        .iter()
        .chain(std::iter::once(&c.overall))
        .map(row)
        .collect();
    write_table(out, &header, &rows)?;
    writeln!(out)?;
    if let Some(line) = errored_line(c) {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "{}", method_line(c))?;
    if !c.regressed_items.is_empty() {
        writeln!(out, "\n{}:", regressed_title(c))?;
        for item in &c.regressed_items {
            writeln!(
                out,
                "  {}  {}",
                printable(&item.id),
                printable(&crate::shown::shorten(&item.pair_key))
            )?;
        }
        if let Some(more) = more_regressed(c) {
            writeln!(out, "  {more}")?;
        }
    }
    Ok(())
}

/// `evalrun_… (completed, 2026-12-04 10:00 UTC)`.
fn run_words(run: &RunRef) -> String {
    format!(
        "{} ({}, {})",
        run.run_id,
        run.status.as_str(),
        utc(run.created_at)
    )
}

fn regressed_title(c: &RunComparison) -> String {
    format!(
        "Regressed rows ({} passed every grader before and fail now)",
        c.regressed_total
    )
}

fn more_regressed(c: &RunComparison) -> Option<String> {
    let more = c.regressed_total.saturating_sub(c.regressed_items.len());
    (more > 0).then(|| format!("… and {more} more"))
}

/// Rows a grader could not grade, which every comparison leaves out.
fn errored_line(c: &RunComparison) -> Option<String> {
    let (base, new) = c
        .graders
        .iter()
        .chain(std::iter::once(&c.overall))
        .fold((0, 0), |(b, n), g| {
            (b.max(g.errored_base), n.max(g.errored_new))
        });
    (base + new > 0).then(|| {
        format!(
            "Left out, not graded (an error or no result): up to {} of the base run and {} of the new run.",
            count(base as usize, "row", "rows"),
            count(new as usize, "row", "rows")
        )
    })
}

pub fn comparison_markdown(c: &RunComparison, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "#### {}: {} ({}) against {} ({})\n\n{}\n",
        code(&format!("{}/{}", c.eval_key, c.run_key)),
        code(&c.new.run_id),
        escape(c.new.status.as_str()),
        code(&c.base.run_id),
        escape(c.base.status.as_str()),
        escape(&pairing_line(c))
    )?;
    writeln!(
        out,
        "| Grader | Paired | Base | New | Delta | 95% CI | Pass→fail | Fail→pass | p | Verdict |"
    )?;
    writeln!(out, "|:--|--:|--:|--:|--:|:--|--:|--:|--:|:--|")?;
    for comparison in c.graders.iter().chain(std::iter::once(&c.overall)) {
        let cells = row(comparison);
        let verdict = match cells[9].as_str() {
            "regressed" => "**regressed**".to_string(),
            other => other.to_string(),
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {verdict} |",
            cell_code(&cells[0]),
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            cells[6],
            cells[7],
            cells[8]
        )?;
    }
    if let Some(line) = errored_line(c) {
        writeln!(out, "\n{}", escape(&line))?;
    }
    writeln!(out, "\n{}", escape(&method_line(c)))?;
    if !c.regressed_items.is_empty() {
        writeln!(out, "\n{}:\n", escape(&regressed_title(c)))?;
        for item in &c.regressed_items {
            writeln!(
                out,
                "- {} {}",
                code(&item.id),
                code(&crate::shown::shorten(&item.pair_key))
            )?;
        }
        if let Some(more) = more_regressed(c) {
            writeln!(out, "- {more}")?;
        }
    }
    Ok(())
}

/// `paired 98 rows by item.id; 2 of the new run's and 1 of the base's could not be paired`.
fn pairing_line(c: &RunComparison) -> String {
    let by = match (&c.pair_by, c.keyed_by_content) {
        (None, _) => "identical item content".to_string(),
        (Some(field), 0) => field.clone(),
        (Some(field), n) => format!(
            "{field} ({} without it by identical content)",
            count(n, "row", "rows")
        ),
    };
    let mut line = format!("paired {} by {by}", count(c.paired_rows, "row", "rows"));
    if c.unpaired_base + c.unpaired_new > 0 {
        line.push_str(&format!(
            "; {} of the new run's and {} of the base run's could not be paired",
            c.unpaired_new, c.unpaired_base
        ));
    }
    line
}

fn method_line(c: &RunComparison) -> String {
    let alpha = c.alpha;
    match c.overall.method {
        Method::Paired => format!("Paired rows: exact two-sided McNemar test on the discordant pairs, Agresti-Min 95% interval of the difference; verdicts at p < {alpha}, inconclusive below {} discordant pairs.", min_discordant(alpha)),
        Method::Unpaired => format!("No row could be paired: Fisher's exact test on the two runs' totals, no interval; verdicts at p < {alpha}, inconclusive when the runs are too small for any result to be significant."),
    }
}

/// A pass rate, or `-` when nothing was graded.
pub(crate) fn rate_cell(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".into(), percent)
}

/// A p-value: four decimals, or two significant digits below 0.0001, so that a small one is
/// never shown as the threshold it is compared with.
pub(crate) fn p_cell(p: f64) -> String {
    if p > 0.0 && p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

fn signed_percent(share: f64) -> String {
    let text = percent(share);
    if share > 0.0 {
        format!("+{text}")
    } else {
        text
    }
}

fn row(c: &Comparison) -> Vec<String> {
    let interval = match (c.ci_low, c.ci_high) {
        (Some(low), Some(high)) => format!("[{}, {}]", signed_percent(low), signed_percent(high)),
        _ => "-".into(),
    };
    let verdict = serde_json::to_value(c.verdict)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    vec![
        c.name.clone(),
        c.paired.to_string(),
        rate_cell(c.base_pass_rate),
        rate_cell(c.new_pass_rate),
        c.delta.map_or_else(|| "-".into(), signed_percent),
        interval,
        c.pass_to_fail.to_string(),
        c.fail_to_pass.to_string(),
        p_cell(c.p_value),
        verdict,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::wire::RunStatus;
    use crate::compare::pairing::rows;
    use serde_json::json;

    fn run(id: &str) -> RunRef {
        RunRef {
            run_id: id.into(),
            eval_id: "eval_1".into(),
            created_at: 0,
            status: RunStatus::Completed,
        }
    }

    #[test]
    fn a_grader_name_with_a_pipe_keeps_the_markdown_table_whole() {
        let items = |passed: bool| {
            (0..8)
                .map(|i| {
                    json!({"id": format!("i{i}"), "datasource_item": {"n": i},
                    "results": [{"name": "a|b-1", "passed": passed || i > 0}]})
                })
                .collect::<Vec<_>>()
        };
        let (base, new) = (rows(&items(true), None), rows(&items(false), None));
        let compared = crate::compare::run_comparison(
            ("e", "r"),
            (None, 0.05),
            (run("evalrun_base"), &base),
            (run("evalrun_new"), &new),
            &["a|b".into()],
        );
        let mut out = Vec::new();
        comparison_markdown(&compared, &mut out).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(out).unwrap_or_default();
        let row = text
            .lines()
            .find(|l| l.starts_with("| `a"))
            .unwrap_or_else(|| panic!("{text}"));
        // Eleven unescaped pipes: ten cells.
        let cells = row.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 11, "{row}");
        assert!(
            text.contains("Regressed rows (1 passed every grader before and fail now):"),
            "{text}"
        );
        assert_eq!(p_cell(0.000_012), "1.2e-5");
        assert_eq!(p_cell(0.5), "0.5000");
    }
}
