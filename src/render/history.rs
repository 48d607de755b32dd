//! `evalctl history`: a run key's runs over time for people (a table and a sparkline), for
//! tools (JSON) and for a pull request (Markdown with a Mermaid `xychart-beta` of the pass
//! rate, which GitHub draws).

use std::io::{self, Write};

use super::markdown::{code, escape};
use super::table::{percent, utc, write_table};
use crate::compare::history::{sparkline, Entry};

fn verdict_text(entry: &Entry) -> String {
    entry
        .verdict
        .and_then(|v| serde_json::to_value(v).ok())
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "-".into())
}

fn graders_text(entry: &Entry) -> String {
    entry
        .graders
        .iter()
        .map(|g| format!("{} {}", g.name, percent(g.pass_rate)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn rate_text(entry: &Entry) -> String {
    entry.pass_rate.map_or_else(|| "-".into(), percent)
}

pub fn history_human(key: &str, entries: &[Entry], out: &mut dyn Write) -> io::Result<()> {
    if entries.is_empty() {
        return writeln!(out, "No runs of {key}.");
    }
    let header = [
        "RUN ID",
        "EVAL",
        "STATE",
        "CREATED",
        "STATUS",
        "CHANGE",
        "PASS RATE",
        "GRADERS",
        "VS PREVIOUS",
    ];
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.run_id.clone(),
                e.eval_id.clone(),
                e.eval_state.to_string(),
                utc(e.created_at),
                e.status.clone(),
                e.change.unwrap_or("-").to_string(),
                rate_text(e),
                graders_text(e),
                verdict_text(e),
            ]
        })
        .collect();
    write_table(out, &header, &rows)?;
    writeln!(out, "\npass rate over time: {}", sparkline(entries))
}

pub fn history_json(
    (eval_key, run_key): (&str, &str),
    entries: &[Entry],
    out: &mut dyn Write,
) -> io::Result<()> {
    let document = serde_json::json!({"eval_key": eval_key, "run_key": run_key, "runs": entries});
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

pub fn history_markdown(key: &str, entries: &[Entry], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "#### History of {}\n", code(key))?;
    let rated: Vec<&Entry> = entries.iter().filter(|e| e.pass_rate.is_some()).collect();
    if !rated.is_empty() {
        // Labels are the runs' dates; quoted, and free of the quote that would end them.
        let labels: Vec<String> = rated
            .iter()
            .map(|e| format!("\"{}\"", utc(e.created_at).get(..16).unwrap_or_default()))
            .collect();
        let values: Vec<String> = rated
            .iter()
            .map(|e| format!("{:.1}", e.pass_rate.unwrap_or_default() * 100.0))
            .collect();
        writeln!(
            out,
            "```mermaid\nxychart-beta\n  title \"pass rate (%)\"\n  x-axis [{}]\n  y-axis \"pass rate (%)\" 0 --> 100\n  line [{}]\n```\n",
            labels.join(", "),
            values.join(", ")
        )?;
    }
    writeln!(
        out,
        "| Run | Created | Status | Change | Pass rate | Graders | vs previous |"
    )?;
    writeln!(out, "|:--|:--|:--|:--|--:|:--|:--|")?;
    for e in entries {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            code(&e.run_id),
            utc(e.created_at),
            escape(&e.status),
            e.change.unwrap_or("-"),
            rate_text(e),
            escape(&graders_text(e)),
            verdict_text(e)
        )?;
    }
    Ok(())
}
