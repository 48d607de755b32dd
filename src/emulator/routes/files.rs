//! Handlers of `/files`: multipart upload, list, get, delete and content.
//!
//! `expires_after`: Azure's spec marks it required on upload, OpenAI's optional, and the
//! official SDK samples for Azure upload eval data without it. The emulator follows the
//! samples (what clients send) on both flavors: optional, and checked when given (anchor
//! `created_at`, 3600 to 2592000 seconds).

use axum::body::Bytes;
use axum::extract::multipart::{Field, Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::json;

use super::{json, page, pairs, Held, QueryPairs};
use crate::emulator::errors::ApiError;
use crate::emulator::flavor::Flavor;
use crate::emulator::pagination::{ListParams, ListSpec, Order};
use crate::emulator::state::AppState;
use crate::emulator::store::files::NewFile;
use crate::emulator::validate::check_enum;

const LIST: ListSpec = ListSpec {
    default_limit: 10_000,
    max_limit: 10_000,
    default_order: Order::Desc,
    filters: &[("purpose", &[])],
};

const OPENAI_PURPOSES: [&str; 6] = [
    "assistants",
    "batch",
    "fine-tune",
    "vision",
    "user_data",
    "evals",
];
const AZURE_PURPOSES: [&str; 4] = ["assistants", "batch", "fine-tune", "evals"];

/// The parts of an upload form, as read.
#[derive(Default)]
struct Form {
    file: Option<(String, Bytes)>,
    purpose: Option<String>,
    anchor: Option<String>,
    seconds: Option<String>,
}

pub(crate) async fn create(
    State(state): State<AppState>,
    Held(store): Held,
    Extension(flavor): Extension<Flavor>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let multipart = multipart.map_err(|e| {
        ApiError::bad_request(
            "invalid_request",
            "file",
            format!("Uploads are multipart/form-data: {e}."),
        )
    })?;
    let form = read_form(multipart).await?;
    let mut new = validate(form, flavor)?;
    new.processing = std::time::Duration::from_millis(state.config.file_processing_ms);
    let file = store.write().create_file(new)?;
    Ok(json(StatusCode::OK, &file))
}

async fn read_form(mut multipart: Multipart) -> Result<Form, ApiError> {
    let mut form = Form::default();
    while let Some(field) = multipart.next_field().await.map_err(bad_multipart)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                let filename = field.file_name().unwrap_or("upload.jsonl").to_string();
                form.file = Some((filename, field.bytes().await.map_err(bad_multipart)?));
            }
            "purpose" => form.purpose = Some(text(field).await?),
            "expires_after[anchor]" => form.anchor = Some(text(field).await?),
            "expires_after[seconds]" => form.seconds = Some(text(field).await?),
            _ => return Err(ApiError::unknown(&name)),
        }
    }
    Ok(form)
}

async fn text(field: Field<'_>) -> Result<String, ApiError> {
    field.text().await.map_err(bad_multipart)
}

fn bad_multipart(error: axum::extract::multipart::MultipartError) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        format!("The multipart body could not be read: {error}."),
    )
}

fn validate(form: Form, flavor: Flavor) -> Result<NewFile, ApiError> {
    let (filename, content) = form.file.ok_or_else(|| ApiError::missing("file"))?;
    let purpose = form.purpose.ok_or_else(|| ApiError::missing("purpose"))?;
    let purposes: &[&str] = match flavor {
        Flavor::OpenAi => &OPENAI_PURPOSES,
        Flavor::Azure | Flavor::Foundry => &AZURE_PURPOSES,
    };
    check_enum("purpose", &purpose, purposes)?;
    let expires_after = match (form.anchor, form.seconds) {
        (None, None) => None,
        (anchor, seconds) => Some(expiry(anchor, seconds)?),
    };
    Ok(NewFile {
        filename,
        purpose,
        expires_after,
        content,
        processing: std::time::Duration::ZERO,
    })
}

fn expiry(anchor: Option<String>, seconds: Option<String>) -> Result<i64, ApiError> {
    let anchor = anchor.ok_or_else(|| ApiError::missing("expires_after[anchor]"))?;
    check_enum("expires_after[anchor]", &anchor, &["created_at"])?;
    let seconds = seconds.ok_or_else(|| ApiError::missing("expires_after[seconds]"))?;
    match seconds.parse::<i64>() {
        Ok(s) if (3600..=2_592_000).contains(&s) => Ok(s),
        _ => Err(ApiError::invalid_value(
            "expires_after[seconds]",
            format!("Invalid 'expires_after[seconds]': '{seconds}'. Expected an integer between 3600 and 2592000."),
        )),
    }
}

pub(crate) async fn list(Held(store): Held, query: QueryPairs) -> Result<Response, ApiError> {
    let params = ListParams::parse(&pairs(query)?, &LIST)?;
    let (files, has_more) = store.read().list_files(&params)?;
    Ok(page(&files, has_more, |f| &f.id))
}

pub(crate) async fn get(
    Held(store): Held,
    Path(file_id): Path<String>,
) -> Result<Response, ApiError> {
    let file = store.read().file(&file_id)?.object();
    Ok(json(StatusCode::OK, &file))
}

pub(crate) async fn delete(
    Held(store): Held,
    Path(file_id): Path<String>,
) -> Result<Response, ApiError> {
    store.write().delete_file(&file_id)?;
    Ok(json(
        StatusCode::OK,
        &json!({"id": file_id, "object": "file", "deleted": true}),
    ))
}

pub(crate) async fn content(
    Held(store): Held,
    Path(file_id): Path<String>,
) -> Result<Response, ApiError> {
    let content = store.read().file(&file_id)?.content.clone();
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        content,
    )
        .into_response())
}
