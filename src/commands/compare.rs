//! `evalctl compare EVAL_KEY RUN_KEY`: finds the two runs (the newest completed run of the
//! key and the completed one before it, across replacements, unless named), fetches every
//! output item of both, and hands their rows to `compare::run_comparison`, then to a printer.
//! Also what `apply --wait` and `report` use to judge a run against the one before it.

use std::collections::BTreeSet;
use std::io::Write;

use super::{load_valid, runtime};
use crate::api::{self, Client, Fetch, Runs};
use crate::cli::{CompareArgs, PlanFormat};
use crate::compare::pairing::{rows, Row};
use crate::compare::runs::{named, newest_completed, previous_completed, runs_of_key, KeyedRun};
use crate::compare::{run_comparison, RunComparison, RunRef};
use crate::plan::RemoteEval;
use crate::render;
use crate::Error;

pub(crate) fn compare(
    args: &CompareArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let project = load_valid(&args.project, false, err)?;
    let pair_by = pair_by_of(&project, &args.eval_key);
    let compared = runtime()?.block_on(async {
        let session = super::session::Session::open(&project, &args.target, err).await?;
        let compared = async {
            let mut histories = Histories::new(&session.client, &project.name);
            histories.of_key(&args.eval_key).await?;
            // None of the key: the message `runs` gives, naming the closest key.
            let evals =
                super::runs::project_evals(histories.all(), &project, Some(&args.eval_key))?;
            let (base, new) = chosen(args, &evals, err)?;
            let keys = (args.eval_key.as_str(), args.run_key.as_str());
            compare_pair(&session.client, keys, (pair_by, args.alpha), base, new).await
        }
        .await;
        session.close().await;
        compared
    })?;
    let printed = match args.output {
        PlanFormat::Human => render::comparison_human(&compared, out),
        PlanFormat::Json => render::comparison_json(&compared, out),
        PlanFormat::Markdown => render::comparison_markdown(&compared, out),
    };
    printed.map_err(Error::Output)?;
    Ok(0)
}

/// The item field an eval's manifest pairs rows by (`pair_by: item.<field>`), if any.
pub(crate) fn pair_by_of<'p>(
    project: &'p crate::manifest::Project,
    eval_key: &str,
) -> Option<&'p str> {
    project
        .evals
        .get(eval_key)
        .and_then(|e| e.spec.pair_by.as_deref())
        .and_then(|p| p.strip_prefix("item."))
}

/// The base and new runs `compare` takes: as named, else the newest completed run of the key
/// and the completed one before it. A newer run still at work is said, not compared.
fn chosen<'a>(
    args: &CompareArgs,
    evals: &[&'a RemoteEval],
    err: &mut dyn Write,
) -> Result<(KeyedRun<'a>, KeyedRun<'a>), Error> {
    let runs = runs_of_key(evals, &args.run_key);
    let not_found = |what: String| Error::NotFound(format!("eval `{}` has {what}", args.eval_key));
    let no_such = |name: &str| {
        not_found(format!(
            "no run `{name}`: neither the id of one of its runs nor a run key with a completed run"
        ))
    };
    let new = match &args.new {
        Some(name) => named(evals, name).ok_or_else(|| no_such(name))?,
        None => {
            let new = newest_completed(&runs).ok_or_else(|| {
                not_found(format!("no completed run of run key `{}`", args.run_key))
            })?;
            if let Some(newer) = runs.first().filter(|k| k.run.id != new.run.id) {
                let line = format!(
                    "note: the newest run of `{}/{}`, {}, is {}; comparing the newest completed one",
                    args.eval_key,
                    args.run_key,
                    newer.run.id,
                    newer.run.status.as_str()
                );
                writeln!(err, "{}", crate::error_line(&line)).map_err(Error::Output)?;
            }
            new
        }
    };
    let base = match &args.base {
        Some(name) => named(evals, name).ok_or_else(|| no_such(name))?,
        None => {
            let before = runs_of_key(evals, crate::plan::run_key_of(new.run).unwrap_or_default());
            previous_completed(&before, new.run).ok_or_else(|| {
                not_found(format!(
                    "no completed run of run key `{}` before {} to compare it with",
                    args.run_key, new.run.id
                ))
            })?
        }
    };
    if base.run.id == new.run.id {
        return Err(Error::Usage(format!(
            "--base and --new both name run {}: name two different runs",
            base.run.id
        )));
    }
    Ok((base, new))
}

/// The project's evals, listed once, and the runs of each eval key's evals (live and
/// superseded) listed the first time that key is asked for: where the runs a comparison
/// takes are found, for one `compare` or for every gated run of an `apply --wait`.
pub(crate) struct Histories<'c> {
    client: &'c Client,
    project: &'c str,
    evals: Option<Vec<RemoteEval>>,
    listed: BTreeSet<String>,
}

impl<'c> Histories<'c> {
    pub(crate) fn new(client: &'c Client, project: &'c str) -> Histories<'c> {
        Histories {
            client,
            project,
            evals: None,
            listed: BTreeSet::new(),
        }
    }

    /// Every eval listed so far (runs only of the keys asked for).
    pub(crate) fn all(&self) -> &[RemoteEval] {
        self.evals.as_deref().unwrap_or_default()
    }

    /// The evals of `eval_key` in this project, with their runs.
    pub(crate) async fn of_key(&mut self, eval_key: &str) -> Result<Vec<&RemoteEval>, Error> {
        let project = self.project;
        if self.evals.is_none() {
            let fetch = Fetch {
                project,
                runs: Runs::None,
            };
            self.evals = Some(api::fetch(self.client, &fetch).await?.evals);
        }
        let evals = self.evals.get_or_insert_with(Vec::new);
        let of_key = |e: &RemoteEval| e.managed_by(project) && e.key() == Some(eval_key);
        if self.listed.insert(eval_key.to_string()) {
            api::list_runs(self.client, evals, of_key).await?;
        }
        Ok(evals.iter().filter(|e| of_key(e)).collect())
    }
}

/// A run's output items as the rows a comparison reads, fetched whole and reduced at once.
async fn rows_of(
    client: &Client,
    keyed: KeyedRun<'_>,
    pair_by: Option<&str>,
) -> Result<Vec<Row>, Error> {
    let items = client
        .all_output_items(&keyed.eval.id, &keyed.run.id)
        .await?;
    Ok(rows(&items, pair_by))
}

/// Two runs of a key compared: the output items of both fetched (at once), then paired.
pub(crate) async fn compare_pair(
    client: &Client,
    (eval_key, run_key): (&str, &str),
    (pair_by, alpha): (Option<&str>, f64),
    base: KeyedRun<'_>,
    new: KeyedRun<'_>,
) -> Result<RunComparison, Error> {
    let (base_rows, new_rows) = tokio::try_join!(
        rows_of(client, base, pair_by),
        rows_of(client, new, pair_by),
    )?;
    Ok(compared_rows(
        (eval_key, run_key),
        (pair_by, alpha),
        (base, &base_rows),
        (new, &new_rows),
    ))
}

/// The comparison of two runs whose rows are at hand.
pub(crate) fn compared_rows(
    keys: (&str, &str),
    options: (Option<&str>, f64),
    (base, base_rows): (KeyedRun<'_>, &[Row]),
    (new, new_rows): (KeyedRun<'_>, &[Row]),
) -> RunComparison {
    let graders: Vec<String> = new
        .eval
        .testing_criteria
        .iter()
        .filter_map(|g| g["name"].as_str().map(String::from))
        .collect();
    run_comparison(
        keys,
        options,
        (run_ref(base), base_rows),
        (run_ref(new), new_rows),
        &graders,
    )
}

/// The run `new_run_id` of `eval_key/run_key` against the completed run of the key before
/// it (across replacements); `None` when there is none, or the run is not found.
pub(crate) async fn against_previous(
    histories: &mut Histories<'_>,
    (eval_key, run_key): (&str, &str),
    new_run_id: &str,
    options: (Option<&str>, f64),
) -> Result<Option<RunComparison>, Error> {
    let client = histories.client;
    let evals = histories.of_key(eval_key).await?;
    let runs = runs_of_key(&evals, run_key);
    let Some(new) = runs.iter().find(|k| k.run.id == new_run_id).copied() else {
        return Ok(None);
    };
    let Some(base) = previous_completed(&runs, new.run) else {
        return Ok(None);
    };
    compare_pair(client, (eval_key, run_key), options, base, new)
        .await
        .map(Some)
}

pub(crate) fn run_ref(keyed: KeyedRun<'_>) -> RunRef {
    RunRef {
        run_id: keyed.run.id.clone(),
        eval_id: keyed.eval.id.clone(),
        created_at: keyed.run.created_at,
        status: keyed.run.status.clone(),
    }
}
