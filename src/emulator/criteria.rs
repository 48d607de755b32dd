//! Testing criteria (graders) on create-eval: each validated against its type's shape for the
//! flavor, message lists normalised, and an id `<name>-<uuid4>` added, as the service stores
//! them.

use serde_json::{Map, Value};

use super::errors::ApiError;
use super::evaluators;
use super::flavor::Flavor;
use super::ids;
use super::messages;
use super::validate::Fields;

const TYPES: [&str; 5] = [
    "label_model",
    "string_check",
    "text_similarity",
    "python",
    "score_model",
];
/// A Foundry project takes its own evaluators besides OpenAI's graders.
const PROJECT_TYPES: [&str; 6] = [
    "label_model",
    "string_check",
    "text_similarity",
    "python",
    "score_model",
    "azure_ai_evaluator",
];
const OPERATIONS: [&str; 4] = ["eq", "ne", "like", "ilike"];
const METRICS: [&str; 11] = [
    "cosine",
    "fuzzy_match",
    "bleu",
    "gleu",
    "meteor",
    "rouge_1",
    "rouge_2",
    "rouge_3",
    "rouge_4",
    "rouge_5",
    "rouge_l",
];

/// Validates every grader and returns their stored forms.
pub(crate) fn normalize_all(criteria: &[Value], flavor: Flavor) -> Result<Vec<Value>, ApiError> {
    criteria
        .iter()
        .enumerate()
        .map(|(i, grader)| normalize(grader, &format!("testing_criteria[{i}]"), flavor))
        .collect()
}

fn normalize(grader: &Value, path: &str, flavor: Flavor) -> Result<Value, ApiError> {
    let fields = Fields::of(grader, path)?;
    let types: &[&str] = match flavor {
        Flavor::Foundry => &PROJECT_TYPES,
        Flavor::OpenAi | Flavor::Azure => &TYPES,
    };
    let kind = fields.req_enum("type", types)?;
    let mut stored = fields.map.clone();
    match kind {
        "string_check" => string_check(&fields)?,
        "text_similarity" => text_similarity(&fields, flavor)?,
        "label_model" => label_model(&fields, flavor, &mut stored)?,
        "score_model" => score_model(&fields, flavor, &mut stored)?,
        "azure_ai_evaluator" => azure_ai_evaluator(&fields, &mut stored)?,
        _ => python(&fields)?,
    }
    let name = fields.req_str("name")?;
    Ok(Value::Object(with_id(name, stored, flavor)))
}

/// Puts `name` and the new `id` first, as the service echoes graders: `<name>-<uuid>`, and
/// `<name>_<uuid>` on a Foundry project.
fn with_id(name: &str, rest: Map<String, Value>, flavor: Flavor) -> Map<String, Value> {
    let separator = if flavor == Flavor::Foundry { '_' } else { '-' };
    let mut stored = Map::new();
    stored.insert("name".into(), Value::String(name.to_string()));
    stored.insert("id".into(), Value::String(ids::grader(name, separator)));
    stored.extend(rest.into_iter().filter(|(k, _)| k != "name" && k != "id"));
    stored
}

/// A Foundry evaluator: an omitted version is echoed as `""` and omitted inputs as `{}`
/// (FOUNDRY.md §2).
fn azure_ai_evaluator(fields: &Fields, stored: &mut Map<String, Value>) -> Result<(), ApiError> {
    fields.only(&[
        "type",
        "name",
        "evaluator_name",
        "evaluator_version",
        "initialization_parameters",
        "data_mapping",
    ])?;
    fields.req_str("name")?;
    fields.opt_str("evaluator_version")?;
    fields.opt_object("initialization_parameters")?;
    if let Some(mapping) = fields.opt_object("data_mapping")? {
        for (input, template) in mapping.map {
            if !template.is_string() {
                return Err(ApiError::invalid_type(
                    &format!("{}.{input}", fields.param("data_mapping")),
                    "string",
                    template,
                ));
            }
        }
    }
    evaluators::check(fields)?;
    stored
        .entry("evaluator_version")
        .or_insert_with(|| Value::String(String::new()));
    stored
        .entry("data_mapping")
        .or_insert_with(|| Value::Object(Map::new()));
    Ok(())
}

fn string_check(fields: &Fields) -> Result<(), ApiError> {
    fields.only(&["type", "name", "input", "reference", "operation"])?;
    fields.req_str("name")?;
    fields.req_str("input")?;
    fields.req_str("reference")?;
    fields.req_enum("operation", &OPERATIONS)?;
    Ok(())
}

fn text_similarity(fields: &Fields, flavor: Flavor) -> Result<(), ApiError> {
    fields.only(&[
        "type",
        "name",
        "input",
        "reference",
        "evaluation_metric",
        "pass_threshold",
    ])?;
    fields.req_str("name")?;
    fields.req_str("input")?;
    fields.req_str("reference")?;
    // Azure's spec lists every metric but `cosine`.
    let metrics = match flavor {
        Flavor::OpenAi => &METRICS[..],
        Flavor::Azure | Flavor::Foundry => &METRICS[1..],
    };
    fields.req_enum("evaluation_metric", metrics)?;
    fields
        .opt_number("pass_threshold")?
        .ok_or_else(|| ApiError::missing(&fields.param("pass_threshold")))?;
    Ok(())
}

fn label_model(
    fields: &Fields,
    flavor: Flavor,
    stored: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    fields.only(&["type", "name", "model", "input", "labels", "passing_labels"])?;
    fields.req_str("name")?;
    fields.req_str("model")?;
    let input = fields.req_array("input")?;
    let labels = fields.req_strings("labels")?;
    let passing = fields.req_strings("passing_labels")?;
    if let Some(stray) = passing.iter().find(|label| !labels.contains(label)) {
        return Err(ApiError::invalid_value(
            &fields.param("passing_labels"),
            format!("Invalid 'passing_labels': '{stray}' is not one of 'labels'."),
        ));
    }
    let input = messages::normalize_all(input, &fields.param("input"), flavor)?;
    stored.insert("input".into(), Value::Array(input));
    Ok(())
}

fn score_model(
    fields: &Fields,
    flavor: Flavor,
    stored: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    fields.only(&[
        "type",
        "name",
        "model",
        "input",
        "range",
        "sampling_params",
        "pass_threshold",
    ])?;
    fields.req_str("name")?;
    fields.req_str("model")?;
    fields.opt_number("pass_threshold")?;
    // Sampling params are accepted leniently: the spec's own samples misspell their keys.
    fields.opt_object("sampling_params")?;
    fields.not_null("range", "an array")?;
    if let Some(range) = fields.opt_array("range")? {
        check_range(range, &fields.param("range"))?;
    }
    let input = fields.req_array("input")?;
    let input = messages::normalize_all(input, &fields.param("input"), flavor)?;
    stored.insert("input".into(), Value::Array(input));
    Ok(())
}

fn check_range(range: &[Value], param: &str) -> Result<(), ApiError> {
    match range {
        [low, high] if low.as_f64().zip(high.as_f64()).is_some_and(|(l, h)| l < h) => Ok(()),
        _ => Err(ApiError::invalid_value(
            param,
            format!("Invalid '{param}': expected two increasing numbers [min, max]."),
        )),
    }
}

fn python(fields: &Fields) -> Result<(), ApiError> {
    fields.only(&["type", "name", "source", "image_tag", "pass_threshold"])?;
    fields.req_str("name")?;
    fields.req_str("source")?;
    fields.opt_str("image_tag")?;
    fields.opt_number("pass_threshold")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn graders_get_an_id_made_from_their_name() {
        let grader = json!({"type": "string_check", "name": "exact", "input": "{{item.a}}",
                            "reference": "{{item.b}}", "operation": "eq"});
        let stored = normalize_all(&[grader], Flavor::OpenAi).unwrap_or_else(|e| panic!("{e:?}"));
        let id = stored[0]["id"].as_str().unwrap_or_default();
        assert!(
            id.starts_with("exact-") && id.len() == "exact-".len() + 36,
            "{id}"
        );
        assert_eq!(stored[0]["operation"], "eq");
    }

    #[test]
    fn azure_has_no_cosine() {
        let grader = json!({"type": "text_similarity", "name": "s", "input": "a", "reference": "b",
                            "evaluation_metric": "cosine", "pass_threshold": 0.5});
        assert!(normalize_all(std::slice::from_ref(&grader), Flavor::OpenAi).is_ok());
        let error = normalize_all(&[grader], Flavor::Azure).unwrap_err();
        assert_eq!(
            error.param.as_deref(),
            Some("testing_criteria[0].evaluation_metric")
        );
    }
}
