//! Foundry projects: the project surface's own types (`azure_ai_evaluator` graders,
//! `azure_ai_source` configs, Foundry run data sources) are modelled and checked like the
//! others, and are refused, at their place in the manifests, for any target but `foundry`.

mod common;
mod emulator_support;

use std::path::Path;

use common::{evalctl, evalctl_with, write, Outcome};
use emulator_support::{config, start};
use evalctl::api::wire::Eval;
use evalctl::api::{Auth, Client, Connection, Flavor, Secret};
use evalctl::manifest::model::Target;

const FOUNDRY: &str = r#"evals:
  qa:
    data_source_config:
      type: custom
      item_schema:
        type: object
        properties: { question: { type: string }, answer: { type: string }, response: { type: string } }
        required: [question, answer, response]
    testing_criteria:
      - type: azure_ai_evaluator
        name: f1
        evaluator_name: builtin.f1_score
        data_mapping: { response: "{{item.response}}", ground_truth: "{{item.answer}}" }
      - { type: string_check, name: exact, input: "{{item.response}}", reference: "{{item.answer}}", operation: eq }
    runs:
      rows:
        data_source:
          type: jsonl
          source: { type: file_content, content: [ { item: { question: Capital of France?, answer: Paris, response: Paris } } ] }
  stored:
    data_source_config: { type: azure_ai_source, scenario: responses }
    testing_criteria:
      - { type: azure_ai_evaluator, name: coherence, evaluator_name: builtin.coherence, initialization_parameters: { deployment_name: gpt-4.1-mini } }
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: foundry-test\n");
    write(dir.path(), "evals.yaml", FOUNDRY);
    dir
}

#[test]
fn foundry_types_are_valid_manifests() {
    let dir = project();
    let validated = evalctl(dir.path(), &["validate", "--strict"]);
    assert_eq!(validated.code, 0, "{}", validated.transcript());
}

#[test]
fn foundry_types_are_refused_at_their_place_for_other_targets() {
    let dir = project();
    let planned = evalctl(
        dir.path(),
        &[
            "plan",
            "--target",
            "azure",
            "--endpoint",
            "http://127.0.0.1:9",
        ],
    );
    assert_eq!(planned.code, 1, "{}", planned.transcript());
    insta::assert_snapshot!(planned.transcript());
    let local = evalctl(
        dir.path(),
        &["apply", "--target", "local", "--auto-approve"],
    );
    assert_eq!(local.code, 1, "{}", local.transcript());
    assert!(local.stderr.contains("evalctl serve"), "{}", local.stderr);
    assert!(!dir.path().join(".evalctl").exists(), "nothing was started");
}

/// The project `support` of an emulator whose bearer token is [`TOKEN`], through the client.
const TOKEN: &str = "foundry-test-token";

fn project_client(base: &str, project: &str) -> Client {
    let url = format!("{base}/api/projects/{project}/openai/v1");
    client(&url, Target::Foundry, Auth::Bearer(Secret::new(TOKEN)))
}

fn client(url: &str, target: Target, auth: Auth) -> Client {
    let flavor = match target {
        Target::Foundry => Flavor::Foundry,
        _ => Flavor::Azure,
    };
    let connection = Connection {
        target,
        base_url: url.parse().unwrap_or_else(|e| panic!("{e}")),
        flavor,
        auth,
    };
    Client::new(&connection, 4).unwrap_or_else(|e| panic!("{e}"))
}

/// `evalctl ARGS --target foundry --endpoint BASE/api/projects/PROJECT`, the token in
/// AZURE_OPENAI_AD_TOKEN as a pipeline's `az account get-access-token` step would leave it.
async fn on_project(dir: &Path, args: &[&str], base: &str, project: &str) -> Outcome {
    let endpoint = format!("{base}/api/projects/{project}");
    let mut all = args.to_vec();
    all.extend(["--target", "foundry", "--endpoint", &endpoint]);
    evalctl_with(dir, &all, &[("AZURE_OPENAI_AD_TOKEN", TOKEN)]).await
}

fn snapshot(name: &str, transcripts: &[&Outcome], base: &str) {
    let shown = common::shown(transcripts, base);
    common::filters().bind(|| insta::assert_snapshot!(name, shown));
}

async fn no_changes(dir: &Path, base: &str) {
    let plan = on_project(dir, &["plan", "--detailed-exitcode"], base, "support").await;
    assert_eq!(plan.code, 0, "expected no changes\n{}", plan.transcript());
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

/// The live eval of a key in a project, and every eval's runs.
async fn live(client: &Client, key: &str) -> Vec<Eval> {
    let evals = client.list_evals().await.unwrap_or_else(|e| panic!("{e}"));
    evals
        .into_iter()
        .filter(|e| e.metadata.get("evalctl_key").map(String::as_str) == Some(key))
        .filter(|e| !e.metadata.contains_key("evalctl_state"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foundry_project_converges_renames_in_place_and_keeps_history_on_replace() {
    let mut config = config();
    config.api_key = Some(TOKEN.into());
    let server = start(config).await;
    let base = server.base_url();
    let dir = project();

    let applied = on_project(
        dir.path(),
        &["apply", "--auto-approve", "--wait"],
        &base,
        "support",
    )
    .await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    snapshot("foundry_apply", &[&applied], &base);
    no_changes(dir.path(), &base).await;
    let support = project_client(&base, "support");
    let qa = live(&support, "qa").await;
    assert_eq!(qa.len(), 1);
    let first = qa[0].id.clone();

    // Rename: in place, same id.
    common::edit(
        dir.path(),
        "  qa:\n",
        "  qa:\n    name: Question answering\n",
    );
    let renamed = on_project(dir.path(), &["apply", "--auto-approve"], &base, "support").await;
    assert_eq!(renamed.code, 0, "{}", renamed.transcript());
    let qa = live(&support, "qa").await;
    assert_eq!(
        (qa[0].id.as_str(), qa[0].name.as_str()),
        (first.as_str(), "Question answering")
    );
    no_changes(dir.path(), &base).await;

    // An evaluator changed: a new eval; the old one superseded with its run.
    common::edit(dir.path(), "builtin.f1_score", "builtin.bleu_score");
    let planned = on_project(dir.path(), &["plan"], &base, "support").await;
    let replaced = on_project(dir.path(), &["apply", "--auto-approve"], &base, "support").await;
    assert_eq!(replaced.code, 0, "{}", replaced.transcript());
    snapshot("foundry_replace", &[&planned, &replaced], &base);
    let qa = live(&support, "qa").await;
    assert_eq!(qa.len(), 1);
    assert_ne!(qa[0].id, first);
    let old_runs = support
        .list_runs(&first)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(old_runs.len(), 1, "history kept");
    no_changes(dir.path(), &base).await;

    // Another project, and the resource, have none of it.
    let other = on_project(dir.path(), &["plan", "--detailed-exitcode"], &base, "other").await;
    assert_eq!(other.code, 2, "{}", other.transcript());
    assert!(project_client(&base, "other")
        .list_evals()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .is_empty());
    let resource_url = format!("{base}/openai/v1");
    let resource = client(
        &resource_url,
        Target::Azure,
        Auth::ApiKey(Secret::new(TOKEN)),
    );
    assert!(resource
        .list_evals()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .is_empty());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_foundry_example_applies_on_a_project_and_converges() {
    let mut config = config();
    config.api_key = Some(TOKEN.into());
    let server = start(config).await;
    let base = server.base_url();
    let root = common::repo_root();
    let applied = on_project(
        root,
        &["apply", "examples/foundry", "--auto-approve", "--wait"],
        &base,
        "example",
    )
    .await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    assert!(
        applied.stdout.contains("gate f1: pass rate 80.0%"),
        "{}",
        applied.stdout
    );
    let again = on_project(
        root,
        &["plan", "examples/foundry", "--detailed-exitcode"],
        &base,
        "example",
    )
    .await;
    assert_eq!(again.code, 0, "{}", again.transcript());
    server.shutdown().await;
}
