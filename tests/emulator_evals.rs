//! The emulator's evals over HTTP on both flavors: create / get / update / delete, their
//! shapes and status codes, validation errors in each flavor's envelope, auth and Azure's
//! `api-version`, and concurrent creates.

mod emulator_support;

use emulator_support::{config, qa_eval, start, Api, Flavor, FLAVORS};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn create_get_update_delete_on_both_flavors() {
    let server = start(config()).await;
    for flavor in FLAVORS {
        let api = Api::new(&server, flavor);
        let answer = api.post("/evals", &qa_eval("qa")).await;
        let expected = match flavor {
            Flavor::OpenAi => StatusCode::CREATED,
            Flavor::Azure | Flavor::Foundry => StatusCode::OK,
        };
        assert_eq!(answer.status, expected);
        let header = match flavor {
            Flavor::OpenAi => "x-request-id",
            Flavor::Azure | Flavor::Foundry => "apim-request-id",
        };
        let request_id = answer
            .headers
            .get(header)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        match flavor {
            Flavor::OpenAi => assert!(
                request_id.starts_with("req_") && request_id.len() == 36,
                "{request_id}"
            ),
            Flavor::Azure | Flavor::Foundry => assert_eq!(request_id.len(), 36, "{request_id}"),
        }
        let eval = answer.body;
        let id = eval["id"].as_str().unwrap_or_default().to_string();
        assert!(id.starts_with("eval_") && id.len() == 37, "{id}");

        assert_eq!(api.get(&format!("/evals/{id}")).await.body, eval);

        let updated = api
            .post(
                &format!("/evals/{id}"),
                &json!({"name": "renamed", "metadata": {"k": "v"}}),
            )
            .await;
        assert_eq!(updated.status, StatusCode::OK);
        assert_eq!(updated.body["name"], "renamed");
        assert_eq!(updated.body["metadata"], json!({"k": "v"}));
        assert_eq!(updated.body["testing_criteria"], eval["testing_criteria"]);

        let deleted = api.delete(&format!("/evals/{id}")).await;
        assert_eq!(deleted.status, StatusCode::OK);
        assert_eq!(
            deleted.body,
            json!({"object": "eval.deleted", "deleted": true, "eval_id": id})
        );
        assert_eq!(
            api.get(&format!("/evals/{id}")).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            api.delete(&format!("/evals/{id}")).await.status,
            StatusCode::NOT_FOUND
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn an_eval_is_stored_in_the_response_form() {
    let server = start(config()).await;
    let api = Api::new(&server, Flavor::OpenAi);
    let mut body = qa_eval("qa");
    body["data_source_config"]["include_sample_schema"] = json!(true);
    body["testing_criteria"] = json!([
        {"type": "label_model", "name": "label", "model": "gpt-4o-mini",
         "input": [{"role": "user", "content": "Classify {{item.question}}"}],
         "labels": ["a", "b"], "passing_labels": ["a"]},
        {"type": "text_similarity", "name": "sim", "input": "{{item.completion}}",
         "reference": "{{item.answer}}", "evaluation_metric": "fuzzy_match", "pass_threshold": 0.8}
    ]);
    let eval = api.create_eval(&body).await;
    assert_eq!(eval["object"], "eval");
    assert!(eval["created_at"]
        .as_i64()
        .is_some_and(|t| t > 1_700_000_000));
    let schema = &eval["data_source_config"]["schema"];
    assert_eq!(eval["data_source_config"]["type"], "custom");
    assert_eq!(schema["required"], json!(["item", "sample"]));
    assert_eq!(
        schema["properties"]["item"],
        body["data_source_config"]["item_schema"]
    );
    assert_eq!(
        schema["properties"]["sample"]["required"],
        json!(["model", "choices"])
    );
    assert!(eval["data_source_config"].get("item_schema").is_none());

    let label = &eval["testing_criteria"][0];
    let id = label["id"].as_str().unwrap_or_default();
    assert!(
        id.starts_with("label-") && uuid_like(&id["label-".len()..]),
        "{id}"
    );
    assert_eq!(
        label["input"][0],
        json!({"type": "message", "role": "user",
               "content": {"type": "input_text", "text": "Classify {{item.question}}"}})
    );
    let keys: Vec<&String> = eval
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "object",
            "id",
            "name",
            "data_source_config",
            "testing_criteria",
            "created_at",
            "metadata"
        ]
    );

    let logs = api
        .create_eval(&json!({"data_source_config": {"type": "logs"}, "testing_criteria": []}))
        .await;
    assert_eq!(logs["metadata"], json!({}));
    assert_eq!(
        logs["data_source_config"]["schema"]["required"],
        json!(["item", "sample"])
    );
    server.shutdown().await;
}

fn uuid_like(text: &str) -> bool {
    text.len() == 36 && text.split('-').map(str::len).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
}

/// Each case: a body, the status and the `param` the error must name.
fn invalid_bodies() -> Vec<(Value, &'static str)> {
    let with = |pointer: &str, value: Value| {
        let mut body = qa_eval("x");
        if let Some(slot) = body.pointer_mut(pointer) {
            *slot = value;
        }
        body
    };
    let without = |key: &str| {
        let mut body = qa_eval("x");
        body.as_object_mut().map(|o| o.remove(key));
        body
    };
    let mut extra = qa_eval("x");
    extra["testing_criteria"][0]["extra"] = json!(1);
    let mut unknown = qa_eval("x");
    unknown["colour"] = json!("blue");
    let mut too_many = qa_eval("x");
    too_many["metadata"] = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
    vec![
        (unknown, "colour"),
        (without("data_source_config"), "data_source_config"),
        (without("testing_criteria"), "testing_criteria"),
        (
            with("/testing_criteria/0/operation", json!("contains")),
            "testing_criteria[0].operation",
        ),
        (extra, "testing_criteria[0].extra"),
        (
            with("/testing_criteria/0/type", json!("multi")),
            "testing_criteria[0].type",
        ),
        (
            with("/data_source_config/type", json!("csv")),
            "data_source_config.type",
        ),
        (
            with("/data_source_config/item_schema", json!("object")),
            "data_source_config.item_schema",
        ),
        (with("/name", json!(3)), "name"),
        (too_many, "metadata"),
        (
            with("/metadata", json!({"k": "v".repeat(513)})),
            "metadata.k",
        ),
    ]
}

#[tokio::test]
async fn invalid_bodies_are_400_naming_the_param_in_each_envelope() {
    let server = start(config()).await;
    for flavor in FLAVORS {
        let api = Api::new(&server, flavor);
        for (body, param) in invalid_bodies() {
            let answer = api.post("/evals", &body).await;
            assert_eq!(
                answer.status,
                StatusCode::BAD_REQUEST,
                "{param}: {answer:?}"
            );
            assert_eq!(answer.param(), Some(param), "{answer:?}");
            assert_envelope(flavor, &answer.body);
        }
        let answer = api
            .send(
                api.request(reqwest::Method::POST, "/evals")
                    .body("{not json"),
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_envelope(flavor, &answer.body);
    }
    assert_eq!(
        Api::new(&server, Flavor::OpenAi).get("/evals").await.body["data"],
        json!([])
    );
    server.shutdown().await;
}

/// OpenAI: all four keys, `type` `invalid_request_error` for 4xx; Azure: its five keys with
/// `type` `error`.
fn assert_envelope(flavor: Flavor, body: &Value) {
    let error = body["error"].as_object().cloned().unwrap_or_default();
    let mut keys: Vec<&str> = error.keys().map(String::as_str).collect();
    keys.sort();
    match flavor {
        Flavor::OpenAi => {
            assert_eq!(keys, ["code", "message", "param", "type"], "{body}");
            assert_eq!(error["type"], "invalid_request_error");
        }
        Flavor::Azure | Flavor::Foundry => {
            assert_eq!(
                keys,
                ["code", "inner_error", "message", "param", "type"],
                "{body}"
            );
            assert_eq!(error["type"], "error");
        }
    }
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn flavor_specific_rules() {
    let server = start(config()).await;
    let openai = Api::new(&server, Flavor::OpenAi);
    let azure = Api::new(&server, Flavor::Azure);
    let mut cosine = qa_eval("c");
    cosine["testing_criteria"] = json!([{"type": "text_similarity", "name": "cos",
        "input": "{{item.completion}}", "reference": "{{item.answer}}",
        "evaluation_metric": "cosine", "pass_threshold": 0.5}]);
    assert_eq!(
        openai.post("/evals", &cosine).await.status,
        StatusCode::CREATED
    );
    let answer = azure.post("/evals", &cosine).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.param(),
        Some("testing_criteria[0].evaluation_metric")
    );

    let mut status_code = qa_eval("s");
    status_code["statusCode"] = json!(201);
    assert_eq!(
        azure.post("/evals", &status_code).await.status,
        StatusCode::OK
    );
    assert_eq!(
        openai.post("/evals", &status_code).await.param(),
        Some("statusCode")
    );

    let mut no_threshold = cosine.clone();
    no_threshold["testing_criteria"][0]
        .as_object_mut()
        .map(|g| g.remove("pass_threshold"));
    let answer = openai.post("/evals", &no_threshold).await;
    assert_eq!(answer.param(), Some("testing_criteria[0].pass_threshold"));
    server.shutdown().await;
}

#[tokio::test]
async fn azure_api_version_and_header() {
    let server = start(config()).await;
    let azure = Api::new(&server, Flavor::Azure);
    let base = format!("{}/openai/v1/evals", server.base_url());
    for (query, status) in [
        ("", StatusCode::OK),
        ("?api-version=v1", StatusCode::OK),
        ("?api-version=preview", StatusCode::OK),
        ("?api-version=2025-04-01-preview", StatusCode::BAD_REQUEST),
    ] {
        // Without the `aoai-evals` header: the API is GA and does not need it.
        let answer = azure.send(azure.http.get(format!("{base}{query}"))).await;
        assert_eq!(answer.status, status, "{query}");
        if status == StatusCode::BAD_REQUEST {
            assert_eq!(answer.param(), Some("api-version"));
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_ids_are_404_and_update_takes_only_name_and_metadata() {
    let server = start(config()).await;
    for flavor in FLAVORS {
        let api = Api::new(&server, flavor);
        for path in [
            "/evals/eval_nope",
            "/evals/eval_nope/runs",
            "/evals/eval_nope/runs/evalrun_nope",
            "/files/file-nope",
            "/no/such/path",
        ] {
            let answer = api.get(path).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
            assert_envelope(flavor, &answer.body);
        }
        let eval = api.create_eval(&qa_eval("u")).await;
        let id = eval["id"].as_str().unwrap_or_default();
        let answer = api
            .post(&format!("/evals/{id}"), &json!({"testing_criteria": []}))
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.param(), Some("testing_criteria"));
        let cleared = api
            .post(&format!("/evals/{id}"), &json!({"metadata": null}))
            .await;
        assert_eq!(cleared.body["metadata"], json!({}));
        assert_eq!(cleared.body["name"], "u");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn api_key_is_required_as_header_or_bearer() {
    let mut cfg = config();
    cfg.api_key = Some("sekret".into());
    let server = start(cfg).await;
    for flavor in FLAVORS {
        let anonymous = Api::new(&server, flavor);
        let answer = anonymous.get("/evals").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert!(answer.body["error"]["message"].is_string());
        let wrong = Api::new(&server, flavor).with_key("nope");
        assert_eq!(wrong.get("/evals").await.status, StatusCode::UNAUTHORIZED);
        let right = Api::new(&server, flavor).with_key("sekret");
        assert_eq!(right.get("/evals").await.status, StatusCode::OK);
    }
    // Azure takes the key as `api-key` or Bearer; OpenAI's spec has Bearer only.
    for (flavor, status) in [
        (Flavor::Azure, StatusCode::OK),
        (Flavor::OpenAi, StatusCode::UNAUTHORIZED),
    ] {
        let api = Api::new(&server, flavor);
        let answer = api
            .send(api.http.get(api.url("/evals")).header("api-key", "sekret"))
            .await;
        assert_eq!(answer.status, status, "{flavor:?}");
        let bearer = api
            .send(api.http.get(api.url("/evals")).bearer_auth("sekret"))
            .await;
        assert_eq!(bearer.status, StatusCode::OK, "{flavor:?}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_lose_nothing() {
    let server = start(config()).await;
    let api = Api::new(&server, Flavor::OpenAi);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let api = api.clone();
            tokio::spawn(
                async move { api.create_eval(&qa_eval(&format!("e{i}"))).await["id"].clone() },
            )
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        created.push(task.await.unwrap_or_default());
    }
    let mut listed = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query = after
            .as_ref()
            .map_or(String::new(), |a| format!("&after={a}"));
        let page = api.get(&format!("/evals?limit=10{query}")).await.body;
        listed.extend(
            page["data"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|e| e["id"].clone()),
        );
        if page["has_more"] != json!(true) {
            break;
        }
        after = page["last_id"].as_str().map(str::to_string);
    }
    created.sort_by_key(Value::to_string);
    let mut sorted = listed.clone();
    sorted.sort_by_key(Value::to_string);
    assert_eq!(sorted, created);
    assert_eq!(listed.len(), 64);
    server.shutdown().await;
}
