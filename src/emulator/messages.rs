//! Chat messages in graders and run templates. Both specs accept the simple form
//! `{role, content: "text"}` and the EvalItem form; the service stores and returns the
//! normalised EvalItem form `{type: "message", role, content: {type: "input_text", text}}`.

use serde_json::{json, Map, Value};

use super::errors::ApiError;
use super::flavor::Flavor;
use super::validate::{check_enum, Fields};
use crate::template::render;

const ROLES: [&str; 4] = ["user", "assistant", "system", "developer"];
const OPENAI_CONTENT: [&str; 5] = [
    "input_text",
    "output_text",
    "input_image",
    "input_audio",
    "input_file",
];
const AZURE_CONTENT: [&str; 2] = ["input_text", "output_text"];

/// Validates and normalises a list of messages at `path`.
pub(crate) fn normalize_all(
    messages: &[Value],
    path: &str,
    flavor: Flavor,
) -> Result<Vec<Value>, ApiError> {
    messages
        .iter()
        .enumerate()
        .map(|(i, message)| normalize(message, &format!("{path}[{i}]"), flavor))
        .collect()
}

/// Validates and normalises one message.
pub(crate) fn normalize(message: &Value, path: &str, flavor: Flavor) -> Result<Value, ApiError> {
    let fields = Fields::of(message, path)?;
    fields.only(&["type", "role", "content"])?;
    if let Some(kind) = fields.opt_str("type")? {
        check_enum(&fields.param("type"), kind, &["message"])?;
    }
    let role = fields.req_enum("role", &ROLES)?;
    let content = normalize_content(fields.req("content")?, &fields.param("content"), flavor)?;
    Ok(json!({"type": "message", "role": role, "content": content}))
}

fn normalize_content(content: &Value, path: &str, flavor: Flavor) -> Result<Value, ApiError> {
    match content {
        Value::String(text) => Ok(json!({"type": "input_text", "text": text})),
        Value::Object(_) => content_part(content, path, flavor),
        Value::Array(parts) if flavor == Flavor::OpenAi => parts
            .iter()
            .enumerate()
            .map(|(i, part)| content_part(part, &format!("{path}[{i}]"), flavor))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Err(ApiError::invalid_type(path, "a string or an object", other)),
    }
}

fn content_part(part: &Value, path: &str, flavor: Flavor) -> Result<Value, ApiError> {
    let fields = Fields::of(part, path)?;
    let allowed: &[&str] = match flavor {
        Flavor::OpenAi => &OPENAI_CONTENT,
        Flavor::Azure | Flavor::Foundry => &AZURE_CONTENT,
    };
    let kind = fields.req_enum("type", allowed)?;
    if matches!(kind, "input_text" | "output_text") {
        fields.only(&["type", "text"])?;
        fields.req_str("text")?;
    }
    Ok(part.clone())
}

/// A list of messages as `(role, text)` with their templates rendered against a row's
/// context: the prompt of a model grader or of a sampling run.
pub(crate) fn rendered(list: &Value, context: &Value) -> Vec<(String, String)> {
    list.as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .map(|m| {
            let role = m["role"].as_str().unwrap_or("user").to_string();
            (role, render(&text_of(&m["content"]), context))
        })
        .collect()
}

/// The plain text of a normalised message's content, for a chat completions call.
pub(crate) fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Object(part) => part_text(part),
        Value::Array(parts) => parts
            .iter()
            .filter_map(Value::as_object)
            .map(part_text)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn part_text(part: &Map<String, Value>) -> String {
    part.get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_messages_become_eval_items() {
        let message = json!({"role": "user", "content": "Q: {{item.q}}"});
        assert_eq!(
            normalize(&message, "input[0]", Flavor::OpenAi),
            Ok(json!({"type": "message", "role": "user",
                      "content": {"type": "input_text", "text": "Q: {{item.q}}"}}))
        );
    }

    #[test]
    fn azure_rejects_content_arrays_and_bad_roles() {
        let message = json!({"role": "user", "content": [{"type": "input_text", "text": "x"}]});
        assert!(normalize(&message, "m", Flavor::Azure).is_err());
        assert!(normalize(&message, "m", Flavor::OpenAi).is_ok());
        let error = normalize(
            &json!({"role": "robot", "content": "x"}),
            "m",
            Flavor::OpenAi,
        );
        assert_eq!(error.unwrap_err().param.as_deref(), Some("m.role"));
    }
}
