//! Runs execute in the background, one tokio task each: `queued` -> `in_progress`, every row
//! sampled (if the data source samples) and graded, then `completed`; `failed` with an `error`
//! when the run cannot start (no model endpoint where one is needed, rows that cannot be
//! read). Cancel and delete abort the task; rows are recorded only while the run is still in
//! progress, so nothing is counted after a cancel.

use serde_json::{json, Value};

use super::grade::{self, Graded};
use super::objects::{RunError, RunStatus};
use super::rows::{self, Row};
use super::sampling;
use super::state::AppState;
use super::store::{RowOutcome, Store};

/// Starts the background work of a queued run of `store`.
pub(crate) fn spawn(state: &AppState, store: Shared, run_id: String) {
    let task_state = state.clone();
    let id = run_id.clone();
    let handle = tokio::spawn(async move {
        execute(&task_state, &store, &id).await;
        task_state.tasks.lock().remove(&id);
    });
    state.tasks.lock().insert(run_id, handle.abort_handle());
}

/// A store as the runner and the handlers share it.
pub(crate) type Shared = std::sync::Arc<parking_lot::RwLock<Store>>;

/// What a run needs from its eval, read once at the start.
struct Plan {
    data_source: Value,
    graders: Vec<Value>,
    rows: Vec<Row>,
    /// Results are reported in a Foundry project's form.
    in_project: bool,
}

async fn execute(state: &AppState, store: &Shared, run_id: &str) {
    tokio::task::yield_now().await;
    let mut plan = match prepare(state, store, run_id) {
        Ok(Some(plan)) => plan,
        Ok(None) => return,
        Err(error) => {
            let _ = store
                .write()
                .finish_run(run_id, RunStatus::Failed, Some(error));
            return;
        }
    };
    let ids: Vec<String> = plan
        .graders
        .iter()
        .map(|g| g["id"].as_str().unwrap_or_default().to_string())
        .collect();
    if !matches!(store.write().start_run(run_id, &ids), Ok(true)) {
        return;
    }
    let rows = std::mem::take(&mut plan.rows);
    // Rows are consumed as they are graded, so a large run holds each row only once.
    for (index, row) in rows.into_iter().enumerate() {
        let outcome = grade_row(state, &plan, index as u64, row).await;
        if !store.write().record_row(run_id, outcome) {
            return;
        }
        if index % 64 == 63 {
            tokio::task::yield_now().await;
        }
    }
    let _ = store.write().finish_run(run_id, RunStatus::Completed, None);
}

/// Reads what the run needs; `None` when the run is gone or no longer queued. Rows are
/// parsed after the store's lock is released, so a large file does not stall other requests.
fn prepare(state: &AppState, store: &Shared, run_id: &str) -> Result<Option<Plan>, RunError> {
    let (data_source, graders, file, in_project) = {
        let store = store.read();
        let Some(entry) = store.run_by_id(run_id) else {
            return Ok(None);
        };
        if entry.run.status != RunStatus::Queued {
            return Ok(None);
        }
        let Ok(eval) = store.eval(&entry.run.eval_id) else {
            return Ok(None);
        };
        let data_source = entry.run.data_source.clone();
        let file = rows::file_of(&data_source, &store).map_err(invalid_data_source)?;
        let graders = eval.testing_criteria.clone();
        (data_source, graders, file, store.is_project())
    };
    let needs_model = sampling::needs_model(&data_source) || graders.iter().any(grade::needs_model);
    if needs_model && state.model.is_none() {
        return Err(RunError::new(
            "model_endpoint_required",
            "This run samples a model or uses a model grader, and the emulator was started without --model-endpoint; it has no model of its own.",
        ));
    }
    let rows = rows::of_data_source(&data_source, file.as_ref()).map_err(invalid_data_source)?;
    Ok(Some(Plan {
        data_source,
        graders,
        rows,
        in_project,
    }))
}

fn invalid_data_source(error: crate::emulator::errors::ApiError) -> RunError {
    RunError::new("invalid_data_source", error.message)
}

async fn grade_row(state: &AppState, plan: &Plan, index: u64, row: Row) -> RowOutcome {
    let model = state.model.as_ref();
    let sampled = sampling::sample_row(&plan.data_source, &row, model).await;
    let mut usage = sampled.usage.clone();
    let mut graded: Vec<Graded> = match &sampled.error {
        Some(error) => plan.graders.iter().map(|g| not_graded(g, error)).collect(),
        None => {
            let context = json!({"item": row.item, "sample": sampled.namespace});
            let mut graded = Vec::with_capacity(plan.graders.len());
            for grader in &plan.graders {
                graded.push(grade::grade(grader, &context, model).await);
            }
            graded
        }
    };
    if plan.in_project {
        for (grader, graded) in plan.graders.iter().zip(&mut graded) {
            grade::in_project(grader, graded);
        }
    }
    usage.extend(graded.iter().filter_map(|g| g.usage.clone()));
    RowOutcome {
        index,
        item: row.item,
        sample: sampled.wire,
        verdicts: graded.iter().map(|g| g.verdict).collect(),
        results: graded.into_iter().map(|g| g.result).collect(),
        usage,
    }
}

fn not_graded(grader: &Value, error: &str) -> Graded {
    Graded {
        result: json!({"name": grader["id"], "type": grader["type"], "score": 0.0, "passed": false,
                       "sample": null, "error": {"code": "sampling_error", "message": error}}),
        verdict: None,
        usage: None,
    }
}
