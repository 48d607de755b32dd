//! `evalctl apply` end to end against the emulator: convergence to "No changes.", in-place
//! updates, replacements that keep history, data changes, pruning, ownership, faults,
//! restarts, saved plans, confirmation and gates. Objects are counted through the API.

mod common;
mod emulator_support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use common::Outcome;
use emulator_support::{config, start};
use evalctl::api::wire::{Eval, EvalRun};
use evalctl::api::{Client, Connection};
use evalctl::emulator;
use serde_json::json;
use sha2::Digest as _;

async fn evalctl(dir: &Path, args: &[&str], base: &str) -> Outcome {
    common::evalctl_on(dir, args, base, &[]).await
}

fn client(base: &str) -> Client {
    Client::new(
        &Connection::local(base).unwrap_or_else(|e| panic!("{e}")),
        4,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

struct Counted {
    evals: Vec<Eval>,
    runs: Vec<(String, EvalRun)>,
}

impl Counted {
    async fn of(base: &str) -> Counted {
        let client = client(base);
        let evals = client.list_evals().await.unwrap_or_else(|e| panic!("{e}"));
        let mut runs = Vec::new();
        for eval in &evals {
            for run in client
                .list_runs(&eval.id)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
            {
                runs.push((eval.id.clone(), run));
            }
        }
        Counted { evals, runs }
    }

    fn live(&self, key: &str) -> Vec<&Eval> {
        self.evals
            .iter()
            .filter(|e| {
                e.metadata.get("evalctl_key").map(String::as_str) == Some(key)
                    && !e.metadata.contains_key("evalctl_state")
            })
            .collect()
    }

    fn runs_of(&self, eval_id: &str) -> Vec<&EvalRun> {
        self.runs
            .iter()
            .filter(|(id, _)| id == eval_id)
            .map(|(_, r)| r)
            .collect()
    }
}

const EVALS: &str = r#"evals:
  capitals:
    name: Capitals
    metadata: { team: geo }
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { city: { type: string }, answer: { type: string } }, required: [city, answer] }
    testing_criteria:
      - { type: string_check, name: names it, input: "{{item.answer}}", reference: "{{item.city}}", operation: ilike }
    runs:
      nightly:
        data_source: { type: jsonl, source: { type: file, path: data/capitals.jsonl } }
        gate: { min_pass_rate: 0.5 }
  inline:
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { a: { type: string } }, required: [a] }
    testing_criteria:
      - { type: string_check, name: same, input: "{{item.a}}", reference: x, operation: eq }
    runs:
      once:
        data_source: { type: jsonl, source: { type: file_content, content: [ { item: { a: x } }, { item: { a: y } } ] } }
"#;

const ROWS: &str = "{\"item\": {\"city\": \"Paris\", \"answer\": \"paris\"}}\n{\"item\": {\"city\": \"Rome\", \"answer\": \"Milan\"}}\n";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: apply-test\n");
    write(dir.path(), "evals.yaml", EVALS);
    write(dir.path(), "data/capitals.jsonl", ROWS);
    dir
}

use common::write;

/// A transcript as a snapshot: ids, addresses and times filtered, outcome lines in order.
fn snapshot(name: &str, transcripts: &[&Outcome], base: &str) {
    let shown = common::shown(transcripts, base);
    common::filters().bind(|| insta::assert_snapshot!(name, shown));
}

async fn no_changes(dir: &Path, base: &str) {
    let plan = evalctl(dir, &["plan", "--detailed-exitcode"], base).await;
    assert_eq!(plan.code, 0, "expected no changes\n{}", plan.transcript());
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_then_plan_has_no_changes_and_edits_converge() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project();
    let applied = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    no_changes(dir.path(), &base).await;
    let before = Counted::of(&base).await;
    assert_eq!(before.evals.len(), 2);
    assert_eq!(before.runs.len(), 2);
    let capitals = before.live("capitals")[0].id.clone();

    // Rename: update in place, same id, no new run.
    common::edit(dir.path(), "name: Capitals", "name: Capital cities");
    assert_eq!(
        evalctl(dir.path(), &["apply", "--auto-approve"], &base)
            .await
            .code,
        0
    );
    let renamed = Counted::of(&base).await;
    assert_eq!(renamed.live("capitals")[0].id, capitals);
    assert_eq!(renamed.live("capitals")[0].name, "Capital cities");
    assert_eq!(renamed.runs.len(), 2);
    no_changes(dir.path(), &base).await;

    // Changed data: exactly one new run, on the same eval.
    write(
        dir.path(),
        "data/capitals.jsonl",
        &format!("{ROWS}{{\"item\": {{\"city\": \"Oslo\", \"answer\": \"Oslo\"}}}}\n"),
    );
    assert_eq!(
        evalctl(dir.path(), &["apply", "--auto-approve"], &base)
            .await
            .code,
        0
    );
    let more_data = Counted::of(&base).await;
    assert_eq!(more_data.runs_of(&capitals).len(), 2);
    assert_eq!(more_data.runs.len(), 3);
    no_changes(dir.path(), &base).await;

    // Grader change: a new eval; the old one superseded with its runs; runs on the new one.
    common::edit(dir.path(), "operation: ilike", "operation: like");
    let replaced = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(replaced.code, 0, "{}", replaced.transcript());
    snapshot("apply_a_replacement", &[&replaced], &base);
    let after = Counted::of(&base).await;
    let new_live = after.live("capitals");
    assert_eq!(new_live.len(), 1);
    assert_ne!(new_live[0].id, capitals);
    let old = after
        .evals
        .iter()
        .find(|e| e.id == capitals)
        .unwrap_or_else(|| panic!("the old eval was deleted"));
    assert_eq!(
        old.metadata.get("evalctl_state").map(String::as_str),
        Some("superseded")
    );
    assert_eq!(after.runs_of(&capitals).len(), 2, "history kept");
    assert_eq!(after.runs_of(&new_live[0].id).len(), 1);
    let files = client(&base)
        .list_files()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        files.len(),
        2,
        "one upload per content: the replacement reused the second file"
    );
    no_changes(dir.path(), &base).await;

    // Key removed: kept and reported without --prune, deleted with it.
    let text = std::fs::read_to_string(dir.path().join("evals.yaml")).unwrap_or_default();
    write(
        dir.path(),
        "evals.yaml",
        &text[..text.find("  inline:").unwrap_or(text.len())],
    );
    let kept = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(kept.code, 0, "{}", kept.transcript());
    assert_eq!(Counted::of(&base).await.live("inline").len(), 1);
    let pruned = evalctl(dir.path(), &["apply", "--auto-approve", "--prune"], &base).await;
    assert_eq!(pruned.code, 0, "{}", pruned.transcript());
    snapshot("apply_kept_then_pruned", &[&kept, &pruned], &base);
    assert_eq!(Counted::of(&base).await.live("inline").len(), 0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn evals_of_other_projects_and_untagged_evals_are_never_touched() {
    let server = start(config()).await;
    let base = server.base_url();
    let client = client(&base);
    let body = |metadata: serde_json::Value| {
        json!({"name": "theirs", "metadata": metadata,
               "data_source_config": {"type": "custom", "item_schema": {"type": "object"}},
               "testing_criteria": [{"type": "string_check", "name": "s", "input": "a", "reference": "b", "operation": "eq"}]})
    };
    let foreign = client
        .create_eval(&body(
            json!({"evalctl_project": "other", "evalctl_key": "capitals"}),
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let untagged = client
        .create_eval(&body(json!({})))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = project();
    for args in [
        &["apply", "--auto-approve"][..],
        &["apply", "--auto-approve", "--prune"][..],
    ] {
        assert_eq!(evalctl(dir.path(), args, &base).await.code, 0);
    }
    for eval in [foreign, untagged] {
        let now = client
            .get_eval(&eval.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(now.metadata, eval.metadata);
        assert_eq!(now.name, eval.name);
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_state_tag_is_put_right_without_starting_runs_again() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project();
    let first = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(first.code, 0, "{}", first.transcript());
    let before = Counted::of(&base).await;
    let eval = before.live("capitals")[0].clone();
    // Someone sets evalctl's state tag to a value it never writes.
    let mut metadata = eval.metadata.clone();
    metadata.insert("evalctl_state".into(), "archived".into());
    client(&base)
        .update_eval(&eval.id, &json!({ "metadata": metadata }))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let plan = evalctl(dir.path(), &["plan", "--output", "json"], &base).await;
    let plan: serde_json::Value =
        serde_json::from_str(&plan.stdout).unwrap_or_else(|e| panic!("{e}: {}", plan.transcript()));
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 1, "replace": 0, "delete": 0, "runs": 0}),
        "{plan:#}"
    );
    let again = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(again.code, 0, "{}", again.transcript());
    let after = Counted::of(&base).await;
    assert_eq!(after.live("capitals").len(), 1);
    assert_eq!(after.runs.len(), before.runs.len(), "no run started again");
    no_changes(dir.path(), &base).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn under_faults_repeated_apply_converges_without_duplicates() {
    let mut faulty = config();
    faulty.fault_rate = 0.3;
    faulty.seed = 42;
    let server = start(faulty).await;
    let base = server.base_url();
    let dir = project();
    let mut converged = false;
    for _ in 0..10 {
        let outcome = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
        let plan = evalctl(dir.path(), &["plan", "--detailed-exitcode"], &base).await;
        if outcome.code == 0 && plan.code == 0 {
            converged = true;
            break;
        }
    }
    assert!(converged, "apply did not converge under a 30% fault rate");
    let counted = Counted::of(&base).await;
    for key in ["capitals", "inline"] {
        let live = counted.live(key);
        assert_eq!(live.len(), 1, "one live eval for {key}");
        assert_eq!(counted.runs_of(&live[0].id).len(), 1, "one run for {key}");
    }
    assert_eq!(
        counted.evals.len(),
        2,
        "no duplicate eval, live or superseded"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_of_the_service_in_the_middle_of_an_apply_loses_nothing() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut persistent = config();
    persistent.addr = addr;
    persistent.data_dir = Some(data.path().to_path_buf());
    persistent.latency_ms = 30;
    let server = start(persistent.clone()).await;
    let base = server.base_url();
    let dir = project();
    let path = dir.path().to_path_buf();
    let apply = tokio::spawn({
        let base = base.clone();
        async move { evalctl(&path, &["apply", "--auto-approve"], &base).await }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while Counted::of(&base).await.evals.is_empty() {
        assert!(Instant::now() < deadline, "apply created nothing");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.shutdown().await;
    let server = start(persistent).await;
    let outcome = apply.await.unwrap_or_else(|e| panic!("{e}"));
    let second = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert!(
        outcome.code == 0 || second.code == 0,
        "{}\n{}",
        outcome.transcript(),
        second.transcript()
    );
    no_changes(dir.path(), &base).await;
    let counted = Counted::of(&base).await;
    assert_eq!(
        counted.evals.len(),
        2,
        "{:?}",
        counted
            .evals
            .iter()
            .map(|e| &e.metadata)
            .collect::<Vec<_>>()
    );
    assert_eq!(counted.runs.len(), 2);
    server.shutdown().await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_saved_plan_is_refused_and_changes_nothing() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project();
    let planned = evalctl(dir.path(), &["plan", "--out", "plan.json"], &base).await;
    assert_eq!(planned.code, 0, "{}", planned.transcript());
    // Someone else applies first.
    assert_eq!(
        evalctl(dir.path(), &["apply", "--auto-approve"], &base)
            .await
            .code,
        0
    );
    let before = Counted::of(&base).await;
    let stale = evalctl(dir.path(), &["apply", "plan.json", "--auto-approve"], &base).await;
    assert_eq!(stale.code, 1, "{}", stale.transcript());
    assert!(
        stale.stderr.contains("the saved plan is stale"),
        "{}",
        stale.stderr
    );
    let after = Counted::of(&base).await;
    assert_eq!(
        (after.evals.len(), after.runs.len()),
        (before.evals.len(), before.runs.len())
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_saved_plan_is_applied_exactly() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project();
    assert_eq!(
        evalctl(dir.path(), &["plan", "--out", "plan.json"], &base)
            .await
            .code,
        0
    );
    let applied = evalctl(dir.path(), &["apply", "plan.json", "--auto-approve"], &base).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    no_changes(dir.path(), &base).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_terminal_apply_needs_auto_approve() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project();
    let refused = evalctl(dir.path(), &["apply"], &base).await;
    assert_eq!(refused.code, 1, "{}", refused.transcript());
    assert!(
        refused.stderr.contains("pass --auto-approve"),
        "{}",
        refused.stderr
    );
    assert!(Counted::of(&base).await.evals.is_empty(), "nothing applied");
    server.shutdown().await;
}

/// `evalctl apply ARGS` at a terminal, typing `answer` at the confirmation prompt.
#[cfg(unix)]
async fn at_terminal(dir: &Path, args: &[&str], base: &str, answer: &str) -> Outcome {
    let prompt = "Only 'yes' will be accepted: ";
    common::evalctl_in_terminal(dir, args, base, &[], Some((prompt, answer))).await
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn at_a_terminal_apply_asks_and_only_yes_applies() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project();
    let declined = at_terminal(dir.path(), &["apply"], &base, "y\n").await;
    assert_eq!(declined.code, 1, "{}", declined.transcript());
    assert!(
        declined.stdout.contains("+ create eval `capitals`")
            && declined
                .stdout
                .contains("nothing was applied: apply cancelled"),
        "{}",
        declined.stdout
    );
    assert!(Counted::of(&base).await.evals.is_empty(), "nothing applied");

    // With `--wait` the terminal also gets the spinner; the results still read whole.
    let accepted = at_terminal(
        dir.path(),
        &["apply", "--wait", "--timeout", "60s"],
        &base,
        "yes\n",
    )
    .await;
    assert_eq!(accepted.code, 0, "{}", accepted.transcript());
    for expected in [
        "Only 'yes' will be accepted: yes\n",
        "Summary: 4 actions done, 0 failed, 0 skipped; 1 gate passed, 0 failed.",
        "\ncapitals/nightly (",
        "1 passed, 1 failed, 0 errored of 2 (50.0%)",
    ] {
        assert!(
            accepted.stdout.contains(expected),
            "{expected}\n{}",
            accepted.stdout
        );
    }
    // The spinner (when it got to draw before the runs finished) is erased, not left above
    // the results.
    let spinner = accepted.stdout.find("waiting for runs");
    let results = accepted.stdout.find("capitals/nightly (");
    if let (Some(spinner), Some(results)) = (spinner, results) {
        let between = &accepted.stdout[spinner..results];
        assert!(between.contains("\x1b[2K"), "{:?}", accepted.stdout);
    }
    let counted = Counted::of(&base).await;
    assert_eq!(counted.live("capitals").len(), 1);
    assert_eq!(counted.live("inline").len(), 1);
    assert_eq!(counted.runs.len(), 2);
    no_changes(dir.path(), &base).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_reports_results_and_a_failed_gate_exits_3() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project();
    let passing = evalctl(
        dir.path(),
        &["apply", "--auto-approve", "--wait", "--timeout", "60s"],
        &base,
    )
    .await;
    assert_eq!(passing.code, 0, "{}", passing.transcript());
    common::edit(dir.path(), "min_pass_rate: 0.5", "min_pass_rate: 0.9");
    write(
        dir.path(),
        "data/capitals.jsonl",
        &format!("{ROWS}{{\"item\": {{\"city\": \"Oslo\", \"answer\": \"Bergen\"}}}}\n"),
    );
    let failing = evalctl(
        dir.path(),
        &["apply", "--auto-approve", "--wait", "--timeout", "60s"],
        &base,
    )
    .await;
    assert_eq!(failing.code, 3, "{}", failing.transcript());
    // A retried CI job changes nothing, but its gate still fails.
    let again = evalctl(
        dir.path(),
        &["apply", "--auto-approve", "--wait", "--timeout", "60s"],
        &base,
    )
    .await;
    assert_eq!(again.code, 3, "{}", again.transcript());
    snapshot(
        "wait_passing_failing_again",
        &[&passing, &failing, &again],
        &base,
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_arguments_exit_1_not_2() {
    let dir = project();
    let outcome = evalctl(
        dir.path(),
        &["plan", "--detailed-exitcode", "--parallelism", "0"],
        "http://127.0.0.1:9",
    )
    .await;
    assert_eq!(
        outcome.code,
        1,
        "2 would read as `changes present`: {}",
        outcome.transcript()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_makes_wait_exit_1() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: failing\n");
    // The emulator has no model endpoint here, so a sampling run fails.
    write(
        dir.path(),
        "evals.yaml",
        r#"evals:
  sampled:
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { q: { type: string } }, required: [q] }
      include_sample_schema: true
    testing_criteria:
      - { type: string_check, name: answered, input: "{{sample.output_text}}", reference: "yes", operation: eq }
    runs:
      model:
        data_source:
          type: completions
          model: gpt-4o-mini
          input_messages: { type: template, template: [ { role: user, content: "{{item.q}}" } ] }
          source: { type: file_content, content: [ { item: { q: "ok?" } } ] }
"#,
    );
    let outcome = evalctl(
        dir.path(),
        &["apply", "--auto-approve", "--wait", "--timeout", "60s"],
        &base,
    )
    .await;
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    snapshot("wait_a_failed_run", &[&outcome], &base);
    server.shutdown().await;
}

/// Each action's outcome is printed as it finishes: a CI job killed half-way has the record
/// of what it did. The apply is stopped at its first outcome line, and by then the service
/// holds fewer evals than the plan creates: the line came before the end.
#[tokio::test(flavor = "multi_thread")]
async fn each_outcome_is_printed_as_it_finishes() {
    use tokio::io::AsyncBufReadExt as _;
    let server = start(emulator::Config {
        latency_ms: 150,
        ..config()
    })
    .await;
    let base = server.base_url();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: streaming\n");
    let evals: String = (0..6)
        .map(|i| {
            format!(
                "  e{i}:\n    data_source_config: {{ type: custom, item_schema: {{ type: object }} }}\n    testing_criteria: [ {{ type: string_check, name: s, input: a, reference: a, operation: eq }} ]\n"
            )
        })
        .collect();
    write(dir.path(), "evals.yaml", &format!("evals:\n{evals}"));
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_evalctl"));
    command
        .args(["apply", "--auto-approve", "--parallelism", "1"])
        .args(["--target", "azure", "--endpoint", &base])
        .current_dir(dir.path())
        .env("AZURE_OPENAI_API_KEY", "test-key")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("piped"));
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let first_outcome = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains(": done (") {
                return Some(line);
            }
        }
        None
    })
    .await
    .unwrap_or_else(|_| panic!("no outcome line within a minute"));
    let _ = child.kill().await;
    assert!(first_outcome.is_some_and(|l| l.starts_with("+ create eval `e")));
    let created = Counted::of(&base).await.evals.len();
    assert!(
        created < 6,
        "{created} evals created before the first line was printed"
    );
    server.shutdown().await;
}

/// The emulator keeping new uploads `pending` for 1.5 s, as Azure processes them.
async fn start_with_slow_uploads() -> emulator::Server {
    start(emulator::Config {
        file_processing_ms: 1_500,
        ..config()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_start_only_after_the_service_has_processed_their_upload() {
    let server = start_with_slow_uploads().await;
    let base = server.base_url();
    // The service refuses a run on a file it is still processing, so an apply that did not
    // wait would fail here.
    let api = client(&base);
    let eval = api
        .create_eval(&json!({
            "data_source_config": {"type": "custom", "item_schema": {"type": "object", "properties": {"a": {"type": "string"}}}},
            "testing_criteria": [{"type": "string_check", "name": "s", "input": "{{item.a}}", "reference": "x", "operation": "eq"}]
        }))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let early = api
        .upload_file("early.jsonl", b"{\"item\": {\"a\": \"x\"}}\n".to_vec())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(early.status, "pending");
    let refused = api
        .create_run(
            &eval.id,
            &json!({"data_source": {"type": "jsonl", "source": {"type": "file_id", "id": early.id}}}),
        )
        .await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("still being processed")),
        "{refused:?}"
    );

    let dir = project();
    let outcome = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    let counted = Counted::of(&base).await;
    let capitals = counted.live("capitals");
    assert_eq!(capitals.len(), 1);
    assert_eq!(
        counted.runs_of(&capitals[0].id).len(),
        1,
        "the run on the uploaded file started once it was processed"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_still_processing_from_an_interrupted_apply_is_waited_for_not_repeated() {
    let server = start_with_slow_uploads().await;
    let base = server.base_url();
    // What an apply stopped right after its upload leaves: the file, under evalctl's name
    // for its content, still being processed.
    let sha = format!("{:x}", sha2::Sha256::digest(ROWS.as_bytes()));
    let name = format!("capitals.evalctl-{}.jsonl", &sha[..24]);
    let api = client(&base);
    let earlier = api
        .upload_file(&name, ROWS.as_bytes().to_vec())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(earlier.status, "pending");

    let dir = project();
    let outcome = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    let files = api.list_files().await.unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<_> = files.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        [earlier.id.as_str()],
        "the earlier upload is the only one"
    );
    let counted = Counted::of(&base).await;
    let capitals = counted.live("capitals");
    assert_eq!(capitals.len(), 1);
    assert_eq!(counted.runs_of(&capitals[0].id).len(), 1);
    server.shutdown().await;
}
