//! A connection to the chosen target for one command: resolves the target and credentials,
//! starts the embedded emulator for `local` (state in `<project>/.evalctl/local/`), and
//! builds the client. A project's session follows the flags, the environment and
//! `evalctl.yaml`; a saved plan's follows the plan, which names its target and endpoint.
//! `close` stops the emulator, which has persisted every change by then.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::api::{target, Client, Connection, Notices, Options};
use crate::cli::TargetArgs;
use crate::emulator;
use crate::manifest::model::Target;
use crate::manifest::{NamedBy, Project};
use crate::render::terminal::printable;
use crate::render::Header;
use crate::Error;

/// Where the `local` target keeps its state for the project at `root`.
pub(crate) fn local_state(root: &Path) -> PathBuf {
    root.join(".evalctl").join("local")
}

/// The project root of a `local` state directory (the inverse of `local_state`).
fn local_root(state: &Path) -> Option<&Path> {
    state
        .ends_with(".evalctl/local")
        .then(|| state.parent().and_then(Path::parent))
        .flatten()
}

/// An OpenAI-compatible endpoint the embedded emulator calls for model graders and sampling.
pub(crate) const MODEL_ENDPOINT: &str = "EVALCTL_MODEL_ENDPOINT";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn project_inputs<'a>(project: &Project, args: &'a TargetArgs) -> target::TargetInputs<'a> {
    target::TargetInputs {
        cli_target: args.target,
        cli_endpoint: args.endpoint.as_deref(),
        settings_target: project.target,
        auth: args.auth.or(project.auth),
        env: &env,
    }
}

pub(crate) struct Session {
    pub client: Client,
    target: Target,
    /// The API base URL (for `local`, the state directory: the embedded emulator's port
    /// changes every time, its state does not).
    endpoint: String,
    /// Whether runs that need a model can run (false on `local` without a model endpoint).
    pub grades_models: bool,
    server: Option<emulator::Server>,
}

impl Session {
    /// The session of a project: `--target`, else `EVALCTL_TARGET`, else `target:` in
    /// `evalctl.yaml`. A remote target needs the project's name declared.
    pub(crate) async fn open(
        project: &Project,
        args: &TargetArgs,
        err: &mut dyn Write,
    ) -> Result<Session, Error> {
        let inputs = project_inputs(project, args);
        let chosen = target::choose(&inputs)?;
        if chosen != Target::Local && project.named_by == NamedBy::Directory {
            return Err(Error::UnnamedProject {
                target: chosen,
                root: project.root.clone(),
                suggested: project.name.clone(),
            });
        }
        Session::connect(&project.root, chosen, &inputs, args, err).await
    }

    /// The target a project's session would use, before connecting.
    pub(crate) fn target_of(project: &Project, args: &TargetArgs) -> Result<Target, Error> {
        Ok(target::choose(&project_inputs(project, args))?)
    }

    /// The session a saved plan was made for: its target and endpoint, whatever the
    /// environment says. A flag naming another one is refused rather than followed.
    pub(crate) async fn for_plan(
        header: &Header,
        args: &TargetArgs,
        err: &mut dyn Write,
    ) -> Result<Session, Error> {
        if let Some(given) = args.target.filter(|t| *t != header.target) {
            return Err(Error::PlanMadeFor(format!(
                "target `{}`, not `{given}`",
                header.target
            )));
        }
        let root = match header.target {
            Target::Local => local_root(Path::new(&header.endpoint)).ok_or_else(|| {
                Error::PlanMadeFor(format!(
                    "the local state in `{}`, which is not a project's `.evalctl/local`",
                    header.endpoint
                ))
            })?,
            _ => Path::new("."),
        };
        let recorded = |endpoint| target::TargetInputs {
            cli_target: Some(header.target),
            cli_endpoint: Some(endpoint),
            settings_target: None,
            auth: args.auth,
            env: &env,
        };
        if let (Some(given), false) = (&args.endpoint, header.target == Target::Local) {
            let (asked, _) = target::remote(header.target, &recorded(given))?;
            if asked.base_url.as_str() != header.endpoint {
                return Err(Error::PlanMadeFor(format!(
                    "`{}`, not `{}`",
                    header.endpoint, asked.base_url
                )));
            }
        }
        let inputs = recorded(&header.endpoint);
        Session::connect(root, header.target, &inputs, args, err).await
    }

    async fn connect(
        root: &Path,
        chosen: Target,
        inputs: &target::TargetInputs<'_>,
        args: &TargetArgs,
        err: &mut dyn Write,
    ) -> Result<Session, Error> {
        let model_endpoint = env(MODEL_ENDPOINT).filter(|v| !v.is_empty());
        let (connection, server) = match chosen {
            Target::Local => {
                let mut config = emulator::Config::local(root);
                config.model_endpoint = model_endpoint.clone();
                let server = emulator::start(config).await?;
                (Connection::local(&server.base_url())?, Some(server))
            }
            remote => {
                let (connection, note) = target::remote(remote, inputs)?;
                if let Some(note) = note {
                    writeln!(err, "{note}").map_err(Error::Output)?;
                }
                (connection, None)
            }
        };
        let notices: Notices = Arc::new(|line: &str| {
            let _ = writeln!(std::io::stderr(), "{}", printable(line));
        });
        let options = Options {
            parallelism: usize::from(args.parallelism),
            stall: args.request_timeout,
            notices: Some(notices),
            ..Options::default()
        };
        let client = Client::with_options(&connection, options)?;
        let endpoint = match &server {
            Some(_) => local_state(root).display().to_string(),
            None => connection.base_url.to_string(),
        };
        Ok(Session {
            client,
            target: chosen,
            endpoint,
            grades_models: chosen != Target::Local || model_endpoint.is_some(),
            server,
        })
    }

    /// What the plan's first line names: the target, the endpoint, and what authenticates
    /// the requests (for Entra ID, where the tokens came from: ask after the first request).
    pub(crate) fn header(&self) -> Header {
        Header {
            target: self.target,
            endpoint: self.endpoint.clone(),
            credential: self.client.credential(),
        }
    }

    /// Whether this is the `local` target's embedded service.
    pub(crate) fn is_local(&self) -> bool {
        self.target == Target::Local
    }

    pub(crate) async fn close(self) {
        if let Some(server) = self.server {
            server.shutdown().await;
        }
    }

    /// The desired state this session can reach: on `local` without a model endpoint, runs
    /// that need a model are left out, and each is named in a note.
    pub(crate) fn desired(
        &self,
        project: &Project,
        aim: &crate::cli::AimArgs,
        err: &mut dyn std::io::Write,
    ) -> Result<crate::plan::Desired, Error> {
        let aim = crate::plan::Aim::new(aim.patterns()).map_err(|e| Error::Usage(e.to_string()))?;
        let mut desired = crate::plan::Desired::from_project(project).aimed(aim);
        if !self.grades_models {
            for skipped in desired.without_model_runs() {
                writeln!(
                    err,
                    "note: run `{}/{}` is left out on the local target because {}; set {MODEL_ENDPOINT} to an OpenAI-compatible endpoint to run it",
                    skipped.eval_key, skipped.run_key, skipped.reason
                )
                .map_err(Error::Output)?;
            }
        }
        Ok(desired)
    }
}
