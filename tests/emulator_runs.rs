//! The emulator's runs over HTTP: rows from `file_content` and `file_id` graded in the
//! background and counted, output items, model graders and sampling through a model
//! endpoint, the failure without one, cancel, delete, and create-run validation.

mod emulator_support;

use emulator_support::{config, qa_eval, start, Api, FakeModel, Flavor, FLAVORS};
use evalctl::emulator::grading;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn qa_rows() -> Vec<Value> {
    [
        ("2+2", "4", "4"),
        ("3+3", "6", "7"),
        ("capital of France", "Paris", "paris"),
        ("1+1", "2", "2"),
        ("sky", "blue", "Blue sky"),
    ]
    .iter()
    .map(|(q, a, c)| json!({"item": {"question": q, "answer": a, "completion": c}}))
    .collect()
}

/// The counts the run must report, from the grader functions themselves.
fn expected_counts(rows: &[Value], operation: &str) -> Value {
    let (mut passed, mut failed, mut errored) = (0, 0, 0);
    for row in rows {
        let item = &row["item"];
        let input = item["completion"].as_str().unwrap_or_default();
        let reference = item["answer"].as_str().unwrap_or_default();
        match grading::string_check(operation, input, reference) {
            Ok(true) => passed += 1,
            Ok(false) => failed += 1,
            Err(_) => errored += 1,
        }
    }
    json!({"total": rows.len(), "errored": errored, "failed": failed, "passed": passed})
}

fn ids(eval: &Value) -> (String, String) {
    let id = eval["id"].as_str().unwrap_or_default().to_string();
    let grader = eval["testing_criteria"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (id, grader)
}

#[tokio::test]
async fn a_file_content_run_is_graded_and_counted() {
    let server = start(config()).await;
    for flavor in FLAVORS {
        let api = Api::new(&server, flavor);
        let (eval_id, grader_id) = ids(&api.create_eval(&qa_eval("qa")).await);
        let rows = qa_rows();
        let body = json!({"name": "baseline", "metadata": {"evalctl_key": "baseline"},
            "data_source": {"type": "jsonl", "source": {"type": "file_content", "content": rows}}});
        let run = api.create_run(&eval_id, &body).await;
        assert_eq!(run["status"], "queued");
        assert_eq!(run["object"], "eval.run");
        assert_eq!(
            run["result_counts"],
            json!({"total": 0, "errored": 0, "failed": 0, "passed": 0})
        );
        assert_eq!(run["per_model_usage"], Value::Null);
        assert_eq!(run["per_testing_criteria_results"], Value::Null);
        assert_eq!(run["error"], Value::Null);
        assert_eq!(run["metadata"], json!({"evalctl_key": "baseline"}));
        assert_eq!(run["data_source"], body["data_source"]);
        let run_id = run["id"].as_str().unwrap_or_default();
        assert!(
            run_id.starts_with("evalrun_") && run_id.len() == 40,
            "{run_id}"
        );
        assert!(run["report_url"]
            .as_str()
            .is_some_and(|u| u.contains(&eval_id) && u.contains(run_id)));

        let done = api.wait_terminal(&eval_id, run_id).await;
        assert_eq!(done["status"], "completed", "{done}");
        let counts = expected_counts(&rows, "eq");
        assert_eq!(done["result_counts"], counts);
        assert_eq!(
            done["per_testing_criteria_results"],
            json!([{"testing_criteria": grader_id, "passed": counts["passed"], "failed": counts["failed"]}])
        );
        assert_eq!(done["per_model_usage"], json!([]));

        let items = api
            .get(&format!(
                "/evals/{eval_id}/runs/{run_id}/output_items?limit=100"
            ))
            .await
            .body;
        let data = items["data"].as_array().cloned().unwrap_or_default();
        assert_eq!(data.len(), rows.len());
        for (index, item) in data.iter().enumerate() {
            assert_eq!(item["object"], "eval.run.output_item");
            assert_eq!(item["run_id"], json!(run_id));
            assert_eq!(item["eval_id"], json!(eval_id));
            assert_eq!(item["datasource_item_id"], json!(index));
            assert_eq!(item["datasource_item"], rows[index]["item"]);
            assert_eq!(item["results"][0]["name"], json!(grader_id));
            assert_eq!(item["results"][0]["type"], "string_check");
            assert!(
                item["results"][0]["score"].is_number()
                    && item["results"][0]["passed"].is_boolean()
            );
            // The spec requires every field of `sample`, even when nothing was sampled.
            let mut keys: Vec<&str> = item["sample"]
                .as_object()
                .map(|s| s.keys().map(String::as_str).collect())
                .unwrap_or_default();
            keys.sort();
            assert_eq!(
                keys,
                [
                    "error",
                    "finish_reason",
                    "input",
                    "max_completion_tokens",
                    "model",
                    "output",
                    "seed",
                    "temperature",
                    "top_p",
                    "usage"
                ]
            );
            assert_eq!(item["sample"]["usage"]["total_tokens"], json!(0));
            let item_id = item["id"].as_str().unwrap_or_default();
            assert!(item_id.starts_with("outputitem_") && item_id.len() == 43);
            let one = api
                .get(&format!(
                    "/evals/{eval_id}/runs/{run_id}/output_items/{item_id}"
                ))
                .await;
            assert_eq!(&one.body, item);
        }
        let missing = api
            .get(&format!(
                "/evals/{eval_id}/runs/{run_id}/output_items/outputitem_nope"
            ))
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    }
    server.shutdown().await;
}

async fn upload(api: &Api, name: &str, content: String) -> Value {
    let form = reqwest::multipart::Form::new()
        .text("purpose", "evals")
        .part(
            "file",
            reqwest::multipart::Part::bytes(content.into_bytes()).file_name(name.to_string()),
        );
    let answer = api
        .send(api.request(reqwest::Method::POST, "/files").multipart(form))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body
}

#[tokio::test]
async fn a_file_id_run_reads_the_uploaded_jsonl() {
    let server = start(config()).await;
    for flavor in FLAVORS {
        let api = Api::new(&server, flavor);
        let (eval_id, _) = ids(&api.create_eval(&qa_eval("qa")).await);
        let rows = qa_rows();
        let jsonl: String = rows.iter().map(|r| format!("{r}\n")).collect();
        let file = upload(&api, "qa.jsonl", jsonl).await;
        let source = json!({"data_source": {"type": "jsonl", "source": {"type": "file_id", "id": file["id"]}}});
        let run = api.create_run(&eval_id, &source).await;
        let done = api
            .wait_terminal(&eval_id, run["id"].as_str().unwrap_or_default())
            .await;
        assert_eq!(done["status"], "completed");
        assert_eq!(done["result_counts"], expected_counts(&rows, "eq"));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn create_run_is_validated() {
    let server = start(config()).await;
    let api = Api::new(&server, Flavor::OpenAi);
    let (eval_id, _) = ids(&api.create_eval(&qa_eval("qa")).await);
    let content = |rows: Value| json!({"data_source": {"type": "jsonl", "source": {"type": "file_content", "content": rows}}});
    let cases = [
        (
            content(json!([{"item": {"question": "q", "answer": "a"}}])),
            "data_source.source",
        ),
        (
            content(json!([{"item": {"question": 1, "answer": "a", "completion": "c"}}])),
            "data_source.source",
        ),
        (
            content(json!([{"question": "q"}])),
            "data_source.source.content[0].item",
        ),
        (
            json!({"data_source": {"type": "jsonl", "source": {"type": "file_id", "id": "file-nope"}}}),
            "data_source.source.id",
        ),
        (
            json!({"data_source": {"type": "csv", "source": {}}}),
            "data_source.type",
        ),
        (
            json!({"data_source": {"type": "jsonl"}}),
            "data_source.source",
        ),
        (json!({}), "data_source"),
        (
            json!({"data_source": {"type": "jsonl", "source": {"type": "file_content", "content": []}}, "extra": 1}),
            "extra",
        ),
    ];
    for (body, param) in cases {
        let answer = api.post(&format!("/evals/{eval_id}/runs"), &body).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{param}: {answer:?}"
        );
        assert_eq!(answer.param(), Some(param), "{answer:?}");
    }
    let answer = api.post("/evals/eval_nope/runs", &content(json!([]))).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let runs = api.get(&format!("/evals/{eval_id}/runs")).await.body;
    assert_eq!(runs["data"], json!([]));
    server.shutdown().await;
}

/// An eval whose two label graders read the model's answer, which the fake model takes from
/// the row (it echoes the first user message).
fn label_eval() -> Value {
    let grader = |name: &str, field: &str, passing: &str| {
        json!({
        "type": "label_model", "name": name, "model": "grader-model",
        "input": [{"role": "user", "content": format!("{{{{item.{field}}}}}")}],
        "labels": ["good", "bad"], "passing_labels": [passing]})
    };
    json!({
        "name": "labels",
        "data_source_config": {"type": "custom", "item_schema": {"type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a", "b"]}},
        "testing_criteria": [grader("first", "a", "good"), grader("second", "b", "good")]
    })
}

#[tokio::test]
async fn a_row_passes_only_if_every_grader_passes() {
    let model = FakeModel::start(false).await;
    let mut cfg = config();
    cfg.model_endpoint = Some(model.url.clone());
    let server = start(cfg).await;
    let api = Api::new(&server, Flavor::OpenAi);
    let eval = api.create_eval(&label_eval()).await;
    let eval_id = eval["id"].as_str().unwrap_or_default();
    let rows = [
        ("good", "good"),
        ("good", "bad"),
        ("bad", "good"),
        ("bad", "bad"),
        ("good", "good"),
        ("good", "neither"),
    ];
    let content: Vec<Value> = rows
        .iter()
        .map(|(a, b)| json!({"item": {"a": a, "b": b}}))
        .collect();
    let run = api.create_run(eval_id, &json!({"data_source": {"type": "jsonl", "source": {"type": "file_content", "content": content}}})).await;
    let done = api
        .wait_terminal(eval_id, run["id"].as_str().unwrap_or_default())
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["result_counts"],
        json!({"total": 6, "errored": 1, "failed": 3, "passed": 2})
    );
    let first = eval["testing_criteria"][0]["id"].clone();
    let second = eval["testing_criteria"][1]["id"].clone();
    assert_eq!(
        done["per_testing_criteria_results"],
        json!([{"testing_criteria": first, "passed": 4, "failed": 2},
               {"testing_criteria": second, "passed": 3, "failed": 2}])
    );
    assert_eq!(
        done["per_model_usage"],
        json!([{"model_name": "grader-model", "invocation_count": 12, "prompt_tokens": 120,
                "completion_tokens": 24, "total_tokens": 144, "cached_tokens": 0}])
    );
    server.shutdown().await;
}

#[tokio::test]
async fn without_a_model_endpoint_a_model_run_fails_clearly() {
    let server = start(config()).await;
    let api = Api::new(&server, Flavor::Azure);
    let eval = api.create_eval(&label_eval()).await;
    let eval_id = eval["id"].as_str().unwrap_or_default();
    let run = api.create_run(eval_id, &json!({"data_source": {"type": "jsonl", "source": {"type": "file_content", "content": [{"item": {"a": "good", "b": "good"}}]}}})).await;
    let done = api
        .wait_terminal(eval_id, run["id"].as_str().unwrap_or_default())
        .await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["error"]["code"], "model_endpoint_required");
    assert!(done["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("--model-endpoint")));
    server.shutdown().await;
}

fn sampling_run(content: Vec<Value>) -> Value {
    json!({"name": "sampled", "data_source": {
        "type": "completions", "model": "model-under-test",
        "input_messages": {"type": "template", "template": [
            {"role": "system", "content": "Answer tersely."},
            {"role": "user", "content": "{{item.completion}}"}]},
        "sampling_params": {"temperature": 0.5, "max_completion_tokens": 16},
        "source": {"type": "file_content", "content": content}}})
}

#[tokio::test]
async fn sampling_runs_call_the_model_and_record_the_sample() {
    let model = FakeModel::start(false).await;
    let mut cfg = config();
    cfg.model_endpoint = Some(model.url.clone());
    let server = start(cfg).await;
    let api = Api::new(&server, Flavor::OpenAi);
    let mut body = qa_eval("sampled");
    body["data_source_config"]["include_sample_schema"] = json!(true);
    body["testing_criteria"][0]["input"] = json!("{{sample.output_text}}");
    let eval = api.create_eval(&body).await;
    let eval_id = eval["id"].as_str().unwrap_or_default();
    let rows = qa_rows();
    let run = api.create_run(eval_id, &sampling_run(rows.clone())).await;
    assert_eq!(run["model"], "model-under-test");
    assert_eq!(
        run["data_source"]["input_messages"]["template"][1]["content"],
        json!({"type": "input_text", "text": "{{item.completion}}"})
    );
    let run_id = run["id"].as_str().unwrap_or_default();
    let done = api.wait_terminal(eval_id, run_id).await;
    assert_eq!(done["status"], "completed", "{done}");
    // The fake model echoes the completion, so the sample graders see equals the row's.
    assert_eq!(done["result_counts"], expected_counts(&rows, "eq"));
    assert_eq!(
        done["per_model_usage"][0]["invocation_count"],
        json!(rows.len())
    );
    let items = api
        .get(&format!("/evals/{eval_id}/runs/{run_id}/output_items"))
        .await
        .body;
    let sample = &items["data"][1]["sample"];
    assert_eq!(
        sample["input"],
        json!([{"role": "system", "content": "Answer tersely."}, {"role": "user", "content": "7"}])
    );
    assert_eq!(
        sample["output"],
        json!([{"role": "assistant", "content": "7"}])
    );
    assert_eq!(sample["model"], "model-under-test");
    assert_eq!(
        sample["usage"],
        json!({"total_tokens": 12, "completion_tokens": 2, "prompt_tokens": 10, "cached_tokens": 0})
    );
    assert_eq!(sample["temperature"], json!(0.5));
    assert_eq!(sample["max_completion_tokens"], json!(16));
    assert_eq!(
        model.calls.load(std::sync::atomic::Ordering::SeqCst),
        rows.len()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn cancel_stops_the_work_and_keeps_the_counts() {
    for (flavor, cancel_path) in [(Flavor::OpenAi, ""), (Flavor::Azure, "/cancel")] {
        let model = FakeModel::start(true).await;
        let mut cfg = config();
        cfg.model_endpoint = Some(model.url.clone());
        let server = start(cfg).await;
        let api = Api::new(&server, flavor);
        let eval = api.create_eval(&qa_eval("cancel")).await;
        let eval_id = eval["id"].as_str().unwrap_or_default();
        let run = api.create_run(eval_id, &sampling_run(qa_rows())).await;
        let run_id = run["id"].as_str().unwrap_or_default();
        model.release(2);
        let running = api
            .wait_run(eval_id, run_id, |r| {
                r["status"] == "in_progress" && r["result_counts"]["total"] == json!(2)
            })
            .await;
        assert_eq!(
            running["per_testing_criteria_results"][0]["testing_criteria"],
            eval["testing_criteria"][0]["id"]
        );
        let canceled = api
            .post(
                &format!("/evals/{eval_id}/runs/{run_id}{cancel_path}"),
                &json!({}),
            )
            .await;
        assert_eq!(canceled.status, StatusCode::OK);
        assert_eq!(canceled.body["status"], "canceled");
        assert_eq!(canceled.body["result_counts"]["total"], json!(2));
        model.release(10);
        let after = api
            .get(&format!("/evals/{eval_id}/runs/{run_id}"))
            .await
            .body;
        assert_eq!(after["status"], "canceled");
        assert_eq!(after["result_counts"], canceled.body["result_counts"]);
        let items = api
            .get(&format!("/evals/{eval_id}/runs/{run_id}/output_items"))
            .await
            .body;
        assert_eq!(items["data"].as_array().map(Vec::len), Some(2));
        let again = api
            .post(&format!("/evals/{eval_id}/runs/{run_id}"), &json!({}))
            .await;
        assert_eq!(again.body["status"], "canceled");
        server.shutdown().await;
    }
}

#[tokio::test]
async fn a_finished_run_cannot_be_canceled_and_runs_delete_per_flavor() {
    let server = start(config()).await;
    for flavor in FLAVORS {
        let api = Api::new(&server, flavor);
        let (eval_id, _) = ids(&api.create_eval(&qa_eval("qa")).await);
        let run = api.create_run(&eval_id, &json!({"data_source": {"type": "jsonl", "source": {"type": "file_content", "content": qa_rows()}}})).await;
        let run_id = run["id"].as_str().unwrap_or_default();
        api.wait_terminal(&eval_id, run_id).await;
        let cancel = api
            .post(&format!("/evals/{eval_id}/runs/{run_id}"), &json!({}))
            .await;
        assert_eq!(cancel.status, StatusCode::BAD_REQUEST);
        let deleted = api.delete(&format!("/evals/{eval_id}/runs/{run_id}")).await;
        assert_eq!(deleted.status, StatusCode::OK);
        let expected = match flavor {
            Flavor::OpenAi => {
                json!({"object": "eval.run.deleted", "deleted": true, "run_id": run_id})
            }
            Flavor::Azure | Flavor::Foundry => {
                json!({"object": "eval_run.deleted", "deleted": true, "eval_run_id": run_id})
            }
        };
        assert_eq!(deleted.body, expected);
        assert_eq!(
            api.get(&format!("/evals/{eval_id}/runs/{run_id}"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            api.get(&format!("/evals/{eval_id}/runs/{run_id}/output_items"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            api.delete(&format!("/evals/{eval_id}/runs/{run_id}"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn deleting_an_eval_deletes_its_runs() {
    let server = start(config()).await;
    let api = Api::new(&server, Flavor::OpenAi);
    let (eval_id, _) = ids(&api.create_eval(&qa_eval("qa")).await);
    let run = api.create_run(&eval_id, &json!({"data_source": {"type": "jsonl", "source": {"type": "file_content", "content": qa_rows()}}})).await;
    let run_id = run["id"].as_str().unwrap_or_default();
    api.delete(&format!("/evals/{eval_id}")).await;
    assert_eq!(
        api.get(&format!("/evals/{eval_id}/runs/{run_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_grader_that_cannot_grade_errors_the_row_not_the_run() {
    let server = start(config()).await;
    let api = Api::new(&server, Flavor::OpenAi);
    let mut body = qa_eval("cosine");
    body["testing_criteria"] = json!([{"type": "text_similarity", "name": "cos",
        "input": "{{item.completion}}", "reference": "{{item.answer}}",
        "evaluation_metric": "cosine", "pass_threshold": 0.5}]);
    let (eval_id, _) = ids(&api.create_eval(&body).await);
    let rows = qa_rows();
    let run = api.create_run(&eval_id, &json!({"data_source": {"type": "jsonl", "source": {"type": "file_content", "content": rows}}})).await;
    let run_id = run["id"].as_str().unwrap_or_default();
    let done = api.wait_terminal(&eval_id, run_id).await;
    assert_eq!(done["status"], "completed");
    // Without an embeddings model `cosine` cannot be computed: every row errors.
    assert!(grading::text_similarity("cosine", "a", "a").is_err());
    assert_eq!(
        done["result_counts"],
        json!({"total": rows.len(), "errored": rows.len(), "failed": 0, "passed": 0})
    );
    let items = api
        .get(&format!("/evals/{eval_id}/runs/{run_id}/output_items"))
        .await
        .body;
    let result = &items["data"][0]["results"][0];
    assert_eq!(result["passed"], json!(false));
    assert!(result["error"]["message"].is_string(), "{result}");
    server.shutdown().await;
}

#[tokio::test]
async fn rows_that_carry_a_sample_are_graded_on_it() {
    let server = start(config()).await;
    let api = Api::new(&server, Flavor::Azure);
    let mut body = qa_eval("samples");
    body["data_source_config"]["include_sample_schema"] = json!(true);
    body["testing_criteria"][0]["input"] = json!("{{ sample.output_text }}");
    let (eval_id, _) = ids(&api.create_eval(&body).await);
    let rows: Vec<Value> = qa_rows()
        .into_iter()
        .map(|mut row| {
            let completion = row["item"]["completion"].clone();
            row["sample"] = json!({"model": "offline", "output_text": completion,
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": completion}}]});
            row
        })
        .collect();
    let run = api.create_run(&eval_id, &json!({"data_source": {"type": "jsonl", "source": {"type": "file_content", "content": rows}}})).await;
    let run_id = run["id"].as_str().unwrap_or_default();
    let done = api.wait_terminal(&eval_id, run_id).await;
    assert_eq!(done["result_counts"], expected_counts(&qa_rows(), "eq"));
    let items = api
        .get(&format!("/evals/{eval_id}/runs/{run_id}/output_items"))
        .await
        .body;
    let sample = &items["data"][1]["sample"];
    assert_eq!(
        sample["output"],
        json!([{"role": "assistant", "content": "7"}])
    );
    assert_eq!(sample["model"], "offline");
    assert_eq!(sample["finish_reason"], "stop");
    server.shutdown().await;
}
