//! A service that cannot be trusted, for testing clients (`serve --misbehave`): ids shaped
//! to escape a request path and paint the terminal, a listing that never ends, an answer
//! that stalls or trickles, one of hundreds of megabytes, and a redirect elsewhere. Each is how a broken
//! proxy, a compromised endpoint or a typo'd URL looks from the client's side; the client
//! must stay bounded, say what happened, and send nothing it should not. And one that is no
//! fault at all, though a client must bear it: evals deleted while it reads them, as another
//! job's `--prune` does.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// How the emulator misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Misbehavior {
    /// Every eval id sent is `../../../v1/files/x?` followed by an escape sequence and the
    /// real id: a path traversal and a terminal forgery in one.
    HostileIds,
    /// Every listing says `has_more: true`, with a new `last_id` each time.
    EndlessPages,
    /// No request is ever answered.
    Stall,
    /// Listings answer a byte every half second, never stalling, never ending.
    Trickle,
    /// Listings answer 200 MB (streamed, with no length announced).
    HugeBody,
    /// Every request is redirected to another host.
    Redirect,
    /// Every eval is deleted the moment its runs are listed, so the listing finds it gone:
    /// what a client sees when another job's `apply --prune` deletes an eval between its
    /// listing of evals and of their runs.
    PrunedWhileListed,
    /// Listing an eval's runs answers 404 although the eval is there, as a proxy that does
    /// not know the route would: no reason to take the eval for deleted.
    RunsNotFound,
}

/// The prefix of a hostile eval id.
pub(crate) const HOSTILE_ID: &str = "../../../v1/files/x?\u{1b}[2J";
/// Where `Redirect` sends clients.
pub(crate) const ELSEWHERE: &str = "https://elsewhere.example/steal";
const HUGE_BYTES: usize = 200 * 1024 * 1024;

/// What to answer instead of handling the request, for the misbehaviors that do not need
/// the real answer.
pub(crate) async fn instead(misbehavior: Misbehavior, listing: bool) -> Option<Response> {
    match misbehavior {
        Misbehavior::Stall => {
            tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
            None
        }
        Misbehavior::Redirect => {
            let mut response = StatusCode::FOUND.into_response();
            response
                .headers_mut()
                .insert(header::LOCATION, HeaderValue::from_static(ELSEWHERE));
            Some(response)
        }
        Misbehavior::HugeBody if listing => Some(huge()),
        Misbehavior::Trickle if listing => Some(trickle()),
        _ => None,
    }
}

/// The real answer, changed as the misbehavior has it.
pub(crate) async fn rewrite(misbehavior: Misbehavior, response: Response) -> Response {
    if !matches!(
        misbehavior,
        Misbehavior::HostileIds | Misbehavior::EndlessPages
    ) || !response.status().is_success()
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    match misbehavior {
        Misbehavior::HostileIds => hostile_ids(&mut value),
        _ => endless(&mut value),
    }
    let mut response = Response::from_parts(parts, Body::from(value.to_string()));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response
}

fn hostile_ids(value: &mut Value) {
    let is_eval = |v: &Value| v["object"] == "eval";
    let mut evals: Vec<&mut Value> = Vec::new();
    if is_eval(value) {
        evals.push(value);
    } else if let Some(data) = value["data"].as_array_mut() {
        evals.extend(data.iter_mut().filter(|v| is_eval(v)));
    }
    for eval in evals {
        let id = eval["id"].as_str().unwrap_or_default();
        eval["id"] = Value::String(format!("{HOSTILE_ID}{id}"));
    }
}

fn endless(value: &mut Value) {
    if value["object"] != "list" {
        return;
    }
    // A new eval of nobody's on every page, and a new cursor after it, so the client cannot
    // tell it is going round in circles.
    let id = format!("eval_{}", uuid::Uuid::new_v4().simple());
    if let Some(data) = value["data"].as_array_mut() {
        data.push(serde_json::json!({
            "object": "eval", "id": id, "name": "endless", "metadata": {},
            "data_source_config": {"type": "custom", "schema": {}}, "testing_criteria": [],
            "created_at": 0,
        }));
    }
    value["has_more"] = Value::Bool(true);
    value["last_id"] = Value::String(id);
}

fn trickle() -> Response {
    let bytes = futures_util::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Some((
            Ok::<Bytes, std::convert::Infallible>(Bytes::from_static(b" ")),
            (),
        ))
    });
    Response::new(Body::from_stream(bytes))
}

fn huge() -> Response {
    let chunk = Bytes::from(vec![b' '; 1024 * 1024]);
    let chunks = std::iter::repeat_n(chunk, HUGE_BYTES / (1024 * 1024))
        .map(Ok::<Bytes, std::convert::Infallible>);
    let mut response = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
