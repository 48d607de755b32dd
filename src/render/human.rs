//! The plan for the terminal, Terraform-like: one block per action under its symbol, field
//! changes as `path: old -> new` or as a line diff, kept evals, then the summary line. It must
//! read the same without color; color only marks what the words already say.

use std::io::{self, Write};

use rayon::prelude::*;

use super::field_change::{ChangeBody, FieldChange};
use super::terminal::{self, paint, printable, Color};
use super::text_diff::{DiffLine, LineKind};
use super::view::{self, action_view, FieldValue, Segment};
use super::Header;
use crate::plan::{Action, ActionKind, KeptEval, Plan};

const DETAIL: &str = "      ";
const DIFF: &str = "          ";

/// Writes the plan for people; `color` adds ANSI colors (the caller checks the TTY and
/// `NO_COLOR`).
pub fn human(plan: &Plan, header: &Header, color: bool, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "Plan for project {} on target {} ({})",
        terminal::key(&plan.project),
        header.target,
        printable(&header.endpoint)
    )?;
    match &header.credential {
        Some(credential) => writeln!(out, " with {credential}")?,
        None => writeln!(out)?,
    }
    if let Some(aim) = view::aim_line(&plan.aim) {
        writeln!(out, "{}", printable(&aim))?;
    }
    // A block depends on its action alone: all cores render, the blocks keep the plan's order.
    let blocks: Vec<String> = plan
        .actions
        .par_iter()
        .map(|action| action_block(action, color))
        .collect();
    for block in &blocks {
        out.write_all(block.as_bytes())?;
    }
    if !plan.kept.is_empty() {
        let mut block = String::from("\n");
        push_kept(&mut block, &plan.kept);
        out.write_all(block.as_bytes())?;
    }
    if !plan.duplicate_runs.is_empty() {
        let mut block = format!("\n{}:\n", view::DUPLICATES_TITLE);
        for duplicate in &plan.duplicate_runs {
            block.push_str(DETAIL);
            push_headline(&mut block, &view::duplicate_line(duplicate));
            block.push('\n');
        }
        out.write_all(block.as_bytes())?;
    }
    writeln!(out)?;
    if let Some(note) = view::records_note(plan) {
        writeln!(out, "{note}\n")?;
    }
    if plan.is_empty() {
        writeln!(out, "{}", view::NO_CHANGES)
    } else {
        let line = view::summary_line(&plan.summary());
        writeln!(out, "{}", paint(&line, Color::Bold, color))
    }
}

/// An action's lines, after the blank line that sets them apart.
fn action_block(action: &Action, color: bool) -> String {
    let view = action_view(action);
    // Room for a typical block, so that it is not grown line by line.
    let mut out = String::with_capacity(512);
    out.push('\n');
    let symbol = format!("{:>3}", view.kind.symbol());
    out.push_str(&paint(&symbol, kind_color(view.kind), color));
    out.push(' ');
    push_headline(&mut out, &view.headline);
    out.push('\n');
    if !view.reasons.is_empty() {
        push_line(
            &mut out,
            &["because: ", &printable(&view.reasons.join("; "))],
        );
    }
    for note in &view.notes {
        push_line(&mut out, &[note]);
    }
    for field in &view.fields {
        match &field.value {
            FieldValue::Line(value) => push_line(&mut out, &[field.label, ": ", &printable(value)]),
            FieldValue::Block(lines) => {
                push_line(&mut out, &[field.label, ":"]);
                for line in lines {
                    push_line(&mut out, &["  ", &printable(line)]);
                }
            }
        }
    }
    for change in &view.changes {
        push_change(&mut out, change, color);
    }
    out
}

/// A detail line: indented, then `parts`.
fn push_line(out: &mut String, parts: &[&str]) {
    out.push_str(DETAIL);
    parts.iter().for_each(|part| out.push_str(part));
    out.push('\n');
}

fn push_change(out: &mut String, change: &FieldChange, color: bool) {
    let forces = if change.forces_replacement {
        format!("  {}", paint("# forces replacement", Color::Magenta, color))
    } else {
        String::new()
    };
    let path = printable(&change.path);
    match &change.body {
        ChangeBody::Inline { old, new } => push_line(
            out,
            &[
                &path,
                ": ",
                &printable(old),
                " -> ",
                &printable(new),
                &forces,
            ],
        ),
        ChangeBody::Diff(lines) => {
            push_line(out, &[&path, ":", &forces]);
            lines
                .iter()
                .for_each(|line| push_diff_line(out, line, color));
        }
    }
}

fn push_diff_line(out: &mut String, line: &DiffLine, color: bool) {
    let text = format!("{}{}", line.prefix(), printable(&line.text));
    let painted = match line.kind {
        LineKind::Hunk => paint(&text, Color::Cyan, color),
        LineKind::Removed => paint(&text, Color::Red, color),
        LineKind::Added => paint(&text, Color::Green, color),
        LineKind::Context => text.as_str().into(),
    };
    out.push_str(DIFF);
    out.push_str(&painted);
    out.push('\n');
}

fn push_kept(out: &mut String, kept: &[KeptEval]) {
    out.push_str(view::KEPT_TITLE);
    out.push_str(":\n");
    for eval in kept {
        let (line, name) = view::kept_line(eval);
        out.push_str(DETAIL);
        push_headline(out, &line);
        out.push(' ');
        out.push_str(&printable(&name));
        out.push('\n');
    }
}

fn push_headline(out: &mut String, segments: &[Segment]) {
    for segment in segments {
        match segment {
            Segment::Text(text) => out.push_str(text),
            Segment::Words(words) => out.push_str(words),
            Segment::Key(key) => out.push_str(&terminal::key(key)),
            Segment::Id(id) => out.push_str(&printable(id)),
        }
    }
}

fn kind_color(kind: ActionKind) -> Color {
    match kind {
        ActionKind::Create => Color::Green,
        ActionKind::Update => Color::Yellow,
        ActionKind::Replace => Color::Magenta,
        ActionKind::Delete => Color::Red,
        ActionKind::Run => Color::Cyan,
        ActionKind::Adopt => Color::Green,
    }
}
