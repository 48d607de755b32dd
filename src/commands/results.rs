//! `evalctl results`: one page of a run's output items, the drill-down of the Azure how-to.
//! The filters and the cursor go to the service unchanged and the page comes back as the
//! service gave it, so what a user sees is what the service holds; evalctl only finds the run
//! (by run key or id) and renders the page as a table, JSON, JSON Lines or CSV.

use std::io::Write;

use reqwest::Method;
use serde_json::Value;

use super::runs::{self, ProjectEval};
use super::session::Session;
use super::wait::grader_name;
use super::{load_valid, runtime};
use crate::api::wire::EvalRun;
use crate::api::{ApiError, Client};
use crate::cli::{ItemStatus, Order, ResultsArgs, ResultsFormat};
use crate::manifest::diagnostic::did_you_mean;
use crate::manifest::Project;
use crate::Error;

/// Characters of a row shown in the human table.
const EXCERPT: usize = 48;

/// One page as the service answered it: the bytes, and the same parsed.
struct ItemPage {
    raw: Vec<u8>,
    items: Vec<Value>,
    has_more: bool,
    last_id: Option<String>,
}

pub(crate) fn results(
    args: &ResultsArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let project = load_valid(&args.project, false, err)?;
    let (shown, page) = runtime()?.block_on(async {
        let session = Session::open(&project, &args.target).await?;
        let result = fetch(&session.client, &project, args).await;
        session.close().await;
        result
    })?;
    writeln!(err, "{shown}").map_err(Error::Output)?;
    print(&page, args.output, out, err).map_err(Error::Output)?;
    Ok(0)
}

/// Finds the run and fetches the page; also says which run it is, for stderr.
async fn fetch(
    client: &Client,
    project: &Project,
    args: &ResultsArgs,
) -> Result<(String, ItemPage), Error> {
    let evals = runs::managed_evals(client, &project.name).await?;
    let evals = runs::select(evals, &args.eval_key, project)?;
    let evals = runs::with_runs(client, evals).await?;
    let (eval, run) = find_run(&evals, &args.eval_key, &args.run)?;
    let shown = format!(
        "{}/{}: run {} ({}) of the {} eval {}",
        eval.key,
        runs::run_key(run),
        run.id,
        run.status,
        if eval.superseded {
            "superseded"
        } else {
            "live"
        },
        eval.eval.id
    );
    let page = item_page(client, &eval.eval.id, &run.id, &query(args)).await?;
    Ok((shown, page))
}

/// The newest run with this key on the live eval, else the run with this id on any eval
/// of the key (runs of superseded evals are reached by id).
fn find_run<'a>(
    evals: &'a [ProjectEval],
    eval_key: &str,
    run: &str,
) -> Result<(&'a ProjectEval, &'a EvalRun), Error> {
    let live = evals.iter().find(|e| !e.superseded);
    let by_key = live.and_then(|e| {
        let newest = e.runs.iter().rev().find(|r| runs::run_key(r) == run);
        newest.map(|r| (e, r))
    });
    let by_id = || {
        evals
            .iter()
            .find_map(|e| e.runs.iter().find(|r| r.id == run).map(|r| (e, r)))
    };
    by_key
        .or_else(by_id)
        .ok_or_else(|| no_run(evals, live, eval_key, run))
}

fn no_run(evals: &[ProjectEval], live: Option<&ProjectEval>, eval_key: &str, run: &str) -> Error {
    let mut message = format!("eval `{eval_key}` has no run with key or id `{run}`");
    let live_keys = live
        .into_iter()
        .flat_map(|e| e.runs.iter().map(runs::run_key));
    let on_superseded = evals
        .iter()
        .filter(|e| e.superseded)
        .any(|e| e.runs.iter().any(|r| runs::run_key(r) == run));
    if on_superseded {
        message.push_str(
            " on its live eval; superseded evals have runs with that key: \
             pass a run id from `evalctl runs`",
        );
    } else if let Some(close) = did_you_mean(run, live_keys) {
        message.push_str(&format!(" (did you mean `{close}`?)"));
    }
    Error::NotFound(message)
}

/// The service's own query parameters, only those the user gave.
fn query(args: &ResultsArgs) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if let Some(status) = args.status {
        let status = match status {
            ItemStatus::Pass => "pass",
            ItemStatus::Fail => "fail",
        };
        query.push(("status", status.to_string()));
    }
    if let Some(limit) = args.limit {
        query.push(("limit", limit.to_string()));
    }
    if let Some(after) = &args.after {
        query.push(("after", after.clone()));
    }
    if let Some(order) = args.order {
        let order = match order {
            Order::Asc => "asc",
            Order::Desc => "desc",
        };
        query.push(("order", order.to_string()));
    }
    query
}

/// One page, raw, so `--output json` can print exactly what the service sent.
async fn item_page(
    client: &Client,
    eval_id: &str,
    run_id: &str,
    query: &[(&str, String)],
) -> Result<ItemPage, ApiError> {
    let path = format!("/evals/{eval_id}/runs/{run_id}/output_items");
    let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let raw = client.send(Method::GET, &path, &pairs, None).await?;
    let decode = |message: String| ApiError::Decode {
        method: "GET".into(),
        path: path.clone(),
        message,
    };
    let page: Value = serde_json::from_slice(&raw).map_err(|e| decode(e.to_string()))?;
    let items = page["data"]
        .as_array()
        .cloned()
        .ok_or_else(|| decode("the list has no `data` array".into()))?;
    Ok(ItemPage {
        has_more: page["has_more"].as_bool().unwrap_or(false),
        last_id: page["last_id"].as_str().map(String::from),
        raw,
        items,
    })
}

fn print(
    page: &ItemPage,
    format: ResultsFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        ResultsFormat::Json => {
            out.write_all(&page.raw)?;
            if !page.raw.ends_with(b"\n") {
                writeln!(out)?;
            }
            Ok(())
        }
        ResultsFormat::Jsonl => {
            for item in &page.items {
                writeln!(out, "{item}")?;
            }
            paging(page, err)
        }
        ResultsFormat::Csv => {
            csv(&page.items, out)?;
            paging(page, err)
        }
        ResultsFormat::Human => {
            human(&page.items, out)?;
            paging(page, out)
        }
    }
}

/// Where the page ends, so a user can ask for the next one with `--after`.
fn paging(page: &ItemPage, out: &mut dyn Write) -> std::io::Result<()> {
    let last = page.last_id.as_deref().unwrap_or("-");
    let count = page.items.len();
    let noun = if count == 1 { "item" } else { "items" };
    write!(
        out,
        "{count} {noun}, has_more: {}, last_id: {last}",
        page.has_more
    )?;
    match (&page.last_id, page.has_more) {
        (Some(last), true) => writeln!(out, " (next page: --after {last})"),
        _ => writeln!(out),
    }
}

/// Grader names in the order they first appear, so columns follow the eval's criteria.
fn grader_names(items: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for result in items.iter().flat_map(results_of) {
        let name = grader_name(result["name"].as_str().unwrap_or_default());
        if !names.contains(&name) {
            names.push(name);
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

fn human(items: &[Value], out: &mut dyn Write) -> std::io::Result<()> {
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
    runs::write_table(out, &header, &rows)
}

/// `pass 1.00`, `fail 0.25`, `error`, or `-` when the grader did not grade the row.
fn verdict(result: Option<&Value>) -> String {
    let Some(result) = result else {
        return "-".into();
    };
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

fn csv(items: &[Value], out: &mut dyn Write) -> std::io::Result<()> {
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
fn csv_record(fields: &[String], out: &mut dyn Write) -> std::io::Result<()> {
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
