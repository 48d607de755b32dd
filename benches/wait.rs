//! `apply --wait` at scale: the real binary against the emulator with `--latency-ms 50`,
//! holding 200 evals whose runs have finished, as a CI job that applies an unchanged project
//! and checks its gates meets it. The floor, with 8 connections: the eval list twice (plan
//! and wait, 2 pages each), one run listing per eval (ceil(200/8) rounds) and one poll of each
//! run (ceil(200/8) rounds). Run with `cargo bench --bench wait`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const EVALS: usize = 200;
const LATENCY_MS: u64 = 50;

fn apply_wait(dir: &Path, base: &str) -> (Duration, i32) {
    let start = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_evalctl"))
        .args([
            "apply",
            "--auto-approve",
            "--wait",
            "--target",
            "azure",
            "--endpoint",
            base,
        ])
        .current_dir(dir)
        .env("AZURE_OPENAI_API_KEY", "bench-key")
        .output()
        .expect("evalctl runs");
    (start.elapsed(), output.status.code().unwrap_or(-1))
}

#[tokio::main]
async fn main() {
    let dir = support::project(EVALS, support::Runs::Inline);
    let data = tempfile::tempdir().expect("temp dir");
    let (server, _) = support::serve(Some(data.path()), 0, 8).await;
    let base = server.base_url();
    // The first apply creates and runs everything, and waits for it (the runs fail: the
    // emulator has no model for the judge; finished is what matters here).
    let project = dir.path().to_path_buf();
    let (_, code) = tokio::task::spawn_blocking(move || apply_wait(&project, &base))
        .await
        .expect("first apply");
    assert!(matches!(code, 0 | 1 | 3), "first apply exited {code}");
    server.shutdown().await;

    let (server, _) = support::serve(Some(data.path()), LATENCY_MS, 8).await;
    let base = server.base_url();
    server.take_requests();
    let project = dir.path().to_path_buf();
    let (wall, code) = tokio::task::spawn_blocking(move || apply_wait(&project, &base))
        .await
        .expect("apply --wait");
    let pages = 2 * EVALS.div_ceil(100) as u64;
    let rounds = pages + 2 * EVALS.div_ceil(8) as u64;
    let floor = Duration::from_millis(LATENCY_MS * rounds);
    let requests = server.take_requests().len();
    println!(
        "apply --wait of an unchanged project of {EVALS} evals with finished runs against --latency-ms {LATENCY_MS}: {:.2} s wall (exit {code}), {requests} requests, floor {:.2} s: {:.2}x",
        wall.as_secs_f64(),
        floor.as_secs_f64(),
        wall.as_secs_f64() / floor.as_secs_f64()
    );
    server.shutdown().await;
}
