//! The emulator's Files API over HTTP: multipart upload with `purpose`, optional
//! `expires_after`, list (newest first by default), get, content and delete, on both flavors.

mod emulator_support;

use emulator_support::{config, start, Api, Flavor, FLAVORS};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::json;

fn form(purpose: &str, content: &[u8]) -> Form {
    Form::new().text("purpose", purpose.to_string()).part(
        "file",
        Part::bytes(content.to_vec()).file_name("data.jsonl"),
    )
}

#[tokio::test]
async fn upload_list_get_content_delete() {
    let server = start(config()).await;
    for flavor in FLAVORS {
        let api = Api::new(&server, flavor);
        let content = b"{\"item\": {\"a\": \"x\"}}\n";
        let answer = api
            .send(
                api.request(reqwest::Method::POST, "/files")
                    .multipart(form("evals", content)),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        let file = answer.body;
        let id = file["id"].as_str().unwrap_or_default().to_string();
        assert!(id.starts_with("file-"), "{id}");
        assert_eq!(file["object"], "file");
        assert_eq!(file["purpose"], "evals");
        assert_eq!(file["filename"], "data.jsonl");
        assert_eq!(file["bytes"], json!(content.len()));
        assert_eq!(file["status"], "processed");
        assert_eq!(file["expires_at"], json!(null));
        assert!(file["created_at"].is_i64());

        assert_eq!(api.get(&format!("/files/{id}")).await.body, file);
        let raw = api
            .request(reqwest::Method::GET, &format!("/files/{id}/content"))
            .send()
            .await;
        let bytes = match raw {
            Ok(response) => response.bytes().await.unwrap_or_default(),
            Err(error) => panic!("{error}"),
        };
        assert_eq!(&bytes[..], content);

        let deleted = api.delete(&format!("/files/{id}")).await;
        assert_eq!(
            deleted.body,
            json!({"id": id, "object": "file", "deleted": true})
        );
        assert_eq!(
            api.get(&format!("/files/{id}")).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            api.get(&format!("/files/{id}/content")).await.status,
            StatusCode::NOT_FOUND
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn lists_are_newest_first_and_filter_by_purpose() {
    let server = start(config()).await;
    let api = Api::new(&server, Flavor::OpenAi);
    let mut ids = Vec::new();
    for purpose in ["evals", "batch", "evals"] {
        let answer = api
            .send(
                api.request(reqwest::Method::POST, "/files")
                    .multipart(form(purpose, b"{}\n")),
            )
            .await;
        ids.push(answer.body["id"].as_str().unwrap_or_default().to_string());
    }
    let page = api.get("/files").await.body;
    let listed: Vec<&str> = page["data"]
        .as_array()
        .map(|d| d.iter().filter_map(|f| f["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(listed, [&ids[2], &ids[1], &ids[0]]);
    assert_eq!(page["has_more"], json!(false));
    let evals = api.get("/files?purpose=evals&order=asc&limit=1").await.body;
    assert_eq!(evals["data"][0]["id"], json!(ids[0]));
    assert_eq!(evals["has_more"], json!(true));
    server.shutdown().await;
}

#[tokio::test]
async fn uploads_are_validated() {
    let server = start(config()).await;
    for flavor in FLAVORS {
        let api = Api::new(&server, flavor);
        let post = |form: Form| api.request(reqwest::Method::POST, "/files").multipart(form);
        let cases = [
            (form("training", b"{}"), "purpose"),
            (Form::new().text("purpose", "evals"), "file"),
            (
                Form::new().part("file", Part::bytes(b"{}".to_vec()).file_name("f.jsonl")),
                "purpose",
            ),
            (
                form("evals", b"{}")
                    .text("expires_after[anchor]", "created_at")
                    .text("expires_after[seconds]", "60"),
                "expires_after[seconds]",
            ),
            (
                form("evals", b"{}")
                    .text("expires_after[anchor]", "now")
                    .text("expires_after[seconds]", "3600"),
                "expires_after[anchor]",
            ),
            (form("evals", b"{}").text("colour", "blue"), "colour"),
        ];
        for (form, param) in cases {
            let answer = api.send(post(form)).await;
            assert_eq!(
                answer.status,
                StatusCode::BAD_REQUEST,
                "{param}: {answer:?}"
            );
            assert_eq!(answer.param(), Some(param));
        }
        let vision = api.send(post(form("vision", b"{}"))).await.status;
        let expected = match flavor {
            Flavor::OpenAi => StatusCode::OK,
            Flavor::Azure | Flavor::Foundry => StatusCode::BAD_REQUEST,
        };
        assert_eq!(vision, expected);
        let expiring = form("evals", b"{}")
            .text("expires_after[anchor]", "created_at")
            .text("expires_after[seconds]", "3600");
        let file = api.send(post(expiring)).await.body;
        assert_eq!(
            file["expires_at"].as_i64(),
            file["created_at"].as_i64().map(|t| t + 3600)
        );
        let not_multipart = api.post("/files", &json!({"purpose": "evals"})).await;
        assert_eq!(not_multipart.status, StatusCode::BAD_REQUEST);
    }
    server.shutdown().await;
}
