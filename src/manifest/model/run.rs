//! Runs: a data source in the request form of the Evals API (plus evalctl's `file` source)
//! and a `gate` that `apply --wait` checks.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::grader::ReasoningEffort;
use super::message::Message;
use super::open::{type_tagged, Unrecognized};
use super::Metadata;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Display name of the run. Defaults to the run key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// User metadata (string to string). Keys starting with `evalctl_` are reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    pub data_source: RunDataSource,
    /// Pass rates that `apply --wait` requires of this run (exit 3 otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<Gate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// Share of rows that passed every grader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub min_pass_rate: Option<f64>,
    /// Fail when the run got worse than its baseline (every grader passing a row) by more
    /// than `max_drop`, and the drop is significant at `alpha`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<Regression>,
    /// Per grader (by grader `name`): share of rows that passed that grader.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub graders: BTreeMap<String, GraderGate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GraderGate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub min_pass_rate: Option<f64>,
    /// This grader's regression against the baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<Regression>,
}

/// A regression gate: the new run against its baseline, row by row (see `evalctl compare`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Regression {
    /// The run compared with: `previous`, the completed run of the key before this one.
    #[serde(default)]
    pub baseline: Baseline,
    /// The largest drop in pass rate (a fraction of 1) that never fails the gate.
    #[serde(default)]
    #[schemars(range(min = 0, max = 1))]
    pub max_drop: f64,
    /// The significance level: a larger drop fails only when McNemar's p is below it.
    #[serde(default = "default_alpha")]
    #[schemars(range(min = 0.0001, max = 0.5))]
    pub alpha: f64,
}

fn default_alpha() -> f64 {
    0.05
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// The completed run of the same run key before this one (across replacements).
    #[default]
    Previous,
}

// The known variant is large, but a project holds a few of these, never a hot collection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RunDataSource {
    Known(KnownRunDataSource),
    Unrecognized(Unrecognized<KnownRunDataSource>),
}

type_tagged!(RunDataSource, KnownRunDataSource, "run data source", {
    "jsonl" => Jsonl,
    "completions" => Completions,
    "responses" => Responses,
    "azure_ai_target_completions" => AzureAiTargetCompletions,
    "azure_ai_responses" => AzureAiResponses,
    "csv" => Csv,
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KnownRunDataSource {
    /// Rows as they are: graders see `item` (and `sample` when rows carry one).
    Jsonl(JsonlDataSource),
    /// Sample a model through Chat Completions for each row.
    Completions(Box<SamplingDataSource>),
    /// Sample a model through the Responses API for each row.
    Responses(Box<SamplingDataSource>),
    /// Foundry: a model deployment or an agent answers each row. Foundry projects only.
    AzureAiTargetCompletions(Box<TargetCompletionsDataSource>),
    /// Foundry: responses the project stored, found from each row. Foundry projects only.
    AzureAiResponses(Box<ResponsesRetrievalDataSource>),
    /// Foundry: rows of an uploaded CSV file. Foundry projects only.
    Csv(CsvDataSource),
}

impl KnownRunDataSource {
    /// Where the rows come from; a CSV run reads an uploaded file only.
    pub fn source(&self) -> Option<&RunSource> {
        match self {
            KnownRunDataSource::Jsonl(ds) => Some(&ds.source),
            KnownRunDataSource::Completions(ds) | KnownRunDataSource::Responses(ds) => {
                Some(&ds.source)
            }
            KnownRunDataSource::AzureAiTargetCompletions(ds) => Some(&ds.source),
            KnownRunDataSource::AzureAiResponses(ds) => Some(&ds.item_generation_params.source),
            KnownRunDataSource::Csv(_) => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            KnownRunDataSource::Jsonl(_) => "jsonl",
            KnownRunDataSource::Completions(_) => "completions",
            KnownRunDataSource::Responses(_) => "responses",
            KnownRunDataSource::AzureAiTargetCompletions(_) => "azure_ai_target_completions",
            KnownRunDataSource::AzureAiResponses(_) => "azure_ai_responses",
            KnownRunDataSource::Csv(_) => "csv",
        }
    }

    /// Whether only Foundry projects accept it.
    pub fn is_project_only(&self) -> bool {
        matches!(
            self,
            KnownRunDataSource::AzureAiTargetCompletions(_)
                | KnownRunDataSource::AzureAiResponses(_)
                | KnownRunDataSource::Csv(_)
        )
    }

    /// Whether the run makes samples (a model or an agent answers each row), so graders can
    /// read `sample.*`.
    pub fn samples(&self) -> bool {
        matches!(
            self,
            KnownRunDataSource::Completions(_)
                | KnownRunDataSource::Responses(_)
                | KnownRunDataSource::AzureAiTargetCompletions(_)
                | KnownRunDataSource::AzureAiResponses(_)
        )
    }
}

/// A Foundry target run (FOUNDRY.md §2.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetCompletionsDataSource {
    pub source: RunSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_messages: Option<InputMessages>,
    pub target: AzureAiTarget,
}

/// What answers each row of a Foundry target run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AzureAiTarget {
    /// A model deployment of the project.
    AzureAiModel {
        model: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sampling_params: Option<Box<SamplingParams>>,
    },
    /// An agent of the project; its latest version when `version` is absent.
    AzureAiAgent {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tool_descriptions: Option<Vec<ToolDescription>>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolDescription {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A Foundry run over responses the project stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponsesRetrievalDataSource {
    pub item_generation_params: ResponseRetrieval,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename = "response_retrieval", deny_unknown_fields)]
pub struct ResponseRetrieval {
    /// Turns of each conversation to grade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_num_turns: Option<u64>,
    /// Which response each row names: `response_id: "{{item.<column>}}"`.
    pub data_mapping: BTreeMap<String, String>,
    pub source: RunSource,
}

/// A Foundry run over an uploaded CSV file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvDataSource {
    pub source: CsvSource,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CsvSource {
    /// A file already uploaded to the service.
    FileId { id: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonlDataSource {
    pub source: RunSource,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SamplingDataSource {
    pub source: RunSource,
    /// Model under test (Azure: deployment name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_messages: Option<InputMessages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_params: Option<SamplingParams>,
}

/// Where a run's rows come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RunSource {
    /// evalctl's own: a local JSONL file (relative to the manifest, inside the project),
    /// uploaded with `purpose=evals` and sent as `file_id`.
    File { path: String },
    /// Inline rows.
    FileContent { content: Vec<Row> },
    /// A file already uploaded to the service.
    FileId { id: String },
    /// Stored chat completions selected by filters (`completions` runs only).
    StoredCompletions {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata: Option<Metadata>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        created_after: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        created_before: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u64>,
    },
    /// Stored responses selected by filters (`responses` runs only).
    Responses(Box<ResponsesFilter>),
}

impl RunSource {
    pub fn kind(&self) -> &'static str {
        match self {
            RunSource::File { .. } => "file",
            RunSource::FileContent { .. } => "file_content",
            RunSource::FileId { .. } => "file_id",
            RunSource::StoredCompletions { .. } => "stored_completions",
            RunSource::Responses(_) => "responses",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponsesFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions_search: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_after: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_before: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<ReasoningEffort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
}

/// One row: `item` must match the eval's `item_schema`; `sample` is a model output graded
/// as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub item: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum InputMessages {
    /// Messages that may reference `{{item.*}}`; one model call per row.
    Template { template: Vec<Message> },
    /// Take the messages from the row, e.g. `item.input_trajectory`.
    ItemReference { item_reference: String },
}

/// Sampling parameters of `completions` and `responses` runs. The union of the OpenAI and
/// Azure forms: Azure spells the token limit `max_tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SamplingParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    /// Azure's name for the token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<ReasoningEffort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Tools the model may call (Chat function tools, or Responses tools), verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Map<String, Value>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Responses: text output configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchemaFormat },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonSchemaFormat {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextConfig {
    pub format: TextFormat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TextFormat {
    Text,
    JsonObject,
    JsonSchema(JsonSchemaFormat),
}
