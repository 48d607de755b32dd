//! What `apply` says while and after it works: one line per action as soon as its outcome is
//! known (so a CI log shows what was done even when the job is killed), and the closing
//! summary of actions and gates.

use std::io::{self, Write};

use super::terminal::{key, printable};
use crate::apply::Outcome;
use crate::plan::Action;
use crate::shown::{count, shorten};

/// `+ create eval `mmlu`: done (eval_...)`.
pub fn outcome_line(action: &Action, outcome: &Outcome, out: &mut dyn Write) -> io::Result<()> {
    let what = match action {
        Action::CreateEval(e) => format!("create eval {}", key(&e.key)),
        Action::UpdateEval(u) => format!("update eval {} ({})", key(&u.key), printable(&u.id)),
        Action::ReplaceEval(r) => format!(
            "replace eval {} ({} kept as superseded)",
            key(&r.key),
            printable(&r.old_id)
        ),
        Action::DeleteEval(d) => format!("delete eval {} ({})", key(&d.key), printable(&d.id)),
        Action::StartRun(r) => format!(
            "start run {}",
            key(&format!("{}/{}", r.eval_key, r.run_key))
        ),
    };
    let symbol = action.kind();
    match outcome {
        Outcome::Done(id) => writeln!(out, "{symbol} {what}: done ({})", printable(id)),
        Outcome::Failed(message) => writeln!(
            out,
            "{symbol} {what}: FAILED: {}",
            printable(&shorten(message))
        ),
        Outcome::Skipped(reason) => {
            writeln!(out, "{symbol} {what}: skipped: {}", printable(reason))
        }
    }
}

/// How many actions ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub done: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// The gates `--wait` checked: how many passed, and the runs whose gate failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GateTally {
    pub passed: usize,
    pub failed: Vec<String>,
}

/// `Summary: 7 actions done, 0 failed, 0 skipped; 2 gates passed, 1 failed (mmlu/baseline).`
pub fn summary(actions: Tally, gates: Option<&GateTally>) -> String {
    let mut line = format!(
        "Summary: {} done, {} failed, {} skipped",
        count(actions.done, "action", "actions"),
        actions.failed,
        actions.skipped
    );
    if let Some(gates) = gates {
        line.push_str(&format!(
            "; {} passed, {} failed",
            count(gates.passed, "gate", "gates"),
            gates.failed.len()
        ));
        if !gates.failed.is_empty() {
            let names: Vec<String> = gates.failed.iter().map(|n| key(n)).collect();
            line.push_str(&format!(" ({})", names.join(", ")));
        }
    }
    line.push('.');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_in_words_a_reader_expects() {
        let one = Tally {
            done: 1,
            failed: 1,
            skipped: 0,
        };
        assert_eq!(
            summary(one, None),
            "Summary: 1 action done, 1 failed, 0 skipped."
        );
        let gates = GateTally {
            passed: 2,
            failed: vec!["mmlu/baseline".into()],
        };
        assert_eq!(
            summary(Tally::default(), Some(&gates)),
            "Summary: 0 actions done, 0 failed, 0 skipped; 2 gates passed, 1 failed (`mmlu/baseline`)."
        );
    }
}
