//! The emulator's injected faults: reproducible from the seed, 429s that say when to retry,
//! dropped connections after a committed change, and `--latency-ms`.

mod emulator_support;

use std::time::{Duration, Instant};

use emulator_support::{config, qa_eval, start, Api, Flavor, FLAVORS};
use reqwest::StatusCode;
use serde_json::Value;

/// What a client saw: a status, or `dropped` when the connection closed without an answer.
async fn outcome(request: reqwest::RequestBuilder) -> (String, Option<reqwest::Response>) {
    match request.send().await {
        Ok(response) => (response.status().as_u16().to_string(), Some(response)),
        Err(_) => ("dropped".to_string(), None),
    }
}

async fn create_sequence(seed: u64, flavor: Flavor, n: usize) -> Vec<String> {
    let mut cfg = config();
    cfg.fault_rate = 0.5;
    cfg.seed = seed;
    let server = start(cfg).await;
    let api = Api::new(&server, flavor);
    let mut seen = Vec::new();
    for i in 0..n {
        let request = api
            .request(reqwest::Method::POST, "/evals")
            .json(&qa_eval(&format!("e{i}")));
        seen.push(outcome(request).await.0);
    }
    server.shutdown().await;
    seen
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults() {
    let first = create_sequence(42, Flavor::OpenAi, 40).await;
    assert_eq!(create_sequence(42, Flavor::OpenAi, 40).await, first);
    assert_ne!(create_sequence(43, Flavor::OpenAi, 40).await, first);
    let kinds: std::collections::BTreeSet<&str> = first.iter().map(String::as_str).collect();
    for kind in ["201", "429", "500", "503", "dropped"] {
        assert!(kinds.contains(kind), "{kind} never happened in {first:?}");
    }
}

/// Lists every eval, retrying injected faults.
async fn count_evals(api: &Api) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let request = api.request(reqwest::Method::GET, "/evals?limit=100");
        if let (status, Some(response)) = outcome(request).await {
            if status == "200" {
                let page: Value = response.json().await.unwrap_or_default();
                return page["data"].as_array().map_or(0, Vec::len);
            }
        }
        assert!(Instant::now() < deadline, "the list never succeeded");
    }
}

#[tokio::test]
async fn dropped_requests_were_committed_and_errors_were_not() {
    for flavor in FLAVORS {
        let mut cfg = config();
        cfg.fault_rate = 0.5;
        cfg.seed = 7;
        let server = start(cfg).await;
        let api = Api::new(&server, flavor);
        let mut committed = 0;
        for i in 0..30 {
            let request = api
                .request(reqwest::Method::POST, "/evals")
                .json(&qa_eval(&format!("e{i}")));
            let (status, response) = outcome(request).await;
            match status.as_str() {
                "200" | "201" | "dropped" => committed += 1,
                "429" => {
                    let headers = response.map(|r| r.headers().clone()).unwrap_or_default();
                    let seconds: Option<u64> = headers
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()?.parse().ok());
                    let millis: Option<u64> = headers
                        .get("retry-after-ms")
                        .and_then(|v| v.to_str().ok()?.parse().ok());
                    assert!(seconds.is_some_and(|s| s >= 1), "{headers:?}");
                    assert!(millis.is_some_and(|ms| ms > 0 && ms <= seconds.unwrap_or(0) * 1000));
                }
                "500" | "503" => {
                    let body: Value = match response {
                        Some(r) => r.json().await.unwrap_or_default(),
                        None => Value::Null,
                    };
                    assert!(body["error"]["message"].is_string(), "{body}");
                }
                other => panic!("unexpected outcome {other}"),
            }
        }
        assert!(committed < 30, "some requests must have failed");
        assert_eq!(count_evals(&api).await, committed);
        server.shutdown().await;
    }
}

#[tokio::test]
async fn latency_is_added_to_every_request() {
    let mut cfg = config();
    cfg.latency_ms = 120;
    let server = start(cfg).await;
    let api = Api::new(&server, Flavor::OpenAi);
    let started = Instant::now();
    assert_eq!(api.get("/evals").await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(120));
    server.shutdown().await;
}

#[tokio::test]
async fn over_the_rate_limit_requests_get_429_with_the_wait_in_both_headers() {
    let mut limited = config();
    limited.rate_limit = std::num::NonZeroU32::new(5);
    let server = start(limited).await;
    let api = Api::new(&server, Flavor::Azure);
    // The bucket holds one second's worth: five pass, the sixth waits for the next token.
    for _ in 0..5 {
        let answer = api.get("/evals").await;
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    let refused = api.get("/evals").await;
    assert_eq!(refused.status, 429, "{refused:?}");
    let header = |name: &str| {
        refused
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    };
    let ms = header("retry-after-ms").unwrap_or_else(|| panic!("{refused:?}"));
    assert!((1..=200).contains(&ms), "{ms} ms for a token every 200 ms");
    assert_eq!(header("retry-after"), Some(1), "whole seconds, at least 1");
    assert_eq!(refused.body["error"]["code"], "429", "{refused:?}");
    server.shutdown().await;
}
