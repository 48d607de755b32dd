//! `evalctl runs`: the run history of this project's evals as the service holds it, found by
//! the ownership tags (design §3) rather than the manifests, so superseded evals and runs made
//! before a manifest change still show. Also the look-ups `results` shares: the project's
//! evals by key, their runs, and the "no such eval" error with its suggestion.

use std::io::Write;

use tokio::task::JoinSet;

use super::session::Session;
use super::{load_valid, runtime};
use crate::api::wire::{Eval, EvalRun};
use crate::api::{ApiError, Client};
use crate::cli::RunsArgs;
use crate::manifest::diagnostic::did_you_mean;
use crate::manifest::Project;
use crate::plan::tags;
use crate::Error;

/// One of the project's evals with its runs, oldest run first.
pub(crate) struct ProjectEval {
    pub eval: Eval,
    pub key: String,
    pub superseded: bool,
    pub runs: Vec<EvalRun>,
}

pub(crate) fn runs(args: &RunsArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, Error> {
    let eval_key = args.eval_key.clone();
    let project = load_valid(&args.project, false, err)?;
    let evals = runtime()?.block_on(async {
        let session = Session::open(&project, &args.target).await?;
        let result = fetch(&session.client, &project, eval_key.as_deref()).await;
        session.close().await;
        result
    })?;
    print(&evals, out).map_err(Error::Output)?;
    Ok(0)
}

async fn fetch(
    client: &Client,
    project: &Project,
    eval_key: Option<&str>,
) -> Result<Vec<ProjectEval>, Error> {
    let evals = managed_evals(client, &project.name).await?;
    let chosen = match eval_key {
        Some(key) => select(evals, key, project)?,
        None => evals,
    };
    Ok(with_runs(client, chosen).await?)
}

/// The evals this project manages, live and superseded, by key, live first, newest first.
pub(crate) async fn managed_evals(client: &Client, project: &str) -> Result<Vec<Eval>, Error> {
    let mut evals: Vec<Eval> = client
        .list_evals()
        .await?
        .into_iter()
        .filter(|e| e.metadata.get(tags::PROJECT).map(String::as_str) == Some(project))
        .collect();
    evals.sort_by(|a, b| {
        (key_of(a), is_superseded(a), -a.created_at, &a.id).cmp(&(
            key_of(b),
            is_superseded(b),
            -b.created_at,
            &b.id,
        ))
    });
    Ok(evals)
}

/// The evals with `key`, or an error naming the key with the closest known one.
pub(crate) fn select(evals: Vec<Eval>, key: &str, project: &Project) -> Result<Vec<Eval>, Error> {
    let (chosen, others): (Vec<Eval>, Vec<Eval>) =
        evals.into_iter().partition(|e| key_of(e) == key);
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
            .map(key_of)
            .chain(project.evals.keys().map(String::as_str));
        if let Some(close) = did_you_mean(key, known) {
            message.push_str(&format!(" (did you mean `{close}`?)"));
        }
    }
    Err(Error::NotFound(message))
}

/// Lists the runs of each eval, concurrently within the client's limit.
pub(crate) async fn with_runs(
    client: &Client,
    evals: Vec<Eval>,
) -> Result<Vec<ProjectEval>, ApiError> {
    let mut tasks = JoinSet::new();
    for (index, eval) in evals.iter().enumerate() {
        let (client, id) = (client.clone(), eval.id.clone());
        tasks.spawn(async move { (index, client.list_runs(&id).await) });
    }
    let mut listed: Vec<Option<Vec<EvalRun>>> = vec![None; evals.len()];
    while let Some(joined) = tasks.join_next().await {
        let (index, runs) =
            joined.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
        listed[index] = Some(runs?);
    }
    Ok(evals
        .into_iter()
        .zip(listed)
        .map(|(eval, runs)| {
            let mut runs = runs.unwrap_or_default();
            runs.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            ProjectEval {
                key: key_of(&eval).to_string(),
                superseded: is_superseded(&eval),
                eval,
                runs,
            }
        })
        .collect())
}

fn key_of(eval: &Eval) -> &str {
    eval.metadata.get(tags::KEY).map_or("", String::as_str)
}

fn is_superseded(eval: &Eval) -> bool {
    eval.metadata.get(tags::STATE).map(String::as_str) == Some(tags::SUPERSEDED)
}

/// The run key evalctl tagged a run with; `-` for runs made outside evalctl.
pub(crate) fn run_key(run: &EvalRun) -> &str {
    run.metadata.get(tags::KEY).map_or("-", String::as_str)
}

fn print(evals: &[ProjectEval], out: &mut dyn Write) -> std::io::Result<()> {
    let header = [
        "EVAL",
        "STATE",
        "RUN",
        "RUN ID",
        "STATUS",
        "CREATED",
        "PASSED",
        "FAILED",
        "ERRORED",
        "TOTAL",
        "PASS RATE",
        "REPORT",
    ];
    let rows: Vec<Vec<String>> = evals
        .iter()
        .flat_map(|e| e.runs.iter().map(move |run| row(e, run)))
        .collect();
    if rows.is_empty() {
        return writeln!(out, "No runs.");
    }
    write_table(out, &header, &rows)
}

fn row(eval: &ProjectEval, run: &EvalRun) -> Vec<String> {
    let counts = run.result_counts.unwrap_or_default();
    let rate = match counts.total {
        0 => "-".to_string(),
        total => format!("{:.1}%", counts.passed as f64 * 100.0 / total as f64),
    };
    vec![
        eval.key.clone(),
        if eval.superseded {
            "superseded"
        } else {
            "live"
        }
        .to_string(),
        run_key(run).to_string(),
        run.id.clone(),
        run.status.clone(),
        utc(run.created_at),
        counts.passed.to_string(),
        counts.failed.to_string(),
        counts.errored.to_string(),
        counts.total.to_string(),
        rate,
        run.report_url.clone().unwrap_or_else(|| "-".into()),
    ]
}

/// Columns padded to their widest cell, two spaces apart; no trailing blanks.
pub(crate) fn write_table(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Unix seconds as ISO 8601 UTC, `2026-11-25T01:30:14Z`.
pub(crate) fn utc(seconds: i64) -> String {
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil: exact for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_iso_8601() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_743_092_076), "2025-03-27T16:14:36Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn tables_align_columns_without_trailing_blanks() {
        let mut out = Vec::new();
        let rows = vec![vec!["a".to_string(), "bbb".to_string()]];
        write_table(&mut out, &["LONG", "X"], &rows).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(String::from_utf8_lossy(&out), "LONG  X\na     bbb\n");
    }
}
