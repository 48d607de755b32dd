//! The `evalctl_runs` tag against the emulator: once an apply has started an eval's runs, a
//! plan of unchanged manifests reads the eval list pages and no run listing; a changed eval
//! alone is listed; `--refresh` lists every eval and finds a run deleted by hand; a tag lost
//! to a crash (or never written) is written back without a question; a saved plan still
//! goes stale when the runs it listed change. Requests are counted by the emulator.

mod common;
mod emulator_support;

use std::path::Path;

use common::{write, Outcome};
use emulator_support::{config, start};
use evalctl::api::wire::Eval;
use evalctl::api::{Client, Connection};
use evalctl::emulator::Server;
use serde_json::json;

const MANIFEST: &str = r#"evals:
  alpha:
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { a: { type: string } }, required: [a] }
    testing_criteria:
      - { type: string_check, name: same, input: "{{item.a}}", reference: x, operation: eq }
    runs:
      first:
        data_source: { type: jsonl, source: { type: file_content, content: [ { item: { a: x } } ] } }
      second:
        data_source: { type: jsonl, source: { type: file_content, content: [ { item: { a: y } } ] } }
  beta:
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { a: { type: string } }, required: [a] }
    testing_criteria:
      - { type: string_check, name: same, input: "{{item.a}}", reference: x, operation: eq }
    runs:
      only:
        data_source: { type: jsonl, source: { type: file_content, content: [ { item: { a: x } } ] } }
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: runs-tag\n");
    write(dir.path(), "evals.yaml", MANIFEST);
    dir
}

async fn evalctl(dir: &Path, args: &[&str], base: &str) -> Outcome {
    common::evalctl_on(dir, args, base, &[]).await
}

fn client(base: &str) -> Client {
    let connection = Connection::local(base).unwrap_or_else(|e| panic!("{e}"));
    Client::new(&connection, 4).unwrap_or_else(|e| panic!("{e}"))
}

async fn live(base: &str, key: &str) -> Eval {
    let evals = client(base)
        .list_evals()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    evals
        .into_iter()
        .find(|e| {
            e.metadata.get("evalctl_key").map(String::as_str) == Some(key)
                && !e.metadata.contains_key("evalctl_state")
        })
        .unwrap_or_else(|| panic!("no live eval `{key}`"))
}

/// The run listings among the requests the emulator received since the last call.
fn run_listings(server: &Server) -> Vec<String> {
    server
        .take_requests()
        .into_iter()
        .filter(|r| r.starts_with("GET ") && r.contains("/runs"))
        .collect()
}

async fn applied(dir: &Path, base: &str) {
    let outcome = evalctl(dir, &["apply", "--auto-approve"], base).await;
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unchanged_plan_lists_no_runs_and_a_changed_eval_alone_is_listed() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project();
    applied(dir.path(), &base).await;
    let alpha = live(&base, "alpha").await;
    assert!(alpha.metadata.contains_key("evalctl_runs"), "{alpha:?}");
    server.take_requests();

    let plan = evalctl(dir.path(), &["plan", "--detailed-exitcode"], &base).await;
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(plan.stdout.ends_with("\nNo changes.\n"), "{}", plan.stdout);
    let sent = server.take_requests();
    assert!(
        sent.iter()
            .all(|r| r.starts_with("GET ") && !r.contains("/runs")),
        "{sent:?}"
    );

    // beta's run reads other data: only beta's runs are listed, and its run starts again.
    let text = std::fs::read_to_string(dir.path().join("evals.yaml")).unwrap_or_default();
    let changed = text.replacen(
        "      only:\n        data_source: { type: jsonl, source: { type: file_content, content: [ { item: { a: x } } ] } }",
        "      only:\n        data_source: { type: jsonl, source: { type: file_content, content: [ { item: { a: z } } ] } }",
        1,
    );
    assert_ne!(text, changed);
    write(dir.path(), "evals.yaml", &changed);
    let plan = evalctl(dir.path(), &["plan"], &base).await;
    assert!(
        plan.stdout.contains("> start run `beta/only`"),
        "{}",
        plan.transcript()
    );
    let beta = live(&base, "beta").await;
    server.take_requests();
    let plan = evalctl(dir.path(), &["plan"], &base).await;
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    let listed = run_listings(&server);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].contains(&beta.id), "{listed:?}");

    // Once applied, the tag vouches for beta's new run too.
    applied(dir.path(), &base).await;
    server.take_requests();
    let plan = evalctl(dir.path(), &["plan"], &base).await;
    assert!(plan.stdout.ends_with("\nNo changes.\n"), "{}", plan.stdout);
    assert_eq!(run_listings(&server), Vec::<String>::new());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_finds_a_run_deleted_by_hand_and_apply_starts_it_again() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project();
    applied(dir.path(), &base).await;
    let alpha = live(&base, "alpha").await;
    let client = client(&base);
    let runs = client
        .list_runs(&alpha.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let first = runs
        .iter()
        .find(|r| r.metadata.get("evalctl_key").map(String::as_str) == Some("first"))
        .unwrap_or_else(|| panic!("first started: {runs:?}"));
    let api = emulator_support::Api::new(&server, emulator_support::Flavor::OpenAi);
    let deleted = api
        .delete(&format!("/evals/{}/runs/{}", alpha.id, first.id))
        .await;
    assert_eq!(deleted.status, 200, "{deleted:?}");

    let plan = evalctl(dir.path(), &["plan"], &base).await;
    assert!(plan.stdout.ends_with("\nNo changes.\n"), "{}", plan.stdout);
    let plan = evalctl(dir.path(), &["plan", "--refresh"], &base).await;
    assert!(
        plan.stdout.contains("> start run `alpha/first`"),
        "{}",
        plan.transcript()
    );
    assert!(plan.stdout.contains("1 run to start."), "{}", plan.stdout);
    let apply = evalctl(dir.path(), &["apply", "--refresh", "--auto-approve"], &base).await;
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    let plan = evalctl(dir.path(), &["plan", "--refresh"], &base).await;
    assert!(plan.stdout.ends_with("\nNo changes.\n"), "{}", plan.stdout);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_tag_is_written_back_without_a_question() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project();
    applied(dir.path(), &base).await;
    // What a crash between starting the runs and writing the tag leaves (or an older evalctl).
    let alpha = live(&base, "alpha").await;
    let mut metadata = alpha.metadata.clone();
    let digest = metadata.remove("evalctl_runs");
    assert!(digest.is_some(), "{alpha:?}");
    client(&base)
        .update_eval(&alpha.id, &json!({"metadata": metadata}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let plan = evalctl(dir.path(), &["plan", "--detailed-exitcode"], &base).await;
    assert_eq!(
        plan.code,
        0,
        "no change a reviewer sees: {}",
        plan.transcript()
    );
    assert!(
        plan.stdout.ends_with("\nApply also tags 1 eval with the runs it has already (`evalctl_runs`), so that later plans need not list them.\n\nNo changes.\n"),
        "{}",
        plan.stdout
    );
    // No terminal and no --auto-approve: nothing to approve, the tag is written all the same.
    let apply = evalctl(dir.path(), &["apply"], &base).await;
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    assert_eq!(
        live(&base, "alpha").await.metadata.get("evalctl_runs"),
        digest.as_ref()
    );
    server.take_requests();
    let plan = evalctl(dir.path(), &["plan"], &base).await;
    assert!(plan.stdout.ends_with("\nNo changes.\n"), "{}", plan.stdout);
    assert_eq!(run_listings(&server), Vec::<String>::new());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_stale_when_the_runs_it_listed_change() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project();
    applied(dir.path(), &base).await;
    // A new run on beta: the saved plan listed beta's runs to plan it.
    let text = std::fs::read_to_string(dir.path().join("evals.yaml")).unwrap_or_default();
    write(
        dir.path(),
        "evals.yaml",
        &format!("{text}      extra:\n        data_source: {{ type: jsonl, source: {{ type: file_content, content: [ {{ item: {{ a: x }} }} ] }} }}\n"),
    );
    let saved = dir.path().join("plan.json");
    let plan = evalctl(
        dir.path(),
        &["plan", "--out", saved.to_str().unwrap_or_default()],
        &base,
    )
    .await;
    assert!(
        plan.stdout.contains("> start run `beta/extra`"),
        "{}",
        plan.transcript()
    );
    let beta = live(&base, "beta").await;
    // Someone starts a run on beta by hand meanwhile.
    client(&base)
        .create_run(
            &beta.id,
            &json!({"name": "by hand", "data_source": {"type": "jsonl", "source": {"type": "file_content", "content": [{"item": {"a": "x"}}]}}}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let apply = evalctl(
        dir.path(),
        &[
            "apply",
            saved.to_str().unwrap_or_default(),
            "--auto-approve",
        ],
        &base,
    )
    .await;
    assert_eq!(apply.code, 1, "{}", apply.transcript());
    assert!(
        apply
            .stderr
            .contains("the evals on the service changed since it was made"),
        "{}",
        apply.transcript()
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_aimed_at_some_runs_leaves_the_tag_of_the_whole() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project();
    applied(dir.path(), &base).await;
    let tagged = live(&base, "alpha")
        .await
        .metadata
        .get("evalctl_runs")
        .cloned();
    let aimed = evalctl(
        dir.path(),
        &["apply", "--only", "alpha/first", "--auto-approve"],
        &base,
    )
    .await;
    assert_eq!(aimed.code, 0, "{}", aimed.transcript());
    assert!(
        !aimed.stdout.contains("Apply also tags"),
        "{}",
        aimed.stdout
    );
    let after = live(&base, "alpha")
        .await
        .metadata
        .get("evalctl_runs")
        .cloned();
    assert_eq!(after, tagged);
    server.take_requests();
    let plan = evalctl(dir.path(), &["plan"], &base).await;
    assert!(plan.stdout.ends_with("\nNo changes.\n"), "{}", plan.stdout);
    assert_eq!(run_listings(&server), Vec::<String>::new());
    server.shutdown().await;
}
