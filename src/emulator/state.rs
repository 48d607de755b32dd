//! What every request and background run shares: the store, the configuration, the model
//! client, the fault injector, the handles of the runs at work, and the count of requests
//! being answered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio::task::AbortHandle;

use super::errors::ApiError;
use super::faults::Faults;
use super::flavor::Surface;
use super::model_client::ModelClient;
use super::store::Store;
use super::Config;

#[derive(Clone)]
pub(crate) struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    /// The resource's (and OpenAI's) store. Never held across an `.await`.
    pub(crate) store: Arc<RwLock<Store>>,
    /// Each Foundry project's store, opened on first use.
    pub(crate) projects: Mutex<HashMap<String, Arc<RwLock<Store>>>>,
    pub(crate) config: Config,
    pub(crate) base_url: String,
    pub(crate) model: Option<ModelClient>,
    pub(crate) faults: Faults,
    /// `--rate-limit`: a token bucket (GCRA) over every API request.
    pub(crate) limiter: Option<governor::DefaultDirectRateLimiter>,
    pub(crate) tasks: Mutex<HashMap<String, AbortHandle>>,
    pub(crate) in_flight: InFlight,
    /// Every API request received, `METHOD /path?query`, until taken.
    pub(crate) requests: Mutex<Vec<String>>,
}

/// Requests being answered now, and the most at once since last asked: how a client's
/// concurrency limit is seen from the service's side.
#[derive(Default)]
pub(crate) struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// One request being answered, until dropped.
pub(crate) struct Answering<'a>(&'a InFlight);

impl InFlight {
    pub(crate) fn enter(&self) -> Answering<'_> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        Answering(self)
    }

    /// The most requests answered at once since the last call.
    pub(crate) fn take_peak(&self) -> usize {
        self.peak
            .swap(self.now.load(Ordering::SeqCst), Ordering::SeqCst)
    }
}

impl Drop for Answering<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub(crate) fn new(store: Store, config: Config, base_url: String) -> Self {
        AppState(Arc::new(Inner {
            store: Arc::new(RwLock::new(store)),
            projects: Mutex::new(HashMap::new()),
            model: config.model_endpoint.as_deref().map(ModelClient::new),
            faults: Faults::new(config.seed, config.fault_rate),
            limiter: config
                .rate_limit
                .map(|n| governor::RateLimiter::direct(governor::Quota::per_second(n))),
            config,
            base_url,
            tasks: Mutex::new(HashMap::new()),
            in_flight: InFlight::default(),
            requests: Mutex::new(Vec::new()),
        }))
    }

    /// The store of a surface: a project's is opened (from its directory under the data
    /// directory, or in memory) the first time it is asked for, and its interrupted runs
    /// resumed.
    pub(crate) fn store_of(&self, surface: &Surface) -> Result<Arc<RwLock<Store>>, ApiError> {
        let Surface::Project(name) = surface else {
            return Ok(self.store.clone());
        };
        let mut projects = self.projects.lock();
        if let Some(store) = projects.get(name) {
            return Ok(store.clone());
        }
        let (store, resume) = match &self.config.data_dir {
            Some(dir) => Store::open(&dir.join("projects").join(name)).map_err(|error| {
                ApiError::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    format!("The emulator could not open the project's store: {error}."),
                )
            })?,
            None => (Store::memory(), Vec::new()),
        };
        let store = Arc::new(RwLock::new(store.in_project()));
        projects.insert(name.clone(), store.clone());
        drop(projects);
        for run_id in resume {
            super::runner::spawn(self, store.clone(), run_id);
        }
        Ok(store)
    }

    /// Stops the background work of a run (after a cancel or a delete).
    pub(crate) fn stop_run(&self, run_id: &str) {
        if let Some(handle) = self.tasks.lock().remove(run_id) {
            handle.abort();
        }
    }

    /// Stops every run at work (server shutdown).
    pub(crate) fn stop_all(&self) {
        for (_, handle) in self.tasks.lock().drain() {
            handle.abort();
        }
    }
}
