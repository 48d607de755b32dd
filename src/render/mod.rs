//! Every printer of evalctl. The plan as people and tools read it: `human` for the terminal,
//! `json` for tools and saved plan files (read back by `read_plan_file`), `markdown` for
//! pull-request comments; and what the other commands show: apply's outcomes and summary,
//! waited runs with their gates, the runs table, output items. Renderers only format what
//! was already computed and decided; they call nothing and print nowhere but the writer they
//! are given, so every output is deterministic and testable.

mod apply_report;
mod compare;
mod csv;
mod diagnostics;
mod field_change;
mod history;
mod human;
mod items;
mod json;
mod markdown;
mod outline;
mod plan_file;
mod report;
mod run_result;
mod runs;
mod table;
pub(crate) mod terminal;
mod text_diff;
mod view;

pub use apply_report::{outcome_line, summary, Tally, Waited};
pub use compare::{comparison_human, comparison_json, comparison_markdown};
pub use diagnostics::{diagnostics_github, diagnostics_json};
pub use history::{history_human, history_json, history_markdown};
pub use items::{
    items_csv, items_json, items_jsonl, items_table, paging, ItemFormat, ItemPage, ItemStream,
};
pub(crate) use outline::manifest_lines;
pub use run_result::run_result;
pub use runs::{runs_csv, runs_json, runs_table};
pub(crate) use table::utc;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;

pub use human::human;
pub use json::json;
pub use markdown::markdown;
pub use plan_file::{read_plan_file, PlanFileError};
pub use report::{report, ReportedRun};

/// Where the plan was computed against; the first line of every human plan names both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub target: crate::manifest::model::Target,
    pub endpoint: String,
    /// What authenticated the requests (never its value); not saved in plan files.
    pub credential: Option<crate::api::Credential>,
}

/// The version of the JSON plan format. Bump it when a field changes meaning or goes away, so
/// that `apply` refuses a plan file it would misread instead of guessing.
pub const FORMAT_VERSION: u32 = 1;
