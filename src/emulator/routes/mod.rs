//! The HTTP surface: the same operations under `/v1` (OpenAI flavor) and `/openai/v1` (Azure
//! flavor), each wrapped in its flavor's [`layer`](super::layer), plus the helpers handlers
//! share to read bodies and queries and to write JSON.

mod evals;
mod files;
mod items;
mod runs;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Serialize;
use serde_json::Value;

use super::errors::ApiError;
use super::flavor::{Flavor, Surface};
use super::layer;
use super::pagination::envelope;
use super::runner::Shared;
use super::state::AppState;

/// Uploads and inline rows can be large; the service takes files up to 512 MB.
const BODY_LIMIT: usize = 512 * 1024 * 1024;

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .nest("/v1", api(&state, Flavor::OpenAi))
        .nest("/openai/v1", api(&state, Flavor::Azure))
        .nest(PROJECT_API, api(&state, Flavor::Foundry))
        .fallback(|| async { not_found_route() })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

fn api(state: &AppState, flavor: Flavor) -> Router {
    Router::new()
        .route("/evals", get(evals::list).post(evals::create))
        .route(
            "/evals/{eval_id}",
            get(evals::get).post(evals::update).delete(evals::delete),
        )
        .route("/evals/{eval_id}/runs", get(runs::list).post(runs::create))
        .route(
            "/evals/{eval_id}/runs/{run_id}",
            get(runs::get).post(runs::cancel).delete(runs::delete),
        )
        .route("/evals/{eval_id}/runs/{run_id}/cancel", post(runs::cancel))
        .route(
            "/evals/{eval_id}/runs/{run_id}/output_items",
            get(items::list),
        )
        .route(
            "/evals/{eval_id}/runs/{run_id}/output_items/{item_id}",
            get(items::get),
        )
        .route("/files", get(files::list).post(files::create))
        .route("/files/{file_id}", get(files::get).delete(files::delete))
        .route("/files/{file_id}/content", get(files::content))
        .fallback(|| async { not_found_route() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This method is not allowed on this path.",
            )
        })
        .layer(from_fn_with_state((state.clone(), flavor), layer::around))
        .layer(Extension(flavor))
        .with_state(state.clone())
}

fn not_found_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "Invalid URL: no such operation in the Evals API.",
    )
}

/// Where the router serves every Foundry project's API: `project_request` moves each
/// request there, marked with its project, so the handlers see the same paths on every
/// surface.
const PROJECT_API: &str = "/_project/openai/v1";

/// A request to `/api/projects/{project}/openai/v1/...` goes to the project flavor's routes,
/// marked with its project; nothing else reaches them.
pub(crate) fn project_request<B>(request: &mut axum::http::Request<B>) {
    let path = request.uri().path();
    let rest = path.strip_prefix("/api/projects/").and_then(|rest| {
        let (project, api) = rest.split_once('/')?;
        let api = api.strip_prefix("openai/v1")?;
        let named = !project.is_empty()
            && project
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        (named && (api.is_empty() || api.starts_with('/'))).then(|| (project.to_string(), api))
    });
    let (target, surface) = match rest {
        Some((project, api)) => (
            format!("{PROJECT_API}{api}"),
            Some(Surface::Project(project)),
        ),
        None if path.starts_with(PROJECT_API) => ("/not-found".to_string(), None),
        None => return,
    };
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    if let Ok(uri) = format!("{target}{query}").parse() {
        *request.uri_mut() = uri;
    }
    if let Some(surface) = surface {
        request.extensions_mut().insert(surface);
    }
}

/// The store a request speaks to: its surface's (the router marks project paths).
pub(crate) struct Held(pub(crate) Shared);

impl FromRequestParts<AppState> for Held {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Held, ApiError> {
        let surface = parts.extensions.get::<Surface>().cloned();
        state
            .store_of(&surface.unwrap_or(Surface::Resource))
            .map(Held)
    }
}

/// A JSON body the operation requires (the spec marks it `required`): an empty one is a 400.
pub(crate) fn required_json_body(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "This request needs a JSON body, and it had none.",
        ));
    }
    json_body(bytes)
}

/// A JSON body; an empty body is `{}` (cancel is sent without one).
pub(crate) fn json_body(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("We could not parse the JSON body of your request ({e})."),
        )
    })
}

/// The query string as pairs, in order.
pub(crate) type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

pub(crate) fn pairs(query: QueryPairs) -> Result<Vec<(String, String)>, ApiError> {
    query.map(|Query(pairs)| pairs).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("Invalid query string: {e}."),
        )
    })
}

/// A JSON answer, serialized once.
pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            format!("The answer could not be encoded: {e}."),
        )
        .into_response(),
    }
}

/// An answer already encoded as JSON.
pub(crate) fn raw_json(bytes: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        bytes,
    )
        .into_response()
}

/// A list page in the list envelope.
pub(crate) fn page<T: Serialize>(data: &[T], has_more: bool, id: impl Fn(&T) -> &str) -> Response {
    let ids = (data.first().map(&id), data.last().map(&id));
    json(StatusCode::OK, &envelope(data, ids, has_more))
}
