//! Entra ID for real, as far as this machine can: stand-in `az` and `azd` executables on
//! PATH print their JSON as the real ones do, a fake managed-identity endpoint answers on
//! 127.0.0.1, and the emulator takes the token as its key. The chain is tried in order, the
//! plan names the credential it used, tokens are cached and fetched again before they expire,
//! and when nothing works the error says what was tried and why each failed.

mod common;
mod emulator_support;

use std::path::Path;
use std::process::Stdio;

use axum::routing::get;
use axum::{Json, Router};
use common::{write, Outcome};
use emulator_support::{config, start};
use serde_json::json;

const PROJECT: &str = r#"evals:
  tiny:
    data_source_config:
      type: custom
      item_schema: { type: object, properties: { a: { type: string } }, required: [a] }
    testing_criteria:
      - { type: string_check, name: same, input: "{{item.a}}", reference: x, operation: eq }
    runs:
      once:
        data_source: { type: jsonl, source: { type: file_content, content: [ { item: { a: x } } ] } }
"#;

const TOKEN: &str = "entra-test-token";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(dir.path(), "evalctl.yaml", "project: entra\n");
    write(dir.path(), "evals.yaml", PROJECT);
    dir
}

/// A directory of stand-in tools, the only one on PATH.
struct Tools {
    dir: tempfile::TempDir,
}

impl Tools {
    fn new() -> Tools {
        Tools {
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
        }
    }

    /// A tool that writes its arguments to `<name>.calls` and runs `body` (POSIX sh).
    fn add(&self, name: &str, body: &str) {
        let path = self.dir.path().join(name);
        let calls = self.dir.path().join(format!("{name}.calls"));
        let script = format!("#!/bin/sh\necho \"$@\" >> '{}'\n{body}\n", calls.display());
        std::fs::write(&path, script).unwrap_or_else(|e| panic!("{e}"));
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&path, mode).unwrap_or_else(|e| panic!("{e}"));
    }

    /// `az account get-access-token` as the Azure CLI answers it, the token valid for
    /// `seconds` from now (PATH holds no `date` to ask the time).
    fn az(&self, seconds: u64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let answer =
            json!({"accessToken": TOKEN, "expires_on": now + seconds, "tokenType": "Bearer"});
        self.add("az", &format!("echo '{answer}'"));
    }

    fn calls(&self, name: &str) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join(format!("{name}.calls")));
        text.unwrap_or_default().lines().map(String::from).collect()
    }
}

/// `evalctl ARGS --target azure --endpoint BASE` (ARGS alone when they name a target) with no
/// credential in the environment but `env`, and only the stand-in tools on PATH.
async fn evalctl(
    dir: &Path,
    args: &[&str],
    base: &str,
    tools: &Tools,
    env: &[(&str, &str)],
) -> Outcome {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_evalctl"));
    command.args(args);
    if !args.contains(&"--target") {
        command.args(["--target", "azure", "--endpoint", base]);
    }
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", tools.dir.path())
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let run = tokio::time::timeout(std::time::Duration::from_secs(120), command.output());
    let output = run
        .await
        .unwrap_or_else(|_| panic!("evalctl {args:?} did not finish"))
        .unwrap_or_else(|e| panic!("{e}"));
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn first_line(outcome: &Outcome) -> &str {
    outcome.stdout.lines().next().unwrap_or_default()
}

async fn keyed_emulator() -> evalctl::emulator::Server {
    let mut config = config();
    config.api_key = Some(TOKEN.into());
    start(config).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_azure_cli_gives_the_token_once_while_it_is_valid() {
    let server = keyed_emulator().await;
    let dir = project();
    let tools = Tools::new();
    tools.az(3600);
    let applied = evalctl(
        dir.path(),
        &["apply", "--auto-approve", "--wait"],
        &server.base_url(),
        &tools,
        &[],
    )
    .await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    assert!(
        first_line(&applied).ends_with("with Entra ID tokens from the Azure CLI (az login)"),
        "{}",
        applied.stdout
    );
    let calls = tools.calls("az");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0],
        "account get-access-token -o json --scope https://cognitiveservices.azure.com/.default"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foundry_project_takes_the_azure_cli_s_token_for_its_own_scope() {
    let server = keyed_emulator().await;
    let dir = project();
    let tools = Tools::new();
    tools.az(3600);
    let endpoint = format!("{}/api/projects/entra", server.base_url());
    let args = [
        "apply",
        "--auto-approve",
        "--wait",
        "--target",
        "foundry",
        "--endpoint",
        &endpoint,
    ];
    let keyed = [("AZURE_OPENAI_API_KEY", "a-key-a-project-refuses")];
    let applied = evalctl(dir.path(), &args, "", &tools, &keyed).await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    assert!(
        first_line(&applied).ends_with("with Entra ID tokens from the Azure CLI (az login)"),
        "{}",
        applied.stdout
    );
    assert!(
        applied.stderr.contains(
            "AZURE_OPENAI_API_KEY is set, but Foundry projects take Entra ID tokens only"
        ),
        "{}",
        applied.stderr
    );
    assert_eq!(
        tools.calls("az"),
        ["account get-access-token -o json --scope https://ai.azure.com/.default"]
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_about_to_expire_is_fetched_again_during_a_long_wait() {
    let server = keyed_emulator().await;
    let dir = project();
    let tools = Tools::new();
    // Four minutes left: inside the five before expiry in which a token is renewed, so
    // every request of the wait asks again.
    tools.az(240);
    let applied = evalctl(
        dir.path(),
        &["apply", "--auto-approve", "--wait"],
        &server.base_url(),
        &tools,
        &[],
    )
    .await;
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let calls = tools.calls("az").len();
    assert!(calls >= 4, "the token was fetched {calls} times");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_developer_cli_is_tried_when_the_azure_cli_is_not_signed_in() {
    let server = keyed_emulator().await;
    let dir = project();
    let tools = Tools::new();
    tools.add(
        "az",
        "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1",
    );
    tools.add(
        "azd",
        &format!("echo '{{\"token\": \"{TOKEN}\", \"expiresOn\": \"2099-01-01T00:00:00Z\"}}'"),
    );
    let planned = evalctl(dir.path(), &["plan"], &server.base_url(), &tools, &[]).await;
    assert_eq!(planned.code, 0, "{}", planned.transcript());
    assert!(
        first_line(&planned)
            .ends_with("with Entra ID tokens from the Azure Developer CLI (azd auth login)"),
        "{}",
        planned.stdout
    );
    assert_eq!(tools.calls("azd").len(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn when_nothing_gives_a_token_the_error_says_what_was_tried_and_why() {
    let server = keyed_emulator().await;
    let dir = project();
    let tools = Tools::new();
    tools.add(
        "az",
        "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1",
    );
    tools.add("azd", "echo '{\"data\": {\"message\": \"not logged in, run `azd auth login` to login\"}}' >&2\nexit 1");
    let missing = dir.path().join("no-such-token-file");
    let planned = evalctl(
        dir.path(),
        &["plan"],
        &server.base_url(),
        &tools,
        &[
            ("AZURE_FEDERATED_TOKEN_FILE", &missing.to_string_lossy()),
            ("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000000"),
            ("AZURE_CLIENT_ID", "11111111-1111-1111-1111-111111111111"),
        ],
    )
    .await;
    assert_eq!(planned.code, 1, "{}", planned.transcript());
    assert!(planned.stdout.is_empty(), "{}", planned.stdout);
    // Whether this host has a metadata endpoint is the host's: that line is left out.
    let shown: Vec<String> = planned
        .transcript()
        .replace(&missing.display().to_string(), "[TOKEN FILE]")
        .lines()
        .filter(|l| !l.starts_with("  tried managed identity"))
        .map(String::from)
        .collect();
    assert!(
        planned.stderr.contains("  tried managed identity: "),
        "{}",
        planned.stderr
    );
    let shown = shown.join("\n");
    common::filters().bind(|| insta::assert_snapshot!(shown));
    assert!(
        server.take_requests().is_empty(),
        "nothing was sent without a token"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_managed_identity_the_host_offers_is_used() {
    let server = keyed_emulator().await;
    // App Service's endpoint, as the crate calls it: GET with the resource, the secret in a
    // header, an answer whose expiry is a string.
    let identity = Router::new().route(
        "/msi/token",
        get(|| async {
            let expires = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() + 3600)
                .unwrap_or_default();
            Json(
                json!({"access_token": TOKEN, "expires_on": expires.to_string(),
                        "token_type": "Bearer", "resource": "https://cognitiveservices.azure.com"}),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let endpoint = format!(
        "http://{}/msi/token",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    tokio::spawn(async move { axum::serve(listener, identity).await });
    let dir = project();
    let tools = Tools::new();
    let planned = evalctl(
        dir.path(),
        &["plan"],
        &server.base_url(),
        &tools,
        &[
            ("IDENTITY_ENDPOINT", &endpoint),
            ("IDENTITY_HEADER", "secret"),
        ],
    )
    .await;
    assert_eq!(planned.code, 0, "{}", planned.transcript());
    assert!(
        first_line(&planned).ends_with("with Entra ID tokens from managed identity"),
        "{}",
        planned.stdout
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_and_a_token_both_set_are_named_and_auth_chooses() {
    let server = keyed_emulator().await;
    let dir = project();
    let tools = Tools::new();
    tools.az(3600);
    let both = [
        ("AZURE_OPENAI_API_KEY", TOKEN),
        ("AZURE_OPENAI_AD_TOKEN", TOKEN),
    ];
    let keyed = evalctl(dir.path(), &["plan"], &server.base_url(), &tools, &both).await;
    assert_eq!(keyed.code, 0, "{}", keyed.transcript());
    assert!(first_line(&keyed).ends_with("with the API key in AZURE_OPENAI_API_KEY"));
    assert!(
        keyed
            .stderr
            .contains("the key is used (--auth entra uses the token)"),
        "{}",
        keyed.stderr
    );
    let token = evalctl(
        dir.path(),
        &["plan", "--auth", "entra"],
        &server.base_url(),
        &tools,
        &both,
    )
    .await;
    assert!(first_line(&token).ends_with("with the Entra ID token in AZURE_OPENAI_AD_TOKEN"));
    // `auth:` in evalctl.yaml insists too: the chain, since no token is set here.
    write(dir.path(), "evalctl.yaml", "project: entra\nauth: entra\n");
    let chained = evalctl(
        dir.path(),
        &["plan"],
        &server.base_url(),
        &tools,
        &[("AZURE_OPENAI_API_KEY", TOKEN)],
    )
    .await;
    assert_eq!(chained.code, 0, "{}", chained.transcript());
    assert!(
        first_line(&chained).ends_with("from the Azure CLI (az login)"),
        "{}",
        chained.stdout
    );
    for (name, text) in [("keyed", &keyed), ("token", &token), ("chained", &chained)] {
        assert!(
            !text.stdout.contains(TOKEN) && !text.stderr.contains(TOKEN),
            "{name} shows the secret"
        );
    }
    server.shutdown().await;
}
