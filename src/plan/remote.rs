//! What the service holds, as fetched by the client: evals with their runs, reduced to what
//! the planner needs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::tags::{self, Metadata};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteEval {
    pub id: String,
    pub name: String,
    pub metadata: Metadata,
    /// Response form, as the service returns it.
    pub data_source_config: Value,
    pub testing_criteria: Vec<Value>,
    pub created_at: i64,
    /// Runs; fetched only for evals of this project.
    pub runs: Vec<RemoteRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteRun {
    pub id: String,
    pub name: String,
    pub metadata: Metadata,
    pub status: String,
    pub created_at: i64,
}

impl RemoteEval {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// Whether this project manages the eval (superseded ones included).
    pub fn managed_by(&self, project: &str) -> bool {
        self.tag(tags::PROJECT) == Some(project)
    }

    pub fn is_superseded(&self) -> bool {
        self.tag(tags::STATE) == Some(tags::SUPERSEDED)
    }

    /// Whether this is one of the project's live evals: the ones the planner compares, and
    /// whose runs must therefore be fetched. Any state but `superseded` (one set by hand)
    /// is live, and the plan puts the tag right.
    pub fn is_live_in(&self, project: &str) -> bool {
        self.managed_by(project) && !self.is_superseded()
    }
}
