//! The project lease end to end: applies of one project started together (in the same
//! instant, and 0.3 s, 1 s, 2 s apart) never both write; the second fails naming the holder or,
//! with `--lock-timeout`, waits; a killed apply's lease expires and is taken over;
//! `force-unlock` removes a lease; a plan made while another job prunes evals under it takes
//! them for gone. Objects are counted through the API afterwards.

mod common;
mod emulator_support;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{write, Outcome};
use emulator_support::{config, start};
use evalctl::api::wire::Eval;
use evalctl::api::{Client, Connection};
use serde_json::json;

const EVALS: &str = r#"evals:
  capitals:
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { city: { type: string }, answer: { type: string } }, required: [city, answer] }
    testing_criteria:
      - { type: string_check, name: names it, input: "{{item.answer}}", reference: "{{item.city}}", operation: ilike }
    runs:
      nightly:
        data_source: { type: jsonl, source: { type: file, path: data/capitals.jsonl } }
  rivers:
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { city: { type: string }, answer: { type: string } }, required: [city, answer] }
    testing_criteria:
      - { type: string_check, name: same, input: "{{item.answer}}", reference: "{{item.city}}", operation: eq }
    runs:
      nightly:
        data_source: { type: jsonl, source: { type: file, path: data/capitals.jsonl } }
      inline:
        data_source: { type: jsonl, source: { type: file_content, content: [ { item: { city: a, answer: a } } ] } }
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: lock-test\n");
    write(dir.path(), "evals.yaml", EVALS);
    write(
        dir.path(),
        "data/capitals.jsonl",
        "{\"item\": {\"city\": \"Paris\", \"answer\": \"paris\"}}\n",
    );
    dir
}

fn client(base: &str) -> Client {
    Client::new(
        &Connection::local(base).unwrap_or_else(|e| panic!("{e}")),
        4,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn evals(base: &str) -> Vec<Eval> {
    client(base)
        .list_evals()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn leases(evals: &[Eval]) -> Vec<&Eval> {
    evals
        .iter()
        .filter(|e| e.metadata.contains_key("evalctl_lock"))
        .collect()
}

/// One live eval per key, one run per run key, one upload per content, and no lease left.
async fn assert_written_once(base: &str) {
    let client = client(base);
    let evals = evals(base).await;
    assert!(leases(&evals).is_empty(), "a lease was left: {evals:#?}");
    assert_eq!(evals.len(), 2, "one eval per key: {evals:#?}");
    let mut runs = 0;
    for eval in &evals {
        let listed = client
            .list_runs(&eval.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut keys: Vec<&str> = listed
            .iter()
            .filter_map(|r| r.metadata.get("evalctl_key").map(String::as_str))
            .collect();
        let all = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), all, "one run per run key on {}", eval.id);
        runs += all;
    }
    assert_eq!(runs, 3, "every run started once");
    let files = client.list_files().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        files.len(),
        1,
        "one upload of the one data file: {files:#?}"
    );
}

async fn apply(dir: &Path, base: &str, extra: &[&str]) -> Outcome {
    let mut args = vec!["apply", "--auto-approve"];
    args.extend_from_slice(extra);
    common::evalctl_on(dir, &args, base, &[]).await
}

/// `plan --refresh --detailed-exitcode`: every eval's runs listed.
async fn plan_refreshed(dir: &Path, base: &str) -> Outcome {
    let args = ["plan", "--refresh", "--detailed-exitcode"];
    common::evalctl_on(dir, &args, base, &[]).await
}

fn refused_naming_the_holder(outcome: &Outcome) -> bool {
    outcome.code == 1
        && outcome
            .stderr
            .contains("project `lock-test` is locked by another apply: ")
        && outcome.stderr.contains("(pid ")
        && outcome.stderr.contains("evalctl force-unlock eval_")
}

#[tokio::test(flavor = "multi_thread")]
async fn applies_started_together_write_once_and_the_second_is_refused_naming_the_holder() {
    for gap_ms in [0, 300, 1_000, 2_000] {
        // Slow enough that the first apply still writes when the second one starts.
        let mut slow = config();
        slow.latency_ms = 150;
        let server = start(slow).await;
        let base = server.base_url();
        let dir = project();
        let first = apply(dir.path(), &base, &[]);
        let second = async {
            tokio::time::sleep(Duration::from_millis(gap_ms)).await;
            apply(dir.path(), &base, &[]).await
        };
        let (first, second) = tokio::join!(first, second);
        let outcomes = [&first, &second];
        let applied: Vec<&&Outcome> = outcomes.iter().filter(|o| o.code == 0).collect();
        let refused = outcomes
            .iter()
            .filter(|o| refused_naming_the_holder(o))
            .count();
        assert!(
            !applied.is_empty() && applied.len() + refused == 2,
            "{gap_ms} ms apart: each apply either applied or was refused naming the holder\n{}\n{}",
            first.transcript(),
            second.transcript()
        );
        // Two that both applied ran one after the other: the later one found nothing to do.
        if applied.len() == 2 {
            assert!(
                outcomes.iter().any(|o| o.stdout.contains("No changes.")),
                "{}\n{}",
                first.transcript(),
                second.transcript()
            );
        }
        assert_written_once(&base).await;
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_lock_timeout_the_second_apply_waits_then_finds_nothing_to_do() {
    let mut slow = config();
    slow.latency_ms = 400;
    let server = start(slow).await;
    let base = server.base_url();
    let dir = project();
    let first = apply(dir.path(), &base, &["--lock-timeout", "60s"]);
    // More than a second apart, their leases cannot tie (ties step back and try again, and
    // the one that tries again last may find the other done without having waited).
    let second = async {
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        apply(dir.path(), &base, &["--lock-timeout", "60s"]).await
    };
    let (first, second) = tokio::join!(first, second);
    let both = format!("{}\n{}", first.transcript(), second.transcript());
    assert_eq!((first.code, second.code), (0, 0), "{both}");
    assert!(
        [&first, &second].iter().any(|o| o
            .stderr
            .contains("waiting up to 60s for the lock on project `lock-test`, held by ")),
        "{both}"
    );
    assert!(
        [&first, &second]
            .iter()
            .any(|o| o.stdout.contains("No changes.")),
        "{both}"
    );
    assert_written_once(&base).await;
    server.shutdown().await;
}

/// Polls until `check` holds, failing after `deadline`.
async fn until<F, Fut>(deadline: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < deadline, "{what} within {deadline:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_applys_lease_expires_and_is_taken_over() {
    let mut slow = config();
    slow.latency_ms = 300;
    let server = start(slow).await;
    let base = server.base_url();
    let dir = project();
    let mut killed = tokio::process::Command::new(env!("CARGO_BIN_EXE_evalctl"))
        .args(["apply", "--auto-approve", "--lock-ttl", "5s"])
        .args(["--target", "azure", "--endpoint", &base])
        .env("AZURE_OPENAI_API_KEY", "test-key")
        .env("NO_COLOR", "1")
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    until(
        Duration::from_secs(30),
        "the first apply takes its lease",
        || async { !leases(&evals(&base).await).is_empty() },
    )
    .await;
    killed.kill().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        leases(&evals(&base).await).len(),
        1,
        "the killed apply's lease stays"
    );

    let refused = apply(dir.path(), &base, &[]).await;
    assert!(
        refused_naming_the_holder(&refused),
        "{}",
        refused.transcript()
    );
    // Within its ttl (5 s) and a poll, the dead lease is taken over and the project applied.
    // Its own short ttl makes the waiting apply renew its place in line while it waits.
    let waited = apply(
        dir.path(),
        &base,
        &["--lock-timeout", "30s", "--lock-ttl", "5s"],
    )
    .await;
    assert_eq!(waited.code, 0, "{}", waited.transcript());
    assert_written_once(&base).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn force_unlock_removes_a_dead_applys_lease() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project();
    // A lease as a dead apply on another machine leaves it, for an hour.
    let lease = client(&base)
        .create_eval(&json!({
            "name": "evalctl lock: lock-test",
            "metadata": {"evalctl_lock": "lock-test", "evalctl_lock_holder": "ana@ci-7 (pid 4242)",
                         "evalctl_lock_ttl": "3600",
                         "evalctl_lock_run": "https://github.com/o/r/actions/runs/42"},
            "data_source_config": {"type": "custom", "item_schema": {"type": "object", "properties": {}}},
            "testing_criteria": [{"type": "string_check", "name": "lease", "input": "lease",
                                  "reference": "lease", "operation": "eq"}],
        }))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let refused = apply(dir.path(), &base, &[]).await;
    assert!(
        refused
            .stderr
            .contains("is locked by another apply: ana@ci-7 (pid 4242) since ")
            && refused.stderr.contains(&format!(
                "(lease {}, CI run https://github.com/o/r/actions/runs/42); it ends in 3",
                lease.id
            )),
        "{}",
        refused.transcript()
    );
    assert!(
        evals(&base).await.len() == 1,
        "nothing written while locked"
    );

    // Plans take no lock.
    let plan = common::evalctl_on(dir.path(), &["plan"], &base, &[]).await;
    assert_eq!(plan.code, 0, "{}", plan.transcript());

    let without_approval = common::evalctl_on(dir.path(), &["force-unlock"], &base, &[]).await;
    assert_eq!(
        without_approval.code,
        1,
        "{}",
        without_approval.transcript()
    );
    assert_eq!(leases(&evals(&base).await).len(), 1);

    let unlocked =
        common::evalctl_on(dir.path(), &["force-unlock", "--auto-approve"], &base, &[]).await;
    assert_eq!(unlocked.code, 0, "{}", unlocked.transcript());
    assert!(
        unlocked.stdout.contains(&format!(
            "Removed lease {} of ana@ci-7 (pid 4242), taken ",
            lease.id
        )),
        "{}",
        unlocked.transcript()
    );
    let applied = apply(dir.path(), &base, &[]).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    assert_written_once(&base).await;

    let none =
        common::evalctl_on(dir.path(), &["force-unlock", "--auto-approve"], &base, &[]).await;
    assert_eq!(none.stdout, "No lease on project lock-test.\n");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_runs_made_anyway_are_reported_by_plan_not_kept_silently() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = project();
    let applied = apply(dir.path(), &base, &[]).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    // Another tool (or an apply of before the lease) starts the same run again.
    let client = client(&base);
    let rivers = evals(&base)
        .await
        .into_iter()
        .find(|e| e.metadata.get("evalctl_key").map(String::as_str) == Some("rivers"))
        .unwrap_or_else(|| panic!("rivers was applied"));
    let runs = client
        .list_runs(&rivers.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let inline = runs
        .iter()
        .find(|r| r.metadata.get("evalctl_key").map(String::as_str) == Some("inline"))
        .unwrap_or_else(|| panic!("inline run started"));
    let again = client
        .create_run(
            &rivers.id,
            &json!({"name": "inline", "metadata": inline.metadata, "data_source": inline.data_source}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The eval's `evalctl_runs` tag vouches for its runs, so a plan does not list them; one
    // with `--refresh` does, and finds the duplicate.
    let plan = common::evalctl_on(dir.path(), &["plan"], &base, &[]).await;
    assert!(
        !plan.stdout.contains("Duplicate runs"),
        "{}",
        plan.transcript()
    );
    let plan = plan_refreshed(dir.path(), &base).await;
    assert_eq!(plan.code, 0, "nothing to do: {}", plan.transcript());
    let line = format!(
        "Duplicate runs (one run key and spec started more than once; the newest counts, the others are left as they are):\n      `rivers/inline` on {}: {} (newest), {}\n",
        rivers.id, again.id, inline.id
    );
    assert!(plan.stdout.contains(&line), "{}", plan.transcript());
    assert!(plan.stdout.ends_with("\nNo changes.\n"), "{}", plan.stdout);
    let json = common::evalctl_on(
        dir.path(),
        &["plan", "--refresh", "--output", "json"],
        &base,
        &[],
    )
    .await;
    let json: serde_json::Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        json["duplicate_runs"],
        json!([{"eval_key": "rivers", "run_key": "inline", "eval_id": rivers.id,
                "newest": again.id, "others": [inline.id]}])
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_whose_lease_is_removed_sends_no_more_writes() {
    let mut slow = config();
    slow.latency_ms = 300;
    let server = start(slow).await;
    let base = server.base_url();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: lock-test\n");
    let mut manifest = String::from("evals:\n");
    for i in 0..12 {
        manifest.push_str(&format!("  e{i:02}:\n    data_source_config: {{ type: custom, item_schema: {{ type: object, properties: {{ a: {{ type: string }} }} }} }}\n    testing_criteria: [ {{ type: string_check, name: same, input: \"{{{{item.a}}}}\", reference: x, operation: eq }} ]\n    runs:\n      once:\n        data_source: {{ type: jsonl, source: {{ type: file_content, content: [ {{ item: {{ a: x }} }} ] }} }}\n"));
    }
    write(dir.path(), "evals.yaml", &manifest);
    let apply = common::evalctl_on(
        dir.path(),
        &[
            "apply",
            "--auto-approve",
            "--lock-ttl",
            "5s",
            "--parallelism",
            "2",
        ],
        &base,
        &[],
    );
    let unlock = async {
        until(
            Duration::from_secs(30),
            "the apply takes its lease",
            || async { !leases(&evals(&base).await).is_empty() },
        )
        .await;
        common::evalctl_on(dir.path(), &["force-unlock", "--auto-approve"], &base, &[]).await
    };
    let (applied, unlocked) = tokio::join!(apply, unlock);
    assert_eq!(unlocked.code, 0, "{}", unlocked.transcript());
    assert_eq!(applied.code, 1, "{}", applied.transcript());
    assert!(
        applied
            .stdout
            .contains("not sent: the lease on the project lapsed"),
        "{}",
        applied.transcript()
    );
    assert!(
        applied
            .stderr
            .contains("warning: the lease on the project was lost while applying"),
        "{}",
        applied.transcript()
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_finds_evals_another_job_prunes_while_it_lists_them_gone() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut kept = config();
    kept.data_dir = Some(data.path().to_path_buf());
    let server = start(kept.clone()).await;
    let dir = project();
    let applied = apply(dir.path(), &server.base_url(), &[]).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    server.shutdown().await;
    // Each eval is deleted as its runs are listed, as another job's `apply --prune` would
    // between this plan's listing of evals and of their runs.
    kept.misbehave = Some(evalctl::emulator::misbehavior::Misbehavior::PrunedWhileListed);
    let server = start(kept).await;
    let base = server.base_url();
    let plan = plan_refreshed(dir.path(), &base).await;
    assert_eq!(plan.code, 2, "changes: {}", plan.transcript());
    for key in ["capitals", "rivers"] {
        assert!(
            plan.stdout.contains(&format!("+ create eval `{key}`")),
            "{}",
            plan.transcript()
        );
    }
    assert!(
        plan.stderr
            .contains(") was deleted while it was being read, by another job or by hand; it is taken as gone\n"),
        "{}",
        plan.transcript()
    );
    assert!(evals(&base)
        .await
        .iter()
        .all(|e| !e.metadata.contains_key("evalctl_key")));
    server.shutdown().await;
}
