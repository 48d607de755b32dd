//! What every API request goes through around its handler, per flavor: the request-id
//! header, `--latency-ms`, the `--api-key` check, Azure's `api-version` check, injected faults,
//! and errors rendered in the flavor's envelope.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

use super::errors::ApiError;
use super::faults::Fault;
use super::flavor::Flavor;
use super::ids;
use super::misbehavior;
use super::state::AppState;

/// Requests kept in the log `Server::take_requests` empties.
const MAX_LOGGED: usize = 10_000;

/// Closes the request's connection without an answer; the server puts one in every request.
#[derive(Clone)]
pub(crate) struct ConnectionKill(pub(crate) Arc<Notify>);

pub(crate) async fn around(
    State((state, flavor)): State<(AppState, Flavor)>,
    request: Request,
    next: Next,
) -> Response {
    let _answering = state.in_flight.enter();
    {
        let mut requests = state.requests.lock();
        // A log for tests; a long-running `serve` must not grow it forever.
        if requests.len() < MAX_LOGGED {
            requests.push(format!("{} {}", request.method(), request.uri()));
        }
    }
    if state.config.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(state.config.latency_ms)).await;
    }
    if let Some(misbehavior) = state.config.misbehave {
        let listing =
            request.method() == axum::http::Method::GET && request.uri().path().ends_with("/evals");
        if let Some(response) = misbehavior::instead(misbehavior, listing).await {
            return response;
        }
    }
    let limited = over_the_limit(&state);
    let mut response = match (admit(&state, flavor, &request), limited) {
        (Err(error), _) => error.into_response(),
        (Ok(()), Some(wait)) => rate_limited(wait),
        (Ok(()), None) => match state.faults.next() {
            Fault::None => next.run(request).await,
            Fault::Drop => return drop_after(request, next).await,
            fault => injected(fault),
        },
    };
    if let Some(misbehavior) = state.config.misbehave {
        response = misbehavior::rewrite(misbehavior, response).await;
    }
    if let Some(error) = response.extensions().get::<ApiError>().cloned() {
        if flavor.is_azure() {
            let headers = std::mem::take(response.headers_mut());
            response = (error.status, axum::Json(error.body(flavor))).into_response();
            merge_extra_headers(response.headers_mut(), headers);
        }
    }
    if let Ok(value) = HeaderValue::from_str(&ids::request(flavor.is_azure())) {
        response
            .headers_mut()
            .insert(flavor.request_id_header(), value);
    }
    response
}

/// Keeps headers such as `Retry-After` when an error is rendered again.
fn merge_extra_headers(into: &mut HeaderMap, from: HeaderMap) {
    for (name, value) in from.iter() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            into.insert(name.clone(), value.clone());
        }
    }
}

/// The checks before a request reaches its handler.
fn admit(state: &AppState, flavor: Flavor, request: &Request) -> Result<(), ApiError> {
    // A Foundry project takes Entra ID tokens only: a key is refused whatever it is (as
    // observed), and `--api-key` stands for the token a test gives.
    if flavor == Flavor::Foundry && request.headers().contains_key("api-key") {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "PermissionDenied",
            "Key based authentication is disabled for this resource: use an Entra ID token (Authorization: Bearer) for https://ai.azure.com/.default.",
        ));
    }
    if let Some(key) = &state.config.api_key {
        if !authorized(request.headers(), key, flavor) {
            let how = match flavor {
                Flavor::OpenAi => "Send the key as 'Authorization: Bearer <key>'.",
                Flavor::Azure => {
                    "Send the key as the 'api-key' header or as 'Authorization: Bearer <key>'."
                }
                Flavor::Foundry => "Send an Entra ID token as 'Authorization: Bearer <token>'.",
            };
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                format!("Incorrect API key provided. {how}"),
            ));
        }
    }
    if flavor == Flavor::Azure {
        check_api_version(request.uri().query().unwrap_or_default())?;
    }
    Ok(())
}

/// Azure takes the key as `api-key` or as a Bearer token; OpenAI's spec knows Bearer only,
/// and a client that sends its key as `api-key` there is refused as the service refuses it.
fn authorized(headers: &HeaderMap, key: &str, flavor: Flavor) -> bool {
    let api_key = headers.get("api-key").and_then(|v| v.to_str().ok());
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer == Some(key) || (flavor == Flavor::Azure && api_key == Some(key))
}

/// Azure accepts `api-version` `v1` or `preview`, or none (meaning `v1`).
fn check_api_version(query: &str) -> Result<(), ApiError> {
    let version = query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == "api-version")
        .map(|(_, value)| value);
    match version {
        None | Some("v1" | "preview") => Ok(()),
        Some(other) => Err(ApiError::bad_request(
            "invalid_value",
            "api-version",
            format!("API version '{other}' is not supported. Use 'v1' or 'preview'."),
        )),
    }
}

/// How long until the next request may pass, when this one is over `--rate-limit`.
fn over_the_limit(state: &AppState) -> Option<Duration> {
    let limiter = state.limiter.as_ref()?;
    limiter
        .check()
        .err()
        .map(|not_until| not_until.wait_time_from(governor::clock::Clock::now(limiter.clock())))
}

/// A 429 as Azure OpenAI sends it for a rate limit: how long to wait in whole seconds
/// (`Retry-After`, at least 1) and in milliseconds (`retry-after-ms`).
fn rate_limited(wait: Duration) -> Response {
    let ms = (wait.as_millis() as u64).max(1);
    let seconds = ms.div_ceil(1000).max(1);
    let error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "429",
        format!("Requests to the Evals API have exceeded the call rate limit of this resource. Please retry after {seconds} second(s)."),
    );
    with_retry_after(error.into_response(), ms)
}

fn with_retry_after(mut response: Response, ms: u64) -> Response {
    let headers = response.headers_mut();
    headers.insert("retry-after", HeaderValue::from(ms.div_ceil(1000).max(1)));
    headers.insert("retry-after-ms", HeaderValue::from(ms));
    response
}

fn injected(fault: Fault) -> Response {
    let error = match fault {
        Fault::RateLimited { .. } => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "Rate limit reached (injected by the emulator). Retry after the time in Retry-After.",
        ),
        Fault::Unavailable => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The service is temporarily unavailable (injected by the emulator).",
        ),
        _ => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "The server had an error while processing your request (injected by the emulator).",
        ),
    };
    let response = error.into_response();
    match fault {
        Fault::RateLimited { retry_after_ms } => with_retry_after(response, retry_after_ms),
        _ => response,
    }
}

/// Carries the request out (the change is committed), then closes the connection unanswered.
async fn drop_after(request: Request, next: Next) -> Response {
    let kill = request.extensions().get::<ConnectionKill>().cloned();
    let _committed = next.run(request).await;
    match kill {
        Some(ConnectionKill(notify)) => {
            notify.notify_one();
            std::future::pending().await
        }
        None => injected(Fault::Internal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_api_versions() {
        assert!(check_api_version("").is_ok());
        assert!(check_api_version("api-version=preview").is_ok());
        assert!(check_api_version("limit=2&api-version=v1").is_ok());
        let error = check_api_version("api-version=2024-10-21").unwrap_err();
        assert_eq!(error.param.as_deref(), Some("api-version"));
    }
}
