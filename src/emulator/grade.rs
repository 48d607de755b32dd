//! Grading one row with every testing criterion. `string_check` and `text_similarity` are
//! computed here by [`grading`]; `label_model` and `score_model` ask the model endpoint;
//! a project's `azure_ai_evaluator` criteria go to [`evaluators`](super::evaluators);
//! `python` graders are not run by the emulator and error. A grader that cannot grade a row
//! makes the row errored, not failed.

use serde_json::{json, Value};

use super::evaluators;
use super::grading;
use super::messages;
use super::model_client::ModelClient;
use super::objects::ModelUsage;
use crate::template::render;

/// One grader's verdict on one row.
#[derive(Debug, Clone)]
pub(crate) struct Graded {
    /// The output item's entry in `results`.
    pub(crate) result: Value,
    /// Passed, failed, or `None` when it errored.
    pub(crate) verdict: Option<bool>,
    pub(crate) usage: Option<ModelUsage>,
}

/// Whether a grader needs the model endpoint.
pub(crate) fn needs_model(grader: &Value) -> bool {
    matches!(grader["type"].as_str(), Some("label_model" | "score_model"))
}

/// Grades `context` (`{"item": ..., "sample": ...}`) with `grader`.
pub(crate) async fn grade(grader: &Value, context: &Value, model: Option<&ModelClient>) -> Graded {
    let outcome = match grader["type"].as_str().unwrap_or_default() {
        "string_check" => string_check(grader, context),
        "text_similarity" => text_similarity(grader, context),
        "label_model" | "score_model" => match model {
            Some(client) => return model_grade(grader, context, client).await,
            None => Err("model graders need --model-endpoint".to_string()),
        },
        "azure_ai_evaluator" => return evaluators::grade(grader, context, model).await,
        other => Err(format!("'{other}' graders are not run by the emulator")),
    };
    match outcome {
        Ok((score, passed)) => scored(grader, score, passed),
        Err(message) => errored(grader, message),
    }
}

/// A verdict reached without a model.
pub(crate) fn scored(grader: &Value, score: f64, passed: bool) -> Graded {
    Graded {
        result: result(grader, score, passed, Value::Null),
        verdict: Some(passed),
        usage: None,
    }
}

/// A result as a Foundry project reports it: with its `status`, `metric`, `label`,
/// `threshold`, `reason` and `properties`, and `passed` null when the grader errored.
pub(crate) fn in_project(grader: &Value, graded: &mut Graded) {
    let result = &mut graded.result;
    let reason = result["error"]["message"].clone();
    let (status, label) = match graded.verdict {
        Some(true) => ("completed", json!("pass")),
        Some(false) => ("completed", json!("fail")),
        None => ("errored", Value::Null),
    };
    if graded.verdict.is_none() {
        result["passed"] = Value::Null;
    }
    result["status"] = json!(status);
    result["metric"] = json!(evaluators::metric_name(grader));
    result["label"] = label;
    result["threshold"] = evaluators::reported_threshold(grader);
    result["reason"] = reason;
    result["properties"] = json!({});
}

fn string_check(grader: &Value, context: &Value) -> Result<(f64, bool), String> {
    let (input, reference) = operands(grader, context);
    let operation = grader["operation"].as_str().unwrap_or_default();
    let passed = grading::string_check(operation, &input, &reference).map_err(|e| e.to_string())?;
    Ok((if passed { 1.0 } else { 0.0 }, passed))
}

fn text_similarity(grader: &Value, context: &Value) -> Result<(f64, bool), String> {
    let (input, reference) = operands(grader, context);
    let metric = grader["evaluation_metric"].as_str().unwrap_or_default();
    let score = grading::text_similarity(metric, &input, &reference).map_err(|e| e.to_string())?;
    let threshold = grader["pass_threshold"].as_f64().unwrap_or(1.0);
    Ok((score, score >= threshold))
}

fn operands(grader: &Value, context: &Value) -> (String, String) {
    let field = |key: &str| render(grader[key].as_str().unwrap_or_default(), context);
    (field("input"), field("reference"))
}

pub(crate) async fn model_grade(grader: &Value, context: &Value, client: &ModelClient) -> Graded {
    let mut prompt = messages::rendered(&grader["input"], context);
    let labels: Vec<&str> = strings(&grader["labels"]);
    let is_label = grader["type"] == "label_model";
    prompt.push((
        "system".into(),
        instruction(is_label, &labels, &grader["range"]),
    ));
    let model = grader["model"].as_str().unwrap_or_default();
    let params = grader["sampling_params"].as_object();
    let completion = match client.complete(model, &prompt, params).await {
        Ok(completion) => completion,
        Err(error) => return errored(grader, error),
    };
    let sample = json!({"input": prompt.iter().map(|(r, c)| json!({"role": r, "content": c})).collect::<Vec<_>>(),
                        "output": [{"role": "assistant", "content": completion.text}],
                        "model": completion.model});
    let verdict = if is_label {
        label_verdict(
            &completion.text,
            &labels,
            &strings(&grader["passing_labels"]),
        )
    } else {
        score_verdict(&completion.text, grader)
    };
    let usage = Some(completion.usage);
    match verdict {
        Ok((score, passed)) => Graded {
            result: result(grader, score, passed, sample),
            verdict: Some(passed),
            usage,
        },
        Err(message) => Graded {
            usage,
            ..errored(grader, message)
        },
    }
}

fn instruction(is_label: bool, labels: &[&str], range: &Value) -> String {
    if is_label {
        format!(
            "Answer with exactly one of these labels and nothing else: {}.",
            labels.join(", ")
        )
    } else {
        let (low, high) = bounds(range);
        format!("Answer with a single number between {low} and {high} and nothing else.")
    }
}

/// The label the model chose: the answer itself, or the first label it mentions.
fn label_verdict(text: &str, labels: &[&str], passing: &[&str]) -> Result<(f64, bool), String> {
    let answer = text.trim().trim_matches(['"', '\'', '.']);
    let chosen = labels
        .iter()
        .find(|l| l.eq_ignore_ascii_case(answer))
        .or_else(|| labels.iter().find(|l| text.contains(**l)))
        .ok_or_else(|| format!("the model answered '{text}', which is none of the labels"))?;
    let passed = passing.contains(chosen);
    Ok((if passed { 1.0 } else { 0.0 }, passed))
}

/// The number the model answered, against `pass_threshold` (by default the middle of `range`).
fn score_verdict(text: &str, grader: &Value) -> Result<(f64, bool), String> {
    let score: f64 = text
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .find_map(|word| word.parse().ok())
        .ok_or_else(|| format!("the model answered '{text}', which holds no number"))?;
    let (low, high) = bounds(&grader["range"]);
    let threshold = grader["pass_threshold"]
        .as_f64()
        .unwrap_or((low + high) / 2.0);
    Ok((score, score >= threshold))
}

fn bounds(range: &Value) -> (f64, f64) {
    match (range[0].as_f64(), range[1].as_f64()) {
        (Some(low), Some(high)) => (low, high),
        _ => (0.0, 1.0),
    }
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn result(grader: &Value, score: f64, passed: bool, sample: Value) -> Value {
    json!({
        "name": grader["id"],
        "type": grader["type"],
        "score": score,
        "passed": passed,
        "sample": sample,
    })
}

pub(crate) fn errored(grader: &Value, message: String) -> Graded {
    let mut result = result(grader, 0.0, false, Value::Null);
    result["error"] = json!({"code": "grader_error", "message": message});
    Graded {
        result,
        verdict: None,
        usage: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_read_from_the_models_answer() {
        let labels = ["Hardware", "Software"];
        assert_eq!(
            label_verdict(" hardware.", &labels, &["Hardware"]),
            Ok((1.0, true))
        );
        assert_eq!(
            label_verdict("It is Software", &labels, &["Hardware"]),
            Ok((0.0, false))
        );
        assert!(label_verdict("no idea", &labels, &["Hardware"]).is_err());
    }

    #[test]
    fn scores_pass_at_the_threshold() {
        let grader = json!({"range": [0, 10], "pass_threshold": 7});
        assert_eq!(score_verdict("Score: 7", &grader), Ok((7.0, true)));
        assert_eq!(score_verdict("6.5", &grader), Ok((6.5, false)));
    }
}
