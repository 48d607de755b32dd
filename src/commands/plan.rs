//! `evalctl plan`: load and validate, fetch the remote state, compute the plan, print it
//! (human, JSON or Markdown) and optionally save it for `apply`.

use std::io::{IsTerminal, Write};
use std::path::Path;

use super::session::Session;
use super::{load_valid, runtime};
use crate::api::{self, Fetch, ForPlan, Runs};
use crate::cli::{PlanArgs, PlanFormat};
use crate::plan::{self, Desired, Plan, Remote};
use crate::render::{self, Header};
use crate::Error;

pub(crate) fn plan(args: &PlanArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, Error> {
    let out = &mut super::Unbroken(out);
    let project = load_valid(&args.path, args.strict, err)?;
    super::check_prune(args.planning.prune, &project, &args.path)?;
    super::check_surface(&project, Session::target_of(&project, &args.target)?, err)?;
    let (plan, header) = runtime()?.block_on(async {
        let session = Session::open(&project, &args.target, err).await?;
        let planned = plan_project(&session, &project, &args.aim, &args.planning, err).await;
        let header = session.header();
        session.close().await;
        Ok::<_, Error>((planned?.0, header))
    })?;
    print(&plan, &header, args.output, out).map_err(Error::Output)?;
    // Shown whole for review, but neither saved nor passed: apply would refuse it.
    if !plan.refusals.is_empty() {
        return Err(Error::Refused(plan.refusals.clone()));
    }
    if let Some(path) = &args.out {
        save(&plan, &header, path)?;
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        2
    } else {
        0
    })
}

/// The plan of a project, with the desired and remote states it was computed from.
pub(crate) async fn plan_project(
    session: &Session,
    project: &crate::manifest::Project,
    aim: &crate::cli::AimArgs,
    planning: &crate::cli::PlanningArgs,
    err: &mut dyn Write,
) -> Result<(Plan, Desired, Remote), Error> {
    let desired = session.desired(project, aim, err)?;
    let fetch = Fetch {
        project: &desired.project,
        runs: Runs::ForPlan(ForPlan {
            desired: &desired,
            refresh: planning.refresh,
            prune: planning.prune,
        }),
    };
    let remote = api::fetch(&session.client, &fetch).await?;
    let plan = plan::plan(&desired, &remote, planning.options());
    Ok((plan, desired, remote))
}

fn print(
    plan: &Plan,
    header: &Header,
    format: PlanFormat,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        PlanFormat::Human => render::human(plan, header, use_color(), out),
        PlanFormat::Json => render::json(plan, header, out),
        PlanFormat::Markdown => render::markdown(plan, header, out),
    }
}

/// Colors only on a terminal, and never with `NO_COLOR` (no-color.org).
pub(crate) fn use_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Writes the plan file whole or not at all: a temporary file renamed into place.
fn save(plan: &Plan, header: &Header, path: &Path) -> Result<(), Error> {
    let fail = |source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    render::json(plan, header, &mut bytes).map_err(fail)?;
    super::write_whole(path, &bytes)
}
