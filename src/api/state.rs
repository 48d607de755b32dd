//! Fetching what the planner compares against: every eval on the service, and the runs of
//! this project's live evals (listed concurrently, bounded by the client's limit).

use tokio::task::JoinSet;

use super::{ApiError, Client};
use crate::plan::{RemoteEval, RemoteRun};

pub async fn fetch_remote(client: &Client, project: &str) -> Result<Vec<RemoteEval>, ApiError> {
    let evals = client.list_evals().await?;
    let mut remote: Vec<RemoteEval> = evals
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
    let mut tasks = JoinSet::new();
    for (index, eval) in remote.iter().enumerate() {
        if eval.is_live_in(project) {
            let client = client.clone();
            let id = eval.id.clone();
            tasks.spawn(async move { (index, client.list_runs(&id).await) });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        // A listing that did not finish must not look like "no runs": that would start them again.
        let (index, runs) =
            joined.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
        remote[index].runs = runs?
            .into_iter()
            .map(|r| RemoteRun {
                id: r.id,
                name: r.name,
                metadata: r.metadata,
                status: r.status,
                created_at: r.created_at,
            })
            .collect();
    }
    Ok(remote)
}
