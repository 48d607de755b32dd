//! `evalctl apply`: plan (or read a saved plan and refuse it when the service changed since),
//! show it, ask for `yes` on a terminal (or take `--auto-approve`), carry it out, report
//! every action's outcome, and with `--wait` wait for the runs and check their gates.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use super::plan::use_color;
use super::session::Session;
use super::wait;
use super::{load_valid, runtime};
use crate::apply::{self, Outcome, Report};
use crate::cli::ApplyArgs;
use crate::plan::{self, Action, Plan, PlanOptions};
use crate::render::{self, Header};
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
    let source = match saved_plan(&args.path)? {
        Some((header, plan)) => Source::Saved(header, plan),
        None => {
            let project = load_valid(&args.path, args.strict, err)?;
            super::check_prune(args.prune, &project, &args.path)?;
            Source::Project(project)
        }
    };
    runtime()?.block_on(async {
        let session = match &source {
            Source::Project(project) => Session::open(project, &args.target).await?,
            Source::Saved(header, _) => Session::for_plan(header, &args.target).await?,
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
    let header = session.header.clone();
    let (plan, desired) = match source {
        Source::Saved(_, plan) => {
            check_saved(session, &plan).await?;
            (plan, None)
        }
        Source::Project(project) => {
            let remote = session.fetch(&project.name).await?;
            let desired = session.desired(&project, err)?;
            (
                plan::plan(&desired, &remote, PlanOptions { prune: args.prune }),
                Some(desired),
            )
        }
    };
    render::human(&plan, &header, use_color(), out).map_err(Error::Output)?;
    if plan.is_empty() {
        return match (&desired, args.wait) {
            (Some(desired), true) => check_gates(session, desired, args, out).await,
            _ => Ok(0),
        };
    }
    confirm(args.auto_approve, out)?;
    let report = apply::apply(&session.client, &plan).await;
    print_report(&plan, &report, out).map_err(Error::Output)?;
    let failed = report.failed() + report.skipped();
    if failed > 0 {
        return Err(Error::ApplyFailed { failed });
    }
    match (&desired, args.wait) {
        (Some(desired), true) => check_gates(session, desired, args, out).await,
        (None, true) => {
            wait::wait(
                &session.client,
                &wait::started_by(&plan, &report),
                args.timeout,
                out,
            )
            .await
        }
        (_, false) => Ok(0),
    }
}

/// Waits for every run the manifests want (just started or already there) and checks its
/// gate: the exit code reflects the results whether or not this apply changed anything.
async fn check_gates(
    session: &Session,
    desired: &plan::Desired,
    args: &ApplyArgs,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let remote = session.fetch(&desired.project).await?;
    wait::wait(
        &session.client,
        &wait::wanted(desired, &remote),
        args.timeout,
        out,
    )
    .await
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
    let remote = session.fetch(&plan.project).await?;
    if plan::fingerprint(&remote, &plan.project) != plan.fingerprint {
        return Err(Error::StalePlan(
            "the evals on the service changed since it was made; run `evalctl plan` again".into(),
        ));
    }
    Ok(())
}

/// Asks for `yes` on a terminal; without one, only `--auto-approve` applies.
fn confirm(auto_approve: bool, out: &mut dyn Write) -> Result<(), Error> {
    if auto_approve {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::NotConfirmed(
            "stdin is not a terminal; pass --auto-approve to apply without asking".into(),
        ));
    }
    write!(
        out,
        "\nDo you want to perform these actions? Only 'yes' will be accepted: "
    )
    .map_err(Error::Output)?;
    out.flush().map_err(Error::Output)?;
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

fn print_report(plan: &Plan, report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out)?;
    for (action, outcome) in plan.actions.iter().zip(&report.outcomes) {
        let (symbol, what) = describe(action);
        match outcome {
            Outcome::Done(id) => writeln!(out, "{symbol} {what}: done ({id})")?,
            Outcome::Failed(message) => writeln!(out, "{symbol} {what}: FAILED: {message}")?,
            Outcome::Skipped(reason) => writeln!(out, "{symbol} {what}: skipped: {reason}")?,
        }
    }
    let done = report.outcomes.len() - report.failed() - report.skipped();
    writeln!(
        out,
        "\nApply: {done} done, {} failed, {} skipped.",
        report.failed(),
        report.skipped()
    )
}

fn describe(action: &Action) -> (&'static str, String) {
    match action {
        Action::CreateEval(e) => ("+", format!("create eval {}", e.key)),
        Action::UpdateEval(u) => ("~", format!("update eval {} ({})", u.key, u.id)),
        Action::ReplaceEval(r) => (
            "-/+",
            format!("replace eval {} ({} kept as superseded)", r.key, r.old_id),
        ),
        Action::DeleteEval(d) => ("-", format!("delete eval {} ({})", d.key, d.id)),
        Action::StartRun(r) => (">", format!("start run {}/{}", r.eval_key, r.run_key)),
    }
}
