//! `data_source_config` of an eval, in the request form of the Evals API.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::open::{deserialize_tagged, KnownTypes, TypeTagged, Unrecognized};

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DataSourceConfig {
    Known(KnownDataSourceConfig),
    Unrecognized(Unrecognized<KnownDataSourceConfig>),
}

impl<'de> Deserialize<'de> for DataSourceConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_tagged(deserializer)
    }
}

impl TypeTagged for DataSourceConfig {
    fn from_fields<'de, D: Deserializer<'de>>(kind: &str, fields: D) -> Result<Self, D::Error> {
        let known = match kind {
            "custom" => KnownDataSourceConfig::Custom(Deserialize::deserialize(fields)?),
            "logs" => KnownDataSourceConfig::Logs(Deserialize::deserialize(fields)?),
            "stored_completions" => {
                KnownDataSourceConfig::StoredCompletions(Deserialize::deserialize(fields)?)
            }
            _ => {
                let fields = Map::deserialize(fields)?;
                return Ok(DataSourceConfig::Unrecognized(Unrecognized::new(
                    kind, fields,
                )));
            }
        };
        Ok(DataSourceConfig::Known(known))
    }
}

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

impl KnownTypes for KnownDataSourceConfig {
    const FAMILY: &'static str = "data source config";
    const NAMES: &'static [&'static str] = &["custom", "logs", "stored_completions"];
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
