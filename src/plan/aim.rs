//! Aiming a plan at part of a project (`--only GLOB`, `--exclude GLOB`): a pattern without a
//! `/` matches eval keys and takes the eval with all its runs; `eval/run` matches run keys
//! and takes those runs (and their eval, which they need). `--prune` deletes only evals a
//! pattern without `/` aims at, so aiming at one eval can never delete another.

use globset::{Glob, GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};

/// The patterns as given, recorded in a saved plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AimPatterns {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

impl AimPatterns {
    pub fn is_everything(&self) -> bool {
        self.only.is_empty() && self.exclude.is_empty()
    }
}

/// A pattern that is not a glob.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{pattern}` is not a glob: {message}")]
pub struct BadPattern {
    pub pattern: String,
    pub message: String,
}

/// One compiled pattern: on eval keys, or on `eval/run` keys.
#[derive(Debug, Clone)]
struct Pattern {
    on_runs: bool,
    matcher: GlobMatcher,
}

/// The compiled aim.
#[derive(Debug, Clone, Default)]
pub struct Aim {
    pub patterns: AimPatterns,
    only: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

fn compile(pattern: &str) -> Result<Pattern, BadPattern> {
    // `*` stays within a key: `team-*` never reaches into `team-a/nightly`.
    let glob: Result<Glob, _> = GlobBuilder::new(pattern).literal_separator(true).build();
    glob.map(|glob| Pattern {
        on_runs: pattern.contains('/'),
        matcher: glob.compile_matcher(),
    })
    .map_err(|error| BadPattern {
        pattern: pattern.to_string(),
        message: error.kind().to_string(),
    })
}

impl Aim {
    pub fn new(patterns: AimPatterns) -> Result<Aim, BadPattern> {
        let only = patterns
            .only
            .iter()
            .map(|p| compile(p))
            .collect::<Result<_, _>>()?;
        let exclude = patterns
            .exclude
            .iter()
            .map(|p| compile(p))
            .collect::<Result<_, _>>()?;
        Ok(Aim {
            patterns,
            only,
            exclude,
        })
    }

    /// The eval as a whole (all its runs, and deletion with `--prune`).
    pub fn takes_whole_eval(&self, key: &str) -> bool {
        let evals = |p: &&Pattern| !p.on_runs;
        (self.only.is_empty()
            || self
                .only
                .iter()
                .filter(evals)
                .any(|p| p.matcher.is_match(key)))
            && !self
                .exclude
                .iter()
                .filter(evals)
                .any(|p| p.matcher.is_match(key))
    }

    /// Whether the eval is planned at all: whole, or for some of its runs.
    pub fn takes_eval<'k>(&self, key: &str, mut run_keys: impl Iterator<Item = &'k str>) -> bool {
        self.takes_whole_eval(key) || {
            let excluded = self
                .exclude
                .iter()
                .any(|p| !p.on_runs && p.matcher.is_match(key));
            !excluded && run_keys.any(|run| self.takes_run(key, run))
        }
    }

    /// Whether the run `eval_key/run_key` is planned.
    pub fn takes_run(&self, eval_key: &str, run_key: &str) -> bool {
        let path = format!("{eval_key}/{run_key}");
        let chosen = self.takes_whole_eval(eval_key)
            || self
                .only
                .iter()
                .any(|p| p.on_runs && p.matcher.is_match(&path));
        let eval_excluded = self
            .exclude
            .iter()
            .any(|p| !p.on_runs && p.matcher.is_match(eval_key));
        chosen
            && !eval_excluded
            && !self
                .exclude
                .iter()
                .any(|p| p.on_runs && p.matcher.is_match(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aim(only: &[&str], exclude: &[&str]) -> Aim {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Aim::new(AimPatterns {
            only: strings(only),
            exclude: strings(exclude),
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn no_pattern_takes_everything() {
        let all = aim(&[], &[]);
        assert!(all.takes_whole_eval("a") && all.takes_run("a", "r"));
    }

    #[test]
    fn eval_patterns_take_whole_evals_and_stay_within_a_key() {
        let team = aim(&["team-*"], &["team-b"]);
        assert!(team.takes_whole_eval("team-a"));
        assert!(team.takes_run("team-a", "nightly"));
        assert!(!team.takes_whole_eval("team-b"));
        assert!(!team.takes_run("team-b", "nightly"));
        assert!(!team.takes_whole_eval("other"));
    }

    #[test]
    fn run_patterns_take_runs_and_their_eval_but_never_delete_it() {
        let nightly = aim(&["*/nightly"], &["b/nightly"]);
        assert!(
            !nightly.takes_whole_eval("a"),
            "a run pattern never prunes an eval"
        );
        assert!(nightly.takes_eval("a", ["nightly", "weekly"].into_iter()));
        assert!(nightly.takes_run("a", "nightly"));
        assert!(!nightly.takes_run("a", "weekly"));
        assert!(!nightly.takes_run("b", "nightly"));
        assert!(!nightly.takes_eval("b", ["nightly"].into_iter()));
        let but_weekly = aim(&[], &["*/weekly"]);
        assert!(but_weekly.takes_run("a", "nightly") && !but_weekly.takes_run("a", "weekly"));
    }

    #[test]
    fn a_bad_glob_is_named() {
        let error = Aim::new(AimPatterns {
            only: vec!["a[".into()],
            exclude: vec![],
        })
        .unwrap_err();
        assert!(
            error.to_string().starts_with("`a[` is not a glob: "),
            "{error}"
        );
    }
}
