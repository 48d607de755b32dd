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
