//! `evalctl serve --fault-rate R --data-dir DIR` as a child process on 127.0.0.1: started on a
//! free port the first time, killed (SIGKILL) and started again on the same port and data
//! directory, so applies at work reconnect to it. Each life logs to its own file.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long a start may take: the store is read back from the data directory.
const START_DEADLINE: Duration = Duration::from_secs(120);
const LISTENING: &str = "listening on http://127.0.0.1:";

pub struct Emulator {
    data_dir: PathBuf,
    logs: PathBuf,
    fault_rate: f64,
    /// 0 until the first start has picked one.
    port: u16,
    child: Option<tokio::process::Child>,
    /// Starts so far.
    pub lives: u32,
}

impl Emulator {
    pub fn new(data_dir: &Path, logs: &Path, fault_rate: f64) -> Emulator {
        Emulator {
            data_dir: data_dir.to_path_buf(),
            logs: logs.to_path_buf(),
            fault_rate,
            port: 0,
            child: None,
            lives: 0,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the emulator with the fault sequence of `seed`, and waits until it listens.
    pub async fn start(&mut self, seed: u64) -> Result<(), String> {
        self.lives += 1;
        let log = self.logs.join(format!("emulator-{:04}.log", self.lives));
        let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let copy = file.try_clone().map_err(|e| e.to_string())?;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_evalctl"))
            .args(["serve", "--addr", &format!("127.0.0.1:{}", self.port)])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--fault-rate", &self.fault_rate.to_string()])
            .args(["--seed", &seed.to_string()])
            .env("NO_COLOR", "1")
            .env_remove("EVALCTL_SERVE_API_KEY")
            .env_remove("EVALCTL_MODEL_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(copy)
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("evalctl serve did not start: {e}"))?;
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text.split(LISTENING).nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                self.port = digits
                    .parse()
                    .map_err(|e| format!("the emulator's address in {}: {e}", log.display()))?;
                self.child = Some(child);
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "the emulator (life {}, on its data dir {}) exited with {status} before listening; its log {}:\n{text}",
                    self.lives,
                    self.data_dir.display(),
                    log.display()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the emulator (life {}) did not listen within {START_DEADLINE:?}; its log {}:\n{text}",
                    self.lives,
                    log.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the emulator with SIGKILL (no shutdown of its own) and reaps it.
    pub async fn kill(&mut self) -> Result<(), String> {
        if let Some(mut child) = self.child.take() {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "the emulator (life {}) had exited by itself with {status}",
                    self.lives
                ));
            }
            child
                .kill()
                .await
                .map_err(|e| format!("killing the emulator: {e}"))?;
        }
        Ok(())
    }

    /// Whether it is still running (it must never exit by itself).
    pub fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "the emulator (life {}) exited by itself with {status}; its log is {}",
                self.lives,
                self.logs
                    .join(format!("emulator-{:04}.log", self.lives))
                    .display()
            )),
            _ => None,
        }
    }
}
