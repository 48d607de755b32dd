//! Plan speed against the emulator with `--latency-ms 50` holding 1,000 managed evals with 5
//! runs each, left by a real apply (so each eval carries its `evalctl_runs` tag). What a user
//! waits for is round trips; the floor of a plan is the eval list pages, ceil(1000/100)
//! sequential requests. Three plans are measured:
//! - unchanged: the list pages alone (target: within 1.5x of the floor);
//! - 10 evals whose runs changed: the pages plus those 10 run listings;
//! - `--refresh`: every eval's runs listed, over 8 connections (the cost before the tag).
//!
//! The CPU share of a plan is a few milliseconds and is not tuned further.
//! Run with `cargo bench --bench plan`.

mod support;

// The binary's allocator, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use evalctl::plan::Desired;

const EVALS: usize = 1_000;
const RUNS: usize = 5;
const CHANGED: usize = 10;
const LATENCY_MS: u64 = 50;
const PARALLELISM: usize = 8;

/// Plans once against a fresh client and prints wall time and requests against the floor.
async fn measure(server_url: &str, what: &str, desired: &Desired, refresh: bool, floor: u64) {
    let client = support::client(server_url, PARALLELISM);
    let start = Instant::now();
    let plan = support::plan(&client, desired, refresh).await.0;
    let wall = start.elapsed();
    let floor = Duration::from_millis(LATENCY_MS * floor);
    println!(
        "{what}: {:.2} s wall, {} requests, floor {:.2} s: {:.2}x; {} actions",
        wall.as_secs_f64(),
        client.requests(),
        floor.as_secs_f64(),
        wall.as_secs_f64() / floor.as_secs_f64(),
        plan.actions.len()
    );
}

#[tokio::main]
async fn main() {
    let dir = support::project(EVALS, support::Runs::InlineMany(RUNS));
    let desired = support::desired_of(dir.path());
    let data = tempfile::tempdir().expect("temp dir");
    let (server, setup) = support::serve(Some(data.path()), 0, 32).await;
    // What `evalctl apply` leaves: every eval, its runs, and its tag.
    let first = support::plan(&setup, &desired, false).await.0;
    let report = evalctl::apply::apply(&setup, &first, None, &mut |_, _| {}).await;
    assert_eq!(report.failed() + report.skipped(), 0, "populated");
    server.shutdown().await;

    let (server, _) = support::serve(Some(data.path()), LATENCY_MS, PARALLELISM).await;
    let url = server.base_url();
    let pages = EVALS.div_ceil(100) as u64;
    println!("against --latency-ms {LATENCY_MS}, {EVALS} evals x {RUNS} runs, {PARALLELISM} connections:");
    measure(&url, "unchanged plan", &desired, false, pages).await;
    // Ten evals whose runs read other data: only theirs are listed.
    for i in 0..CHANGED {
        let file = dir.path().join(format!("evals/eval-{i:04}.yaml"));
        let text = std::fs::read_to_string(&file).expect("read");
        std::fs::write(&file, text.replace("question: q,", "question: q2,")).expect("write");
    }
    let changed = support::desired_of(dir.path());
    let rounds = pages + CHANGED.div_ceil(PARALLELISM) as u64;
    measure(&url, "plan with 10 changed evals", &changed, false, rounds).await;
    let rounds = pages + EVALS.div_ceil(PARALLELISM) as u64;
    measure(&url, "plan --refresh", &desired, true, rounds).await;
    server.shutdown().await;
}
