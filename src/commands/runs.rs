//! `evalctl runs`: the run history of this project's evals as the service holds it, found by
//! the ownership tags (design §3) rather than the manifests, so superseded evals and runs made
//! before a manifest change still show. Also what `results` shares: fetching that history
//! and choosing the evals of a key, with the "no such eval" error and its suggestion.

use std::cmp::Reverse;
use std::io::Write;

use super::session::Session;
use super::{load_valid, runtime};
use crate::api::{self, Fetch, Runs};
use crate::cli::{RunsArgs, RunsFormat};
use crate::manifest::diagnostic::did_you_mean;
use crate::manifest::Project;
use crate::plan::RemoteEval;
use crate::render;
use crate::Error;

pub(crate) fn runs(args: &RunsArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, Error> {
    let project = load_valid(&args.project, false, err)?;
    let remote = history(&project, &args.target, args.eval_key.as_deref(), err)?;
    let evals = project_evals(&remote, &project, args.eval_key.as_deref())?;
    let printed = match args.output {
        RunsFormat::Human => render::runs_table(&evals, out),
        RunsFormat::Json => render::runs_json(&evals, out),
        RunsFormat::Csv => render::runs_csv(&evals, out),
    };
    printed.map_err(Error::Output)?;
    Ok(0)
}

/// The project's evals with their runs, all of them or those of one key.
pub(crate) fn history(
    project: &Project,
    target: &crate::cli::TargetArgs,
    key: Option<&str>,
    err: &mut dyn Write,
) -> Result<Vec<RemoteEval>, Error> {
    runtime()?.block_on(async {
        let session = Session::open(project, target, err).await?;
        let fetch = Fetch {
            project: &project.name,
            runs: Runs::OfManaged { key },
        };
        let remote = api::fetch(&session.client, &fetch).await;
        session.close().await;
        Ok(remote?.evals)
    })
}

/// The project's evals, live before superseded and newest first within a key; with a key,
/// only that key's, or an error naming the key with the closest known one.
pub(crate) fn project_evals<'r>(
    remote: &'r [RemoteEval],
    project: &Project,
    key: Option<&str>,
) -> Result<Vec<&'r RemoteEval>, Error> {
    let mut evals: Vec<&RemoteEval> = remote
        .iter()
        .filter(|e| e.managed_by(&project.name))
        .collect();
    evals.sort_by_key(|e| (e.key(), e.is_superseded(), Reverse(e.created_at), &e.id));
    let Some(key) = key else {
        return Ok(evals);
    };
    let (chosen, others): (Vec<&RemoteEval>, Vec<&RemoteEval>) =
        evals.into_iter().partition(|e| e.key() == Some(key));
    if !chosen.is_empty() {
        return Ok(chosen);
    }
    let mut message = format!(
        "no eval with key `{key}` in project `{}` on the service",
        project.name
    );
    if project.evals.contains_key(key) {
        message.push_str(": it is in the manifests but was not applied yet");
    } else {
        let known = others
            .iter()
            .filter_map(|e| e.key())
            .chain(project.evals.keys().map(String::as_str));
        if let Some(close) = did_you_mean(key, known) {
            message.push_str(&format!(" (did you mean `{close}`?)"));
        }
    }
    Err(Error::NotFound(message))
}
