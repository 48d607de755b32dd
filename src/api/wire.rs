//! Wire types of the Evals API responses the client reads (`../shared/spec/*.openapi.yaml`).
//! Deserialization is lenient where the flavors or live responses differ from the spec
//! (nullable arrays while a run is queued, metadata `null`, extra fields, a Foundry project's
//! `created_at` as an RFC 3339 string and its all-`null` run `error`), because one odd object
//! on the service must not make a whole listing unreadable.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A list response: `{object: "list", data, first_id, last_id, has_more}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub last_id: Option<String>,
    #[serde(default)]
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Eval {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "metadata")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub data_source_config: Value,
    #[serde(default, deserialize_with = "null_as_default")]
    pub testing_criteria: Vec<Value>,
    #[serde(default, deserialize_with = "timestamp")]
    pub created_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalRun {
    pub id: String,
    #[serde(default)]
    pub eval_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: RunStatus,
    #[serde(default, deserialize_with = "metadata")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "timestamp")]
    pub created_at: i64,
    #[serde(default)]
    pub report_url: Option<String>,
    #[serde(default)]
    pub result_counts: Option<ResultCounts>,
    #[serde(default)]
    pub per_testing_criteria_results: Option<Vec<CriteriaResult>>,
    #[serde(default, deserialize_with = "run_error")]
    pub error: Option<RunError>,
    #[serde(default)]
    pub model: Option<String>,
    /// The run's data source as the service echoes it (a `file_id` source names the upload).
    #[serde(default)]
    pub data_source: Value,
}

/// Where a run is. The service may add states: an unknown one is kept by name, and counts
/// as not finished, so waiting goes on until the timeout rather than misreading it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum RunStatus {
    #[default]
    Queued,
    InProgress,
    Completed,
    Failed,
    Canceled,
    Other(String),
}

impl RunStatus {
    pub fn as_str(&self) -> &str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::InProgress => "in_progress",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Canceled => "canceled",
            RunStatus::Other(other) => other,
        }
    }

    /// Whether the run will not change any more.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Failed | RunStatus::Canceled
        )
    }
}

impl From<String> for RunStatus {
    fn from(text: String) -> RunStatus {
        match text.as_str() {
            "queued" => RunStatus::Queued,
            "in_progress" => RunStatus::InProgress,
            "completed" => RunStatus::Completed,
            "failed" => RunStatus::Failed,
            "canceled" => RunStatus::Canceled,
            _ => RunStatus::Other(text),
        }
    }
}

impl From<RunStatus> for String {
    fn from(status: RunStatus) -> String {
        status.as_str().to_string()
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A grader's name from the id the service gave it: `<name>-<uuid>`, or `<name>_<uuid>` in a
/// Foundry project (the name alone when the id has no such suffix).
pub fn grader_name(id: &str) -> &str {
    let is_uuid = |s: &str| s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    match id.len().checked_sub(37) {
        Some(cut)
            if id.is_char_boundary(cut)
                && (id[cut..].starts_with('-') || id[cut..].starts_with('_'))
                && is_uuid(&id[cut + 1..]) =>
        {
            &id[..cut]
        }
        _ => id,
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultCounts {
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub errored: u64,
    #[serde(default)]
    pub failed: u64,
    #[serde(default)]
    pub passed: u64,
    /// Rows a Foundry project skipped (neither passed, failed nor errored).
    #[serde(default, deserialize_with = "null_as_default")]
    pub skipped: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriteriaResult {
    /// The grader's id (`<name>-<uuid>`).
    pub testing_criteria: String,
    #[serde(default)]
    pub passed: u64,
    #[serde(default)]
    pub failed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunError {
    #[serde(default, deserialize_with = "null_as_default")]
    pub code: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
}

/// A file of the Files API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileObject {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub filename: String,
    #[serde(default)]
    pub bytes: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub purpose: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(default)]
    pub created_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_uuid_the_service_appends() {
        assert_eq!(
            grader_name("string check-2eaf2d8d-d649-4335-8148-9535a7ca73c2"),
            "string check"
        );
        assert_eq!(grader_name("plain"), "plain");
        assert_eq!(grader_name("f1_2eaf2d8d-d649-4335-8148-9535a7ca73c2"), "f1");
    }

    #[test]
    fn project_answers_read_as_the_resource_s() -> serde_json::Result<()> {
        let run: EvalRun = serde_json::from_value(serde_json::json!({
            "id": "r", "created_at": "2026-09-27T10:15:30.123+02:00", "metadata": null,
            "error": {"code": null, "message": null, "correlation_id": null, "inner_error": null},
            "result_counts": {"total": 3, "errored": 0, "failed": 0, "passed": 2, "skipped": 1},
        }))?;
        assert_eq!(run.created_at, 1_790_496_930);
        assert_eq!(run.error, None);
        assert_eq!(run.result_counts.map(|c| c.skipped), Some(1));
        let failed: EvalRun = serde_json::from_value(serde_json::json!({
            "id": "r", "created_at": 5, "error": {"code": "x", "message": null}}))?;
        assert_eq!(failed.error.map(|e| e.code), Some("x".to_string()));
        let odd: EvalRun =
            serde_json::from_value(serde_json::json!({"id": "r", "created_at": "soon"}))?;
        assert_eq!(odd.created_at, 0);
        Ok(())
    }

    #[test]
    fn statuses_read_and_write_as_the_service_names_them() {
        for name in [
            "queued",
            "in_progress",
            "completed",
            "failed",
            "canceled",
            "paused",
        ] {
            let status: RunStatus = serde_json::from_value(Value::from(name)).unwrap_or_default();
            assert_eq!(status.as_str(), name);
            assert_eq!(serde_json::to_value(&status).ok(), Some(Value::from(name)));
        }
        assert!(!RunStatus::from("paused".to_string()).is_finished());
        assert!(RunStatus::Canceled.is_finished());
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Seconds since the epoch: an integer by the spec, an RFC 3339 string in some Foundry
/// listings (observed by azd). Anything else reads as 0, an unknown time, rather than failing
/// the listing.
fn timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    use time::format_description::well_known::Rfc3339;
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or(0),
        Some(Value::String(text)) => time::OffsetDateTime::parse(&text, &Rfc3339)
            .map(time::OffsetDateTime::unix_timestamp)
            .unwrap_or(0),
        _ => 0,
    })
}

/// A run's error; a Foundry project answers one with `null` members on every run, which is no
/// error at all.
fn run_error<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<RunError>, D::Error> {
    let error = Option::<RunError>::deserialize(deserializer)?;
    Ok(error.filter(|e| !(e.code.is_empty() && e.message.is_empty())))
}

/// Metadata is string to string by the spec; anything else (a number set by another tool)
/// is kept as its JSON text rather than failing the listing.
fn metadata<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = Option::<BTreeMap<String, Value>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(raw
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

/// The error envelope of both flavors: OpenAI `{error: {message, type, param, code}}`,
/// Azure `{error: {code, message, param, type, inner_error}}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorEnvelope {
    #[serde(default)]
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub param: Option<Value>,
    #[serde(default)]
    pub code: Option<Value>,
}
