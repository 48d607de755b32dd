//! Carrying out a plan through the client, in dependency order: uploads, then new evals
//! (creates and replacements), then marking replaced evals superseded, then updates, then
//! deletes, then runs. Work within a stage runs concurrently (the client bounds requests in
//! flight). Every action gets an outcome: done, failed with the service's message, or
//! skipped because what it needed failed; independent work still happens. Each outcome is
//! handed to the caller as soon as it is known, so what was done is on record even if the
//! process is stopped half-way.

mod once;
mod uploads;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::api::wire::FileObject;
use crate::api::{ApiError, Client};
use crate::plan::{tags, Action, NewEval, Plan, StartRun};
use once::create_once;
use uploads::Uploads;

/// What happened to one action of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Carried out; the detail names what was made (an id).
    Done(String),
    Failed(String),
    Skipped(String),
}

/// A run that was started, for `--wait`.
#[derive(Debug, Clone)]
pub struct StartedRun {
    pub action: usize,
    pub eval_key: String,
    pub run_key: String,
    pub eval_id: String,
    pub run_id: String,
}

/// The outcome of every action, in plan order, and the runs started.
#[derive(Debug, Clone)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
    pub started: Vec<StartedRun>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Failed(_)))
            .count()
    }

    pub fn skipped(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Skipped(_)))
            .count()
    }
}

/// The outcome of each action so far, told to the caller as each becomes known.
struct Outcomes<'a> {
    by_action: Vec<Option<Outcome>>,
    told: &'a mut dyn FnMut(usize, &Outcome),
}

impl Outcomes<'_> {
    fn set(&mut self, index: usize, outcome: Outcome) {
        (self.told)(index, &outcome);
        self.by_action[index] = Some(outcome);
    }

    /// An outcome that waits for a later stage (a replacement is done once the old eval is
    /// marked superseded): kept, not told yet.
    fn hold(&mut self, index: usize, outcome: Outcome) {
        self.by_action[index] = Some(outcome);
    }

    fn take(&mut self, index: usize) -> Option<Outcome> {
        self.by_action[index].take()
    }
}

/// Carries out `plan`, telling `told` each action's outcome as soon as it is known. Never
/// stops at the first failure. `uploads` are the service's uploads when the caller listed
/// them already (to plan), so they are not listed again.
pub async fn apply(
    client: &Client,
    plan: &Plan,
    uploads: Option<&[FileObject]>,
    told: &mut dyn FnMut(usize, &Outcome),
) -> Report {
    let mut outcomes = Outcomes {
        by_action: vec![None; plan.actions.len()],
        told,
    };
    let uploads = Uploads::prepare(client, plan, uploads).await;
    let new_ids = create_evals(client, plan, &mut outcomes).await;
    // Every replacement whose new eval was created is told here, with its old eval marked.
    supersede_and_update(client, plan, &new_ids, &mut outcomes).await;
    delete(client, plan, &mut outcomes).await;
    let started = start_runs(client, plan, &new_ids, &uploads, &mut outcomes).await;
    record_runs(client, plan, &new_ids, &outcomes.by_action).await;
    let outcomes = outcomes
        .by_action
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Outcome::Skipped("not reached".into())))
        .collect();
    Report { outcomes, started }
}

fn eval_body(new: &NewEval) -> Value {
    json!({
        "name": new.name,
        "metadata": new.metadata,
        "data_source_config": new.data_source_config,
        "testing_criteria": new.testing_criteria,
    })
}

/// Creates the new evals of creates and replacements; returns their ids by eval key.
async fn create_evals(
    client: &Client,
    plan: &Plan,
    outcomes: &mut Outcomes<'_>,
) -> BTreeMap<String, String> {
    let mut tasks = JoinSet::new();
    for (index, action) in plan.actions.iter().enumerate() {
        let new = match action {
            Action::CreateEval(new) => new.clone(),
            Action::ReplaceEval(replace) => replace.new.clone(),
            _ => continue,
        };
        let client = client.clone();
        let project = plan.project.clone();
        tasks.spawn(async move {
            let body = eval_body(&new);
            let created = create_once(
                || client.create_eval(&body),
                || find_eval(&client, &project, &new),
            )
            .await;
            (index, new.key, created.map(|e| e.id))
        });
    }
    let mut ids = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (index, key, result) =
            joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        match (result, &plan.actions[index]) {
            // A replacement is done once its old eval is marked superseded too.
            (Ok(id), Action::ReplaceEval(_)) => {
                ids.insert(key, id.clone());
                outcomes.hold(index, Outcome::Done(id));
            }
            (Ok(id), _) => {
                ids.insert(key, id.clone());
                outcomes.set(index, Outcome::Done(id));
            }
            (Err(error), _) => outcomes.set(index, Outcome::Failed(error.to_string())),
        }
    }
    ids
}

/// The live eval evalctl made for `new`, if a create whose answer was lost did happen.
async fn find_eval(
    client: &Client,
    project: &str,
    new: &NewEval,
) -> Result<Option<crate::api::wire::Eval>, ApiError> {
    let evals = client.list_evals().await?;
    Ok(evals.into_iter().find(|e| {
        let tag = |k: &str| e.metadata.get(k).map(String::as_str);
        tag(tags::PROJECT) == Some(project)
            && tag(tags::KEY) == Some(&new.key)
            && tag(tags::SPEC) == Some(&new.spec_hash)
            && tag(tags::STATE).is_none()
    }))
}

/// Marks replaced evals superseded (only once their replacement exists) and applies
/// in-place updates.
async fn supersede_and_update(
    client: &Client,
    plan: &Plan,
    new_ids: &BTreeMap<String, String>,
    outcomes: &mut Outcomes<'_>,
) {
    let mut tasks = JoinSet::new();
    for (index, action) in plan.actions.iter().enumerate() {
        let (id, body) = match action {
            Action::ReplaceEval(replace) if new_ids.contains_key(&replace.key) => (
                replace.old_id.clone(),
                json!({"name": replace.old_name, "metadata": replace.superseded_metadata}),
            ),
            Action::UpdateEval(update) | Action::AdoptEval(update) => (
                update.id.clone(),
                json!({"name": update.name, "metadata": update.metadata}),
            ),
            _ => continue,
        };
        let client = client.clone();
        tasks.spawn(async move { (index, client.update_eval(&id, &body).await.map(|e| e.id)) });
    }
    while let Some(joined) = tasks.join_next().await {
        let (index, result) = joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let held = outcomes.take(index);
        let outcome = match (result, &plan.actions[index], held) {
            // A replacement is done when the new eval exists and the old one is marked.
            (Ok(_), Action::ReplaceEval(_), Some(created)) => created,
            (Ok(id), _, _) => Outcome::Done(id),
            (Err(error), Action::ReplaceEval(r), _) => Outcome::Failed(format!(
                "the new eval {} was created, but marking {} superseded failed (the next plan repairs it): {error}",
                new_ids.get(&r.key).map_or("", String::as_str),
                r.old_id
            )),
            (Err(error), _, _) => Outcome::Failed(error.to_string()),
        };
        outcomes.set(index, outcome);
    }
}

async fn delete(client: &Client, plan: &Plan, outcomes: &mut Outcomes<'_>) {
    let mut tasks = JoinSet::new();
    for (index, action) in plan.actions.iter().enumerate() {
        if let Action::DeleteEval(delete) = action {
            let client = client.clone();
            let id = delete.id.clone();
            tasks.spawn(async move { (index, id.clone(), client.delete_eval(&id).await) });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        let (index, id, result) =
            joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let outcome = match result {
            Ok(()) => Outcome::Done(id),
            // Already gone (a retried delete, or removed by hand): the goal is reached.
            Err(error) if error.status() == Some(404) => Outcome::Done(id),
            Err(error) => Outcome::Failed(error.to_string()),
        };
        outcomes.set(index, outcome);
    }
}

async fn start_runs(
    client: &Client,
    plan: &Plan,
    new_ids: &BTreeMap<String, String>,
    uploads: &Uploads,
    outcomes: &mut Outcomes<'_>,
) -> Vec<StartedRun> {
    let mut tasks = JoinSet::new();
    for (index, action) in plan.actions.iter().enumerate() {
        let Action::StartRun(run) = action else {
            continue;
        };
        let eval_id = match run
            .eval_id
            .clone()
            .or_else(|| new_ids.get(&run.eval_key).cloned())
        {
            Some(id) => id,
            None => {
                let reason = format!("eval `{}` was not created", run.eval_key);
                outcomes.set(index, Outcome::Skipped(reason));
                continue;
            }
        };
        let data_source = match uploads.data_source(run) {
            Ok(data_source) => data_source,
            Err(reason) => {
                outcomes.set(index, Outcome::Skipped(reason));
                continue;
            }
        };
        let client = client.clone();
        let run = run.clone();
        tasks.spawn(async move {
            let body =
                json!({"name": run.name, "metadata": run.metadata, "data_source": data_source});
            let created = create_once(
                || client.create_run(&eval_id, &body),
                || find_run(&client, &eval_id, &run),
            )
            .await;
            (index, run, eval_id, created.map(|r| r.id))
        });
    }
    let mut started = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (index, run, eval_id, result) =
            joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let outcome = match result {
            Ok(run_id) => {
                started.push(StartedRun {
                    action: index,
                    eval_key: run.eval_key,
                    run_key: run.run_key,
                    eval_id,
                    run_id: run_id.clone(),
                });
                Outcome::Done(run_id)
            }
            Err(error) => Outcome::Failed(error.to_string()),
        };
        outcomes.set(index, outcome);
    }
    started.sort_by_key(|s| s.action);
    started
}

/// Writes each eval's `evalctl_runs` tag once everything the plan does to that eval was
/// done. A tag left unwritten (a failure, a crash) costs the next plan one listing of the
/// eval's runs, never a run started twice or one missed: it is not an outcome of the apply.
async fn record_runs(
    client: &Client,
    plan: &Plan,
    new_ids: &BTreeMap<String, String>,
    outcomes: &[Option<Outcome>],
) {
    let mut tasks = JoinSet::new();
    for record in &plan.records {
        let all_done = plan
            .actions
            .iter()
            .zip(outcomes)
            .filter(|(action, _)| action.eval_key() == record.eval_key)
            .all(|(_, outcome)| matches!(outcome, Some(Outcome::Done(_))));
        let id = record
            .eval_id
            .clone()
            .or_else(|| new_ids.get(&record.eval_key).cloned());
        let (true, Some(id)) = (all_done, id) else {
            continue;
        };
        let client = client.clone();
        let body = json!({"name": record.name, "metadata": record.metadata});
        tasks.spawn(async move { (id.clone(), client.update_eval(&id, &body).await) });
    }
    while let Some(joined) = tasks.join_next().await {
        let (id, result) = joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        if let Err(error) = result {
            tracing::debug!(eval = %id, %error, "the evalctl_runs tag was not written");
        }
    }
}

async fn find_run(
    client: &Client,
    eval_id: &str,
    run: &StartRun,
) -> Result<Option<crate::api::wire::EvalRun>, ApiError> {
    let runs = client.list_runs(eval_id).await?;
    Ok(runs.into_iter().find(|r| {
        r.metadata.get(tags::KEY) == Some(&run.run_key)
            && r.metadata.get(tags::SPEC) == Some(&run.spec_hash)
    }))
}
