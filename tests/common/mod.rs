//! Helpers shared by the integration tests: run the real `evalctl` binary and capture
//! everything a user would see.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// What one run of the binary produced.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Exit code, stdout and stderr in one text, for snapshots.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// `evalctl ARGS` in `dir` with a clean, predictable environment.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_evalctl"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("EVALCTL_TEST_SURELY_UNSET")
        .env_remove("EVALCTL_TARGET")
        .env_remove("AZURE_OPENAI_ENDPOINT")
        .env_remove("EVALCTL_MODEL_ENDPOINT")
        .env("NO_COLOR", "1");
    command
}

fn outcome(output: std::process::Output) -> Outcome {
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `evalctl ARGS` in `dir`.
pub fn evalctl(dir: &Path, args: &[&str]) -> Outcome {
    outcome(
        command(dir, args)
            .output()
            .expect("the evalctl binary runs"),
    )
}

/// No command of the tests takes long; one that does is hung, and must fail, not stall CI.
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs `evalctl ARGS --target azure --endpoint BASE` with the key `test-key` (or what
/// `env` sets), without blocking the async runtime, so an in-process emulator keeps serving.
pub async fn evalctl_on(dir: &Path, args: &[&str], base: &str, env: &[(&str, &str)]) -> Outcome {
    let mut all = args.to_vec();
    all.extend(["--target", "azure", "--endpoint", base]);
    let mut keyed = vec![("AZURE_OPENAI_API_KEY", "test-key")];
    keyed.extend_from_slice(env);
    evalctl_with(dir, &all, &keyed).await
}

/// Runs `evalctl ARGS` with `env` besides the clean environment, without blocking the async
/// runtime, so an in-process emulator keeps serving.
pub async fn evalctl_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut command = tokio::process::Command::from(command(dir, args));
    for (name, value) in env {
        command.env(name, value);
    }
    command.kill_on_drop(true);
    match tokio::time::timeout(DEADLINE, command.output()).await {
        Ok(output) => outcome(output.expect("the evalctl binary runs")),
        Err(_) => panic!(
            "`evalctl {}` did not finish within {DEADLINE:?}",
            args.join(" ")
        ),
    }
}

/// `evalctl ARGS --target azure --endpoint BASE` (key `test-key`, and `env`) with a
/// pseudo-terminal as stdin, stdout and stderr, as a user at a terminal runs it: with
/// `Some((prompt, answer))`, `answer` is typed once the output shows `prompt`. Everything
/// written to the terminal is `stdout` (with `\n` line ends; a typed answer is echoed in it).
/// Run off the async runtime, so an in-process emulator keeps serving.
#[cfg(unix)]
pub async fn evalctl_in_terminal(
    dir: &Path,
    args: &[&str],
    base: &str,
    env: &[(&str, &str)],
    answer: Option<(&str, &str)>,
) -> Outcome {
    let mut command = command(dir, args);
    command
        .args(["--target", "azure", "--endpoint", base])
        .env("AZURE_OPENAI_API_KEY", "test-key")
        .envs(env.iter().copied());
    let shown = args.join(" ");
    let answer = answer.map(|(prompt, typed)| (prompt.to_string(), typed.to_string()));
    tokio::task::spawn_blocking(move || in_terminal(command, &shown, answer))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `command` with a new pseudo-terminal as its stdin, stdout and stderr.
#[cfg(unix)]
fn in_terminal(mut command: Command, shown: &str, mut answer: Option<(String, String)>) -> Outcome {
    use std::io::{Read as _, Write as _};
    use std::sync::mpsc::{channel, RecvTimeoutError};

    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};

    let fail = |e: &dyn std::fmt::Display| -> ! { panic!("pseudo-terminal: {e}") };
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap_or_else(|e| fail(&e));
    grantpt(&master).unwrap_or_else(|e| fail(&e));
    unlockpt(&master).unwrap_or_else(|e| fail(&e));
    let name = ptsname(&master, Vec::new()).unwrap_or_else(|e| fail(&e));
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_string_lossy().as_ref())
        .unwrap_or_else(|e| fail(&e));
    command
        .stdin(terminal.try_clone().unwrap_or_else(|e| fail(&e)))
        .stdout(terminal.try_clone().unwrap_or_else(|e| fail(&e)))
        .stderr(terminal);
    let mut child = command.spawn().expect("the evalctl binary runs");
    // The command's ends of the terminal close here, so that reading it ends when the child
    // exits.
    drop(command);
    let mut reader = std::fs::File::from(master.try_clone().unwrap_or_else(|e| fail(&e)));
    let mut keyboard = std::fs::File::from(master);
    let (chunks, received) = channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        // Linux answers EIO once no process has the terminal open: the end.
        while let Ok(n @ 1..) = reader.read(&mut buffer) {
            if chunks.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + DEADLINE;
    let mut screen = Vec::new();
    loop {
        match received.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(chunk) => screen.extend_from_slice(&chunk),
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if let Some((prompt, typed)) = &answer {
            if String::from_utf8_lossy(&screen).contains(prompt) {
                keyboard
                    .write_all(typed.as_bytes())
                    .unwrap_or_else(|e| fail(&e));
                answer = None;
            }
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "`evalctl {shown}` did not finish within {DEADLINE:?}; the terminal shows:\n{}",
                String::from_utf8_lossy(&screen)
            );
        }
    }
    let status = child.wait().expect("the evalctl binary runs");
    Outcome {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&screen).replace("\r\n", "\n"),
        stderr: String::new(),
    }
}

/// Transcripts as one snapshot text: ids, addresses and times left to the shared filters,
/// outcome lines in order, the emulator's address shown as `[EMULATOR]`.
pub fn shown(transcripts: &[&Outcome], base: &str) -> String {
    let shown: Vec<String> = transcripts
        .iter()
        .map(|o| stable(&o.transcript()).replace(base, "[EMULATOR]"))
        .collect();
    shown.join("\n")
}

/// Replaces the first `from` in `dir/evals.yaml` with `to` (which must be there).
pub fn edit(dir: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(dir.join("evals.yaml")).unwrap_or_default();
    assert!(text.contains(from), "{from}");
    write(dir, "evals.yaml", &text.replacen(from, to, 1));
}

/// Writes `text` to `dir/name`, making its directories.
pub fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap_or(dir)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

/// Snapshot settings for what people read: the emulator's address, ids and times become
/// placeholders of the same width, so tables keep their real alignment and snapshots do
/// not change from run to run.
pub fn filters() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in [
        (r"http://127\.0\.0\.1:\d+\S*", "[REPORT]".to_string()),
        // No word boundary before: a hostile id glues its prefix to the real one.
        (r"eval_[0-9a-f]{32}\b", format!("eval_{}", "x".repeat(32))),
        (
            r"\bevalrun_[0-9a-f]{32}\b",
            format!("evalrun_{}", "x".repeat(32)),
        ),
        (
            r"\boutputitem_[0-9a-f]{32}\b",
            format!("outputitem_{}", "x".repeat(32)),
        ),
        (r"\bfile-[0-9a-f]{32}\b", format!("file-{}", "x".repeat(32))),
        (
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
            "YYYY-MM-DDTHH:MM:SSZ".to_string(),
        ),
        (r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]".to_string()),
        // Waits between retries are jittered.
        (r"retrying in \d+\.\ds", "retrying in [WAIT]s".to_string()),
    ] {
        settings.add_filter(pattern, replacement);
    }
    settings
}

/// A transcript whose apply outcome lines, printed as each action finishes, are in a stable
/// order: sorted within each run of consecutive outcome lines.
pub fn stable(transcript: &str) -> String {
    let is_outcome = |line: &str| {
        ["+ ", "~ ", "-/+ ", "- ", "> "]
            .iter()
            .any(|symbol| line.starts_with(symbol))
            && [": done", ": FAILED", ": skipped"]
                .iter()
                .any(|end| line.contains(end))
    };
    let mut out: Vec<String> = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    for line in transcript.split_inclusive('\n') {
        if is_outcome(line) {
            block.push(line);
            continue;
        }
        block.sort_unstable();
        out.extend(block.drain(..).map(String::from));
        out.push(line.to_string());
    }
    block.sort_unstable();
    out.extend(block.drain(..).map(String::from));
    out.concat()
}

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}
