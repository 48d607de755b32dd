//! The body of create-run: `name`, `metadata` and a `data_source` (`jsonl`, `completions` or
//! `responses`; in a Foundry project also `csv`, `azure_ai_target_completions` and
//! `azure_ai_responses`) validated against the spec's shapes and echoed back normalised
//! (template messages expanded, `sampling_params` `null` when absent).

use serde_json::{json, Map, Value};

use super::errors::ApiError;
use super::flavor::Flavor;
use super::messages;
use super::objects::Metadata;
use super::validate::{self, Fields};

/// A validated create-run body.
pub(crate) struct NewRun {
    pub(crate) name: String,
    pub(crate) metadata: Metadata,
    pub(crate) data_source: Value,
    pub(crate) model: Option<String>,
}

impl NewRun {
    pub(crate) fn parse(body: &Value, flavor: Flavor) -> Result<Self, ApiError> {
        let fields = Fields::of(body, "")?;
        fields.only(&["name", "metadata", "data_source"])?;
        let metadata = validate::metadata(fields.map.get("metadata"), "metadata")?;
        let source = fields.req_object("data_source")?;
        let kinds: &[&str] = match flavor {
            Flavor::Foundry => &PROJECT_KINDS,
            Flavor::OpenAi | Flavor::Azure => &KINDS,
        };
        let kind = source.req_enum("type", kinds)?;
        let (data_source, model) = match kind {
            "jsonl" => (jsonl(&source)?, None),
            "csv" => (csv(&source)?, None),
            "azure_ai_target_completions" => target_completions(&source, flavor)?,
            "azure_ai_responses" => (stored_responses(&source)?, None),
            "completions" | "responses" => sampling(&source, kind, flavor)?,
            _ => return Err(not_run(&source, kind)),
        };
        let name = fields.opt_str("name")?.map(str::to_string);
        Ok(NewRun {
            name: name.or_else(|| model.clone()).unwrap_or_default(),
            metadata,
            data_source,
            model,
        })
    }
}

const KINDS: [&str; 3] = ["jsonl", "completions", "responses"];
/// A Foundry project's run data sources; the last four are accepted by the service but read
/// what the emulator does not have (traces, red-team attacks, generated data, benchmarks).
const PROJECT_KINDS: [&str; 10] = [
    "jsonl",
    "completions",
    "responses",
    "csv",
    "azure_ai_target_completions",
    "azure_ai_responses",
    "azure_ai_traces_preview",
    "azure_ai_red_team",
    "azure_ai_synthetic_data_gen_preview",
    "azure_ai_benchmark_preview",
];

fn not_run(fields: &Fields, kind: &str) -> ApiError {
    ApiError::invalid_value(
        &fields.param("type"),
        format!("The emulator does not run '{kind}' data sources: it has no traces, agents or generators. Use jsonl, csv, azure_ai_target_completions or azure_ai_responses."),
    )
}

fn jsonl(fields: &Fields) -> Result<Value, ApiError> {
    fields.only(&["type", "source"])?;
    let source = source(fields, &["file_content", "file_id"])?;
    Ok(json!({"type": "jsonl", "source": source}))
}

fn csv(fields: &Fields) -> Result<Value, ApiError> {
    fields.only(&["type", "source"])?;
    let source = source(fields, &["file_id"])?;
    Ok(json!({"type": "csv", "source": source}))
}

/// Rows answered by a target (a model deployment or an agent) before they are graded. The
/// echo gains the generation parameters the service fills in (observed).
fn target_completions(
    fields: &Fields,
    flavor: Flavor,
) -> Result<(Value, Option<String>), ApiError> {
    fields.only(&["type", "source", "input_messages", "target"])?;
    let source = source(fields, &["file_content", "file_id"])?;
    let input_messages = input_messages(&fields.req_object("input_messages")?, flavor)?;
    let target = fields.req_object("target")?;
    let model = match target.req_enum("type", &["azure_ai_model", "azure_ai_agent"])? {
        "azure_ai_model" => {
            target.only(&["type", "model", "sampling_params"])?;
            target.opt_object("sampling_params")?;
            Some(target.req_str("model")?.to_string())
        }
        _ => {
            target.only(&["type", "name", "version", "tool_descriptions"])?;
            target.req_str("name")?;
            target.opt_str("version")?;
            target.opt_array("tool_descriptions")?;
            None
        }
    };
    let echo = json!({
        "type": "azure_ai_target_completions",
        "source": source,
        "input_messages": input_messages,
        "target": Value::Object(target.map.clone()),
        "item_generation_params": {"type": "target_completions", "max_concurrency": 1},
    });
    Ok((echo, model))
}

/// Stored responses, looked up by the id each row maps to.
fn stored_responses(fields: &Fields) -> Result<Value, ApiError> {
    fields.only(&["type", "item_generation_params"])?;
    let params = fields.req_object("item_generation_params")?;
    params.only(&[
        "type",
        "max_num_turns",
        "data_mapping",
        "source",
        "max_runs_hourly",
        "event_configuration_id",
    ])?;
    params.req_enum("type", &["response_retrieval"])?;
    params.opt_number("max_num_turns")?;
    let mapping = params.req_object("data_mapping")?;
    mapping.req_str("response_id")?;
    source(&params, &["file_content", "file_id"])?;
    Ok(Value::Object(fields.map.clone()))
}

fn sampling(
    fields: &Fields,
    kind: &str,
    flavor: Flavor,
) -> Result<(Value, Option<String>), ApiError> {
    fields.only(&[
        "type",
        "source",
        "model",
        "input_messages",
        "sampling_params",
    ])?;
    let extra = if kind == "completions" {
        "stored_completions"
    } else {
        "responses"
    };
    let source = source(fields, &["file_content", "file_id", extra])?;
    let model = fields.opt_str("model")?.map(str::to_string);
    let input_messages = fields
        .opt_object("input_messages")?
        .map(|m| input_messages(&m, flavor))
        .transpose()?;
    // Sampling params are accepted leniently: the spec's samples use keys the schema lacks.
    let sampling_params = fields.opt_object("sampling_params")?.map(|p| p.map.clone());
    let mut echo = Map::new();
    echo.insert("type".into(), json!(kind));
    echo.insert("source".into(), source);
    if let Some(messages) = input_messages {
        echo.insert("input_messages".into(), messages);
    }
    echo.insert("model".into(), json!(model));
    echo.insert("sampling_params".into(), json!(sampling_params));
    Ok((Value::Object(echo), model))
}

fn source(fields: &Fields, kinds: &[&str]) -> Result<Value, ApiError> {
    let source = fields.req_object("source")?;
    match source.req_enum("type", kinds)? {
        "file_content" => {
            source.only(&["type", "content"])?;
            source.req_array("content")?;
        }
        "file_id" => {
            source.only(&["type", "id"])?;
            source.req_str("id")?;
        }
        // Stored completions and stored responses are filters over logs the emulator does not
        // have; their fields are echoed as given.
        _ => {}
    }
    Ok(Value::Object(source.map.clone()))
}

fn input_messages(fields: &Fields, flavor: Flavor) -> Result<Value, ApiError> {
    match fields.req_enum("type", &["template", "item_reference"])? {
        "template" => {
            fields.only(&["type", "template"])?;
            let template = fields.req_array("template")?;
            let template = messages::normalize_all(template, &fields.param("template"), flavor)?;
            Ok(json!({"type": "template", "template": template}))
        }
        _ => {
            fields.only(&["type", "item_reference"])?;
            let reference = fields.req_str("item_reference")?;
            Ok(json!({"type": "item_reference", "item_reference": reference}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_normalised_and_sampling_params_default_to_null() {
        let body = json!({"data_source": {"type": "completions", "model": "m",
            "source": {"type": "file_content", "content": []},
            "input_messages": {"type": "template", "template": [{"role": "user", "content": "{{item.q}}"}]}}});
        let run = NewRun::parse(&body, Flavor::OpenAi).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(run.data_source["sampling_params"], Value::Null);
        assert_eq!(
            run.data_source["input_messages"]["template"][0]["content"],
            json!({"type": "input_text", "text": "{{item.q}}"})
        );
        assert_eq!(run.name, "m");
    }

    #[test]
    fn jsonl_rejects_sampling_sources() {
        let body = json!({"data_source": {"type": "jsonl", "source": {"type": "responses"}}});
        let error = NewRun::parse(&body, Flavor::OpenAi)
            .err()
            .and_then(|e| e.param);
        assert_eq!(error.as_deref(), Some("data_source.source.type"));
    }
}
