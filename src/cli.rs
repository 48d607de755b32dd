//! Command-line definitions (clap) and nothing else: every command's behaviour lives in the
//! library modules, so the same code runs from the binary and from tests.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Azure OpenAI / OpenAI evaluations as code: validate, plan and apply eval manifests.
#[derive(Debug, Parser)]
#[command(name = "evalctl", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a project: evalctl.yaml with its name, an example eval and data, and the JSON
    /// Schema for editors.
    Init(InitArgs),
    /// Load and validate manifests; report every problem with its file, line and column.
    Validate(ValidateArgs),
    /// Print the JSON Schema of a manifest file (committed as schemas/evalctl.schema.json).
    Schema,
    /// Compare the manifests with the service and print what `apply` would change.
    Plan(PlanArgs),
    /// Show the plan, ask for confirmation, then carry it out.
    Apply(ApplyArgs),
    /// List the runs of this project's evals (live and superseded), or of one eval.
    Runs(RunsArgs),
    /// List the output items of one run, with the service's filters and paging.
    Results(ResultsArgs),
    /// Compare two runs of a run key, row by row: per grader and overall, the pass rates,
    /// their difference with a 95% interval, the exact McNemar p-value and a verdict.
    Compare(CompareArgs),
    /// Every run of a run key over time, across replacements: pass rates, what changed, and
    /// the verdict against the run before.
    History(HistoryArgs),
    /// One Markdown document for a pull-request comment: the gates' verdicts, the runs the
    /// manifests want (status, pass rates), and the plan, under 65,000 characters.
    Report(ReportArgs),
    /// Write manifests for evals on the service that no project manages, each with
    /// `adopt: <id>`, so the next apply brings them under management in place.
    Import(ImportArgs),
    /// Delete this project's superseded evals (and their runs) superseded longer ago than an
    /// age: shows what goes, asks, then deletes.
    Gc(GcArgs),
    /// Remove the lease a dead apply left on the project (every lease of the project, or
    /// the one named).
    ForceUnlock(ForceUnlockArgs),
    /// Print a completion script for a shell (e.g. `evalctl completions bash >
    /// ~/.local/share/bash-completion/completions/evalctl`).
    Completions(CompletionsArgs),
    /// Serve the local Evals API emulator (OpenAI flavor under /v1, Azure under /openai/v1,
    /// Foundry projects under /api/projects/NAME/openai/v1).
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A project directory, a single manifest file, or a plan saved with `plan --out FILE`.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Apply without asking (required when stdin is not a terminal, as in CI).
    #[arg(long)]
    pub auto_approve: bool,
    /// Wait for the started runs, print their results and check their gates (exit 3 when a
    /// gate fails).
    #[arg(long)]
    pub wait: bool,
    /// How long `--wait` waits, e.g. `90s`, `30m`, `2h`.
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    #[command(flatten)]
    pub planning: PlanningArgs,
    /// Treat warnings (such as a grader type evalctl does not know) as errors.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub aim: AimArgs,
    #[command(flatten)]
    pub lock: LockArgs,
}

/// How a plan is made: what it may delete or replace, and what it reads.
#[derive(Debug, Args)]
pub struct PlanningArgs {
    /// List the runs of every eval, also those whose `evalctl_runs` tag vouches for the runs
    /// the manifests want (finds runs deleted by hand).
    #[arg(long)]
    pub refresh: bool,
    /// Delete managed evals whose key left the manifests.
    #[arg(long)]
    pub prune: bool,
    /// The most evals `--prune` may delete [default: 5, or 20% of the project's evals on
    /// the service, whichever is larger]
    #[arg(long, value_name = "N")]
    pub max_delete: Option<usize>,
    /// Allow the eval KEY to be replaced or deleted although it has `protect: true`;
    /// repeatable.
    #[arg(long, value_name = "KEY")]
    pub allow_replace: Vec<String>,
}

impl PlanningArgs {
    pub fn options(&self) -> crate::plan::PlanOptions {
        crate::plan::PlanOptions {
            prune: self.prune,
            max_delete: self.max_delete,
            allow_replace: self.allow_replace.clone(),
        }
    }
}

/// Part of the project to plan and apply.
#[derive(Debug, Args)]
pub struct AimArgs {
    /// Only the evals whose key matches GLOB (with all their runs), or the runs matching
    /// `EVAL/RUN` (e.g. `*/nightly`); repeatable. `--prune` deletes only evals aimed at.
    #[arg(long, value_name = "GLOB")]
    pub only: Vec<String>,
    /// Leave out the evals whose key matches GLOB, or the runs matching `EVAL/RUN`;
    /// repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
}

impl AimArgs {
    pub fn patterns(&self) -> crate::plan::AimPatterns {
        crate::plan::AimPatterns {
            only: self.only.clone(),
            exclude: self.exclude.clone(),
        }
    }
}

/// The project's lease, which apply holds while it writes.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// How long to wait for another apply of the project to finish writing, e.g. `10m`;
    /// 0 fails at once, naming who holds the lock.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub lock_timeout: std::time::Duration,
    /// How long the lease lasts when its apply stops renewing it (a killed apply's lease
    /// blocks others this long).
    #[arg(long, default_value = "60s", value_parser = parse_lock_ttl, hide = true)]
    pub lock_ttl: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The eval key.
    pub eval_key: String,
    /// The run key.
    pub run_key: String,
    /// The run to compare with [default: the completed run of the key before --new]; the
    /// id of any run of the eval key, or a run key (its newest completed run).
    #[arg(long, value_name = "RUN")]
    pub base: Option<String>,
    /// The run to judge [default: the newest completed run of the key]; the id of any run of
    /// the eval key, or a run key (its newest completed run).
    #[arg(long, value_name = "RUN")]
    pub new: Option<String>,
    /// The significance level of the verdicts.
    #[arg(long, value_name = "P", default_value_t = crate::compare::ALPHA, value_parser = parse_alpha)]
    pub alpha: f64,
    /// The project directory.
    #[arg(long, short = 'p', value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// How to print the comparison.
    #[arg(long, short = 'o', value_enum, default_value_t = PlanFormat::Human)]
    pub output: PlanFormat,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The eval key.
    pub eval_key: String,
    /// The run key.
    pub run_key: String,
    /// The newest runs shown (each is fetched to compare it with the one before).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=500))]
    pub last: u16,
    /// The project directory.
    #[arg(long, short = 'p', value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// How to print the history.
    #[arg(long, short = 'o', value_enum, default_value_t = PlanFormat::Human)]
    pub output: PlanFormat,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A project directory or a single manifest file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub planning: PlanningArgs,
    #[command(flatten)]
    pub aim: AimArgs,
    /// Treat warnings (such as a grader type evalctl does not know) as errors.
    #[arg(long)]
    pub strict: bool,
    /// Also write the report to this file (for a workflow step that posts it).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The evals to import, by id.
    #[arg(value_name = "EVAL_ID", required_unless_present = "all_unmanaged")]
    pub ids: Vec<String>,
    /// Every eval on the service that no project manages.
    #[arg(long, conflicts_with = "ids")]
    pub all_unmanaged: bool,
    /// The project directory (its keys are not reused).
    #[arg(long, short = 'p', value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    /// Write the manifest to this new file (stdout when absent).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only evals superseded longer ago than this, e.g. `90d`, `12w`, `36h`.
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub superseded_older_than: u64,
    /// The project directory.
    #[arg(long, short = 'p', value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Delete without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Let the protected evals of KEY go too; repeatable.
    #[arg(long, value_name = "KEY")]
    pub allow_replace: Vec<String>,
    #[command(flatten)]
    pub lock: LockArgs,
}

/// An age in seconds: `90d`, `12w`, `36h`, `30m`, `45s`, or plain seconds; not zero.
pub fn parse_age(text: &str) -> Result<u64, String> {
    const UNITS: &[(&str, u64)] = &[
        ("s", 1),
        ("m", 60),
        ("h", 3_600),
        ("d", 86_400),
        ("w", 604_800),
    ];
    match seconds_of(text, UNITS, "an age like 90d, 12w or 36h")? {
        Some(0) => Err(format!("`{}` is no time at all", text.trim())),
        Some(seconds) => Ok(seconds),
        None => Err(format!("`{}` is too long", text.trim())),
    }
}

/// A number and one of `units` (plain seconds without one) in seconds; `None` on overflow.
fn seconds_of(text: &str, units: &[(&str, u64)], expected: &str) -> Result<Option<u64>, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let value: u64 = number
        .parse()
        .map_err(|_| format!("expected {expected}, found `{text}`"))?;
    let per_unit = match unit {
        "" => 1,
        unit => match units.iter().find(|(name, _)| *name == unit) {
            Some((_, per_unit)) => *per_unit,
            None => {
                let names: Vec<&str> = units.iter().map(|(name, _)| *name).collect();
                return Err(format!(
                    "unknown unit `{unit}` in `{text}`: use {}",
                    names.join(", ")
                ));
            }
        },
    };
    Ok(value.checked_mul(per_unit))
}

#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The lease to remove (its eval id, as the lock error names it); every lease of the
    /// project when absent.
    pub lease: Option<String>,
    /// The project directory.
    #[arg(long, short = 'p', value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Remove without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

/// A lease's ttl: at least 5 s, since this process counts on its lease 2 s less than the
/// ttl after each renewal (the service's clock may lead the estimate of it).
pub fn parse_lock_ttl(text: &str) -> Result<std::time::Duration, String> {
    match parse_duration(text)? {
        ttl if ttl < std::time::Duration::from_secs(5) => {
            Err(format!("`{text}` is too short for a lease: at least 5s"))
        }
        ttl => Ok(ttl),
    }
}

/// A duration that is not zero.
pub fn parse_positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match parse_duration(text)? {
        std::time::Duration::ZERO => Err(format!("`{text}` is no time at all: give at least 1s")),
        duration => Ok(duration),
    }
}

/// `90s`, `30m`, `2h`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    const UNITS: &[(&str, u64)] = &[("s", 1), ("m", 60), ("h", 3_600)];
    const WEEK: u64 = 7 * 24 * 3600;
    match seconds_of(text, UNITS, "a duration like 90s, 30m or 2h")? {
        Some(seconds) if seconds <= WEEK => Ok(std::time::Duration::from_secs(seconds)),
        _ => Err(format!(
            "`{}` is too long: at most 7 days (168h)",
            text.trim()
        )),
    }
}

/// Where the evals live; see the design §2.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Where the evals live [default: EVALCTL_TARGET, then `target:` in evalctl.yaml]
    #[arg(long, value_enum)]
    pub target: Option<crate::manifest::model::Target>,
    /// The service endpoint [default: AZURE_OPENAI_ENDPOINT, AZURE_AI_PROJECT_ENDPOINT or OPENAI_BASE_URL]
    #[arg(long)]
    pub endpoint: Option<String>,
    /// The kind of credential to use for `azure` and `foundry` [default: `auth:` in
    /// evalctl.yaml, else a key when one is set, else an Entra ID token]
    #[arg(long, value_enum)]
    pub auth: Option<crate::manifest::model::AuthKind>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// How long an answer may stall (no byte arriving) before the request is tried again,
    /// e.g. `30s`, `2m`; a whole answer may take four times as long.
    #[arg(long, default_value = "30s", value_parser = parse_positive_duration)]
    pub request_timeout: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A project directory or a single manifest file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// How to print the plan.
    #[arg(long, short = 'o', value_enum, default_value_t = PlanFormat::Human)]
    pub output: PlanFormat,
    /// Also save the plan (JSON) to this file, for `evalctl apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are (1 on errors).
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub planning: PlanningArgs,
    /// Treat warnings (such as a grader type evalctl does not know) as errors.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub aim: AimArgs,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Only the runs of this eval key.
    pub eval_key: Option<String>,
    /// How to print the runs.
    #[arg(long, short = 'o', value_enum, default_value_t = RunsFormat::Human)]
    pub output: RunsFormat,
    /// The project directory.
    #[arg(long, short = 'p', value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunsFormat {
    Human,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ItemStatus {
    Pass,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Order {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ResultsFormat {
    Human,
    Json,
    Jsonl,
    Csv,
}

#[derive(Debug, Args)]
pub struct ResultsArgs {
    /// The eval key.
    pub eval_key: String,
    /// A run key (the newest run with that key on the live eval) or a run id.
    pub run: String,
    /// The project directory.
    #[arg(long, short = 'p', value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Only the items that passed every grader, or those that did not.
    #[arg(long, value_enum)]
    pub status: Option<ItemStatus>,
    /// Items on the page [default: the service's, 20]
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub limit: Option<u8>,
    /// Every item of the run, page after page, printed as they come (progress on stderr);
    /// `--limit` sets the page size [default with --all: 100]
    #[arg(long)]
    pub all: bool,
    /// Start strictly after this output item id (the `last_id` of the previous page).
    #[arg(long, value_name = "ID")]
    pub after: Option<String>,
    /// By creation time [default: the service's, asc]
    #[arg(long, value_enum)]
    pub order: Option<Order>,
    /// How to print the page.
    #[arg(long, short = 'o', value_enum, default_value_t = ResultsFormat::Human)]
    pub output: ResultsFormat,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project directory (created when missing).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A project directory (searched recursively for *.yaml / *.yml) or a single manifest file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Treat warnings (such as a grader type evalctl does not know) as errors.
    #[arg(long)]
    pub strict: bool,
    /// How to report: for people (stderr), JSON (stdout), or GitHub Actions annotations
    /// (`::error file=...,line=...,col=...::`, stdout).
    #[arg(long, short = 'o', value_enum, default_value_t = ValidateFormat::Human)]
    pub output: ValidateFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ValidateFormat {
    Human,
    Json,
    Github,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8089")]
    pub addr: SocketAddr,
    /// Require this key: as `Authorization: Bearer` on every path, or as an `api-key` header
    /// on the Azure path (`/openai/v1`), as each service takes it. On a Foundry project it is
    /// the Entra ID token the project accepts (an `api-key` header there gets 403), so a
    /// stand-in `az` can hand it out.
    #[arg(long, env = "EVALCTL_SERVE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Persist the store in this directory (survives restarts); in memory when absent.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Added latency for every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of requests that get an injected fault (429, 500, 503, or a dropped response
    /// after the change was committed), from 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Seed of the fault injection, so a fault sequence can be reproduced.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// An OpenAI-compatible chat completions endpoint for model graders and sampling runs.
    #[arg(long)]
    pub model_endpoint: Option<String>,
    /// Keep each upload `pending` this many milliseconds before it is `processed`, as Azure
    /// processes files asynchronously; a run that uses it earlier is refused.
    #[arg(long, default_value_t = 0)]
    pub file_processing_ms: u64,
    /// Answer as a broken or hostile service would, to test clients.
    #[arg(long, value_enum)]
    pub misbehave: Option<crate::emulator::misbehavior::Misbehavior>,
    /// Requests per second beyond which requests get 429 with `Retry-After` and
    /// `retry-after-ms` (a token bucket holding one second's worth), as Azure OpenAI limits.
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<std::num::NonZeroU32>,
}

/// A significance level: a number strictly between 0 and 1.
fn parse_alpha(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(alpha) if alpha > 0.0 && alpha < 1.0 => Ok(alpha),
        _ => Err(format!(
            "expected a number between 0 and 1 (exclusive), such as 0.05; found `{text}`"
        )),
    }
}
