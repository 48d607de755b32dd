//! `apply --wait`: polls the runs to watch until each is finished (the shared backoff, an
//! overall `--timeout`), shows progress on stderr (a spinner on a terminal, a plain line now
//! and then otherwise), then prints each run's results with its gate's verdict on stdout.

use std::io::{IsTerminal, Write};

use futures_util::{stream, StreamExt, TryStreamExt};
use std::time::{Duration, Instant};

use crate::api::retry::Backoff;
use crate::api::wire::{EvalRun, RunStatus};
use crate::api::Client;
use crate::apply::{Report, StartedRun};
use crate::gate::{self, Verdict};
use crate::manifest::model::Gate;
use crate::plan::{live_by_key, Action, Desired, Plan, RemoteEval};
use crate::render::{self, Waited};
use crate::Error;

/// How often a plain progress line is printed when there is no terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(15);

/// A run to wait for and the gate it must pass.
pub(crate) struct Watched {
    /// How `compare` pairs rows of this eval's runs (a regression gate compares).
    pub pair_by: Option<String>,
    pub eval_key: String,
    pub run_key: String,
    pub eval_id: String,
    pub run_id: String,
    pub gate: Option<Gate>,
}

/// The runs a saved plan started, with the gates the plan recorded.
pub(crate) fn started_by(plan: &Plan, report: &Report) -> Vec<Watched> {
    let start = |started: &StartedRun| match plan.actions.get(started.action) {
        Some(Action::StartRun(start)) => Some(start),
        _ => None,
    };
    report
        .started
        .iter()
        .map(|run| Watched {
            pair_by: start(run).and_then(|s| s.pair_by.clone()),
            gate: start(run).and_then(|s| s.gate.clone()),
            eval_key: run.eval_key.clone(),
            run_key: run.run_key.clone(),
            eval_id: run.eval_id.clone(),
            run_id: run.run_id.clone(),
        })
        .collect()
}

/// Every run the manifests want, as it stands on the live evals (started now or earlier),
/// so a repeated `apply --wait` still checks the gates a CI job depends on.
pub(crate) fn wanted(desired: &Desired, remote: &[RemoteEval]) -> Vec<Watched> {
    let live = live_by_key(remote, &desired.project);
    let mut watched = Vec::new();
    for eval in desired.evals.values() {
        let Some(live) = live.get(eval.key.as_str()) else {
            continue;
        };
        for run in eval.runs.values() {
            if let Some(found) = live
                .newest
                .run_for(&run.key, &run.spec_hash, &run.data_source)
            {
                watched.push(Watched {
                    pair_by: eval.pair_by.clone(),
                    eval_key: eval.key.clone(),
                    run_key: run.key.clone(),
                    eval_id: live.newest.id.clone(),
                    run_id: found.id.clone(),
                    gate: run.gate.clone(),
                });
            }
        }
    }
    watched
}

pub(crate) async fn wait(
    client: &Client,
    project: &str,
    watched: &[Watched],
    timeout: Duration,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Waited, Error> {
    let mut waited = Waited::default();
    if watched.is_empty() {
        return Ok(waited);
    }
    let runs = poll(client, watched, timeout, err).await?;
    writeln!(out).map_err(Error::Output)?;
    let mut histories = super::compare::Histories::new(client, project);
    for (watch, run) in watched.iter().zip(&runs) {
        let verdict = match &watch.gate {
            Some(gate) => Some(judge_run(&mut histories, watch, gate, run).await?),
            None => None,
        };
        render::run_result(&watch.eval_key, &watch.run_key, run, verdict.as_ref(), out)
            .map_err(Error::Output)?;
        let name = format!("{}/{}", watch.eval_key, watch.run_key);
        if run.status != RunStatus::Completed {
            waited.incomplete.push(name);
            continue;
        }
        match verdict {
            Some(verdict) if !verdict.passed() => waited.failed.push(name),
            Some(_) => waited.passed += 1,
            None => {}
        }
    }
    Ok(waited)
}

/// A finished run's gate, with its baseline comparison when the gate asks for one.
async fn judge_run(
    histories: &mut super::compare::Histories<'_>,
    watch: &Watched,
    gate: &crate::manifest::model::Gate,
    run: &EvalRun,
) -> Result<Verdict, Error> {
    let compared = match gate::needs_baseline(gate) && run.status == RunStatus::Completed {
        true => {
            let keys = (watch.eval_key.as_str(), watch.run_key.as_str());
            let options = (watch.pair_by.as_deref(), gate::alpha_of(gate));
            super::compare::against_previous(histories, keys, &run.id, options).await?
        }
        false => None,
    };
    Ok(gate::judge(gate, run, compared.as_ref()))
}

/// Polls until every run is finished or the timeout passes.
async fn poll(
    client: &Client,
    watched: &[Watched],
    timeout: Duration,
    err: &mut dyn Write,
) -> Result<Vec<EvalRun>, Error> {
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(Instant::now);
    // indicatif draws on stderr: stdout stays the results, whatever is piped.
    let spinner = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let finish = |spinner: Option<indicatif::ProgressBar>| {
        if let Some(bar) = spinner {
            bar.finish_and_clear();
        }
    };
    let mut last_line = Instant::now();
    let mut attempt = 0;
    // The runs as last seen; a finished one is not asked for again.
    let mut seen: Vec<Option<EvalRun>> = vec![None; watched.len()];
    loop {
        let round = async {
            let unfinished = watched
                .iter()
                .zip(&seen)
                .enumerate()
                .filter(|(_, (_, last))| !last.as_ref().is_some_and(|r| r.status.is_finished()))
                .map(|(index, (run, _))| async move {
                    let got = client.get_run(&run.eval_id, &run.run_id).await;
                    got.map(|run| (index, run))
                });
            // All at once: the client's limit bounds what is in flight.
            stream::iter(unfinished)
                .buffer_unordered(usize::MAX)
                .try_collect::<Vec<(usize, EvalRun)>>()
                .await
        };
        // A round can outlast the deadline (retries, Retry-After): it is bounded too.
        let deadline_at = tokio::time::Instant::from_std(deadline);
        let Ok(polled) = tokio::time::timeout_at(deadline_at, round).await else {
            finish(spinner);
            return Err(Error::Wait(format!(
                "timed out after {}s waiting for runs",
                timeout.as_secs()
            )));
        };
        for (index, run) in polled? {
            seen[index] = Some(run);
        }
        let done = seen
            .iter()
            .filter(|r| r.as_ref().is_some_and(|r| r.status.is_finished()))
            .count();
        let message = format!("waiting for runs: {done} of {} finished", watched.len());
        match &spinner {
            Some(bar) => bar.set_message(message),
            None if last_line.elapsed() >= PLAIN_EVERY => {
                writeln!(err, "{message}").map_err(Error::Output)?;
                last_line = Instant::now();
            }
            None => {}
        }
        if done == watched.len() {
            finish(spinner);
            return Ok(seen.into_iter().flatten().collect());
        }
        let delay = Backoff::POLL.delay(attempt);
        if Instant::now() + delay > deadline {
            finish(spinner);
            return Err(Error::Wait(format!(
                "timed out after {}s waiting for runs ({done} of {} finished)",
                timeout.as_secs(),
                watched.len()
            )));
        }
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}
