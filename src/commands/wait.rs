//! `apply --wait`: polls the runs that apply started until each is terminal (bounded
//! backoff, overall `--timeout`), shows progress (a spinner on a terminal, a plain line now
//! and then otherwise), prints each run's counts, pass rate per grader and report URL, and
//! checks its gate. Exit 3 when every run completed but a gate failed; 1 when a run failed,
//! was canceled, or did not finish in time.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::api::wire::EvalRun;
use crate::api::Client;
use crate::apply::{Report, StartedRun};
use crate::manifest::model::Gate;
use crate::plan::{tags, Action, Desired, Plan, RemoteEval};
use crate::Error;

const TERMINAL: [&str; 3] = ["completed", "failed", "canceled"];
/// How often a plain progress line is printed when there is no terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(15);

/// A run to wait for and the gate it must pass.
pub(crate) struct Watched {
    pub eval_key: String,
    pub run_key: String,
    pub eval_id: String,
    pub run_id: String,
    pub gate: Option<Gate>,
}

/// The runs a saved plan started, with the gates the plan recorded.
pub(crate) fn started_by(plan: &Plan, report: &Report) -> Vec<Watched> {
    let gate = |started: &StartedRun| match plan.actions.get(started.action) {
        Some(Action::StartRun(start)) => start.gate.clone(),
        _ => None,
    };
    report
        .started
        .iter()
        .map(|run| Watched {
            gate: gate(run),
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
    let mut watched = Vec::new();
    for eval in desired.evals.values() {
        let live = remote
            .iter()
            .filter(|e| e.is_live_in(&desired.project) && e.tag(tags::KEY) == Some(&eval.key))
            .max_by(|a, b| {
                a.created_at
                    .cmp(&b.created_at)
                    .then_with(|| a.id.cmp(&b.id))
            });
        let Some(live) = live else { continue };
        for run in eval.runs.values() {
            let found = live
                .runs
                .iter()
                .filter(|r| {
                    r.metadata.get(tags::KEY) == Some(&run.key)
                        && r.metadata.get(tags::SPEC) == Some(&run.spec_hash)
                })
                .max_by(|a, b| {
                    a.created_at
                        .cmp(&b.created_at)
                        .then_with(|| a.id.cmp(&b.id))
                });
            if let Some(found) = found {
                watched.push(Watched {
                    eval_key: eval.key.clone(),
                    run_key: run.key.clone(),
                    eval_id: live.id.clone(),
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
    watched: &[Watched],
    timeout: Duration,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    if watched.is_empty() {
        return Ok(0);
    }
    let runs = poll(client, watched, timeout, out).await?;
    writeln!(out).map_err(Error::Output)?;
    let mut gate_failed = false;
    let mut run_failed = false;
    for (watch, run) in watched.iter().zip(&runs) {
        let verdict = print_run(watch, run, out).map_err(Error::Output)?;
        run_failed |= run.status != "completed";
        gate_failed |= !verdict;
    }
    if run_failed {
        return Err(Error::Wait("a run did not complete".into()));
    }
    Ok(if gate_failed { 3 } else { 0 })
}

/// Polls until every run is terminal or the timeout passes.
async fn poll(
    client: &Client,
    started: &[Watched],
    timeout: Duration,
    out: &mut dyn Write,
) -> Result<Vec<EvalRun>, Error> {
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(Instant::now);
    let spinner = std::io::stdout().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let mut last_line = Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        let round = async {
            let mut runs = Vec::with_capacity(started.len());
            for run in started {
                runs.push(client.get_run(&run.eval_id, &run.run_id).await?);
            }
            Ok::<_, Error>(runs)
        };
        // A round can outlast the deadline (retries, Retry-After): it is bounded too.
        let runs =
            match tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), round).await {
                Ok(runs) => runs?,
                Err(_) => {
                    return Err(Error::Wait(format!(
                        "timed out after {}s waiting for runs",
                        timeout.as_secs()
                    )))
                }
            };
        let done = runs
            .iter()
            .filter(|r| TERMINAL.contains(&r.status.as_str()))
            .count();
        let message = format!("waiting for runs: {done} of {} finished", runs.len());
        match &spinner {
            Some(bar) => bar.set_message(message),
            None if last_line.elapsed() >= PLAIN_EVERY => {
                writeln!(out, "{message}").map_err(Error::Output)?;
                last_line = Instant::now();
            }
            None => {}
        }
        if done == runs.len() {
            if let Some(bar) = spinner {
                bar.finish_and_clear();
            }
            return Ok(runs);
        }
        if Instant::now() + delay > deadline {
            if let Some(bar) = spinner {
                bar.finish_and_clear();
            }
            return Err(Error::Wait(format!(
                "timed out after {}s waiting for runs ({done} of {} finished)",
                timeout.as_secs(),
                runs.len()
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(5));
    }
}

/// Prints one run's results; returns whether its gate (if any) passed.
fn print_run(started: &Watched, run: &EvalRun, out: &mut dyn Write) -> std::io::Result<bool> {
    let counts = run.result_counts.unwrap_or_default();
    writeln!(
        out,
        "{}/{} ({}): {}: {} passed, {} failed, {} errored of {} ({})",
        started.eval_key,
        started.run_key,
        run.id,
        run.status,
        counts.passed,
        counts.failed,
        counts.errored,
        counts.total,
        percent(counts.passed, counts.total)
    )?;
    if let Some(error) = &run.error {
        writeln!(out, "  error: {}: {}", error.code, error.message)?;
    }
    let graders: Vec<(String, u64, u64)> = run
        .per_testing_criteria_results
        .iter()
        .flatten()
        .map(|r| {
            (
                grader_name(&r.testing_criteria),
                r.passed,
                r.passed + r.failed,
            )
        })
        .collect();
    for (name, passed, total) in &graders {
        writeln!(
            out,
            "  {name}: {passed}/{total} passed ({})",
            percent(*passed, *total)
        )?;
    }
    if let Some(url) = &run.report_url {
        writeln!(out, "  report: {url}")?;
    }
    let Some(gate) = &started.gate else {
        return Ok(true);
    };
    let mut passed = true;
    if let Some(min) = gate.min_pass_rate {
        let rate = ratio(counts.passed, counts.total);
        passed &= check(out, "overall", rate, min)?;
    }
    for (name, grader_gate) in &gate.graders {
        match graders.iter().find(|(n, _, _)| n == name) {
            Some((_, p, t)) => {
                passed &= check(out, name, ratio(*p, *t), grader_gate.min_pass_rate)?
            }
            None => {
                // Not a low score: the run reports nothing for this grader (it did not grade,
                // or the service names graders differently). The gate cannot pass.
                writeln!(
                    out,
                    "  gate {name}: FAILED: the run has no results for grader `{name}`"
                )?;
                passed = false;
            }
        }
    }
    Ok(passed)
}

fn check(out: &mut dyn Write, what: &str, rate: f64, min: f64) -> std::io::Result<bool> {
    let ok = rate + 1e-12 >= min;
    let verdict = if ok { "passed" } else { "FAILED" };
    writeln!(
        out,
        "  gate {what}: pass rate {:.1}% (minimum {:.1}%): {verdict}",
        rate * 100.0,
        min * 100.0
    )?;
    Ok(ok)
}

fn ratio(passed: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        passed as f64 / total as f64
    }
}

fn percent(passed: u64, total: u64) -> String {
    format!("{:.1}%", ratio(passed, total) * 100.0)
}

/// A grader's name from the id the service gave it (`<name>-<uuid>`).
pub(crate) fn grader_name(id: &str) -> String {
    let is_uuid = |s: &str| s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    match id.len().checked_sub(37) {
        Some(cut)
            if id.is_char_boundary(cut)
                && id[cut..].starts_with('-')
                && is_uuid(&id[cut + 1..]) =>
        {
            id[..cut].to_string()
        }
        _ => id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::grader_name;

    #[test]
    fn strips_the_uuid_the_service_appends() {
        assert_eq!(
            grader_name("string check-2eaf2d8d-d649-4335-8148-9535a7ca73c2"),
            "string check"
        );
        assert_eq!(grader_name("plain"), "plain");
    }
}
