//! Handlers of `/evals` and `/evals/{eval_id}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde_json::json;

use super::{json, json_body, pairs, raw_json, required_json_body, Held, QueryPairs};
use crate::emulator::encoded;
use crate::emulator::errors::ApiError;
use crate::emulator::eval_request::{EvalUpdate, NewEval};
use crate::emulator::flavor::Flavor;
use crate::emulator::pagination::{ListParams, ListSpec, Order};
use crate::emulator::state::AppState;

const LIST: ListSpec = ListSpec {
    default_limit: 20,
    max_limit: 100,
    default_order: Order::Asc,
    filters: &[("order_by", &["created_at", "updated_at"])],
};

pub(crate) async fn create(
    Held(store): Held,
    Extension(flavor): Extension<Flavor>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let new = NewEval::parse(&json_body(&body)?, flavor)?;
    let eval = store.write().create_eval(new)?;
    Ok(json(flavor.create_eval_status(), &eval))
}

pub(crate) async fn list(Held(store): Held, query: QueryPairs) -> Result<Response, ApiError> {
    let params = ListParams::parse(&pairs(query)?, &LIST)?;
    let (evals, has_more) = store.read().list_evals(&params)?;
    Ok(raw_json(encoded::page(&evals, has_more)))
}

pub(crate) async fn get(
    Held(store): Held,
    Path(eval_id): Path<String>,
) -> Result<Response, ApiError> {
    let wire = store.read().eval_entry(&eval_id)?.wire.clone();
    match wire {
        Some(wire) => Ok(raw_json(wire.json.to_vec())),
        None => Ok(json(StatusCode::OK, store.read().eval(&eval_id)?)),
    }
}

pub(crate) async fn update(
    Held(store): Held,
    Extension(flavor): Extension<Flavor>,
    Path(eval_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let update = EvalUpdate::parse(&required_json_body(&body)?, flavor)?;
    let eval = store.write().update_eval(&eval_id, update)?;
    Ok(json(StatusCode::OK, &eval))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    Held(store): Held,
    Path(eval_id): Path<String>,
) -> Result<Response, ApiError> {
    let runs = store.write().delete_eval(&eval_id)?;
    for run in runs {
        state.stop_run(&run);
    }
    Ok(json(
        StatusCode::OK,
        &json!({"object": "eval.deleted", "deleted": true, "eval_id": eval_id}),
    ))
}
