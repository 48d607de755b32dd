//! Gates: whether a finished run's results pass what its manifest asks of them. A pure
//! decision from the gate and the run, made once and then printed, summed up and turned into
//! an exit code by others.

use crate::api::wire::{grader_name, EvalRun};
use crate::compare::pairing::Comparison;
use crate::compare::RunComparison;
use crate::manifest::model::{Gate, Regression};

/// One grader's results in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraderResult {
    pub name: String,
    pub passed: u64,
    /// Rows it passed or failed (rows it could not grade are not counted).
    pub graded: u64,
}

/// Each grader's results, in the order the service lists them.
pub fn grader_results(run: &EvalRun) -> Vec<GraderResult> {
    run.per_testing_criteria_results
        .iter()
        .flatten()
        .map(|r| GraderResult {
            name: grader_name(&r.testing_criteria).to_string(),
            passed: r.passed,
            graded: r.passed.saturating_add(r.failed),
        })
        .collect()
}

/// The share of `passed` in `total`; 0 of 0 passes nothing.
pub fn ratio(passed: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        passed as f64 / total as f64
    }
}

/// What a gate checks: the whole run, or one grader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Overall,
    Grader(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// A pass rate against its minimum.
    Rate { rate: f64, min: f64, passed: bool },
    /// The run reports nothing for the grader the gate names (it did not grade, or the
    /// service names graders differently): the gate cannot pass.
    NoResults,
    /// The run against its baseline: the drop in pass rate, and how significant it is.
    Regression {
        baseline: String,
        drop: f64,
        max_drop: f64,
        p_value: f64,
        alpha: f64,
        passed: bool,
    },
    /// No earlier completed run of the key: nothing to regress from, so it passes.
    NoBaseline,
}

impl Check {
    pub fn passed(&self) -> bool {
        matches!(
            self,
            Check::Rate { passed: true, .. }
                | Check::Regression { passed: true, .. }
                | Check::NoBaseline
        )
    }
}

/// Whether a gate compares the run with its baseline, overall or for a grader.
pub fn needs_baseline(gate: &Gate) -> bool {
    gate.regression.is_some() || gate.graders.values().any(|g| g.regression.is_some())
}

/// The significance level a comparison for this gate's verdicts uses: the overall
/// regression rule's, else the first grader rule's, else the default.
pub fn alpha_of(gate: &Gate) -> f64 {
    gate.regression
        .iter()
        .chain(gate.graders.values().filter_map(|g| g.regression.as_ref()))
        .map(|rule| rule.alpha)
        .next()
        .unwrap_or(crate::compare::ALPHA)
}

/// The regression check of the whole run (`grader` `None`) or of one grader.
fn against(rule: &Regression, compared: Option<&RunComparison>, grader: Option<&str>) -> Check {
    let Some(compared) = compared else {
        return Check::NoBaseline;
    };
    let comparison = match grader {
        None => Some(&compared.overall),
        Some(name) => compared.graders.iter().find(|g| g.name == name),
    };
    match comparison {
        Some(comparison) => regression(rule, comparison, &compared.base.run_id),
        None => Check::NoResults,
    }
}

/// A regression check: it fails only when the drop is larger than allowed AND significant,
/// so a drop within noise passes however large it looks.
fn regression(rule: &Regression, compared: &Comparison, baseline: &str) -> Check {
    // No row graded in both runs (every one errored, say): there is no drop to judge, and a
    // run that graded nothing does not pass for it.
    let Some(delta) = compared.delta else {
        return Check::NoResults;
    };
    let drop = -delta;
    let significant = compared.p_value < rule.alpha;
    Check::Regression {
        baseline: baseline.to_string(),
        drop,
        max_drop: rule.max_drop,
        p_value: compared.p_value,
        alpha: rule.alpha,
        passed: !(drop > rule.max_drop + EPSILON && significant),
    }
}

/// Every check of a run's gate, overall first, then per grader in the gate's order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verdict {
    pub checks: Vec<(Scope, Check)>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|(_, check)| check.passed())
    }
}

/// Floating-point slack, so that a rate equal to its minimum passes.
const EPSILON: f64 = 1e-12;

fn rate(rate: f64, min: f64) -> Check {
    Check::Rate {
        rate,
        min,
        passed: rate + EPSILON >= min,
    }
}

/// Every check of `gate` for `run`; `compared` is the run against its baseline, `None` when
/// the key has no earlier completed run (or the gate compares nothing).
pub fn judge(gate: &Gate, run: &EvalRun, compared: Option<&RunComparison>) -> Verdict {
    let counts = run.result_counts.unwrap_or_default();
    let graders = grader_results(run);
    let mut checks = Vec::new();
    if let Some(min) = gate.min_pass_rate {
        checks.push((
            Scope::Overall,
            rate(ratio(counts.passed, counts.total), min),
        ));
    }
    if let Some(rule) = &gate.regression {
        checks.push((Scope::Overall, against(rule, compared, None)));
    }
    for (name, grader_gate) in &gate.graders {
        if let Some(min) = grader_gate.min_pass_rate {
            let check = match graders.iter().find(|g| &g.name == name) {
                Some(g) => rate(ratio(g.passed, g.graded), min),
                None => Check::NoResults,
            };
            checks.push((Scope::Grader(name.clone()), check));
        }
        if let Some(rule) = &grader_gate.regression {
            checks.push((
                Scope::Grader(name.clone()),
                against(rule, compared, Some(name)),
            ));
        }
    }
    Verdict { checks }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::wire::{CriteriaResult, ResultCounts};
    use crate::manifest::model::GraderGate;

    fn run(passed: u64, total: u64, graders: &[(&str, u64, u64)]) -> EvalRun {
        EvalRun {
            result_counts: Some(ResultCounts {
                total,
                passed,
                failed: total - passed,
                ..ResultCounts::default()
            }),
            per_testing_criteria_results: Some(
                graders
                    .iter()
                    .map(|(name, passed, failed)| CriteriaResult {
                        testing_criteria: format!("{name}-2eaf2d8d-d649-4335-8148-9535a7ca73c2"),
                        passed: *passed,
                        failed: *failed,
                    })
                    .collect(),
            ),
            ..EvalRun::default()
        }
    }

    fn gate(min: Option<f64>, graders: &[(&str, f64)]) -> Gate {
        Gate {
            min_pass_rate: min,
            regression: None,
            graders: graders
                .iter()
                .map(|(name, min)| {
                    (
                        name.to_string(),
                        GraderGate {
                            min_pass_rate: Some(*min),
                            regression: None,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn a_rate_at_its_minimum_passes_and_below_fails() {
        let verdict = judge(
            &gate(Some(0.8), &[("exact", 0.5)]),
            &run(4, 5, &[("exact", 2, 3)]),
            None,
        );
        assert!(!verdict.passed());
        assert_eq!(
            verdict.checks,
            [
                (
                    Scope::Overall,
                    Check::Rate {
                        rate: 0.8,
                        min: 0.8,
                        passed: true
                    }
                ),
                (
                    Scope::Grader("exact".into()),
                    Check::Rate {
                        rate: 0.4,
                        min: 0.5,
                        passed: false
                    }
                ),
            ]
        );
    }

    #[test]
    fn a_grader_the_run_does_not_report_fails_its_gate() {
        let verdict = judge(
            &gate(None, &[("fuzzy", 0.1)]),
            &run(5, 5, &[("exact", 5, 0)]),
            None,
        );
        assert_eq!(
            verdict.checks,
            [(Scope::Grader("fuzzy".into()), Check::NoResults)]
        );
        assert!(!verdict.passed());
    }

    #[test]
    fn an_empty_run_passes_no_minimum_above_zero() {
        assert!(!judge(&gate(Some(0.1), &[]), &run(0, 0, &[]), None).passed());
        assert!(judge(&gate(Some(0.0), &[]), &run(0, 0, &[]), None).passed());
        assert!(judge(&gate(None, &[]), &run(0, 3, &[]), None).passed());
    }

    fn comparison(name: &str, delta: f64, p_value: f64) -> Comparison {
        Comparison {
            name: name.into(),
            method: crate::compare::pairing::Method::Paired,
            paired: 100,
            base_pass_rate: Some(0.9),
            new_pass_rate: Some(0.9 + delta),
            delta: Some(delta),
            ci_low: None,
            ci_high: None,
            pass_to_fail: 0,
            fail_to_pass: 0,
            p_value,
            verdict: crate::compare::stats::Verdict::Unchanged,
            errored_base: 0,
            errored_new: 0,
            regressed: Vec::new(),
        }
    }

    #[test]
    fn a_regression_fails_only_when_larger_than_allowed_and_significant() {
        let rule = Regression {
            baseline: crate::manifest::model::Baseline::Previous,
            max_drop: 0.02,
            alpha: 0.05,
        };
        let mut gate = gate(None, &[]);
        gate.graders.insert(
            "judge".into(),
            GraderGate {
                min_pass_rate: None,
                regression: Some(rule.clone()),
            },
        );
        gate.regression = Some(rule);
        let compared = |overall: Comparison, judge: Comparison| RunComparison {
            eval_key: "e".into(),
            run_key: "r".into(),
            pair_by: None,
            keyed_by_content: 0,
            alpha: 0.05,
            base: crate::compare::RunRef {
                run_id: "evalrun_base".into(),
                eval_id: "eval_1".into(),
                created_at: 0,
                status: crate::api::wire::RunStatus::Completed,
            },
            new: crate::compare::RunRef {
                run_id: "evalrun_new".into(),
                eval_id: "eval_1".into(),
                created_at: 1,
                status: crate::api::wire::RunStatus::Completed,
            },
            paired_rows: 100,
            unpaired_base: 0,
            unpaired_new: 0,
            graders: vec![judge],
            overall,
            regressed_items: Vec::new(),
            regressed_total: 0,
        };
        let run = run(90, 100, &[("judge", 90, 10)]);
        // Overall: a 10-point drop within noise; the judge: a 5-point significant drop.
        let mixed = compared(
            comparison("all graders", -0.10, 0.20),
            comparison("judge", -0.05, 0.01),
        );
        let verdict = judge(&gate, &run, Some(&mixed));
        let passed: Vec<bool> = verdict.checks.iter().map(|(_, c)| c.passed()).collect();
        assert_eq!(passed, [true, false]);
        assert!(matches!(verdict.checks[1].0, Scope::Grader(ref name) if name == "judge"));
        // A significant drop within max_drop passes; an improvement always does.
        let small = compared(
            comparison("all graders", -0.02, 0.001),
            comparison("judge", 0.10, 0.001),
        );
        assert!(judge(&gate, &run, Some(&small)).passed());
        // No baseline: every regression check passes, and says so.
        let first = judge(&gate, &run, None);
        assert!(first.passed());
        assert!(first.checks.iter().all(|(_, c)| *c == Check::NoBaseline));
        // The new run graded none of its rows (every one errored): no pass for nothing.
        let mut nothing = comparison("all graders", 0.0, 1.0);
        (nothing.new_pass_rate, nothing.delta) = (None, None);
        let errored = compared(nothing, comparison("judge", 0.0, 1.0));
        let verdict = judge(&gate, &run, Some(&errored));
        assert_eq!(verdict.checks[0].1, Check::NoResults);
        assert!(!verdict.passed());
    }
}
