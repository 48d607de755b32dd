//! Fetching what the service holds, for every command that reads it: every eval, the runs of
//! the ones the command looks at (listed concurrently, bounded by the client's limit), and
//! the uploads when the plan would start runs with local data. A plan skips the runs its
//! evals' `evalctl_runs` tags vouch for: an unchanged project plans in its list pages.

use tokio::task::JoinSet;

use super::path::{checked, IdKind};
use super::{ApiError, Client};
use crate::plan::{self, Desired, Remote, RemoteEval};

/// Which evals' runs to list.
#[derive(Clone, Copy)]
pub enum Runs<'a> {
    /// What a plan reads: see `ForPlan`. The uploads are listed too when the plan would
    /// start runs with local data files.
    ForPlan(ForPlan<'a>),
    /// The runs of these evals alone: the ones a saved plan listed, to tell whether it is
    /// stale.
    Of(&'a [String]),
    /// The project's live evals: what `apply --wait` and `report` check.
    OfLive,
    /// Every eval of the project, superseded ones too, or those of one key: its history
    /// (`runs`, `results`).
    OfManaged { key: Option<&'a str> },
    /// None: the evals alone.
    None,
}

/// What a plan lists: the runs of the project's live evals whose `evalctl_runs` tag does not
/// vouch for the runs the manifests want, of the evals it adopts, and of the evals `--prune`
/// would delete (their run counts are shown); with `refresh`, of every live eval.
#[derive(Clone, Copy)]
pub struct ForPlan<'a> {
    pub desired: &'a Desired,
    pub refresh: bool,
    pub prune: bool,
}

impl ForPlan<'_> {
    fn lists_runs_of(&self, eval: &RemoteEval) -> bool {
        let desired = self.desired;
        if desired.adopts(&eval.id) {
            return true;
        }
        if !eval.is_live_in(&desired.project) {
            return false;
        }
        let Some(key) = eval.key() else {
            return false;
        };
        match desired.evals.get(key) {
            Some(wanted) => self.refresh || !wanted.runs_vouched_by(&eval.metadata),
            None => (self.prune || self.refresh) && !desired.outside.contains(key),
        }
    }
}

/// What to fetch.
pub struct Fetch<'a> {
    pub project: &'a str,
    pub runs: Runs<'a>,
}

pub async fn fetch(client: &Client, what: &Fetch<'_>) -> Result<Remote, ApiError> {
    let evals = client.list_evals().await?;
    let mut evals: Vec<RemoteEval> = evals
        .into_iter()
        .map(|e| RemoteEval {
            id: e.id,
            name: e.name,
            metadata: e.metadata,
            data_source_config: e.data_source_config,
            testing_criteria: e.testing_criteria,
            created_at: e.created_at,
            runs: Vec::new(),
            runs_listed: false,
        })
        .collect();
    // The ids of the project's evals and runs go into later requests: one that is not an id
    // stops the command here, before a plan shows it or an apply writes anything.
    for eval in evals.iter().filter(|e| e.managed_by(what.project)) {
        checked(IdKind::Eval, &eval.id)?;
    }
    list_runs(client, &mut evals, |eval| match what.runs {
        Runs::ForPlan(plan) => plan.lists_runs_of(eval),
        Runs::Of(ids) => ids.contains(&eval.id),
        Runs::OfLive => eval.is_live_in(what.project),
        Runs::None => false,
        Runs::OfManaged { key } => {
            eval.managed_by(what.project) && key.is_none_or(|key| eval.key() == Some(key))
        }
    })
    .await?;
    let uploads = match what.runs {
        Runs::ForPlan(plan) if plan::starts_runs_with_files(plan.desired, &evals) => {
            client.list_files().await?
        }
        _ => Vec::new(),
    };
    Ok(Remote { evals, uploads })
}

/// Lists the runs a plan left unlisted on the project's live evals: what `report` judges.
pub async fn list_live_runs(
    client: &Client,
    remote: &mut Remote,
    project: &str,
) -> Result<(), ApiError> {
    list_runs(client, &mut remote.evals, |eval| {
        !eval.runs_listed && eval.is_live_in(project)
    })
    .await
}

/// Lists the runs of the evals `wanted` picks, concurrently (the client bounds requests in
/// flight), oldest first. An eval deleted since it was listed (another job's `--prune`, or a
/// hand) is dropped: what the service holds is then as if it had never been listed.
pub async fn list_runs(
    client: &Client,
    evals: &mut Vec<RemoteEval>,
    wanted: impl Fn(&RemoteEval) -> bool,
) -> Result<(), ApiError> {
    let mut tasks = JoinSet::new();
    for (index, eval) in evals.iter().enumerate().filter(|(_, e)| wanted(e)) {
        let client = client.clone();
        let id = eval.id.clone();
        tasks.spawn(async move { (index, runs_unless_gone(&client, &id).await) });
    }
    let mut gone = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        // A listing that did not finish must not look like "no runs": that would start them again.
        let (index, runs) =
            joined.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
        let Some(mut runs) = runs? else {
            gone.push(index);
            continue;
        };
        for run in &runs {
            checked(IdKind::Run, &run.id)?;
        }
        runs.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        evals[index].runs = runs;
        evals[index].runs_listed = true;
    }
    gone.sort_unstable();
    for index in gone.into_iter().rev() {
        let eval = evals.remove(index);
        // Two jobs working on one project at once: worth a line, not a failure.
        client.notice(&format!(
            "warning: eval {} ({}) was deleted while it was being read, by another job or by hand; it is taken as gone",
            eval.id, eval.name
        ));
    }
    Ok(())
}

/// The runs of `eval_id`, or `None` when the eval is gone. A 404 on its runs is taken for
/// that only when the eval itself is then not found either: a 404 of anything else (a
/// proxy, a wrong path) stays an error rather than passing for an eval deleted.
async fn runs_unless_gone(
    client: &Client,
    eval_id: &str,
) -> Result<Option<Vec<crate::api::wire::EvalRun>>, ApiError> {
    match client.list_runs(eval_id).await {
        Ok(runs) => Ok(Some(runs)),
        Err(error) if error.status() == Some(404) => match client.get_eval(eval_id).await {
            Err(again) if again.status() == Some(404) => Ok(None),
            _ => Err(error),
        },
        Err(error) => Err(error),
    }
}
