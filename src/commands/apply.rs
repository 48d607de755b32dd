//! `evalctl apply`: plan (or read a saved plan and refuse it when the service changed since),
//! show it, ask for `yes` on a terminal (or take `--auto-approve`), carry it out printing each
//! action's outcome as it finishes, with `--wait` wait for the runs and check their gates,
//! and end with a summary on stderr.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use super::plan::{plan_project, use_color};
use super::session::Session;
use super::wait;
use super::{load_valid, runtime};
use crate::api::{self, Client, Fetch, Runs};
use crate::apply::{self, Outcome};
use crate::cli::ApplyArgs;
use crate::lock;
use crate::plan::{self, Desired, Plan, Remote};
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
        Some((header, plan)) => {
            if !args.aim.patterns().is_everything() {
                return Err(Error::Usage(
                    "a saved plan is applied as it was made, with the --only and --exclude it was planned with: give them to `evalctl plan`".into(),
                ));
            }
            Source::Saved(header, plan)
        }
        None => {
            let project = load_valid(&args.path, args.strict, err)?;
            super::check_prune(args.planning.prune, &project, &args.path)?;
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
    let project = match &source {
        Source::Saved(_, plan) => plan.project.clone(),
        Source::Project(project) => project.name.clone(),
    };
    // The plan is computed and carried out under the lease, so what it saw is what it writes.
    let held = take_lease(session, &project, &args.lock, err).await?;
    let writer = writer(session, held.as_ref());
    let written = write(session, &writer, args, source, out, err).await;
    release(held, err).await?;
    let Written {
        plan,
        desired,
        report,
        tally,
    } = written?;
    let unfinished = tally.failed + tally.skipped;
    if unfinished > 0 || !args.wait {
        say(err, &render::summary(tally, None))?;
        return match unfinished {
            0 => Ok(0),
            _ => Err(Error::ApplyFailed { unfinished }),
        };
    }
    // The gates a CI job depends on are checked whether or not this apply changed anything;
    // the plan did not list the runs its tags vouched for, so they are listed now.
    let watched = match (&desired, &report) {
        (Some(desired), _) => wanted_now(session, desired).await,
        (None, Some(report)) => Ok(wait::started_by(&plan, report)),
        _ => Ok(Vec::new()),
    };
    let waited = match watched {
        Ok(watched) => {
            let project = &plan.project;
            wait::wait(&session.client, project, &watched, args.timeout, out, err).await
        }
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

/// What the writing part of an apply leaves for the waiting part.
struct Written {
    plan: Plan,
    desired: Option<Desired>,
    report: Option<apply::Report>,
    tally: Tally,
}

/// Plans (or checks the saved plan), shows the plan, asks, and carries it out.
async fn write(
    session: &Session,
    writer: &Client,
    args: &ApplyArgs,
    source: Source,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Written, Error> {
    let (plan, desired, remote) = match source {
        Source::Saved(_, plan) => {
            check_saved(session, &plan).await?;
            (plan, None, None)
        }
        Source::Project(project) => {
            let (plan, desired, remote) =
                plan_project(session, &project, &args.aim, &args.planning, err).await?;
            (plan, Some(desired), Some(remote))
        }
    };
    render::human(&plan, &session.header(), use_color(), out).map_err(Error::Output)?;
    if !plan.refusals.is_empty() {
        return Err(Error::Refused(plan.refusals.clone()));
    }
    let (report, tally) = if plan.is_empty() {
        // Only evalctl's own bookkeeping (the plan says so): no question to ask.
        if !plan.records.is_empty() {
            apply::apply(writer, &plan, None, &mut |_, _| {}).await;
        }
        (None, Tally::default())
    } else {
        confirm(
            args.auto_approve,
            "Do you want to perform these actions?",
            err,
        )?;
        writeln!(out).map_err(Error::Output)?;
        let uploads = remote.as_ref().map(|r| r.uploads.as_slice());
        let (report, tally) = carry_out(writer, &plan, uploads, out).await;
        (Some(report), tally)
    };
    Ok(Written {
        plan,
        desired,
        report,
        tally,
    })
}

/// The client that writes: while a lease is held, it sends no write once the lease may
/// have lapsed.
pub(crate) fn writer(session: &Session, held: Option<&lock::Held>) -> Client {
    match held {
        Some(held) => session.client.gated(held.gate()),
        None => session.client.clone(),
    }
}

/// Carries out an approved plan, printing each action's outcome as it finishes.
pub(crate) async fn carry_out(
    client: &Client,
    plan: &Plan,
    uploads: Option<&[crate::api::wire::FileObject]>,
    out: &mut dyn Write,
) -> (apply::Report, Tally) {
    let mut tally = Tally::default();
    let mut told = |index: usize, outcome: &Outcome| {
        match outcome {
            Outcome::Done(_) => tally.done += 1,
            Outcome::Failed(_) => tally.failed += 1,
            Outcome::Skipped(_) => tally.skipped += 1,
        }
        // A line that cannot be written is found again by the final summary.
        let _ = render::outcome_line(&plan.actions[index], outcome, out);
    };
    let report = apply::apply(client, plan, uploads, &mut told).await;
    (report, tally)
}

/// Takes the project's lease, saying on stderr while it waits for another's. The `local`
/// target's service lives in this process alone: no other apply can reach it while it runs,
/// and a lease an interrupted apply left in its state would only stand in the next one's way.
pub(crate) async fn take_lease(
    session: &Session,
    project: &str,
    args: &crate::cli::LockArgs,
    err: &mut dyn Write,
) -> Result<Option<lock::Held>, Error> {
    if session.is_local() {
        return Ok(None);
    }
    let holder = lock::Holder::of_this_process(&|name| std::env::var(name).ok());
    let options = lock::LockOptions {
        ttl: args.lock_ttl,
        wait: args.lock_timeout,
    };
    let mut tell = |line: &str| {
        let _ = writeln!(err, "{}", crate::error_line(line));
    };
    Ok(Some(
        lock::take(&session.client, project, &holder, options, &mut tell).await?,
    ))
}

/// Releases the lease. One that was lost or could not be deleted is said, not an error of
/// the apply: its writes are done, and a lease left behind expires.
pub(crate) async fn release(held: Option<lock::Held>, err: &mut dyn Write) -> Result<(), Error> {
    let Some(held) = held else {
        return Ok(());
    };
    let lost = held.lost();
    let id = held.id().to_string();
    let released = held.release().await;
    let note = if lost {
        Some("warning: the lease on the project was lost while applying (removed by force-unlock, or expired while this apply could not renew it); another apply may have written at the same time: run `evalctl plan` to check".to_string())
    } else {
        released.err().map(|error| {
            format!("note: could not remove the lease {id} ({error}); it expires by itself")
        })
    };
    match note {
        Some(note) => say(err, &crate::error_line(&note)),
        None => Ok(()),
    }
}

/// Every run the manifests want, as the service holds them after this apply.
async fn wanted_now(session: &Session, desired: &Desired) -> Result<Vec<wait::Watched>, Error> {
    let remote: Remote = api::fetch(
        &session.client,
        &Fetch {
            project: &desired.project,
            runs: Runs::OfLive,
        },
    )
    .await?;
    Ok(wait::wanted(desired, &remote.evals))
}

pub(crate) fn say(err: &mut dyn Write, line: &str) -> Result<(), Error> {
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
            runs: Runs::Of(&plan.listed_runs_of),
        },
    )
    .await?;
    let adopted = plan::adopted_ids(&plan.actions);
    if plan::fingerprint(&remote.evals, &plan.project, &adopted) != plan.fingerprint {
        return Err(Error::StalePlan(
            "the evals on the service changed since it was made; run `evalctl plan` again".into(),
        ));
    }
    Ok(())
}

/// Asks `question` and wants `yes` on a terminal (on stderr: stdout is the plan and the
/// outcomes); without one, only `--auto-approve` applies.
pub(crate) fn confirm(
    auto_approve: bool,
    question: &str,
    err: &mut dyn Write,
) -> Result<(), Error> {
    if auto_approve {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::NotConfirmed(
            "stdin is not a terminal; pass --auto-approve to apply without asking".into(),
        ));
    }
    write!(err, "\n{question} Only 'yes' will be accepted: ").map_err(Error::Output)?;
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
