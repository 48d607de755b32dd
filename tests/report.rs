//! `evalctl report` against the emulator: the gates' verdicts (failed first), the runs the
//! manifests want with their pass rates, each grader folded, then the plan, as one Markdown
//! document under the comment limit; `--out` writes the same text.

mod common;
mod emulator_support;

use common::write;
use emulator_support::{config, start};

const EVALS: &str = r#"evals:
  capitals:
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { city: { type: string }, answer: { type: string } }, required: [city, answer] }
    testing_criteria:
      - { type: string_check, name: names it, input: "{{item.answer}}", reference: "{{item.city}}", operation: ilike }
    runs:
      nightly:
        data_source: { type: jsonl, source: { type: file_content, content: [ { item: { city: Paris, answer: paris } }, { item: { city: Rome, answer: Milan } } ] } }
        gate: { min_pass_rate: 0.9 }
  exact:
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { a: { type: string } }, required: [a] }
    testing_criteria:
      - { type: string_check, name: same, input: "{{item.a}}", reference: x, operation: eq }
    runs:
      once:
        data_source: { type: jsonl, source: { type: file_content, content: [ { item: { a: x } } ] } }
        gate: { min_pass_rate: 1.0 }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_report_puts_failed_gates_first_then_runs_then_the_plan() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: report-test\n");
    write(dir.path(), "evals.yaml", EVALS);
    let applied = common::evalctl_on(
        dir.path(),
        &["apply", "--auto-approve", "--wait"],
        &base,
        &[],
    )
    .await;
    assert_eq!(applied.code, 3, "one gate fails: {}", applied.transcript());
    // A pull request adds a run: the report shows it as not started, with the plan.
    common::edit(
        dir.path(),
        "        gate: { min_pass_rate: 1.0 }\n",
        "        gate: { min_pass_rate: 1.0 }\n      again:\n        data_source: { type: jsonl, source: { type: file_content, content: [ { item: { a: y } } ] } }\n        gate: { min_pass_rate: 0.5 }\n",
    );
    let report =
        common::evalctl_on(dir.path(), &["report", "--out", "report.md"], &base, &[]).await;
    assert_eq!(report.code, 0, "{}", report.transcript());
    let written = std::fs::read_to_string(dir.path().join("report.md")).unwrap_or_default();
    assert_eq!(written, report.stdout);
    assert!(report.stdout.len() < 65_000);
    let shown = common::shown(&[&report], &base);
    common::filters().bind(|| insta::assert_snapshot!("report", shown));
    server.shutdown().await;
}
