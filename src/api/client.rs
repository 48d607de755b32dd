//! The one HTTP client of evalctl. Every request goes through `send`: authentication per
//! flavor, a concurrency limit shared by all requests (`--parallelism`), retries with
//! backoff for failures that can pass, and errors that carry the service's message. Lists
//! follow `has_more`/`last_id` with `limit=100`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::entra::NoToken;
use super::error::{ApiError, StatusError};
use super::path::ApiPath;
use super::retry::{self, Failure, Repeat, RetryPolicy};
use super::target::{Auth, Connection, Credential, Flavor};
use super::throttle::Throttle;
use super::wire::{ErrorEnvelope, Eval, EvalRun, FileObject, Page};

const PAGE_LIMIT: &str = "100";
/// The most pages one listing follows: 100,000 evals or runs at 100 a page. A service that
/// says more follows beyond that is not to be believed (a listing that never ends would
/// keep a plan busy forever).
pub const MAX_PAGES: usize = 1_000;
/// The largest answer read: a page of 100 evals with long prompts is a few megabytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// How long an answer may stall (no byte arriving) before the attempt is given up, unless
/// the command says otherwise (`--request-timeout`).
pub const STALL: Duration = Duration::from_secs(30);
/// Attempts after a stall: a service that stalls once is likely to again, and each costs a
/// whole `STALL`.
const STALL_RETRIES: u32 = 2;
/// An answer that trickles (a byte now and then, never stalling) is given this many stall
/// times in all.
const ANSWER_STALLS: u32 = 4;
/// An upload may take long to send; it is bounded by `STALL` between bytes, and this in all.
const UPLOAD_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// Where the client says that it is retrying: a sentence per retry, for stderr.
pub type Notices = Arc<dyn Fn(&str) + Send + Sync>;

/// Whether writes may still be sent (a held lease that has not lapsed).
pub type WriteGate = Arc<dyn Fn() -> bool + Send + Sync>;

/// A cheap-to-clone handle; clones share the connection pool and the concurrency limit.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    target: crate::manifest::model::Target,
    flavor: Flavor,
    auth: Auth,
    /// Requests in flight, adapted to the service's rate limit.
    limit: Arc<Throttle>,
    /// Asked before every request that is not a GET; a write it refuses is not sent.
    gate: Option<WriteGate>,
    policy: RetryPolicy,
    requests: AtomicU64,
    stall: Duration,
    notices: Option<Notices>,
}

/// A request body that can be sent again on retry.
#[derive(Clone)]
pub(crate) enum Body {
    Json(Value),
    /// A JSONL upload: file name and bytes.
    Upload {
        filename: String,
        bytes: Vec<u8>,
    },
}

/// How a client behaves, beyond where it connects.
#[derive(Clone)]
pub struct Options {
    pub parallelism: usize,
    pub policy: RetryPolicy,
    /// How long an answer may stall.
    pub stall: Duration,
    pub notices: Option<Notices>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            parallelism: 8,
            policy: RetryPolicy::default(),
            stall: STALL,
            notices: None,
        }
    }
}

impl Client {
    /// Tells the user `line` (on stderr, escaped), when the client was given a way to.
    pub(crate) fn notice(&self, line: &str) {
        if let Some(notices) = &self.inner.notices {
            notices(line);
        }
    }

    pub fn new(connection: &Connection, parallelism: usize) -> Result<Client, ApiError> {
        Client::with_options(
            connection,
            Options {
                parallelism,
                ..Options::default()
            },
        )
    }

    /// A client with another retry policy (tests use short waits).
    pub fn with_policy(
        connection: &Connection,
        parallelism: usize,
        policy: RetryPolicy,
    ) -> Result<Client, ApiError> {
        Client::with_options(
            connection,
            Options {
                parallelism,
                policy,
                ..Options::default()
            },
        )
    }

    pub fn with_options(connection: &Connection, options: Options) -> Result<Client, ApiError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(options.stall)
            .user_agent(concat!("evalctl/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry the `api-key` header to another host, maybe over http.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::Setup(e.to_string()))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base: connection.base_url.clone(),
                target: connection.target,
                flavor: connection.flavor,
                auth: connection.auth.clone(),
                limit: Arc::new(Throttle::new(options.parallelism)),
                gate: None,
                policy: options.policy,
                requests: AtomicU64::new(0),
                stall: options.stall,
                notices: options.notices,
            }),
        })
    }

    /// A client on the same connection and credentials with a concurrency limit of its own
    /// and no gate, for requests that must not queue behind the work (a lease's renewals).
    pub fn apart(&self) -> Client {
        self.derived(Arc::new(Throttle::new(1)), None)
    }

    /// This client, sending writes only while `gate` says so (the same limit).
    pub fn gated(&self, gate: WriteGate) -> Client {
        self.derived(self.inner.limit.clone(), Some(gate))
    }

    fn derived(&self, limit: Arc<Throttle>, gate: Option<WriteGate>) -> Client {
        let inner = &self.inner;
        Client {
            inner: Arc::new(Inner {
                http: inner.http.clone(),
                base: inner.base.clone(),
                target: inner.target,
                flavor: inner.flavor,
                auth: inner.auth.clone(),
                limit,
                gate,
                policy: inner.policy,
                requests: AtomicU64::new(0),
                stall: inner.stall,
                notices: inner.notices.clone(),
            }),
        }
    }

    /// HTTP requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The path as errors show it: the URL's, without the query.
    pub(crate) fn shown(&self, path: &ApiPath) -> String {
        self.url(path, &[]).path().to_string()
    }

    fn listing_error(&self, path: &ApiPath, message: String) -> ApiError {
        ApiError::Decode {
            method: "GET".into(),
            path: self.shown(path),
            message,
        }
    }

    /// The URL of `path`: each of its segments encoded as one segment, whatever it holds.
    fn url(&self, path: &ApiPath, query: &[(&str, &str)]) -> Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(path.segments());
        }
        {
            let mut pairs = url.query_pairs_mut();
            if self.inner.flavor == Flavor::Azure {
                pairs.append_pair("api-version", "preview");
            }
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        url
    }

    /// What authenticates this client's requests (never its value); for Entra ID, where the
    /// tokens come from once the first was fetched.
    pub fn credential(&self) -> Option<Credential> {
        self.inner.auth.credential(self.inner.target)
    }

    async fn headers(&self) -> Result<HeaderMap, NoToken> {
        let mut headers = HeaderMap::new();
        if self.inner.flavor == Flavor::Azure {
            // Harmless since the API went GA; older deployments still want it.
            headers.insert("aoai-evals", HeaderValue::from_static("preview"));
        }
        let secret = match &self.inner.auth {
            Auth::None => None,
            Auth::ApiKey(key) => Some(("api-key", key.expose().to_string())),
            Auth::Bearer(token) => Some(("authorization", format!("Bearer {}", token.expose()))),
            Auth::Entra(chain) => {
                let token = chain.bearer(&self.inner.http).await?;
                Some(("authorization", format!("Bearer {token}")))
            }
        };
        if let Some((name, value)) = secret {
            if let Ok(mut value) = HeaderValue::from_str(&value) {
                value.set_sensitive(true);
                headers.insert(name, value);
            }
        }
        Ok(headers)
    }

    /// Sends one logical request, retrying what can pass later. Returns the body bytes.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &ApiPath,
        query: &[(&str, &str)],
        body: Option<Body>,
    ) -> Result<Vec<u8>, ApiError> {
        self.send_with(method, path, query, body, Repeat::Safe)
            .await
    }

    pub(crate) async fn send_with(
        &self,
        method: Method,
        path: &ApiPath,
        query: &[(&str, &str)],
        body: Option<Body>,
        repeat: Repeat,
    ) -> Result<Vec<u8>, ApiError> {
        let url = self.url(path, query);
        let shown = url.path().to_string();
        let mut attempt: u32 = 0;
        let mut stalls = 0;
        let mut rate_limited: u32 = 0;
        let mut paced_for = Duration::ZERO;
        loop {
            let outcome = self.attempt(&method, &url, body.as_ref()).await;
            let (failure_status, error, headers) = match outcome {
                Ok(bytes) => {
                    self.inner.limit.succeeded();
                    return Ok(bytes);
                }
                Err(Attempt::Status {
                    status,
                    headers,
                    bytes,
                }) => {
                    let error = status_error(&method, &shown, status, &headers, &bytes);
                    (Some(status), error, headers)
                }
                Err(Attempt::Transport {
                    message,
                    not_sent,
                    stalled,
                }) => {
                    stalls += u32::from(stalled);
                    let error = ApiError::Transport {
                        method: method.to_string(),
                        path: shown.clone(),
                        message,
                        not_sent,
                    };
                    (None, error, HeaderMap::new())
                }
                Err(Attempt::Credential(no_token)) => return Err(ApiError::NoToken(no_token)),
                Err(Attempt::Gated) => {
                    return Err(ApiError::LeaseLapsed {
                        method: method.to_string(),
                        path: shown,
                    })
                }
                Err(Attempt::TooLarge) => {
                    return Err(ApiError::Decode {
                        method: method.to_string(),
                        path: shown,
                        message: format!(
                            "the answer is larger than {} MiB; evalctl reads no more",
                            MAX_BODY_BYTES / (1024 * 1024)
                        ),
                    })
                }
            };
            let code = error.code().map(String::from);
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            let not_sent = matches!(error, ApiError::Transport { not_sent: true, .. });
            let failure = Failure {
                status: failure_status,
                not_sent,
                retry_after_ms: header("retry-after-ms"),
                retry_after: header("retry-after"),
                should_retry: header("x-should-retry"),
                code: code.as_deref(),
            };
            let policy = &self.inner.policy;
            // A 429 that says how long to wait is the service pacing us, not a failure.
            let paced = failure_status == Some(429) && retry::requested_delay(&failure).is_some();
            rate_limited += u32::from(paced);
            let wait = retry::delay(policy, attempt, &failure, rand::random::<f64>());
            let exhausted = match paced {
                true => {
                    paced_for += wait;
                    paced_for > policy.max_rate_limited_wait
                }
                false => {
                    attempt.saturating_sub(rate_limited) >= policy.max_retries
                        || stalls > STALL_RETRIES
                }
            };
            if exhausted || !retry::is_retryable(&failure, repeat) {
                return Err(error);
            }
            tracing::debug!(%method, path = %shown, status = ?failure_status, attempt, wait_ms = wait.as_millis() as u64, "retrying: {error}");
            self.notice(&format!(
                "note: retrying in {:.1}s: {error}",
                wait.as_secs_f64()
            ));
            if failure_status == Some(429) {
                // Every request of this client waits, and fewer go at once for a while.
                self.inner.limit.rate_limited(wait);
            } else {
                tokio::time::sleep(wait).await;
            }
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Body>,
    ) -> Result<Vec<u8>, Attempt> {
        let _slot = self
            .inner
            .limit
            .slot()
            .await
            .map_err(|e| Attempt::Transport {
                message: e.to_string(),
                not_sent: true,
                stalled: false,
            })?;
        let headers = self.headers().await.map_err(Attempt::Credential)?;
        // Asked at the last moment, after waiting for a slot: a lease can lapse meanwhile.
        let refused = self
            .inner
            .gate
            .as_ref()
            .is_some_and(|may_write| !may_write());
        if *method != Method::GET && refused {
            return Err(Attempt::Gated);
        }
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        // A stall is caught between bytes; an answer that trickles is bounded as a whole.
        let deadline = match body {
            Some(Body::Upload { .. }) => UPLOAD_DEADLINE,
            _ => self.inner.stall.saturating_mul(ANSWER_STALLS),
        };
        let mut request = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .headers(headers)
            .timeout(deadline);
        request = match body {
            None => request,
            Some(Body::Json(value)) => request.json(value),
            Some(Body::Upload { filename, bytes }) => {
                let part =
                    reqwest::multipart::Part::bytes(bytes.clone()).file_name(filename.clone());
                let form = reqwest::multipart::Form::new()
                    .text("purpose", "evals")
                    .part("file", part);
                request.multipart(form)
            }
        };
        let transport = |e: &reqwest::Error| self.transport(e, deadline);
        let mut response = request.send().await.map_err(|e| transport(&e))?;
        let status = response.status();
        tracing::debug!(%method, path = %url.path(), status = status.as_u16(), "response");
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(Attempt::TooLarge);
        }
        let headers = response.headers().clone();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e))? {
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(Attempt::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        if status.is_success() {
            Ok(bytes)
        } else {
            Err(Attempt::Status {
                status: status.as_u16(),
                headers,
                bytes,
            })
        }
    }

    /// A transport failure as an attempt's outcome.
    fn transport(&self, error: &reqwest::Error, deadline: Duration) -> Attempt {
        Attempt::Transport {
            message: describe_transport(error, self.inner.stall, deadline),
            not_sent: error.is_connect(),
            stalled: error.is_timeout(),
        }
    }

    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &ApiPath,
        query: &[(&str, &str)],
        body: Option<Body>,
    ) -> Result<T, ApiError> {
        self.json_with(method, path, query, body, Repeat::Safe)
            .await
    }

    async fn json_with<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &ApiPath,
        query: &[(&str, &str)],
        body: Option<Body>,
        repeat: Repeat,
    ) -> Result<T, ApiError> {
        let bytes = self
            .send_with(method.clone(), path, query, body, repeat)
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
            method: method.to_string(),
            path: self.shown(path),
            message: e.to_string(),
        })
    }

    /// Every item of a list endpoint, page by page.
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        path: &ApiPath,
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, ApiError> {
        self.pages(path, query, Some(PAGE_LIMIT)).await
    }

    /// Follows `has_more`/`last_id`, at most `MAX_PAGES` pages; `limit` None leaves the page
    /// size to the service.
    async fn pages<T: DeserializeOwned>(
        &self,
        path: &ApiPath,
        query: &[(&str, &str)],
        limit: Option<&str>,
    ) -> Result<Vec<T>, ApiError> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut page_query: Vec<(&str, &str)> = query.to_vec();
            page_query.extend(limit.map(|l| ("limit", l)));
            if let Some(after) = after.as_deref() {
                page_query.push(("after", after));
            }
            let page: Page<T> = self.json(Method::GET, path, &page_query, None).await?;
            let empty = page.data.is_empty();
            items.extend(page.data);
            match next_cursor(page.has_more, page.last_id, empty, after.as_deref()) {
                Ok(Some(next)) => after = Some(next),
                Ok(None) => return Ok(items),
                Err(message) => return Err(self.listing_error(path, message)),
            }
        }
        Err(self.listing_error(
            path,
            format!(
                "the service still said more follows after {MAX_PAGES} pages ({} items); evalctl follows no further",
                items.len()
            ),
        ))
    }

    pub async fn list_evals(&self) -> Result<Vec<Eval>, ApiError> {
        self.list_all(&ApiPath::new("evals"), &[("order", "asc")])
            .await
    }

    pub async fn list_runs(&self, eval_id: &str) -> Result<Vec<EvalRun>, ApiError> {
        let path = ApiPath::new("evals").eval(eval_id)?.word("runs");
        self.list_all(&path, &[("order", "asc")]).await
    }

    pub async fn get_eval(&self, eval_id: &str) -> Result<Eval, ApiError> {
        let path = ApiPath::new("evals").eval(eval_id)?;
        self.json(Method::GET, &path, &[], None).await
    }

    /// Creates an eval. Not retried after a failure the service may have acted on: see
    /// `ApiError::maybe_committed`.
    pub async fn create_eval(&self, body: &Value) -> Result<Eval, ApiError> {
        let body = Some(Body::Json(body.clone()));
        let path = ApiPath::new("evals");
        self.json_with(Method::POST, &path, &[], body, Repeat::CreatesObject)
            .await
    }

    pub async fn update_eval(&self, eval_id: &str, body: &Value) -> Result<Eval, ApiError> {
        let path = ApiPath::new("evals").eval(eval_id)?;
        let body = Some(Body::Json(body.clone()));
        self.json(Method::POST, &path, &[], body).await
    }

    pub async fn delete_eval(&self, eval_id: &str) -> Result<(), ApiError> {
        let path = ApiPath::new("evals").eval(eval_id)?;
        self.send(Method::DELETE, &path, &[], None).await.map(drop)
    }

    /// Starts a run; retried like `create_eval`.
    pub async fn create_run(&self, eval_id: &str, body: &Value) -> Result<EvalRun, ApiError> {
        let path = ApiPath::new("evals").eval(eval_id)?.word("runs");
        let body = Some(Body::Json(body.clone()));
        self.json_with(Method::POST, &path, &[], body, Repeat::CreatesObject)
            .await
    }

    pub async fn get_run(&self, eval_id: &str, run_id: &str) -> Result<EvalRun, ApiError> {
        let path = ApiPath::new("evals")
            .eval(eval_id)?
            .word("runs")
            .run(run_id)?;
        self.json(Method::GET, &path, &[], None).await
    }

    fn output_items_path(eval_id: &str, run_id: &str) -> Result<ApiPath, ApiError> {
        Ok(ApiPath::new("evals")
            .eval(eval_id)?
            .word("runs")
            .run(run_id)?
            .word("output_items"))
    }

    /// Every output item of a run, page after page.
    pub async fn all_output_items(
        &self,
        eval_id: &str,
        run_id: &str,
    ) -> Result<Vec<Value>, ApiError> {
        let path = Client::output_items_path(eval_id, run_id)?;
        self.list_all(&path, &[("order", "asc")]).await
    }

    /// One page of output items with the service's own filters.
    pub async fn output_items(
        &self,
        eval_id: &str,
        run_id: &str,
        query: &[(&str, &str)],
    ) -> Result<Page<Value>, ApiError> {
        let path = Client::output_items_path(eval_id, run_id)?;
        self.json(Method::GET, &path, query, None).await
    }

    /// One page of output items as the service sent it (the bytes), and what it is.
    pub async fn output_items_raw(
        &self,
        eval_id: &str,
        run_id: &str,
        query: &[(&str, &str)],
    ) -> Result<(Vec<u8>, ApiPath), ApiError> {
        let path = Client::output_items_path(eval_id, run_id)?;
        let raw = self.send(Method::GET, &path, query, None).await?;
        Ok((raw, path))
    }

    pub async fn upload_file(
        &self,
        filename: &str,
        bytes: Vec<u8>,
    ) -> Result<FileObject, ApiError> {
        let body = Body::Upload {
            filename: filename.to_string(),
            bytes,
        };
        let path = ApiPath::new("files");
        self.json_with(Method::POST, &path, &[], Some(body), Repeat::CreatesObject)
            .await
    }

    pub async fn get_file(&self, file_id: &str) -> Result<FileObject, ApiError> {
        let path = ApiPath::new("files").file(file_id)?;
        self.json(Method::GET, &path, &[], None).await
    }

    /// Every eval file. The page size is the service's (OpenAI's default is its maximum,
    /// 10,000; Azure documents only `purpose`), and a further page is asked for only when the
    /// service says there is one.
    pub async fn list_files(&self) -> Result<Vec<FileObject>, ApiError> {
        self.pages(&ApiPath::new("files"), &[("purpose", "evals")], None)
            .await
    }
}

enum Attempt {
    Status {
        status: u16,
        headers: HeaderMap,
        bytes: Vec<u8>,
    },
    Transport {
        message: String,
        not_sent: bool,
        /// No byte arrived for the stall time.
        stalled: bool,
    },
    /// The answer is larger than `MAX_BODY_BYTES`.
    TooLarge,
    /// No credential gave a token: nothing was sent, and trying again will not help.
    Credential(NoToken),
    /// The write gate refused: nothing was sent.
    Gated,
}

fn status_error(
    method: &Method,
    path: &str,
    status: u16,
    headers: &HeaderMap,
    bytes: &[u8],
) -> ApiError {
    let envelope: ErrorEnvelope = serde_json::from_slice(bytes).unwrap_or_default();
    let body = envelope.error.unwrap_or_default();
    let redirect = (300..400).contains(&status).then(|| {
        let location = headers
            .get(reqwest::header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        match location {
            Some(location) => format!(
                "the service redirects to `{location}`, and evalctl follows no redirect (it would carry the credentials there): check the endpoint"
            ),
            None => "the service redirects, and evalctl follows no redirect: check the endpoint".into(),
        }
    });
    let message = redirect.or(body.message).unwrap_or_else(|| {
        let text: String = String::from_utf8_lossy(bytes).chars().take(300).collect();
        if text.trim().is_empty() {
            "(no message)".to_string()
        } else {
            text
        }
    });
    let code = body.code.and_then(|c| c.as_str().map(String::from));
    let param = body.param.and_then(|p| p.as_str().map(String::from));
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
        .to_string();
    ApiError::Status(Box::new(StatusError {
        method: method.to_string(),
        path: path.to_string(),
        status,
        reason,
        message,
        param,
        code,
    }))
}

/// Where the next page starts, `None` after the last one. A listing the service says goes on
/// but that cannot be followed is an error, never a short list: evals missing from a listing
/// would be planned as new, and created twice.
pub(crate) fn next_cursor(
    has_more: bool,
    last_id: Option<String>,
    empty: bool,
    after: Option<&str>,
) -> Result<Option<String>, String> {
    match (has_more, last_id) {
        (false, _) => Ok(None),
        (true, Some(last)) if empty => Err(format!(
            "the service said more follows `{last}` but returned an empty page"
        )),
        // A cursor that does not move would page forever.
        (true, Some(last)) if after == Some(last.as_str()) => Err(format!(
            "the service returned the page after `{last}` again"
        )),
        (true, Some(last)) => Ok(Some(last)),
        (true, None) => {
            Err("the service said more follows but gave no `last_id` to continue from".into())
        }
    }
}

/// A transport error without the URL's query (which holds nothing secret, but is noise).
fn describe_transport(error: &reqwest::Error, stall: Duration, deadline: Duration) -> String {
    let timed_out = format!(
        "timed out (no byte for {}s, or no whole answer within {}s)",
        stall.as_secs_f64(),
        deadline.as_secs_f64()
    );
    let kind = if error.is_timeout() {
        timed_out.as_str()
    } else if error.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    let mut message = kind.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::target::Secret;
    use crate::manifest::model::Target;

    fn client(flavor: Flavor, auth: Auth) -> Client {
        let connection = Connection {
            target: Target::Azure,
            base_url: Url::parse("https://res.example/openai/v1").unwrap_or_else(|e| panic!("{e}")),
            flavor,
            auth,
        };
        Client::new(&connection, 1).unwrap_or_else(|e| panic!("{e}"))
    }

    fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
        headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The headers a request would carry (no Entra ID chain is involved: no waiting).
    fn headers_of(client: &Client) -> HeaderMap {
        let headers = tokio::runtime::Builder::new_current_thread()
            .build()
            .map(|runtime| runtime.block_on(client.headers()));
        match headers {
            Ok(Ok(headers)) => headers,
            _ => panic!("headers without a token to fetch"),
        }
    }

    // The emulator takes requests without these (as the GA service does), so only here is it
    // seen that evalctl sends what the design and Microsoft's samples send.
    #[test]
    fn azure_requests_carry_the_api_version_the_preview_header_and_the_key_as_api_key() {
        let azure = client(Flavor::Azure, Auth::ApiKey(Secret::new("k")));
        assert_eq!(
            azure
                .url(&ApiPath::new("evals"), &[("limit", "100")])
                .as_str(),
            "https://res.example/openai/v1/evals?api-version=preview&limit=100"
        );
        let headers = headers_of(&azure);
        assert_eq!(header(&headers, "aoai-evals"), Some("preview"));
        assert_eq!(header(&headers, "api-key"), Some("k"));
        assert!(headers
            .get("api-key")
            .is_some_and(HeaderValue::is_sensitive));
        assert_eq!(header(&headers, "authorization"), None);

        let entra = headers_of(&client(Flavor::Azure, Auth::Bearer(Secret::new("t"))));
        assert_eq!(header(&entra, "authorization"), Some("Bearer t"));
        assert_eq!(header(&entra, "api-key"), None);
    }

    #[test]
    fn a_listing_that_cannot_be_followed_is_an_error_not_a_short_list() {
        let last = || Some("eval_2".to_string());
        assert_eq!(next_cursor(false, last(), false, None), Ok(None));
        assert_eq!(next_cursor(false, None, true, None), Ok(None));
        assert_eq!(
            next_cursor(true, last(), false, Some("eval_1")),
            Ok(Some("eval_2".into()))
        );
        for (last_id, empty, after) in [
            (None, false, None),
            (last(), true, Some("eval_1")),
            (last(), false, Some("eval_2")),
        ] {
            let refused = next_cursor(true, last_id.clone(), empty, after);
            assert!(refused.is_err(), "{last_id:?} {empty} {after:?}");
        }
    }

    #[test]
    fn openai_requests_carry_a_bearer_key_and_nothing_of_azure() {
        let openai = client(Flavor::OpenAi, Auth::Bearer(Secret::new("sk")));
        assert_eq!(
            openai.url(&ApiPath::new("evals"), &[]).as_str(),
            "https://res.example/openai/v1/evals"
        );
        let headers = headers_of(&openai);
        assert_eq!(header(&headers, "authorization"), Some("Bearer sk"));
        assert!(headers
            .get("authorization")
            .is_some_and(HeaderValue::is_sensitive));
        assert_eq!(header(&headers, "aoai-evals"), None);
        assert_eq!(header(&headers, "api-key"), None);
    }
}
