//! `evalctl history EVAL_KEY RUN_KEY`: the key's runs across the live eval and the ones it
//! replaced; the newest `--last` of them that completed, and the completed run before each,
//! fetched to compare each with its predecessor.

use std::io::Write;

use futures_util::{stream, StreamExt, TryStreamExt};

use super::compare::Histories;
use super::runs::project_evals;
use super::session::Session;
use super::{load_valid, runtime};
use crate::cli::{HistoryArgs, PlanFormat};
use crate::compare::history::{compared_runs, history as entries_of};
use crate::compare::pairing::{rows, Row};
use crate::compare::runs::runs_of_key;
use crate::render;
use crate::Error;

/// Runs whose items are fetched at once.
const RUNS_AT_ONCE: usize = 4;

pub(crate) fn history(
    args: &HistoryArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let project = load_valid(&args.project, false, err)?;
    let pair_by = super::compare::pair_by_of(&project, &args.eval_key);
    let entries = runtime()?.block_on(async {
        let session = Session::open(&project, &args.target, err).await?;
        let entries = async {
            let mut histories = Histories::new(&session.client, &project.name);
            histories.of_key(&args.eval_key).await?;
            let evals = project_evals(histories.all(), &project, Some(&args.eval_key))?;
            let runs = runs_of_key(&evals, &args.run_key);
            let shown = usize::from(args.last);
            // A few runs at a time, each reduced to its rows as soon as it is fetched: the
            // items themselves (samples and all) are never all held at once.
            let fetched: Vec<(String, Vec<Row>)> = stream::iter(compared_runs(&runs, shown))
                .map(|keyed| {
                    let client = &session.client;
                    async move {
                        let items = client
                            .all_output_items(&keyed.eval.id, &keyed.run.id)
                            .await?;
                        Ok::<_, Error>((keyed.run.id.clone(), rows(&items, pair_by)))
                    }
                })
                .buffer_unordered(RUNS_AT_ONCE)
                .try_collect()
                .await?;
            let rows = fetched.into_iter().collect();
            let keys = (args.eval_key.as_str(), args.run_key.as_str());
            Ok::<_, Error>(entries_of(keys, pair_by, &runs, shown, &rows))
        }
        .await;
        session.close().await;
        entries
    })?;
    let key = format!("{}/{}", args.eval_key, args.run_key);
    let printed = match args.output {
        PlanFormat::Human => render::history_human(&key, &entries, out),
        PlanFormat::Json => render::history_json((&args.eval_key, &args.run_key), &entries, out),
        PlanFormat::Markdown => render::history_markdown(&key, &entries, out),
    };
    printed.map_err(Error::Output)?;
    Ok(0)
}
