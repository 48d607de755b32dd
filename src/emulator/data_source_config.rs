//! An eval's `data_source_config`: the request form (`custom` with `item_schema`, `logs`,
//! `stored_completions`) is validated and turned into the stored response form, whose `schema`
//! describes the template namespaces (`item`, and `sample` when included).

use serde_json::{json, Value};

use super::errors::ApiError;
use super::flavor::Flavor;
use super::validate::Fields;

const TYPES: [&str; 3] = ["custom", "logs", "stored_completions"];
/// A Foundry project takes its own data besides.
const PROJECT_TYPES: [&str; 4] = ["custom", "logs", "stored_completions", "azure_ai_source"];
const SCENARIOS: [&str; 6] = [
    "responses",
    "traces_preview",
    "red_team",
    "synthetic_data_gen_preview",
    "benchmark_preview",
    "conversation_simulation_preview",
];

/// Validates the request form and returns the stored form.
pub(crate) fn normalize(value: &Value, flavor: Flavor) -> Result<Value, ApiError> {
    let fields = Fields::of(value, "data_source_config")?;
    let types: &[&str] = match flavor {
        Flavor::Foundry => &PROJECT_TYPES,
        Flavor::OpenAi | Flavor::Azure => &TYPES,
    };
    match fields.req_enum("type", types)? {
        "custom" if flavor == Flavor::Foundry => project_custom(&fields),
        "custom" => custom(&fields),
        "azure_ai_source" => {
            fields.only(&[
                "type",
                "scenario",
                "benchmark_name",
                "benchmark_version",
                "grader_model",
            ])?;
            fields.req_enum("scenario", &SCENARIOS)?;
            // Echoed with an empty `schema` (observed).
            let mut stored = fields.map.clone();
            stored.insert("schema".into(), json!({}));
            Ok(Value::Object(stored))
        }
        kind => {
            fields.only(&["type", "metadata"])?;
            let metadata = fields.opt_object("metadata")?.map(|m| m.map.clone());
            Ok(json!({
                "type": kind,
                "metadata": metadata.unwrap_or_default(),
                "schema": {
                    "type": "object",
                    "properties": {"item": {"type": "object"}, "sample": {"type": "object"}},
                    "required": ["item", "sample"],
                },
            }))
        }
    }
}

/// A Foundry project echoes a custom config with an empty `item_schema` and the namespaces
/// under `schema` as they are, not as a JSON Schema of `{item, sample}` (observed).
fn project_custom(fields: &Fields) -> Result<Value, ApiError> {
    let item_schema = checked_item_schema(fields)?;
    let mut schema = json!({"item": item_schema});
    if fields.opt_bool("include_sample_schema")?.unwrap_or(false) {
        schema["sample"] = sample_schema();
    }
    Ok(json!({"type": "custom", "item_schema": {}, "schema": schema}))
}

/// The request's `item_schema`, when it is a JSON Schema.
fn checked_item_schema<'v>(fields: &Fields<'v>) -> Result<&'v Value, ApiError> {
    fields.only(&["type", "item_schema", "include_sample_schema"])?;
    let item_schema = fields.req("item_schema")?;
    Fields::of(item_schema, &fields.param("item_schema"))?;
    if let Err(error) = jsonschema::validator_for(item_schema) {
        return Err(ApiError::invalid_value(
            &fields.param("item_schema"),
            format!("Invalid 'data_source_config.item_schema': not a valid JSON Schema ({error})."),
        ));
    }
    Ok(item_schema)
}

fn custom(fields: &Fields) -> Result<Value, ApiError> {
    let item_schema = checked_item_schema(fields)?;
    let schema = if fields.opt_bool("include_sample_schema")?.unwrap_or(false) {
        json!({
            "type": "object",
            "properties": {"item": item_schema, "sample": sample_schema()},
            "required": ["item", "sample"],
        })
    } else {
        json!({
            "type": "object",
            "properties": {"item": item_schema},
            "required": ["item"],
        })
    };
    Ok(json!({"type": "custom", "schema": schema}))
}

/// The `sample` namespace as the live service describes it.
fn sample_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "model": {"type": "string"},
            "choices": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer"},
                        "message": {
                            "type": "object",
                            "properties": {
                                "role": {"type": "string", "const": "assistant"},
                                "content": {"type": ["string", "null"]},
                                "refusal": {"type": ["boolean", "null"]},
                                "tool_calls": {"type": ["array", "null"]},
                                "function_call": {"type": ["object", "null"]},
                            },
                            "required": ["role"],
                        },
                        "finish_reason": {"type": "string"},
                    },
                    "required": ["index", "message", "finish_reason"],
                },
            },
            "output_text": {"type": "string"},
            "output_json": {"type": "object"},
            "output_tools": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["model", "choices"],
    })
}

/// The `item` schema inside a stored config, which rows of a run must match. `logs` configs
/// accept any object; a project's config keeps it under `schema.item`.
pub(crate) fn item_schema(stored: &Value) -> &Value {
    stored
        .pointer("/schema/properties/item")
        .or_else(|| stored.pointer("/schema/item"))
        .unwrap_or(&Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_configs_wrap_the_item_schema() {
        let config = json!({"type": "custom", "item_schema": {"type": "object"}});
        assert_eq!(
            normalize(&config, Flavor::OpenAi),
            Ok(json!({"type": "custom", "schema": {"type": "object",
                "properties": {"item": {"type": "object"}}, "required": ["item"]}}))
        );
        let with_sample = json!({"type": "custom", "item_schema": {"type": "object"},
                                 "include_sample_schema": true});
        let stored = normalize(&with_sample, Flavor::OpenAi).unwrap_or_default();
        assert_eq!(stored["schema"]["required"], json!(["item", "sample"]));
    }

    #[test]
    fn bad_types_and_missing_schema_are_named() {
        let error = normalize(&json!({"type": "custom"}), Flavor::OpenAi).unwrap_err();
        assert_eq!(
            error.param.as_deref(),
            Some("data_source_config.item_schema")
        );
        let error = normalize(&json!({"type": "nope"}), Flavor::OpenAi).unwrap_err();
        assert_eq!(error.param.as_deref(), Some("data_source_config.type"));
    }
}
