//! Why the planner chose an action, as values the renderers word, and as the plan file writes
//! them: each reason is saved as its sentence (the plan file's format is unchanged), and a
//! sentence read back from a saved plan is shown as it was written.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::shown::count;

/// Two reasons are equal when they say the same: a reason read back from a saved plan
/// equals the one that was saved.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Reason {
    NameChanged,
    MetadataChanged,
    /// evalctl's own tags were changed by someone else.
    TagsChangedOutside,
    /// `protect:` was set or removed.
    ProtectChanged,
    /// `adopt:` names this eval, which no project manages.
    Adopted,
    /// An immutable field (`data_source_config`, `testing_criteria`) differs.
    FieldChanged(String),
    /// The immutable spec differs as a whole.
    SpecChanged,
    /// An older live eval of the key (a crash, or made by hand).
    OlderDuplicate {
        key: String,
    },
    /// A managed eval whose key left the manifests, deleted with `--prune`.
    Pruned,
    /// A run of an eval this plan creates.
    NewEval,
    /// A run of an eval this plan replaces.
    EvalReplaced,
    /// A run key with no run on the live eval yet.
    NewRun,
    /// A run key whose runs on the live eval were all made from other data or settings.
    RunChanged(RunChange),
    /// A reason read back from a saved plan.
    Said(String),
}

/// What makes a run differ from the newest earlier run of its key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunChange {
    /// The data file's content changed.
    pub data: Option<DataChange>,
    /// Fields of the data source (other than its source) that differ, e.g. `model`.
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChange {
    /// The data file as shown (`data/v1.jsonl`).
    pub file: String,
    /// What the earlier run graded, as far as the service tells.
    pub before: DataVersion,
    pub after: DataVersion,
}

/// A version of a data file: its content hash (or its start) and rows, when known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataVersion {
    pub sha256: Option<String>,
    pub rows: Option<u64>,
}

/// Hex digits of a content hash shown to people: enough to tell versions apart.
const SHOWN_HASH: usize = 12;

impl fmt::Display for DataVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(rows) = self.rows {
            parts.push(count(rows as usize, "row", "rows"));
        }
        if let Some(hash) = &self.sha256 {
            let shown = hash.get(..SHOWN_HASH).unwrap_or(hash);
            parts.push(format!("sha256 {shown}"));
        }
        f.write_str(&parts.join(", "))
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NameChanged => f.write_str("name changed"),
            Reason::MetadataChanged => f.write_str("metadata changed"),
            Reason::TagsChangedOutside => {
                f.write_str("evalctl's tags were changed outside evalctl")
            }
            Reason::ProtectChanged => f.write_str("protect changed"),
            Reason::Adopted => f.write_str("`adopt:` names it, and no project manages it"),
            Reason::FieldChanged(field) => write!(f, "{field} changed"),
            Reason::SpecChanged => f.write_str("the spec changed"),
            Reason::OlderDuplicate { key } => write!(
                f,
                "an older live eval with key `{key}`: marked superseded, history kept"
            ),
            Reason::Pruned => f.write_str("not in the manifests, and --prune was given"),
            Reason::NewEval => f.write_str("new eval"),
            Reason::EvalReplaced => f.write_str("eval replaced"),
            Reason::NewRun => f.write_str("new run"),
            Reason::RunChanged(change) => write!(f, "{change}"),
            Reason::Said(text) => f.write_str(text),
        }
    }
}

impl fmt::Display for RunChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(data) = &self.data {
            // Without the earlier content hash (its upload is gone, or not evalctl's), the
            // data may be the same: say what is known, not that it changed.
            parts.push(match data.before.sha256 {
                Some(_) => format!(
                    "data file `{}` changed: {} -> {}",
                    data.file, data.before, data.after
                ),
                None => {
                    let graded = data.before.rows.map_or(String::new(), |rows| {
                        format!(" (it graded {})", count(rows as usize, "row", "rows"))
                    });
                    format!(
                        "data file `{}` is {}; the version the last run of this key graded is not known{graded}",
                        data.file, data.after
                    )
                }
            });
        }
        if !self.fields.is_empty() {
            let fields: Vec<String> = self.fields.iter().map(|f| format!("`{f}`")).collect();
            parts.push(format!("data source changed: {}", fields.join(", ")));
        }
        if parts.is_empty() {
            // Runs made by another version of evalctl, or tags set by hand.
            parts.push("no run of this key has the current run spec".into());
        }
        f.write_str(&parts.join("; "))
    }
}

impl PartialEq for Reason {
    fn eq(&self, other: &Reason) -> bool {
        self.to_string() == other.to_string()
    }
}

impl From<Reason> for String {
    fn from(reason: Reason) -> String {
        reason.to_string()
    }
}

impl From<String> for Reason {
    fn from(text: String) -> Reason {
        Reason::Said(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_change_says_what_changed() {
        let change = RunChange {
            data: Some(DataChange {
                file: "data/v1.jsonl".into(),
                before: DataVersion {
                    sha256: Some("1a2b3c4d5e6f7a8b9c0d".into()),
                    rows: Some(120),
                },
                after: DataVersion {
                    sha256: Some("9f8e7d6c5b4a39281706".into()),
                    rows: Some(1),
                },
            }),
            fields: vec!["model".into()],
        };
        assert_eq!(
            Reason::RunChanged(change).to_string(),
            "data file `data/v1.jsonl` changed: 120 rows, sha256 1a2b3c4d5e6f -> 1 row, sha256 9f8e7d6c5b4a; data source changed: `model`"
        );
    }

    #[test]
    fn an_unknown_earlier_version_is_not_called_a_change() {
        let change = RunChange {
            data: Some(DataChange {
                file: "data/v1.jsonl".into(),
                before: DataVersion::default(),
                after: DataVersion {
                    sha256: Some("9f8e7d6c5b4a39281706".into()),
                    rows: Some(3),
                },
            }),
            fields: Vec::new(),
        };
        assert_eq!(
            change.to_string(),
            "data file `data/v1.jsonl` is 3 rows, sha256 9f8e7d6c5b4a; the version the last run of this key graded is not known"
        );
    }

    #[test]
    fn reasons_are_saved_as_their_sentence_and_read_back_as_said() {
        let saved = serde_json::to_value(Reason::NewRun).unwrap_or_default();
        assert_eq!(saved, serde_json::json!("new run"));
        let read: Reason = serde_json::from_value(saved).unwrap_or(Reason::SpecChanged);
        assert!(matches!(&read, Reason::Said(text) if text == "new run"));
        assert_eq!(read, Reason::NewRun);
    }
}
