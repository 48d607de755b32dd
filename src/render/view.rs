//! What the plan says about each action, in words and fields, whatever the format: `human`
//! and `markdown` render the same views, so the terminal and the pull-request comment never
//! disagree. Text here is plain; user data (keys, ids, names, values) stays in typed pieces
//! so that each renderer can quote or escape it for its medium.

use serde_json::Value;

use super::field_change::FieldChange;
use super::outline::outline;
use crate::manifest::model::Gate;
use crate::plan::tags::{self, Metadata};
use crate::plan::{
    Action, ActionKind, AimPatterns, DeleteEval, DuplicateRuns, KeptEval, NewEval, Plan,
    ReplaceEval, StartRun, Summary, UpdateEval,
};
use crate::shown::{count, quoted};

/// What an empty plan says instead of the summary line.
pub(crate) const NO_CHANGES: &str = "No changes.";

/// What a plan says of the `evalctl_runs` tags it writes on evals it does not otherwise
/// touch (a crash after runs started, a run removed from the manifests, evals tagged by an
/// older evalctl): apply writes them without asking, so the plan says so.
pub(crate) fn records_note(plan: &Plan) -> Option<String> {
    let alone = plan
        .records
        .iter()
        .filter(|r| !plan.actions.iter().any(|a| a.eval_key() == r.eval_key))
        .count();
    let (evals, have) = match alone {
        0 => return None,
        1 => ("1 eval".to_string(), "it has"),
        n => (format!("{n} evals"), "they have"),
    };
    Some(format!(
        "Apply also tags {evals} with the runs {have} already (`evalctl_runs`), so that later plans need not list them."
    ))
}

/// Said of kept evals, once, above their list.
pub(crate) const KEPT_TITLE: &str = "Kept (not in the manifests; `--prune` deletes them)";

/// A piece of a headline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Text(&'static str),
    /// Counts and other words computed here, free of user data.
    Words(String),
    /// An eval or run key.
    Key(String),
    /// A remote object id.
    Id(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ActionView {
    pub kind: ActionKind,
    pub headline: Vec<Segment>,
    /// Why the planner chose this action; may quote keys in backticks.
    pub reasons: Vec<String>,
    /// Plain sentences about consequences.
    pub notes: Vec<&'static str>,
    /// What a new object will hold.
    pub fields: Vec<Field>,
    pub changes: Vec<FieldChange>,
}

/// One field of a new object: a label, and its value on the same line or as a block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub label: &'static str,
    pub value: FieldValue,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldValue {
    Line(String),
    /// Lines indented from 0, as `outline` writes them.
    Block(Vec<String>),
}

fn line(label: &'static str, value: String) -> Field {
    Field {
        label,
        value: FieldValue::Line(value),
    }
}

fn block(label: &'static str, value: &Value) -> Field {
    Field {
        label,
        value: FieldValue::Block(outline(value, 0)),
    }
}

impl ActionView {
    fn new(kind: ActionKind, headline: Vec<Segment>) -> ActionView {
        ActionView {
            kind,
            headline,
            reasons: Vec::new(),
            notes: Vec::new(),
            fields: Vec::new(),
            changes: Vec::new(),
        }
    }
}

pub(crate) fn action_view(action: &Action) -> ActionView {
    match action {
        Action::CreateEval(new) => create_view(new),
        Action::UpdateEval(update) => update_view(update),
        Action::AdoptEval(adopt) => adopt_view(adopt),
        Action::ReplaceEval(replace) => replace_view(replace),
        Action::DeleteEval(delete) => delete_view(delete),
        Action::StartRun(run) => run_view(run),
    }
}

/// `Plan: N to create, N to update, N to replace, N to delete, N runs to start.`
pub(crate) fn summary_line(s: &Summary) -> String {
    format!(
        "Plan: {}{} to create, {} to update, {} to replace, {} to delete, {} to start.",
        match s.adopt {
            0 => String::new(),
            n => format!("{n} to adopt, "),
        },
        s.create,
        s.update,
        s.replace,
        s.delete,
        count(s.runs, "run", "runs")
    )
}

/// `Aimed at: only `a`, `b/*`; excluding `c``, for a plan made with `--only`/`--exclude`.
pub(crate) fn aim_line(aim: &AimPatterns) -> Option<String> {
    if aim.is_everything() {
        return None;
    }
    let list = |patterns: &[String]| {
        patterns
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !aim.only.is_empty() {
        parts.push(format!("only {}", list(&aim.only)));
    }
    if !aim.exclude.is_empty() {
        parts.push(format!("excluding {}", list(&aim.exclude)));
    }
    Some(format!(
        "Aimed at part of the project: {}",
        parts.join("; ")
    ))
}

pub(crate) const DUPLICATES_TITLE: &str =
    "Duplicate runs (one run key and spec started more than once; the newest counts, the others are left as they are)";

/// `eval/run on <eval id>: <newest> (newest), <others>`.
pub(crate) fn duplicate_line(duplicate: &DuplicateRuns) -> Vec<Segment> {
    let mut line = vec![
        Segment::Key(format!("{}/{}", duplicate.eval_key, duplicate.run_key)),
        Segment::Text(" on "),
        Segment::Id(duplicate.eval_id.clone()),
        Segment::Text(": "),
        Segment::Id(duplicate.newest.clone()),
        Segment::Text(" (newest)"),
    ];
    for other in &duplicate.others {
        line.push(Segment::Text(", "));
        line.push(Segment::Id(other.clone()));
    }
    line
}

/// A kept eval: key, id and name.
pub(crate) fn kept_line(kept: &KeptEval) -> (Vec<Segment>, String) {
    let headline = vec![
        Segment::Key(kept.key.clone()),
        Segment::Text(" ("),
        Segment::Id(kept.id.clone()),
        Segment::Text(")"),
    ];
    (headline, quoted(&kept.name))
}

fn create_view(new: &NewEval) -> ActionView {
    let headline = vec![Segment::Text("create eval "), Segment::Key(new.key.clone())];
    let mut view = ActionView::new(ActionKind::Create, headline);
    view.fields = eval_fields(new);
    view
}

fn update_view(update: &UpdateEval) -> ActionView {
    let headline = vec![
        Segment::Text("update eval "),
        Segment::Key(update.key.clone()),
        Segment::Text(" ("),
        Segment::Id(update.id.clone()),
        Segment::Text(") in place"),
    ];
    let mut view = ActionView::new(ActionKind::Update, headline);
    view.reasons = words(&update.reasons);
    view.changes = update
        .changes
        .iter()
        .map(FieldChange::from_change)
        .collect();
    view
}

fn adopt_view(adopt: &UpdateEval) -> ActionView {
    let headline = vec![
        Segment::Text("adopt eval "),
        Segment::Key(adopt.key.clone()),
        Segment::Text(" ("),
        Segment::Id(adopt.id.clone()),
        Segment::Text("): tagged in place, its id and runs kept"),
    ];
    let mut view = ActionView::new(ActionKind::Adopt, headline);
    view.reasons = words(&adopt.reasons);
    view.changes = adopt.changes.iter().map(FieldChange::from_change).collect();
    view
}

fn replace_view(replace: &ReplaceEval) -> ActionView {
    let headline = vec![
        Segment::Text("replace eval "),
        Segment::Key(replace.key.clone()),
        Segment::Text(" ("),
        Segment::Id(replace.old_id.clone()),
        Segment::Text(")"),
    ];
    let mut view = ActionView::new(ActionKind::Replace, headline);
    view.notes.push(
        "A new eval is created; the old one is kept, marked superseded, with its run history",
    );
    view.reasons = words(&replace.reasons);
    view.changes = replace
        .forced_by
        .iter()
        .map(|c| FieldChange::from_change(c).forcing())
        .chain(replace.changes.iter().map(FieldChange::from_change))
        .collect();
    view
}

fn delete_view(delete: &DeleteEval) -> ActionView {
    let runs = match delete.runs {
        0 => " (it has no runs)".to_string(),
        1 => " and its 1 run".to_string(),
        n => format!(" and its {n} runs"),
    };
    let headline = vec![
        Segment::Text("delete eval "),
        Segment::Key(delete.key.clone()),
        Segment::Text(" ("),
        Segment::Id(delete.id.clone()),
        Segment::Text(")"),
        Segment::Words(runs),
    ];
    let mut view = ActionView::new(ActionKind::Delete, headline);
    view.reasons = words(&delete.reasons);
    view.fields.push(line("name", quoted(&delete.name)));
    view
}

fn run_view(run: &StartRun) -> ActionView {
    let mut headline = vec![
        Segment::Text("start run "),
        Segment::Key(format!("{}/{}", run.eval_key, run.run_key)),
    ];
    match &run.eval_id {
        Some(id) => headline.extend([Segment::Text(" on "), Segment::Id(id.clone())]),
        None => headline.push(Segment::Text(" on the eval this plan creates")),
    }
    let mut view = ActionView::new(ActionKind::Run, headline);
    view.reasons.push(run.reason.to_string());
    view.fields.push(line("name", quoted(&run.name)));
    let user = tags::user_part(&run.metadata);
    if !user.is_empty() {
        view.fields.push(line("metadata", compact(&user)));
    }
    view.fields.push(line("data", run_data(run)));
    // What the run does with its data (a model, its prompts, its sampling), when more
    // than a type: the data itself is the line above.
    if let Some(settings) = run_settings(&run.data_source) {
        view.fields.push(block("data_source", &settings));
    }
    if let Some(gate) = &run.gate {
        view.fields.push(line("gate", gate_text(gate)));
    }
    view
}

/// Everything a new eval will hold, field by field: what a reviewer approves.
fn eval_fields(new: &NewEval) -> Vec<Field> {
    let mut fields = vec![line("name", quoted(&new.name))];
    let user = tags::user_part(&new.metadata);
    if !user.is_empty() {
        fields.push(line("metadata", compact(&user)));
    }
    fields.push(block("data_source_config", &new.data_source_config));
    let graders = Value::Array(new.testing_criteria.to_vec());
    fields.push(block("testing_criteria", &graders));
    fields
}

/// A run's data source without its source, when it says more than its type.
fn run_settings(data_source: &Value) -> Option<Value> {
    let map = data_source.as_object()?;
    let settings: serde_json::Map<String, Value> = map
        .iter()
        .filter(|(key, _)| key.as_str() != "source")
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    settings
        .keys()
        .any(|key| key != "type")
        .then_some(Value::Object(settings))
}

/// Where a run's rows come from: a local file with its size, rows, content hash and whether
/// the service has it already; else the source's type (and inline rows' count).
fn run_data(run: &StartRun) -> String {
    if let Some(file) = &run.data_file {
        let upload = match &file.uploaded {
            Some(id) => format!("uploaded already as {id}"),
            None => "to upload".to_string(),
        };
        return format!(
            "{}: {}, {}, sha256 {}; {upload}",
            file.display,
            count(file.bytes as usize, "byte", "bytes"),
            count(file.rows as usize, "row", "rows"),
            file.sha256.get(..12).unwrap_or(&file.sha256),
        );
    }
    let kind = run.data_source.get("type").and_then(Value::as_str);
    let source = run.data_source.get("source");
    let source_type = source.and_then(|s| s.get("type")).and_then(Value::as_str);
    let rows = source
        .and_then(|s| s.get("content"))
        .and_then(Value::as_array)
        .map(|rows| format!(" ({})", count(rows.len(), "row", "rows")))
        .unwrap_or_default();
    match (kind, source_type) {
        (Some(kind), Some(source)) => format!("{kind} from {source}{rows}"),
        (Some(kind), None) => kind.to_string(),
        (None, _) => "(no type)".to_string(),
    }
}

fn gate_text(gate: &Gate) -> String {
    let mut parts = Vec::new();
    if let Some(rate) = gate.min_pass_rate {
        parts.push(format!("pass rate >= {rate}"));
    }
    if let Some(regression) = &gate.regression {
        parts.push(regression_text(regression));
    }
    for (grader, g) in &gate.graders {
        if let Some(rate) = g.min_pass_rate {
            parts.push(format!("{} pass rate >= {rate}", quoted(grader)));
        }
        if let Some(regression) = &g.regression {
            parts.push(format!(
                "{} {}",
                quoted(grader),
                regression_text(regression)
            ));
        }
    }
    parts.join(", ")
}

fn regression_text(regression: &crate::manifest::model::Regression) -> String {
    format!(
        "no significant drop (alpha {}) of more than {} from the previous run",
        regression.alpha, regression.max_drop
    )
}

fn words(reasons: &[crate::plan::Reason]) -> Vec<String> {
    reasons.iter().map(ToString::to_string).collect()
}

fn compact(metadata: &Metadata) -> String {
    serde_json::to_string(metadata).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_counts_runs_in_words() {
        let s = Summary {
            create: 1,
            runs: 1,
            ..Summary::default()
        };
        assert_eq!(
            summary_line(&s),
            "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 1 run to start."
        );
    }
}
