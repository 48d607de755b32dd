//! Adopting evals made outside evalctl, end to end against the emulator: `import` writes
//! manifests in the request form with `adopt:`, the plan shows `<= adopt` (identical) or a
//! replacement that keeps the old eval as history (different), apply keeps ids and runs, and
//! the next plan says `No changes.`

mod common;
mod emulator_support;

use std::path::Path;

use common::{write, Outcome};
use emulator_support::{config, start};
use evalctl::api::wire::Eval;
use evalctl::api::{Client, Connection};
use serde_json::{json, Value};

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

/// An eval as a person makes it in the portal or with the SDK: no evalctl tags.
async fn by_hand(client: &Client, name: &str, metadata: Value) -> Eval {
    client
        .create_eval(&json!({
            "name": name,
            "metadata": metadata,
            "data_source_config": {"type": "custom", "item_schema": {"type": "object",
                "properties": {"q": {"type": "string"}, "a": {"type": "string"}}, "required": ["q", "a"]}},
            "testing_criteria": [
                {"type": "string_check", "name": "exact", "input": "{{item.a}}", "reference": "yes", "operation": "eq"},
                {"type": "label_model", "name": "judge", "model": "gpt-4o-mini", "labels": ["good", "bad"],
                 "passing_labels": ["good"], "input": [
                     {"role": "system", "content": "Grade the answer.\nReply with one word."},
                     {"role": "user", "content": "{{item.q}} -> {{item.a}}"}]}
            ],
        }))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

const ROWS: &str =
    "[{\"item\": {\"q\": \"1\", \"a\": \"yes\"}}, {\"item\": {\"q\": \"2\", \"a\": \"no\"}}]";

async fn evals(base: &str) -> Vec<Eval> {
    client(base)
        .list_evals()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn hand_made_evals_are_imported_then_adopted_in_place_with_their_runs() {
    let server = start(config()).await;
    let base = server.base_url();
    let client = client(&base);
    let support = by_hand(
        &client,
        "Support QA: tone & facts",
        json!({"team": "support"}),
    )
    .await;
    let content: Value = serde_json::from_str(ROWS).unwrap_or_default();
    let smoke = client
        .create_run(
            &support.id,
            &json!({"name": "smoke", "data_source": {"type": "jsonl", "source": {"type": "file_content", "content": content}}}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let other = by_hand(&client, "Support QA: tone & facts", json!({})).await;
    let foreign = by_hand(
        &client,
        "Theirs",
        json!({"evalctl_project": "someone-else", "evalctl_key": "x"}),
    )
    .await;

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: adopt-test\n");
    let imported = evalctl(
        dir.path(),
        &["import", "--all-unmanaged", "--out", "evals/imported.yaml"],
        &base,
    )
    .await;
    assert_eq!(imported.code, 0, "{}", imported.transcript());
    assert!(
        imported.stderr.contains(&format!(
            "imported {} \"Support QA: tone & facts\" as `support-qa-tone-facts`\n",
            support.id
        )) && imported.stderr.contains(&format!(
            "imported {} \"Support QA: tone & facts\" as `support-qa-tone-facts-2`\n",
            other.id
        )),
        "{}",
        imported.stderr
    );
    let file = std::fs::read_to_string(dir.path().join("evals/imported.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !file.contains(&foreign.id),
        "another project's eval is not imported"
    );
    // The request form a person writes: item_schema unwrapped, no grader ids, plain prompts.
    assert!(
        file.contains("    item_schema:\n") && !file.contains("schema:\n      type"),
        "{file}"
    );
    assert!(!file.contains("exact-") && file.contains("          - role: \"system\"\n            content: |-\n              Grade the answer.\n              Reply with one word.\n"), "{file}");
    assert!(
        file.contains(&format!("    adopt: \"{}\"\n", support.id)),
        "{file}"
    );

    // The team adds the run it already has, under its name and data: it is not started again.
    let with_run = file.replacen(
        &format!("    adopt: \"{}\"\n", support.id),
        &format!("    adopt: \"{}\"\n    runs:\n      smoke:\n        data_source: {{ type: jsonl, source: {{ type: file_content, content: {ROWS} }} }}\n", support.id),
        1,
    );
    write(dir.path(), "evals/imported.yaml", &with_run);

    let plan = evalctl(dir.path(), &["plan"], &base).await;
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(
        plan.stdout.contains(&format!("\n <= adopt eval `support-qa-tone-facts` ({}): tagged in place, its id and runs kept\n", support.id)),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("Plan: 2 to adopt, 0 to create, 0 to update, 0 to replace, 0 to delete, 0 runs to start."),
        "{}",
        plan.stdout
    );
    let applied = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let again = evalctl(dir.path(), &["plan", "--detailed-exitcode"], &base).await;
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(
        again.stdout.ends_with("\nNo changes.\n"),
        "{}",
        again.stdout
    );

    // Ids kept, tagged for the project; the run made by hand is still the only one.
    let after = evals(&base).await;
    let adopted = after
        .iter()
        .find(|e| e.id == support.id)
        .unwrap_or_else(|| panic!("{after:#?}"));
    assert_eq!(
        adopted.metadata.get("evalctl_project").map(String::as_str),
        Some("adopt-test")
    );
    assert_eq!(
        adopted.metadata.get("evalctl_key").map(String::as_str),
        Some("support-qa-tone-facts")
    );
    assert_eq!(
        adopted.metadata.get("team").map(String::as_str),
        Some("support")
    );
    let runs = client
        .list_runs(&support.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [smoke.id.as_str()]
    );
    assert_eq!(after.len(), 3, "no eval created");

    // Importing an eval already managed is refused, naming its key.
    let twice = evalctl(dir.path(), &["import", &support.id], &base).await;
    assert_eq!(twice.code, 1, "{}", twice.transcript());
    assert!(
        twice
            .stderr
            .contains("is managed by this project already (key `support-qa-tone-facts`)"),
        "{}",
        twice.stderr
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_adopted_eval_that_differs_is_replaced_and_kept_as_history() {
    let server = start(config()).await;
    let base = server.base_url();
    let client = client(&base);
    let legacy = by_hand(&client, "legacy", json!({})).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: adopt-test\n");
    let imported = evalctl(dir.path(), &["import", &legacy.id], &base).await;
    assert_eq!(imported.code, 0, "{}", imported.transcript());
    // The team tightens a grader while adopting.
    let edited = imported
        .stdout
        .replace("reference: \"yes\"", "reference: \"YES\"");
    write(dir.path(), "evals.yaml", &edited);
    let plan = evalctl(dir.path(), &["plan"], &base).await;
    assert!(
        plan.stdout
            .contains(&format!("-/+ replace eval `legacy` ({})", legacy.id))
            && plan
                .stdout
                .contains("testing_criteria changed; `adopt:` names it, and no project manages it")
            && plan.stdout.contains("reference: \"yes\" -> \"YES\""),
        "{}",
        plan.transcript()
    );
    let applied = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let again = evalctl(dir.path(), &["plan", "--detailed-exitcode"], &base).await;
    assert_eq!(again.code, 0, "{}", again.transcript());
    // The old eval is the key's history now: superseded, tagged for the project, listed by runs.
    let old = evals(&base)
        .await
        .into_iter()
        .find(|e| e.id == legacy.id)
        .unwrap_or_else(|| panic!("the adopted eval is kept"));
    assert_eq!(
        old.metadata.get("evalctl_state").map(String::as_str),
        Some("superseded")
    );
    assert_eq!(
        old.metadata.get("evalctl_key").map(String::as_str),
        Some("legacy")
    );

    // An id the service does not hold is refused, not created.
    write(
        dir.path(),
        "evals.yaml",
        &edited
            .replace(&legacy.id, "eval_nothere")
            .replace("  legacy:", "  other:"),
    );
    let missing = evalctl(dir.path(), &["plan"], &base).await;
    assert_eq!(missing.code, 1, "{}", missing.transcript());
    assert!(
        missing
            .stderr
            .contains("eval `other` adopts eval_nothere, which the service does not hold"),
        "{}",
        missing.stderr
    );
    server.shutdown().await;
}

/// A hand-made eval with a string_check only, and a run of it named `smoke` (one row of two
/// passes).
async fn hand_made_with_run(client: &Client) -> (Eval, String) {
    let eval = client
        .create_eval(&json!({
            "name": "hand",
            "data_source_config": {"type": "custom", "item_schema": {"type": "object",
                "properties": {"q": {"type": "string"}, "a": {"type": "string"}}, "required": ["q", "a"]}},
            "testing_criteria": [{"type": "string_check", "name": "exact", "input": "{{item.a}}", "reference": "yes", "operation": "eq"}],
        }))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let content: Value = serde_json::from_str(ROWS).unwrap_or_default();
    let run = client
        .create_run(
            &eval.id,
            &json!({"name": "smoke", "data_source": {"type": "jsonl", "source": {"type": "file_content", "content": content}}}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (eval, run.id)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_adopted_run_is_gated_by_apply_wait_and_shown_by_results() {
    let server = start(config()).await;
    let base = server.base_url();
    let client = client(&base);
    let (hand, smoke) = hand_made_with_run(&client).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: adopt-test\n");
    let imported = evalctl(dir.path(), &["import", &hand.id], &base).await;
    assert_eq!(imported.code, 0, "{}", imported.transcript());
    let manifest = format!(
        "{}    runs:\n      smoke:\n        data_source: {{ type: jsonl, source: {{ type: file_content, content: {ROWS} }} }}\n        gate: {{ min_pass_rate: 0.9 }}\n",
        imported.stdout
    );
    write(dir.path(), "evals.yaml", &manifest);
    let applied = evalctl(dir.path(), &["apply", "--auto-approve", "--wait"], &base).await;
    assert_eq!(
        applied.code,
        3,
        "the adopted run's gate fails: {}",
        applied.transcript()
    );
    assert!(
        applied.stdout.contains(&format!("hand/smoke ({smoke})")),
        "{}",
        applied.stdout
    );
    let results = evalctl(dir.path(), &["results", "hand", "smoke"], &base).await;
    assert_eq!(results.code, 0, "{}", results.transcript());
    assert!(
        results.stderr.contains(&format!("run {smoke}")),
        "{}",
        results.stderr
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_eval_is_adopted_once() {
    let server = start(config()).await;
    let base = server.base_url();
    let client = client(&base);
    let (hand, _) = hand_made_with_run(&client).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: adopt-test\n");
    let first = evalctl(
        dir.path(),
        &["import", "--all-unmanaged", "--out", "a.yaml"],
        &base,
    )
    .await;
    assert_eq!(first.code, 0, "{}", first.transcript());
    // Imported already: skipped by --all-unmanaged, refused by id.
    let again = evalctl(dir.path(), &["import", "--all-unmanaged"], &base).await;
    assert!(
        again.stderr.contains("nothing to import"),
        "{}",
        again.transcript()
    );
    let by_id = evalctl(dir.path(), &["import", &hand.id], &base).await;
    assert!(
        by_id
            .stderr
            .contains("is adopted by eval `hand` in the manifests already"),
        "{}",
        by_id.transcript()
    );
    // Two keys adopting one eval (a copy-paste) are refused.
    let text = std::fs::read_to_string(dir.path().join("a.yaml")).unwrap_or_default();
    write(
        dir.path(),
        "b.yaml",
        &text.replace("  hand:", "  hand-copy:"),
    );
    let plan = evalctl(dir.path(), &["plan"], &base).await;
    assert_eq!(plan.code, 1, "{}", plan.transcript());
    assert!(
        plan.stderr.contains(&format!(
            "eval `hand` adopts {}, which eval `hand-copy` adopts too",
            hand.id
        )),
        "{}",
        plan.stderr
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_adopt_plan_is_stale_once_another_project_takes_the_eval() {
    let server = start(config()).await;
    let base = server.base_url();
    let client = client(&base);
    let (hand, _) = hand_made_with_run(&client).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: adopt-test\n");
    let imported = evalctl(
        dir.path(),
        &["import", &hand.id, "--out", "evals.yaml"],
        &base,
    )
    .await;
    assert_eq!(imported.code, 0, "{}", imported.transcript());
    let saved = evalctl(dir.path(), &["plan", "--out", "plan.json"], &base).await;
    assert_eq!(saved.code, 0, "{}", saved.transcript());
    client
        .update_eval(
            &hand.id,
            &json!({"metadata": {"evalctl_project": "someone-else", "evalctl_key": "x"}}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stale = evalctl(dir.path(), &["apply", "plan.json", "--auto-approve"], &base).await;
    assert_eq!(stale.code, 1, "{}", stale.transcript());
    assert!(
        stale.stderr.contains("the saved plan is stale"),
        "{}",
        stale.stderr
    );
    server.shutdown().await;
}
