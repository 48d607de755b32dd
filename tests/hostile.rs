//! The client never trusts the service: against an emulator that misbehaves on purpose
//! (`serve --misbehave`), evalctl refuses ids that would leave their path segment, escapes
//! what would paint the terminal, stops following a listing that never ends, gives up on
//! a stalled answer after a bounded number of attempts (saying so), reads no answer past its
//! limit, and names a redirect it does not follow.

mod common;
mod emulator_support;

use std::path::Path;

use common::{write, Outcome};
use emulator_support::{config, start};
use evalctl::emulator::misbehavior::Misbehavior;
use evalctl::emulator::Server;

const EVALS: &str = r#"evals:
  inline:
    name: "Inline"
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { a: { type: string } }, required: [a] }
    testing_criteria:
      - { type: string_check, name: "same\e[2J", input: "{{item.a}}", reference: x, operation: eq }
    runs:
      once:
        data_source: { type: jsonl, source: { type: file_content, content: [ { item: { a: "x\u001b[2J" } } ] } }
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: hostile\n");
    write(dir.path(), "evals.yaml", EVALS);
    dir
}

async fn misbehaving(misbehavior: Misbehavior) -> Server {
    let mut config = config();
    config.misbehave = Some(misbehavior);
    start(config).await
}

async fn evalctl(dir: &Path, args: &[&str], server: &Server) -> Outcome {
    common::evalctl_on(dir, args, &server.base_url(), &[]).await
}

/// Creates an eval of the project, key `inline`, as an earlier apply would have.
async fn create_inline(server: &Server) {
    client(server)
        .create_eval(&serde_json::json!({
            "metadata": {"evalctl_project": "hostile", "evalctl_key": "inline"},
            "data_source_config": {"type": "custom", "item_schema": {"type": "object"}},
            "testing_criteria": [],
        }))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Nothing of what the service sent reaches the terminal as a control character.
fn assert_no_control_characters(outcome: &Outcome) {
    for (name, text) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{name} has a raw control character:\n{text:?}"
        );
    }
}

fn snapshot(name: &str, outcome: &Outcome, server: &Server) {
    let shown = outcome
        .transcript()
        .replace(&server.base_url(), "[EMULATOR]");
    common::filters().bind(|| insta::assert_snapshot!(name, shown));
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_that_would_leave_their_path_are_refused_and_shown_escaped() {
    let server = misbehaving(Misbehavior::HostileIds).await;
    let dir = project();
    let applied = evalctl(dir.path(), &["apply", "--auto-approve"], &server).await;
    assert_eq!(applied.code, 1, "{}", applied.transcript());
    assert_no_control_characters(&applied);
    // The lease apply takes first has an id that is not one: nothing is written.
    snapshot("hostile_ids_apply", &applied, &server);
    // An eval of the project made with such an id stops the next plan at the listing.
    create_inline(&server).await;
    let planned = evalctl(dir.path(), &["plan"], &server).await;
    assert_eq!(planned.code, 1, "{}", planned.transcript());
    assert_no_control_characters(&planned);
    snapshot("hostile_ids_plan", &planned, &server);
    let sent = server.take_requests();
    assert!(
        sent.iter()
            .all(|r| !r.contains("files") && !r.contains("%3F") && !r.contains("..")),
        "{sent:#?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn text_from_the_service_reaches_the_terminal_escaped() {
    let server = start(config()).await;
    let dir = project();
    let applied = evalctl(dir.path(), &["apply", "--auto-approve", "--wait"], &server).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    // Someone with access to the service rewrites the tags evalctl reads back.
    let client = client(&server);
    let evals = client.list_evals().await.unwrap_or_else(|e| panic!("{e}"));
    let mut metadata = evals[0].metadata.clone();
    metadata.insert("evalctl_key".into(), "inline\u{1b}[2J\nforged: line".into());
    let body = serde_json::json!({"metadata": metadata, "name": "name\u{7}\u{1b}]0;title\u{7}"});
    client
        .update_eval(&evals[0].id, &body)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let runs = evalctl(dir.path(), &["runs"], &server).await;
    assert_eq!(runs.code, 0, "{}", runs.transcript());
    assert_no_control_characters(&runs);
    assert!(
        runs.stdout.contains("inline\\u{1b}[2J\\nforged: line"),
        "{}",
        runs.stdout
    );
    let planned = evalctl(dir.path(), &["plan"], &server).await;
    assert_eq!(planned.code, 0, "{}", planned.transcript());
    assert_no_control_characters(&planned);
    let updated = evalctl(dir.path(), &["apply", "--auto-approve"], &server).await;
    assert_eq!(updated.code, 0, "{}", updated.transcript());
    assert_no_control_characters(&updated);
    let results = evalctl(dir.path(), &["results", "inline", "once"], &server).await;
    assert_eq!(results.code, 0, "{}", results.transcript());
    assert_no_control_characters(&results);
    server.shutdown().await;
}

fn client(server: &Server) -> evalctl::api::Client {
    let connection =
        evalctl::api::Connection::local(&server.base_url()).unwrap_or_else(|e| panic!("{e}"));
    evalctl::api::Client::new(&connection, 2).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_that_never_ends_is_followed_a_bounded_number_of_pages() {
    let server = misbehaving(Misbehavior::EndlessPages).await;
    let dir = project();
    let planned = evalctl(dir.path(), &["plan"], &server).await;
    assert_eq!(planned.code, 1, "{}", planned.transcript());
    snapshot("endless_pages", &planned, &server);
    let sent = server.take_requests().len();
    assert_eq!(sent, evalctl::api::MAX_PAGES, "one request a page");
    server.shutdown().await;
}

/// An answer that stalls (no byte at all) fails at the stall time, one that trickles (a byte
/// every half second) at four times it; either way a request has three attempts, each said.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_or_trickling_answer_is_given_up_after_a_bounded_number_of_attempts() {
    for (misbehavior, name) in [
        (Misbehavior::Stall, "stall"),
        (Misbehavior::Trickle, "trickle"),
    ] {
        let server = misbehaving(misbehavior).await;
        let dir = project();
        let planned = evalctl(dir.path(), &["plan", "--request-timeout", "1s"], &server).await;
        assert_eq!(planned.code, 1, "{}", planned.transcript());
        snapshot(name, &planned, &server);
        assert_eq!(
            server.take_requests().len(),
            3,
            "{name}: the first attempt and two more"
        );
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_past_the_limit_is_not_read() {
    let server = misbehaving(Misbehavior::HugeBody).await;
    let dir = project();
    let planned = evalctl(dir.path(), &["plan"], &server).await;
    assert_eq!(planned.code, 1, "{}", planned.transcript());
    snapshot("huge_body", &planned, &server);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_is_named_and_not_followed() {
    let server = misbehaving(Misbehavior::Redirect).await;
    let dir = project();
    let planned = evalctl(dir.path(), &["plan"], &server).await;
    assert_eq!(planned.code, 1, "{}", planned.transcript());
    snapshot("redirect", &planned, &server);
    server.shutdown().await;
}

/// A 404 on an eval's runs is taken for the eval deleted (by another job) only when the eval
/// is then not found either: here it is there, so the plan fails rather than plan it anew.
#[tokio::test(flavor = "multi_thread")]
async fn a_404_on_runs_of_an_eval_that_is_there_fails_the_plan() {
    let server = misbehaving(Misbehavior::RunsNotFound).await;
    let dir = project();
    create_inline(&server).await;
    let planned = evalctl(dir.path(), &["plan"], &server).await;
    assert_eq!(planned.code, 1, "{}", planned.transcript());
    assert!(
        planned
            .stderr
            .contains("/runs: 404 Not Found: Resource not found."),
        "{}",
        planned.transcript()
    );
    server.shutdown().await;
}
