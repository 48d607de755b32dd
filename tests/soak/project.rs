//! The soak's project: about 100 evals whose runs read a dozen shared JSONL files or inline
//! rows, kept as a model that each cycle edits (graders, metadata, data, evals and runs added
//! and removed) and writes out as manifests. The model, not the files, is the truth: an older
//! revision is written to another directory for the apply of a stale CI job.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;
use sha2::{Digest, Sha256};

/// The project name the evals are tagged with.
pub const NAME: &str = "soak";
/// Evals at the start; edits keep the count near it.
const EVALS: u32 = 100;
/// Data files shared by the file runs.
const DATA_FILES: usize = 12;
/// Evals per manifest file (by key number), so edits touch several files.
const GROUPS: u32 = 10;
const MAX_RUNS: usize = 4;

#[derive(Clone)]
pub struct Project {
    evals: BTreeMap<String, Eval>,
    /// Keys that left the manifests, with their last definition: an added eval sometimes
    /// comes back under its old key (and finds its old eval, if no prune deleted it).
    removed: BTreeMap<String, Eval>,
    data: Vec<Data>,
    next_key: u32,
    next_version: u32,
}

#[derive(Clone)]
struct Eval {
    /// Bumped by a metadata edit: the name and `rev` change (an update in place).
    rev: u32,
    /// The grader's variant: its name and operation change (a replacement).
    grader: u32,
    runs: BTreeMap<String, Source>,
}

#[derive(Clone, Copy)]
enum Source {
    /// `data/dNN.jsonl`.
    File(usize),
    /// Inline rows of this version.
    Inline(u32),
}

/// A data file's content: the rows of data file `of` at `version` (`of` differs from the
/// file's own index after a copy, so two files hold the same content).
#[derive(Clone, Copy)]
struct Data {
    of: usize,
    version: u32,
}

impl Project {
    pub fn new(rng: &mut StdRng) -> Project {
        let mut project = Project {
            evals: BTreeMap::new(),
            removed: BTreeMap::new(),
            data: (0..DATA_FILES).map(|of| Data { of, version: 0 }).collect(),
            next_key: 0,
            next_version: 1,
        };
        for _ in 0..EVALS {
            project.add_new(rng);
        }
        project
    }

    /// The eval keys of the manifests.
    pub fn keys(&self) -> BTreeSet<String> {
        self.evals.keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.evals.len()
    }

    /// Edits the project as a team would between two applies; returns what changed, in
    /// words. Sometimes nothing does.
    pub fn edit(&mut self, rng: &mut StdRng) -> Vec<String> {
        let edits = match rng.random_range(0..10) {
            0 => 0,
            1..=5 => 1,
            6..=8 => 2,
            _ => 3,
        };
        (0..edits).map(|_| self.edit_once(rng)).collect()
    }

    fn edit_once(&mut self, rng: &mut StdRng) -> String {
        let count = rng.random_range(1..=3);
        match rng.random_range(0..100) {
            0..=19 => {
                let keys = self.some_keys(rng, count);
                for key in &keys {
                    self.eval(key).grader += 1;
                }
                format!("grader of {} (replace)", keys.join(" "))
            }
            20..=34 => {
                let keys = self.some_keys(rng, count);
                for key in &keys {
                    self.eval(key).rev += 1;
                }
                format!("name and metadata of {} (update)", keys.join(" "))
            }
            35..=46 => {
                let file = rng.random_range(0..DATA_FILES);
                self.data[file] = Data {
                    of: file,
                    version: self.version(),
                };
                format!("data/d{file:02}.jsonl (new runs)")
            }
            47..=49 => {
                let (from, to) = (
                    rng.random_range(0..DATA_FILES),
                    rng.random_range(0..DATA_FILES),
                );
                self.data[to] = self.data[from];
                format!("data/d{to:02}.jsonl copied from d{from:02} (one content, two names)")
            }
            50..=59 if self.evals.len() < 115 => {
                let added: Vec<String> = (0..count).map(|_| self.add(rng)).collect();
                format!("added {}", added.join(" "))
            }
            60..=69 if self.evals.len() > 85 => {
                let keys = self.some_keys(rng, count);
                for key in &keys {
                    if let Some(eval) = self.evals.remove(key) {
                        self.removed.insert(key.clone(), eval);
                    }
                }
                format!("removed {}", keys.join(" "))
            }
            70..=77 => {
                let key = self.some_keys(rng, 1).remove(0);
                let source = self.source(rng);
                let eval = self.eval(&key);
                match (0..MAX_RUNS)
                    .map(|n| format!("r{n}"))
                    .find(|run| !eval.runs.contains_key(run))
                {
                    Some(run) => {
                        eval.runs.insert(run.clone(), source);
                        format!("run {key}/{run} added")
                    }
                    None => format!("no run added to {key}: it has {MAX_RUNS}"),
                }
            }
            78..=84 => {
                let key = self.some_keys(rng, 1).remove(0);
                let eval = self.eval(&key);
                let runs: Vec<String> = eval.runs.keys().cloned().collect();
                match runs.choose(rng) {
                    Some(run) if runs.len() > 1 => {
                        eval.runs.remove(run);
                        format!("run {key}/{run} removed")
                    }
                    _ => format!("no run removed from {key}: it has one"),
                }
            }
            85..=92 => {
                let key = self.some_keys(rng, 1).remove(0);
                let version = self.version();
                let eval = self.eval(&key);
                let run = eval.runs.keys().next().cloned().unwrap_or_default();
                eval.runs.insert(run.clone(), Source::Inline(version));
                format!("rows of {key}/{run} (a new run)")
            }
            _ => {
                let keys = self.some_keys(rng, count);
                for key in &keys {
                    let eval = self.eval(key);
                    eval.grader = eval.grader.saturating_sub(1);
                }
                format!("grader of {} reverted (replace)", keys.join(" "))
            }
        }
    }

    fn eval(&mut self, key: &str) -> &mut Eval {
        self.evals
            .get_mut(key)
            .unwrap_or_else(|| panic!("no eval {key} in the model"))
    }

    fn some_keys(&self, rng: &mut StdRng, count: usize) -> Vec<String> {
        let keys: Vec<&String> = self.evals.keys().collect();
        let mut chosen: Vec<String> = keys
            .choose_multiple(rng, count)
            .map(|k| k.to_string())
            .collect();
        chosen.sort();
        chosen
    }

    fn version(&mut self) -> u32 {
        self.next_version += 1;
        self.next_version
    }

    fn source(&mut self, rng: &mut StdRng) -> Source {
        if rng.random_bool(0.7) {
            Source::File(rng.random_range(0..DATA_FILES))
        } else {
            Source::Inline(self.version())
        }
    }

    /// Adds an eval: a new key, or now and then one that was removed.
    fn add(&mut self, rng: &mut StdRng) -> String {
        let back = self.removed.keys().cloned().collect::<Vec<_>>();
        match back.choose(rng) {
            Some(key) if rng.random_bool(0.3) => {
                if let Some(eval) = self.removed.remove(key) {
                    self.evals.insert(key.clone(), eval);
                }
                format!("{key} (back)")
            }
            _ => self.add_new(rng),
        }
    }

    fn add_new(&mut self, rng: &mut StdRng) -> String {
        let key = format!("e{:04}", self.next_key);
        self.next_key += 1;
        let runs = (0..rng.random_range(1..=3))
            .map(|n| (format!("r{n}"), self.source(rng)))
            .collect();
        self.evals.insert(
            key.clone(),
            Eval {
                rev: 0,
                grader: 0,
                runs,
            },
        );
        key
    }

    /// Writes the project to `dir` (replacing its manifests and data) and returns the
    /// SHA-256 of every data file written.
    pub fn write(&self, dir: &Path) -> Vec<String> {
        for sub in ["evals", "data"] {
            let path = dir.join(sub);
            if path.exists() {
                std::fs::remove_dir_all(&path).unwrap_or_else(|e| panic!("{e}"));
            }
            std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("{e}"));
        }
        put(dir, "evalctl.yaml", &format!("project: {NAME}\n"));
        let mut hashes = Vec::new();
        for (index, data) in self.data.iter().enumerate() {
            let rows = rows(data.of, data.version);
            hashes.push(format!("{:x}", Sha256::digest(rows.as_bytes())));
            put(dir, &format!("data/d{index:02}.jsonl"), &rows);
        }
        let mut groups: BTreeMap<u32, String> = BTreeMap::new();
        for (key, eval) in &self.evals {
            let number: u32 = key[1..].parse().unwrap_or(0);
            let text = groups
                .entry(number % GROUPS)
                .or_insert_with(|| "evals:\n".into());
            manifest(text, key, eval);
        }
        for (group, text) in groups {
            put(dir, &format!("evals/g{group}.yaml"), &text);
        }
        hashes
    }
}

fn put(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
}

/// The rows of data file `of` at `version`: 3 to 6, some passing the grader.
fn rows(of: usize, version: u32) -> String {
    let version = version as usize;
    (0..3 + (of + version) % 4)
        .map(|i| {
            format!(
                "{{\"item\": {{\"question\": \"q{of}-{version}-{i}\", \"answer\": \"a{}\", \"completion\": \"a{}\"}}}}\n",
                i % 3,
                (i + version) % 3
            )
        })
        .collect()
}

const OPERATIONS: [&str; 4] = ["eq", "ne", "like", "ilike"];

fn manifest(text: &mut String, key: &str, eval: &Eval) {
    let rev = eval.rev;
    let grader = eval.grader;
    let operation = OPERATIONS[grader as usize % OPERATIONS.len()];
    let _ = write!(
        text,
        r#"  {key}:
    name: "Soak {key} rev {rev}"
    metadata: {{ team: "t{team}", rev: "{rev}" }}
    data_source_config:
      type: custom
      item_schema: {{ type: object, properties: {{ question: {{ type: string }}, answer: {{ type: string }}, completion: {{ type: string }} }}, required: [question, answer, completion] }}
      include_sample_schema: false
    testing_criteria:
      - {{ type: string_check, name: "check {grader}", input: "{{{{item.completion}}}}", reference: "{{{{item.answer}}}}", operation: {operation} }}
    runs:
"#,
        team = rev % 3,
    );
    for (run, source) in &eval.runs {
        let source = match source {
            Source::File(file) => format!("{{ type: file, path: ../data/d{file:02}.jsonl }}"),
            Source::Inline(version) => format!(
                "{{ type: file_content, content: [ {{ item: {{ question: \"inline {version}\", answer: a1, completion: a{} }} }}, {{ item: {{ question: \"inline {version} b\", answer: a2, completion: a2 }} }} ] }}",
                version % 3
            ),
        };
        let _ = writeln!(
            text,
            "      {run}:\n        data_source: {{ type: jsonl, source: {source} }}"
        );
    }
}
