//! `evalctl history EVAL_KEY RUN_KEY`: the key's runs across the live eval and the ones it
//! replaced, the newest `--last` of them fetched whole to compare each with the one before.

use std::io::Write;

use futures_util::future::try_join_all;

use super::runs::{history as fetch_history, project_evals};
use super::session::Session;
use super::{load_valid, runtime};
use crate::cli::{HistoryArgs, PlanFormat};
use crate::compare::history::history as entries_of;
use crate::compare::runs::runs_of_key;
use crate::render;
use crate::Error;

pub(crate) fn history(
    args: &HistoryArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let project = load_valid(&args.project, false, err)?;
    let remote = fetch_history(&project, &args.target, Some(&args.eval_key), err)?;
    let evals = project_evals(&remote, &project, Some(&args.eval_key))?;
    let mut runs = runs_of_key(&evals, &args.run_key);
    runs.truncate(usize::from(args.last));
    runs.reverse();
    let pair_by = project
        .evals
        .get(&args.eval_key)
        .and_then(|e| e.spec.pair_by.as_deref())
        .and_then(|p| p.strip_prefix("item."));
    let with_items = runtime()?.block_on(async {
        let session = Session::open(&project, &args.target, err).await?;
        let fetches = runs.iter().map(|keyed| {
            let client = session.client.clone();
            let finished = keyed.run.status.as_str() == "completed";
            async move {
                match finished {
                    true => client.all_output_items(&keyed.eval.id, &keyed.run.id).await,
                    false => Ok(Vec::new()),
                }
            }
        });
        let items = try_join_all(fetches).await;
        session.close().await;
        Ok::<_, Error>(runs.iter().copied().zip(items?).collect::<Vec<_>>())
    })?;
    let entries = entries_of((&args.eval_key, &args.run_key), pair_by, &with_items);
    let key = format!("{}/{}", args.eval_key, args.run_key);
    let printed = match args.output {
        PlanFormat::Human => render::history_human(&key, &entries, out),
        PlanFormat::Json => render::history_json((&args.eval_key, &args.run_key), &entries, out),
        PlanFormat::Markdown => render::history_markdown(&key, &entries, out),
    };
    printed.map_err(Error::Output)?;
    Ok(0)
}
