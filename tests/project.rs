//! Which project a path means: the root is found upward as git and cargo find theirs, the
//! whole project is loaded and a path below the root narrows only what is planned; remote
//! targets need the project's name declared; `init` writes a project that works at once;
//! `--strict` makes warnings errors; a saved plan goes where it was made for.

mod common;
mod emulator_support;

use std::path::Path;

use common::{evalctl, write, Outcome};
use emulator_support::{config, start};

const TEAM_A: &str = r#"evals:
  alpha:
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { a: { type: string } }, required: [a] }
    testing_criteria:
      - { type: string_check, name: same, input: "{{item.a}}", reference: x, operation: eq }
    runs:
      once:
        data_source: { type: jsonl, source: { type: file, path: ../../data/rows.jsonl } }
"#;

const TEAM_B: &str = r#"evals:
  beta:
    name: Beta
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { a: { type: string } }, required: [a] }
    testing_criteria:
      - { type: string_check, name: same, input: "{{item.a}}", reference: y, operation: eq }
"#;

/// A project of two teams' manifests under `evals/`, its data under `data/`.
fn teams() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: teams\n");
    write(dir.path(), "evals/team-a/a.yaml", TEAM_A);
    write(dir.path(), "evals/team-b/b.yaml", TEAM_B);
    write(
        dir.path(),
        "data/rows.jsonl",
        "{\"item\": {\"a\": \"x\"}}\n",
    );
    dir
}

fn local(dir: &Path, args: &[&str]) -> Outcome {
    let mut all = args.to_vec();
    all.extend(["--target", "local"]);
    evalctl(dir, &all)
}

fn assert_code(outcome: &Outcome, code: i32) {
    assert_eq!(outcome.code, code, "{}", outcome.transcript());
}

#[test]
fn a_subdirectory_is_part_of_the_project_found_upward() {
    let dir = teams();
    assert_code(&local(dir.path(), &["apply", "--auto-approve"]), 0);
    // Before, `evals/team-b` was a project of its own named `team-b`: it planned `beta` as
    // new, and its data paths left the "project".
    let team_b = dir.path().join("evals/team-b");
    let plan = local(&team_b, &["plan", "--detailed-exitcode"]);
    assert_code(&plan, 0);
    assert!(
        plan.stdout.contains("Plan for project `teams`"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    assert!(!plan.stdout.contains("alpha"), "{}", plan.stdout);
    // The local state is the project's, wherever the command runs.
    assert!(!team_b.join(".evalctl").exists());
    let team_a = dir.path().join("evals/team-a");
    assert_code(&local(&team_a, &["plan", "--detailed-exitcode"]), 0);
}

#[test]
fn a_manifest_file_plans_its_own_evals_and_says_nothing_of_the_others() {
    let dir = teams();
    assert_code(&local(dir.path(), &["apply", "--auto-approve"]), 0);
    let b = "evals/team-b/b.yaml";
    let text = std::fs::read_to_string(dir.path().join(b)).unwrap_or_default();
    write(dir.path(), b, &text.replace("name: Beta", "name: Beta 2"));
    let plan = local(dir.path(), &["plan", b]);
    assert_code(&plan, 0);
    let shown = plan.transcript().replace(&display(dir.path()), "[DIR]");
    common::filters().bind(|| insta::assert_snapshot!(shown));
    // Its evals are checked against the whole project: a key of another file is a duplicate.
    write(dir.path(), b, &TEAM_B.replace("beta:", "alpha:"));
    let duplicate = evalctl(dir.path(), &["validate", b]);
    assert_code(&duplicate, 1);
    assert!(
        duplicate.stderr.contains("eval `alpha` is defined twice"),
        "{}",
        duplicate.stderr
    );
}

fn display(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|e| panic!("{e}"))
        .display()
        .to_string()
}

#[test]
fn prune_given_one_file_deletes_only_evals_no_manifest_of_the_project_has() {
    let dir = teams();
    write(
        dir.path(),
        "evals/team-b/gone.yaml",
        &TEAM_B.replace("beta:", "gamma:"),
    );
    assert_code(&local(dir.path(), &["apply", "--auto-approve"]), 0);
    std::fs::remove_file(dir.path().join("evals/team-b/gone.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let pruned = local(
        dir.path(),
        &["apply", "evals/team-a/a.yaml", "--prune", "--auto-approve"],
    );
    assert_code(&pruned, 0);
    assert!(
        pruned.stdout.contains("delete eval `gamma`"),
        "{}",
        pruned.stdout
    );
    assert!(!pruned.stdout.contains("beta"), "{}", pruned.stdout);
    assert_code(
        &local(dir.path(), &["plan", "--detailed-exitcode", "--prune"]),
        0,
    );
    // Without an evalctl.yaml, a file is read alone: pruning from it is refused.
    std::fs::remove_file(dir.path().join("evalctl.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let refused = local(dir.path(), &["plan", "evals/team-b/b.yaml", "--prune"]);
    assert_code(&refused, 1);
    assert!(
        refused.stderr.contains("--prune needs the whole project"),
        "{}",
        refused.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_target_needs_the_project_name_declared() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = teams();
    let remote = |dir: &Path| {
        let dir = dir.to_path_buf();
        let base = base.clone();
        async move { common::evalctl_on(&dir, &["plan"], &base, &[]).await }
    };
    write(dir.path(), "evalctl.yaml", "# target: azure\n");
    let undeclared = remote(dir.path()).await;
    assert_code(&undeclared, 1);
    std::fs::remove_file(dir.path().join("evalctl.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let missing = remote(dir.path()).await;
    assert_code(&missing, 1);
    let shown = format!("{}\n{}", undeclared.transcript(), missing.transcript())
        .replace(&display(dir.path()), "[DIR]");
    let folder = dir
        .path()
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    insta::assert_snapshot!(shown.replace(&folder, "[FOLDER]"));
    assert!(
        client(&base)
            .list_evals()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty(),
        "nothing was created"
    );
    server.shutdown().await;
}

fn client(base: &str) -> evalctl::api::Client {
    let connection = evalctl::api::Connection::local(base).unwrap_or_else(|e| panic!("{e}"));
    evalctl::api::Client::new(&connection, 2).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clone_in_another_folder_finds_the_same_evals() {
    let server = start(config()).await;
    let base = server.base_url();
    let first = teams();
    let applied = common::evalctl_on(first.path(), &["apply", "--auto-approve"], &base, &[]).await;
    assert_code(&applied, 0);
    let second = teams();
    let renamed = second.path().join("renamed-clone");
    std::fs::create_dir(&renamed).unwrap_or_else(|e| panic!("{e}"));
    for name in ["evalctl.yaml", "evals", "data"] {
        std::fs::rename(second.path().join(name), renamed.join(name))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let plan = common::evalctl_on(&renamed, &["plan", "--detailed-exitcode"], &base, &[]).await;
    assert_code(&plan, 0);
    server.shutdown().await;
}

#[test]
fn init_writes_a_project_that_works_at_once_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let init = evalctl(dir.path(), &["init", "my-evals"]);
    assert_code(&init, 0);
    insta::assert_snapshot!(init.transcript());
    let project = dir.path().join("my-evals");
    let settings = std::fs::read_to_string(project.join("evalctl.yaml")).unwrap_or_default();
    assert!(settings.contains("project: \"my-evals\""), "{settings}");
    let schema = std::fs::read_to_string(project.join("evalctl.schema.json")).unwrap_or_default();
    assert_eq!(schema, evalctl(dir.path(), &["schema"]).stdout);
    let manifest = std::fs::read_to_string(project.join("evals/example.yaml")).unwrap_or_default();
    assert!(manifest.starts_with("# yaml-language-server: $schema=../evalctl.schema.json"));
    let validated = evalctl(&project, &["validate", "--strict"]);
    assert_code(&validated, 0);
    let applied = local(&project, &["apply", "--auto-approve", "--wait"]);
    assert_code(&applied, 0);
    // A second init writes nothing, not even the files that are missing.
    std::fs::remove_file(project.join("data/example.jsonl")).unwrap_or_else(|e| panic!("{e}"));
    let again = evalctl(dir.path(), &["init", "my-evals"]);
    assert_code(&again, 1);
    assert!(
        again.stderr.contains("nothing was written"),
        "{}",
        again.stderr
    );
    assert!(!project.join("data/example.jsonl").exists());
}

#[test]
fn strict_makes_warnings_errors() {
    let dir = teams();
    let b = "evals/team-b/b.yaml";
    let unknown = "      - { type: future_grader, name: f1, evaluator: tomorrow }\n";
    write(dir.path(), b, &format!("{TEAM_B}{unknown}"));
    let lenient = evalctl(dir.path(), &["validate"]);
    assert_code(&lenient, 0);
    assert!(
        lenient
            .stderr
            .starts_with("warning: grader type `future_grader`"),
        "{}",
        lenient.stderr
    );
    let strict = evalctl(dir.path(), &["validate", "--strict"]);
    assert_code(&strict, 1);
    insta::assert_snapshot!(strict.transcript());
    let plan = local(dir.path(), &["plan", "--strict"]);
    assert_code(&plan, 1);
    assert!(plan.stdout.is_empty(), "{}", plan.stdout);
    assert!(
        !dir.path().join(".evalctl").exists(),
        "no emulator was started"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_goes_to_the_endpoint_it_was_made_for() {
    let server = start(config()).await;
    let other = start(config()).await;
    let base = server.base_url();
    let dir = teams();
    let saved = common::evalctl_on(dir.path(), &["plan", "--out", "plan.json"], &base, &[]).await;
    assert_code(&saved, 0);
    // No --endpoint, no AZURE_OPENAI_ENDPOINT and no EVALCTL_TARGET: the plan says where.
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_evalctl"));
    command
        .args(["apply", "plan.json", "--auto-approve"])
        .current_dir(dir.path())
        .env_remove("AZURE_OPENAI_ENDPOINT")
        .env_remove("EVALCTL_TARGET")
        .env("AZURE_OPENAI_API_KEY", "test-key")
        .env("NO_COLOR", "1");
    let applied = command.output().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    assert_eq!(
        client(&base).list_evals().await.map(|e| e.len()).ok(),
        Some(2)
    );
    // Another endpoint is named as such, not called stale, and nothing is sent to it.
    let saved = common::evalctl_on(dir.path(), &["plan", "--out", "plan.json"], &base, &[]).await;
    assert_code(&saved, 0);
    let elsewhere = common::evalctl_on(
        dir.path(),
        &["apply", "plan.json", "--auto-approve"],
        &other.base_url(),
        &[],
    )
    .await;
    assert_code(&elsewhere, 1);
    let shown = elsewhere
        .transcript()
        .replace(&base, "[PLANNED]")
        .replace(&other.base_url(), "[OTHER]");
    insta::assert_snapshot!(shown);
    assert_eq!(
        client(&other.base_url())
            .list_evals()
            .await
            .map(|e| e.len())
            .ok(),
        Some(0)
    );
    other.shutdown().await;
    server.shutdown().await;
}
