//! Apply under a rate limit, as Azure OpenAI applies one: 500 new evals with 2 runs each
//! against the emulator with `--rate-limit 20` (requests per second, a token bucket holding
//! one second's worth). The floor is the requests the apply must make, less the bucket's
//! first second, at 20 a second (target: within 1.2x, and no action failed for want of
//! retries). Run with `cargo bench --bench rate_limit`.

mod support;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::num::NonZeroU32;
use std::path::Path;
use std::time::Instant;

use evalctl::api::{Client, Connection};
use evalctl::emulator::{self, Config};

const EVALS: usize = 500;
const RUNS: usize = 2;
const LIMIT: u32 = 20;
const PARALLELISM: usize = 8;

#[tokio::main]
async fn main() {
    let dir = support::project(EVALS, support::Runs::InlineMany(RUNS));
    let desired = support::desired_of(dir.path());
    let mut config = Config::local(Path::new("."));
    config.data_dir = None;
    config.rate_limit = NonZeroU32::new(LIMIT);
    let server = emulator::start(config).await.expect("emulator");
    let connection = Connection::local(&server.base_url()).expect("connection");
    let client = Client::new(&connection, PARALLELISM).expect("client");

    let start = Instant::now();
    let report = support::apply(&client, &desired).await;
    let wall = start.elapsed();
    let sent = client.requests();
    let failed = report.failed() + report.skipped();
    // What must be asked: the eval list, a create per eval, a start per run, a tag per eval.
    let needed = 1 + EVALS + EVALS * RUNS + EVALS;
    let floor = (needed as f64 - f64::from(LIMIT)) / f64::from(LIMIT);
    let refused = sent.saturating_sub(needed as u64);
    println!(
        "apply of {EVALS} evals x {RUNS} runs under --rate-limit {LIMIT}, {PARALLELISM} connections: {:.1} s wall, {needed} requests needed, {sent} sent (so {refused} refused with 429), floor {floor:.1} s: {:.2}x the floor (target <= 1.2x); {failed} actions failed or skipped",
        wall.as_secs_f64(),
        wall.as_secs_f64() / floor,
    );
    server.shutdown().await;
}
