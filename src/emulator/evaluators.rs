//! Foundry's built-in evaluators, as a project grades `azure_ai_evaluator` criteria naming
//! `builtin.*`. The text metrics (`f1_score`, `bleu_score`, `gleu_score`, `meteor_score`,
//! `rouge_score`) are computed here from the mapped `response` and `ground_truth`, with the
//! metric code `text_similarity` uses; the quality evaluators a model judges ask the model
//! endpoint for a 1-5 rating, and error without one; safety evaluators and catalog evaluators
//! need Foundry's own services and always error, each saying why.

use serde_json::{json, Map, Value};

use super::errors::ApiError;
use super::grade::{self, Graded};
use super::grading;
use super::model_client::ModelClient;
use super::validate::Fields;
use crate::template::render;

/// What a built-in evaluator needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builtin {
    /// A text metric against the ground truth, computed here.
    Metric(Metric),
    /// A quality rating (1 to 5) by a judge model.
    Judged,
    /// A content-safety or protected-material check by Foundry's own service.
    Safety,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    F1,
    Bleu,
    Gleu,
    Meteor,
    Rouge,
}

const JUDGED: [&str; 17] = [
    "coherence",
    "fluency",
    "relevance",
    "groundedness",
    "similarity",
    "retrieval",
    "response_completeness",
    "intent_resolution",
    "task_adherence",
    "task_completion",
    "tool_call_accuracy",
    "tool_selection",
    "tool_input_accuracy",
    "tool_output_utilization",
    "tool_call_success",
    "document_retrieval",
    "qa",
];

const SAFETY: [&str; 11] = [
    "violence",
    "sexual",
    "self_harm",
    "hate_unfairness",
    "protected_material",
    "indirect_attack",
    "code_vulnerability",
    "ungrounded_attributes",
    "groundedness_pro",
    "prohibited_actions",
    "sensitive_data_leakage",
];

/// `rouge_score`'s `rouge_type` values and the `text_similarity` metric of each.
const ROUGE_TYPES: [(&str, &str); 6] = [
    ("rouge1", "rouge_1"),
    ("rouge2", "rouge_2"),
    ("rouge3", "rouge_3"),
    ("rouge4", "rouge_4"),
    ("rouge5", "rouge_5"),
    ("rougeL", "rouge_l"),
];

/// The text metrics' inputs, which a project requires in `data_mapping`.
const METRIC_INPUTS: [&str; 2] = ["response", "ground_truth"];

fn builtin(evaluator_name: &str) -> Option<Builtin> {
    let name = evaluator_name.strip_prefix("builtin.")?;
    let metric = match name {
        "f1_score" => Metric::F1,
        "bleu_score" => Metric::Bleu,
        "gleu_score" => Metric::Gleu,
        "meteor_score" => Metric::Meteor,
        "rouge_score" => Metric::Rouge,
        _ if JUDGED.contains(&name) => return Some(Builtin::Judged),
        _ if SAFETY.contains(&name) => return Some(Builtin::Safety),
        _ => return None,
    };
    Some(Builtin::Metric(metric))
}

/// What a project checks when the eval is created: a text metric's required inputs are
/// mapped, and `rouge_score` names a ROUGE type it has.
pub(crate) fn check(fields: &Fields) -> Result<(), ApiError> {
    let name = fields.req_str("evaluator_name")?;
    let Some(Builtin::Metric(metric)) = builtin(name) else {
        return Ok(());
    };
    let mapping = fields.opt_object("data_mapping")?;
    for input in METRIC_INPUTS {
        if mapping.as_ref().is_none_or(|m| !m.map.contains_key(input)) {
            return Err(ApiError::invalid_value(
                &format!("{}.{input}", fields.param("data_mapping")),
                format!("Evaluator '{name}' requires the input '{input}': map it in data_mapping."),
            ));
        }
    }
    if metric == Metric::Rouge {
        let parameters = fields.opt_object("initialization_parameters")?;
        let param = fields.param("initialization_parameters");
        let rouge_type = parameters.as_ref().map(|p| p.req_str("rouge_type"));
        let names: Vec<&str> = ROUGE_TYPES.iter().map(|(name, _)| *name).collect();
        match rouge_type {
            Some(Ok(kind)) if names.contains(&kind) => {}
            Some(Err(error)) => return Err(error),
            _ => {
                return Err(ApiError::invalid_value(
                    &format!("{param}.rouge_type"),
                    format!(
                    "Evaluator '{name}' requires initialization_parameters.rouge_type, one of {}.",
                    names.join(", ")
                ),
                ))
            }
        }
    }
    Ok(())
}

/// Grades one row with an `azure_ai_evaluator` criterion.
pub(crate) async fn grade(grader: &Value, context: &Value, model: Option<&ModelClient>) -> Graded {
    let name = grader["evaluator_name"].as_str().unwrap_or_default();
    let parameters = &grader["initialization_parameters"];
    match builtin(name) {
        Some(Builtin::Metric(metric)) => {
            let input = |key: &str| {
                let template = grader["data_mapping"][key].as_str().unwrap_or_default();
                render(template, context)
            };
            let (response, truth) = (input("response"), input("ground_truth"));
            match score(metric, parameters, &response, &truth) {
                Ok(score) => {
                    let pass = threshold(Builtin::Metric(metric), parameters).unwrap_or(0.5);
                    grade::scored(grader, score, score >= pass)
                }
                Err(message) => grade::errored(grader, message),
            }
        }
        Some(Builtin::Judged) => match (model, judge_of(parameters)) {
            (Some(client), Some(judge)) => judged(grader, name, judge, context, client).await,
            (None, _) => grade::errored(
                grader,
                format!("'{name}' is judged by a model, and the emulator was started without --model-endpoint"),
            ),
            (Some(_), None) => grade::errored(
                grader,
                format!("'{name}' is judged by a model: name it in initialization_parameters.deployment_name"),
            ),
        },
        Some(Builtin::Safety) => grade::errored(
            grader,
            format!("'{name}' is scored by Foundry's safety service, which the emulator does not have"),
        ),
        None if name.starts_with("builtin.") => grade::errored(
            grader,
            format!("'{name}' is not a built-in evaluator the emulator knows"),
        ),
        None => grade::errored(
            grader,
            format!("'{name}' is a catalog evaluator, which the emulator does not run"),
        ),
    }
}

fn score(metric: Metric, parameters: &Value, response: &str, truth: &str) -> Result<f64, String> {
    let similarity = |name: &str| {
        grading::text_similarity(name, response, truth).map_err(|error| error.to_string())
    };
    match metric {
        Metric::F1 => Ok(grading::f1_score(response, truth)),
        Metric::Bleu => similarity("bleu"),
        Metric::Gleu => similarity("gleu"),
        Metric::Meteor => similarity("meteor"),
        Metric::Rouge => {
            let kind = parameters["rouge_type"].as_str().unwrap_or_default();
            match ROUGE_TYPES.iter().find(|(name, _)| *name == kind) {
                Some((_, metric)) => similarity(metric),
                None => Err(format!("unknown rouge_type '{kind}'")),
            }
        }
    }
}

/// The pass mark: `threshold` (`f1_score_threshold` for ROUGE, whose F1 is the score); when
/// not given 0.5 for a metric and 3 for a rating, as the SDK's evaluators default.
fn threshold(kind: Builtin, parameters: &Value) -> Option<f64> {
    let (key, default) = match kind {
        Builtin::Metric(Metric::Rouge) => ("f1_score_threshold", 0.5),
        Builtin::Metric(_) => ("threshold", 0.5),
        Builtin::Judged => ("threshold", 3.0),
        Builtin::Safety => return None,
    };
    Some(parameters[key].as_f64().unwrap_or(default))
}

/// The judge model, as the SDK samples (`deployment_name`) or azd (`model`) name it.
fn judge_of(parameters: &Value) -> Option<&str> {
    parameters["deployment_name"]
        .as_str()
        .or_else(|| parameters["model"].as_str())
}

/// A quality rating as a `score_model` grader over the mapped inputs, rated 1 to 5.
async fn judged(
    grader: &Value,
    name: &str,
    judge: &str,
    context: &Value,
    client: &ModelClient,
) -> Graded {
    let quality = name.trim_start_matches("builtin.").replace('_', " ");
    let inputs: Vec<String> = grader["data_mapping"]
        .as_object()
        .into_iter()
        .flat_map(Map::iter)
        .map(|(key, template)| format!("{key}: {}", template.as_str().unwrap_or_default()))
        .collect();
    let scorer = json!({
        "id": grader["id"],
        "type": "score_model",
        "model": judge,
        "input": [
            {"role": "system", "content": format!("You rate the {quality} of a response from 1 (worst) to 5 (best).")},
            {"role": "user", "content": inputs.join("\n")},
        ],
        "range": [1, 5],
        "pass_threshold": threshold(Builtin::Judged, &grader["initialization_parameters"]),
    });
    let mut graded = grade::model_grade(&scorer, context, client).await;
    graded.result["type"] = grader["type"].clone();
    graded
}

/// The name a project reports a criterion's metric under: the evaluator's, without
/// `builtin.`, or the grader's type.
pub(crate) fn metric_name(grader: &Value) -> &str {
    match grader["evaluator_name"].as_str() {
        Some(name) => name.strip_prefix("builtin.").unwrap_or(name),
        None => grader["type"].as_str().unwrap_or_default(),
    }
}

/// The pass mark a project reports for a criterion, where it has one.
pub(crate) fn reported_threshold(grader: &Value) -> Value {
    let parameters = &grader["initialization_parameters"];
    match grader["evaluator_name"].as_str().and_then(builtin) {
        Some(kind) => json!(threshold(kind, parameters)),
        None => grader.get("pass_threshold").cloned().unwrap_or(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluator(name: &str, parameters: Value) -> Value {
        json!({"id": "f1_x", "type": "azure_ai_evaluator", "evaluator_name": name,
               "initialization_parameters": parameters,
               "data_mapping": {"response": "{{item.a}}", "ground_truth": "{{item.b}}"}})
    }

    #[tokio::test]
    async fn text_metrics_are_graded_against_their_threshold() {
        let context = json!({"item": {"a": "Paris is the capital", "b": "Paris"}});
        let f1 = grade(&evaluator("builtin.f1_score", json!({})), &context, None).await;
        assert_eq!(f1.verdict, Some(true));
        assert_eq!(f1.result["score"], json!(0.5));
        let strict = evaluator("builtin.f1_score", json!({"threshold": 0.9}));
        assert_eq!(grade(&strict, &context, None).await.verdict, Some(false));
        // ROUGE keeps `the`: 1 of 4 tokens shared, F1 0.4, against its f1_score_threshold.
        let rouge = evaluator("builtin.rouge_score", json!({"rouge_type": "rouge1"}));
        let graded = grade(&rouge, &context, None).await;
        assert_eq!(
            (graded.result["score"].as_f64(), graded.verdict),
            (Some(0.4), Some(false))
        );
        let lenient = json!({"rouge_type": "rouge1", "f1_score_threshold": 0.4});
        let lenient = grade(&evaluator("builtin.rouge_score", lenient), &context, None).await;
        assert_eq!(lenient.verdict, Some(true));
    }

    #[tokio::test]
    async fn what_cannot_be_graded_here_errors_with_its_reason() {
        let context = json!({"item": {"a": "x", "b": "y"}});
        for (name, reason) in [
            ("builtin.coherence", "without --model-endpoint"),
            ("builtin.violence", "safety service"),
            ("builtin.nope", "not a built-in evaluator"),
            ("my-rubric", "catalog evaluator"),
        ] {
            let graded = grade(&evaluator(name, json!({})), &context, None).await;
            assert_eq!(graded.verdict, None);
            let message = graded.result["error"]["message"]
                .as_str()
                .unwrap_or_default();
            assert!(message.contains(reason), "{name}: {message}");
        }
    }
}
