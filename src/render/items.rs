//! `evalctl results`: one page of a run's output items as the service gave it: JSON as it
//! came, JSON Lines, CSV, or a table for people with one verdict column per grader. The
//! paging line says how to ask for the next page.

use std::io::{self, Write};

use serde_json::Value;

use super::table::write_table;
use crate::api::wire::grader_name;

/// Characters of a row shown in the human table.
const EXCERPT: usize = 48;

/// One page as the service answered it: the bytes, and the same parsed.
pub struct ItemPage {
    pub raw: Vec<u8>,
    pub items: Vec<Value>,
    pub has_more: bool,
    pub last_id: Option<String>,
}

/// The raw page, exactly as the service sent it.
pub fn items_json(page: &ItemPage, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(&page.raw)?;
    if !page.raw.ends_with(b"\n") {
        writeln!(out)?;
    }
    Ok(())
}

pub fn items_jsonl(page: &ItemPage, out: &mut dyn Write) -> io::Result<()> {
    for item in &page.items {
        writeln!(out, "{item}")?;
    }
    Ok(())
}

/// Where the page ends, so a user can ask for the next one with `--after`.
pub fn paging(page: &ItemPage, out: &mut dyn Write) -> io::Result<()> {
    let last = page.last_id.as_deref().unwrap_or("-");
    let items = crate::shown::count(page.items.len(), "item", "items");
    let last = super::terminal::printable(last);
    write!(out, "{items}, has_more: {}, last_id: {last}", page.has_more)?;
    match (&page.last_id, page.has_more) {
        (Some(_), true) => writeln!(out, " (next page: --after {last})"),
        _ => writeln!(out),
    }
}

/// Grader names in the order they first appear, so columns follow the eval's criteria.
fn grader_names(items: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for result in items.iter().flat_map(results_of) {
        let name = grader_name(result["name"].as_str().unwrap_or_default());
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

fn results_of(item: &Value) -> &[Value] {
    item["results"].as_array().map_or(&[], Vec::as_slice)
}

/// An item's result for the grader named `name`.
fn result_for<'a>(item: &'a Value, name: &str) -> Option<&'a Value> {
    results_of(item)
        .iter()
        .find(|r| grader_name(r["name"].as_str().unwrap_or_default()) == name)
}

/// A JSON scalar as plain text: strings unquoted, `null` empty.
fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn items_table(items: &[Value], out: &mut dyn Write) -> io::Result<()> {
    if items.is_empty() {
        return writeln!(out, "No output items.");
    }
    let names = grader_names(items);
    let mut header = vec!["ID", "STATUS"];
    header.extend(names.iter().map(String::as_str));
    header.push("ROW");
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            let mut row = vec![text(&item["id"]), text(&item["status"])];
            row.extend(names.iter().map(|n| verdict(result_for(item, n))));
            row.push(excerpt(&item["datasource_item"]));
            row
        })
        .collect();
    write_table(out, &header, &rows)
}

/// `pass 1.00`, `fail 0.25`, `error`, or `-` when the grader did not grade the row.
fn verdict(result: Option<&Value>) -> String {
    let Some(result) = result else {
        return "-".into();
    };
    // A Foundry project says `status: errored` (or `skipped`), with `passed` null.
    match result["status"].as_str() {
        Some("errored") => return "error".into(),
        Some("skipped") => return "skipped".into(),
        _ => {}
    }
    if !result["error"].is_null() {
        return "error".into();
    }
    let word = match result["passed"].as_bool() {
        Some(true) => "pass",
        Some(false) => "fail",
        None => "?",
    };
    match result["score"].as_f64() {
        Some(score) => format!("{word} {score:.2}"),
        None => word.into(),
    }
}

fn excerpt(row: &Value) -> String {
    let whole = row.to_string();
    if whole.chars().count() <= EXCERPT {
        return whole;
    }
    let cut: String = whole.chars().take(EXCERPT - 1).collect();
    format!("{cut}…")
}

/// Columns `id,status,datasource_item_id`, then `<grader> passed,<grader> score` per grader,
/// then `datasource_item` (the row as compact JSON).
pub fn items_csv(items: &[Value], out: &mut dyn Write) -> io::Result<()> {
    let names = grader_names(items);
    let mut header = vec![
        "id".to_string(),
        "status".into(),
        "datasource_item_id".into(),
    ];
    for name in &names {
        header.push(format!("{name} passed"));
        header.push(format!("{name} score"));
    }
    header.push("datasource_item".into());
    csv_record(&header, out)?;
    for item in items {
        let mut record = vec![
            text(&item["id"]),
            text(&item["status"]),
            text(&item["datasource_item_id"]),
        ];
        for name in &names {
            let result = result_for(item, name);
            record.push(result.map(|r| text(&r["passed"])).unwrap_or_default());
            record.push(result.map(|r| text(&r["score"])).unwrap_or_default());
        }
        record.push(item["datasource_item"].to_string());
        csv_record(&record, out)?;
    }
    Ok(())
}

/// One RFC 4180 record: a field is quoted when it holds a comma, a quote or a line break,
/// with quotes doubled. Written by hand: this is the only CSV evalctl writes.
fn csv_record(fields: &[String], out: &mut dyn Write) -> io::Result<()> {
    let quoted: Vec<String> = fields
        .iter()
        .map(|field| {
            if field.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", field.replace('"', "\"\""))
            } else {
                field.clone()
            }
        })
        .collect();
    writeln!(out, "{}", quoted.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        let mut out = Vec::new();
        let fields = ["plain", "a,b", "say \"hi\"", "two\nlines"].map(String::from);
        csv_record(&fields, &mut out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            String::from_utf8_lossy(&out),
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
        );
    }

    #[test]
    fn verdicts_show_pass_fail_score_and_errors() {
        assert_eq!(
            verdict(Some(&json!({"passed": true, "score": 1.0}))),
            "pass 1.00"
        );
        assert_eq!(
            verdict(Some(&json!({"passed": false, "score": 0.25}))),
            "fail 0.25"
        );
        let errored = json!({"passed": false, "score": 0.0, "error": {"code": "x"}});
        assert_eq!(verdict(Some(&errored)), "error");
        let in_project = json!({"passed": null, "status": "errored", "reason": "no model"});
        assert_eq!(verdict(Some(&in_project)), "error");
        assert_eq!(verdict(None), "-");
    }

    #[test]
    fn long_rows_are_cut_to_an_excerpt() {
        let row = json!({"text": "x".repeat(100)});
        assert_eq!(excerpt(&row).chars().count(), EXCERPT);
        assert!(excerpt(&row).ends_with('…'));
        assert_eq!(excerpt(&json!({"a": 1})), "{\"a\":1}");
    }
}
