//! Running the real `evalctl` binary for the soak: output straight to files in the cycle's
//! transcript directory (so a killed command leaves what it printed), SIGKILL after a given
//! delay, and a deadline past which a command counts as hung. Each command ends as one
//! transcript file: the command line, exit, time taken, stdout and stderr.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// No command of the soak should take this long, faults and restarts included.
const DEADLINE: Duration = Duration::from_secs(300);
/// The key every command sends; the emulator takes any key.
const KEY: &str = "soak-key";

/// One command that ran.
pub struct Ran {
    /// `None`: killed by the soak.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
    /// When it ended, to order the applies of one cycle.
    pub ended: Instant,
    pub transcript: PathBuf,
}

impl Ran {
    pub fn clean(&self) -> bool {
        self.code == Some(0)
    }

    /// Refused the project's lock, so it wrote nothing but its own lease.
    pub fn locked_out(&self) -> bool {
        self.code == Some(1)
            && (self.stderr.contains("is locked by another apply")
                || self.stderr.contains("could not take the lock"))
    }

    /// Exit, as the soak's lines show it.
    pub fn shown(&self) -> String {
        match self.code {
            None => "killed".into(),
            Some(0) => "0".into(),
            Some(1) if self.locked_out() => "1 (locked)".into(),
            Some(code) => code.to_string(),
        }
    }

    /// Why it failed, in a form that groups alike failures: its `error:` line, ids and the
    /// flavor's path prefix left out, cut short.
    pub fn failure(&self) -> Option<String> {
        if self.code != Some(1) {
            return None;
        }
        let line = self
            .stderr
            .lines()
            .find(|line| line.starts_with("error:"))
            .unwrap_or("error: (no error line)");
        let words: Vec<&str> = line
            .split(' ')
            .map(|word| {
                let id = ["eval_", "evalrun_", "file-", "(eval_", "(lease"]
                    .iter()
                    .any(|prefix| word.starts_with(prefix));
                if id {
                    "ID"
                } else {
                    word
                }
            })
            .collect();
        let line = words.join(" ").replace("/openai/v1/", "/v1/");
        Some(line.chars().take(90).collect())
    }

    /// Retries the client said it made (`note: retrying in ...`), by the failure's kind.
    pub fn retries(&self) -> Vec<&'static str> {
        self.stderr
            .lines()
            .filter(|line| line.contains("retrying in "))
            .map(retry_kind)
            .collect()
    }
}

/// What a retry note says failed: the status, or the connection.
pub fn retry_kind(line: &str) -> &'static str {
    let failure = line.split_once("s: ").map_or(line, |(_, rest)| rest);
    [(": 429 ", "429"), (": 500 ", "500"), (": 503 ", "503")]
        .iter()
        .find(|(mark, _)| failure.contains(mark))
        .map_or("connection", |(_, kind)| kind)
}

/// Runs `evalctl ARGS` in `cwd`; kills it after `kill_after` when given and still running.
/// `Err` only when it could not run, or hung past the deadline (then it is killed).
pub async fn evalctl(
    cwd: &Path,
    transcript: PathBuf,
    args: &[String],
    kill_after: Option<Duration>,
) -> Result<Ran, String> {
    let out_path = transcript.with_extension("stdout");
    let err_path = transcript.with_extension("stderr");
    let create =
        |path: &Path| std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_evalctl"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("AZURE_OPENAI_API_KEY", KEY)
        .env("OPENAI_API_KEY", KEY)
        .env_remove("EVALCTL_TARGET")
        .env_remove("AZURE_OPENAI_ENDPOINT")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("AZURE_OPENAI_AD_TOKEN")
        .env_remove("EVALCTL_MODEL_ENDPOINT")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(create(&out_path)?)
        .stderr(create(&err_path)?)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("evalctl did not start: {e}"))?;
    let started = Instant::now();
    let limit = kill_after.unwrap_or(DEADLINE).min(DEADLINE);
    let code = match tokio::time::timeout(limit, child.wait()).await {
        Ok(status) => {
            let status = status.map_err(|e| e.to_string())?;
            // A signal that was not ours (a crash) shows as -1.
            Some(status.code().unwrap_or(-1))
        }
        Err(_) => {
            child.kill().await.map_err(|e| e.to_string())?;
            None
        }
    };
    let took = started.elapsed();
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    let exit = match code {
        Some(code) => code.to_string(),
        None if kill_after.is_some() => "killed (SIGKILL) by the soak".into(),
        None => format!("hung: killed after {DEADLINE:?}"),
    };
    let text = format!(
        "$ evalctl {}\nexit: {exit}\ntook: {:.2}s\n--- stdout\n{stdout}--- stderr\n{stderr}",
        args.join(" "),
        took.as_secs_f64()
    );
    std::fs::write(&transcript, text).map_err(|e| format!("{}: {e}", transcript.display()))?;
    if code.is_none() && kill_after.is_none() {
        return Err(format!(
            "`evalctl {}` hung for {DEADLINE:?}; transcript {}",
            args.join(" "),
            transcript.display()
        ));
    }
    Ok(Ran {
        code,
        stdout,
        stderr,
        took,
        ended: Instant::now(),
        transcript,
    })
}
