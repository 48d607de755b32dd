//! Apply speed against the emulator with `--latency-ms 50`: 200 new evals with one run
//! each. The round-trip lower bound with 8 connections is one listing of evals (the plan's
//! fetch) + ceil(200/8) rounds of creates + ceil(200/8) rounds of run starts (a run needs
//! its eval) + ceil(200/8) rounds of `evalctl_runs` tags (written once the runs started, so
//! later plans need not list them). Target: within 1.3x. Run with `cargo bench --bench apply`.

mod support;

// The binary's allocator, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

const EVALS: usize = 200;
const LATENCY_MS: u64 = 50;
const PARALLELISM: usize = 8;

#[tokio::main]
async fn main() {
    let dir = support::project(EVALS, support::Runs::Inline);
    let desired = support::desired_of(dir.path());
    let (server, client) = support::serve(None, LATENCY_MS, PARALLELISM).await;

    let start = Instant::now();
    let report = support::apply(&client, &desired).await;
    let wall = start.elapsed();
    assert_eq!(report.failed() + report.skipped(), 0, "every action done");
    let rounds = 1 + 3 * EVALS.div_ceil(PARALLELISM) as u64;
    let bound = Duration::from_millis(LATENCY_MS * rounds);
    println!(
        "apply of {EVALS} new evals with one run each against --latency-ms {LATENCY_MS}: {:.2} s wall, {} requests ({} expected), bound {:.2} s: {:.2}x the bound (target <= 1.3x)",
        wall.as_secs_f64(),
        client.requests(),
        1 + 3 * EVALS,
        bound.as_secs_f64(),
        wall.as_secs_f64() / bound.as_secs_f64()
    );
    server.shutdown().await;
}
