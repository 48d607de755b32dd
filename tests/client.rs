//! The Evals API client against the emulator over real HTTP: complete pagination, retries
//! of failures that can pass (and none of those that cannot), the service's message in
//! errors, and authentication.

mod emulator_support;

use std::time::Duration;

use emulator_support::{config, start};
use evalctl::api::retry::{Backoff, RetryPolicy};
use evalctl::api::target::{self, TargetInputs};
use evalctl::api::{ApiError, Auth, Client, Connection, Secret};
use evalctl::manifest::model::Target;
use serde_json::{json, Value};

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_retries: 8,
        backoff: Backoff {
            first: Duration::from_millis(5),
            factor: 2.0,
            cap: Duration::from_millis(50),
        },
        max_retry_after: Duration::from_millis(50),
        max_rate_limited_wait: Duration::from_secs(1),
    }
}

fn connect(base: &str, auth: Auth) -> Client {
    let mut connection = Connection::local(base).unwrap_or_else(|e| panic!("{e}"));
    connection.auth = auth;
    Client::with_policy(&connection, 8, quick()).unwrap_or_else(|e| panic!("{e}"))
}

fn eval_body(i: usize) -> Value {
    json!({
        "name": format!("eval {i}"),
        "metadata": {"evalctl_project": "p", "evalctl_key": format!("k{i}")},
        "data_source_config": {"type": "custom", "item_schema": {"type": "object", "properties": {"a": {"type": "string"}}}},
        "testing_criteria": [{"type": "string_check", "name": "s", "input": "{{item.a}}", "reference": "x", "operation": "eq"}]
    })
}

#[tokio::test]
async fn lists_every_page_of_250_evals() {
    let server = start(config()).await;
    let client = connect(&server.base_url(), Auth::None);
    for i in 0..250 {
        client
            .create_eval(&eval_body(i))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let before = client.requests();
    let evals = client.list_evals().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(evals.len(), 250);
    assert_eq!(client.requests() - before, 3, "ceil(250 / 100) pages");
    let mut ids: Vec<&str> = evals.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 250, "no eval twice");
    server.shutdown().await;
}

#[tokio::test]
async fn fetches_every_page_of_an_evals_130_runs() {
    let server = start(config()).await;
    let client = connect(&server.base_url(), Auth::None);
    let eval = client
        .create_eval(&eval_body(0))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let run = json!({"name": "r", "data_source": {"type": "jsonl", "source": {"type": "file_content", "content": [{"item": {"a": "x"}}]}}});
    for _ in 0..130 {
        client
            .create_run(&eval.id, &run)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let before = client.requests();
    let what = evalctl::api::Fetch {
        project: "p",
        runs: evalctl::api::Runs::OfLive,
    };
    let remote = evalctl::api::fetch(&client, &what)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(client.requests() - before, 3, "1 page of evals, 2 of runs");
    let mut ids: Vec<&str> = remote.evals[0].runs.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 130, "every run once");
    server.shutdown().await;
}

#[tokio::test]
async fn retries_injected_faults_until_the_listing_succeeds() {
    let mut faulty = config();
    faulty.fault_rate = 0.5;
    faulty.seed = 7;
    let server = start(faulty).await;
    let client = connect(&server.base_url(), Auth::None);
    let evals = client.list_evals().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(evals.is_empty());
    for _ in 0..10 {
        client.list_evals().await.unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(
        client.requests() > 11,
        "with half the requests failing, some were retried ({} sent)",
        client.requests()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_bad_request_is_not_retried_and_carries_the_service_message() {
    let server = start(config()).await;
    let client = connect(&server.base_url(), Auth::None);
    let mut body = eval_body(0);
    body["testing_criteria"][0]["operation"] = json!("equals");
    let error = client
        .create_eval(&body)
        .await
        .err()
        .unwrap_or_else(|| panic!("accepted a bad operation"));
    assert_eq!(error.status(), Some(400));
    assert_eq!(client.requests(), 1, "a 400 is not retried");
    let message = error.to_string();
    assert!(
        message.starts_with("POST /openai/v1/evals: 400 Bad Request: "),
        "{message}"
    );
    assert!(
        message.contains("operation"),
        "the service's message names the field: {message}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn authenticates_with_the_key_and_never_shows_it() {
    let mut guarded = config();
    guarded.api_key = Some("sk-test-SECRET-1234".into());
    let server = start(guarded).await;
    let wrong = connect(
        &server.base_url(),
        Auth::ApiKey(Secret::new("sk-wrong-SECRET-9999")),
    );
    let error = wrong
        .list_evals()
        .await
        .err()
        .unwrap_or_else(|| panic!("a wrong key was accepted"));
    assert_eq!(error.status(), Some(401));
    assert_eq!(wrong.requests(), 1, "a 401 is not retried");
    assert!(
        !format!("{error} {error:?}").contains("SECRET"),
        "{error:?}"
    );
    for auth in [
        Auth::ApiKey(Secret::new("sk-test-SECRET-1234")),
        Auth::Bearer(Secret::new("sk-test-SECRET-1234")),
    ] {
        let client = connect(&server.base_url(), auth);
        assert!(client.list_evals().await.is_ok());
    }
    server.shutdown().await;
}

/// A connection made as `evalctl` makes it for `target`, from an environment.
fn connect_as(target: Target, endpoint: &str, env: &[(&str, &str)]) -> Client {
    let env = |name: &str| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let inputs = TargetInputs {
        cli_target: Some(target),
        cli_endpoint: Some(endpoint),
        settings_target: None,
        auth: None,
        env: &env,
    };
    let (connection, _) = target::remote(target, &inputs).unwrap_or_else(|e| panic!("{e}"));
    Client::with_policy(&connection, 8, quick()).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn each_target_sends_its_credential_as_its_service_wants() {
    let mut guarded = config();
    guarded.api_key = Some("sk-test-SECRET-1234".into());
    let server = start(guarded).await;
    let base = server.base_url();
    let key = "sk-test-SECRET-1234";
    // OpenAI's emulated path takes Bearer only: a key sent as `api-key` would get a 401.
    let clients = [
        connect_as(
            Target::Openai,
            &format!("{base}/v1"),
            &[("OPENAI_API_KEY", key)],
        ),
        connect_as(Target::Azure, &base, &[("AZURE_OPENAI_API_KEY", key)]),
        connect_as(Target::Azure, &base, &[("AZURE_OPENAI_AD_TOKEN", key)]),
        // The key wins over a token.
        connect_as(
            Target::Azure,
            &base,
            &[
                ("AZURE_OPENAI_API_KEY", key),
                ("AZURE_OPENAI_AD_TOKEN", "stale"),
            ],
        ),
    ];
    for client in clients {
        let listed = client.list_evals().await;
        assert!(listed.is_ok(), "{}: {listed:?}", client.base_url());
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    let server = start(config()).await;
    let base = server.base_url();
    server.shutdown().await;
    let client = connect(&base, Auth::None);
    let error = client
        .list_evals()
        .await
        .err()
        .unwrap_or_else(|| panic!("a stopped server answered"));
    assert!(matches!(error, ApiError::Transport { .. }), "{error:?}");
    assert_eq!(client.requests(), 9, "the first attempt and eight retries");
}

#[tokio::test]
async fn lists_files_past_the_services_page_of_10000() {
    let server = start(config()).await;
    let client = connect(&server.base_url(), Auth::None);
    let mut uploads = tokio::task::JoinSet::new();
    for i in 0..10_001 {
        let client = client.clone();
        uploads.spawn(async move {
            client
                .upload_file(&format!("f{i}.jsonl"), b"{\"item\": {}}\n".to_vec())
                .await
                .map(|f| f.id)
        });
    }
    while let Some(uploaded) = uploads.join_next().await {
        uploaded
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let before = client.requests();
    let files = client.list_files().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(files.len(), 10_001);
    assert_eq!(
        client.requests() - before,
        2,
        "one full page, then the rest"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_service_is_waited_for_and_no_request_runs_out_of_retries() {
    let mut limited = config();
    limited.rate_limit = std::num::NonZeroU32::new(40);
    let server = start(limited).await;
    // The default policy: what a user's apply has.
    let connection = Connection::local(&server.base_url()).unwrap_or_else(|e| panic!("{e}"));
    let client = Client::new(&connection, 8).unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    let mut creates = tokio::task::JoinSet::new();
    for i in 0..120 {
        let client = client.clone();
        let body = json!({"name": format!("e{i}"),
            "data_source_config": {"type": "custom", "item_schema": {"type": "object", "properties": {}}},
            "testing_criteria": [{"type": "string_check", "name": "s", "input": "a", "reference": "a", "operation": "eq"}]});
        creates.spawn(async move { client.create_eval(&body).await.map(|_| ()) });
    }
    while let Some(created) = creates.join_next().await {
        created
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("a create ran out of retries: {e}"));
    }
    let evals = client.list_evals().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(evals.len(), 120, "each created once");
    // 40 at once, then 40 a second: at least 2 s; the client adapts rather than hammering.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
    // At the limit a request is refused about once before a token is free for it; the
    // shared pause keeps it from being refused again and again.
    let sent = server.take_requests().len();
    assert!(sent < 121 * 3, "{sent} requests for 121 answers");
    server.shutdown().await;
}
