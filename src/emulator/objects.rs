//! The service's objects in their wire form (the response shapes of the specs), which is also
//! the form the store keeps and persists. Free-form parts (schemas, graders, data sources,
//! rows) stay JSON values, exactly as they are echoed back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Object metadata: string to string, `{}` when unset.
pub(crate) type Metadata = BTreeMap<String, String>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Eval {
    pub(crate) object: String,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) data_source_config: Value,
    pub(crate) testing_criteria: Vec<Value>,
    pub(crate) created_at: i64,
    pub(crate) metadata: Metadata,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub(crate) project: Option<ProjectFields>,
}

/// What a Foundry project adds to its evals and runs (FOUNDRY.md §2); absent elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProjectFields {
    pub(crate) modified_at: i64,
    /// A display name on evals; `null` on runs.
    pub(crate) created_by: Option<String>,
    /// Immutable, partly written by the service itself.
    pub(crate) properties: Metadata,
}

/// A run's lifecycle: `queued` -> `in_progress` -> one of the terminal three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RunStatus {
    Queued,
    InProgress,
    Completed,
    Failed,
    Canceled,
}

impl RunStatus {
    pub(crate) const NAMES: [&'static str; 5] =
        ["queued", "in_progress", "completed", "canceled", "failed"];

    pub(crate) fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Failed | RunStatus::Canceled
        )
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::InProgress => "in_progress",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Canceled => "canceled",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ResultCounts {
    pub(crate) total: u64,
    pub(crate) errored: u64,
    pub(crate) failed: u64,
    pub(crate) passed: u64,
    /// Counted by a Foundry project only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) skipped: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ModelUsage {
    pub(crate) model_name: String,
    pub(crate) invocation_count: u64,
    pub(crate) prompt_tokens: u64,
    pub(crate) completion_tokens: u64,
    pub(crate) total_tokens: u64,
    pub(crate) cached_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CriteriaResult {
    /// The grader's id (`<name>-<uuid>`).
    pub(crate) testing_criteria: String,
    pub(crate) passed: u64,
    pub(crate) failed: u64,
    /// Counted by a Foundry project only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) errored: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) skipped: Option<u64>,
}

/// `EvalApiError`: why a run failed. A Foundry project answers one on every run, its members
/// `null` until something fails, with `correlation_id` and `inner_error` besides (in `more`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RunError {
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
    #[serde(flatten)]
    pub(crate) more: Map<String, Value>,
}

impl RunError {
    pub(crate) fn new(code: &str, message: impl Into<String>) -> Self {
        RunError {
            code: Some(code.into()),
            message: Some(message.into()),
            more: Map::new(),
        }
    }

    /// The same error as a Foundry project answers it (`None`: the run has not failed).
    pub(crate) fn in_project(error: Option<RunError>) -> RunError {
        let mut error = error.unwrap_or(RunError {
            code: None,
            message: None,
            more: Map::new(),
        });
        for key in ["correlation_id", "inner_error"] {
            error.more.entry(key).or_insert(Value::Null);
        }
        error
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EvalRun {
    pub(crate) object: String,
    pub(crate) id: String,
    pub(crate) eval_id: String,
    pub(crate) name: String,
    pub(crate) status: RunStatus,
    /// The model under test, empty for runs that sample nothing (the spec's type is string;
    /// `None` only in stores written before that was decided).
    pub(crate) model: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) report_url: String,
    pub(crate) result_counts: ResultCounts,
    /// `null` until the run starts, as the live service answers.
    pub(crate) per_model_usage: Option<Vec<ModelUsage>>,
    pub(crate) per_testing_criteria_results: Option<Vec<CriteriaResult>>,
    pub(crate) data_source: Value,
    pub(crate) metadata: Metadata,
    pub(crate) error: Option<RunError>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub(crate) project: Option<ProjectFields>,
}

/// A row's outcome, also the `status` filter of the output-item list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ItemStatus {
    Pass,
    Fail,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OutputItem {
    pub(crate) object: String,
    pub(crate) id: String,
    pub(crate) created_at: i64,
    pub(crate) run_id: String,
    pub(crate) eval_id: String,
    pub(crate) status: ItemStatus,
    pub(crate) datasource_item_id: u64,
    pub(crate) datasource_item: Value,
    pub(crate) results: Vec<Value>,
    pub(crate) sample: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileObject {
    pub(crate) object: String,
    pub(crate) id: String,
    pub(crate) purpose: String,
    pub(crate) filename: String,
    pub(crate) bytes: u64,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
    pub(crate) status: String,
    pub(crate) status_details: Option<String>,
}
