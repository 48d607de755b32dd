//! Fetching what the service holds, for every command that reads it: every eval, the runs of
//! the ones the command looks at (listed concurrently, bounded by the client's limit), and
//! the uploads when the plan would start runs with local data.

use tokio::task::JoinSet;

use super::path::{checked, IdKind};
use super::{ApiError, Client};
use crate::plan::{self, Desired, Remote, RemoteEval};

/// Which evals' runs to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs<'a> {
    /// The project's live evals: what a plan and `apply --wait` compare.
    OfLive,
    /// Every eval of the project, superseded ones too, or those of one key: its history
    /// (`runs`, `results`).
    OfManaged { key: Option<&'a str> },
    /// None: the evals alone.
    None,
}

/// What to fetch.
pub struct Fetch<'a> {
    pub project: &'a str,
    pub runs: Runs<'a>,
    /// The desired state about to be planned: the uploads are listed too when the plan
    /// would start runs with local data files.
    pub planning: Option<&'a Desired>,
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
        })
        .collect();
    // The ids of the project's evals and runs go into later requests: one that is not an id
    // stops the command here, before a plan shows it or an apply writes anything.
    for eval in evals.iter().filter(|e| e.managed_by(what.project)) {
        checked(IdKind::Eval, &eval.id)?;
    }
    let mut tasks = JoinSet::new();
    for (index, eval) in evals.iter().enumerate() {
        let wanted = match what.runs {
            // An eval to adopt is compared like a live one, runs included.
            Runs::OfLive => {
                eval.is_live_in(what.project)
                    || what
                        .planning
                        .is_some_and(|desired| desired.adopts(&eval.id))
            }
            Runs::None => false,
            Runs::OfManaged { key } => {
                eval.managed_by(what.project) && key.is_none_or(|key| eval.key() == Some(key))
            }
        };
        if wanted {
            let client = client.clone();
            let id = eval.id.clone();
            tasks.spawn(async move { (index, client.list_runs(&id).await) });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        // A listing that did not finish must not look like "no runs": that would start them again.
        let (index, runs) =
            joined.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
        let mut runs = runs?;
        for run in &runs {
            checked(IdKind::Run, &run.id)?;
        }
        runs.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        evals[index].runs = runs;
    }
    let uploads = match what.planning {
        Some(desired) if plan::starts_runs_with_files(desired, &evals) => {
            client.list_files().await?
        }
        _ => Vec::new(),
    };
    Ok(Remote { evals, uploads })
}
