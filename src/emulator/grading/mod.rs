//! Graders the emulator computes without a model: `string_check`, `text_similarity` and
//! Foundry's `builtin.f1_score` (the other metric built-ins reuse `text_similarity`'s).
//! Each metric follows a named Python reference implementation (see the submodules' docs);
//! the table tests pin values that implementation produces, so a change of formula shows up
//! as a failing row rather than as a silent drift in pass rates.

mod bleu;
mod f1;
mod fuzzy;
mod meteor;
mod porter;
mod rouge;
mod string_check;
mod text_similarity;
mod tokenize;

pub use f1::f1_score;
pub use string_check::string_check;
pub use text_similarity::text_similarity;

/// Why a row could not be graded (the row counts as errored, not failed).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GradeError {
    #[error("unknown {what} `{found}`")]
    Unknown { what: &'static str, found: String },
    #[error("`{metric}` needs an embeddings model, and this emulator has none")]
    NeedsModel { metric: String },
    /// The tokenizer's regex engine gave up (its backtracking limit), which only
    /// pathological input can cause; grading it anyway would score different tokens.
    #[error("could not tokenize the text for `{metric}`: {reason}")]
    Tokenize { metric: String, reason: String },
}
