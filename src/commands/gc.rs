//! `evalctl gc`: deletes this project's evals superseded longer ago than an age, with their
//! run history. It is a plan of deletions like any other: shown, asked for (or
//! `--auto-approve`), carried out under the project's lease with apply's own machinery.

use std::io::Write;

use super::apply::{carry_out, confirm, release, say, take_lease, writer};
use super::plan::use_color;
use super::session::Session;
use super::{load_valid, runtime};
use crate::api::{self, Fetch, Runs};
use crate::cli::GcArgs;
use crate::plan::gc::{collectable, Collectable};
use crate::plan::{Action, DeleteEval, Plan, Reason};
use crate::render;
use crate::Error;

pub(crate) fn gc(args: &GcArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, Error> {
    let out = &mut super::Unbroken(out);
    let project = load_valid(&args.project, false, err)?;
    runtime()?.block_on(async {
        let session = Session::open(&project, &args.target, err).await?;
        let result = collect(&session, &project.name, args, out, err).await;
        session.close().await;
        result
    })
}

async fn collect(
    session: &Session,
    project: &str,
    args: &GcArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let held = take_lease(session, project, &args.lock, err).await?;
    let writer = writer(session, held.as_ref());
    let result = delete(session, &writer, project, args, out, err).await;
    release(held, err).await?;
    result
}

async fn delete(
    session: &Session,
    writer: &crate::api::Client,
    project: &str,
    args: &GcArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let fetch = Fetch {
        project,
        runs: Runs::OfManaged { key: None },
    };
    let remote = api::fetch(&session.client, &fetch).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let age = i64::try_from(args.superseded_older_than).unwrap_or(i64::MAX);
    let (gone, protected) = collectable(&remote.evals, project, now, age, &args.allow_replace);
    for eval in &protected {
        say(
            err,
            &crate::error_line(&format!(
                "note: superseded eval `{}` ({}) is protected and stays; `--allow-replace {}` lets it go",
                eval.key, eval.id, eval.key
            )),
        )?;
    }
    let plan = Plan {
        project: project.to_string(),
        actions: gone.iter().map(deletion).collect(),
        kept: Vec::new(),
        duplicate_runs: Vec::new(),
        aim: Default::default(),
        refusals: Vec::new(),
        records: Vec::new(),
        listed_runs_of: Vec::new(),
        fingerprint: String::new(),
    };
    render::human(&plan, &session.header(), use_color(), out).map_err(Error::Output)?;
    if plan.is_empty() {
        return Ok(0);
    }
    confirm(
        args.auto_approve,
        "Delete these superseded evals and their runs?",
        err,
    )?;
    writeln!(out).map_err(Error::Output)?;
    let (_, tally) = carry_out(writer, &plan, None, out).await;
    say(err, &render::summary(tally, None))?;
    match tally.failed + tally.skipped {
        0 => Ok(0),
        unfinished => Err(Error::ApplyFailed { unfinished }),
    }
}

fn deletion(eval: &Collectable) -> Action {
    Action::DeleteEval(DeleteEval {
        key: eval.key.clone(),
        id: eval.id.clone(),
        name: eval.name.clone(),
        runs: eval.runs,
        reasons: vec![Reason::Said(format!(
            "superseded since {}",
            render::utc(eval.superseded_at)
        ))],
    })
}
