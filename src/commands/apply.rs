//! `evalctl apply`: plan (or read a saved plan and refuse it when the service changed since),
//! show it, ask for `yes` on a terminal (or take `--auto-approve`), carry it out printing each
//! action's outcome as it finishes, with `--wait` wait for the runs and check their gates,
//! and end with a summary on stderr.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use super::plan::use_color;
use super::session::Session;
use super::wait;
use super::{load_valid, runtime};
use crate::api::{self, Fetch, Runs};
use crate::apply::{self, Outcome};
use crate::cli::ApplyArgs;
use crate::plan::{self, Desired, Plan, PlanOptions, Remote};
use crate::render::{self, Header, Tally};
use crate::Error;

/// What to apply: the manifests of a project, or a plan saved by `plan --out`.
enum Source {
    Project(crate::manifest::Project),
    Saved(Header, Plan),
}

pub(crate) fn apply(
    args: &ApplyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let out = &mut super::Unbroken(out);
    let source = match saved_plan(&args.path)? {
        Some((header, plan)) => Source::Saved(header, plan),
        None => {
            let project = load_valid(&args.path, args.strict, err)?;
            super::check_prune(args.prune, &project, &args.path)?;
            super::check_surface(&project, Session::target_of(&project, &args.target)?, err)?;
            Source::Project(project)
        }
    };
    runtime()?.block_on(async {
        let session = match &source {
            Source::Project(project) => Session::open(project, &args.target, err).await?,
            Source::Saved(header, _) => Session::for_plan(header, &args.target, err).await?,
        };
        let result = run(&session, args, source, out, err).await;
        session.close().await;
        result
    })
}

async fn run(
    session: &Session,
    args: &ApplyArgs,
    source: Source,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let (plan, desired, remote) = match source {
        Source::Saved(_, plan) => {
            check_saved(session, &plan).await?;
            (plan, None, None)
        }
        Source::Project(project) => {
            let desired = session.desired(&project, err)?;
            let remote = api::fetch(
                &session.client,
                &Fetch {
                    project: &desired.project,
                    runs: Runs::OfLive,
                    planning: Some(&desired),
                },
            )
            .await?;
            let options = PlanOptions { prune: args.prune };
            (
                plan::plan(&desired, &remote, options),
                Some(desired),
                Some(remote),
            )
        }
    };
    render::human(&plan, &session.header(), use_color(), out).map_err(Error::Output)?;
    let mut tally = Tally::default();
    let report = if plan.is_empty() {
        None
    } else {
        confirm(args.auto_approve, err)?;
        writeln!(out).map_err(Error::Output)?;
        let uploads = remote.as_ref().map(|r| r.uploads.as_slice());
        let mut told = |index: usize, outcome: &Outcome| {
            match outcome {
                Outcome::Done(_) => tally.done += 1,
                Outcome::Failed(_) => tally.failed += 1,
                Outcome::Skipped(_) => tally.skipped += 1,
            }
            // A line that cannot be written is found again by the final summary.
            let _ = render::outcome_line(&plan.actions[index], outcome, out);
        };
        Some(apply::apply(&session.client, &plan, uploads, &mut told).await)
    };
    let unfinished = tally.failed + tally.skipped;
    if unfinished > 0 || !args.wait {
        say(err, &render::summary(tally, None))?;
        return match unfinished {
            0 => Ok(0),
            _ => Err(Error::ApplyFailed { unfinished }),
        };
    }
    // The gates a CI job depends on are checked whether or not this apply changed anything.
    let watched = match (&desired, &report, &remote) {
        (Some(desired), Some(_), _) => wanted_now(session, desired).await,
        (Some(desired), None, Some(remote)) => Ok(wait::wanted(desired, &remote.evals)),
        (None, Some(report), _) => Ok(wait::started_by(&plan, report)),
        _ => Ok(Vec::new()),
    };
    let waited = match watched {
        Ok(watched) => wait::wait(&session.client, &watched, args.timeout, out, err).await,
        Err(error) => Err(error),
    };
    let waited = match waited {
        Ok(waited) => waited,
        Err(error) => {
            say(err, &render::summary(tally, None))?;
            return Err(error);
        }
    };
    say(err, &render::summary(tally, Some(&waited)))?;
    if !waited.incomplete.is_empty() {
        return Err(Error::Wait("a run did not complete".into()));
    }
    Ok(if waited.failed.is_empty() { 0 } else { 3 })
}

/// Every run the manifests want, as the service holds them after this apply.
async fn wanted_now(session: &Session, desired: &Desired) -> Result<Vec<wait::Watched>, Error> {
    let remote: Remote = api::fetch(
        &session.client,
        &Fetch {
            project: &desired.project,
            runs: Runs::OfLive,
            planning: None,
        },
    )
    .await?;
    Ok(wait::wanted(desired, &remote.evals))
}

fn say(err: &mut dyn Write, line: &str) -> Result<(), Error> {
    writeln!(err, "{line}").map_err(Error::Output)
}

/// A saved plan, when `path` is one (a JSON file rather than a manifest).
fn saved_plan(path: &Path) -> Result<Option<(Header, Plan)>, Error> {
    let is_plan = path.is_file() && path.extension().is_some_and(|e| e == "json");
    if !is_plan {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadPlan {
        path: path.to_path_buf(),
        message: source.to_string(),
    })?;
    render::read_plan_file(&text)
        .map(Some)
        .map_err(|e| Error::ReadPlan {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// A saved plan applies only while the service still holds what it was computed from (its
/// session is the target and endpoint it was made for: `Session::for_plan`).
async fn check_saved(session: &Session, plan: &Plan) -> Result<(), Error> {
    let remote = api::fetch(
        &session.client,
        &Fetch {
            project: &plan.project,
            runs: Runs::OfLive,
            planning: None,
        },
    )
    .await?;
    if plan::fingerprint(&remote.evals, &plan.project) != plan.fingerprint {
        return Err(Error::StalePlan(
            "the evals on the service changed since it was made; run `evalctl plan` again".into(),
        ));
    }
    Ok(())
}

/// Asks for `yes` on a terminal (the question on stderr: stdout is the plan and the
/// outcomes); without one, only `--auto-approve` applies.
fn confirm(auto_approve: bool, err: &mut dyn Write) -> Result<(), Error> {
    if auto_approve {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::NotConfirmed(
            "stdin is not a terminal; pass --auto-approve to apply without asking".into(),
        ));
    }
    write!(
        err,
        "\nDo you want to perform these actions? Only 'yes' will be accepted: "
    )
    .map_err(Error::Output)?;
    err.flush().map_err(Error::Output)?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(Error::Output)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::NotConfirmed("apply cancelled".into()))
    }
}
