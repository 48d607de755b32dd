//! What must hold on the service after every cycle, read through the API (`service.rs`: plain
//! HTTP, each request tried again through the emulator's faults):
//!
//! - every eval is evalctl's, tagged with the project, a key and a spec (or is a lease);
//! - one live eval per key and spec always, and one per key once an apply was clean (a
//!   failed or killed replacement may leave the new eval live beside the old one until the
//!   next apply marks the old one superseded: counted, not failed);
//! - every run is tagged with its run key and spec, one run per (run key, spec) on an eval;
//! - every upload is named after the hash of a content the soak wrote, once per name;
//! - after a clean apply, one live eval per key of its manifests, and none of a removed key
//!   when it pruned.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use evalctl::api::wire::{Eval, EvalRun, FileObject};
use evalctl::lock::LOCK;
use evalctl::plan::tags::{KEY, PROJECT, SPEC, STATE, SUPERSEDED};
use evalctl::plan::{hash_in_upload_name, upload_state, UploadState};

use super::service::Service;

/// Run listings the checker has in flight at once.
const LISTINGS_AT_ONCE: usize = 16;

/// The service as one check saw it.
pub struct Snapshot {
    pub evals: Vec<Eval>,
    /// The runs of the live evals, and of superseded ones not checked before.
    pub runs: BTreeMap<String, Vec<EvalRun>>,
    pub files: Vec<FileObject>,
}

impl Snapshot {
    pub fn is_lease(eval: &Eval) -> bool {
        eval.metadata.contains_key(LOCK)
    }

    pub fn is_live(eval: &Eval) -> bool {
        eval.metadata.get(PROJECT).map(String::as_str) == Some(super::project::NAME)
            && !eval.metadata.contains_key(STATE)
    }

    /// The keys with a live eval.
    pub fn live_keys(&self) -> BTreeSet<String> {
        self.evals
            .iter()
            .filter(|e| Self::is_live(e))
            .filter_map(|e| e.metadata.get(KEY).cloned())
            .collect()
    }

    /// The evals as comparable text (id, name, metadata), leases left out.
    pub fn evals_shown(&self) -> BTreeSet<String> {
        self.evals
            .iter()
            .filter(|e| !Self::is_lease(e))
            .map(|e| format!("{} {:?} {:?}", e.id, e.name, e.metadata))
            .collect()
    }

    pub fn run_count(&self) -> usize {
        self.runs.values().map(Vec::len).sum()
    }
}

/// What a clean apply promises, when the cycle's last writer was one.
pub struct Settled {
    pub keys: BTreeSet<String>,
    pub pruned: bool,
}

/// Figures of one check.
#[derive(Default)]
pub struct Seen {
    /// Keys with a new live eval beside the old one (a replacement a failure cut short).
    pub half_replaced: usize,
    pub leases: usize,
    /// Contents uploaded under more than one name (one content, two data files).
    pub contents_with_two_names: usize,
    /// Invariants checked (each kind once per check).
    pub invariants: u64,
}

pub struct Checker {
    pub service: Service,
    /// Superseded evals whose runs were checked once (they get no new runs).
    checked: BTreeSet<String>,
}

impl Checker {
    pub fn new(base: &str) -> Checker {
        Checker {
            service: Service::new(base),
            checked: BTreeSet::new(),
        }
    }

    /// Lists evals, the runs of live evals (and of superseded ones not seen before), and
    /// uploads.
    pub async fn snapshot(&mut self) -> Result<Snapshot, String> {
        let service = self.service.clone();
        let asc = [("limit", "100"), ("order", "asc")];
        let evals: Vec<Eval> = service.list("/evals", &asc).await?;
        let to_list: Vec<String> = evals
            .iter()
            .filter(|e| !Snapshot::is_lease(e))
            .filter(|e| Snapshot::is_live(e) || !self.checked.contains(&e.id))
            .map(|e| e.id.clone())
            .collect();
        let mut tasks = tokio::task::JoinSet::new();
        let slots = Arc::new(tokio::sync::Semaphore::new(LISTINGS_AT_ONCE));
        for id in to_list {
            let (service, slots) = (service.clone(), slots.clone());
            tasks.spawn(async move {
                let _slot = slots.acquire_owned().await;
                let runs: Result<Vec<EvalRun>, String> =
                    service.list(&format!("/evals/{id}/runs"), &asc).await;
                (id, runs)
            });
        }
        let mut runs = BTreeMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (id, listed) = joined.map_err(|e| e.to_string())?;
            runs.insert(id, listed?);
        }
        for eval in &evals {
            if !Snapshot::is_live(eval) && runs.contains_key(&eval.id) {
                self.checked.insert(eval.id.clone());
            }
        }
        let files: Vec<FileObject> = service.list("/files", &[("purpose", "evals")]).await?;
        Ok(Snapshot { evals, runs, files })
    }
}

/// Every violation in `snapshot`; `contents` are the SHA-256 of every data file written.
pub fn check(
    snapshot: &Snapshot,
    settled: Option<&Settled>,
    contents: &BTreeSet<String>,
    seen: &mut Seen,
) -> Vec<String> {
    let mut violations = Vec::new();
    let project = super::project::NAME;
    // Strays: every eval evalctl's, with its tags.
    let mut live: BTreeMap<&str, Vec<&Eval>> = BTreeMap::new();
    for eval in &snapshot.evals {
        let tag = |k: &str| eval.metadata.get(k).map(String::as_str);
        if let Some(lease) = tag(LOCK) {
            seen.leases += 1;
            if lease != project {
                violations.push(format!("lease {} of another project `{lease}`", eval.id));
            }
            continue;
        }
        match (tag(PROJECT), tag(KEY), tag(SPEC), tag(STATE)) {
            (Some(p), Some(key), Some(_), None) if p == project => {
                live.entry(key).or_default().push(eval)
            }
            (Some(p), Some(_), Some(_), Some(SUPERSEDED)) if p == project => {}
            _ => violations.push(format!(
                "stray eval {} ({:?}): not tagged as evalctl tags its evals: {:?}",
                eval.id, eval.name, eval.metadata
            )),
        }
    }
    seen.invariants += 1;
    // One live eval per key (and spec).
    for (key, evals) in &live {
        let mut specs: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for eval in evals {
            let spec = eval.metadata.get(SPEC).map_or("", String::as_str);
            specs.entry(spec).or_default().push(&eval.id);
        }
        for (spec, ids) in &specs {
            if ids.len() > 1 {
                violations.push(format!(
                    "key {key}: {} live evals of one spec {spec}: {}",
                    ids.len(),
                    ids.join(" ")
                ));
            }
        }
        if evals.len() > 1 {
            match settled {
                Some(_) => violations.push(format!(
                    "key {key}: {} live evals after a clean apply: {}",
                    evals.len(),
                    evals
                        .iter()
                        .map(|e| e.id.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                )),
                None => seen.half_replaced += 1,
            }
        }
    }
    seen.invariants += 1;
    if let Some(settled) = settled {
        for key in &settled.keys {
            if !live.contains_key(key.as_str()) {
                violations.push(format!("key {key}: no live eval after a clean apply"));
            }
        }
        if settled.pruned {
            for key in live.keys().filter(|k| !settled.keys.contains(**k)) {
                violations.push(format!(
                    "key {key}: left the manifests, still live after a clean apply with --prune"
                ));
            }
        }
        seen.invariants += 1;
    }
    // Runs: tagged, one per run key and spec on each eval.
    for (eval_id, runs) in &snapshot.runs {
        let mut by_spec: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
        for run in runs {
            match (run.metadata.get(KEY), run.metadata.get(SPEC)) {
                (Some(key), Some(spec)) => by_spec.entry((key, spec)).or_default().push(&run.id),
                _ => violations.push(format!(
                    "stray run {} on eval {eval_id}: not tagged with its run key and spec: {:?}",
                    run.id, run.metadata
                )),
            }
        }
        for ((key, spec), ids) in by_spec {
            if ids.len() > 1 {
                violations.push(format!(
                    "eval {eval_id}: {} runs of run key {key} and spec {spec}: {}",
                    ids.len(),
                    ids.join(" ")
                ));
            }
        }
    }
    seen.invariants += 1;
    // Uploads: named after a content the soak wrote, one per name.
    let mut names: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut by_hash: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for file in &snapshot.files {
        let Some(hash) = hash_in_upload_name(&file.filename) else {
            violations.push(format!(
                "stray upload {} named {:?}: not named after a content hash",
                file.id, file.filename
            ));
            continue;
        };
        if !contents.iter().any(|c| c.starts_with(hash)) {
            violations.push(format!(
                "upload {} named {:?}: no data file the soak wrote has that hash",
                file.id, file.filename
            ));
        }
        if upload_state(&file.status) != UploadState::Unusable {
            names.entry(&file.filename).or_default().push(&file.id);
            by_hash.entry(hash).or_default().insert(&file.filename);
        }
    }
    for (name, ids) in names {
        if ids.len() > 1 {
            violations.push(format!(
                "{} uploads of one content named {name}: {}",
                ids.len(),
                ids.join(" ")
            ));
        }
    }
    seen.contents_with_two_names += by_hash.values().filter(|n| n.len() > 1).count();
    seen.invariants += 1;
    violations
}
