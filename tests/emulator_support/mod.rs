//! Shared by the emulator's integration tests: an emulator started in-process on 127.0.0.1
//! port 0, a small HTTP client for either flavor, polling with a deadline, and a fake
//! OpenAI-compatible chat completions endpoint that echoes the prompt and can be held.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::{Json, Router};
use evalctl::emulator::{self, Config, Server};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

pub fn config() -> Config {
    Config::in_memory()
}

pub async fn start(config: Config) -> Server {
    match emulator::start(config).await {
        Ok(server) => server,
        Err(error) => panic!("the emulator did not start: {error}"),
    }
}

/// Which URL shape a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    OpenAi,
    Azure,
    /// The Foundry project `test`: Bearer tokens, no api-version.
    Foundry,
}

pub const FLAVORS: [Flavor; 2] = [Flavor::OpenAi, Flavor::Azure];

/// One answer: status, headers and the JSON body (`Null` when the body is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The `param` of an error answer, whichever the envelope.
    pub fn param(&self) -> Option<&str> {
        self.body["error"]["param"].as_str()
    }
}

#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub flavor: Flavor,
    pub http: reqwest::Client,
    pub key: Option<String>,
}

impl Api {
    pub fn new(server: &Server, flavor: Flavor) -> Self {
        let base = match flavor {
            Flavor::OpenAi => format!("{}/v1", server.base_url()),
            Flavor::Azure => format!("{}/openai/v1", server.base_url()),
            Flavor::Foundry => format!("{}/api/projects/test/openai/v1", server.base_url()),
        };
        Api {
            base,
            flavor,
            http: reqwest::Client::new(),
            key: None,
        }
    }

    /// Another Foundry project of the same emulator.
    pub fn project(server: &Server, name: &str) -> Self {
        Api {
            base: format!("{}/api/projects/{name}/openai/v1", server.base_url()),
            ..Api::new(server, Flavor::Foundry)
        }
    }

    pub fn with_key(mut self, key: &str) -> Self {
        self.key = Some(key.to_string());
        self
    }

    /// The URL of `path`, with `api-version=preview` on Azure as Microsoft's samples send it.
    pub fn url(&self, path: &str) -> String {
        let url = format!("{}{path}", self.base);
        match self.flavor {
            Flavor::OpenAi | Flavor::Foundry => url,
            Flavor::Azure if url.contains('?') => format!("{url}&api-version=preview"),
            Flavor::Azure => format!("{url}?api-version=preview"),
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self.http.request(method, self.url(path));
        if self.flavor == Flavor::Azure {
            request = request.header("aoai-evals", "preview");
        }
        match (&self.key, self.flavor) {
            (Some(key), Flavor::OpenAi | Flavor::Foundry) => request.bearer_auth(key),
            (Some(key), Flavor::Azure) => request.header("api-key", key),
            (None, _) => request,
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => panic!("request failed: {error}"),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap_or_default();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.request(reqwest::Method::POST, path).json(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(self.request(reqwest::Method::DELETE, path)).await
    }

    /// Creates an eval and returns it, failing the test on any error.
    pub async fn create_eval(&self, body: &Value) -> Value {
        let answer = self.post("/evals", body).await;
        assert!(answer.status.is_success(), "create eval: {answer:?}");
        answer.body
    }

    pub async fn create_run(&self, eval_id: &str, body: &Value) -> Value {
        let answer = self.post(&format!("/evals/{eval_id}/runs"), body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "create run: {answer:?}");
        answer.body
    }

    /// Polls a run until `done` holds, or fails the test after 20 s.
    pub async fn wait_run(
        &self,
        eval_id: &str,
        run_id: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let run = self
                .get(&format!("/evals/{eval_id}/runs/{run_id}"))
                .await
                .body;
            if done(&run) {
                return run;
            }
            assert!(
                Instant::now() < deadline,
                "run never reached the state: {run}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn wait_terminal(&self, eval_id: &str, run_id: &str) -> Value {
        self.wait_run(eval_id, run_id, |run| {
            matches!(
                run["status"].as_str(),
                Some("completed" | "failed" | "canceled")
            )
        })
        .await
    }
}

/// An eval over rows `{question, answer, completion}` with one `string_check` grader.
pub fn qa_eval(name: &str) -> Value {
    json!({
        "name": name,
        "metadata": {"team": "research"},
        "data_source_config": {
            "type": "custom",
            "item_schema": {
                "type": "object",
                "properties": {
                    "question": {"type": "string"},
                    "answer": {"type": "string"},
                    "completion": {"type": "string"}
                },
                "required": ["question", "answer", "completion"]
            },
            "include_sample_schema": false
        },
        "testing_criteria": [{
            "type": "string_check",
            "name": "exact",
            "input": "{{item.completion}}",
            "reference": "{{item.answer}}",
            "operation": "eq"
        }]
    })
}

/// A fake chat completions endpoint. It answers with the text of the first user message,
/// so tests choose the model's answer through their rows; while `hold` has no permits, every
/// call waits.
pub struct FakeModel {
    pub url: String,
    pub hold: Arc<Semaphore>,
    pub calls: Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeModel {
    pub async fn start(held: bool) -> FakeModel {
        let hold = Arc::new(Semaphore::new(if held {
            0
        } else {
            Semaphore::MAX_PERMITS
        }));
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (gate, count) = (hold.clone(), calls.clone());
        let app = Router::new().route(
            "/v1/chat/completions",
            post(move |Json(body): Json<Value>| {
                let (gate, count) = (gate.clone(), count.clone());
                async move {
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if let Ok(permit) = gate.acquire().await {
                        permit.forget();
                    }
                    Json(completion(&body))
                }
            }),
        );
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(error) => panic!("fake model: {error}"),
        };
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeModel {
            url: format!("http://{addr}/v1"),
            hold,
            calls,
            task,
        }
    }

    pub fn release(&self, calls: usize) {
        self.hold.add_permits(calls);
    }
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn completion(request: &Value) -> Value {
    let text = request["messages"]
        .as_array()
        .and_then(|messages| messages.iter().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
        "model": request["model"],
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
    })
}
