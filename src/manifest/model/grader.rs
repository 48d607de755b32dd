//! Graders (`testing_criteria`), in the request form of the Evals API.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::message::Message;
use super::open::{type_tagged, Unrecognized};

/// A grader: one evalctl knows, or an unknown type passed through verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Grader {
    Known(KnownGrader),
    Unrecognized(Unrecognized<KnownGrader>),
}

type_tagged!(Grader, KnownGrader, "grader", {
    "string_check" => StringCheck,
    "text_similarity" => TextSimilarity,
    "label_model" => LabelModel,
    "score_model" => ScoreModel,
    "python" => Python,
    "azure_ai_evaluator" => AzureAiEvaluator,
});

impl Grader {
    pub fn name(&self) -> Option<&str> {
        match self {
            Grader::Known(known) => Some(known.name()),
            Grader::Unrecognized(other) => other.fields.get("name").and_then(|n| n.as_str()),
        }
    }

    pub fn kind(&self) -> &str {
        match self {
            Grader::Known(known) => known.kind(),
            Grader::Unrecognized(other) => &other.kind,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KnownGrader {
    StringCheck(StringCheckGrader),
    TextSimilarity(TextSimilarityGrader),
    LabelModel(LabelModelGrader),
    ScoreModel(ScoreModelGrader),
    Python(PythonGrader),
    /// A Foundry evaluator, built in (`builtin.f1_score`) or from the project's catalog:
    /// Foundry projects only.
    AzureAiEvaluator(AzureAiEvaluatorGrader),
}

impl KnownGrader {
    pub fn name(&self) -> &str {
        match self {
            KnownGrader::StringCheck(g) => &g.name,
            KnownGrader::TextSimilarity(g) => &g.name,
            KnownGrader::LabelModel(g) => &g.name,
            KnownGrader::ScoreModel(g) => &g.name,
            KnownGrader::Python(g) => &g.name,
            KnownGrader::AzureAiEvaluator(g) => &g.name,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            KnownGrader::StringCheck(_) => "string_check",
            KnownGrader::TextSimilarity(_) => "text_similarity",
            KnownGrader::LabelModel(_) => "label_model",
            KnownGrader::ScoreModel(_) => "score_model",
            KnownGrader::Python(_) => "python",
            KnownGrader::AzureAiEvaluator(_) => "azure_ai_evaluator",
        }
    }
}

/// A Foundry evaluator (FOUNDRY.md §2.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AzureAiEvaluatorGrader {
    pub name: String,
    /// `builtin.<name>` (e.g. `builtin.f1_score`, `builtin.coherence`) or the name of an
    /// evaluator in the project's catalog.
    pub evaluator_name: String,
    /// A version of the evaluator; the latest when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluator_version: Option<String>,
    /// The evaluator's settings, as it publishes them: the judge model (`deployment_name`),
    /// `threshold`, `evaluation_level`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initialization_parameters: Option<serde_json::Map<String, serde_json::Value>>,
    /// The evaluator's inputs by name, as templates (`{{item.query}}`,
    /// `{{sample.output_text}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_mapping: Option<std::collections::BTreeMap<String, String>>,
}

/// Compares two template strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StringCheckGrader {
    pub name: String,
    /// Template, e.g. `{{sample.output_text}}`.
    pub input: String,
    /// Template, e.g. `{{item.answer}}`.
    pub reference: String,
    pub operation: StringCheckOperation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StringCheckOperation {
    /// Exact, case-sensitive equality.
    Eq,
    /// Not equal.
    Ne,
    /// `input` contains `reference` (case-sensitive).
    Like,
    /// `input` contains `reference` (case-insensitive).
    Ilike,
}

/// Scores the similarity of two template strings in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextSimilarityGrader {
    pub name: String,
    pub input: String,
    pub reference: String,
    pub evaluation_metric: SimilarityMetric,
    /// A row passes when its score is at least this.
    #[schemars(range(min = 0, max = 1))]
    pub pass_threshold: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimilarityMetric {
    /// Needs an embeddings model; not available on Azure.
    Cosine,
    FuzzyMatch,
    Bleu,
    Gleu,
    Meteor,
    #[serde(rename = "rouge_1")]
    Rouge1,
    #[serde(rename = "rouge_2")]
    Rouge2,
    #[serde(rename = "rouge_3")]
    Rouge3,
    #[serde(rename = "rouge_4")]
    Rouge4,
    #[serde(rename = "rouge_5")]
    Rouge5,
    #[serde(rename = "rouge_l")]
    RougeL,
}

/// A model picks one of `labels`; the row passes when it is one of `passing_labels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelModelGrader {
    pub name: String,
    /// Model (Azure: deployment name).
    pub model: String,
    pub input: Vec<Message>,
    pub labels: Vec<String>,
    pub passing_labels: Vec<String>,
}

/// A model gives a score; the row passes when it is at least `pass_threshold`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreModelGrader {
    pub name: String,
    pub model: String,
    pub input: Vec<Message>,
    /// `[min, max]` of the score, default `[0, 1]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_params: Option<GraderSamplingParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_threshold: Option<f64>,
}

/// Sampling parameters of a score model grader (the API spells `max_completions_tokens`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GraderSamplingParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completions_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<ReasoningEffort>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningEffort {
    None,
    Minimal,
    Low,
    Medium,
    High,
    Xhigh,
    Max,
}

/// Runs Python `grade(sample, item) -> float` on each row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PythonGrader {
    pub name: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_threshold: Option<f64>,
}
