//! `evalctl runs` and `evalctl results` end to end: a project applied to the emulator, its
//! runs awaited through the API, then the real binary's listings compared with what the
//! service answers to the same filters, each output format parsed, and the errors a user
//! meets when a key is wrong.

mod common;
mod emulator_support;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Outcome;
use emulator_support::{config, start};
use evalctl::api::wire::{Eval, EvalRun};
use evalctl::api::{Client, Connection};
use evalctl::emulator::Server;
use serde_json::Value;

async fn evalctl(dir: &Path, args: &[&str], base: &str) -> Outcome {
    common::evalctl_on(dir, args, base, &[]).await
}

/// Runs `evalctl` and fails the test unless it exits 0.
async fn ok(dir: &Path, args: &[&str], base: &str) -> Outcome {
    let outcome = evalctl(dir, args, base).await;
    assert_eq!(outcome.code, 0, "{args:?}\n{}", outcome.transcript());
    outcome
}

fn client(base: &str) -> Client {
    Client::new(
        &Connection::local(base).unwrap_or_else(|e| panic!("{e}")),
        4,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

const EVALS: &str = r#"evals:
  capitals:
    name: Capitals
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { city: { type: string }, answer: { type: string } }, required: [city, answer] }
    testing_criteria:
      - { type: string_check, name: names it, input: "{{item.answer}}", reference: "{{item.city}}", operation: ilike }
      - { type: text_similarity, name: close, input: "{{item.answer}}", reference: "{{item.city}}", evaluation_metric: fuzzy_match, pass_threshold: 0.8 }
    runs:
      nightly:
        data_source: { type: jsonl, source: { type: file, path: data/capitals.jsonl } }
  inline:
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { a: { type: string } }, required: [a] }
    testing_criteria:
      - { type: string_check, name: same, input: "{{item.a}}", reference: x, operation: eq }
    runs:
      once:
        data_source: { type: jsonl, source: { type: file_content, content: [ { item: { a: x } }, { item: { a: y } } ] } }
"#;

/// Five rows: three pass both graders, two fail; one has a comma and quotes for the CSV.
const ROWS: &str = r#"{"item": {"city": "Paris", "answer": "Paris"}}
{"item": {"city": "Rome", "answer": "Milan"}}
{"item": {"city": "Washington, D.C.", "answer": "Washington, D.C."}}
{"item": {"city": "Oslo", "answer": "the \"capital\" is Bergen"}}
{"item": {"city": "Bern", "answer": "Bern"}}
"#;

use common::write;

/// An emulator with the project applied and every run finished.
async fn applied() -> (Server, String, tempfile::TempDir) {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: results-test\n");
    write(dir.path(), "evals.yaml", EVALS);
    write(dir.path(), "data/capitals.jsonl", ROWS);
    ok(dir.path(), &["apply", "--auto-approve"], &base).await;
    finish_runs(&base).await;
    (server, base, dir)
}

/// Polls every run on the service until each is terminal.
async fn finish_runs(base: &str) {
    let client = client(base);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut pending = 0;
        for eval in evals(&client).await {
            for run in runs(&client, &eval.id).await {
                pending += usize::from(!matches!(
                    run.status.as_str(),
                    "completed" | "failed" | "canceled"
                ));
            }
        }
        if pending == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{pending} runs never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The service's items with each result named as the manifest names its grader (the
/// service's `<name>-<uuid>` ids are what `results` translates).
fn named(mut items: Vec<Value>) -> Value {
    for item in &mut items {
        for result in item["results"].as_array_mut().into_iter().flatten() {
            let id = result["name"].as_str().unwrap_or_default().to_string();
            result["name"] = Value::from(evalctl::api::wire::grader_name(&id));
        }
    }
    Value::Array(items)
}

async fn evals(client: &Client) -> Vec<Eval> {
    client.list_evals().await.unwrap_or_else(|e| panic!("{e}"))
}

async fn runs(client: &Client, eval_id: &str) -> Vec<EvalRun> {
    client
        .list_runs(eval_id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The live eval with `key` and its newest run.
async fn live_run(client: &Client, key: &str) -> (String, String) {
    let eval = evals(client)
        .await
        .into_iter()
        .find(|e| {
            e.metadata.get("evalctl_key").map(String::as_str) == Some(key)
                && !e.metadata.contains_key("evalctl_state")
        })
        .unwrap_or_else(|| panic!("no live eval {key}"));
    let run = runs(client, &eval.id)
        .await
        .pop()
        .unwrap_or_else(|| panic!("no run on {key}"));
    (eval.id, run.id)
}

fn snapshot(name: &str, text: &str) {
    common::filters().bind(|| insta::assert_snapshot!(name, text));
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_lists_live_and_superseded_runs_with_their_counts() {
    let (server, base, dir) = applied().await;
    let client = client(&base);
    let (old_eval, old_run) = live_run(&client, "capitals").await;
    // A grader change supersedes `capitals`; its run stays in the history, reachable by id.
    let text = EVALS
        .replace("operation: ilike", "operation: like")
        .replace("      nightly:", "      weekly:");
    write(dir.path(), "evals.yaml", &text);
    ok(dir.path(), &["apply", "--auto-approve"], &base).await;
    finish_runs(&base).await;

    let all = ok(dir.path(), &["runs"], &base).await;
    let lines: Vec<&str> = all.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", all.stdout);
    assert!(
        lines[1].starts_with("capitals  live        weekly "),
        "{}",
        all.stdout
    );
    assert!(
        lines[2].starts_with("capitals  superseded  nightly"),
        "{}",
        all.stdout
    );
    assert!(
        lines[3].starts_with("inline    live        once"),
        "{}",
        all.stdout
    );
    for (line, counts) in [
        (lines[1], "3       2       0        5      60.0%"),
        (lines[2], "3       2       0        5      60.0%"),
        (lines[3], "1       1       0        2      50.0%"),
    ] {
        assert!(line.contains(counts), "{line}");
    }
    snapshot("runs_human", &all.stdout);

    let by_id = ok(
        dir.path(),
        &["results", "capitals", &old_run, "--output", "json"],
        &base,
    )
    .await;
    let expected = client
        .output_items(&old_eval, &old_run, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let page: Value = serde_json::from_str(&by_id.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page["data"], named(expected.data));
    assert!(
        by_id.stderr.contains("of the superseded eval"),
        "{}",
        by_id.stderr
    );
    let old_key = evalctl(dir.path(), &["results", "capitals", "nightly"], &base).await;
    assert_eq!(old_key.code, 1, "{}", old_key.transcript());
    assert!(
        old_key.stderr.contains(
            "error: eval `capitals` has no run with key or id `nightly` on its live eval; \
             superseded evals have runs with that key: pass a run id from `evalctl runs`"
        ),
        "{}",
        old_key.stderr
    );

    let one = ok(dir.path(), &["runs", "inline"], &base).await;
    assert_eq!(one.stdout.lines().count(), 2, "{}", one.stdout);
    let by_path = ok(
        Path::new("/"),
        &["runs", "inline", "--project", &path(&dir)],
        &base,
    )
    .await;
    assert_eq!(by_path.stdout, one.stdout);
    let elsewhere = ok(Path::new("/"), &["runs", "-p", &path(&dir)], &base).await;
    assert_eq!(elsewhere.stdout, all.stdout);
    server.shutdown().await;
}

fn path(dir: &tempfile::TempDir) -> String {
    dir.path().to_string_lossy().into_owned()
}

/// Runs `evalctl ARGS` with its stdout a pipe whose reader is gone before anything is
/// written (as `evalctl runs | head -1` is once `head` has its line).
async fn into_closed_pipe(dir: &Path, args: &[&str], base: &str) -> Outcome {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_evalctl"));
    command
        .args(args)
        .args(["--target", "azure", "--endpoint", base])
        .current_dir(dir)
        .env("AZURE_OPENAI_API_KEY", "test-key")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|e| panic!("{e}"));
    drop(child.stdout.take());
    let output = child
        .wait_with_output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_that_stops_early_is_not_an_error() {
    let (server, base, dir) = applied().await;
    finish_runs(&base).await;
    for args in [
        &["runs"][..],
        &["results", "capitals", "nightly"],
        &["results", "capitals", "nightly", "--output", "csv"],
        &["plan"],
    ] {
        let outcome = into_closed_pipe(dir.path(), args, &base).await;
        assert_eq!(outcome.code, 0, "{args:?}\n{}", outcome.transcript());
        // `results` names the run on stderr before the page; nothing else is said.
        assert!(
            !outcome.stderr.contains("error") && !outcome.stderr.contains("panicked"),
            "{args:?}\n{}",
            outcome.stderr
        );
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn results_give_the_service_s_page_for_every_filter() {
    let (server, base, dir) = applied().await;
    let client = client(&base);
    let (eval_id, run_id) = live_run(&client, "capitals").await;
    let all = client
        .output_items(&eval_id, &run_id, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.data.len(), 5);
    let second = all.data[1]["id"].as_str().unwrap_or_default().to_string();
    let cases: [&[&str]; 8] = [
        &[],
        &["--status", "pass"],
        &["--status", "fail"],
        &["--limit", "2"],
        &["--limit", "2", "--after", &second],
        &["--order", "desc"],
        &["--order", "desc", "--limit", "1", "--status", "fail"],
        &["--after", &second, "--status", "pass"],
    ];
    for flags in cases {
        let query: Vec<(&str, &str)> = flags
            .chunks(2)
            .map(|pair| (pair[0].trim_start_matches("--"), pair[1]))
            .collect();
        let expected = client
            .output_items(&eval_id, &run_id, &query)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for run in ["nightly", run_id.as_str()] {
            let args = [&["results", "capitals", run, "--output", "json"][..], flags].concat();
            let page: Value = serde_json::from_str(&ok(dir.path(), &args, &base).await.stdout)
                .unwrap_or_else(|e| panic!("{args:?}: {e}"));
            assert_eq!(page["data"], named(expected.data.clone()), "{args:?}");
            assert_eq!(page["has_more"], expected.has_more, "{args:?}");
            assert_eq!(page["last_id"].as_str(), expected.last_id.as_deref());
        }
    }
    let statuses = |items: &[Value]| -> Vec<String> {
        items.iter().map(|i| i["status"].to_string()).collect()
    };
    assert_eq!(
        statuses(&all.data),
        ["\"pass\"", "\"fail\"", "\"pass\"", "\"fail\"", "\"pass\""]
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_output_format_parses() {
    let (server, base, dir) = applied().await;
    let results = |format: &'static str, extra: &'static [&'static str]| {
        let args = [
            &["results", "capitals", "nightly", "--output", format][..],
            extra,
        ]
        .concat();
        let dir = dir.path().to_path_buf();
        let base = base.clone();
        async move { ok(&dir, &args, &base).await }
    };

    let jsonl = results("jsonl", &[]).await;
    let lines: Vec<Value> = jsonl
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(|l| l["object"] == "eval.run.output_item"));
    assert!(
        jsonl.stderr.contains("5 items, has_more: false"),
        "{}",
        jsonl.stderr
    );

    let csv = results("csv", &[]).await;
    let records = csv_records(&csv.stdout);
    assert_eq!(
        records[0],
        [
            "id",
            "status",
            "datasource_item_id",
            "names it passed",
            "names it score",
            "close passed",
            "close score",
            "datasource_item"
        ]
    );
    assert_eq!(records.len(), 6, "{}", csv.stdout);
    assert!(records[1..].iter().all(|r| r.len() == 8));
    assert_eq!(
        records[3][7],
        r#"{"city":"Washington, D.C.","answer":"Washington, D.C."}"#
    );
    assert_eq!(&records[2][1..5], ["fail", "1", "false", "0.0"]);

    let paged = results("jsonl", &["--limit", "2"]).await;
    assert_eq!(paged.stdout.lines().count(), 2);
    assert!(paged.stderr.contains("has_more: true"), "{}", paged.stderr);
    assert!(
        paged.stderr.contains("next page: --after outputitem_"),
        "{}",
        paged.stderr
    );

    let human = results("human", &[]).await;
    snapshot("results_human", &human.transcript());
    let failed = results("human", &["--status", "fail", "--limit", "1"]).await;
    snapshot("results_human_fail_page", &failed.transcript());
    server.shutdown().await;
}

/// RFC 4180 records: quotes group, doubled quotes escape, line breaks end records.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => record.push(std::mem::take(&mut field)),
            ('\n', false) => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (c, _) => field.push(c),
        }
    }
    records
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_keys_and_service_errors_exit_1_with_a_clear_message() {
    let (server, base, dir) = applied().await;
    for (args, message) in [
        (
            &["runs", "capitols"][..],
            "error: no eval with key `capitols` in project `results-test` on the service (did you mean `capitals`?)",
        ),
        (
            &["results", "capitols", "nightly"][..],
            "error: no eval with key `capitols` in project `results-test` on the service (did you mean `capitals`?)",
        ),
        (
            &["results", "capitals", "nightlie"][..],
            "error: eval `capitals` has no run with key or id `nightlie` (did you mean `nightly`?)",
        ),
        (
            &["results", "capitals", "evalrun_0"][..],
            "error: eval `capitals` has no run with key or id `evalrun_0`",
        ),
        (
            &["results", "capitals", "nightly", "--after", "outputitem_x"][..],
            "Invalid 'after': no object with id 'outputitem_x'.",
        ),
    ] {
        let outcome = evalctl(dir.path(), args, &base).await;
        assert_eq!(outcome.code, 1, "{args:?}\n{}", outcome.transcript());
        assert!(outcome.stderr.contains(message), "{args:?}\n{}", outcome.stderr);
        assert!(outcome.stdout.is_empty(), "{args:?}\n{}", outcome.stdout);
    }
    let bad_limit = evalctl(
        dir.path(),
        &["results", "capitals", "nightly", "--limit", "101"],
        &base,
    )
    .await;
    assert_eq!(
        bad_limit.code,
        1,
        "bad input exits 1 (design §6): {}",
        bad_limit.transcript()
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn results_all_streams_every_page_in_every_format_with_the_manifests_grader_names() {
    let server = start(config()).await;
    let base = server.base_url();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: results-all\n");
    write(dir.path(), "evals.yaml", "evals:\n  big:\n    data_source_config:\n      type: custom\n      item_schema: { type: object, properties: { a: { type: string } }, required: [a] }\n    testing_criteria:\n      - { type: string_check, name: same, input: \"{{item.a}}\", reference: x, operation: eq }\n    runs:\n      all:\n        data_source: { type: jsonl, source: { type: file, path: data/big.jsonl } }\n");
    const ROWS: usize = 20_000;
    let rows: String = (0..ROWS)
        .map(|i| {
            format!(
                "{{\"item\": {{\"a\": \"{}\"}}}}\n",
                if i % 4 == 0 { "x" } else { "y" }
            )
        })
        .collect();
    write(dir.path(), "data/big.jsonl", &rows);
    ok(dir.path(), &["apply", "--auto-approve"], &base).await;
    finish_runs(&base).await;

    let jsonl = ok(
        dir.path(),
        &["results", "big", "all", "--all", "-o", "jsonl"],
        &base,
    )
    .await;
    let items: Vec<Value> = jsonl
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(items.len(), ROWS);
    let mut ids: Vec<&str> = items.iter().filter_map(|i| i["id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), ROWS, "every item once");
    assert!(
        items.iter().all(|i| i["results"][0]["name"] == "same"),
        "the grader as the manifest names it: {}",
        items[0]
    );
    let passed = items
        .iter()
        .filter(|i| i["results"][0]["passed"] == true)
        .count();
    assert_eq!(passed, ROWS / 4);
    assert!(
        jsonl
            .stderr
            .ends_with(&format!("{ROWS} items in 200 pages\n")),
        "{}",
        jsonl.stderr
    );

    let json = ok(
        dir.path(),
        &["results", "big", "all", "--all", "--output", "json"],
        &base,
    )
    .await;
    let whole: Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(whole["data"].as_array().map(Vec::len), Some(ROWS));
    assert_eq!(whole["has_more"], false);
    assert_eq!(whole["last_id"], items[ROWS - 1]["id"]);

    let csv = ok(
        dir.path(),
        &[
            "results", "big", "all", "--all", "-o", "csv", "--status", "pass",
        ],
        &base,
    )
    .await;
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "id,status,datasource_item_id,same passed,same score,datasource_item"
    );
    assert_eq!(
        lines.len(),
        1 + ROWS / 4,
        "one header, then the passing rows"
    );

    // One page still says how to ask for the next.
    let page = ok(
        dir.path(),
        &["results", "big", "all", "-o", "jsonl", "--limit", "3"],
        &base,
    )
    .await;
    assert_eq!(page.stdout.lines().count(), 3);
    assert!(
        page.stderr.contains("(next page: --after "),
        "{}",
        page.stderr
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_for_scripts_as_json_and_csv() {
    let (server, base, dir) = applied().await;
    let json = ok(dir.path(), &["runs", "-o", "json"], &base).await;
    let runs: Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}"));
    let nightly = runs
        .as_array()
        .and_then(|runs| runs.iter().find(|r| r["run_key"] == "nightly"))
        .unwrap_or_else(|| panic!("{runs}"));
    assert_eq!(nightly["eval_key"], "capitals");
    assert_eq!(nightly["state"], "live");
    assert_eq!(nightly["status"], "completed");
    assert_eq!(nightly["result_counts"]["total"], 5);
    assert_eq!(nightly["pass_rate"], 0.6);
    assert_eq!(
        nightly["graders"],
        serde_json::json!([{"name": "names it", "passed": 3, "failed": 2}, {"name": "close", "passed": 3, "failed": 2}])
    );
    let csv = ok(dir.path(), &["runs", "--output", "csv"], &base).await;
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "eval,state,run,run_id,status,created,passed,failed,errored,total,pass_rate,report"
    );
    assert_eq!(lines.len(), 3, "a header and two runs: {}", csv.stdout);
    server.shutdown().await;
}
