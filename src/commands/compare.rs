//! `evalctl compare EVAL_KEY RUN_KEY`: finds the two runs (the newest of the key and the
//! completed one before it, across replacements, unless named), fetches every output item of
//! both, and hands them to `compare::run_comparison`, then to a printer.

use std::io::Write;

use super::runs::{history, project_evals};
use super::{load_valid, runtime};
use crate::api::{self, Client, Fetch, Runs};
use crate::cli::{CompareArgs, PlanFormat};
use crate::compare::runs::{named, previous_completed, runs_of_key, KeyedRun};
use crate::compare::{run_comparison, RunComparison, RunRef};
use crate::plan::RemoteEval;
use crate::render;
use crate::Error;

pub(crate) fn compare(
    args: &CompareArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let project = load_valid(&args.project, false, err)?;
    let remote = history(&project, &args.target, Some(&args.eval_key), err)?;
    let evals = project_evals(&remote, &project, Some(&args.eval_key))?;
    let runs = runs_of_key(&evals, &args.run_key);
    let not_found = |what: &str| {
        Error::NotFound(format!(
            "eval `{}` has no {what} of run key `{}`",
            args.eval_key, args.run_key
        ))
    };
    let new = match &args.new {
        Some(name) => named(&runs, &evals, name).ok_or_else(|| not_found("such run"))?,
        None => *runs.first().ok_or_else(|| not_found("run"))?,
    };
    let base = match &args.base {
        Some(name) => named(&runs, &evals, name).ok_or_else(|| not_found("such run"))?,
        None => previous_completed(&runs, new.run)
            .ok_or_else(|| not_found("completed run before the newest to compare with"))?,
    };
    let manifest = project.evals.get(&args.eval_key);
    let pair_by = manifest
        .and_then(|e| e.spec.pair_by.as_deref())
        .and_then(|p| p.strip_prefix("item."));
    let compared = runtime()?.block_on(async {
        let session = super::session::Session::open(&project, &args.target, err).await?;
        let keys = (args.eval_key.as_str(), args.run_key.as_str());
        let compared = compare_pair(&session.client, keys, pair_by, base, new).await;
        session.close().await;
        compared
    })?;
    let printed = match args.output {
        PlanFormat::Human => render::comparison_human(&compared, out),
        PlanFormat::Json => render::comparison_json(&compared, out),
        PlanFormat::Markdown => render::comparison_markdown(&compared, out),
    };
    printed.map_err(Error::Output)?;
    Ok(0)
}

/// Two runs of a key compared: every output item of both fetched (at once), then paired.
pub(crate) async fn compare_pair(
    client: &Client,
    (eval_key, run_key): (&str, &str),
    pair_by: Option<&str>,
    base: KeyedRun<'_>,
    new: KeyedRun<'_>,
) -> Result<RunComparison, Error> {
    let (base_items, new_items) = tokio::try_join!(
        client.all_output_items(&base.eval.id, &base.run.id),
        client.all_output_items(&new.eval.id, &new.run.id),
    )?;
    let graders: Vec<String> = new
        .eval
        .testing_criteria
        .iter()
        .filter_map(|g| g["name"].as_str().map(String::from))
        .collect();
    Ok(run_comparison(
        (eval_key, run_key),
        pair_by,
        (run_ref(base), &base_items),
        (run_ref(new), &new_items),
        &graders,
    ))
}

/// The run `new_run_id` of `eval_key/run_key` against the completed run of the key before
/// it (across replacements); `None` when there is none, or the run is not found.
pub(crate) async fn against_previous(
    client: &Client,
    project: &str,
    (eval_key, run_key): (&str, &str),
    new_run_id: &str,
    pair_by: Option<&str>,
) -> Result<Option<RunComparison>, Error> {
    let fetch = Fetch {
        project,
        runs: Runs::OfManaged {
            key: Some(eval_key),
        },
    };
    let remote = api::fetch(client, &fetch).await?;
    let evals: Vec<&RemoteEval> = remote
        .evals
        .iter()
        .filter(|e| e.managed_by(project) && e.key() == Some(eval_key))
        .collect();
    let runs = runs_of_key(&evals, run_key);
    let Some(new) = runs.iter().find(|k| k.run.id == new_run_id).copied() else {
        return Ok(None);
    };
    let Some(base) = previous_completed(&runs, new.run) else {
        return Ok(None);
    };
    compare_pair(client, (eval_key, run_key), pair_by, base, new)
        .await
        .map(Some)
}

fn run_ref(keyed: KeyedRun<'_>) -> RunRef {
    RunRef {
        run_id: keyed.run.id.clone(),
        eval_id: keyed.eval.id.clone(),
        created_at: keyed.run.created_at,
    }
}
