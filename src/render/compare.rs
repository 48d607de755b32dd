//! `evalctl compare`: two runs of a run key side by side, per grader and overall, for people
//! (a table), for tools (JSON with the documented field names, rates as fractions of 1) and
//! for a pull request (Markdown).

use std::io::{self, Write};

use super::markdown::{code, escape};
use super::table::{percent, utc, write_table};
use super::terminal::printable;
use crate::compare::pairing::{Comparison, Method};
use crate::compare::RunComparison;
use crate::shown::count;

pub fn comparison_json(compared: &RunComparison, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, compared)?;
    writeln!(out)
}

pub fn comparison_human(c: &RunComparison, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{}/{}: run {} ({}) against run {} ({})",
        printable(&c.eval_key),
        printable(&c.run_key),
        printable(&c.new.run_id),
        utc(c.new.created_at),
        printable(&c.base.run_id),
        utc(c.base.created_at)
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
    writeln!(out, "{}", method_line(&c.overall))?;
    if !c.regressed_items.is_empty() {
        writeln!(
            out,
            "\nRegressed rows ({} passed every grader before and fail now):",
            c.regressed_total
        )?;
        for item in &c.regressed_items {
            writeln!(
                out,
                "  {}  {}",
                printable(&item.id),
                printable(&crate::shown::shorten(&item.pair_key))
            )?;
        }
        if c.regressed_total > c.regressed_items.len() {
            writeln!(
                out,
                "  … and {} more",
                c.regressed_total - c.regressed_items.len()
            )?;
        }
    }
    Ok(())
}

pub fn comparison_markdown(c: &RunComparison, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "#### {}: {} against {}\n\n{}\n",
        code(&format!("{}/{}", c.eval_key, c.run_key)),
        code(&c.new.run_id),
        code(&c.base.run_id),
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
            code(&cells[0]),
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
    writeln!(out, "\n{}", escape(&method_line(&c.overall)))
}

/// `paired 98 rows by item.id; 2 of the new run's and 1 of the base's could not be paired`.
fn pairing_line(c: &RunComparison) -> String {
    let by = c.pair_by.as_deref().unwrap_or("identical item content");
    let mut line = format!("paired {} by {by}", count(c.paired_rows, "row", "rows"));
    if c.unpaired_base + c.unpaired_new > 0 {
        line.push_str(&format!(
            "; {} of the new run's and {} of the base run's could not be paired",
            c.unpaired_new, c.unpaired_base
        ));
    }
    line
}

fn method_line(overall: &Comparison) -> String {
    match overall.method {
        Method::Paired => "Paired rows: exact two-sided McNemar test on the discordant pairs, Agresti-Min 95% interval of the difference; verdicts at p < 0.05, inconclusive below 6 discordant pairs.".into(),
        Method::Unpaired => "No row could be paired: Fisher's exact test on the two runs' totals, no interval; verdicts at p < 0.05.".into(),
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
        percent(c.base_pass_rate),
        percent(c.new_pass_rate),
        signed_percent(c.delta),
        interval,
        c.pass_to_fail.to_string(),
        c.fail_to_pass.to_string(),
        format!("{:.4}", c.p_value),
        verdict,
    ]
}
