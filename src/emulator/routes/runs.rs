//! Handlers of `/evals/{eval_id}/runs` and `/evals/{eval_id}/runs/{run_id}` (get, cancel as a
//! bare POST or POST `.../cancel`, delete).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde_json::json;

use super::{json, json_body, page, pairs, Held, QueryPairs};
use crate::emulator::data_source_config::item_schema;
use crate::emulator::errors::ApiError;
use crate::emulator::flavor::Flavor;
use crate::emulator::misbehavior::Misbehavior;
use crate::emulator::objects::RunStatus;
use crate::emulator::pagination::{ListParams, ListSpec, Order};
use crate::emulator::run_request::NewRun;
use crate::emulator::state::AppState;
use crate::emulator::{rows, runner};

const LIST: ListSpec = ListSpec {
    default_limit: 20,
    max_limit: 100,
    default_order: Order::Asc,
    filters: &[("status", &RunStatus::NAMES)],
};

pub(crate) async fn create(
    State(state): State<AppState>,
    Held(store): Held,
    Extension(flavor): Extension<Flavor>,
    Path(eval_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    store.read().eval(&eval_id)?;
    let new = NewRun::parse(&json_body(&body)?, flavor)?;
    let (file, schema) = {
        let store = store.read();
        let file = rows::file_of(&new.data_source, &store)?;
        let config = &store.eval(&eval_id)?.data_source_config;
        (file, item_schema(config).clone())
    };
    // The rows are only checked here (and dropped); the runner reads them again.
    rows::check_schema(
        &rows::of_data_source(&new.data_source, file.as_ref())?,
        &schema,
        "data_source.source",
    )?;
    let run = store.write().create_run(&eval_id, new, &state.base_url)?;
    runner::spawn(&state, store.clone(), run.id.clone());
    Ok(json(StatusCode::CREATED, &run))
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Held(store): Held,
    Path(eval_id): Path<String>,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    match state.config.misbehave {
        Some(Misbehavior::PrunedWhileListed) => {
            let runs = store.write().delete_eval(&eval_id)?;
            runs.iter().for_each(|run| state.stop_run(run));
        }
        Some(Misbehavior::RunsNotFound) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Resource not found.",
            ));
        }
        _ => {}
    }
    let params = ListParams::parse(&pairs(query)?, &LIST)?;
    let (runs, has_more) = store.read().list_runs(&eval_id, &params)?;
    Ok(page(&runs, has_more, |r| &r.id))
}

pub(crate) async fn get(
    Held(store): Held,
    Path((eval_id, run_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let run = store.read().run(&eval_id, &run_id)?.clone();
    Ok(json(StatusCode::OK, &run))
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    Held(store): Held,
    Path((eval_id, run_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    // The SDK sends no body; a body, if any, must at least be JSON.
    json_body(&body)?;
    let run = store.write().cancel_run(&eval_id, &run_id)?;
    state.stop_run(&run_id);
    Ok(json(StatusCode::OK, &run))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    Held(store): Held,
    Extension(flavor): Extension<Flavor>,
    Path((eval_id, run_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    store.write().delete_run(&eval_id, &run_id)?;
    state.stop_run(&run_id);
    let body = match flavor {
        Flavor::OpenAi => json!({"object": "eval.run.deleted", "deleted": true, "run_id": run_id}),
        Flavor::Azure | Flavor::Foundry => {
            json!({"object": "eval_run.deleted", "deleted": true, "eval_run_id": run_id})
        }
    };
    Ok(json(StatusCode::OK, &body))
}
