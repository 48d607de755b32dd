//! Opening a store from its data directory. Runs that were `queued` or `in_progress` when the
//! server stopped are put back in the queue from scratch (their partial output items are
//! dropped): grading is deterministic, so the resumed run ends as the first would have, and no
//! run is left looking alive with nothing working on it.

use std::io;
use std::path::Path;

use super::disk::{Disk, EVALS, FILES, ITEMS, RUNS};
use super::{EvalEntry, FileEntry, RunEntry, Store};
use crate::emulator::encoded::Encoded;
use crate::emulator::ids;
use crate::emulator::objects::{EvalRun, FileObject, OutputItem, ResultCounts, RunStatus};

impl Store {
    /// Opens the store at `root`; returns it with the ids of the runs to resume.
    pub(crate) fn open(root: &Path) -> io::Result<(Store, Vec<String>)> {
        let disk = Disk::open(root)?;
        let mut store = Store::memory();
        let mut highest = 0;
        for (id, mut entry) in disk.load_all::<EvalEntry>(EVALS)? {
            entry.encode();
            let seq = ids::seq_of(&id).ok_or_else(|| bad_name(EVALS, &id))?;
            highest = highest.max(seq).max(entry.update_seq);
            store.insert_eval(seq, entry);
        }
        let mut resume = Vec::new();
        for (id, run) in disk.load_all::<EvalRun>(RUNS)? {
            highest = highest.max(ids::seq_of(&id).ok_or_else(|| bad_name(RUNS, &id))?);
            let entry = load_run(&disk, run, &mut resume)?;
            store.insert_run(entry);
        }
        for (id, file) in disk.load_all::<FileObject>(FILES)? {
            let seq = ids::seq_of(&id).ok_or_else(|| bad_name(FILES, &id))?;
            highest = highest.max(seq);
            let content = disk.read(FILES, &format!("{id}.content"))?;
            store.insert_file(
                seq,
                FileEntry {
                    file,
                    content: content.into(),
                    pending_until: None,
                },
            );
        }
        for entry in store.runs.values() {
            highest = highest.max(entry.item_seqs.last().copied().unwrap_or(0));
        }
        store.next_seq = highest + 1;
        store.disk = Some(disk);
        resume.sort();
        Ok((store, resume))
    }
}

fn load_run(disk: &Disk, mut run: EvalRun, resume: &mut Vec<String>) -> io::Result<RunEntry> {
    if !run.status.is_terminal() {
        run.status = RunStatus::Queued;
        run.result_counts = ResultCounts::default();
        run.per_model_usage = None;
        run.per_testing_criteria_results = None;
        resume.push(run.id.clone());
        return Ok(RunEntry::new(run));
    }
    let items: Vec<OutputItem> = match disk.read(ITEMS, &format!("{}.json", run.id)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{ITEMS}/{}: {e}", run.id),
            )
        })?,
        Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(error),
    };
    let mut entry = RunEntry::new(run);
    for item in items {
        let encoded = Encoded::new(&item.id, &item)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let position = entry.items.len();
        match item.status {
            crate::emulator::objects::ItemStatus::Pass => entry.passed.push(position),
            crate::emulator::objects::ItemStatus::Fail => entry.failed.push(position),
            crate::emulator::objects::ItemStatus::Error => {}
        }
        entry.item_seqs.push(ids::seq_of(&item.id).unwrap_or(0));
        entry.items.push(std::sync::Arc::new(encoded));
    }
    Ok(entry)
}

fn bad_name(dir: &str, id: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{dir}/{id}.json is not a file of this store"),
    )
}
