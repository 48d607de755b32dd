//! `evalctl results`: one page of a run's output items, the drill-down of the Azure how-to.
//! The filters and the cursor go to the service unchanged and the page comes back as the
//! service gave it, so what a user sees is what the service holds; evalctl only finds the run
//! (by run key or id) and hands the page to a printer (`render::items_*`).

use std::io::{IsTerminal, Write};

use serde_json::Value;

use super::runs;
use super::session::Session;
use super::{load_valid, runtime};
use crate::api::wire::EvalRun;
use crate::api::{self, ApiError, Client, Fetch, Runs};
use crate::cli::{ItemStatus, Order, ResultsArgs, ResultsFormat};
use crate::manifest::diagnostic::did_you_mean;
use crate::manifest::Project;
use crate::plan::{live_by_key, run_key_of, RemoteEval};
use crate::render::{self, ItemPage};
use crate::shown::count;
use crate::Error;

pub(crate) fn results(
    args: &ResultsArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let project = load_valid(&args.project, false, err)?;
    if args.all {
        let out = &mut super::Unbroken(out);
        return runtime()?.block_on(async {
            let session = Session::open(&project, &args.target, err).await?;
            let result = stream_all(&session.client, &project, args, out, err).await;
            session.close().await;
            result
        });
    }
    let (shown, page) = runtime()?.block_on(async {
        let session = Session::open(&project, &args.target, err).await?;
        let result = fetch(&session.client, &project, args).await;
        session.close().await;
        result
    })?;
    writeln!(err, "{shown}").map_err(Error::Output)?;
    print(&page, args.output, out, err).map_err(Error::Output)?;
    Ok(0)
}

/// The most pages `--all` follows: a million items at 100 a page.
const MAX_ALL_PAGES: usize = 10_000;

/// Every page of the run, each printed as it arrives, with progress on stderr.
async fn stream_all(
    client: &Client,
    project: &Project,
    args: &ResultsArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let (shown, eval, run_id) = find(client, project, args).await?;
    let eval_id = eval.id.clone();
    writeln!(err, "{shown}").map_err(Error::Output)?;
    let format = match args.output {
        ResultsFormat::Human => render::ItemFormat::Human,
        ResultsFormat::Json => render::ItemFormat::Json,
        ResultsFormat::Jsonl => render::ItemFormat::Jsonl,
        ResultsFormat::Csv => render::ItemFormat::Csv,
    };
    let graders = eval
        .testing_criteria
        .iter()
        .filter_map(|g| g["name"].as_str().map(String::from))
        .collect();
    let mut stream = render::ItemStream::new(format, graders);
    let mut query = query(args);
    if args.limit.is_none() {
        query.push(("limit", "100".into()));
    }
    let mut after = args.after.clone();
    let progress_on_terminal = std::io::stderr().is_terminal();
    for pages in 1..=MAX_ALL_PAGES {
        let mut page_query = query.clone();
        page_query.retain(|(name, _)| *name != "after");
        page_query.extend(after.clone().map(|a| ("after", a)));
        let page = item_page(client, &eval_id, &run_id, &page_query).await?;
        stream.page(&page.items, out).map_err(Error::Output)?;
        let next = api::next_cursor(
            page.has_more,
            page.last_id.clone(),
            page.items.is_empty(),
            after.as_deref(),
        )
        .map_err(|message| {
            Error::Api(ApiError::Decode {
                method: "GET".into(),
                path: format!("output items of run {run_id}"),
                message,
            })
        })?;
        let fetched = format!(
            "{} in {pages} pages",
            count(stream.items(), "item", "items")
        );
        match next {
            None => {
                stream.finish(out).map_err(Error::Output)?;
                if progress_on_terminal {
                    write!(err, "\r\x1b[2K").map_err(Error::Output)?;
                }
                writeln!(err, "{fetched}").map_err(Error::Output)?;
                return Ok(0);
            }
            Some(next) => after = Some(next),
        }
        if progress_on_terminal {
            write!(err, "\r\x1b[2K{fetched}…").map_err(Error::Output)?;
        } else if pages % 50 == 0 {
            writeln!(err, "{fetched} so far").map_err(Error::Output)?;
        }
    }
    Err(Error::Api(ApiError::Decode {
        method: "GET".into(),
        path: format!("output items of run {run_id}"),
        message: format!("the service still said more follows after {MAX_ALL_PAGES} pages; evalctl follows no further"),
    }))
}

/// Finds the run and fetches the page; also says which run it is, for stderr.
async fn fetch(
    client: &Client,
    project: &Project,
    args: &ResultsArgs,
) -> Result<(String, ItemPage), Error> {
    let (shown, eval, run_id) = find(client, project, args).await?;
    let page = item_page(client, &eval.id, &run_id, &query(args)).await?;
    Ok((shown, page))
}

/// The run `args` name: what it is (for stderr), its eval and its id.
async fn find(
    client: &Client,
    project: &Project,
    args: &ResultsArgs,
) -> Result<(String, RemoteEval, String), Error> {
    let history = Fetch {
        project: &project.name,
        runs: Runs::OfManaged {
            key: Some(&args.eval_key),
        },
    };
    let remote = api::fetch(client, &history).await?.evals;
    let evals = runs::project_evals(&remote, project, Some(&args.eval_key))?;
    let live = live_by_key(&remote, &project.name);
    let live = live.get(args.eval_key.as_str()).map(|live| live.newest);
    let (eval, run) = find_run(&evals, live, &args.eval_key, &args.run)?;
    let shown = format!(
        "{}/{}: run {} ({}) of the {} eval {}",
        args.eval_key,
        run_key_of(run).unwrap_or("-"),
        run.id,
        run.status,
        if eval.is_superseded() {
            "superseded"
        } else {
            "live"
        },
        eval.id
    );
    Ok((
        render::terminal::printable(&shown).into_owned(),
        eval.clone(),
        run.id.clone(),
    ))
}

/// The newest run with this key on the live eval, else the run with this id on any eval
/// of the key (runs of superseded evals are reached by id).
fn find_run<'a>(
    evals: &[&'a RemoteEval],
    live: Option<&'a RemoteEval>,
    eval_key: &str,
    run: &'a str,
) -> Result<(&'a RemoteEval, &'a EvalRun), Error> {
    let by_key = live.and_then(|e| e.newest_run_named(run).map(|r| (e, r)));
    let by_id = || {
        evals
            .iter()
            .find_map(|e| e.runs.iter().find(|r| r.id == run).map(|r| (*e, r)))
    };
    by_key
        .or_else(by_id)
        .ok_or_else(|| no_run(evals, live, eval_key, run))
}

fn no_run(evals: &[&RemoteEval], live: Option<&RemoteEval>, eval_key: &str, run: &str) -> Error {
    let mut message = format!("eval `{eval_key}` has no run with key or id `{run}`");
    let live_keys = live
        .into_iter()
        .flat_map(|e| e.runs.iter().filter_map(run_key_of));
    let on_superseded = evals
        .iter()
        .filter(|e| e.is_superseded())
        .any(|e| e.runs.iter().any(|r| run_key_of(r) == Some(run)));
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
    let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (raw, path) = client.output_items_raw(eval_id, run_id, &pairs).await?;
    let decode = |message: String| ApiError::Decode {
        method: "GET".into(),
        path: client.shown(&path),
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
        ResultsFormat::Json => render::items_json(page, out),
        ResultsFormat::Jsonl => {
            render::items_jsonl(page, out)?;
            render::paging(page, err)
        }
        ResultsFormat::Csv => {
            render::items_csv(&page.items, out)?;
            render::paging(page, err)
        }
        ResultsFormat::Human => {
            render::items_table(&page.items, out)?;
            render::paging(page, out)
        }
    }
}
