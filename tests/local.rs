//! The `local` target end to end, as the README's quick start runs it: plan, apply, grade
//! the examples that need no model on their JSONL data, print results, and then plan
//! "No changes." — state kept in `<project>/.evalctl/local/`.

mod common;

use std::path::Path;

use common::{evalctl, repo_root};

fn canonical(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|e| panic!("{e}"))
        .display()
        .to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            if entry.file_name() != ".evalctl" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[test]
fn the_quick_start_applies_grades_and_converges() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_dir(&repo_root().join("examples"), &dir.path().join("examples"));
    let applied = evalctl(
        dir.path(),
        &[
            "apply",
            "examples",
            "--target",
            "local",
            "--auto-approve",
            "--wait",
        ],
    );
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let shown = common::stable(&applied.transcript()).replace(&canonical(dir.path()), "[DIR]");
    common::filters().bind(|| insta::assert_snapshot!(shown));
    assert!(
        dir.path().join("examples/.evalctl/local").is_dir(),
        "state is kept in the project"
    );

    let plan = evalctl(
        dir.path(),
        &[
            "plan",
            "examples",
            "--target",
            "local",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    assert!(
        plan.stdout.contains(".evalctl/local)"),
        "the first line names the state, not a port: {}",
        plan.stdout
    );
}

#[test]
fn a_saved_local_plan_applies_from_anywhere() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_dir(&repo_root().join("examples"), &dir.path().join("examples"));
    let saved = evalctl(
        dir.path(),
        &[
            "plan",
            "examples",
            "--target",
            "local",
            "--out",
            "plan.json",
        ],
    );
    assert_eq!(saved.code, 0, "{}", saved.transcript());
    let applied = evalctl(dir.path(), &["apply", "plan.json", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let again = evalctl(
        &dir.path().join("examples"),
        &["plan", "--target", "local", "--detailed-exitcode"],
    );
    assert_eq!(again.code, 0, "{}", again.transcript());
}
