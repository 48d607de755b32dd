//! `evalctl results`: a run's output items as the service gave them: JSON, JSON Lines, CSV,
//! or a table for people with one verdict column per grader, with every grader under the
//! name the manifest gave it (the service's ids carry a suffix). One page with a paging line
//! that says how to ask for the next, or every page streamed (`--all`).

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

/// The page as the service sent it, grader names as written in the manifest.
pub fn items_json(page: &ItemPage, out: &mut dyn Write) -> io::Result<()> {
    let mut whole: Value = serde_json::from_slice(&page.raw).map_err(io::Error::other)?;
    if let Some(items) = whole.get_mut("data").and_then(Value::as_array_mut) {
        items.iter_mut().for_each(name_graders);
    }
    serde_json::to_writer_pretty(&mut *out, &whole)?;
    writeln!(out)
}

pub fn items_jsonl(page: &ItemPage, out: &mut dyn Write) -> io::Result<()> {
    for item in &page.items {
        writeln!(out, "{}", named(item))?;
    }
    Ok(())
}

/// An item whose results name their grader as the manifest does.
fn named(item: &Value) -> Value {
    let mut item = item.clone();
    name_graders(&mut item);
    item
}

fn name_graders(item: &mut Value) {
    let Some(results) = item.get_mut("results").and_then(Value::as_array_mut) else {
        return;
    };
    for result in results {
        if let Some(name) = result.get("name").and_then(Value::as_str) {
            let name = Value::from(grader_name(name));
            result["name"] = name;
        }
    }
}

/// Every page of a run's items, printed as it arrives: one JSON list, JSON Lines, one CSV
/// (header from the first page's graders), or a table per page.
pub struct ItemStream {
    format: ItemFormat,
    /// The CSV's grader columns: the eval's graders, else those of the first page.
    names: Option<Vec<String>>,
    started: bool,
    items: usize,
    first_id: Option<String>,
    last_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemFormat {
    Human,
    Json,
    Jsonl,
    Csv,
}

impl ItemStream {
    /// `graders`: the eval's grader names, which fix the CSV's columns before any page (a
    /// first page whose rows all errored names none).
    pub fn new(format: ItemFormat, graders: Vec<String>) -> ItemStream {
        ItemStream {
            format,
            names: (!graders.is_empty()).then_some(graders),
            started: false,
            items: 0,
            first_id: None,
            last_id: None,
        }
    }

    /// Items printed so far.
    pub fn items(&self) -> usize {
        self.items
    }

    pub fn page(&mut self, items: &[Value], out: &mut dyn Write) -> io::Result<()> {
        let first_page = !self.started;
        self.started = true;
        let names = self.names.get_or_insert_with(|| grader_names(items));
        match self.format {
            ItemFormat::Json => {
                if first_page {
                    write!(out, "{{\"object\": \"list\", \"data\": [")?;
                }
                for (i, item) in items.iter().enumerate() {
                    let comma = if self.items + i == 0 { "" } else { "," };
                    write!(out, "{comma}\n{}", named(item))?;
                }
            }
            ItemFormat::Jsonl => items
                .iter()
                .try_for_each(|item| writeln!(out, "{}", named(item)))?,
            ItemFormat::Csv => {
                let header = first_page.then(|| csv_header(names));
                let rows = items.iter().map(|item| csv_row(item, names));
                super::csv::write_records(header.into_iter().chain(rows), out)?;
            }
            ItemFormat::Human => items_table(items, out)?,
        }
        self.items += items.len();
        if self.first_id.is_none() {
            self.first_id = items.first().map(|i| text(&i["id"]));
        }
        if let Some(last) = items.last() {
            self.last_id = Some(text(&last["id"]));
        }
        Ok(())
    }

    /// Closes the JSON list (an empty one when no page came).
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.format != ItemFormat::Json {
            return Ok(());
        }
        if !self.started {
            write!(out, "{{\"object\": \"list\", \"data\": [")?;
        }
        let tail = serde_json::json!({"first_id": self.first_id, "last_id": self.last_id});
        writeln!(
            out,
            "\n], \"first_id\": {}, \"last_id\": {}, \"has_more\": false}}",
            tail["first_id"], tail["last_id"]
        )
    }
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
    let rows = items.iter().map(|item| csv_row(item, &names));
    super::csv::write_records(std::iter::once(csv_header(&names)).chain(rows), out)
}

fn csv_header(names: &[String]) -> Vec<String> {
    let mut header = vec![
        "id".to_string(),
        "status".into(),
        "datasource_item_id".into(),
    ];
    for name in names {
        header.push(format!("{name} passed"));
        header.push(format!("{name} score"));
    }
    header.push("datasource_item".into());
    header
}

fn csv_row(item: &Value, names: &[String]) -> Vec<String> {
    let mut record = vec![
        text(&item["id"]),
        text(&item["status"]),
        text(&item["datasource_item_id"]),
    ];
    for name in names {
        let result = result_for(item, name);
        record.push(result.map(|r| text(&r["passed"])).unwrap_or_default());
        record.push(result.map(|r| text(&r["score"])).unwrap_or_default());
    }
    record.push(item["datasource_item"].to_string());
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        let mut out = Vec::new();
        let fields = ["plain", "a,b", "say \"hi\"", "two\nlines"].map(String::from);
        super::super::csv::write_records([fields.to_vec()], &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
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
    fn streamed_csv_columns_are_the_evals_graders_even_when_the_first_page_names_none() {
        let mut stream = ItemStream::new(ItemFormat::Csv, vec!["same".into()]);
        let mut out = Vec::new();
        let errored = json!({"id": "i1", "status": "error", "results": [], "datasource_item": {}});
        let graded = json!({"id": "i2", "status": "pass", "datasource_item": {},
            "results": [{"name": "same-6d3fb9a2-46a4-4b4d-9c4e-3f1c1b0e8a11", "passed": true, "score": 1.0}]});
        stream
            .page(&[errored], &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        stream
            .page(&[graded], &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            String::from_utf8_lossy(&out),
            "id,status,datasource_item_id,same passed,same score,datasource_item\ni1,error,,,,{}\ni2,pass,,true,1.0,{}\n"
        );
    }

    #[test]
    fn long_rows_are_cut_to_an_excerpt() {
        let row = json!({"text": "x".repeat(100)});
        assert_eq!(excerpt(&row).chars().count(), EXCERPT);
        assert!(excerpt(&row).ends_with('…'));
        assert_eq!(excerpt(&json!({"a": 1})), "{\"a\":1}");
    }
}
