//! The soak's figures, counted as it goes and printed as one summary line at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use super::command::Ran;

#[derive(Default)]
pub struct Figures {
    pub cycles: u64,
    pub clean: u64,
    pub failed: u64,
    /// Of the failed: refused the lock held by another apply (wrote nothing).
    pub locked_out: u64,
    /// Failed applies by their error line.
    pub failures: BTreeMap<String, u64>,
    pub killed: u64,
    pub restarts_between: u64,
    pub restarts_during: u64,
    pub pairs: u64,
    /// Of the pairs: one applied the previous revision of the manifests.
    pub stale_pairs: u64,
    pub saved_plans: u64,
    pub force_unlocks: u64,
    pub prunes: u64,
    pub refused_prunes: u64,
    pub empty_plans: u64,
    pub invariants: u64,
    /// Retries the commands said they made, by kind.
    pub retries: BTreeMap<&'static str, u64>,
    /// Failed attempts of the checker's requests, by kind.
    pub checker_faults: BTreeMap<String, u64>,
    pub half_replaced: u64,
    pub max_leases: usize,
    pub contents_with_two_names: usize,
    pub live: usize,
    pub evals: usize,
    pub runs: usize,
    pub uploads: usize,
}

impl Figures {
    /// Counts an apply by how it ended.
    pub fn apply(&mut self, ran: &Ran) {
        match ran.code {
            None => self.killed += 1,
            Some(0) => self.clean += 1,
            Some(_) => {
                self.failed += 1;
                self.locked_out += u64::from(ran.locked_out());
                if let Some(failure) = ran.failure() {
                    *self.failures.entry(failure).or_default() += 1;
                }
            }
        }
        self.command(ran);
    }

    /// Counts the retries a command noted.
    pub fn command(&mut self, ran: &Ran) {
        for kind in ran.retries() {
            *self.retries.entry(kind).or_default() += 1;
        }
    }

    /// The failed applies' reasons, most frequent first.
    pub fn failures(&self) -> String {
        let mut failures: Vec<(&String, &u64)> = self.failures.iter().collect();
        failures.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        failures
            .iter()
            .map(|(line, n)| format!("  {n:>4} x {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn summary(&self, took: Duration, seed: u64) -> String {
        let retries: u64 = self.retries.values().sum();
        let kinds: Vec<String> = self
            .retries
            .iter()
            .map(|(kind, n)| format!("{kind}: {n}"))
            .collect();
        let checker: u64 = self.checker_faults.values().sum();
        let checker_kinds: Vec<String> = self
            .checker_faults
            .iter()
            .map(|(kind, n)| format!("{kind}: {n}"))
            .collect();
        format!(
            "soak summary: {}m{:02}s, seed {seed}: {} cycles; applies {} (clean {} / failed {} [{} locked out] / killed {}); \
             emulator restarts {} ({} during an apply); concurrent pairs {} ({} with a stale revision); saved plans {}; \
             force-unlocks {}; prunes {} ({} refused by --max-delete); faults seen: {retries} retries noted by evalctl [{}] \
             and {checker} failed requests of the checker [{}]; invariant checks passed {} (incl. {} empty plans after clean applies); \
             half-done replacements seen {}; contents under two upload names {}; most leases at once {}; \
             at the end {} live evals of {} evals, {} runs listed, {} uploads",
            took.as_secs() / 60,
            took.as_secs() % 60,
            self.cycles,
            self.clean + self.failed + self.killed,
            self.clean,
            self.failed,
            self.locked_out,
            self.killed,
            self.restarts_between + self.restarts_during,
            self.restarts_during,
            self.pairs,
            self.stale_pairs,
            self.saved_plans,
            self.force_unlocks,
            self.prunes,
            self.refused_prunes,
            kinds.join(", "),
            checker_kinds.join(", "),
            self.invariants,
            self.empty_plans,
            self.half_replaced,
            self.contents_with_two_names,
            self.max_leases,
            self.live,
            self.evals,
            self.runs,
            self.uploads,
        )
    }
}
