//! The plan as people and tools read it: `human` for the terminal, `json` for tools and saved
//! plan files (read back by `read_plan_file`), `markdown` for pull-request comments. Renderers
//! only format a `Plan` the planner already computed; they decide nothing, call nothing and
//! print nowhere but the writer they are given, so every output is deterministic and testable.

mod field_change;
mod human;
mod json;
mod markdown;
mod plan_file;
mod terminal;
mod text_diff;
mod view;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;

pub use human::human;
pub use json::json;
pub use markdown::markdown;
pub use plan_file::{read_plan_file, PlanFileError};

/// Where the plan was computed against; the first line of every human plan names both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub target: crate::manifest::model::Target,
    pub endpoint: String,
}

/// The version of the JSON plan format. Bump it when a field changes meaning or goes away, so
/// that `apply` refuses a plan file it would misread instead of guessing.
pub const FORMAT_VERSION: u32 = 1;
