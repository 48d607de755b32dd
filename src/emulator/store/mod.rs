//! Everything the emulator holds: evals, runs, output items and files, in ordered indexes
//! keyed by the sequence number inside each id (creation order), so that every list page is
//! cut in O(limit). With a data directory each change is written through to [`disk`] before it
//! is acknowledged; without one the store lives in memory only.

pub(crate) mod disk;
mod evals;
pub(crate) mod files;
mod items;
mod load;
mod progress;
mod runs;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::http::StatusCode;

use super::encoded::Encoded;
use super::errors::ApiError;
use super::objects::{Eval, EvalRun, FileObject};
use disk::Disk;

pub(crate) use progress::RowOutcome;

/// An eval with what the store keeps beside it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct EvalEntry {
    pub(crate) eval: Eval,
    /// Position in the `order_by=updated_at` order.
    pub(crate) update_seq: u64,
    #[serde(skip)]
    pub(crate) runs: BTreeMap<u64, String>,
    /// The eval's wire JSON, kept beside it so pages and gets are copied, not serialized.
    #[serde(skip)]
    pub(crate) wire: Option<Arc<Encoded>>,
}

impl EvalEntry {
    pub(crate) fn new(eval: Eval, update_seq: u64) -> Self {
        let mut entry = EvalEntry {
            eval,
            update_seq,
            runs: BTreeMap::new(),
            wire: None,
        };
        entry.encode();
        entry
    }

    /// Refreshes `wire` after a change (and after loading).
    pub(crate) fn encode(&mut self) {
        self.wire = Encoded::new(&self.eval.id, &self.eval).ok().map(Arc::new);
    }
}

/// A run with its output items, in creation order.
#[derive(Debug, Clone)]
pub(crate) struct RunEntry {
    pub(crate) run: EvalRun,
    pub(crate) items: Vec<Arc<Encoded>>,
    pub(crate) item_seqs: Vec<u64>,
    /// Positions in `items` of passed and failed rows, for the `status` filter.
    pub(crate) passed: Vec<usize>,
    pub(crate) failed: Vec<usize>,
}

impl RunEntry {
    pub(crate) fn new(run: EvalRun) -> Self {
        RunEntry {
            run,
            items: Vec::new(),
            item_seqs: Vec::new(),
            passed: Vec::new(),
            failed: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct FileEntry {
    /// As it is once processed (and as it is persisted: a restart finishes processing).
    pub(crate) file: FileObject,
    pub(crate) content: axum::body::Bytes,
    /// Until when the upload is still `pending`.
    pub(crate) pending_until: Option<std::time::Instant>,
}

impl FileEntry {
    pub(crate) fn is_pending(&self) -> bool {
        self.pending_until
            .is_some_and(|until| std::time::Instant::now() < until)
    }

    /// The File object as the service shows it now.
    pub(crate) fn object(&self) -> FileObject {
        let mut file = self.file.clone();
        if self.is_pending() {
            file.status = "pending".into();
        }
        file
    }
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    next_seq: u64,
    evals: BTreeMap<u64, EvalEntry>,
    eval_ids: HashMap<String, u64>,
    by_update: BTreeMap<u64, u64>,
    runs: HashMap<String, RunEntry>,
    files: BTreeMap<u64, FileEntry>,
    file_ids: HashMap<String, u64>,
    disk: Option<Disk>,
    /// A Foundry project's store: its objects carry the project's fields.
    project: bool,
}

impl Store {
    /// A store in memory only.
    pub(crate) fn memory() -> Self {
        Store {
            next_seq: 1,
            ..Store::default()
        }
    }

    /// The same store, as a Foundry project's.
    pub(crate) fn in_project(mut self) -> Self {
        self.project = true;
        self
    }

    pub(crate) fn is_project(&self) -> bool {
        self.project
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Runs a write against the disk, if there is one; a failure is the client's 500.
    fn persist(&self, write: impl FnOnce(&Disk) -> std::io::Result<()>) -> Result<(), ApiError> {
        match &self.disk {
            Some(disk) => write(disk).map_err(|error| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    format!("The emulator could not write its store: {error}."),
                )
            }),
            None => Ok(()),
        }
    }
}
