//! The typed manifest: what a user writes, in the Evals API's own request format plus
//! evalctl's additions (eval and run keys, `runs`, `gate`, the `file` run source). The JSON
//! Schema of a manifest file is generated from these types, and validation walks that schema,
//! so the types are the single source of truth for the format.

mod data_source;
mod grader;
mod message;
pub(crate) mod open;
mod run;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use data_source::{CustomConfig, DataSourceConfig, KnownDataSourceConfig, LogsConfig};
pub use grader::{
    Grader, KnownGrader, LabelModelGrader, PythonGrader, ScoreModelGrader, SimilarityMetric,
    StringCheckGrader, StringCheckOperation, TextSimilarityGrader,
};
pub use message::{ContentPart, Message, MessageContent, Role};
pub use open::Unrecognized;
pub use run::{
    Baseline, Gate, GraderGate, InputMessages, KnownRunDataSource, Regression, Row, RunDataSource,
    RunSource, RunSpec, SamplingDataSource, SamplingParams,
};

/// String-to-string metadata of an eval or a run.
pub type Metadata = BTreeMap<String, String>;

/// One manifest file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "evalctl manifest")]
pub struct ManifestFile {
    /// Evals by key. The key is the eval's stable identity on the service
    /// (`[a-z0-9][a-z0-9._-]{0,62}`); renaming a key creates a new eval.
    pub evals: BTreeMap<String, EvalSpec>,
}

/// An eval: its data source config and graders (immutable on the service: a change replaces
/// the eval), its display name and metadata (updated in place), and the runs wanted on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvalSpec {
    /// Display name; changes are updated in place. Defaults to the eval key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// User metadata (string to string). Keys starting with `evalctl_` are reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// The schema of the data the eval grades (request form of the Evals API).
    pub data_source_config: DataSourceConfig,
    /// The graders (request form of the Evals API).
    pub testing_criteria: Vec<Grader>,
    /// Runs by key (same alphabet as eval keys). A run is started when no run with this key
    /// and the same spec exists on the live eval.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub runs: BTreeMap<String, RunSpec>,
    /// Never delete or replace this eval unless `--allow-replace KEY` is given (recorded on
    /// the service as the tag `evalctl_protect`, so it holds after the key leaves the
    /// manifests too).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// Bring this existing eval (its id) under management: the plan tags it in place (`<=`),
    /// keeping its id and runs, or replaces it (keeping it as superseded) when its definition
    /// differs. Written by `evalctl import`; inert once the eval is managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<String>,
    /// How `compare` pairs the rows of two runs: `item.<field>`, a field that identifies a
    /// row across data versions (default: identical item content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair_by: Option<String>,
}

/// Project settings in `evalctl.yaml` at the project root.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "evalctl project settings")]
pub struct Settings {
    /// The ownership tag written on every eval and run (default: the directory name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The default target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// The kind of credential to insist on for `azure` and `foundry` (default: a key when one
    /// is set, else an Entra ID token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthKind>,
    /// YAML files under the root that are not manifests, as globs relative to it (e.g.
    /// `ci/**`). `azure-pipelines.yml` is never read as a manifest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

/// Which kind of credential `--auth` (or `auth:` in `evalctl.yaml`) insists on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// An API key (`AZURE_OPENAI_API_KEY`, `OPENAI_API_KEY`).
    Key,
    /// An Entra ID token (`AZURE_OPENAI_AD_TOKEN`, else the credential chain).
    Entra,
}

/// Where evals live (design §2). Named alike in `evalctl.yaml`, on the command line, in
/// `EVALCTL_TARGET` and in saved plans.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The embedded emulator, state in `.evalctl/local/`.
    Local,
    /// An Azure OpenAI / Foundry resource (`AZURE_OPENAI_ENDPOINT`).
    Azure,
    /// A Foundry project (`AZURE_AI_PROJECT_ENDPOINT`).
    Foundry,
    /// OpenAI or an OpenAI-compatible service (`OPENAI_BASE_URL`).
    Openai,
}

impl std::fmt::Display for Target {
    /// The name the command line takes (the one `evalctl.yaml` and plan files use too).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match clap::ValueEnum::to_possible_value(self) {
            Some(value) => f.write_str(value.get_name()),
            None => Ok(()),
        }
    }
}
