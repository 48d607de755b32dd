//! Soak (issue 17, item 4): for `EVALCTL_SOAK_SECS` (default 120) seconds, apply/plan cycles
//! of a changing 100-eval project against `evalctl serve --fault-rate 0.3 --data-dir DIR`, a
//! child process on a free port of 127.0.0.1. Each cycle edits the project (graders, so evals
//! are replaced; names and metadata, updated in place; data files and inline rows, so runs
//! start; evals and runs added and removed), then plays one scenario: an apply (sometimes
//! with `--prune`, `--wait`), an apply killed with SIGKILL after a random delay (then
//! `force-unlock` or a wait for its lease, and often an apply to recover), two applies at once
//! (of one revision, or a stale CI job's previous revision beside the current one), the
//! emulator killed and restarted under an apply, a quiet restart checked to lose nothing, or a
//! saved plan applied. After each cycle the service is checked through the API
//! (`soak/invariants.rs`), and after a clean apply `evalctl plan --detailed-exitcode` must say
//! `No changes.`. Faults may fail an apply (exit 1); they must never break an invariant.
//!
//! Run it with `tests/soak/run.sh SECS`. The seed is printed (`EVALCTL_SOAK_SEED` sets it): it
//! replays the edits, scenarios, delays and the emulator's fault seeds, though not the
//! timing. On a violation the test fails naming the cycle, the seed and what broke, and keeps
//! its directory: the emulator's data dir, its logs, and the transcripts of the last cycles
//! (`EVALCTL_SOAK_KEEP=1` keeps it after a pass too).

#[path = "soak/command.rs"]
mod command;
#[path = "soak/emulator.rs"]
mod emulator;
#[path = "soak/figures.rs"]
mod figures;
#[path = "soak/invariants.rs"]
mod invariants;
#[path = "soak/project.rs"]
mod project;
#[path = "soak/service.rs"]
mod service;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use command::Ran;
use emulator::Emulator;
use figures::Figures;
use invariants::{Checker, Seen, Settled, Snapshot};
use project::Project;

const FAULT_RATE: f64 = 0.3;
/// A killed apply's lease blocks others this long (the default 60 s would make every kill a
/// minute's wait).
const LOCK_TTL: &str = "20s";
/// Longer than `LOCK_TTL`: an apply that waits outlasts a dead apply's lease.
const LOCK_WAIT: &str = "120s";
/// Cycles whose transcripts are kept.
const KEEP_CYCLES: u64 = 4;
/// Attempts of a plan that fails (exit 1) under the faults before that counts as a failure.
const PLAN_ATTEMPTS: u32 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "minutes long: tests/soak/run.sh SECS"]
async fn soak() {
    let secs: u64 = std::env::var("EVALCTL_SOAK_SECS")
        .ok()
        .map(|s| {
            s.parse()
                .unwrap_or_else(|e| panic!("EVALCTL_SOAK_SECS={s}: {e}"))
        })
        .unwrap_or(120);
    let seed: u64 = std::env::var("EVALCTL_SOAK_SEED")
        .ok()
        .map(|s| {
            s.parse()
                .unwrap_or_else(|e| panic!("EVALCTL_SOAK_SEED={s}: {e}"))
        })
        .unwrap_or_else(rand::random);
    let root = tempfile::Builder::new()
        .prefix("evalctl-soak-")
        .tempdir()
        .unwrap_or_else(|e| panic!("{e}"))
        .keep();
    println!(
        "soak: {secs}s, seed {seed} (replay: EVALCTL_SOAK_SEED={seed} tests/soak/run.sh {secs}), in {}",
        root.display()
    );
    let started = Instant::now();
    let mut soak = Soak::new(&root, seed)
        .await
        .unwrap_or_else(|e| panic!("soak: {e}"));
    let result = soak.run(started + Duration::from_secs(secs)).await;
    let _ = soak.emulator.kill().await;
    println!("soak: why applies failed:\n{}", soak.figures.failures());
    println!("{}", soak.figures.summary(started.elapsed(), seed));
    match result {
        Ok(()) if std::env::var_os("EVALCTL_SOAK_KEEP").is_some() => {
            println!("soak: kept {} (EVALCTL_SOAK_KEEP)", root.display());
        }
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&root);
        }
        Err(violation) => panic!(
            "soak: cycle {} (seed {seed}; replay: EVALCTL_SOAK_SEED={seed} tests/soak/run.sh {secs}) failed: {violation}\n\
             kept: {} (emulator data dir {}, its logs {}, transcripts of the last cycles {})",
            soak.cycle,
            root.display(),
            root.join("data").display(),
            root.join("logs").display(),
            root.join("transcripts").display()
        ),
    }
}

/// What a cycle does after editing the project.
#[derive(Debug, Clone, Copy)]
enum Scenario {
    Apply,
    Kill,
    Pair,
    StalePair,
    RestartDuring,
    QuietRestart,
    SavedPlan,
}

impl Scenario {
    fn pick(rng: &mut StdRng) -> Scenario {
        match rng.random_range(0..100) {
            0..=29 => Scenario::Apply,
            30..=49 => Scenario::Kill,
            50..=64 => Scenario::Pair,
            65..=72 => Scenario::StalePair,
            73..=84 => Scenario::RestartDuring,
            85..=91 => Scenario::QuietRestart,
            _ => Scenario::SavedPlan,
        }
    }
}

#[derive(Clone, Copy)]
enum Target {
    Azure,
    OpenAi,
}

/// How one apply is invoked.
struct ApplyFlags {
    target: Target,
    prune: bool,
    max_delete: Option<usize>,
    wait: bool,
    lock_wait: bool,
    parallelism: u32,
}

/// An apply as a cycle ran it.
struct Applied {
    ran: Ran,
    dir: PathBuf,
    keys: BTreeSet<String>,
    pruned: bool,
}

/// The manifests a clean apply left the service matching.
struct SettledOn {
    dir: PathBuf,
    settled: Settled,
}

impl Applied {
    fn settled(&self) -> Option<SettledOn> {
        self.ran.clean().then(|| SettledOn {
            dir: self.dir.clone(),
            settled: Settled {
                keys: self.keys.clone(),
                pruned: self.pruned,
            },
        })
    }
}

struct Soak {
    root: PathBuf,
    rng: StdRng,
    emulator: Emulator,
    checker: Checker,
    project: Project,
    /// The keys of the previous revision, written to `stale/`.
    stale_keys: BTreeSet<String>,
    /// SHA-256 of every data file written.
    contents: BTreeSet<String>,
    figures: Figures,
    cycle: u64,
    /// The service after the last check.
    last: Option<Snapshot>,
    /// A typical apply's seconds, for kill delays.
    apply_secs: f64,
    cycle_dir: PathBuf,
    step: u32,
    /// What the cycle did, for its line.
    told: Vec<String>,
}

impl Soak {
    async fn new(root: &Path, seed: u64) -> Result<Soak, String> {
        for dir in ["data", "logs", "project", "stale", "transcripts"] {
            std::fs::create_dir_all(root.join(dir)).map_err(|e| e.to_string())?;
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let mut emulator = Emulator::new(&root.join("data"), &root.join("logs"), FAULT_RATE);
        emulator.start(rng.random()).await?;
        let checker = Checker::new(&emulator.base());
        let project = Project::new(&mut rng);
        Ok(Soak {
            root: root.to_path_buf(),
            rng,
            emulator,
            checker,
            stale_keys: project.keys(),
            project,
            contents: BTreeSet::new(),
            figures: Figures::default(),
            cycle: 0,
            last: None,
            apply_secs: 5.0,
            cycle_dir: root.join("transcripts"),
            step: 0,
            told: Vec::new(),
        })
    }

    async fn run(&mut self, until: Instant) -> Result<(), String> {
        while self.cycle == 0 || Instant::now() < until {
            self.cycle().await?;
        }
        Ok(())
    }

    async fn cycle(&mut self) -> Result<(), String> {
        let started = Instant::now();
        self.cycle += 1;
        self.figures.cycles = self.cycle;
        self.step = 0;
        self.told.clear();
        self.cycle_dir = self
            .root
            .join("transcripts")
            .join(format!("cycle-{:05}", self.cycle));
        std::fs::create_dir_all(&self.cycle_dir).map_err(|e| e.to_string())?;
        if let Some(old) = self.cycle.checked_sub(KEEP_CYCLES) {
            let old = self
                .root
                .join("transcripts")
                .join(format!("cycle-{old:05}"));
            let _ = std::fs::remove_dir_all(old);
        }
        let previous = self.project.clone();
        let edits = match self.cycle {
            1 => vec![format!("the project ({} evals)", self.project.len())],
            _ => self.project.edit(&mut self.rng),
        };
        self.stale_keys = previous.keys();
        self.contents
            .extend(self.project.write(&self.root.join("project")));
        self.contents
            .extend(previous.write(&self.root.join("stale")));
        let scenario = match self.cycle {
            1 => Scenario::Apply,
            _ => Scenario::pick(&mut self.rng),
        };
        let result = self.play(scenario).await;
        let line = format!(
            "cycle {} ({:.1}s) {scenario:?}: edits [{}]; {}",
            self.cycle,
            started.elapsed().as_secs_f64(),
            edits.join("; "),
            self.told.join(", "),
        );
        match result {
            Ok(figures) => {
                println!("{line}; {figures}");
                Ok(())
            }
            Err(violation) => Err(format!(
                "{violation}\n  in {line}\n  transcripts of the cycle: {}",
                self.cycle_dir.display()
            )),
        }
    }

    /// Plays `scenario`, then checks the service.
    async fn play(&mut self, scenario: Scenario) -> Result<String, String> {
        let settled = match scenario {
            Scenario::Apply => self.apply_once().await?,
            Scenario::Kill => self.kill_an_apply().await?,
            Scenario::Pair => self.pair().await?,
            Scenario::StalePair => self.stale_pair().await?,
            Scenario::RestartDuring => self.restart_during_apply().await?,
            Scenario::QuietRestart => self.quiet_restart().await?,
            Scenario::SavedPlan => self.saved_plan().await?,
        };
        if let Some(exited) = self.emulator.exited() {
            return Err(exited);
        }
        self.check(settled.as_ref()).await
    }

    /// Checks the invariants, and after a clean apply that the plan is empty.
    async fn check(&mut self, settled: Option<&SettledOn>) -> Result<String, String> {
        let started = Instant::now();
        let snapshot = self.checker.snapshot().await?;
        let listed = started.elapsed();
        let mut seen = Seen::default();
        let violations = invariants::check(
            &snapshot,
            settled.map(|s| &s.settled),
            &self.contents,
            &mut seen,
        );
        let figures = &mut self.figures;
        figures.half_replaced += seen.half_replaced as u64;
        figures.max_leases = figures.max_leases.max(seen.leases);
        figures.contents_with_two_names = seen.contents_with_two_names;
        figures.checker_faults = self.checker.service.faults.lock().clone();
        figures.live = snapshot.live_keys().len();
        figures.evals = snapshot.evals.len();
        figures.runs = snapshot.run_count();
        figures.uploads = snapshot.files.len();
        let line = format!(
            "{} live / {} evals, {} runs on live evals, {} uploads, {} leases (listed in {:.1}s)",
            figures.live,
            figures.evals,
            figures.runs,
            figures.uploads,
            seen.leases,
            listed.as_secs_f64()
        );
        self.last = Some(snapshot);
        if !violations.is_empty() {
            return Err(format!(
                "{} invariant(s) violated{}:\n  {}",
                violations.len(),
                match settled {
                    Some(_) => " after a clean apply",
                    None => "",
                },
                violations.join("\n  ")
            ));
        }
        self.figures.invariants += seen.invariants;
        let Some(settled) = settled else {
            return Ok(format!("{line}; no clean apply"));
        };
        let started = Instant::now();
        self.plan_is_empty(&settled.dir, settled.settled.pruned)
            .await?;
        self.figures.invariants += 1;
        self.figures.empty_plans += 1;
        Ok(format!(
            "{line}; plan empty ({:.1}s)",
            started.elapsed().as_secs_f64()
        ))
    }

    /// `plan --detailed-exitcode` says `No changes.` (tried again while faults fail it).
    async fn plan_is_empty(&mut self, dir: &Path, pruned: bool) -> Result<(), String> {
        let refresh = self.rng.random_bool(0.25);
        for _ in 0..PLAN_ATTEMPTS {
            let mut args = vec![
                "plan".to_string(),
                dir.display().to_string(),
                "--detailed-exitcode".into(),
            ];
            args.extend(self.target(Target::Azure));
            if pruned {
                args.push("--prune".into());
            }
            if refresh {
                args.push("--refresh".into());
            }
            let ran = self.evalctl("plan", &args, None).await?;
            self.figures.command(&ran);
            match ran.code {
                Some(0) if ran.stdout.contains("No changes.") => return Ok(()),
                Some(1) if !ran.stderr.contains("panicked") => continue,
                _ => {
                    return Err(format!(
                        "the plan after a clean apply is not empty (exit {}); transcript {}:\n{}",
                        ran.shown(),
                        ran.transcript.display(),
                        ran.stdout
                    ))
                }
            }
        }
        Err(format!(
            "`evalctl plan` failed {PLAN_ATTEMPTS} times in a row after a clean apply; transcripts in {}",
            self.cycle_dir.display()
        ))
    }

    fn target(&self, target: Target) -> Vec<String> {
        let (name, endpoint) = match target {
            Target::Azure => ("azure", self.emulator.base()),
            Target::OpenAi => ("openai", format!("{}/v1", self.emulator.base())),
        };
        ["--target", name, "--endpoint", &endpoint]
            .map(String::from)
            .to_vec()
    }

    /// Keys live on the service that left the manifests: what `--prune` deletes.
    fn orphans(&self) -> usize {
        let keys = self.project.keys();
        self.last
            .as_ref()
            .map_or(0, |s| s.live_keys().difference(&keys).count())
    }

    fn flags(&mut self, may_prune: bool) -> ApplyFlags {
        let orphans = self.orphans();
        let prune = may_prune && orphans > 0 && self.rng.random_bool(0.4);
        // Enough for every deletion, one too few (refused: nothing may be written), or the
        // default limit.
        let max_delete = match self.rng.random_range(0..10) {
            _ if !prune => None,
            0..=4 => Some(orphans),
            5..=6 => Some(orphans - 1),
            _ => None,
        };
        ApplyFlags {
            target: match self.rng.random_bool(0.5) {
                true => Target::Azure,
                false => Target::OpenAi,
            },
            prune,
            max_delete,
            wait: self.rng.random_bool(0.05),
            lock_wait: true,
            parallelism: [2, 4, 8, 8, 16][self.rng.random_range(0..5)],
        }
    }

    fn apply_args(&self, dir: &Path, flags: &ApplyFlags) -> Vec<String> {
        let mut args = vec![
            "apply".to_string(),
            dir.display().to_string(),
            "--auto-approve".into(),
            "--lock-ttl".into(),
            LOCK_TTL.into(),
            "--lock-timeout".into(),
            match flags.lock_wait {
                true => LOCK_WAIT.into(),
                false => "0s".into(),
            },
            "--parallelism".into(),
            flags.parallelism.to_string(),
        ];
        args.extend(self.target(flags.target));
        if flags.prune {
            args.push("--prune".into());
        }
        if let Some(n) = flags.max_delete {
            args.extend(["--max-delete".into(), n.to_string()]);
        }
        if flags.wait {
            args.extend(["--wait", "--timeout", "120s"].map(String::from));
        }
        args
    }

    /// The next transcript file of the cycle.
    fn transcript(&mut self, label: &str) -> PathBuf {
        self.step += 1;
        self.cycle_dir.join(format!("{:02}-{label}.txt", self.step))
    }

    async fn evalctl(
        &mut self,
        label: &str,
        args: &[String],
        kill_after: Option<Duration>,
    ) -> Result<Ran, String> {
        let transcript = self.transcript(label);
        command::evalctl(&self.root, transcript, args, kill_after).await
    }

    /// Counts an apply and fails on what no fault excuses: a crash, an unknown exit.
    fn applied(&mut self, ran: Ran, dir: &Path, flags: &ApplyFlags) -> Result<Applied, String> {
        let pruned = flags.prune;
        self.figures.apply(&ran);
        let mut told = format!("apply {} ({:.1}s)", ran.shown(), ran.took.as_secs_f64());
        if pruned {
            self.figures.prunes += 1;
            told.push_str(" --prune");
            if ran.code == Some(1) && ran.stderr.contains("nothing is applied") {
                self.figures.refused_prunes += 1;
                told.push_str(" (refused: --max-delete)");
            }
        }
        self.told.push(told);
        if ran.stderr.contains("panicked") || !matches!(ran.code, None | Some(0) | Some(1)) {
            return Err(format!(
                "apply exited {} (a crash?); transcript {}",
                ran.shown(),
                ran.transcript.display()
            ));
        }
        // Kills aim within the writing: `--wait` adds the grading to an apply's time.
        if ran.clean() && !flags.wait {
            self.apply_secs = 0.8 * self.apply_secs + 0.2 * ran.took.as_secs_f64();
        }
        let keys = match dir.ends_with("stale") {
            true => self.stale_keys.clone(),
            false => self.project.keys(),
        };
        Ok(Applied {
            ran,
            dir: dir.to_path_buf(),
            keys,
            pruned,
        })
    }

    async fn apply(
        &mut self,
        dir: &Path,
        flags: ApplyFlags,
        kill_after: Option<Duration>,
    ) -> Result<Applied, String> {
        let args = self.apply_args(dir, &flags);
        let ran = self.evalctl("apply", &args, kill_after).await?;
        self.applied(ran, dir, &flags)
    }

    fn project_dir(&self) -> PathBuf {
        self.root.join("project")
    }

    /// One apply. A prune refused by `--max-delete` must have written nothing.
    async fn apply_once(&mut self) -> Result<Option<SettledOn>, String> {
        let flags = self.flags(true);
        let applied = self.apply(&self.project_dir(), flags, None).await?;
        if applied.ran.code == Some(1) && applied.ran.stderr.contains("nothing is applied") {
            let after = self.checker.snapshot().await?;
            if let Some(before) = &self.last {
                if before.evals_shown() != after.evals_shown() {
                    return Err(format!(
                        "an apply refused by --max-delete changed evals; transcript {}",
                        applied.ran.transcript.display()
                    ));
                }
                self.figures.invariants += 1;
            }
        }
        Ok(applied.settled())
    }

    /// An apply killed after a random delay; its lease removed by `force-unlock` or waited
    /// out; often an apply after it.
    async fn kill_an_apply(&mut self) -> Result<Option<SettledOn>, String> {
        let delay = self.kill_delay();
        let flags = self.flags(true);
        let killed = self.apply(&self.project_dir(), flags, Some(delay)).await?;
        if killed.ran.code.is_some() {
            return Ok(killed.settled());
        }
        self.told.push(format!("after {:.1}s", delay.as_secs_f64()));
        if self.rng.random_bool(0.5) {
            let mut args = vec![
                "force-unlock".to_string(),
                "-p".into(),
                self.project_dir().display().to_string(),
                "--auto-approve".into(),
            ];
            args.extend(self.target(Target::Azure));
            let ran = self.evalctl("force-unlock", &args, None).await?;
            self.figures.command(&ran);
            self.figures.force_unlocks += 1;
            self.told.push(format!("force-unlock {}", ran.shown()));
        }
        if self.rng.random_bool(0.6) {
            let flags = self.flags(true);
            let after = self.apply(&self.project_dir(), flags, None).await?;
            return Ok(after.settled());
        }
        Ok(None)
    }

    /// Two applies of the current manifests at once; the second waits for the lock or is
    /// refused. One clean apply of the two leaves the plan empty.
    async fn pair(&mut self) -> Result<Option<SettledOn>, String> {
        self.figures.pairs += 1;
        let dir = self.project_dir();
        let first = self.flags(true);
        let mut second = self.flags(false);
        (second.prune, second.max_delete) = (first.prune, first.max_delete);
        second.lock_wait = self.rng.random_bool(0.5);
        // Sometimes the first is killed: the second waits out its lease and takes over.
        let kill = self.rng.random_bool(0.3).then(|| self.kill_delay());
        let (a, b) = self.together(&dir, first, kill, &dir, second).await?;
        Ok(a.settled().or_else(|| b.settled()))
    }

    /// A random moment within a typical apply.
    fn kill_delay(&mut self) -> Duration {
        Duration::from_secs_f64(self.rng.random_range(0.0..1.2) * self.apply_secs)
    }

    /// A stale CI job applies the previous revision while the current one is applied: the
    /// last of them to write decides what the plan is compared with.
    async fn stale_pair(&mut self) -> Result<Option<SettledOn>, String> {
        self.figures.pairs += 1;
        self.figures.stale_pairs += 1;
        let (stale, current) = (self.root.join("stale"), self.project_dir());
        let mut first = self.flags(false);
        let mut second = self.flags(false);
        second.lock_wait = self.rng.random_bool(0.7);
        // `--wait` releases the lease before waiting: the last to end would not be the last
        // to write.
        (first.wait, second.wait) = (false, false);
        let (a, b) = match self.rng.random_bool(0.5) {
            true => self.together(&stale, first, None, &current, second).await?,
            false => self.together(&current, first, None, &stale, second).await?,
        };
        let last = [a, b]
            .into_iter()
            .filter(|applied| !applied.ran.locked_out())
            .max_by_key(|applied| applied.ran.ended);
        Ok(last.and_then(|applied| applied.settled()))
    }

    /// Applies `a` (killed after `kill_a`, if given) and, a random moment later, `b`, at once.
    async fn together(
        &mut self,
        dir_a: &Path,
        a: ApplyFlags,
        kill_a: Option<Duration>,
        dir_b: &Path,
        b: ApplyFlags,
    ) -> Result<(Applied, Applied), String> {
        let stagger = Duration::from_millis(self.rng.random_range(0..700));
        let (args_a, args_b) = (self.apply_args(dir_a, &a), self.apply_args(dir_b, &b));
        let (path_a, path_b) = (self.transcript("apply-a"), self.transcript("apply-b"));
        let root = self.root.clone();
        let (ran_a, ran_b) =
            tokio::join!(command::evalctl(&root, path_a, &args_a, kill_a), async {
                tokio::time::sleep(stagger).await;
                command::evalctl(&root, path_b, &args_b, None).await
            });
        self.told.push(format!("{}ms apart", stagger.as_millis()));
        if let Some(kill) = kill_a {
            self.told.push(format!(
                "the first to be killed at {:.1}s",
                kill.as_secs_f64()
            ));
        }
        let a = self.applied(ran_a?, dir_a, &a)?;
        let b = self.applied(ran_b?, dir_b, &b)?;
        Ok((a, b))
    }

    /// The emulator killed and started again while an apply works.
    async fn restart_during_apply(&mut self) -> Result<Option<SettledOn>, String> {
        let delay = Duration::from_secs_f64(self.rng.random_range(0.0..1.0) * self.apply_secs);
        let flags = self.flags(true);
        let args = self.apply_args(&self.project_dir(), &flags);
        let path = self.transcript("apply");
        let seed = self.rng.random();
        let root = self.root.clone();
        let emulator = &mut self.emulator;
        let (ran, restarted) = tokio::join!(command::evalctl(&root, path, &args, None), async {
            tokio::time::sleep(delay).await;
            emulator.kill().await?;
            emulator.start(seed).await
        });
        restarted?;
        self.figures.restarts_during += 1;
        self.told.push(format!(
            "emulator restarted after {:.1}s",
            delay.as_secs_f64()
        ));
        let applied = self.applied(ran?, &self.project_dir(), &flags)?;
        Ok(applied.settled())
    }

    /// The emulator killed between applies: started again, it holds what it held.
    async fn quiet_restart(&mut self) -> Result<Option<SettledOn>, String> {
        let before = match self.last.take() {
            Some(before) => before,
            None => self.checker.snapshot().await?,
        };
        self.emulator.kill().await?;
        let seed = self.rng.random();
        self.emulator.start(seed).await?;
        self.figures.restarts_between += 1;
        let after = self.checker.snapshot().await?;
        let files = |s: &Snapshot| {
            s.files
                .iter()
                .map(|f| f.id.clone())
                .collect::<BTreeSet<_>>()
        };
        if before.evals_shown() != after.evals_shown() || files(&before) != files(&after) {
            let lost: Vec<_> = before
                .evals_shown()
                .difference(&after.evals_shown())
                .cloned()
                .collect();
            let new: Vec<_> = after
                .evals_shown()
                .difference(&before.evals_shown())
                .cloned()
                .collect();
            return Err(format!(
                "a restart of the emulator changed what it holds: evals before only {lost:?}, after only {new:?}, files before {:?}, after {:?}",
                files(&before),
                files(&after)
            ));
        }
        self.figures.invariants += 1;
        self.told.push("emulator restarted, nothing lost".into());
        self.last = Some(after);
        self.apply_once().await
    }

    /// `plan --out`, then `apply PLAN`: nothing changed between, so it is not stale.
    async fn saved_plan(&mut self) -> Result<Option<SettledOn>, String> {
        self.figures.saved_plans += 1;
        let flags = self.flags(true);
        let file = self.cycle_dir.join("plan.json");
        let mut args = vec![
            "plan".to_string(),
            self.project_dir().display().to_string(),
            "--out".into(),
            file.display().to_string(),
        ];
        args.extend(self.target(flags.target));
        if flags.prune {
            args.push("--prune".into());
        }
        if let Some(n) = flags.max_delete {
            args.extend(["--max-delete".into(), n.to_string()]);
        }
        let planned = self.evalctl("plan-out", &args, None).await?;
        self.figures.command(&planned);
        self.told.push(format!("plan --out {}", planned.shown()));
        if !planned.clean() {
            return Ok(None);
        }
        let mut flags = flags;
        // The plan carries its prune; apply takes no --prune with a plan file.
        let pruned = std::mem::take(&mut flags.prune);
        flags.max_delete = None;
        let args = self.apply_args(&file, &flags);
        let ran = self.evalctl("apply-plan", &args, None).await?;
        if ran.stderr.contains("saved plan is stale") {
            return Err(format!(
                "a saved plan was refused as stale although nothing was applied since it was made; transcript {}",
                ran.transcript.display()
            ));
        }
        let mut applied = self.applied(ran, &self.project_dir(), &flags)?;
        applied.pruned = pruned;
        Ok(applied.settled())
    }
}
