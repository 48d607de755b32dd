//! `data_source_config` of an eval, in the request form of the Evals API.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::open::{type_tagged, Unrecognized};

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DataSourceConfig {
    Known(KnownDataSourceConfig),
    Unrecognized(Unrecognized<KnownDataSourceConfig>),
}

type_tagged!(DataSourceConfig, KnownDataSourceConfig, "data source config", {
    "custom" => Custom,
    "logs" => Logs,
    "stored_completions" => StoredCompletions,
    "azure_ai_source" => AzureAiSource,
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KnownDataSourceConfig {
    /// Your own rows, described by `item_schema`.
    Custom(CustomConfig),
    /// Stored logs selected by metadata.
    Logs(LogsConfig),
    /// Deprecated in favour of `logs`.
    StoredCompletions(LogsConfig),
    /// Data a Foundry project holds (stored responses, traces, ...): Foundry projects only.
    AzureAiSource(AzureAiSourceConfig),
}

/// A Foundry project's own data (FOUNDRY.md §2.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AzureAiSourceConfig {
    pub scenario: Scenario,
    /// `benchmark_preview`: which benchmark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grader_model: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    Responses,
    TracesPreview,
    RedTeam,
    SyntheticDataGenPreview,
    BenchmarkPreview,
    ConversationSimulationPreview,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomConfig {
    /// JSON Schema of one row's `item`.
    pub item_schema: Map<String, Value>,
    /// Whether graders can use the `sample` namespace (set it when runs sample a model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_sample_schema: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    /// Metadata filters of the logs query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}
