//! Handlers of a run's output items.

use axum::extract::Path;
use axum::response::Response;

use super::{pairs, raw_json, Held, QueryPairs};
use crate::emulator::encoded;
use crate::emulator::errors::ApiError;
use crate::emulator::pagination::{ListParams, ListSpec, Order};

const LIST: ListSpec = ListSpec {
    default_limit: 20,
    max_limit: 100,
    default_order: Order::Asc,
    filters: &[("status", &["pass", "fail"])],
};

pub(crate) async fn list(
    Held(store): Held,
    Path((eval_id, run_id)): Path<(String, String)>,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let params = ListParams::parse(&pairs(query)?, &LIST)?;
    let (items, has_more) = store.read().list_items(&eval_id, &run_id, &params)?;
    Ok(raw_json(encoded::page(&items, has_more)))
}

pub(crate) async fn get(
    Held(store): Held,
    Path((eval_id, run_id, item_id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let item = store.read().item(&eval_id, &run_id, &item_id)?;
    Ok(raw_json(item.json.to_vec()))
}
