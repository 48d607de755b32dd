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
        Action::AdoptEval(a) => format!("adopt eval {} ({})", key(&a.key), printable(&a.id)),
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

/// What `--wait` found: how many gates passed, the runs whose gate failed, and the runs
/// that did not complete (failed, canceled, or in a state evalctl does not know).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waited {
    pub passed: usize,
    pub failed: Vec<String>,
    pub incomplete: Vec<String>,
}

/// `Summary: 7 actions done, 0 failed, 0 skipped; 2 gates passed, 1 failed (mmlu/baseline).`
pub fn summary(actions: Tally, waited: Option<&Waited>) -> String {
    let mut line = format!(
        "Summary: {} done, {} failed, {} skipped",
        count(actions.done, "action", "actions"),
        actions.failed,
        actions.skipped
    );
    if let Some(waited) = waited {
        line.push_str(&format!(
            "; {} passed, {} failed",
            count(waited.passed, "gate", "gates"),
            waited.failed.len()
        ));
        named(&mut line, &waited.failed);
        if !waited.incomplete.is_empty() {
            line.push_str(&format!(
                "; {} did not complete",
                count(waited.incomplete.len(), "run", "runs")
            ));
            named(&mut line, &waited.incomplete);
        }
    }
    line.push('.');
    line
}

/// ` (`a/b`, `c/d`)` after a count, when there are names.
fn named(line: &mut String, names: &[String]) {
    if !names.is_empty() {
        let names: Vec<String> = names.iter().map(|n| key(n)).collect();
        line.push_str(&format!(" ({})", names.join(", ")));
    }
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
        let waited = Waited {
            passed: 2,
            failed: vec!["mmlu/baseline".into()],
            incomplete: vec!["qa/nightly".into()],
        };
        assert_eq!(
            summary(Tally::default(), Some(&waited)),
            "Summary: 0 actions done, 0 failed, 0 skipped; 2 gates passed, 1 failed (`mmlu/baseline`); 1 run did not complete (`qa/nightly`)."
        );
    }
}
