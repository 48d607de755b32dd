//! Aiming and guarding against the emulator: `--only`/`--exclude` on eval keys and on
//! `eval/run` keys, `--prune` confined to what is aimed at, a saved plan that keeps its aim,
//! and `--max-delete` refusing a careless prune. Objects are counted through the API.

mod common;
mod emulator_support;

use std::path::Path;

use common::{write, Outcome};
use emulator_support::{config, start};
use evalctl::api::wire::Eval;
use evalctl::api::{Client, Connection};

fn eval(key: &str, runs: &[&str]) -> String {
    let mut text = format!(
        "  {key}:\n    data_source_config:\n      type: custom\n      item_schema: {{ type: object, properties: {{ a: {{ type: string }} }}, required: [a] }}\n    testing_criteria:\n      - {{ type: string_check, name: same, input: \"{{{{item.a}}}}\", reference: x, operation: eq }}\n"
    );
    if !runs.is_empty() {
        text.push_str("    runs:\n");
        for run in runs {
            text.push_str(&format!("      {run}:\n        data_source: {{ type: jsonl, source: {{ type: file_content, content: [ {{ item: {{ a: x }} }} ] }} }}\n"));
        }
    }
    text
}

fn manifests(dir: &Path, evals: &[(&str, &[&str])]) {
    let mut text = String::from("evals:\n");
    for (key, runs) in evals {
        text.push_str(&eval(key, runs));
    }
    write(dir, "evals.yaml", &text);
}

fn project(evals: &[(&str, &[&str])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: aim-test\n");
    manifests(dir.path(), evals);
    dir
}

async fn evalctl(dir: &Path, args: &[&str], base: &str) -> Outcome {
    common::evalctl_on(dir, args, base, &[]).await
}

async fn live_keys(base: &str) -> Vec<String> {
    let client = Client::new(
        &Connection::local(base).unwrap_or_else(|e| panic!("{e}")),
        4,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let evals: Vec<Eval> = client.list_evals().await.unwrap_or_else(|e| panic!("{e}"));
    let mut keys: Vec<String> = evals
        .iter()
        .filter(|e| !e.metadata.contains_key("evalctl_state"))
        .filter_map(|e| e.metadata.get("evalctl_key").cloned())
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread")]
async fn only_and_exclude_aim_plan_and_apply_and_confine_prune() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project(&[
        ("team-a", &["nightly", "weekly"]),
        ("team-b", &["nightly"]),
        ("other", &[]),
    ]);
    // Only team-a's nightly run: its eval is created for it, the weekly run is not started.
    let first = evalctl(
        dir.path(),
        &["apply", "--auto-approve", "--only", "team-a/nightly"],
        &base,
    )
    .await;
    assert_eq!(first.code, 0, "{}", first.transcript());
    assert!(
        first
            .stdout
            .contains("Aimed at part of the project: only `team-a/nightly`\n"),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains("Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 1 run to start."),
        "{}",
        first.stdout
    );
    assert_eq!(live_keys(&base).await, ["team-a"]);

    let rest = evalctl(
        dir.path(),
        &["apply", "--auto-approve", "--exclude", "other"],
        &base,
    )
    .await;
    assert_eq!(rest.code, 0, "{}", rest.transcript());
    assert!(
        rest.stdout.contains(
            "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 2 runs to start."
        ),
        "{}",
        rest.stdout
    );
    let all = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(all.code, 0, "{}", all.transcript());
    assert_eq!(live_keys(&base).await, ["other", "team-a", "team-b"]);

    // Every eval leaves the manifests but one; a prune aimed at team-* deletes only those.
    manifests(dir.path(), &[("other", &[])]);
    let plan = evalctl(dir.path(), &["plan", "--prune", "--only", "team-*"], &base).await;
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(
        plan.stdout.contains(
            "Plan: 0 to create, 0 to update, 0 to replace, 2 to delete, 0 runs to start."
        ),
        "{}",
        plan.stdout
    );
    // A run pattern never deletes an eval.
    let runs_only = evalctl(
        dir.path(),
        &["plan", "--prune", "--only", "*/nightly"],
        &base,
    )
    .await;
    assert!(
        runs_only.stdout.contains("\nNo changes.\n"),
        "{}",
        runs_only.transcript()
    );

    // A saved plan keeps its aim, and applies exactly it.
    let saved = dir.path().join("plan.json");
    let saved_arg = saved.to_string_lossy().into_owned();
    let planned = evalctl(
        dir.path(),
        &[
            "plan",
            "--prune",
            "--exclude",
            "team-a",
            "--out",
            &saved_arg,
        ],
        &base,
    )
    .await;
    assert_eq!(planned.code, 0, "{}", planned.transcript());
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(file["aim"], serde_json::json!({"exclude": ["team-a"]}));
    let mixed = evalctl(dir.path(), &["apply", &saved_arg, "--only", "x"], &base).await;
    assert_eq!(mixed.code, 1, "{}", mixed.transcript());
    let applied = evalctl(dir.path(), &["apply", &saved_arg, "--auto-approve"], &base).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    assert!(
        applied
            .stdout
            .contains("Aimed at part of the project: excluding `team-a`\n"),
        "{}",
        applied.stdout
    );
    assert_eq!(live_keys(&base).await, ["other", "team-a"]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_refuses_more_deletions_than_max_delete() {
    let server = start(config()).await;
    let base = server.base_url();
    let keys: Vec<String> = (0..8).map(|i| format!("e{i}")).collect();
    let evals: Vec<(&str, &[&str])> = keys.iter().map(|k| (k.as_str(), &[][..])).collect();
    let dir = project(&evals);
    let applied = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    // A careless edit leaves one eval: 7 deletions, over the default of 5 (20% of 8 is less).
    manifests(dir.path(), &[("e0", &[])]);
    let refused = evalctl(dir.path(), &["apply", "--auto-approve", "--prune"], &base).await;
    assert_eq!(refused.code, 1, "{}", refused.transcript());
    assert!(
        refused.stderr.contains("error: refused: the plan deletes 7 evals, more than the default limit of 5 or 20% of the project, whichever is larger (5); nothing is applied\nhint: if every deletion is intended, pass `--max-delete 7`"),
        "{}",
        refused.transcript()
    );
    assert_eq!(live_keys(&base).await.len(), 8, "nothing deleted");
    let plan = evalctl(
        dir.path(),
        &["plan", "--prune", "--max-delete", "3", "--out", "p.json"],
        &base,
    )
    .await;
    assert_eq!(plan.code, 1, "{}", plan.transcript());
    assert!(
        plan.stdout.contains("7 to delete"),
        "the plan is shown: {}",
        plan.stdout
    );
    assert!(
        plan.stderr.contains("more than --max-delete (3)"),
        "{}",
        plan.stderr
    );
    assert!(
        !dir.path().join("p.json").exists(),
        "a refused plan is not saved"
    );
    let raised = evalctl(
        dir.path(),
        &["apply", "--auto-approve", "--prune", "--max-delete", "7"],
        &base,
    )
    .await;
    assert_eq!(raised.code, 0, "{}", raised.transcript());
    assert_eq!(live_keys(&base).await, ["e0"]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_protected_eval_is_never_replaced_or_deleted_without_allow_replace() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project(&[("golden", &["nightly"]), ("scratch", &[])]);
    let protect = |dir: &Path| {
        common::edit(dir, "  golden:\n", "  golden:\n    protect: true\n");
    };
    protect(dir.path());
    let applied = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());

    // A grader change would replace it: refused, with the plan shown and nothing written.
    common::edit(dir.path(), "reference: x", "reference: y");
    let refused = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(refused.code, 1, "{}", refused.transcript());
    assert!(
        refused.stdout.contains("-/+ replace eval `golden`"),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stderr.contains("error: refused: eval `golden` is protected, and the plan would replace it; nothing is applied\nhint: if `golden` may go, pass `--allow-replace golden`"),
        "{}",
        refused.transcript()
    );
    let allowed = evalctl(
        dir.path(),
        &[
            "apply",
            "--auto-approve",
            "--allow-replace",
            "golden",
            "--allow-replace",
            "scratch",
        ],
        &base,
    )
    .await;
    assert_eq!(allowed.code, 0, "{}", allowed.transcript());

    // One edit that drops `protect:` and changes a grader: the service's tag still refuses.
    common::edit(dir.path(), "    protect: true\n", "");
    common::edit(dir.path(), "reference: y", "reference: z");
    let unprotected = evalctl(dir.path(), &["plan"], &base).await;
    assert_eq!(unprotected.code, 1, "{}", unprotected.transcript());
    assert!(
        unprotected
            .stderr
            .contains("eval `golden` is protected, and the plan would replace it"),
        "{}",
        unprotected.stderr
    );
    common::edit(dir.path(), "  golden:\n", "  golden:\n    protect: true\n");
    common::edit(dir.path(), "reference: z", "reference: y");

    // Out of the manifests, its tag on the service still protects it from --prune.
    manifests(dir.path(), &[("scratch", &[])]);
    let pruned = evalctl(dir.path(), &["plan", "--prune"], &base).await;
    assert_eq!(pruned.code, 1, "{}", pruned.transcript());
    assert!(
        pruned
            .stderr
            .contains("eval `golden` is protected, and the plan would delete it"),
        "{}",
        pruned.transcript()
    );
    let deleted = evalctl(
        dir.path(),
        &[
            "apply",
            "--auto-approve",
            "--prune",
            "--allow-replace",
            "golden",
        ],
        &base,
    )
    .await;
    assert_eq!(deleted.code, 0, "{}", deleted.transcript());
    assert_eq!(live_keys(&base).await, ["scratch"]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn protect_set_or_removed_is_an_update_in_place() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project(&[("golden", &[])]);
    let applied = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    common::edit(dir.path(), "  golden:\n", "  golden:\n    protect: true\n");
    let plan = evalctl(dir.path(), &["plan"], &base).await;
    assert!(
        plan.stdout.contains("because: protect changed")
            && plan
                .stdout
                .contains("metadata.evalctl_protect: (absent) -> \"true\""),
        "{}",
        plan.stdout
    );
    let applied = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let again = evalctl(dir.path(), &["plan", "--detailed-exitcode"], &base).await;
    assert_eq!(again.code, 0, "{}", again.transcript());
    server.shutdown().await;
}

async fn superseded_count(base: &str) -> usize {
    let client = Client::new(
        &Connection::local(base).unwrap_or_else(|e| panic!("{e}")),
        4,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let evals: Vec<Eval> = client.list_evals().await.unwrap_or_else(|e| panic!("{e}"));
    evals
        .iter()
        .filter(|e| e.metadata.contains_key("evalctl_state"))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_shows_then_deletes_superseded_evals_older_than_the_age_given() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project(&[("golden", &["nightly"])]);
    let applied = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    common::edit(dir.path(), "reference: x", "reference: y");
    let replaced = evalctl(dir.path(), &["apply", "--auto-approve"], &base).await;
    assert_eq!(replaced.code, 0, "{}", replaced.transcript());
    assert_eq!(superseded_count(&base).await, 1);

    let young = evalctl(dir.path(), &["gc", "--superseded-older-than", "90d"], &base).await;
    assert_eq!(young.code, 0, "{}", young.transcript());
    assert!(
        young.stdout.ends_with("\nNo changes.\n"),
        "{}",
        young.stdout
    );

    // Superseded a second ago at most: polled until it is older than 1 s.
    let started = std::time::Instant::now();
    let shown = loop {
        let asked = evalctl(dir.path(), &["gc", "--superseded-older-than", "1s"], &base).await;
        if !asked.stdout.contains("No changes.") {
            break asked;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{}",
            asked.transcript()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(
        shown.code,
        1,
        "without a terminal gc needs --auto-approve: {}",
        shown.transcript()
    );
    assert!(
        shown.stdout.contains("  - delete eval `golden` (eval_")
            && shown
                .stdout
                .contains(") and its 1 run\n      because: superseded since "),
        "{}",
        shown.stdout
    );
    assert_eq!(
        superseded_count(&base).await,
        1,
        "nothing deleted without approval"
    );
    let collected = evalctl(
        dir.path(),
        &["gc", "--superseded-older-than", "1s", "--auto-approve"],
        &base,
    )
    .await;
    assert_eq!(collected.code, 0, "{}", collected.transcript());
    assert!(
        collected
            .stderr
            .contains("Summary: 1 action done, 0 failed, 0 skipped."),
        "{}",
        collected.transcript()
    );
    assert_eq!(superseded_count(&base).await, 0);
    assert_eq!(live_keys(&base).await, ["golden"], "the live eval stays");
    server.shutdown().await;
}
