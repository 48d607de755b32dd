//! `evalctl plan` end to end: the real binary against the emulator on a random 127.0.0.1
//! port (Azure flavor, with a key), counting objects through the API.

mod common;
mod emulator_support;

use std::path::Path;

use common::{repo_root, Outcome};
use emulator_support::{config, start};
use evalctl::api::{Auth, Client, Connection, Secret};
use serde_json::{json, Value};

const KEY: &str = "sk-plan-test-SECRET-5678";

/// Runs `evalctl ARGS` against `endpoint` with the test key, off the async runtime.
async fn evalctl(dir: &Path, args: &[&str], endpoint: &str, extra_env: &[(&str, &str)]) -> Outcome {
    let mut env = vec![("AZURE_OPENAI_API_KEY", KEY)];
    env.extend_from_slice(extra_env);
    common::evalctl_on(dir, args, endpoint, &env).await
}

fn keyed() -> evalctl::emulator::Config {
    let mut c = config();
    c.api_key = Some(KEY.into());
    c
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("evalctl.yaml"), "project: plan-test\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let manifest = r#"evals:
  capitals:
    name: Capitals
    metadata: { team: geo }
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { city: { type: string }, answer: { type: string } }, required: [city, answer] }
    testing_criteria:
      - { type: string_check, name: names it, input: "{{item.answer}}", reference: "{{item.city}}", operation: ilike }
      - type: label_model
        name: judge
        model: gpt-4o-mini
        input:
          - { role: system, content: "Is it right?" }
          - { role: user, content: "{{item.answer}}" }
        labels: [yes, no]
        passing_labels: [yes]
    runs:
      inline:
        data_source:
          type: jsonl
          source: { type: file_content, content: [ { item: { city: Paris, answer: paris } } ] }
"#;
    std::fs::write(dir.path().join("evals.yaml"), manifest).unwrap_or_else(|e| panic!("{e}"));
    dir
}

fn json_plan(outcome: &Outcome) -> Value {
    serde_json::from_str(&outcome.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", outcome.transcript()))
}

/// Carries out creates and runs of a JSON plan with the client, as apply will.
async fn apply_by_hand(plan: &Value, base: &str) {
    let mut connection = Connection::local(base).unwrap_or_else(|e| panic!("{e}"));
    connection.auth = Auth::ApiKey(Secret::new(KEY));
    let client = Client::new(&connection, 4).unwrap_or_else(|e| panic!("{e}"));
    let mut created = std::collections::BTreeMap::new();
    for action in plan["actions"].as_array().into_iter().flatten() {
        match action["action"].as_str() {
            Some("create_eval") => {
                let body = json!({"name": action["name"], "metadata": action["metadata"], "data_source_config": action["data_source_config"], "testing_criteria": action["testing_criteria"]});
                let eval = client
                    .create_eval(&body)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                created.insert(action["key"].as_str().unwrap_or("").to_string(), eval.id);
            }
            Some("start_run") => {
                let id = created
                    .get(action["eval_key"].as_str().unwrap_or(""))
                    .cloned()
                    .unwrap_or_default();
                let body = json!({"name": action["name"], "metadata": action["metadata"], "data_source": action["data_source"]});
                client
                    .create_run(&id, &body)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            other => panic!("unexpected action {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_service_gets_all_creates_then_no_changes_after_they_are_made() {
    let server = start(keyed()).await;
    let base = server.base_url();
    let dir = project();
    let first = evalctl(
        dir.path(),
        &["plan", "--output", "json", "--detailed-exitcode"],
        &base,
        &[],
    )
    .await;
    assert_eq!(first.code, 2, "{}", first.transcript());
    let plan = json_plan(&first);
    assert_eq!(plan["format_version"], json!(1));
    assert_eq!(
        plan["summary"],
        json!({"create": 1, "update": 0, "replace": 0, "delete": 0, "runs": 1})
    );
    apply_by_hand(&plan, &base).await;
    let second = evalctl(dir.path(), &["plan", "--detailed-exitcode"], &base, &[]).await;
    assert_eq!(
        second.code,
        0,
        "the service's stored form must plan as no change\n{}",
        second.transcript()
    );
    assert!(second.stdout.contains("No changes."), "{}", second.stdout);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_examples_plan_as_creates_and_runs() {
    let server = start(keyed()).await;
    let outcome = evalctl(
        repo_root(),
        &["plan", "examples", "--output", "json"],
        &server.base_url(),
        &[],
    )
    .await;
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    let plan = json_plan(&outcome);
    assert_eq!(plan["summary"]["create"], json!(4));
    assert_eq!(plan["summary"]["runs"], json!(4));
    assert_eq!(plan["project"], json!("evalctl-examples"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_manifests_exit_1_before_any_request() {
    let dir = project();
    std::fs::write(dir.path().join("broken.yaml"), "evals: [").unwrap_or_else(|e| panic!("{e}"));
    let outcome = evalctl(
        dir.path(),
        &["plan", "--detailed-exitcode"],
        "http://127.0.0.1:9",
        &[],
    )
    .await;
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    assert!(
        outcome.stderr.contains("--> broken.yaml:2:1"),
        "{}",
        outcome.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn injected_faults_are_retried() {
    let mut faulty = keyed();
    faulty.fault_rate = 0.3;
    // Under this seed the first two requests fail (500, 500), so the plan's one listing of
    // an empty service succeeds only if retried twice.
    faulty.seed = 31;
    let server = start(faulty).await;
    let dir = project();
    // Every crate's trace (the HTTP stack's included): the key shows nowhere, retried
    // requests and the plan file included.
    let outcome = evalctl(
        dir.path(),
        &["plan", "--detailed-exitcode", "--out", "saved.plan"],
        &server.base_url(),
        &[("RUST_LOG", "trace")],
    )
    .await;
    assert_eq!(outcome.code, 2, "{}", outcome.transcript());
    // Said to the user, and logged.
    let said = outcome.stderr.matches("note: retrying in").count();
    assert_eq!(said, 2, "{}", outcome.stderr);
    let logged = outcome.stderr.matches("retrying: ").count();
    assert_eq!(logged, 2, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("hyper"),
        "the HTTP stack was not traced"
    );
    let saved = std::fs::read_to_string(dir.path().join("saved.plan")).unwrap_or_default();
    assert!(saved.contains("capitals"), "{saved}");
    for (what, text) in [
        ("stdout", &outcome.stdout),
        ("stderr", &outcome.stderr),
        ("plan file", &saved),
    ] {
        assert!(!text.contains("SECRET"), "the key is in the {what}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_error_is_surfaced_and_the_key_never_shown() {
    let server = start(keyed()).await;
    let dir = project();
    let outcome = evalctl(
        dir.path(),
        &["plan"],
        &server.base_url(),
        &[
            ("AZURE_OPENAI_API_KEY", "sk-wrong-SECRET-0000"),
            ("RUST_LOG", "trace"),
        ],
    )
    .await;
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    assert!(
        outcome
            .stderr
            .contains("GET /openai/v1/evals: 401 Unauthorized: "),
        "{}",
        outcome.stderr
    );
    assert!(
        !outcome.transcript().contains("SECRET"),
        "{}",
        outcome.transcript()
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_is_not_sent_over_plain_http_to_another_host() {
    let dir = project();
    // `.invalid` never resolves, so nothing could leave the machine even if the check failed.
    let outcome = evalctl(dir.path(), &["plan"], "http://evals.example.invalid", &[]).await;
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    insta::assert_snapshot!(outcome.stderr, @"error: refusing to send credentials over plain http:// to `evals.example.invalid`: use https:// (plain http is allowed only for loopback addresses)");
    assert!(!outcome.transcript().contains("SECRET"));
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_in_flight_never_exceed_the_parallelism() {
    let mut slow = keyed();
    // Long enough that requests sent together are answered together.
    slow.latency_ms = 100;
    let server = start(slow).await;
    let base = server.base_url();
    let mut connection = Connection::local(&base).unwrap_or_else(|e| panic!("{e}"));
    connection.auth = Auth::ApiKey(Secret::new(KEY));
    let setup = Client::new(&connection, 32).unwrap_or_else(|e| panic!("{e}"));
    // 24 evals of the project (only their runs' listings can go in parallel).
    let mut creates = tokio::task::JoinSet::new();
    for i in 0..24 {
        let setup = setup.clone();
        let body = json!({"name": format!("e{i}"),
            "metadata": {"evalctl_project": "plan-test", "evalctl_key": format!("old-{i}")},
            "data_source_config": {"type": "custom", "item_schema": {"type": "object", "properties": {}}},
            "testing_criteria": [{"type": "string_check", "name": "s", "input": "a", "reference": "a", "operation": "eq"}]});
        creates.spawn(async move { setup.create_eval(&body).await.map(|_| ()) });
    }
    while let Some(created) = creates.join_next().await {
        created
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let dir = project();
    // `--refresh`: the runs of evals kept out of the manifests are listed too.
    let refresh = "--refresh";
    for (args, limit) in [
        (&["plan", refresh][..], 8),
        (&["plan", refresh, "--parallelism", "3"][..], 3),
    ] {
        server.take_peak_concurrent_requests();
        let plan = evalctl(dir.path(), args, &base, &[]).await;
        assert_eq!(plan.code, 0, "{}", plan.transcript());
        assert_eq!(server.take_peak_concurrent_requests(), limit, "{args:?}");
    }
    server.shutdown().await;
}

/// `evalctl plan` at a terminal, with `NO_COLOR` set to `no_color` ("" counts as unset).
#[cfg(unix)]
async fn plan_at_terminal(dir: &Path, base: &str, no_color: &str) -> Outcome {
    let env = [("AZURE_OPENAI_API_KEY", KEY), ("NO_COLOR", no_color)];
    common::evalctl_in_terminal(dir, &["plan"], base, &env, None).await
}

/// The text without its SGR color sequences (`ESC [ ... m`).
fn without_colors(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("\x1b[") {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        rest = rest.find('m').map_or("", |end| &rest[end + 1..]);
    }
    out.push_str(rest);
    out
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn colors_only_at_a_terminal_and_never_with_no_color() {
    let server = start(keyed()).await;
    let base = server.base_url();
    let dir = project();
    let colored = plan_at_terminal(dir.path(), &base, "").await;
    assert_eq!(colored.code, 0, "{}", colored.transcript());
    assert!(colored.stdout.contains("\x1b["), "{:?}", colored.stdout);
    let plain = plan_at_terminal(dir.path(), &base, "1").await;
    assert_eq!(plain.code, 0, "{}", plain.transcript());
    assert!(!plain.stdout.contains('\x1b'), "{:?}", plain.stdout);
    // Color only marks what the words already say.
    assert_eq!(without_colors(&colored.stdout), plain.stdout);
    let piped = evalctl(dir.path(), &["plan"], &base, &[("NO_COLOR", "")]).await;
    assert_eq!(piped.code, 0, "{}", piped.transcript());
    assert!(!piped.stdout.contains('\x1b'), "{:?}", piped.stdout);
    server.shutdown().await;
}
