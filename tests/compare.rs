//! `evalctl compare` against the emulator with real graded runs: two versions of a data file
//! under one run key, rows paired by `pair_by`, the counts and the exact McNemar p-value
//! checked by hand, and the verdict.

mod common;
mod emulator_support;

use common::write;
use emulator_support::{config, start};
use serde_json::Value;

const EVALS: &str = r#"evals:
  qa:
    pair_by: item.id
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { id: { type: integer }, answer: { type: string } }, required: [id, answer] }
    testing_criteria:
      - { type: string_check, name: right, input: "{{item.answer}}", reference: "yes", operation: eq }
    runs:
      nightly:
        data_source: { type: jsonl, source: { type: file, path: data/qa.jsonl } }
"#;

/// Rows 0..30; `wrong` of them answer "no"; `extra` adds a row the other version lacks.
fn rows(wrong: &[u64], extra: bool) -> String {
    let mut text: String = (0..30)
        .map(|id| {
            let answer = if wrong.contains(&id) { "no" } else { "yes" };
            format!("{{\"item\": {{\"id\": {id}, \"answer\": \"{answer}\"}}}}\n")
        })
        .collect();
    if extra {
        text.push_str("{\"item\": {\"id\": 99, \"answer\": \"yes\"}}\n");
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn the_newest_run_is_compared_with_the_previous_one_row_by_row() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: compare-test\n");
    write(dir.path(), "evals.yaml", EVALS);
    write(dir.path(), "data/qa.jsonl", &rows(&[0], false));
    let first = common::evalctl_on(
        dir.path(),
        &["apply", "--auto-approve", "--wait"],
        &base,
        &[],
    )
    .await;
    assert_eq!(first.code, 0, "{}", first.transcript());
    let none = common::evalctl_on(dir.path(), &["compare", "qa", "nightly"], &base, &[]).await;
    assert_eq!(none.code, 1, "{}", none.transcript());
    assert!(
        none.stderr
            .contains("has no completed run of run key `nightly` before evalrun_"),
        "{}",
        none.stderr
    );

    // The new data breaks 12 rows that passed (and keeps row 0 failing), and adds one.
    let broken: Vec<u64> = std::iter::once(0).chain(10..22).collect();
    write(dir.path(), "data/qa.jsonl", &rows(&broken, true));
    let second = common::evalctl_on(
        dir.path(),
        &["apply", "--auto-approve", "--wait"],
        &base,
        &[],
    )
    .await;
    assert_eq!(second.code, 0, "{}", second.transcript());

    let json = common::evalctl_on(
        dir.path(),
        &["compare", "qa", "nightly", "-o", "json"],
        &base,
        &[],
    )
    .await;
    assert_eq!(json.code, 0, "{}", json.transcript());
    let compared: Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(compared["pair_by"], "item.id");
    assert_eq!(
        (
            compared["paired_rows"].as_u64(),
            compared["unpaired_new"].as_u64()
        ),
        (Some(30), Some(1))
    );
    let right = &compared["graders"][0];
    assert_eq!(right["name"], "right");
    assert_eq!(
        (
            right["pass_to_fail"].as_u64(),
            right["fail_to_pass"].as_u64()
        ),
        (Some(12), Some(0))
    );
    // Exact McNemar for (12, 0): 2 / 2^12.
    assert_eq!(right["p_value"].as_f64(), Some(2.0 / 4096.0));
    assert_eq!(right["base_pass_rate"].as_f64(), Some(29.0 / 30.0));
    assert_eq!(right["new_pass_rate"].as_f64(), Some(17.0 / 30.0));
    assert_eq!(right["verdict"], "regressed");
    assert_eq!(compared["overall"]["verdict"], "regressed");
    assert_eq!(compared["regressed_total"], 12);
    assert_eq!(compared["regressed_items"][0]["pair_key"], "10");

    let human = common::evalctl_on(dir.path(), &["compare", "qa", "nightly"], &base, &[]).await;
    assert_eq!(human.code, 0, "{}", human.transcript());
    assert!(human.stdout.contains("paired 30 rows by item.id; 1 of the new run's and 0 of the base run's could not be paired"), "{}", human.stdout);
    assert!(human.stdout.contains("regressed"), "{}", human.stdout);
    assert!(human.stdout.contains(" (completed, "), "{}", human.stdout);
    let markdown = common::evalctl_on(
        dir.path(),
        &["compare", "qa", "nightly", "-o", "markdown"],
        &base,
        &[],
    )
    .await;
    assert!(
        markdown
            .stdout
            .contains("Regressed rows (12 passed every grader before and fail now):"),
        "{}",
        markdown.stdout
    );
    // Named runs: an id, and the same run twice refused.
    let new_id = compared["new"]["run_id"].as_str().unwrap_or_default();
    let base_id = compared["base"]["run_id"].as_str().unwrap_or_default();
    let named = common::evalctl_on(
        dir.path(),
        &[
            "compare", "qa", "nightly", "--base", base_id, "--new", new_id, "-o", "json",
        ],
        &base,
        &[],
    )
    .await;
    assert_eq!(named.stdout, json.stdout, "{}", named.transcript());
    let same = common::evalctl_on(
        dir.path(),
        &["compare", "qa", "nightly", "--base", new_id],
        &base,
        &[],
    )
    .await;
    assert_eq!(same.code, 1, "{}", same.transcript());
    assert!(
        same.stderr.contains("name two different runs"),
        "{}",
        same.stderr
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_regression_gate_fails_on_a_significant_drop_and_not_on_noise() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: compare-test\n");
    let gated = format!(
        "{EVALS}        gate: {{ regression: {{ baseline: previous, max_drop: 0.02, alpha: 0.05 }} }}\n"
    );
    write(dir.path(), "evals.yaml", &gated);
    let apply = || {
        common::evalctl_on(
            dir.path(),
            &["apply", "--auto-approve", "--wait"],
            &base,
            &[],
        )
    };

    write(dir.path(), "data/qa.jsonl", &rows(&[], false));
    let first = apply().await;
    assert_eq!(first.code, 0, "{}", first.transcript());
    assert!(
        first
            .stdout
            .contains("gate overall: no earlier completed run to compare with: passed"),
        "{}",
        first.stdout
    );

    // 3 of 30 rows break: a 10% drop, over max_drop, but (3, 0) discordant pairs are noise.
    write(dir.path(), "data/qa.jsonl", &rows(&[1, 2, 3], false));
    let noisy = apply().await;
    assert_eq!(noisy.code, 0, "{}", noisy.transcript());
    assert!(
        noisy
            .stdout
            .contains("gate overall: pass rate -10.0% against run evalrun_"),
        "{}",
        noisy.stdout
    );
    assert!(
        noisy.stdout.contains("p = 0.2500: passed"),
        "{}",
        noisy.stdout
    );

    // 12 more break against that baseline: significant, and the gate fails (exit 3).
    let broken: Vec<u64> = [1, 2, 3].into_iter().chain(10..22).collect();
    write(dir.path(), "data/qa.jsonl", &rows(&broken, false));
    let regressed = apply().await;
    assert_eq!(regressed.code, 3, "{}", regressed.transcript());
    assert!(
        regressed
            .stdout
            .contains("gate overall: pass rate -40.0% against run evalrun_"),
        "{}",
        regressed.stdout
    );
    assert!(
        regressed.stdout.contains("p = 0.0005: FAILED"),
        "{}",
        regressed.stdout
    );

    // Values out of range are refused by validate.
    write(
        dir.path(),
        "evals.yaml",
        &gated.replace("alpha: 0.05", "alpha: 2"),
    );
    let invalid = common::evalctl(dir.path(), &["validate"]);
    assert_eq!(invalid.code, 1, "{}", invalid.transcript());
    assert!(
        invalid
            .stderr
            .contains("evals.qa.runs.nightly.gate.regression.alpha"),
        "{}",
        invalid.stderr
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn history_lists_every_run_of_the_key_across_a_replacement() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: compare-test\n");
    write(dir.path(), "evals.yaml", EVALS);
    let apply = || {
        common::evalctl_on(
            dir.path(),
            &["apply", "--auto-approve", "--wait"],
            &base,
            &[],
        )
    };
    write(dir.path(), "data/qa.jsonl", &rows(&[], false));
    assert_eq!(apply().await.code, 0);
    let broken: Vec<u64> = (0..12).collect();
    write(dir.path(), "data/qa.jsonl", &rows(&broken, false));
    assert_eq!(apply().await.code, 0);
    // A grader change replaces the eval; the run key's history goes on.
    common::edit(dir.path(), "operation: eq", "operation: ilike");
    assert_eq!(apply().await.code, 0);

    let json = common::evalctl_on(
        dir.path(),
        &["history", "qa", "nightly", "-o", "json"],
        &base,
        &[],
    )
    .await;
    assert_eq!(json.code, 0, "{}", json.transcript());
    let history: Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}"));
    let runs = history["runs"].as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), 3, "{history}");
    let field = |i: usize, name: &str| runs[i][name].clone();
    assert_eq!(
        (
            field(0, "eval_state"),
            field(1, "eval_state"),
            field(2, "eval_state")
        ),
        ("superseded".into(), "superseded".into(), "live".into())
    );
    assert_eq!(
        (field(0, "change"), field(1, "change"), field(2, "change")),
        (
            Value::Null,
            "data or settings changed".into(),
            "eval replaced".into()
        )
    );
    assert_eq!(
        (
            field(0, "pass_rate").as_f64(),
            field(1, "pass_rate").as_f64()
        ),
        (Some(1.0), Some(0.6))
    );
    assert_eq!(
        (field(0, "verdict"), field(1, "verdict")),
        (Value::Null, "regressed".into())
    );
    assert_eq!(runs[1]["graders"][0]["name"], "right");

    let markdown = common::evalctl_on(
        dir.path(),
        &["history", "qa", "nightly", "-o", "markdown"],
        &base,
        &[],
    )
    .await;
    assert!(
        markdown.stdout.contains("```mermaid\nxychart-beta\n")
            && markdown.stdout.contains("  line [100.0, 60.0, 60.0]\n"),
        "{}",
        markdown.stdout
    );
    let human = common::evalctl_on(dir.path(), &["history", "qa", "nightly"], &base, &[]).await;
    assert!(
        human.stdout.contains("pass rate over time: █▅▅\n"),
        "{}",
        human.stdout
    );
    server.shutdown().await;
}
