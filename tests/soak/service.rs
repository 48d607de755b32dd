//! The checker's own reads of the service: plain reqwest on the emulator's OpenAI flavor,
//! independent of the client under test, every request tried again (a moment apart) until a
//! deadline, since the emulator's faults hit the checker too. Each failed attempt is counted
//! by kind: the faults the checker saw.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use evalctl::api::wire::Page;
use parking_lot::Mutex;
use serde::de::DeserializeOwned;

/// How long one request is tried.
const PATIENCE: Duration = Duration::from_secs(180);
/// Between attempts: the faults are per request, so the next attempt soon may pass.
const PAUSE: Duration = Duration::from_millis(50);
/// The most pages of one listing (the emulator's pages hold 100).
const MAX_PAGES: usize = 1_000;

#[derive(Clone)]
pub struct Service {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/v1`.
    base: String,
    /// Failed attempts by kind (`429`, `500`, `503`, `connection`, ...).
    pub faults: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl Service {
    pub fn new(base: &str) -> Service {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        Service {
            http,
            base: format!("{base}/v1"),
            faults: Arc::default(),
        }
    }

    /// Every item of the listing at `path` (`query` besides the cursor), page after page.
    pub async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, String> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut page_query = query.to_vec();
            if let Some(after) = after.as_deref() {
                page_query.push(("after", after));
            }
            let page: Page<T> = self.get(path, &page_query).await?;
            let empty = page.data.is_empty();
            items.extend(page.data);
            match (page.has_more, page.last_id) {
                (true, Some(last)) if !empty && after.as_deref() != Some(last.as_str()) => {
                    after = Some(last)
                }
                (true, _) => return Err(format!("GET {path}: has_more without a new last_id")),
                (false, _) => return Ok(items),
            }
        }
        Err(format!("GET {path}: more than {MAX_PAGES} pages"))
    }

    /// `GET path?query` as JSON, tried until it answers 200 or `PATIENCE` has passed.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, String> {
        let url = format!("{}{path}", self.base);
        let deadline = Instant::now() + PATIENCE;
        loop {
            let failure = match self.http.get(&url).query(query).send().await {
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(bytes) => match serde_json::from_slice(&bytes) {
                        Ok(value) => return Ok(value),
                        Err(error) => {
                            return Err(format!("GET {path}: unreadable answer: {error}"))
                        }
                    },
                    Err(_) => "connection".to_string(),
                },
                Ok(response) => match response.status().as_u16() {
                    status @ (400..=407 | 410..=428 | 430..=499) => {
                        return Err(format!("GET {path}: {status}"))
                    }
                    status => status.to_string(),
                },
                Err(_) => "connection".to_string(),
            };
            *self.faults.lock().entry(failure.clone()).or_default() += 1;
            if Instant::now() > deadline {
                return Err(format!(
                    "the checker could not GET {path} within {PATIENCE:?}: last {failure}"
                ));
            }
            tokio::time::sleep(PAUSE).await;
        }
    }
}
