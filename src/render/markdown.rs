//! The plan as a pull-request comment: a heading, the target, a summary table, then one
//! folded `<details>` block per action. GitHub refuses comments over 65,536 characters, so
//! the comment is cut at an action boundary when it would not fit, and says what it left out
//! and where the whole plan is. User data is always inside code spans or escaped HTML, so a
//! name holding Markdown or HTML cannot restyle or break the comment.

use std::io::{self, Write};

use super::field_change::{ChangeBody, FieldChange};
use super::terminal::printable;
use super::text_diff::DiffLine;
use super::view::{self, action_view, ActionView, FieldValue, Segment};
use super::Header;
use crate::plan::ActionKind;
use crate::plan::{KeptEval, Plan, Summary};

/// The comment stays under this many bytes. Bytes, not characters: a text of N bytes never
/// holds more than N characters or UTF-16 units, however GitHub counts.
pub(crate) const LIMIT: usize = 65_000;

/// Writes the plan for a pull-request comment, under `LIMIT` bytes.
pub fn markdown(plan: &Plan, header: &Header, out: &mut dyn Write) -> io::Result<()> {
    markdown_within(plan, header, LIMIT, out)
}

/// The plan in at most `limit` bytes (a report gives the rest of the comment to its runs).
pub(crate) fn markdown_within(
    plan: &Plan,
    header: &Header,
    limit: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let head = head(plan, header);
    let mut blocks: Vec<String> = plan
        .actions
        .iter()
        .map(|a| block(&action_view(a)))
        .collect();
    let kept = (!plan.kept.is_empty() || !plan.duplicate_runs.is_empty())
        .then(|| kept_block(&plan.kept) + &duplicates_block(plan));
    let records = view::records_note(plan).map_or(String::new(), |note| format!("\n{note}\n"));
    let tail = format!("**{}**\n{records}", final_line(plan));
    let full: usize = head.len()
        + blocks.iter().map(String::len).sum::<usize>()
        + kept.as_ref().map_or(0, String::len)
        + tail.len();
    if full < limit {
        blocks.extend(kept);
        return write!(out, "{head}{}{tail}", blocks.concat());
    }
    // Room for the note at its longest: every action and the kept list left out.
    let note_reserve = note(
        plan.actions.len(),
        plan.actions.len(),
        plan.kept.len(),
        limit,
    )
    .len();
    let mut budget = limit.saturating_sub(head.len() + tail.len() + note_reserve + 1);
    let mut shown = 0;
    while shown < blocks.len() && blocks[shown].len() <= budget {
        budget -= blocks[shown].len();
        shown += 1;
    }
    blocks.truncate(shown);
    let kept_fits = shown == plan.actions.len() && kept.as_ref().is_some_and(|k| k.len() <= budget);
    let left_kept = if kept_fits { 0 } else { plan.kept.len() };
    if kept_fits {
        blocks.extend(kept);
    }
    let note = note(
        plan.actions.len() - shown,
        plan.actions.len(),
        left_kept,
        limit,
    );
    write!(out, "{head}{}{tail}\n{note}", blocks.concat())
}

fn head(plan: &Plan, header: &Header) -> String {
    let credential = header
        .credential
        .as_ref()
        .map(|c| format!(", with {}", escape(&c.to_string())))
        .unwrap_or_default();
    let mut head = format!(
        "### evalctl plan for project {}\n\nTarget {} ({}){credential}\n\n",
        code(&plan.project),
        code(&header.target.to_string()),
        code(&header.endpoint)
    );
    if let Some(aim) = view::aim_line(&plan.aim) {
        head.push_str(&escape(&aim));
        head.push_str("\n\n");
    }
    head.push_str(&table(&plan.summary()));
    head.push('\n');
    head
}

fn table(s: &Summary) -> String {
    let rows = [
        ("`+` create", s.create),
        ("`~` update in place", s.update),
        ("`-/+` replace", s.replace),
        ("`-` delete", s.delete),
        ("`>` start run", s.runs),
    ];
    let adopted = [("`<=` adopt", s.adopt)];
    let rows = adopted.into_iter().filter(|(_, n)| *n > 0).chain(rows);
    let mut table = String::from("| Action | Count |\n|:--|--:|\n");
    for (label, count) in rows {
        table.push_str(&format!("| {label} | {count} |\n"));
    }
    table
}

fn final_line(plan: &Plan) -> String {
    if plan.is_empty() {
        view::NO_CHANGES.to_string()
    } else {
        view::summary_line(&plan.summary())
    }
}

fn note(left_actions: usize, actions: usize, left_kept: usize, limit: usize) -> String {
    let mut left = Vec::new();
    if left_actions > 0 {
        left.push(format!("{left_actions} of {actions} actions"));
    }
    if left_kept > 0 {
        left.push(format!("the list of {left_kept} kept evals"));
    }
    format!(
        "> **Truncated:** {} left out to keep this comment under {limit} characters. \
         The full plan is in the JSON output (`evalctl plan --output json`).\n",
        left.join(" and ")
    )
}

/// One folded action: headline as the summary, then reasons, notes, fields and changes.
fn block(view: &ActionView) -> String {
    // What destroys history (a replacement supersedes an eval, a delete removes it and its
    // runs) is shown open; the rest folds.
    let open = match view.kind {
        ActionKind::Replace | ActionKind::Delete => " open",
        _ => "",
    };
    let mut out = format!(
        "<details{open}><summary><code>{}</code> {}</summary>\n\n",
        html(view.kind.symbol()),
        summary_html(&view.headline)
    );
    if !view.reasons.is_empty() {
        out.push_str(&format!(
            "Because: {}\n\n",
            escape(&view.reasons.join("; "))
        ));
    }
    // Notes are this module's own words, written to be Markdown-safe.
    for note in &view.notes {
        out.push_str(&format!("{note}\n\n"));
    }
    let mut items: Vec<String> = view
        .fields
        .iter()
        .map(|field| match &field.value {
            FieldValue::Line(value) => format!("- {}: {}\n", field.label, code(value)),
            FieldValue::Block(lines) => format!("- {}:\n{}", field.label, fenced("yaml", lines)),
        })
        .collect();
    items.extend(view.changes.iter().map(change_item));
    if !items.is_empty() {
        out.push_str(&items.concat());
        out.push('\n');
    }
    out.push_str("</details>\n\n");
    out
}

fn change_item(change: &FieldChange) -> String {
    let forces = if change.forces_replacement {
        " *(forces replacement)*"
    } else {
        ""
    };
    let path = code(&change.path);
    match &change.body {
        ChangeBody::Inline { old, new } => {
            format!("- {path}: {} -> {}{forces}\n", code(old), code(new))
        }
        ChangeBody::Diff(lines) => format!("- {path}{forces}:\n{}", diff_block(lines)),
    }
}

fn diff_block(lines: &[DiffLine]) -> String {
    let text: Vec<String> = lines
        .iter()
        .map(|l| format!("{}{}", l.prefix(), l.text))
        .collect();
    fenced("diff", &text)
}

/// A fenced block indented into its list item, its fence longer than any backtick run in
/// the lines so that no line can close it.
fn fenced(language: &str, lines: &[String]) -> String {
    let text: Vec<String> = lines.iter().map(|l| printable(l).into_owned()).collect();
    let fence = "`".repeat(longest_backtick_run(&text.concat()).max(2) + 1);
    let mut out = format!("  {fence}{language}\n");
    for line in text {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str(&format!("  {fence}\n"));
    out
}

fn duplicates_block(plan: &Plan) -> String {
    if plan.duplicate_runs.is_empty() {
        return String::new();
    }
    let mut out = format!("{}:\n\n", view::DUPLICATES_TITLE);
    for duplicate in &plan.duplicate_runs {
        let segments = view::duplicate_line(duplicate);
        out.push_str(&format!("- {}\n", markdown_segments(&segments)));
    }
    out.push('\n');
    out
}

fn kept_block(kept: &[KeptEval]) -> String {
    if kept.is_empty() {
        return String::new();
    }
    let mut out = format!("{}:\n\n", view::KEPT_TITLE);
    for eval in kept {
        let (segments, name) = view::kept_line(eval);
        out.push_str(&format!(
            "- {} {}\n",
            markdown_segments(&segments),
            code(&name)
        ));
    }
    out.push('\n');
    out
}

fn summary_html(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|segment| match segment {
            Segment::Text(text) => html(text),
            Segment::Words(words) => html(words),
            Segment::Key(text) | Segment::Id(text) => format!("<code>{}</code>", html(text)),
        })
        .collect()
}

fn markdown_segments(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|segment| match segment {
            Segment::Text(text) => escape(text),
            Segment::Words(words) => escape(words),
            Segment::Key(text) | Segment::Id(text) => code(text),
        })
        .collect()
}

/// `text` as a code span: delimited by more backticks than it holds in a row, padded when
/// it starts or ends with one, control characters escaped so it stays on its line.
pub(crate) fn code(text: &str) -> String {
    let text = printable(text);
    let ticks = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') || text.is_empty() {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// A code span in a table cell: GitHub splits cells at `|` even inside code spans, unless
/// it is escaped (and it drops the backslash there).
pub(crate) fn cell_code(text: &str) -> String {
    code(text).replace('|', "\\|")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Plain text with the characters Markdown would read as markup escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        if "\\`*_[]<>#|~&!".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text for HTML (the `<summary>` line, where Markdown is not read).
fn html(text: &str) -> String {
    printable(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code("plain"), "`plain`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
    }

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(escape("*bold* <b>"), "\\*bold\\* \\<b\\>");
        assert_eq!(html("<b>&"), "&lt;b&gt;&amp;");
    }
}
