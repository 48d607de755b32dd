//! Shared by the benchmark programs: a generated project of N evals, each with 5 graders
//! and one run.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use evalctl::api::{fetch, Client, Connection, Fetch, ForPlan};
use evalctl::emulator::{self, Config, Server};
use evalctl::plan::{self, Desired, Plan, PlanOptions, Remote};

/// Which run each generated eval gets.
#[derive(Clone, Copy)]
pub enum Runs {
    /// A JSONL file shared by all evals (50 rows), validated against each eval's schema.
    JsonlFile,
    /// One inline row (no upload; for apply benchmarks).
    Inline,
    /// This many runs of one inline row each (`run-0`, `run-1`, ...), differing by a setting.
    InlineMany(usize),
}

/// A project of `evals` evals, one manifest file each.
pub fn project(evals: usize, runs: Runs) -> tempfile::TempDir {
    let dir = project_root();
    for i in 0..evals {
        fs::write(
            dir.path().join(format!("evals/eval-{i:04}.yaml")),
            manifest(i, runs),
        )
        .expect("write");
    }
    dir
}

/// The same evals, all in one manifest file.
pub fn project_in_one_file(evals: usize, runs: Runs) -> tempfile::TempDir {
    let dir = project_root();
    let mut text = String::from(HEADER);
    (0..evals).for_each(|i| text.push_str(&eval_entry(i, runs)));
    fs::write(dir.path().join("evals/all.yaml"), text).expect("write");
    dir
}

/// A project root with its settings and data file, and no manifests yet.
fn project_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    fs::create_dir_all(root.join("evals")).expect("mkdir");
    fs::create_dir_all(root.join("data")).expect("mkdir");
    fs::write(root.join("evalctl.yaml"), "project: bench\n").expect("write");
    let rows: String = (0..50)
        .map(|r| format!("{{\"item\": {{\"question\": \"q{r}\", \"answer\": \"A\", \"completion\": \"A\"}}}}\n"))
        .collect();
    fs::write(root.join("data/rows.jsonl"), rows).expect("write");
    dir
}

const HEADER: &str = "# yaml-language-server: $schema=../schemas/evalctl.schema.json\nevals:\n";

pub fn manifest(i: usize, runs: Runs) -> String {
    format!("{HEADER}{}", eval_entry(i, runs))
}

/// Eval `i` as an entry of `evals:`.
fn eval_entry(i: usize, runs: Runs) -> String {
    let inline =
        "{ type: file_content, content: [ { item: { question: q, answer: A, completion: A } } ] }";
    let source = match runs {
        Runs::JsonlFile => "{ type: file, path: ../data/rows.jsonl }",
        Runs::Inline | Runs::InlineMany(_) => inline,
    };
    let mut text = String::new();
    let _ = write!(
        text,
        r#"  bench-{i:04}:
    name: Benchmark eval {i}
    metadata: {{ team: perf, index: "{i}" }}
    data_source_config:
      type: custom
      item_schema:
        type: object
        properties:
          question: {{ type: string }}
          answer: {{ type: string }}
          completion: {{ type: string }}
        required: [question, answer, completion]
    testing_criteria:
      - {{ type: string_check, name: exact, input: "{{{{item.completion}}}}", reference: "{{{{item.answer}}}}", operation: eq }}
      - {{ type: string_check, name: contains, input: "{{{{item.completion}}}}", reference: "{{{{item.answer}}}}", operation: ilike }}
      - {{ type: text_similarity, name: fuzzy, input: "{{{{item.completion}}}}", reference: "{{{{item.answer}}}}", evaluation_metric: fuzzy_match, pass_threshold: 0.8 }}
      - {{ type: text_similarity, name: rouge, input: "{{{{item.completion}}}}", reference: "{{{{item.answer}}}}", evaluation_metric: rouge_l, pass_threshold: 0.5 }}
      - type: label_model
        name: judge
        model: gpt-4o-mini
        input:
          - {{ role: system, content: "Is the answer right? Reply correct or incorrect." }}
          - {{ role: user, content: "Q: {{{{item.question}}}} A: {{{{item.completion}}}} Expected: {{{{item.answer}}}}" }}
        labels: [correct, incorrect]
        passing_labels: [correct]
    runs:
"#
    );
    match runs {
        Runs::InlineMany(n) => (0..n).for_each(|r| {
            let _ = writeln!(
                text,
                "      run-{r}:\n        metadata: {{ variant: \"{r}\" }}\n        data_source: {{ type: jsonl, source: {source} }}"
            );
        }),
        _ => text.push_str(&format!("      baseline:\n        data_source: {{ type: jsonl, source: {source} }}\n        gate: {{ min_pass_rate: 0.8, graders: {{ exact: {{ min_pass_rate: 0.7 }} }} }}\n")),
    }
    text
}

/// The emulator on an ephemeral port (state in `data_dir`, or in memory), with `latency_ms`
/// on every request, and a client to it with `parallelism` requests in flight.
pub async fn serve(
    data_dir: Option<&Path>,
    latency_ms: u64,
    parallelism: usize,
) -> (Server, Client) {
    let mut config = Config::local(Path::new("."));
    config.data_dir = data_dir.map(Path::to_path_buf);
    config.latency_ms = latency_ms;
    let server = emulator::start(config).await.expect("emulator");
    let connection = Connection::local(&server.base_url()).expect("connection");
    let client = Client::new(&connection, parallelism).expect("client");
    (server, client)
}

/// Another client to the emulator at `base_url` (its request count starts at zero).
pub fn client(base_url: &str, parallelism: usize) -> Client {
    let connection = Connection::local(base_url).expect("connection");
    Client::new(&connection, parallelism).expect("client")
}

/// The desired state of the project at `root`.
pub fn desired_of(root: &Path) -> Desired {
    let project = evalctl::manifest::load(root)
        .project
        .expect("valid project");
    Desired::from_project(&project)
}

/// Fetches what a plan reads (every eval's runs with `refresh`) and plans, as `evalctl plan`.
pub async fn plan(client: &Client, desired: &Desired, refresh: bool) -> (Plan, Remote) {
    let what = Fetch {
        project: &desired.project,
        runs: evalctl::api::Runs::ForPlan(ForPlan {
            desired,
            refresh,
            prune: false,
        }),
    };
    let remote = fetch(client, &what).await.expect("fetch");
    (plan::plan(desired, &remote, PlanOptions::default()), remote)
}

/// Plans and carries the plan out, as `evalctl apply --auto-approve`.
pub async fn apply(client: &Client, desired: &Desired) -> evalctl::apply::Report {
    let (plan, remote) = plan(client, desired, false).await;
    evalctl::apply::apply(client, &plan, Some(&remote.uploads), &mut |_, _| {}).await
}
