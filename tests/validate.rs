//! `evalctl validate` on bad input: every case exits 1 with located messages and never
//! panics. One fixture directory per case under `tests/fixtures/invalid/` (see its README),
//! one snapshot per case; hostile inputs too large or odd to commit are generated here.

mod common;

use std::fs;
use std::path::Path;

use common::{evalctl, repo_root, Outcome};

/// What every bad input must produce: exit 1, no panic, at least one error with a place.
fn assert_rejected(case: &str, outcome: &Outcome) {
    assert_eq!(
        outcome.code,
        1,
        "{case}: expected exit 1\n{}",
        outcome.transcript()
    );
    assert!(
        !outcome.stderr.contains("panicked"),
        "{case}: panicked\n{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.starts_with("error: ") || outcome.stderr.starts_with("warning: "),
        "{case}: {}",
        outcome.stderr
    );
    let located = outcome
        .stderr
        .lines()
        .any(|l| l.trim_start().starts_with("--> ") && l.matches(':').count() >= 2);
    assert!(
        located,
        "{case}: no file:line:column in\n{}",
        outcome.stderr
    );
    assert!(
        outcome.stdout.is_empty(),
        "{case}: wrote to stdout: {}",
        outcome.stdout
    );
}

#[test]
fn every_invalid_fixture_is_rejected_with_its_location() {
    let dir = repo_root().join("tests/fixtures/invalid");
    let mut cases = 0;
    insta::glob!(&dir, "*", |case| {
        // Each case is a directory; the README beside them lists what each must say.
        if !case.is_dir() || case == dir {
            return;
        }
        cases += 1;
        let name = case.file_name().unwrap_or_default().to_string_lossy();
        let outcome = evalctl(&dir, &["validate", &name]);
        assert_rejected(&name, &outcome);
        insta::assert_snapshot!(outcome.transcript());
    });
    assert!(cases >= 50, "only {cases} bad-manifest cases");
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }
    dir
}

const VALID_EVAL: &str = "evals:
  tiny:
    data_source_config:
      type: custom
      item_schema: {type: object, properties: {a: {type: string}}, required: [a]}
    testing_criteria:
      - {type: string_check, name: same, input: '{{item.a}}', reference: x, operation: eq}
";

#[test]
fn a_ten_megabyte_manifest_is_refused_before_parsing() {
    let big = format!("{VALID_EVAL}# {}\n", "x".repeat(10 * 1024 * 1024));
    let dir = project(&[("big.yaml", &big)]);
    let outcome = evalctl(dir.path(), &["validate", "."]);
    assert_rejected("10 MB manifest", &outcome);
    insta::assert_snapshot!(outcome.transcript(), @"
    exit: 1
    --- stdout
    --- stderr
    error: `big.yaml` is 10.0 MiB; the limit is 4 MiB
     --> big.yaml:1:1
      = help: put rows in a JSONL file and reference it with `source: {type: file, path: ...}`

    error: manifests are not valid: 1 error
    ");
}

#[test]
fn a_megabyte_value_is_shown_shortened() {
    let long = "x".repeat(1024 * 1024);
    let manifest = VALID_EVAL
        .replace("type: string_check", &format!("type: {long}"))
        .replace("type: custom", &format!("type: c{long}"));
    let dir = project(&[("long.yaml", &manifest)]);
    let outcome = evalctl(dir.path(), &["validate", "--strict", "."]);
    assert_eq!(outcome.code, 1, "{}", outcome.stderr.len());
    assert!(
        outcome.stderr.len() < 4_000,
        "{} bytes",
        outcome.stderr.len()
    );
    assert!(
        outcome.stderr.contains("… (1048376 more characters)"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn an_eval_defined_twice_in_one_file_is_checked_as_its_last_definition() {
    // The last definition is the one read (as for any duplicate key), so its problems are
    // the ones shown, at its lines; the first one's template is fine.
    let second = VALID_EVAL
        .trim_start_matches("evals:\n")
        .replace("{{item.a}}", "{{item.b}}");
    let text = format!("{VALID_EVAL}{second}");
    let dir = project(&[("twice.yaml", &text)]);
    let outcome = evalctl(dir.path(), &["validate", "."]);
    assert_rejected("eval defined twice", &outcome);
    insta::assert_snapshot!(outcome.transcript(), @r#"
    exit: 1
    --- stdout
    --- stderr
    error: duplicate key `tiny`
     --> twice.yaml:8:3
      |
    8 |   tiny:
      |   ^^^^
      = first defined at twice.yaml:2:3

    error: eval `tiny` is defined twice
     --> twice.yaml:8:3
      |
    8 |   tiny:
      |   ^^^^
      = field: evals.tiny
      = first defined at twice.yaml:2:3

    error: `item.b` is not a field of `item_schema`
      --> twice.yaml:13:52
       |
    13 |       - {type: string_check, name: same, input: '{{item.b}}', reference: x, operation: eq}
       |                                                    ^^^^^^
       = field: evals.tiny.testing_criteria[0].input
       = `item` has `a`

    error: manifests are not valid: 3 errors
    "#);
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    for text in [
        format!("evals: {}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!(
            "evals:\n{}",
            (1..300)
                .map(|i| format!("{}k{i}:\n", " ".repeat(i * 2)))
                .collect::<String>()
        ),
    ] {
        let dir = project(&[("deep.yaml", &text)]);
        let outcome = evalctl(dir.path(), &["validate", "."]);
        assert_rejected("deep nesting", &outcome);
        assert!(
            outcome.stderr.contains("recursion limit") || outcome.stderr.contains("nesting deeper"),
            "{}",
            outcome.stderr
        );
    }
}

#[test]
fn a_data_file_reached_through_a_symlink_outside_the_project_is_refused() {
    let outside = tempfile::tempdir().expect("temp dir");
    fs::write(
        outside.path().join("rows.jsonl"),
        "{\"item\": {\"a\": \"x\"}}\n",
    )
    .expect("write");
    let manifest = format!("{VALID_EVAL}    runs:\n      r:\n        data_source: {{type: jsonl, source: {{type: file, path: data/rows.jsonl}}}}\n");
    let dir = project(&[("evals.yaml", &manifest)]);
    fs::create_dir(dir.path().join("data")).expect("mkdir");
    std::os::unix::fs::symlink(
        outside.path().join("rows.jsonl"),
        dir.path().join("data/rows.jsonl"),
    )
    .expect("symlink");
    let outcome = evalctl(dir.path(), &["validate", "."]);
    assert_rejected("symlink", &outcome);
    assert!(
        outcome
            .stderr
            .contains("leads outside the project root (through a symbolic link)"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("--> evals.yaml:10:63"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn a_missing_path_is_an_error_not_a_panic() {
    let dir = project(&[]);
    let outcome = evalctl(dir.path(), &["validate", "nowhere"]);
    assert_eq!(outcome.code, 1);
    assert!(
        outcome.stderr.starts_with("error: cannot read `nowhere`"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn warnings_do_not_fail_validation() {
    let manifest = "evals:
  future:
    data_source_config: {type: tomorrows_source, scenario: red_team}
    testing_criteria:
      - {type: tomorrows_grader, name: violence, evaluator_name: builtin.violence}
";
    let dir = project(&[
        ("evalctl.yaml", "project: demo\n"),
        ("evals.yaml", manifest),
    ]);
    let outcome = evalctl(dir.path(), &["validate", "."]);
    insta::assert_snapshot!(outcome.transcript(), @"
    exit: 0
    --- stdout
    valid: project `demo`, 1 eval, 0 runs, 0 data files (2 warnings)
    --- stderr
    warning: data source config type `tomorrows_source` is not known to evalctl; it is passed through verbatim
     --> evals.yaml:3:32
      |
    3 |     data_source_config: {type: tomorrows_source, scenario: red_team}
      |                                ^^^^^^^^^^^^^^^^
      = field: evals.future.data_source_config.type

    warning: grader type `tomorrows_grader` is not known to evalctl; it is passed through verbatim
     --> evals.yaml:5:16
      |
    5 |       - {type: tomorrows_grader, name: violence, evaluator_name: builtin.violence}
      |                ^^^^^^^^^^^^^^^^
      = field: evals.future.testing_criteria[0].type
    ");
}

#[test]
fn the_examples_are_valid() {
    let outcome = evalctl(repo_root(), &["validate", "examples"]);
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    assert!(outcome.stderr.is_empty(), "{}", outcome.stderr);
    assert!(
        outcome
            .stdout
            .starts_with("valid: project `evalctl-examples`"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn the_committed_schema_is_current() {
    let outcome = evalctl(repo_root(), &["schema"]);
    assert_eq!(outcome.code, 0);
    let committed = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/evalctl.schema.json"),
    )
    .unwrap_or_default();
    assert!(
        committed == outcome.stdout,
        "schemas/evalctl.schema.json is stale: run `cargo run -- schema > schemas/evalctl.schema.json`"
    );
}

#[test]
fn a_broken_data_file_shared_by_many_evals_is_reported_once_and_in_a_stable_order() {
    // Evals are checked in parallel with one data cache: the file must still be read and
    // reported once, and the report must not depend on which thread got there first.
    let mut manifest = String::from("evals:\n");
    for i in 0..40 {
        manifest.push_str(&format!(
            "  e{i:02}:
    data_source_config:
      type: custom
      item_schema: {{type: object, properties: {{a: {{type: string}}}}, required: [a]}}
    testing_criteria:
      - {{type: string_check, name: same, input: '{{{{item.a}}}}', reference: x, operation: eq}}
    runs:
      r:
        data_source: {{type: jsonl, source: {{type: file, path: rows.jsonl}}}}
      \n"
        ));
    }
    let dir = project(&[
        ("evalctl.yaml", "project: shared\n"),
        ("evals.yaml", &manifest),
        (
            "rows.jsonl",
            "{\"item\": {\"a\": \"x\"}}\n{\"item\": {\"a\": 1,}}\n",
        ),
    ]);
    let first = evalctl(dir.path(), &["validate", "."]);
    assert_rejected("shared data file", &first);
    assert_eq!(
        first.stderr.matches("invalid JSON in data row").count(),
        1,
        "{}",
        first.stderr
    );
    for _ in 0..3 {
        assert_eq!(evalctl(dir.path(), &["validate", "."]).stderr, first.stderr);
    }
}

#[test]
fn problems_for_tools_as_json_and_as_github_annotations() {
    let dir = project(&[
        ("evalctl.yaml", "project: tools\n"),
        ("evals.yaml", "evals:\n  tiny:\n    data_source_config:\n      type: custom\n      item_schema: {type: object, properties: {a: {type: string}}, required: [a]}\n    testing_criteria:\n      - {type: string_chek, name: \"50%, a:b\", input: '{{item.a}}', reference: x, operation: eq}\n"),
    ]);
    let json = evalctl(dir.path(), &["validate", "-o", "json", "."]);
    assert_eq!(json.code, 1, "{}", json.transcript());
    let document: serde_json::Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", json.stdout));
    assert_eq!(document["valid"], false);
    assert_eq!(document["errors"], 1);
    let first = &document["diagnostics"][0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], "evals.yaml");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(7), Some(16))
    );
    assert_eq!(first["path"], "evals.tiny.testing_criteria[0].type");
    assert!(
        first["message"]
            .as_str()
            .is_some_and(|m| m.contains("string_chek")),
        "{first}"
    );

    let github = evalctl(dir.path(), &["validate", "--output", "github", "."]);
    assert_eq!(github.code, 1, "{}", github.transcript());
    let line = github.stdout.lines().next().unwrap_or_default();
    assert!(
        line.starts_with("::error file=evals.yaml,line=7,col=16,title=evalctl%3A evals.tiny.testing_criteria[0].type::"),
        "{}",
        github.stdout
    );

    let valid = project(&[
        ("evalctl.yaml", "project: tools\n"),
        ("evals.yaml", VALID_EVAL),
    ]);
    let json = evalctl(valid.path(), &["validate", "-o", "json", "."]);
    assert_eq!(json.code, 0, "{}", json.transcript());
    let document: serde_json::Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", json.stdout));
    assert_eq!(
        document,
        serde_json::json!({"valid": true, "project": "tools", "errors": 0, "warnings": 0, "diagnostics": []})
    );
}

#[test]
fn completions_are_written_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let outcome = evalctl(repo_root(), &["completions", shell]);
        assert_eq!(outcome.code, 0, "{}", outcome.transcript());
        assert!(
            outcome.stdout.contains("force-unlock"),
            "{shell}: {}",
            outcome.stdout
        );
    }
}

/// Every evalctl command in the CI examples, as clap parses it: a renamed flag fails here,
/// not in a team's pipeline.
#[test]
fn the_ci_examples_run_commands_evalctl_has() {
    use clap::Parser as _;
    let mut commands = 0;
    for file in [
        "examples/ci/github/evals.yml",
        "examples/ci/azure-pipelines/azure-pipelines.yml",
    ] {
        let text = fs::read_to_string(repo_root().join(file)).expect("the example exists");
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            let line = line.split(" #").next().unwrap_or_default();
            let Some(at) = line.find("evalctl ") else {
                continue;
            };
            let words: Vec<String> = line[at..]
                .split_whitespace()
                .map(|w| w.trim_matches('"').to_string())
                .collect();
            // A command where a step runs one (not the crate `cargo install` names).
            let before = line[..at].trim();
            let runs_it = [
                "",
                "run:",
                "- run:",
                "script:",
                "- script:",
                "inlineScript:",
            ]
            .contains(&before);
            if words.len() < 2 || !runs_it {
                continue;
            }
            if let Err(error) = evalctl::cli::Cli::try_parse_from(&words) {
                panic!("{file}: `{}`: {error}", words.join(" "));
            }
            commands += 1;
        }
    }
    assert!(commands >= 6, "found only {commands} evalctl commands");
}

#[test]
fn ci_files_and_excluded_paths_are_not_read_as_manifests() {
    let dir = project(&[
        (
            "evalctl.yaml",
            "project: repo\nexclude: [\"ci/**\", \"docs/*.yaml\"]\n",
        ),
        ("evals.yaml", VALID_EVAL),
        ("azure-pipelines.yml", "trigger: [main]\n"),
        ("ci/nested/workflow.yml", "jobs: {}\n"),
        ("docs/mkdocs.yaml", "site_name: x\n"),
    ]);
    let outcome = evalctl(dir.path(), &["validate", "."]);
    assert_eq!(outcome.code, 0, "{}", outcome.transcript());
    let bad = project(&[
        ("evalctl.yaml", "project: repo\nexclude: [\"a[\"]\n"),
        ("evals.yaml", VALID_EVAL),
    ]);
    let outcome = evalctl(bad.path(), &["validate", "."]);
    assert_eq!(outcome.code, 1, "{}", outcome.transcript());
    assert!(
        outcome
            .stderr
            .contains("`exclude` pattern `a[` is not a glob: unclosed character class; missing ']'\n --> evalctl.yaml:2:11\n"),
        "{}",
        outcome.stderr
    );
}
