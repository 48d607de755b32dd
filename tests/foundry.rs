//! Foundry projects: the project surface's own types (`azure_ai_evaluator` graders,
//! `azure_ai_source` configs, Foundry run data sources) are modelled and checked like the
//! others, and are refused, at their place in the manifests, for any target but `foundry`.

mod common;

use common::{evalctl, write};

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
          source: { type: file_content, content: [ { item: { question: q, answer: a, response: a } } ] }
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
    assert!(!dir.path().join(".evalctl").exists(), "nothing was started");
}
