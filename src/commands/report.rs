//! `evalctl report`: plans as `plan` does, finds the runs the manifests want on the service,
//! judges their gates, and hands all of it to `render::report` as one Markdown document.

use std::io::Write;

use super::compare::{against_previous, Histories};
use super::plan::plan_project;
use super::session::Session;
use super::{load_valid, runtime};
use crate::api::wire::RunStatus;
use crate::cli::ReportArgs;
use crate::compare::ALPHA;
use crate::gate::{alpha_of, judge};
use crate::plan::{live_by_key, Desired, Remote};
use crate::render::{self, ReportedRun};
use crate::Error;

pub(crate) fn report(
    args: &ReportArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let out = &mut super::Unbroken(out);
    let project = load_valid(&args.path, args.strict, err)?;
    super::check_prune(args.planning.prune, &project, &args.path)?;
    super::check_surface(&project, Session::target_of(&project, &args.target)?, err)?;
    let mut text = Vec::new();
    runtime()?.block_on(async {
        let session = Session::open(&project, &args.target, err).await?;
        let planned = plan_project(&session, &project, &args.aim, &args.planning, err).await;
        let header = session.header();
        let written = match planned {
            Ok((plan, desired, mut remote)) => {
                match reported(&session.client, &desired, &mut remote, err).await {
                    Ok(runs) => {
                        render::report(&plan, &header, &runs, &mut text).map_err(Error::Output)
                    }
                    Err(error) => Err(error),
                }
            }
            Err(error) => Err(error),
        };
        session.close().await;
        written
    })?;
    out.write_all(&text).map_err(Error::Output)?;
    if let Some(path) = &args.out {
        super::write_whole(path, &text)?;
    }
    Ok(0)
}

/// Every run the manifests want: as the live eval holds it, or not started yet; finished
/// ones judged, completed ones against the completed run of their key before them. A
/// comparison that cannot be made (an old run's items gone) is left out and said on stderr:
/// the report goes on.
async fn reported<'r>(
    client: &crate::api::Client,
    desired: &'r Desired,
    remote: &'r mut Remote,
    err: &mut dyn Write,
) -> Result<Vec<ReportedRun<'r>>, Error> {
    crate::api::list_live_runs(client, remote, &desired.project).await?;
    let remote = &*remote;
    let live = live_by_key(&remote.evals, &desired.project);
    let mut histories = Histories::new(client, &desired.project);
    let mut runs = Vec::new();
    for eval in desired.evals.values() {
        let current = live.get(eval.key.as_str()).map(|l| l.newest);
        for run in eval.runs.values() {
            let found = current.and_then(|c| c.run_for(&run.key, &run.spec_hash, &run.data_source));
            let finished = found.filter(|r| r.status.is_finished());
            let completed = found.filter(|r| r.status == RunStatus::Completed);
            let compared = match completed {
                Some(found) => {
                    let keys = (eval.key.as_str(), run.key.as_str());
                    let alpha = run.gate.as_ref().map_or(ALPHA, alpha_of);
                    let options = (eval.pair_by.as_deref(), alpha);
                    match against_previous(&mut histories, keys, &found.id, options).await {
                        Ok(compared) => compared,
                        Err(error) => {
                            let line = format!(
                                "warning: `{}/{}` is not compared with its previous run: {error}",
                                eval.key, run.key
                            );
                            writeln!(err, "{}", crate::error_line(&line)).map_err(Error::Output)?;
                            None
                        }
                    }
                }
                None => None,
            };
            let verdict = finished
                .zip(run.gate.as_ref())
                .map(|(found, gate)| judge(gate, found, compared.as_ref()));
            runs.push(ReportedRun {
                eval_key: &eval.key,
                run_key: &run.key,
                run: found,
                gated: run.gate.is_some(),
                verdict,
                compared,
            });
        }
    }
    Ok(runs)
}
