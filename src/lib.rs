//! evalctl: Azure OpenAI / OpenAI evaluations as code. Manifests are loaded and validated
//! (`manifest`), compared with what the service holds (`plan`), and carried out (`apply`);
//! `api` is the only code that speaks HTTP to the service and `emulator` the only code that
//! serves it.

pub mod api;
pub mod apply;
pub mod cli;
mod commands;
pub mod compare;
pub mod emulator;
pub mod gate;
pub mod lock;
pub mod manifest;
pub mod plan;
pub mod render;
mod shown;
pub mod template;

use std::io::Write;

use cli::{Cli, Command};

/// Errors that end a command. `main` prints them and maps them to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Emulator(#[from] emulator::Error),
    #[error("{}", invalid_summary(*.errors, *.warnings))]
    InvalidManifests { errors: usize, warnings: usize },
    #[error(transparent)]
    Target(#[from] api::TargetError),
    #[error(transparent)]
    Api(#[from] api::ApiError),
    #[error("could not write output")]
    Output(#[source] std::io::Error),
    #[error("cannot use the saved plan `{}`: {message}", path.display())]
    ReadPlan {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("{0}")]
    Usage(String),
    #[error("the saved plan is stale: {0}")]
    StalePlan(String),
    /// Foundry project types planned for another target.
    #[error("the manifests use Foundry project types in {}, and the target is {target}", shown::count(*.count, "place", "places"))]
    ProjectOnlyTypes {
        target: manifest::model::Target,
        count: usize,
    },
    /// A saved plan applied with a flag naming another target or endpoint.
    #[error("this plan was made for {0}")]
    PlanMadeFor(String),
    /// A remote target and a project named after its directory.
    #[error("project `{suggested}` has no declared name, and the {target} target needs one: the name evalctl tags evals with must not change with the directory a clone is in")]
    UnnamedProject {
        target: manifest::model::Target,
        root: std::path::PathBuf,
        suggested: String,
    },
    #[error("nothing was applied: {0}")]
    NotConfirmed(String),
    #[error("apply did not complete: {}", unfinished_actions(*.unfinished))]
    ApplyFailed { unfinished: usize },
    #[error("{0}")]
    Wait(String),
    #[error("could not write `{}`", path.display())]
    WriteFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An eval or run named on the command line that the service does not hold.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    /// A plan the guards refuse (`--max-delete`).
    #[error("refused: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Refused(Vec<plan::Refusal>),
    #[error("could not start the async runtime")]
    Runtime(#[source] std::io::Error),
}

impl Error {
    /// The process exit code for this error (design §6: every error is 1).
    pub fn exit_code(&self) -> u8 {
        1
    }

    /// Whether output stopped because its reader closed the pipe: not a failure of the
    /// command, as ripgrep and the coreutils treat it.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// Lines that say more than the error's one line: each Entra ID credential tried, and
    /// why it gave no token.
    pub fn details(&self) -> Vec<String> {
        match self {
            Error::Api(api::ApiError::NoToken(no_token)) => no_token
                .tried
                .iter()
                .map(|untried| format!("tried {}: {}", untried.source, untried.reason))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The next step, when there is an obvious one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Api(api::ApiError::NoToken(_)) => Some(
                "sign in with `az login` (or `azd auth login`), give a service principal or a federated token in the environment, or set AZURE_OPENAI_AD_TOKEN; an Azure OpenAI resource also takes AZURE_OPENAI_API_KEY".into(),
            ),
            Error::UnnamedProject {
                root, suggested, ..
            } => {
                let settings = root.join("evalctl.yaml");
                let (verb, file) = if settings.is_file() {
                    ("add", "")
                } else {
                    ("write", " (a new file)")
                };
                Some(format!(
                    "{verb} `project: {suggested}` to `{}`{file}; if this project was applied before, use the name it had",
                    settings.display()
                ))
            }
            Error::Lock(lock::LockError::Locked { holder, .. }) => Some(format!(
                "to wait for it, pass `--lock-timeout 10m`; if that apply is gone, `evalctl force-unlock {}` removes its lease (or it expires by itself)",
                holder.id
            )),
            Error::Refused(refusals) => Some(
                refusals
                    .iter()
                    .map(|refusal| match refusal {
                        plan::Refusal::TooManyDeletes { deletes, .. } => format!(
                            "if every deletion is intended, pass `--max-delete {deletes}`; to delete fewer, aim with `--only`/`--exclude`"
                        ),
                        plan::Refusal::CannotAdopt { key, .. } => format!(
                            "check the id (`evalctl import --all-unmanaged` lists what can be adopted), or remove `adopt:` from `{key}` to create a new eval"
                        ),
                        plan::Refusal::Protected { key, .. } => format!(
                            "if `{key}` may go, pass `--allow-replace {key}`; its history stays on the service either way"
                        ),
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Error::PlanMadeFor(_) => Some(
                "apply the plan without --target and --endpoint, or plan again for where you want to apply".into(),
            ),
            // The embedded emulator is an Azure OpenAI resource; its project flavor is served.
            Error::ProjectOnlyTypes {
                target: manifest::model::Target::Local,
                ..
            } => Some(
                "the local target is an Azure OpenAI resource; to try a Foundry project locally, run `evalctl serve --api-key T` and use `--target foundry --endpoint http://127.0.0.1:8089/api/projects/NAME` with AZURE_OPENAI_AD_TOKEN=T".into(),
            ),
            _ => None,
        }
    }
}

fn unfinished_actions(n: usize) -> String {
    let verb = if n == 1 { "was" } else { "were" };
    format!(
        "{} failed or {verb} skipped",
        shown::count(n, "action", "actions")
    )
}

fn invalid_summary(errors: usize, warnings: usize) -> String {
    let errors = shown::count(errors, "error", "errors");
    match warnings {
        0 => format!("manifests are not valid: {errors}"),
        _ => format!(
            "manifests are not valid: {errors}, {}",
            shown::count(warnings, "warning", "warnings")
        ),
    }
}

/// An error's line as the terminal gets it: errors quote the service, whose text may hold
/// control characters (a forged line, a cleared screen) or run for megabytes.
pub fn error_line(text: &str) -> String {
    render::terminal::printable(&shown::shorten_to(text, 1_000)).into_owned()
}

/// Runs one command, writing data to `out` and diagnostics to `err`. Returns the exit code of
/// a command that finished (0, or 2/3 where the design gives them a meaning).
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, Error> {
    match cli.command {
        Command::Init(args) => commands::init::init(&args.dir, err),
        Command::Validate(args) => commands::validate(&args, out, err),
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut command, "evalctl", out);
            Ok(0)
        }
        Command::Schema => commands::schema(out),
        Command::Plan(args) => commands::plan::plan(&args, out, err),
        Command::Apply(args) => commands::apply::apply(&args, out, err),
        Command::Runs(args) => commands::runs::runs(&args, out, err),
        Command::Results(args) => commands::results::results(&args, out, err),
        Command::Compare(args) => commands::compare::compare(&args, out, err),
        Command::History(args) => commands::history::history(&args, out, err),
        Command::Report(args) => commands::report::report(&args, out, err),
        Command::Import(args) => commands::import::import(&args, out, err),
        Command::Gc(args) => commands::gc::gc(&args, out, err),
        Command::ForceUnlock(args) => commands::unlock::force_unlock(&args, out, err),
        Command::Serve(args) => {
            let config = emulator::Config {
                addr: args.addr,
                api_key: args.api_key,
                data_dir: args.data_dir,
                latency_ms: args.latency_ms,
                fault_rate: args.fault_rate,
                seed: args.seed,
                model_endpoint: args.model_endpoint,
                file_processing_ms: args.file_processing_ms,
                misbehave: args.misbehave,
                rate_limit: args.rate_limit,
            };
            let runtime = tokio::runtime::Runtime::new().map_err(Error::Runtime)?;
            runtime.block_on(emulator::serve(config))?;
            Ok(0)
        }
    }
}
