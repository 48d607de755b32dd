//! The local Evals API emulator (`evalctl serve` and the embedded `local` target): the
//! operations, objects, errors and pagination of the OpenAI and Azure OpenAI Evals APIs, with
//! runs graded in the background, optional persistence, and injectable latency and faults.
//! It must answer like the real service to the field, because every test of the client,
//! planner and applier, and every offline user, trusts it to.

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

mod criteria;
mod data_source_config;
mod encoded;
mod errors;
mod eval_request;
mod evaluators;
mod faults;
mod flavor;
mod grade;
pub mod grading;
mod ids;
mod layer;
mod messages;
pub mod misbehavior;
mod model_client;
mod objects;
mod pagination;
mod routes;
mod rows;
mod run_request;
mod runner;
mod sampling;
mod server;
mod state;
mod store;
mod validate;

use state::AppState;
use store::Store;

/// How to run the emulator.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub api_key: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub latency_ms: u64,
    pub fault_rate: f64,
    pub seed: u64,
    pub model_endpoint: Option<String>,
    /// How long an upload stays `pending` before it is `processed` (Azure processes files
    /// asynchronously); runs may not use it before then. 0: processed at once.
    pub file_processing_ms: u64,
    /// Answer as a broken or hostile service would, to test clients.
    pub misbehave: Option<misbehavior::Misbehavior>,
    /// Requests per second, as a token bucket holding one second's worth: beyond it, 429
    /// with `Retry-After` and `retry-after-ms`, as Azure OpenAI answers.
    pub rate_limit: Option<std::num::NonZeroU32>,
}

impl Config {
    /// An ephemeral port on 127.0.0.1, state in memory, no key, no latency, no faults, no
    /// model endpoint, uploads processed at once.
    pub fn in_memory() -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: None,
            data_dir: None,
            latency_ms: 0,
            fault_rate: 0.0,
            seed: 0,
            model_endpoint: None,
            file_processing_ms: 0,
            misbehave: None,
            rate_limit: None,
        }
    }

    /// The embedded `local` target: as `in_memory`, with the state kept in
    /// `<project>/.evalctl/local/`.
    pub fn local(project_root: &std::path::Path) -> Config {
        Config {
            data_dir: Some(project_root.join(".evalctl").join("local")),
            ..Config::in_memory()
        }
    }
}

/// Errors of the emulator itself (not the API errors it answers with).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("could not open the emulator's store in {path}")]
    Store {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A running emulator.
pub struct Server {
    addr: SocketAddr,
    state: AppState,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Server {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`; the flavors live under `/v1` and `/openai/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The most API requests it was answering at once since the last call (or its start):
    /// what a client's concurrency limit looks like from here.
    pub fn take_peak_concurrent_requests(&self) -> usize {
        self.state.in_flight.take_peak()
    }

    /// The API requests received since the last call (the first 10,000), as
    /// `METHOD /path?query` (the path as it arrived, percent-encoding and all): what a client
    /// sent, seen from here.
    pub fn take_requests(&self) -> Vec<String> {
        std::mem::take(&mut *self.state.requests.lock())
    }

    /// Stops accepting, closes every connection and stops the runs at work. With a data
    /// directory, everything acknowledged is already on disk.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.state.stop_all();
        let _ = self.task.await;
    }
}

/// Binds `config.addr` (port 0 picks a free port), opens the store, resumes interrupted runs
/// and serves in the background.
pub async fn start(config: Config) -> Result<Server, Error> {
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| Error::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: config.addr,
        source,
    })?;
    let (store, resume) = match &config.data_dir {
        Some(path) => Store::open(path).map_err(|source| Error::Store {
            path: path.clone(),
            source,
        })?,
        None => (Store::memory(), Vec::new()),
    };
    let state = AppState::new(store, config, format!("http://{addr}"));
    for run_id in resume {
        runner::spawn(&state, state.store.clone(), run_id);
    }
    let (stop, stopped) = watch::channel(false);
    let router = routes::router(state.clone());
    let task = tokio::spawn(server::accept_loop(listener, router, stopped));
    Ok(Server {
        addr,
        state,
        stop,
        task,
    })
}

/// Serves until the process is interrupted (Ctrl-C), then shuts down cleanly. Being killed
/// instead is safe too: every acknowledged change is already on disk, written atomically.
pub async fn serve(config: Config) -> Result<(), Error> {
    let server = start(config).await?;
    eprintln!(
        "evalctl emulator listening on {0} (OpenAI flavor: {0}/v1, Azure flavor: {0}/openai/v1, Foundry projects: {0}/api/projects/NAME/openai/v1)",
        server.base_url()
    );
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handler to wait on: serve until killed.
        std::future::pending::<()>().await;
    }
    server.shutdown().await;
    Ok(())
}
